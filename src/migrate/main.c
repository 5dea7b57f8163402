/*
 * vm-migrate: move a guest to another host by composing the small
 * programs, as the hand-made pipeline
 *
 *	vm-precopy g | vm-send host && vm-ctl destroy g || vm-ctl resume g
 *
 * does, but with the one rule that pipeline cannot keep by itself when
 * it is interrupted: the guest here is destroyed only after the far side
 * has said the guest runs there (vm-send exits 0), and every other
 * ending resumes it here.  No guest is ever lost.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exits.h"

static volatile sig_atomic_t interrupted;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vm-migrate [-lqrv] [--no-fallback] [--plain] [-b backend] "
	    "[--bandwidth rate]\n"
	    "                  [-c cipher] [--downtime ms] [-e command] "
	    "[-i identity] [-j threads]\n"
	    "                  [-K known_hosts] [--max-bytes size] "
	    "[--max-rounds n] [-p port]\n"
	    "                  [-z level] guest [user@]host[:port]\n");
	exit(VMP_EX_USAGE);
}

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* The sibling program: next to this one if it is there, else on PATH. */
static const char *
prog(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char self[PATH_MAX], *b = buf[next++ % 4];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(b, PATH_MAX, "%s/%s", dirname(self), name);
		if (access(b, X_OK) == 0)
			return b;
	}
	return name;
}

static pid_t
spawn(char *const argv[], int in, int out)
{
	pid_t pid = fork();

	if (pid < 0)
		err(VMP_EX_FAIL, "fork");
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		if ((in >= 0 && dup2(in, 0) < 0) ||
		    (out >= 0 && dup2(out, 1) < 0))
			_exit(VMP_EX_FAIL);
		execvp(argv[0], argv);
		warn("can't run %s", argv[0]);
		_exit(127);
	}
	return pid;
}

/* Wait for pid; a signal to us is passed on to the children. */
static int
wait_child(pid_t pid, pid_t *others, int nothers)
{
	int st, forwarded = 0;

	for (;;) {
		if (waitpid(pid, &st, 0) == pid)
			break;
		if (errno != EINTR)
			return -1;
		if (interrupted && !forwarded) {
			/* Stop the copy; what happens to the guest is still
			 * decided by the sender's exit status. */
			kill(pid, SIGTERM);
			for (int i = 0; i < nothers; i++)
				if (others[i] > 0)
					kill(others[i], SIGTERM);
			forwarded = 1;
		}
	}
	return st;
}

