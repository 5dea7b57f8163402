/*
 * vm-migrate: move a guest to another host by composing the small
 * programs, as the hand-made pipeline
 *
 *	vm-precopy g | vm-send host && vm-ctl destroy g || vm-ctl resume g
 *
 * does, but with the rules that pipeline cannot keep by itself: the guest
 * here is destroyed only after the far side has said the guest runs there
 * (vm-send exits 0); it is resumed here only when the far side cannot run
 * it (vm-send exits 1: it never said go, or the far side said it
 * destroyed its copy); and when neither is known (vm-send exits 4, or
 * dies), it stays paused and held until the far side has been asked
 * (--settle, which this program tries once itself).  No guest is ever
 * lost, and none ever runs twice.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "exits.h"
#include "hold.h"
#include "names.h"
#include "sibling.h"
#include "vmi.h"
#include "xfer.h"

static volatile sig_atomic_t interrupted;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vm-migrate [-lqrv] [--copy-storage-all] [--no-fallback] "
	    "[--plain]\n"
	    "                  [-b backend] [--bandwidth rate] [-C file] "
	    "[-c cipher]\n"
	    "                  [--downtime ms] [-e command] [-i identity]\n"
	    "                  [-j threads] [-K known_hosts] [--max-bytes size] "
	    "[--max-rounds n]\n"
	    "                  [-p port] [-t seconds] [-z level] guest "
	    "[user@]host[:port]\n"
	    "       vm-migrate --settle [-qr] [--plain] [-b backend] "
	    "[-c cipher] [-e command]\n"
	    "                  [-i identity] [-K known_hosts] [-p port] "
	    "[-t seconds]\n"
	    "                  guest [user@]host[:port]\n");
	exit(VMP_EX_USAGE);
}

static void
on_signal(int sig)
{
	interrupted = sig;
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

/*
 * The source's name now: NAME, or NAME--migratedaway when vm-send let go
 * of the name for a copy built beside it on this same host (names.h) -
 * which it did if the hold is there.  The copy here is always the held
 * one, never a guest that took the name since.
 */
static const char *
source_name(const char *guest, char *buf, size_t len)
{
	char host[256];

	if (vmp_twin_name(guest, VMP_TWIN_AWAY, buf, len) == 0 &&
	    vmp_hold_get(buf, host, sizeof host) == 1)
		return buf;
	return guest;
}

/* vm-ctl VERB [FLAG] on the copy here, under whatever name it has now;
 * resuming a renamed source gives it its name back first. */
static int
run_ctl(const char *backend, const char *verb, const char *flag,
    const char *guest)
{
	char buf[VMI_NAME_MAX];
	const char *src = source_name(guest, buf, sizeof buf);
	const char *args[4] = { verb, flag ? flag : src, flag ? src : NULL,
	    NULL };

	if (strcmp(verb, "resume") == 0 && src != guest) {
		if (vmp_run_ctl(backend, (const char *[]){ "rename", src,
		    guest, NULL }) == -1) {
			warnx("%s is named %s here and could not be given its "
			    "name back", guest, src);
			return -1;
		}
		args[flag ? 2 : 1] = guest;
	}
	return vmp_run_ctl(backend, args);
}

/* What the far side says of the guest's name: running, paused,
 * receiving or absent (xfer.h), or "" when it could not be asked. */
static void
ask(char *const qargv[], const char *guest, char *state, size_t len)
{
	char buf[512], want[128];
	size_t n = 0;
	ssize_t r;
	int p[2], st;
	pid_t pid;

	state[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = spawn(qargv, -1, p[1]);
	close(p[1]);
	while (n < sizeof buf - 1 &&
	    ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0 ||
	    (r < 0 && errno == EINTR)))
		n += r > 0 ? r : 0;
	close(p[0]);
	buf[n] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	snprintf(want, sizeof want, "vmpipe-recv: status %s ", guest);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    strncmp(buf, want, strlen(want)) == 0) {
		snprintf(state, len, "%s", buf + strlen(want));
		state[strcspn(state, "\n")] = '\0';
	}
}

