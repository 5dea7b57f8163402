/*
 * privsep.c: the unprivileged side of an SSH connection (sshd.c).
 *
 * Everything a peer sends before it is authenticated - the key exchange,
 * the authentication, the channel requests - and the SSH transport after
 * it is parsed by libssh in a process of its own, as OpenSSH's sshd does
 * it: another user (vmpipe, else nobody), an empty root-owned directory
 * as its root, no new privileges and no children.
 * Only its word that a peer authenticated, the request line and the
 * stream's octets reach the privileged process that restores.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "names.h"
#include "recvd.h"

/* Who the unprivileged side runs as, and where: found before serving. */
int
privsep_prepare(struct server *s)
{
	const char *users[] = { "vmpipe", "nobody" };
	struct passwd *pw = NULL;
	struct stat sb;
	char why[256];

	if (geteuid() != 0) {
		/* Nothing to drop: a server that is not root cannot make
		 * guests either, but tests of its bounds may run it so. */
		slog(LOG_NOTICE, "not root: no privilege separation");
		s->sep_uid = (uid_t)-1;
		return 0;
	}
	for (size_t i = 0; i < sizeof users / sizeof users[0] && !pw; i++)
		pw = getpwnam(users[i]);
	if (pw == NULL || pw->pw_uid == 0) {
		slog(LOG_ERR, "privilege separation: no user vmpipe or nobody");
		return -1;
	}
	s->sep_uid = pw->pw_uid;
	s->sep_gid = pw->pw_gid;
	if (vmp_rundir_ready(NULL, why, sizeof why) == -1) {
		slog(LOG_ERR, "%s", why);
		return -1;
	}
	if ((size_t)snprintf(s->sep_dir, sizeof s->sep_dir, "%s/empty",
	    vmp_rundir()) >= sizeof s->sep_dir) {
		slog(LOG_ERR, "run directory path too long");
		return -1;
	}
	if (mkdir(s->sep_dir, 0555) == -1 && errno != EEXIST) {
		slog(LOG_ERR, "can't make %s: %s", s->sep_dir, strerror(errno));
		return -1;
	}
	/* Its root: nothing in it, and nobody may put anything there. */
	if (lstat(s->sep_dir, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != 0 || (sb.st_mode & 0222) || sb.st_nlink != 2) {
		slog(LOG_ERR, "%s: expected an empty directory owned by root "
		    "and writable by no one", s->sep_dir);
		return -1;
	}
	return 0;
}

/* In the connection's unprivileged child, before it reads the peer. */
int
privsep_drop(const struct server *s)
{
	const struct rlimit zero = { 0, 0 };

	if (s->sep_uid == (uid_t)-1)
		return 0;
	/* syslog's socket is opened now, while /dev/log can be reached. */
	if (slog_syslog)
		openlog("vm-recv", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (chroot(s->sep_dir) == -1 || chdir("/") == -1) {
		slog(LOG_ERR, "chroot %s: %s", s->sep_dir, strerror(errno));
		return -1;
	}
	if (setgroups(1, &s->sep_gid) == -1 ||
	    setresgid(s->sep_gid, s->sep_gid, s->sep_gid) == -1 ||
	    setresuid(s->sep_uid, s->sep_uid, s->sep_uid) == -1) {
		slog(LOG_ERR, "can't become uid %lu: %s",
		    (unsigned long)s->sep_uid, strerror(errno));
		return -1;
	}
	/* Should any of it not have taken, stop here. */
	if (setuid(0) == 0 || geteuid() == 0) {
		slog(LOG_ERR, "privilege separation: root regained");
		return -1;
	}
	/* No children.  (No RLIMIT_FSIZE: stderr may be a log file.) */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    setrlimit(RLIMIT_NPROC, &zero) == -1) {
		slog(LOG_ERR, "privilege separation: %s", strerror(errno));
		return -1;
	}
	/* A connection whose monitor is gone has nobody to answer to.  Set
	 * after the uid changed, which clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return -1;
	return 0;
}
