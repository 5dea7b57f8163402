/*
 * save.c: the save engine (save.h).  The order of a save, its rounds and
 * what becomes of the guest; writing the records themselves is emit.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "emit.h"
#include "io.h"
#include "save.h"

struct saver {
	struct emit		 e;
	const struct save_opts	*o;
	struct save_result	*res;
	uint64_t		*bitmap;	/* live: frames still to send */
	uint64_t		 words;
	int			 fd;
	int			 suspended;
	int			 logging;
	int			 own;		/* the backend picks the rounds */
	uint64_t		 t_start;
	uint64_t		 t_pause;
};

static int
fail(struct saver *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct saver *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->e.err, sizeof(s->e.err), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * With VMPIPE_DEBUG set, where the final pause's time goes (the
 * migration benchmark reads these lines).
 */
static void
pause_step(const struct saver *s, const char *what)
{
	static int debug = -1;

	if (debug < 0)
		debug = getenv("VMPIPE_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "debug: %s %.3f ms\n", what,
		    (now_ns() - s->t_pause) / 1e6);
}

/* 2^-n, for the progress bar's shrinking rounds. */
static double
halves(unsigned n)
{
	return 1.0 / (double)(1ull << (n > 60 ? 60 : n));
}

static int
discard_state(void *arg, const struct hv_state *st)
{
	*(uint64_t *)arg += st->len;
	return 0;
}

/*
 * The fixed cost of the final pause, measured: pause, read the state,
 * resume.  Sending the state and resuming on the far side cost about as
 * much again, so count it twice.
 */
static int
measure_fixed(struct saver *s, uint64_t *ns)
{
	uint64_t t0 = now_ns(), octets = 0;
	struct emit *e = &s->e;

	if (e->ops->pause(e->g) == -1)
		return fail(s, "pause: %s", hv_strerror());
	(void)e->ops->get_state(e->g, discard_state, &octets);
	if (e->ops->resume(e->g) == -1)
		return fail(s, "resume after measuring the pause: %s",
		    hv_strerror());
	*ns = 2 * (now_ns() - t0);
	return 0;
}

static int
write_round(struct saver *s, unsigned round, int last, uint64_t pages,
    uint64_t dirty, uint64_t elapsed)
{
	struct vmi_round rd = { round, last ? VMI_ROUND_LAST : 0, pages,
	    dirty, elapsed };

	if (vmi_write_buf(s->e.w, VMI_REC_ROUND, &rd, sizeof(rd)) == -1)
		return fail(s, "%s", vmi_writer_error(s->e.w));
	return 0;
}

/* Add the frames dirtied since the last fetch to the bitmap. */
static int
fetch_dirty(struct saver *s, uint64_t *count, int merge)
{
	uint64_t *fresh = s->bitmap;
	long n;

	if (merge && (fresh = malloc(s->words * 8)) == NULL)
		return fail(s, "out of memory for the dirty bitmap");
	if ((n = s->e.ops->dirty_fetch(s->e.g, fresh)) < 0) {
		if (merge)
			free(fresh);
		return fail(s, "dirty log: %s", hv_strerror());
	}
	if (merge) {
		for (uint64_t i = 0; i < s->words; i++)
			s->bitmap[i] |= fresh[i];
		free(fresh);
	}
	*count = bitmap_count(s->bitmap, s->e.npages);
	return 0;
}

static void
record_pages(struct saver *s, unsigned round, uint64_t sent)
{
	if (round < 64)
		s->res->round_pages[round] = sent;
	s->res->rounds = round + 1;
}

/*
 * A live round begins: the progress line's round, its frames to go and
 * its share of the whole job.  Round 0 is most of the job; each later
 * round is given half of what is left, so the share only ever grows.
 */
static void
round_start(struct saver *s, unsigned round, uint64_t total)
{
	struct emit *e = &s->e;

	e->pi.round = round;
	e->pi.total = total;
	e->pi.mem_pages = e->npages;
	e->share_base = round == 0 ? 0 : 1 - 0.4 * halves(round);
	e->share_span = round == 0 ? 0.8 : 0.2 * halves(round);
}

/* A live round is over: its ROUND record, the progress line, on_round
 * with the policy's word (*pres), and a signal's stop. */
static int
round_end(struct saver *s, const struct save_round *sr)
{
	const struct save_opts *o = s->o;
	struct emit *e = &s->e;

	record_pages(s, sr->round, sr->pages);
	if (write_round(s, sr->round, 0, sr->pages, sr->dirty,
	    sr->elapsed_ns) == -1)
		return -1;
	e->pi.dirty = sr->dirty;
	e->pi.dirty_rate = sr->dirty_rate;
	if (o->pr)
		progress_update(o->pr, &e->pi, 1);
	if (o->on_round)
		o->on_round(o->arg, sr);
	if (o->stop && *o->stop)
		return fail(s, "interrupted by a signal");
	return 0;
}

