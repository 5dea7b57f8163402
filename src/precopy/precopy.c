/*
 * vm-precopy: live migration's sending half.  Copy a running guest's
 * memory, then round after round the pages it dirtied meanwhile, until
 * the policy predicts a short final pause; then pause it and send the
 * rest with its state.  The guest ends paused, so that the caller can
 * destroy it once the far side runs it, or resume it if that failed.
 * The output is an ordinary image: restoring it is a live checkpoint.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "emit.h"
#include "io.h"
#include "policy.h"

#define EX_FAIL		1	/* failed; the guest runs */
#define EX_USAGE	2
#define EX_LOST		3	/* failed and could not resume: paused */
#define EX_ABORT	4	/* not converging and --no-fallback: runs */

static volatile sig_atomic_t stop;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-precopy [-q] [--no-fallback] "
	    "[-b backend] [--bandwidth rate] [--downtime ms]\n"
	    "                  [-j threads] [--max-bytes size] "
	    "[--max-rounds n] [-o file]\n"
	    "                  [--progress-fd fd] [-z level] guest\n");
	exit(EX_USAGE);
}

struct run {
	struct emit		 e;
	struct policy_limits	 lim;
	struct progress		 pr;
	uint64_t		*bitmap;
	uint64_t		 words;
	int			 logging;
	int			 paused;
};

/*
 * With VMPIPE_DEBUG set, where the final pause's time goes (the
 * migration benchmark reads these lines).
 */
static void
pause_step(const char *what, uint64_t t_pause)
{
	static int debug = -1;

	if (debug < 0)
		debug = getenv("VMPIPE_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "debug: %s %.3f ms\n", what,
		    (now_ns() - t_pause) / 1e6);
}

/* 2^-n, for the progress bar's shrinking rounds. */
static double
halves(unsigned n)
{
	return 1.0 / (double)(1ull << (n > 60 ? 60 : n));
}

static const char *
decision_name(enum policy_decision d)
{
	return d == POLICY_CONTINUE ? "continue" :
	    d == POLICY_STOP_AND_COPY ? "stop-and-copy" : "abort";
}

/*
 * The fixed cost of the final pause, measured: pause, read the state,
 * resume.  Sending the state and resuming on the far side cost about as
 * much again, so count it twice.
 */
static int
discard_state(void *arg, const struct hv_state *st)
{
	*(uint64_t *)arg += st->len;
	return 0;
}

static int
measure_fixed(struct run *r, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	struct emit *e = &r->e;
	uint64_t octets = 0;

	if (e->ops->pause(e->g) == -1)
		return -1;
	(void)e->ops->get_state(e->g, discard_state, &octets);
	if (e->ops->resume(e->g) == -1)
		return -1;
	*ns = 2 * (now_ns() - t0);
	return 0;
}

static int
write_round(struct run *r, unsigned round, int last, uint64_t pages,
    uint64_t dirty, uint64_t elapsed)
{
	struct vmi_round rd = { round, last ? VMI_ROUND_LAST : 0, pages,
	    dirty, elapsed };

	if (vmi_write_buf(r->e.w, VMI_REC_ROUND, &rd, sizeof(rd)) == -1) {
		snprintf(r->e.err, sizeof(r->e.err), "%s",
		    vmi_writer_error(r->e.w));
		return -1;
	}
	return 0;
}

