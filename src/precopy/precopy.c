/*
 * vm-precopy: live migration's sending half.  Copy a running guest's
 * memory, then round after round the pages it dirtied meanwhile, until
 * the policy predicts a short final pause; then pause it and send the
 * rest with its state.  The guest ends paused, so that the caller can
 * destroy it once the far side runs it, or resume it if that failed.
 * The output is an ordinary image: restoring it is a live checkpoint.
 * Options, the save engine (save.h) with the pre-copy policy, a report.
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_guest.h"
#include "exits.h"
#include "io.h"
#include "save.h"

static volatile sig_atomic_t stop;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-precopy [-q] [--no-fallback] "
	    "[-b backend] [--bandwidth rate]\n"
	    "                  [-C file] [--downtime ms] [-j threads] "
	    "[--max-bytes size]\n"
	    "                  [--max-rounds n] [-o file] [--progress-fd fd] "
	    "[-z level]\n"
	    "                  guest\n");
	exit(VMP_EX_USAGE);
}

static const char *
decision_name(enum policy_decision d)
{
	return d == POLICY_CONTINUE ? "continue" :
	    d == POLICY_STOP_AND_COPY ? "stop-and-copy" : "abort";
}

/* One JSON line per round on --progress-fd. */
static void
on_round(void *arg, const struct save_round *r)
{
	progress_json(arg, "{\"event\":\"round\",\"round\":%u,"
	    "\"pages\":%" PRIu64 ",\"dirty\":%" PRIu64 ",\"bytes\":%" PRIu64
	    ",\"elapsed_ms\":%.3f,\"throughput_mbs\":%.1f,"
	    "\"dirty_rate\":%.0f,\"predicted_ms\":%.3f,"
	    "\"decision\":\"%s\",\"why\":\"%s\"}", r->round, r->pages,
	    r->dirty, r->bytes, r->elapsed_ns / 1e6, r->throughput / 1e6,
	    r->dirty_rate, r->decision.predicted_ns / 1e6,
	    decision_name(r->decision.decision), r->decision.why);
}