/*
 * Live rounds while the guest runs: round 0 sends every frame, each next
 * one the frames dirtied during the one before, until the policy stops.
 * Returns the next round's number, or -1.
 */
static int
live_rounds(struct saver *s)
{
	const struct save_opts *o = s->o;
	struct emit *e = &s->e;
	struct policy_round pr;
	struct policy_result *pres = &s->res->last;
	struct vmi_wstats ws;
	uint64_t fixed_ns = 0, dirty = 0, sent, bytes0, t_round;
	unsigned round;

	s->words = (e->npages + 63) / 64;
	if ((s->bitmap = calloc(s->words ? s->words : 1, 8)) == NULL)
		return fail(s, "out of memory for the dirty bitmap");
	s->res->touched = 1;
	if (measure_fixed(s, &fixed_ns) == -1)
		return -1;
	if (e->ops->log_dirty_start(e->g) == -1)
		return fail(s, "start dirty logging: %s", hv_strerror());
	s->logging = 1;

	memset(&pr, 0, sizeof(pr));
	for (round = 0;; round++) {
		vmi_writer_stats(e->w, &ws);
		bytes0 = ws.bytes;
		t_round = now_ns();
		round_start(s, round, round == 0 ? e->npages : dirty);
		if (emit_pages(e, round == 0 ? NULL : s->bitmap, 0,
		    &sent) == -1)
			return -1;
		/* The round ends when its octets are out, not merely queued. */
		if (vmi_writer_sync(e->w) == -1)
			return fail(s, "%s", vmi_writer_error(e->w));
		if (fetch_dirty(s, &dirty, 0) == -1)
			return -1;
		vmi_writer_stats(e->w, &ws);
		pr.round = round;
		pr.sent_pages = sent;
		pr.dirty_pages = dirty;
		pr.elapsed_ns = now_ns() - t_round;
		if (pr.elapsed_ns == 0)
			pr.elapsed_ns = 1;
		pr.total_bytes = ws.bytes;
		pr.fixed_ns = fixed_ns;
		/* Small rounds say little about throughput: use the total. */
		pr.throughput = sent >= 4096 ?
		    (ws.bytes - bytes0) / (pr.elapsed_ns / 1e9) :
		    ws.bytes / ((now_ns() - s->t_start + 1) / 1e9);
		o->policy(o->policy_arg, &pr, pres);
		struct save_round sr = { round, sent, dirty, ws.bytes,
		    pr.elapsed_ns, pr.throughput,
		    dirty / (pr.elapsed_ns / 1e9), *pres };

		if (round_end(s, &sr) == -1)
			return -1;
		if (pres->decision != POLICY_CONTINUE)
			break;
	}
	if (pres->decision == POLICY_ABORT) {
		s->res->aborted = 1;
		return fail(s, "%s after round %u (%llu frames still dirty, "
		    "predicted pause %.1f ms)", pres->why, round,
		    (unsigned long long)dirty, pres->predicted_ns / 1e6);
	}
	/*
	 * What is still in the pipe would lengthen the pause: let the far
	 * side catch up first, while the guest still runs.
	 */
	io_pipe_drain(s->fd, 2000);
	return (int)round + 1;
}

/*
 * Live rounds that the backend's own save picks (own_rounds() of hv.h):
 * each round is what that save sends of it, until that save has
 * suspended the guest.  The policy is not asked, for that save has its
 * own (on Xen, libxenctrl's: stop and copy once fewer than 50 frames are
 * dirty, or after 5 rounds); the frames dirtied during a round are known
 * only as the next one comes, so a ROUND record says 0 of them.
 * Returns the last round's number, or -1.
 */
static int
own_live_rounds(struct saver *s)
{
	struct emit *e = &s->e;
	struct policy_result *pres = &s->res->last;
	struct vmi_wstats ws;
	uint64_t sent, bytes0, t_round, elapsed;
	unsigned round;
	int r;

	s->res->touched = 1;
	if (e->ops->log_dirty_start(e->g) == -1)
		return fail(s, "start dirty logging: %s", hv_strerror());
	s->logging = 1;
	pres->decision = POLICY_CONTINUE;
	pres->why = "the backend's own save picks the rounds";
	for (round = 0;; round++) {
		if ((r = e->ops->round_next(e->g)) == -1)
			return fail(s, "%s", hv_strerror());
		if (r == 1)
			break;
		vmi_writer_stats(e->w, &ws);
		bytes0 = ws.bytes;
		t_round = now_ns();
		round_start(s, round, round == 0 ? e->npages : 0);
		if (emit_round(e, 0, &sent) == -1)
			return -1;
		if (vmi_writer_sync(e->w) == -1)
			return fail(s, "%s", vmi_writer_error(e->w));
		elapsed = now_ns() - t_round + 1;
		vmi_writer_stats(e->w, &ws);
		struct save_round sr = { round, sent, 0, ws.bytes, elapsed,
		    (ws.bytes - bytes0) / (elapsed / 1e9), 0, *pres };

		if (round_end(s, &sr) == -1)
			return -1;
	}
	pres->decision = POLICY_STOP_AND_COPY;
	pres->why = "the backend's own save suspended the guest";
	return (int)round;
}