static int
run_ctl(const char *backend, const char *verb, const char *guest)
{
	char *argv[8];
	int i = 0, st;
	pid_t pid;

	argv[i++] = (char *)prog("vm-ctl");
	if (backend != NULL) {
		argv[i++] = "-b";
		argv[i++] = (char *)backend;
	}
	argv[i++] = (char *)verb;
	argv[i++] = (char *)guest;
	argv[i] = NULL;
	pid = spawn(argv, -1, 2);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static const char *
status_str(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status %#x", st);
	return buf;
}

/* Whether status st is the exit with code ex. */
static int
exited(int st, int ex)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == ex;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bandwidth",	required_argument,	NULL, 'B' },
		{ "compress",	required_argument,	NULL, 'z' },
		{ "downtime",	required_argument,	NULL, 'D' },
		{ "known-hosts", required_argument,	NULL, 'K' },
		{ "live",	no_argument,		NULL, 'l' },
		{ "max-bytes",	required_argument,	NULL, 'X' },
		{ "max-rounds",	required_argument,	NULL, 'R' },
		{ "no-fallback", no_argument,		NULL, 'N' },
		{ "plain",	no_argument,		NULL, 'T' },
		{ "threads",	required_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	char *sargv[32], *rargv[32], *tune[16], b1[64], b2[64], b3[64];
	const char *backend = NULL, *live_only = NULL, *guest, *host;
	int ch, live = 0, quiet = 0, verbose = 0, ns = 0, nr = 0, nt = 0;
	int p[2], sst, rst;
	pid_t saver, sender;

	sargv[ns++] = (char *)prog("vm-send");
	while ((ch = getopt_long(argc, argv, "K:b:c:e:i:j:lp:qrvz:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'B': case 'D': case 'N': case 'R': case 'X':
			/* vm-precopy's tuning: meaningful only live. */
			for (const struct option *o = longopts; o->name; o++)
				if (o->val == ch) {
					snprintf(b1, sizeof b1, "--%s",
					    o->name);
					live_only = tune[nt++] = strdup(b1);
				}
			if (ch != 'N')
				tune[nt++] = optarg;
			break;
		case 'b':
			backend = optarg;
			break;
		case 'c': case 'e': case 'i': case 'K': case 'p':
			/* vm-send's options, passed as they came. */
			snprintf(b1, sizeof b1, "-%c", ch);
			sargv[ns++] = strdup(b1);
			sargv[ns++] = optarg;
			break;
		case 'j': case 'z':
			/* The copier's, offline or live. */
			snprintf(b1, sizeof b1, "-%c", ch);
			tune[nt++] = strdup(b1);
			tune[nt++] = optarg;
			break;
		case 'l':
			live = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'r':
			sargv[ns++] = "-r";
			break;
		case 'T':
			sargv[ns++] = "--plain";
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
		if (ns > 24 || nt > 14)
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	guest = argv[0];
	host = argv[1];
	if (live_only != NULL && !live)
		errx(VMP_EX_USAGE, "%s needs --live", live_only);
	if (quiet)
		sargv[ns++] = "-q";
	if (verbose)
		sargv[ns++] = "-v";
	sargv[ns++] = (char *)host;
	sargv[ns] = NULL;

	/* Both copiers leave the guest paused when they succeed, and resume
	 * it themselves when they fail. */
	rargv[nr++] = (char *)prog(live ? "vm-precopy" : "vm-save");
	if (!live)
		rargv[nr++] = "--paused";
	for (int i = 0; i < nt; i++)
		rargv[nr++] = tune[i];
	if (quiet)
		rargv[nr++] = "-q";
	if (backend != NULL) {
		rargv[nr++] = "-b";
		rargv[nr++] = (char *)backend;
	}
	rargv[nr++] = (char *)guest;
	rargv[nr] = NULL;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (pipe2(p, O_CLOEXEC) < 0)
		err(VMP_EX_FAIL, "pipe");
	saver = spawn(rargv, -1, p[1]);
	sender = spawn(sargv, p[0], -1);
	close(p[0]);
	close(p[1]);

	rst = wait_child(sender, &saver, 1);
	if (rst != 0 && saver > 0)
		/* The sender gave up: the copy has nowhere to go. */
		kill(saver, SIGTERM);
	sst = wait_child(saver, &sender, 0);

	/*
	 * The sender's status alone says where the guest runs now.  The
	 * copier's (vmpipe(7), EXIT STATUS) only says why it did not move:
	 * it resumes the guest itself when it fails, and 3 says it could
	 * not, which the resume below tries again.
	 */
	if (rst == 0) {
		if (sst != 0)
			warnx("%s: %s ended with %s after %s took the guest",
			    guest, rargv[0], status_str(sst, b1, sizeof b1),
			    host);
		if (run_ctl(backend, "destroy", guest) < 0) {
			warnx("%s: migrated to %s, but the paused copy here "
			    "could not be destroyed: destroy it by hand",
			    guest, host);
			return VMP_EX_PAUSED;
		}
		if (!quiet)
			fprintf(stderr, "vm-migrate: %s: now runs on %s\n",
			    guest, host);
		return VMP_EX_OK;
	}
	snprintf(b3, sizeof b3, "%s: %s, vm-send: %s",
	    strrchr(rargv[0], '/') ? strrchr(rargv[0], '/') + 1 : rargv[0],
	    status_str(sst, b1, sizeof b1), status_str(rst, b2, sizeof b2));
	if (run_ctl(backend, "resume", guest) < 0) {
		warnx("%s: not migrated (%s), and the guest here could not be "
		    "resumed: check it with vm-ctl info", guest, b3);
		return VMP_EX_PAUSED;
	}
	warnx("%s: not migrated%s (%s); the guest runs here", guest,
	    interrupted ? ", interrupted" : "", b3);
	/* A live copy that gave up under --no-fallback says so itself. */
	return exited(sst, VMP_EX_NOCONV) ? VMP_EX_NOCONV : VMP_EX_FAIL;
}