static int
fetch_dirty(struct run *r, uint64_t *count)
{
	long n = r->e.ops->dirty_fetch(r->e.g, r->bitmap);

	if (n < 0) {
		snprintf(r->e.err, sizeof(r->e.err), "dirty log: %s",
		    hv_strerror());
		return -1;
	}
	*count = bitmap_count(r->bitmap, r->e.npages);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bandwidth",	required_argument,	NULL, 'B' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "compress",	required_argument,	NULL, 'z' },
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
	struct vmi_writer_opts wo = { .flags = VMI_HF_LIVE };
	const char *backend = NULL, *out = "-";
	struct run r;
	struct emit *e = &r.e;
	struct policy_round pround;
	struct policy_result pres;
	struct vmi_wstats ws;
	uint64_t t_start, t_round, t_pause = 0, t_pause_wall = 0, sent, dirty;
	uint64_t fixed_ns = 0, round_bytes0, downtime_ms = 30, maxb = 0;
	uint64_t round_pages[64];
	unsigned round = 0;
	int ch, fd, quiet = 0, json_fd = -1, aborted = 0;
	char *end;

	memset(&r, 0, sizeof(r));
	r.lim.max_rounds = 30;
	r.lim.fallback = 1;
	while ((ch = getopt_long(argc, argv, "b:j:o:qz:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			if (parse_size(optarg, &e->bw) == -1 || e->bw == 0)
				errx(EX_USAGE, "bandwidth: expected octets per "
				    "second (e.g. 100M), found %s", optarg);
			break;
		case 'b':
			backend = optarg;
			break;
		case 'D':
			downtime_ms = strtoull(optarg, &end, 10);
			if (*end || downtime_ms == 0)
				errx(EX_USAGE, "downtime: expected "
				    "milliseconds, found %s", optarg);
			break;
		case 'F':
			json_fd = strtol(optarg, &end, 10);
			if (*end || json_fd < 0 || fcntl(json_fd, F_GETFD) == -1)
				errx(EX_USAGE, "progress-fd: expected an open "
				    "descriptor, found %s", optarg);
			break;
		case 'j':
			wo.threads = atoi(optarg);
			break;
		case 'N':
			r.lim.fallback = 0;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'R':
			r.lim.max_rounds = strtoul(optarg, &end, 10);
			if (*end || r.lim.max_rounds < 1 ||
			    r.lim.max_rounds > 1000)
				errx(EX_USAGE, "max-rounds: expected 1 to 1000, "
				    "found %s", optarg);
			break;
		case 'X':
			if (parse_size(optarg, &maxb) == -1)
				errx(EX_USAGE, "max-bytes: expected a size, "
				    "found %s", optarg);
			break;
		case 'z':
			wo.zlevel = cli_zlevel(optarg, EX_USAGE);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	r.lim.downtime_ns = downtime_ms * 1000000ull;

	if ((e->ops = hv_select(backend)) == NULL)
		errx(EX_FAIL, "no usable backend%s%s", backend ? " " : "",
		    backend ? backend : "");
	/* The guest first: a missing guest must not truncate the output. */
	if (e->ops->open(argv[0], &e->g) == -1)
		errx(EX_FAIL, "guest %s: %s", argv[0], hv_strerror());
	fd = cli_open_out(out, EX_FAIL);
	cli_catch_stop(&stop);
	e->stop = &stop;
	progress_init(&r.pr, "vm-precopy", quiet, json_fd);
	e->pr = &r.pr;

	t_start = now_ns();
	if ((e->w = vmi_writer_new(fd, &wo)) == NULL) {
		e->ops->close(e->g);
		err(EX_FAIL, "%s: can't start the stream", out);
	}
	if (emit_guest(e, "vm-precopy") == -1)
		goto fail;
	r.lim.max_bytes = maxb ? maxb : 3 * e->info.mem_bytes;
	r.words = (e->npages + 63) / 64;
	if ((r.bitmap = calloc(r.words, 8)) == NULL) {
		snprintf(e->err, sizeof(e->err), "out of memory for the dirty "
		    "bitmap");
		goto fail;
	}
	if (measure_fixed(&r, &fixed_ns) == -1) {
		snprintf(e->err, sizeof(e->err), "pause: %s", hv_strerror());
		goto fail;
	}
	if (e->ops->log_dirty_start(e->g) == -1) {
		snprintf(e->err, sizeof(e->err), "start dirty logging: %s",
		    hv_strerror());
		goto fail;
	}
	r.logging = 1;

	/* Round 0 sends everything; later rounds what the last dirtied. */
	memset(&pround, 0, sizeof(pround));
	for (round = 0;; round++) {
		const uint64_t *bm = round == 0 ? NULL : r.bitmap;

		vmi_writer_stats(e->w, &ws);
		round_bytes0 = ws.bytes;
		t_round = now_ns();
		e->pi.round = round;
		e->pi.total = round == 0 ? e->npages : dirty;
		e->pi.mem_pages = e->npages;
		/*
		 * Round 0 is most of the job; each later round is given half
		 * of what is left, so the share only ever grows.
		 */
		e->share_base = round == 0 ? 0 : 1 - 0.4 * halves(round);
		e->share_span = round == 0 ? 0.8 : 0.2 * halves(round);
		if (emit_pages(e, bm, 0, &sent) == -1)
			goto fail;
		/* The round ends when its octets are out, not merely queued. */
		if (vmi_writer_sync(e->w) == -1) {
			snprintf(e->err, sizeof(e->err), "%s",
			    vmi_writer_error(e->w));
			goto fail;
		}
		if (fetch_dirty(&r, &dirty) == -1)
			goto fail;
		vmi_writer_stats(e->w, &ws);
		pround.round = round;
		pround.sent_pages = sent;
		pround.prev_dirty = pround.dirty_pages;
		pround.dirty_pages = dirty;
		pround.elapsed_ns = now_ns() - t_round;
		pround.total_bytes = ws.bytes;
		pround.fixed_ns = fixed_ns;
		/* Small rounds say little about throughput: use the total. */
		pround.throughput = sent >= 4096 ?
		    (ws.bytes - round_bytes0) / (pround.elapsed_ns / 1e9) :
		    ws.bytes / ((now_ns() - t_start) / 1e9);
		if (round < 64)
			round_pages[round] = sent;
		policy_decide(&r.lim, &pround, &pres);
		if (write_round(&r, round, 0, sent, dirty, pround.elapsed_ns))
			goto fail;
		e->pi.dirty = dirty;
		e->pi.dirty_rate = dirty / (pround.elapsed_ns / 1e9);
		progress_update(&r.pr, &e->pi, 1);
		progress_json(&r.pr, "{\"event\":\"round\",\"round\":%u,"
		    "\"pages\":%" PRIu64 ",\"dirty\":%" PRIu64 ",\"bytes\":%"
		    PRIu64 ",\"elapsed_ms\":%.3f,\"throughput_mbs\":%.1f,"
		    "\"dirty_rate\":%.0f,\"predicted_ms\":%.3f,"
		    "\"decision\":\"%s\",\"why\":\"%s\"}", round, sent, dirty,
		    ws.bytes, pround.elapsed_ns / 1e6, pround.throughput / 1e6,
		    e->pi.dirty_rate, pres.predicted_ns / 1e6,
		    decision_name(pres.decision), pres.why);
		if (stop) {
			snprintf(e->err, sizeof(e->err), "interrupted by a "
			    "signal");
			goto fail;
		}
		if (pres.decision != POLICY_CONTINUE)
			break;
	}
	if (pres.decision == POLICY_ABORT) {
		snprintf(e->err, sizeof(e->err), "%s after round %u (%" PRIu64
		    " pages still dirty, predicted pause %.1f ms > %" PRIu64
		    " ms) and --no-fallback was given", pres.why, round, dirty,
		    pres.predicted_ns / 1e6, downtime_ms);
		aborted = 1;
		goto fail;
	}

	/*
	 * What is still in the pipe would lengthen the pause: let the far
	 * side catch up first, while the guest still runs.
	 */
	io_pipe_drain(fd, 2000);

	/* Stop and copy: pause, then what is still dirty, and the state. */
	t_pause = now_ns();
	t_pause_wall = wall_ns();
	if (e->ops->suspend(e->g) == -1) {
		snprintf(e->err, sizeof(e->err), "pause: %s", hv_strerror());
		goto fail;
	}
	r.paused = 1;
	pause_step("suspend", t_pause);
	round++;
	e->pi.round = round;
	/* Still to send: what the last round left dirty, and what was
	 * dirtied since, up to the pause. */
	{
		uint64_t *pending = malloc(r.words * 8), late;

		if (pending == NULL) {
			snprintf(e->err, sizeof(e->err), "out of memory");
			goto fail;
		}
		memcpy(pending, r.bitmap, r.words * 8);
		if (fetch_dirty(&r, &late) == -1) {
			free(pending);
			goto fail;
		}
		for (uint64_t i = 0; i < r.words; i++)
			r.bitmap[i] |= pending[i];
		free(pending);
		late = bitmap_count(r.bitmap, e->npages);
		pause_step("fetched", t_pause);

		e->pi.total = late;
		e->share_base = 1 - 0.4 * halves(round);
		e->share_span = 1 - e->share_base;
		if (emit_pages(e, r.bitmap, 1, &sent) == -1)
			goto fail;
		pause_step("pages", t_pause);
		if (emit_state(e) == -1 ||
		    write_round(&r, round, 1, sent, 0, now_ns() - t_pause) ==
		    -1)
			goto fail;
		if (round < 64)
			round_pages[round] = sent;
	}
	pause_step("state", t_pause);
	if (vmi_write_end(e->w) == -1) {
		snprintf(e->err, sizeof(e->err), "%s",
		    vmi_writer_error(e->w));
		goto fail;
	}
	pause_step("end", t_pause);
	e->ops->log_dirty_stop(e->g);
	progress_clear(&r.pr);
	vmi_writer_stats(e->w, &ws);
	{
		uint64_t now = now_ns();
		double total_s = (now - t_start) / 1e9;

		progress_json(&r.pr, "{\"event\":\"done\",\"rounds\":%u,"
		    "\"bytes\":%" PRIu64 ",\"pages\":%" PRIu64 ",\"seconds\":%.3f,"
		    "\"throughput_mbs\":%.1f,\"predicted_pause_ms\":%.3f,"
		    "\"pause_ms\":%.3f,\"pause_wall_ns\":%" PRIu64 ","
		    "\"reason\":\"%s\"}", round + 1, ws.bytes, ws.pages, total_s,
		    ws.bytes / total_s / 1e6, pres.predicted_ns / 1e6,
		    (now - t_pause) / 1e6, t_pause_wall, pres.why);
		if (!quiet) {
			fprintf(stderr, "vm-precopy: %s: %u rounds (pages:",
			    e->info.name, round + 1);
			for (unsigned i = 0; i <= round && i < 64; i++)
				fprintf(stderr, " %" PRIu64, round_pages[i]);
			fprintf(stderr, "), %" PRIu64 " octets (%.2fx memory) in "
			    "%.3f s, %.0f MB/s; pause predicted %.1f ms, "
			    "actual %.1f ms (source side); %s; guest left "
			    "paused\n", ws.bytes, (double)ws.bytes /
			    e->info.mem_bytes, total_s, ws.bytes / total_s / 1e6,
			    pres.predicted_ns / 1e6, (now - t_pause) / 1e6,
			    pres.why);
		}
	}
	vmi_writer_free(e->w);
	e->ops->close(e->g);
	free(r.bitmap);
	return 0;

fail:
	progress_clear(&r.pr);
	vmi_writer_free(e->w);
	if (r.logging)
		e->ops->log_dirty_stop(e->g);
	progress_json(&r.pr, "{\"event\":\"failed\",\"error\":\"%s\"}",
	    e->err);
	if (e->ops->resume(e->g) == -1) {
		warnx("guest %s: %s", argv[0], e->err);
		errx(EX_LOST, "guest %s could not be resumed: %s; it is paused",
		    argv[0], hv_strerror());
	}
	e->ops->close(e->g);
	free(r.bitmap);
	errx(aborted ? EX_ABORT : EX_FAIL, "guest %s: live copy failed: %s; "
	    "the guest was resumed", argv[0], e->err);
}