static int
suspend(struct saver *s)
{
	s->t_pause = now_ns();
	s->res->pause_wall_ns = wall_ns();
	s->res->touched = 1;
	if (s->e.ops->suspend(s->e.g) == -1)
		return fail(s, "pause: %s", hv_strerror());
	s->suspended = 1;
	pause_step(s, "suspend");
	if (s->o->suspended != NULL) {
		char why[VMI_ERRLEN - 64];

		why[0] = '\0';
		if (s->o->suspended(s->o->suspended_arg, why,
		    sizeof(why)) == -1)
			return fail(s, "%s", why);
		pause_step(s, "disks");
	}
	return 0;
}

/*
 * The guest is suspended: what is still to send (every frame offline;
 * live, what the last round left dirty and what was dirtied since), the
 * state, the last ROUND record of a live stream, END.
 */
static int
final_round(struct saver *s, int round)
{
	struct emit *e = &s->e;
	uint64_t sent, late = 0;

	e->pi.round = s->o->policy ? round : -1;
	if (s->own) {
		e->pi.total = 0;
		e->share_base = 1 - 0.4 * halves(round);
		e->share_span = 1 - e->share_base;
	} else if (s->o->policy) {
		if (fetch_dirty(s, &late, 1) == -1)
			return -1;
		pause_step(s, "fetched");
		e->pi.total = late;
		e->share_base = 1 - 0.4 * halves(round);
		e->share_span = 1 - e->share_base;
	} else {
		e->pi.total = e->npages;
		e->share_base = 0;
		e->share_span = 1;
	}
	e->pi.mem_pages = e->npages;
	/*
	 * Pages go by reference (no copy, hashed where they lie) only where
	 * the backend says nothing writes them while the guest is paused.
	 * On Xen the device backends still do - netback copies a packet
	 * that arrives into a suspended guest's receive buffers - so a
	 * referenced page could change between its hash and its write: a
	 * record that no longer matches its own checksum.
	 */
	if ((s->own ? emit_round(e, e->ops->stable_map, &sent) :
	    emit_pages(e, s->o->policy ? s->bitmap : NULL,
	    e->ops->stable_map, &sent)) == -1)
		return -1;
	record_pages(s, round, sent);
	pause_step(s, "pages");
	if (emit_state(e) == -1)
		return -1;
	/* The last ROUND follows the state: its time is the whole pause. */
	if (s->o->policy && write_round(s, round, 1, sent, 0,
	    now_ns() - s->t_pause) == -1)
		return -1;
	pause_step(s, "state");
	if (s->o->stop && *s->o->stop)
		return fail(s, "interrupted by a signal");
	if (vmi_write_end(e->w) == -1)
		return fail(s, "%s", vmi_writer_error(e->w));
	pause_step(s, "end");
	if (s->o->sync && fsync(s->fd) == -1 && errno != EINVAL)
		return fail(s, "fsync: %s", strerror(errno));
	return 0;
}

/*
 * -C: the administrator's configuration file goes into the image in place
 * of the guest's own (as `xl migrate -C').  Read and checked against the
 * guest's before the guest is touched: a bad file stops nothing.
 */
static int
own_config(struct saver *s)
{
	struct emit *e = &s->e;
	void *cfg;
	size_t len;
	int rc;

	if (e->ops->config_file == NULL)
		return fail(s, "backend %s reads no configuration files (-C)",
		    e->ops->name);
	if (e->ops->get_config(e->g, &cfg, &len) == -1)
		return fail(s, "configuration: %s", hv_strerror());
	rc = e->ops->config_file(cfg, len, s->o->config_path, &e->cfg,
	    &e->cfglen);
	free(cfg);
	if (rc == -1)
		return fail(s, "%s", hv_strerror());
	return 0;
}

