/*
 * vm-save: pause a guest and write all of it to stdout as a vmpipe image;
 * then destroy it, or with --keep resume it (a checkpoint), or with
 * --paused leave it paused for the caller (vm-migrate).  Options, the save
 * engine (save.h), a report: whatever fails, the engine resumes the guest.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsave.h"
#include "cli.h"
#include "cli_guest.h"
#include "exits.h"
#include "save.h"

static volatile sig_atomic_t stop;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-save [-q] [--bundle] [--keep | --paused] "
	    "[--max-pause ms] [-b backend]\n"
	    "               [-C file] [-j threads] [-o file] [-z level] "
	    "guest\n");
	exit(VMP_EX_USAGE);
}

static const char *
outcome_name(enum save_outcome o)
{
	return o == SAVE_DESTROYED ? "destroyed" : o == SAVE_RUNNING ?
	    "resumed" : "left paused";
}

static void
report(const struct save_result *res, int quiet)
{
	double secs = res->total_ns / 1e9;

	if (quiet)
		return;
	fprintf(stderr, "vm-save: %s: %llu pages (%llu zero), %llu octets in "
	    "%.3f s (%.2f GB/s of guest memory), paused %.3f s; guest %s\n",
	    res->info.name, (unsigned long long)res->ws.pages,
	    (unsigned long long)res->ws.zero_pages,
	    (unsigned long long)res->ws.bytes, secs,
	    res->info.mem_bytes / secs / 1e9, res->pause_ns / 1e9,
	    outcome_name(res->outcome));
}

/* A bundle: its disks, and for a checkpoint how each was held. */
static void
report_bundle(const struct bsave_result *br, int quiet)
{
	if (quiet)
		return;
	for (unsigned i = 0; i < br->ndisks; i++) {
		const struct snap *s = &br->snap[i];

		if (s->size == 0)
			fprintf(stderr, "vm-save: disk %s: %s\n",
			    br->disk[i].device, br->disk[i].path);
		else
			fprintf(stderr, "vm-save: disk %s: %s, %llu octets, "
			    "held by %s in %llu ms (guest paused)\n",
			    br->disk[i].device, br->disk[i].path,
			    (unsigned long long)s->size, snap_how_name(s->how),
			    (unsigned long long)s->ms);
	}
	fprintf(stderr, "vm-save: bundle of %llu octets\n",
	    (unsigned long long)br->octets);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bundle",	no_argument,		NULL, 'B' },
		{ "keep",	no_argument,		NULL, 'K' },
		{ "max-pause",	required_argument,	NULL, 'M' },
		{ "paused",	no_argument,		NULL, 'P' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "config",	required_argument,	NULL, 'C' },
		{ "output",	required_argument,	NULL, 'o' },
		{ "compress",	required_argument,	NULL, 'z' },
		{ "threads",	required_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct save_opts so = { .program = "vm-save", .then = SAVE_DESTROY };
	const char *backend = NULL, *out = "-";
	const struct hv_ops *ops;
	struct hv_guest *g;
	struct save_result res;
	struct bsave_opts bo = { 0 };
	struct bsave_result br;
	struct progress pr;
	int ch, fd, quiet = 0, bundle = 0, r;
	char *end;

	while ((ch = getopt_long(argc, argv, "C:b:j:o:Pqz:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			bundle = 1;
			break;
		case 'M':
			errno = 0;
			bo.max_pause_ms = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' ||
			    *optarg == '-')
				errx(VMP_EX_USAGE, "--max-pause: want "
				    "milliseconds, not '%s'", optarg);
			/* 0: no time for a copy at all - reflink or none. */
			bo.no_copy = bo.max_pause_ms == 0;
			break;
		case 'b':
			backend = optarg;
			break;
		case 'C':
			so.config_path = optarg;
			break;
		case 'j':
			so.threads = atoi(optarg);
			break;
		case 'K':	/* long only: -k is a host key elsewhere */
			so.then = SAVE_RESUME;
			break;
		case 'o':
			out = optarg;
			break;
		case 'P':
			so.then = SAVE_LEAVE_PAUSED;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'z':
			so.zlevel = cli_zlevel(optarg, VMP_EX_USAGE);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if ((bo.max_pause_ms || bo.no_copy) && !(bundle &&
	    so.then == SAVE_RESUME))
		errx(VMP_EX_USAGE, "--max-pause is for a checkpoint with its "
		    "disks: --bundle --keep");
	if (bundle && so.zlevel)
		errx(VMP_EX_USAGE, "-z: a bundle's image is not compressed "
		    "(compress the whole bundle instead)");

	/* The guest first: a missing guest must not truncate the output. */
	ops = cli_open_guest(backend, argv[0], &g, VMP_EX_FAIL);
	fd = cli_open_out(out, VMP_EX_FAIL);
	so.sync = fd != STDOUT_FILENO;
	/* Signals stop the save cleanly, so that the guest is resumed. */
	cli_catch_stop(&stop);
	so.stop = &stop;
	progress_init(&pr, "vm-save", quiet, -1);
	so.pr = &pr;

	r = bundle ? bundle_save(ops, g, fd, &so, &bo, &res, &br) :
	    save_guest(ops, g, fd, &so, &res);
	if (r == -1) {
		ops->close(g);
		if (res.outcome == SAVE_PAUSED)
			errx(VMP_EX_PAUSED, "guest %s: save failed: %s; it is "
			    "left paused", argv[0], res.err);
		errx(VMP_EX_FAIL, "guest %s: save failed: %s; the guest was "
		    "%s", argv[0], res.err, res.touched ? "resumed" :
		    "not paused");
	}
	if (res.then_failed)
		warnx("guest %s saved but not %s: %s", res.info.name,
		    so.then == SAVE_DESTROY ? "destroyed" : "resumed", res.err);
	report(&res, quiet);
	if (bundle)
		report_bundle(&br, quiet);
	ops->close(g);
	/* A whole image, and the guest paused where it should not be. */
	return res.then_failed && res.outcome == SAVE_PAUSED ?
	    VMP_EX_PAUSED : VMP_EX_OK;
}
