/*
 * vcpu.c: the vCPU threads, stopping and starting them, and the guest's
 * ports (console line, sleep, exit).
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exits.h"
#include "hv.h"
#include "run.h"

#define SIG_KICK	SIGUSR1
#define SLEEP_MAX_US	1000000u

/* This thread's kvm_run, for the kick handler. */
static __thread struct kvm_run *cur_run;

/* A kick makes the next (or the current) KVM_RUN return EINTR at once. */
static void
kick(int sig)
{
	(void)sig;
	if (cur_run != NULL)
		cur_run->immediate_exit = 1;
}

static void
console_line(struct vm *vm, uint32_t at)
{
	struct kvmg_line l;
	char buf[KVMG_LINE_MAX];

	if ((uint64_t)at + sizeof(l) > vm->mem_bytes)
		return;
	memcpy(&l, vm->mem + at, sizeof(l));
	if (l.len > KVMG_LINE_MAX)
		l.len = KVMG_LINE_MAX;
	memcpy(buf, l.text, l.len);
	conlog_line(vm, buf, l.len);
}

/* Sleep for the guest, but wake at once when asked to stop. */
static void
guest_sleep(struct vm *vm, uint32_t us)
{
	struct timespec t;

	if (us > SLEEP_MAX_US)
		us = SLEEP_MAX_US;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += (long)us * 1000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	pthread_mutex_lock(&vm->lock);
	while (vm->running && !vm->quit)
		if (pthread_cond_timedwait(&vm->wake, &vm->lock, &t) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&vm->lock);
}

static void
die(struct vcpu *v, const char *why)
{
	struct kvm_regs r;

	memset(&r, 0, sizeof(r));
	(void)kvm_get_regs(v->fd, &r);
	vmlog(v->vm, "vCPU %u stopped: %s (rip 0x%llx rsp 0x%llx rflags "
	    "0x%llx)", v->id, why, (unsigned long long)r.rip,
	    (unsigned long long)r.rsp, (unsigned long long)r.rflags);
	pthread_mutex_lock(&v->vm->lock);
	v->dead = 1;
	pthread_mutex_unlock(&v->vm->lock);
}

static void
handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char why[96];
	uint32_t val = 0;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->pending_io = 1;
		if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4)
			return;		/* reads see zeros, other writes drop */
		memcpy(&val, (char *)run + run->io.data_offset, 4);
		switch (run->io.port) {
		case KVMG_PORT_CONSOLE:
			console_line(v->vm, val);
			break;
		case KVMG_PORT_SLEEP:
			guest_sleep(v->vm, val);
			break;
		case KVMG_PORT_DISK:
			disk_request(v->vm, val);
			break;
		case KVMG_PORT_EXIT:
			snprintf(why, sizeof(why), "guest exit code %u", val);
			die(v, why);
			break;
		}
		return;
	case KVM_EXIT_SHUTDOWN:
		die(v, "shutdown (triple fault)");
		return;
	case KVM_EXIT_HLT:
		die(v, "halted");
		return;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "entry failed, reason 0x%llx",
		    (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
		die(v, why);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM internal error %u",
		    run->internal.suberror);
		die(v, why);
		return;
	case KVM_EXIT_MMIO:
		v->pending_io = 1;	/* no devices: reads see zeros */
		return;
	default:
		snprintf(why, sizeof(why), "unexpected exit %u",
		    run->exit_reason);
		die(v, why);
	}
}

/*
 * Re-enter once with immediate_exit set so that KVM completes an I/O
 * exit's instruction without running further (api.rst, KVM_RUN): only
 * then is the register state consistent for get_state.
 */
static void
complete_io(struct vcpu *v)
{
	if (!v->pending_io)
		return;
	v->run->immediate_exit = 1;
	if (kvm_run(v->fd) == 0)
		handle_exit(v);		/* cannot happen with immediate_exit */
	v->pending_io = 0;
}

static void *
vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	cur_run = v->run;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		if (!vm->running || vm->quit || v->dead) {
			pthread_mutex_unlock(&vm->lock);
			complete_io(v);
			pthread_mutex_lock(&vm->lock);
			v->stopped = 1;
			pthread_cond_broadcast(&vm->ack);
			while ((!vm->running || v->dead) && !vm->quit)
				pthread_cond_wait(&vm->wake, &vm->lock);
			if (vm->quit) {
				pthread_mutex_unlock(&vm->lock);
				return NULL;
			}
		}
		/* Said under the lock, before KVM_RUN: a pause waits for it. */
		v->stopped = 0;
		pthread_mutex_unlock(&vm->lock);

		v->run->immediate_exit = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		/* A stop asked for before the flag was cleared is seen here. */
		if (!__atomic_load_n(&vm->running, __ATOMIC_SEQ_CST))
			continue;
		if (kvm_run(v->fd) == -1) {
			if (errno == EINTR || errno == EAGAIN) {
				v->pending_io = 0;
				continue;
			}
			die(v, hv_strerror());
			continue;
		}
		v->pending_io = 0;
		handle_exit(v);
	}
}

void
vcpu_start_all(struct vm *vm)
{
	struct sigaction sa;
	unsigned i;
	int e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) == -1)
		err(VMP_EX_FAIL, "sigaction");
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		/*
		 * Stopped until the thread itself says otherwise, under the
		 * lock and only while the guest is to run: a thread not yet
		 * scheduled runs nothing, and a guest restored or started
		 * paused is paused from its first answer (it was reported
		 * running for as long as its threads took to start).
		 */
		v->stopped = 1;
		if ((e = pthread_create(&v->thread, NULL, vcpu_main, v)) != 0)
			errx(VMP_EX_FAIL, "vCPU %u thread: %s", i, strerror(e));
		v->started = 1;
	}
}

static int
all_stopped(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i].started && !vm->vcpu[i].stopped)
			return 0;
	return 1;
}

/* Returns once no vCPU is inside KVM_RUN and all I/O is complete. */
void
vm_pause(struct vm *vm)
{
	unsigned i;

	pthread_mutex_lock(&vm->lock);
	__atomic_store_n(&vm->running, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i].started && !vm->vcpu[i].stopped)
			pthread_kill(vm->vcpu[i].thread, SIG_KICK);
	pthread_cond_broadcast(&vm->wake);
	while (!all_stopped(vm))
		pthread_cond_wait(&vm->ack, &vm->lock);
	/* Nothing is in flight: the disk may be another guest's now. */
	disk_release(vm);
	pthread_mutex_unlock(&vm->lock);
}

int
vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (disk_claim(vm) == -1) {
		pthread_mutex_unlock(&vm->lock);
		return -1;
	}
	__atomic_store_n(&vm->running, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->wake);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int
vm_paused(struct vm *vm)
{
	int r;

	pthread_mutex_lock(&vm->lock);
	r = !vm->running && all_stopped(vm);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int
vm_any_dead(struct vm *vm)
{
	unsigned i;
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < vm->nvcpus; i++)
		r |= vm->vcpu[i].dead;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void
vm_stop_all(struct vm *vm)
{
	unsigned i;

	vm_pause(vm);
	pthread_mutex_lock(&vm->lock);
	vm->quit = 1;
	pthread_cond_broadcast(&vm->wake);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i].started)
			pthread_join(vm->vcpu[i].thread, NULL);
}
