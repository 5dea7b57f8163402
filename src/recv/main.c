/*
 * vm-recv: the receiving end of a migration.  Without --listen or -F it
 * restores the image on stdin (the far end of `ssh host vm-recv') with
 * the receive engine (receive.h); with them it becomes the relocation
 * server, vm-recvd, given the same arguments.  The server is a program
 * of its own so that this one, started once per migration, loads no SSH
 * library.
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
#include "receive.h"
#include "sibling.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vm-recv [-q] [--handover] [--name name | --as name] "
	    "[--paused]\n"
	    "               [-C file] [-d rundir] [-t seconds]\n"
	    "       vm-recv [-d rundir] --status name\n"
	    "       vm-recv [-Dq] [--plain] [-a authorized_keys] [-C file] "
	    "[-d rundir]\n"
	    "               [-F config_file] [-H hosts_allow] [-k host_key] "
	    "[--pidfile file]\n"
	    "               [-t seconds] [--listen [addr:]port]\n");
	exit(VMP_EX_USAGE);
}

/* Run the relocation server with our arguments; argv[0] stays the name
 * the administrator used, which its messages and syslog carry. */
static void
run_server(char *argv[])
{
	const char *path = vmp_sibling("vm-recvd");

	execvp(path, argv);
	err(VMP_EX_FAIL, "%s", path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "as", required_argument, NULL, 'A' },
		{ "handover", no_argument, NULL, 'G' },
		{ "status", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'C' },
		{ "config-file", required_argument, NULL, 'F' },
		{ "listen", required_argument, NULL, 'L' },
		{ "name", required_argument, NULL, 'N' },
		{ "paused", no_argument, NULL, 'P' },
		{ "pidfile", required_argument, NULL, 'I' },
		{ "plain", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct recv_opts ro = { 0 };
	const char *config = NULL, *listen = NULL;
	char why[256];
	int ch, server_only = 0, stdin_only = 0;

	/* getopt_long() would move operands after the options, but any
	 * operand is refused below: the server gets argv as it came. */
	while ((ch = getopt_long(argc, argv, "C:DF:H:a:d:k:qt:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':	/* the server's alone: vm-recvd reads them */
		case 'D':
		case 'H':
		case 'I':
		case 'k':
		case 'T':
			server_only = 1;
			break;
		case 'd':
			if (setenv("VMPIPE_RUNDIR", optarg, 1) < 0)
				err(VMP_EX_FAIL, "setenv");
			break;
		case 'C':
			ro.config_path = optarg;
			break;
		case 'F':
			config = optarg;
			break;
		case 'L':
			listen = optarg;
			break;
		case 'A':
		case 'N':
			if (vmp_name_check(optarg, why, sizeof(why)) == -1)
				errx(VMP_EX_USAGE, "%s", why);
			ro.name = optarg;
			ro.clone = ch == 'A';
			stdin_only = 1;
			break;
		case 'G':
			ro.handover = 1;
			stdin_only = 1;
			break;
		case 'S':
			if (vmp_name_check(optarg, why, sizeof(why)) == -1)
				errx(VMP_EX_USAGE, "%s", why);
			ro.status = optarg;
			break;
		case 't':
			ro.timeout = cli_seconds(optarg, VMP_EX_USAGE);
			break;
		case 'P':
			ro.paused = 1;
			stdin_only = 1;
			break;
		case 'q':
			ro.quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)	/* argv itself stays whole for the server */
		usage();

	if (ro.status != NULL) {
		if (server_only || stdin_only || listen || config ||
		    ro.config_path)
			usage();
		return recv_status(1, &ro);
	}
	if (listen == NULL && config == NULL) {
		if (server_only)
			errx(VMP_EX_USAGE, "server options need --listen or "
			    "-F");
		/* The sender watches our stdout; a dead one must not kill
		 * us before the half-made guest is cleaned up. */
		signal(SIGPIPE, SIG_IGN);
		return recv_stream(0, 1, &ro);
	}
	if (stdin_only)
		errx(VMP_EX_USAGE, "--name, --paused and --handover are the "
		    "sender's to choose when listening");
	run_server(argv);
}