/*
 * Settle a migration in doubt: ask the far side until it knows (a
 * receive there still holds the name until its own deadline passes),
 * then destroy the copy here or resume it.  Returns the exit status.
 */
static int
settle(char *const qargv[], const char *backend, const char *guest,
    const char *host, int tries, int quiet)
{
	/* What the far side's answer makes of the copy here. */
	static const struct {
		const char	*state, *verb, *flag;
		const char	*done, *failed;
		int		 rc;
	} act[] = {
		{ XFER_ST_RUNNING, "destroy", NULL,
		  "runs on %s; the copy here was destroyed",
		  "runs on %s, but the paused copy here could not be "
		  "destroyed: destroy it by hand", VMP_EX_OK },
		{ XFER_ST_ABSENT, "resume", "--force",
		  "not on %s; the guest runs here",
		  "does not run on %s, and the copy here could not be "
		  "resumed: check it with vm-ctl info", VMP_EX_FAIL },
	};
	char state[64];

	for (int i = 0; i < tries; i++) {
		if (i > 0)
			sleep(2);
		ask(qargv, guest, state, sizeof state);
		for (size_t k = 0; k < sizeof act / sizeof act[0]; k++) {
			if (strcmp(state, act[k].state) != 0)
				continue;
			if (run_ctl(backend, act[k].verb, act[k].flag,
			    guest) < 0) {
				fprintf(stderr, "vm-migrate: %s: ", guest);
				fprintf(stderr, act[k].failed, host);
				fputc('\n', stderr);
				return VMP_EX_PAUSED;
			}
			if (!quiet) {
				fprintf(stderr, "vm-migrate: %s: settled: ",
				    guest);
				fprintf(stderr, act[k].done, host);
				fputc('\n', stderr);
			}
			return act[k].rc;
		}
		if (strcmp(state, XFER_ST_PAUSED) == 0) {
			warnx("%s is paused on %s and paused and held here: "
			    "resume one copy by hand (vm-ctl resume --force here, "
			    "or vm-ctl resume there) and destroy the other",
			    guest, host);
			return VMP_EX_INDOUBT;
		}
		/* "receiving", or no answer: ask again. */
	}
	warnx("%s: still in doubt: %s %s; the guest here stays paused and "
	    "held.  Settle it later with vm-migrate --settle %s %s", guest,
	    host, state[0] ? "is still receiving it" : "could not be asked",
	    guest, host);
	return VMP_EX_INDOUBT;
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
		{ "config",	required_argument,	NULL, 'C' },
		{ "copy-storage-all", no_argument,	NULL, 'A' },
		{ "downtime",	required_argument,	NULL, 'D' },
		{ "known-hosts", required_argument,	NULL, 'K' },
		{ "live",	no_argument,		NULL, 'l' },
		{ "max-bytes",	required_argument,	NULL, 'X' },
		{ "max-rounds",	required_argument,	NULL, 'R' },
		{ "no-fallback", no_argument,		NULL, 'N' },
		{ "plain",	no_argument,		NULL, 'T' },
		{ "settle",	no_argument,		NULL, 'S' },
		{ "threads",	required_argument,	NULL, 'j' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	char *sargv[40], *rargv[32], *qargv[40], *tune[16];
	char b1[64], b2[64], b3[64];
	const char *backend = NULL, *live_only = NULL, *guest, *host;
	int ch, live = 0, quiet = 0, verbose = 0, ns = 0, nr = 0, nt = 0;
	int settle_only = 0, nq, p[2], sst, rst, timeout = XFER_GO_TIMEOUT;
	int storage = 0;
	pid_t saver, sender;

	sargv[ns++] = (char *)vmp_sibling("vm-send");
	while ((ch = getopt_long(argc, argv, "C:K:b:c:e:i:j:lp:qrt:vz:",
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
		case 'A':
			storage = 1;
			break;
		case 'b':
			backend = optarg;
			break;
		case 'c': case 'e': case 'i': case 'K': case 'p': case 't':
			/* vm-send's options, passed as they came. */
			if (ch == 't')
				timeout = cli_seconds(optarg, VMP_EX_USAGE);
			snprintf(b1, sizeof b1, "-%c", ch);
			sargv[ns++] = strdup(b1);
			sargv[ns++] = optarg;
			break;
		case 'C': case 'j': case 'z':
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
		case 'S':
			settle_only = 1;
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
		if (ns > 30 || nt > 14)
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
	if (settle_only && (live || nt > 0 || verbose || storage))
		usage();
	/*
	 * A disk copied while the guest runs would need the blocks it
	 * writes meanwhile copied again, round after round, as its memory
	 * is: no backend here tracks a disk's dirty blocks yet.
	 */
	if (storage && live)
		errx(VMP_EX_USAGE, "--copy-storage-all can't be --live: the "
		    "disks are copied with the guest paused.  Migrate offline "
		    "with vm-migrate --copy-storage-all %s %s, or live with "
		    "the disks on storage both hosts share", argv[0], argv[1]);
	if (vmp_name_check(guest, b1, sizeof b1) == -1)
		errx(VMP_EX_USAGE, "%s", b1);

	/* The question for the far side: vm-send's transport options, and
	 * --status. */
	memcpy(qargv, sargv, ns * sizeof *sargv);
	nq = ns;
	qargv[nq++] = "--status";
	qargv[nq++] = (char *)guest;
	qargv[nq++] = (char *)host;
	qargv[nq] = NULL;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (settle_only)
		/* The far side's receive gives up within its deadline. */
		return settle(qargv, backend, guest, host,
		    timeout / 2 + 2, quiet);

	if (quiet)
		sargv[ns++] = "-q";
	if (verbose)
		sargv[ns++] = "-v";
	/* The fence: vm-send holds the guest here before it says go. */
	sargv[ns++] = "--hold";
	sargv[ns++] = (char *)guest;
	sargv[ns++] = (char *)host;
	sargv[ns] = NULL;

	/* Both copiers leave the guest paused when they succeed, and resume
	 * it themselves when they fail. */
	rargv[nr++] = (char *)vmp_sibling(live ? "vm-precopy" : "vm-save");
	if (!live)
		rargv[nr++] = "--paused";
	/* The guest's disks go with it, in a bundle (vm-bundle(5)); those
	 * here are left as they are. */
	if (storage)
		rargv[nr++] = "--bundle";
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
		if (run_ctl(backend, "destroy", NULL, guest) < 0) {
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
	if (!exited(rst, VMP_EX_FAIL) && !exited(rst, VMP_EX_NOCONV) &&
	    !exited(rst, VMP_EX_USAGE)) {
		/* In doubt (4), or the sender died not knowing: never a
		 * resume until the far side has been asked. */
		warnx("%s: vm-send ended with %s: asking %s", guest,
		    status_str(rst, b1, sizeof b1), host);
		return settle(qargv, backend, guest, host,
		    interrupted ? 3 : timeout / 2 + 2, quiet);
	}
	snprintf(b3, sizeof b3, "%s: %s, vm-send: %s",
	    strrchr(rargv[0], '/') ? strrchr(rargv[0], '/') + 1 : rargv[0],
	    status_str(sst, b1, sizeof b1), status_str(rst, b2, sizeof b2));
	/* The far side never had a go, or destroyed its copy: a hold that
	 * vm-send placed guards nothing. */
	if (run_ctl(backend, "resume", "--force", guest) < 0) {
		warnx("%s: not migrated (%s), and the guest here could not be "
		    "resumed: check it with vm-ctl info", guest, b3);
		return VMP_EX_PAUSED;
	}
	warnx("%s: not migrated%s (%s); the guest runs here", guest,
	    interrupted ? ", interrupted" : "", b3);
	/* A live copy that gave up under --no-fallback says so itself. */
	return exited(sst, VMP_EX_NOCONV) ? VMP_EX_NOCONV : VMP_EX_FAIL;
}
