/*
 * vm-restore: make a guest from a vmpipe image on stdin (or a file) and
 * resume it.  A restore that fails leaves no guest behind.
 */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brestore.h"
#include "bundle.h"
#include "cli.h"
#include "exits.h"
#include "io.h"
#include "names.h"
#include "restore.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-restore [-Pq] [--replace-disks] "
	    "[-b backend] [-C file] [--disk-dir dir]\n"
	    "                  [-n name | --as name] [file]\n");
	exit(VMP_EX_USAGE);
}

/* A bundle is restored from a file: is fd one, and a bundle? */
static int
is_bundle(int fd)
{
	char block[512];

	return pread(fd, block, sizeof(block), 0) == (ssize_t)sizeof(block) &&
	    bundle_sniff(block, sizeof(block));
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "paused",	no_argument,		NULL, 'P' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "config",	required_argument,	NULL, 'C' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "as",		required_argument,	NULL, 'A' },
		{ "disk-dir",	required_argument,	NULL, 'D' },
		{ "replace-disks", no_argument,		NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct restore_opts o;
	struct restore_result res;
	struct brestore_opts bo = { 0 };
	char msg[1024];
	const char *in = "-";
	uint64_t t0;
	int ch, fd, quiet = 0, bundle, r;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "C:Pb:n:q", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			o.clone = 1;
			/* FALLTHROUGH */
		case 'n':
			if (vmp_name_check(optarg, msg, sizeof(msg)) == -1)
				errx(VMP_EX_USAGE, "%s", msg);
			o.name = optarg;
			break;
		case 'D':
			bo.disk_dir = optarg;
			break;
		case 'R':
			bo.replace = 1;
			break;
		case 'b':
			o.backend = optarg;
			break;
		case 'C':
			o.config_path = optarg;
			break;
		case 'P':
			o.paused = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		in = argv[0];
	fd = cli_open_in(in, VMP_EX_FAIL);
	/* A dying restore must still destroy its half-made guest. */
	signal(SIGPIPE, SIG_IGN);
	o.progress = !quiet;
	o.whole_input = 1;
	bundle = is_bundle(fd);
	if (!bundle && (bo.disk_dir != NULL || bo.replace))
		errx(VMP_EX_USAGE, "--disk-dir and --replace-disks are for a "
		    "bundle (vm-bundle(5)); %s is not one", in);
	t0 = now_ns();
	r = bundle ? bundle_restore(fd, &bo, &o, &res, msg, sizeof(msg)) :
	    restore_stream(fd, &o, &res, msg, sizeof(msg));
	if (r == -1)
		errx(VMP_EX_FAIL, "%s: %s; no guest was made", in, msg);
	if (!quiet && res.format == RESTORE_XL)
		fprintf(stderr, "vm-restore: %s: xl save file in %.3f s; guest "
		    "%s\n", res.info.name, (now_ns() - t0) / 1e9,
		    o.paused ? "paused" : "running");
	else if (!quiet)
		fprintf(stderr, "vm-restore: %s: %llu pages, %llu octets in "
		    "%.3f s (%.2f GB/s of guest memory); guest %s\n",
		    res.info.name, (unsigned long long)res.pages,
		    (unsigned long long)res.bytes, (now_ns() - t0) / 1e9,
		    res.info.mem_bytes / ((now_ns() - t0) / 1e9) / 1e9,
		    o.paused ? "paused" : "running");
	return 0;
}
