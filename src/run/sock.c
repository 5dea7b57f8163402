/*
 * sock.c: the control socket's name, lock and permissions.  The name
 * DIR/NAME is reserved by a lock on DIR/NAME.pid, not by the files'
 * existence, so that a vm-run killed with SIGKILL never blocks its name.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "exits.h"
#include "run.h"

void
vm_cleanup(struct vm *vm)
{
	if (vm->sock_path[0])
		unlink(vm->sock_path);
	if (vm->pid_path[0])
		unlink(vm->pid_path);
}

/* Lock DIR/NAME.pid: the lock, not the file, says the name is taken. */
static void
lock_name(struct vm *vm)
{
	struct stat a, b;

	for (;;) {
		/* Never through a planted link; readable by us alone, so
		 * that no one else can take the lock. */
		vm->pidfd = open(vm->pid_path, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (vm->pidfd == -1)
			err(VMP_EX_FAIL, "%s", vm->pid_path);
		if (flock(vm->pidfd, LOCK_EX | LOCK_NB) == -1) {
			if (errno == EWOULDBLOCK)
				errx(VMP_EX_FAIL, "guest %s already runs "
				    "(%s is locked)", vm->name, vm->pid_path);
			err(VMP_EX_FAIL, "%s: lock", vm->pid_path);
		}
		/* Locked a file an exiting vm-run has just unlinked? */
		if (fstat(vm->pidfd, &a) == 0 && stat(vm->pid_path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return;
		close(vm->pidfd);
	}
}

int
ctl_listen(struct vm *vm)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char pid[32];
	int fd, n;

	lock_name(vm);
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
	    vm->sock_path) >= (int)sizeof(sa.sun_path))
		errx(VMP_EX_FAIL, "%s: socket path too long", vm->sock_path);
	/* A stale socket of a dead vm-run: its name lock was free. */
	unlink(vm->sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(VMP_EX_FAIL, "socket");
	/* Bind with mode 0600 from the start: no window for others. */
	{
		mode_t old = umask(0177);

		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
			umask(old);
			err(VMP_EX_FAIL, "bind %s", vm->sock_path);
		}
		umask(old);
	}
	if (listen(fd, 16) == -1)
		err(VMP_EX_FAIL, "listen %s", vm->sock_path);
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(vm->pidfd, 0) == -1 || pwrite(vm->pidfd, pid, n, 0) != n)
		err(VMP_EX_FAIL, "%s", vm->pid_path);
	return fd;
}
