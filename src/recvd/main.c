/*
 * vm-recvd: the relocation server (server.c): it listens, admits peers
 * by hosts-allow and key, and runs one receive (receive.h) in each
 * connection's process.  `vm-recv --listen' and `vm-recv -F' run it with
 * their own arguments, so that vm-recv on stdin needs no SSH library.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "exits.h"
#include "recvd.h"
#include "xfer.h"

#define DEF_HOSTKEY	"/etc/vmpipe/host_key"
#define DEF_AUTHKEYS	"/etc/vmpipe/authorized_keys"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vm-recvd [-Dq] [--plain] [-a authorized_keys] [-C file] "
	    "[-d rundir]\n"
	    "                [-F config_file] [-H hosts_allow] [-k host_key] "
	    "[--pidfile file]\n"
	    "                [-t seconds] [--listen [addr:]port]\n");
	exit(VMP_EX_USAGE);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'C' },
		{ "config-file", required_argument, NULL, 'F' },
		{ "listen", required_argument, NULL, 'L' },
		{ "pidfile", required_argument, NULL, 'I' },
		{ "plain", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct server s = { 0 };
	const char *config = NULL, *listen = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "C:DF:H:a:d:k:qt:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			s.authkeys = optarg;
			break;
		case 'D':
			s.daemon = 1;
			break;
		case 'd':
			if (setenv("VMPIPE_RUNDIR", optarg, 1) < 0)
				err(VMP_EX_FAIL, "setenv");
			break;
		case 'C':
			s.guest_config = optarg;
			break;
		case 'F':
			config = optarg;
			break;
		case 'H':
			s.hosts_allow = optarg;
			break;
		case 'k':
			s.hostkey = optarg;
			break;
		case 'L':
			listen = optarg;
			break;
		case 't':
			s.timeout = cli_seconds(optarg, VMP_EX_USAGE);
			break;
		case 'I':
			s.pidfile = optarg;
			break;
		case 'q':
			s.quiet = 1;
			break;
		case 'T':
			s.plain = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0)
		usage();

	if (listen != NULL) {
		char *addr = NULL;

		if (xfer_split_hostport(listen, 0, &addr, &s.port) < 0 ||
		    s.port == 0)
			errx(VMP_EX_USAGE, "bad listen address '%s'", listen);
		s.address = addr;
	}
	if (config != NULL && server_config(&s, config) < 0)
		return VMP_EX_USAGE;
	if (s.port == 0)
		s.port = XFER_RELOC_PORT;
	if (s.hostkey == NULL)
		s.hostkey = DEF_HOSTKEY;
	if (s.authkeys == NULL)
		s.authkeys = DEF_AUTHKEYS;
	if (server_compile_allow(&s) < 0)
		return VMP_EX_USAGE;
	return server_run(&s);
}
