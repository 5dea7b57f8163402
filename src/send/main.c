/*
 * vm-send: deliver an image stream on stdin to vm-recv on another host,
 * over SSH (an ordinary sshd, or a relocation server with -r) or over raw
 * TCP to a relocation server started with --plain.
 */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "exits.h"
#include "names.h"
#include "send.h"
#include "xfer.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vm-send [-qrv] [--name name] [--paused] [--plain] "
	    "[-c cipher] [-e command]\n"
	    "               [--hold guest] [-i identity] [-K known_hosts] "
	    "[-p port]\n"
	    "               [-t seconds] [--user user] [user@]host[:port]\n"
	    "       vm-send [-r] [--plain] [-c cipher] [-e command] "
	    "[-i identity]\n"
	    "               [-K known_hosts] [-p port] [-t seconds] "
	    "[--user user]\n"
	    "               --status name [user@]host[:port]\n");
	exit(VMP_EX_USAGE);
}

/* Append ' word' to cmd, quoted for a POSIX shell. */
static void
cmd_add(char *cmd, size_t len, const char *word)
{
	size_t n = strlen(cmd);

	if (n + 4 + 4 * strlen(word) >= len)
		errx(VMP_EX_USAGE, "command too long");
	cmd[n++] = ' ';
	cmd[n++] = '\'';
	for (; *word != '\0'; word++) {
		if (*word == '\'') {
			memcpy(cmd + n, "'\\''", 4);
			n += 4;
		} else
			cmd[n++] = *word;
	}
	cmd[n++] = '\'';
	cmd[n] = '\0';
}

static void
on_signal(int sig)
{
	(void)sig;
	send_interrupted = 1;
}

/* The receive command: -e's (run by a shell) or vm-recv for a server. */
static void
build_command(const struct send_opts *o, char *cmd, size_t len)
{
	char t[16];

	snprintf(cmd, len, "%s", o->relocation ? "vm-recv" : o->command);
	if (o->status != NULL) {
		cmd_add(cmd, len, "--status");
		cmd_add(cmd, len, o->status);
		return;
	}
	/* The two-phase handover: the far side resumes only on our go. */
	cmd_add(cmd, len, "--handover");
	if (o->timeout > 0) {
		snprintf(t, sizeof t, "%d", o->timeout);
		cmd_add(cmd, len, "-t");
		cmd_add(cmd, len, t);
	}
	if (o->name != NULL) {
		cmd_add(cmd, len, "--name");
		cmd_add(cmd, len, o->name);
	}
	if (o->paused)
		cmd_add(cmd, len, "--paused");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "hold", required_argument, NULL, 'H' },
		{ "known-hosts", required_argument, NULL, 'K' },
		{ "status", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'N' },
		{ "paused", no_argument, NULL, 'P' },
		{ "plain", no_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_opts o = { .command = "vm-recv" };
	struct xport *xp;
	char cmd[4096], emsg[1024], *host, *at;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "K:c:e:i:p:qrt:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.ciphers = optarg;
			break;
		case 'e':
			o.command = optarg;
			break;
		case 'i':
			o.identity = optarg;
			break;
		case 'K':
			o.known_hosts = optarg;
			break;
		case 'H':
		case 'N':
		case 'S':
			if (vmp_name_check(optarg, emsg, sizeof(emsg)) == -1)
				errx(VMP_EX_USAGE, "%s", emsg);
			if (ch == 'H')
				o.hold = optarg;
			else if (ch == 'N')
				o.name = optarg;
			else
				o.status = optarg;
			break;
		case 't':
			o.timeout = cli_seconds(optarg, VMP_EX_USAGE);
			break;
		case 'p':
			o.port = atoi(optarg);
			if (o.port < 1 || o.port > 65535)
				errx(VMP_EX_USAGE, "bad port '%s'", optarg);
			break;
		case 'P':
			o.paused = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'r':
			o.relocation = 1;
			break;
		case 'T':
			o.plain = 1;
			break;
		case 'U':
			o.user = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if (o.plain && !o.relocation)
		errx(VMP_EX_USAGE, "--plain needs -r: only a relocation "
		    "server speaks raw TCP");
	if (o.status != NULL && (o.hold || o.name || o.paused))
		usage();
	if (o.status == NULL && isatty(0))
		errx(VMP_EX_USAGE, "stdin is a terminal, not an image stream");

	host = argv[0];
	if ((at = strrchr(host, '@')) != NULL) {
		*at = '\0';
		o.user = o.user ? o.user : host;
		host = at + 1;
	}
	if (xfer_split_hostport(host, 1, &host, &o.port) < 0 || host == NULL)
		errx(VMP_EX_USAGE, "bad host '%s'", argv[0]);
	o.host = host;

	/* A dead peer must show up as an error from write, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Once the end of the stream is out, a signal must not look like a
	 * failure that the caller answers by resuming the source: the pump
	 * decides what it means. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	build_command(&o, cmd, sizeof cmd);
	if (o.plain) {
		xp = xport_plain_open(&o, emsg, sizeof emsg);
		/* The request line stands in for the exec request. */
		strcat(cmd, "\n");
		if (xp != NULL && (strlen(cmd) > XFER_LINE_MAX ||
		    xp->ops->write(xp, cmd, strlen(cmd)) < 0)) {
			snprintf(emsg, sizeof emsg, "%s", xp->err);
			xp->ops->close(xp);
			xp = NULL;
		}
	} else
		xp = xport_ssh_open(&o, cmd, emsg, sizeof emsg);
	if (xp == NULL)
		errx(VMP_EX_FAIL, "%s", emsg);
	rc = o.status != NULL ? send_status(xp, &o) : send_stream(xp, 0, &o);
	xp->ops->close(xp);
	return rc;
}