static int
write_image(struct saver *s)
{
	const struct save_opts *o = s->o;
	struct vmi_writer_opts wo = {
		.flags = o->policy ? VMI_HF_LIVE : 0,
		.zlevel = o->zlevel,
		.threads = o->threads,
		/* Paused memory that stays put may go into a pipe uncopied. */
		.splice = s->e.ops->stable_map,
	};
	int round = 0;

	if (s->e.ops->save_check != NULL && s->e.ops->save_check(s->e.g) == -1)
		return fail(s, "%s", hv_strerror());
	if (o->config_path != NULL && own_config(s) == -1)
		return -1;
	if ((s->e.w = vmi_writer_new(s->fd, &wo)) == NULL)
		return fail(s, "can't start the image: %s", strerror(errno));
	/*
	 * Offline, the guest is stopped from the start: on Xen a PV guest's
	 * early state exists only once it is suspended.
	 */
	if (o->policy == NULL && suspend(s) == -1)
		return -1;
	if (emit_guest(&s->e, o->program) == -1)
		return -1;
	s->res->info = s->e.info;
	if (o->policy != NULL) {
		s->own = s->e.ops->own_rounds != NULL &&
		    s->e.ops->own_rounds(s->e.g);
		if ((round = s->own ? own_live_rounds(s) : live_rounds(s)) ==
		    -1 || suspend(s) == -1)
			return -1;
	}
	return final_round(s, round);
}

/*
 * Whatever failed, the guest runs again, unless it cannot.  A guest this
 * save never touched (refused before the first pause or round) is left
 * as it was: resume() takes up a pause it finds, and a guest someone
 * else paused must stay paused.
 */
static void
undo(struct saver *s)
{
	struct emit *e = &s->e;

	if (!s->res->touched)
		return;
	if (s->logging)
		(void)e->ops->log_dirty_stop(e->g);
	s->logging = 0;
	if (e->ops->resume(e->g) == -1) {
		size_t n = strlen(e->err);

		snprintf(e->err + n, sizeof(e->err) - n, "; and resuming "
		    "the guest failed: %s", hv_strerror());
		s->res->outcome = SAVE_PAUSED;
	}
}

/*
 * Once the image is whole, a live copy's source waits for nothing: what
 * is left of it (stopping log-dirty, the unmapping and freeing, the
 * program's exit) is cleanup, while the guest's pause now waits on its
 * copy's restore - often on this same machine (a pipe into vm-recv, a
 * move to this host), whose dom0 may have one CPU.  Traced in such a
 * dom0, a live copy's cleanup ran across the restore's last steps, inside
 * the pause.  So a caller that asks (opts->yield: vm-precopy) has its
 * cleanup run at the lowest priority.  Not every caller: a bundle copies
 * its disks after the save, and must not crawl beside busy guests.
 * (Linux's nice is per thread: the writer's threads have ended here.)
 */
static void
yield_cpu(void)
{
	(void)setpriority(PRIO_PROCESS, 0, 19);
}

/* The image is whole: carry out opts->then. */
static void
then(struct saver *s)
{
	struct emit *e = &s->e;
	int r = 0;

	if (s->logging)
		(void)e->ops->log_dirty_stop(e->g);
	s->logging = 0;
	switch (s->o->then) {
	case SAVE_DESTROY:
		if ((r = e->ops->destroy(e->g)) == 0)
			s->res->outcome = SAVE_DESTROYED;
		break;
	case SAVE_RESUME:
		if ((r = e->ops->resume(e->g)) == 0)
			s->res->outcome = SAVE_RUNNING;
		break;
	case SAVE_LEAVE_PAUSED:
		break;
	}
	if (r == -1) {
		s->res->then_failed = 1;
		fail(s, "%s", hv_strerror());
	}
}

int
save_guest(const struct hv_ops *ops, struct hv_guest *g, int fd,
    const struct save_opts *o, struct save_result *res)
{
	struct saver s;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.e.ops = ops;
	s.e.g = g;
	s.e.pr = o->pr;
	s.e.stop = o->stop;
	s.e.bw = o->bandwidth;
	s.e.pi.round = -1;
	s.e.share_span = 1;
	s.o = o;
	s.res = res;
	s.fd = fd;
	s.t_start = now_ns();
	res->outcome = SAVE_RUNNING;

	r = write_image(&s);
	if (o->pr)
		progress_clear(o->pr);
	if (s.e.w != NULL)
		vmi_writer_stats(s.e.w, &res->ws);
	res->total_ns = now_ns() - s.t_start;
	if (s.suspended)
		res->pause_ns = now_ns() - s.t_pause;
	/* The writer's threads end before the guest is touched again. */
	vmi_writer_free(s.e.w);
	s.e.w = NULL;
	if (r == 0) {
		res->outcome = SAVE_PAUSED;
		if (o->yield)
			yield_cpu();
		then(&s);
	} else {
		undo(&s);
	}
	free(s.bitmap);
	free(s.e.cfg);
	memcpy(res->err, s.e.err, sizeof(res->err));
	return r;
}