static void
report(struct progress *pr, const struct save_result *res, int quiet)
{
	double secs = res->total_ns / 1e9;

	progress_json(pr, "{\"event\":\"done\",\"rounds\":%u,"
	    "\"bytes\":%" PRIu64 ",\"pages\":%" PRIu64 ",\"seconds\":%.3f,"
	    "\"throughput_mbs\":%.1f,\"predicted_pause_ms\":%.3f,"
	    "\"pause_ms\":%.3f,\"pause_wall_ns\":%" PRIu64 ","
	    "\"reason\":\"%s\"}", res->rounds, res->ws.bytes, res->ws.pages,
	    secs, res->ws.bytes / secs / 1e6, res->last.predicted_ns / 1e6,
	    res->pause_ns / 1e6, res->pause_wall_ns, res->last.why);
	if (quiet)
		return;
	fprintf(stderr, "vm-precopy: %s: %u rounds (pages:", res->info.name,
	    res->rounds);
	for (unsigned i = 0; i < res->rounds && i < 64; i++)
		fprintf(stderr, " %" PRIu64, res->round_pages[i]);
	fprintf(stderr, "), %" PRIu64 " octets (%.2fx memory) in %.3f s, "
	    "%.0f MB/s; pause ", res->ws.bytes,
	    (double)res->ws.bytes / res->info.mem_bytes, secs,
	    res->ws.bytes / secs / 1e6);
	/* No prediction where the backend's own save picked the rounds. */
	if (res->last.predicted_ns > 0)
		fprintf(stderr, "predicted %.1f ms, actual ",
		    res->last.predicted_ns / 1e6);
	fprintf(stderr, "%.1f ms (source side); %s; guest left paused\n",
	    res->pause_ns / 1e6, res->last.why);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bandwidth",	required_argument,	NULL, 'B' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "compress",	required_argument,	NULL, 'z' },
		{ "config",	required_argument,	NULL, 'C' },
		{ "downtime",	required_argument,	NULL, 'D' },
		{ "max-bytes",	required_argument,	NULL, 'X' },
		{ "max-rounds",	required_argument,	NULL, 'R' },
		{ "no-fallback", no_argument,		NULL, 'N' },
		{ "output",	required_argument,	NULL, 'o' },
		{ "progress-fd", required_argument,	NULL, 'F' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "threads",	required_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct policy_limits lim = { .max_rounds = 30, .fallback = 1 };
	struct save_opts so = {
		.program = "vm-precopy",
		.then = SAVE_LEAVE_PAUSED,
		.yield = 1,	/* the copy's restore needs the CPU more (save.c) */
		.policy = policy_default,
		.policy_arg = &lim,
		.on_round = on_round,
	};
	const char *backend = NULL, *out = "-";
	const struct hv_ops *ops;
	struct hv_guest *g;
	struct save_result res;
	struct progress pr;
	uint64_t downtime_ms = 30, maxb = 0;
	int ch, fd, quiet = 0, json_fd = -1;
	const char *steer = NULL;	/* an option that steers the rounds */
	char *end;

	while ((ch = getopt_long(argc, argv, "C:b:j:o:qz:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			if (parse_size(optarg, &so.bandwidth) == -1 ||
			    so.bandwidth == 0)
				errx(VMP_EX_USAGE, "bandwidth: expected octets "
				    "per second (e.g. 100M), found %s", optarg);
			break;
		case 'b':
			backend = optarg;
			break;
		case 'C':
			so.config_path = optarg;
			break;
		case 'D':
			steer = "--downtime";
			downtime_ms = strtoull(optarg, &end, 10);
			if (*end || downtime_ms == 0)
				errx(VMP_EX_USAGE, "downtime: expected "
				    "milliseconds, found %s", optarg);
			break;
		case 'F':
			json_fd = strtol(optarg, &end, 10);
			if (*end || json_fd < 0 || fcntl(json_fd, F_GETFD) == -1)
				errx(VMP_EX_USAGE, "progress-fd: expected an "
				    "open descriptor, found %s", optarg);
			break;
		case 'j':
			so.threads = atoi(optarg);
			break;
		case 'N':
			steer = "--no-fallback";
			lim.fallback = 0;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'R':
			steer = "--max-rounds";
			lim.max_rounds = strtoul(optarg, &end, 10);
			if (*end || lim.max_rounds < 1 || lim.max_rounds > 1000)
				errx(VMP_EX_USAGE, "max-rounds: expected 1 to "
				    "1000, found %s", optarg);
			break;
		case 'X':
			steer = "--max-bytes";
			if (parse_size(optarg, &maxb) == -1)
				errx(VMP_EX_USAGE, "max-bytes: expected a size, "
				    "found %s", optarg);
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
	lim.downtime_ns = downtime_ms * 1000000ull;

	/* The guest first: a missing guest must not truncate the output. */
	ops = cli_open_guest(backend, argv[0], &g, VMP_EX_FAIL);
	/* Such a guest's rounds are its backend's save's (a PV guest's are
	 * libxenctrl's): an option that would steer them must not be
	 * silently ignored. */
	if (steer != NULL && ops->own_rounds != NULL && ops->own_rounds(g)) {
		ops->close(g);
		errx(VMP_EX_USAGE, "guest %s: %s does not apply: its live copy "
		    "is its backend's own save, which picks the rounds (a Xen "
		    "PV guest's: libxenctrl's)", argv[0], steer);
	}
	fd = cli_open_out(out, VMP_EX_FAIL);
	so.sync = fd != STDOUT_FILENO;
	/* The default cap on octets sent is three times the guest's memory,
	 * known only once it is open. */
	if (maxb == 0) {
		struct hv_info info;

		if (ops->describe(g, &info) == -1)
			errx(VMP_EX_FAIL, "guest %s: %s", argv[0],
			    hv_strerror());
		maxb = 3 * info.mem_bytes;
	}
	lim.max_bytes = maxb;
	cli_catch_stop(&stop);
	so.stop = &stop;
	progress_init(&pr, "vm-precopy", quiet, json_fd);
	so.pr = &pr;
	so.arg = &pr;

	if (save_guest(ops, g, fd, &so, &res) == -1) {
		progress_json(&pr, "{\"event\":\"failed\",\"error\":\"%s\"}",
		    res.err);
		ops->close(g);
		if (res.outcome == SAVE_PAUSED)
			errx(VMP_EX_PAUSED, "guest %s: live copy failed: %s; "
			    "it is left paused", argv[0], res.err);
		if (res.aborted)
			errx(VMP_EX_NOCONV, "guest %s: live copy failed: %s, "
			    "above the target of %" PRIu64 " ms, and "
			    "--no-fallback was given; the guest was resumed",
			    argv[0], res.err, downtime_ms);
		errx(VMP_EX_FAIL, "guest %s: live copy failed: %s; the guest "
		    "was %s", argv[0], res.err, res.touched ? "resumed" :
		    "not paused");
	}
	report(&pr, &res, quiet);
	ops->close(g);
	return VMP_EX_OK;
}
