/*
 * lease.c: pauses and dirty logging belong to the connection that asked
 * for them.
 *
 * A saver pauses the guest, copies it, then destroys or resumes it.  If
 * it dies between those steps (SIGKILL, the OOM killer, a dropped ssh
 * session), nobody would ever resume the guest.  So a PAUSE is a lease of
 * its connection: when the connection closes while it still holds one,
 * and no other connection does, the guest runs again.  A client that
 * means its pause to outlive it (vm-ctl pause, vm-save --paused) says
 * HOLD before it goes; the pause is then the guest's own, as it is for a
 * guest started with -P or just restored, until someone resumes it.
 *
 * Dirty logging write-protects all guest memory and only its starter
 * fetches the log, so it too ends with the connection that started it.
 */
#include <errno.h>

#include "hv.h"
#include "run.h"

static int
leased(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < RUN_MAX_CLIENTS; i++)
		if (vm->clients[i].fd > 0 && vm->clients[i].lease)
			return 1;
	return 0;
}

void
lease_pause(struct vm *vm, struct client *c)
{
	vm_pause(vm);
	c->lease = 1;
}

/* Resuming answers every pause: the leases and a held pause end.  A
 * resume refused (the disk is another running guest's) changes nothing. */
int
lease_resume(struct vm *vm)
{
	unsigned i;

	if (vm_resume(vm) == -1)
		return -1;
	for (i = 0; i < RUN_MAX_CLIENTS; i++)
		vm->clients[i].lease = 0;
	vm->held = 0;
	return 0;
}

int
lease_hold(struct vm *vm, struct client *c)
{
	if (!vm_paused(vm)) {
		hv_seterr("guest %s is not paused: nothing to hold", vm->name);
		errno = EINVAL;
		return -1;
	}
	c->lease = 0;
	vm->held = 1;
	return 0;
}

int
lease_log(struct vm *vm, struct client *c, int on)
{
	unsigned i;

	if (vm_log_dirty(vm, on) == -1)
		return -1;
	/* One log, one reader: the last to start it owns it. */
	for (i = 0; i < RUN_MAX_CLIENTS; i++)
		vm->clients[i].logger = 0;
	c->logger = on;
	return 0;
}

/* The connection c has closed (c->fd is no longer valid). */
void
lease_drop(struct vm *vm, struct client *c)
{
	int lease = c->lease, logger = c->logger;

	c->lease = c->logger = 0;
	if (logger && vm->logging) {
		if (vm_log_dirty(vm, 0) == -1)
			vmlog(vm, "guest %s: dirty logging left on: %s",
			    vm->name, hv_strerror());
		else
			vmlog(vm, "guest %s: dirty logging stopped: the "
			    "connection that started it closed", vm->name);
	}
	/* An uncommitted incoming guest never runs before its commit. */
	if (!lease || vm->held || leased(vm) ||
	    (vm->incoming && !vm->committed))
		return;
	if (vm_resume(vm) == -1) {
		vmlog(vm, "guest %s stays paused: the connection that paused "
		    "it closed, but %s", vm->name, hv_strerror());
		return;
	}
	vmlog(vm, "guest %s resumed: the connection that paused it closed "
	    "without resuming, destroying or holding it", vm->name);
}
