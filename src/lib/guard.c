/*
 * guard.c: what a receive leaves behind when it dies.  A receive that is
 * killed (SIGKILL, a crash, the OOM killer) cannot clean up after itself,
 * and a guest it made but did not finish must not go on: on Xen a domain
 * outlives the process that made it.  So before anything is made, the
 * receive forks a guardian that holds the other end of a pipe and the
 * receive's lock.  The receive tells it "made" once the guest exists,
 * "keep" once the guest runs, and "done" when its work is over either way.
 * If the pipe ends without "done", the receive died: the guardian
 * destroys the guest it made unless told to keep it (and the disks made
 * for it, of a bundle), removes the lock file (if it is still this
 * receive's) and exits.
 *
 * The order of the receive's last steps makes every death safe: it says
 * "keep" after the guest runs and before it says `running' to the sender.
 * Killed before "keep", the guest is destroyed and the sender, which has
 * no ack, is in doubt and finds the guest absent here; killed after, the
 * guest runs and the sender finds it running.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "hv.h"
#include "names.h"
#include "guard.h"

#define G_MADE	'm'
#define G_KEEP	'k'
#define G_DONE	'x'
#define G_TWIN	't'
#define G_GO	'g'

/* Is a guest of this name here? */
static int
exists(const struct hv_ops *ops, const char *name)
{
	struct hv_guest *g;

	if (ops->open(name, &g) == -1)
		return 0;
	ops->close(g);
	return 1;
}

static void
destroy(const struct hv_ops *ops, const char *name)
{
	struct hv_guest *g;

	if (ops->open(name, &g) == 0) {
		(void)ops->destroy(g);
		ops->close(g);
	}
}

/*
 * Which guest is the receive's?  Its name, unless it is a twin (built
 * beside its source on this host, names.h): then NAME--incoming, or,
 * after the go, NAME once the copy has taken it - which it can only
 * have done once the source is named NAME--migratedaway.  NAME itself
 * is otherwise the source, and never the guardian's to destroy.
 */
static void
destroy_made(const struct hv_ops *ops, const char *name, int twin, int go)
{
	char in[VMI_NAME_MAX], away[VMI_NAME_MAX];

	if (!twin) {
		destroy(ops, name);
		return;
	}
	if (vmp_twin_name(name, VMP_TWIN_INCOMING, in, sizeof(in)) == -1 ||
	    vmp_twin_name(name, VMP_TWIN_AWAY, away, sizeof(away)) == -1)
		return;
	if (exists(ops, in))
		destroy(ops, in);
	else if (go && exists(ops, away))
		destroy(ops, name);
}

static void __attribute__((noreturn))
guardian(const struct guard *gd, int rfd, const char *name, uint32_t backend,
    const char *lock, int lockfd)
{
	const struct hv_ops *ops;
	struct stat a, b;
	int made = 0, kept = 0, twin = 0, go = 0;
	char c;

	for (;;) {
		ssize_t n = read(rfd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (c == G_DONE)
			_exit(0);
		if (c == G_MADE)
			made = 1;
		if (c == G_KEEP)
			kept = 1;
		if (c == G_TWIN)
			twin = 1;
		if (c == G_GO)
			go = 1;
	}
	/* The receive is gone without its last word. */
	if (made && !kept && (ops = hv_by_id(backend)) != NULL)
		destroy_made(ops, name, twin, go);
	/* The disks a bundle brought, made for a guest that does not run:
	 * left, they would refuse the next try. */
	for (unsigned i = 0; !kept && i < gd->ndisks; i++)
		(void)unlink(gd->disks[i]);
	/* Its lock file, unless a later receive has made a new one. */
	if (lock != NULL && lockfd >= 0 && fstat(lockfd, &a) == 0 &&
	    stat(lock, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		(void)unlink(lock);
	_exit(0);
}

int
guard_start(struct guard *gd, const char *name, uint32_t backend,
    const char *lock, int lockfd)
{
	int p[2];
	pid_t pid;

	gd->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_IGN };
		int null = open("/dev/null", O_RDWR);

		/* Outlive what kills the receive: a Ctrl-C to the process
		 * group, the session's hangup, the sender's TERM. */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		setsid();
		/* Hold nothing of the receive's but the pipe and the lock:
		 * an inherited connection would keep the sender waiting. */
		/* Out of the way first: the pipe or the lock may be on 3
		 * or 4 already. */
		int rp = fcntl(p[0], F_DUPFD, 100);
		int lk = lockfd >= 0 ? fcntl(lockfd, F_DUPFD, 100) : -1;

		if (null < 0 || rp < 0 || (lockfd >= 0 && lk < 0) ||
		    dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0 || dup2(rp, 3) < 0 ||
		    (lk >= 0 && dup2(lk, 4) < 0))
			_exit(1);
		close_range(lockfd >= 0 ? 5 : 4, ~0u, 0);
		guardian(gd, 3, name, backend, lock, lockfd >= 0 ? 4 : -1);
	}
	close(p[0]);
	gd->fd = p[1];
	return 0;
}

static void
tell(struct guard *gd, char c)
{
	if (gd->fd >= 0)
		while (write(gd->fd, &c, 1) < 0 && errno == EINTR)
			;
}

void
guard_made(struct guard *gd)
{
	tell(gd, G_MADE);
}

void
guard_twin(struct guard *gd)
{
	tell(gd, G_TWIN);
}

void
guard_go(struct guard *gd)
{
	tell(gd, G_GO);
}

void
guard_keep(struct guard *gd)
{
	tell(gd, G_KEEP);
}

void
guard_done(struct guard *gd)
{
	tell(gd, G_DONE);
	if (gd->fd >= 0)
		close(gd->fd);
	gd->fd = -1;
}
