/*
 * emit.c: writing a guest into a stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emit.h"
#include "io.h"
#include "names.h"

#define BATCH	VMI_PAGES_MAX

static int
eerr(struct emit *e, const char *what, const char *why)
{
	if (what == NULL)
		snprintf(e->err, sizeof(e->err), "%s", why);
	else
		snprintf(e->err, sizeof(e->err), "%s: %s", what, why);
	return -1;
}

struct state_arg {
	struct emit	*e;
	unsigned	 n;
};

static int
put_state(void *arg, const struct hv_state *st)
{
	struct state_arg *a = arg;
	struct vmi_state h = { st->id, st->tag };
	struct iovec iov[2] = {
		{ &h, sizeof(h) }, { (void *)st->data, st->len }
	};

	a->n++;
	if (vmi_write(a->e->w, st->kind, iov, 2) == -1) {
		eerr(a->e, NULL, vmi_writer_error(a->e->w));
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Every piece that hook gives, as VCPU and PLATFORM records. */
static int
emit_pieces(struct emit *e, int (*hook)(struct hv_guest *, hv_state_fn,
    void *))
{
	struct state_arg a = { e, 0 };

	e->err[0] = '\0';
	if (hook(e->g, put_state, &a) == -1) {
		if (e->err[0] == '\0')
			eerr(e, "guest state", hv_strerror());
		return -1;
	}
	return 0;
}

int
emit_guest(struct emit *e, const char *program)
{
	struct vmi_guest vg;
	void *cfg = NULL;
	size_t cfglen = 0;
	char note[256], host[64] = "?", why[200];
	time_t now = time(NULL);
	struct tm tm;

	if (e->ops->describe(e->g, &e->info) == -1)
		return eerr(e, "describe", hv_strerror());
	e->npages = e->info.mem_bytes >> e->info.page_shift;
	/* An image is read by the one name rule: write no name it refuses. */
	if (vmp_name_check(e->info.name, why, sizeof(why)) == -1)
		return eerr(e, "the guest's name cannot go into an image", why);
	memset(&vg, 0, sizeof(vg));
	vg.backend = e->info.backend;
	vg.arch = e->info.arch;
	vg.page_shift = e->info.page_shift;
	vg.vcpus = e->info.vcpus;
	vg.mem_bytes = e->info.mem_bytes;
	vg.guest_type = e->info.guest_type;
	memcpy(vg.uuid, e->info.uuid, sizeof(vg.uuid));
	memcpy(vg.cpu_features, e->info.cpu_features,
	    sizeof(vg.cpu_features));
	snprintf(vg.name, sizeof(vg.name), "%s", e->info.name);
	if (vmi_write_buf(e->w, VMI_REC_GUEST, &vg, sizeof(vg)) == -1)
		return eerr(e, NULL, vmi_writer_error(e->w));
	if (e->cfg != NULL) {
		cfg = e->cfg;
		cfglen = e->cfglen;
	} else if (e->ops->get_config(e->g, &cfg, &cfglen) == -1)
		return eerr(e, "configuration", hv_strerror());
	if (vmi_write_buf(e->w, VMI_REC_CONFIG, cfg, cfglen) == -1) {
		if (cfg != e->cfg)
			free(cfg);
		return eerr(e, NULL, vmi_writer_error(e->w));
	}
	if (cfg != e->cfg)
		free(cfg);
	if (e->ops->get_early_state != NULL &&
	    emit_pieces(e, e->ops->get_early_state) == -1)
		return -1;
	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	snprintf(note, sizeof(note), "%s on %s at %04d-%02d-%02dT%02d:%02d:%02dZ",
	    program, host, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (vmi_write_buf(e->w, VMI_REC_NOTE, note, strlen(note)) == -1)
		return eerr(e, NULL, vmi_writer_error(e->w));
	return 0;
}

uint64_t
bitmap_count(const uint64_t *bm, uint64_t n)
{
	uint64_t c = 0;

	for (uint64_t i = 0; i < n / 64; i++)
		c += __builtin_popcountll(bm[i]);
	if (n % 64)
		c += __builtin_popcountll(bm[n / 64] & ((1ull << n % 64) - 1));
	return c;
}

/* Hold the page rate under the cap, sleeping off any excess. */
static void
throttle(struct emit *e, unsigned n)
{
	uint64_t now = now_ns(), due;

	if (e->bw_t0 == 0 || now - e->bw_t0 > 1000000000ull) {
		e->bw_t0 = now;
		e->bw_sent = 0;
	}
	e->bw_sent += (uint64_t)n << 12;
	due = e->bw_t0 + (uint64_t)((double)e->bw_sent / e->bw * 1e9);
	if (due > now) {
		struct timespec ts = { (due - now) / 1000000000ull,
		    (due - now) % 1000000000ull };

		nanosleep(&ts, NULL);
	}
}

/*
 * One mapped batch into the image: its page state, its pages, counted
 * into *count; the mapping is released whatever happens.
 */
static int
write_batch(struct emit *e, const uint64_t *pfn, unsigned n, void **ptr,
    void *handle, int stable, uint64_t *count)
{
	/* Pages nothing changes before unmap() are written by reference,
	 * and the writer is done with them before unmap(). */
	int r = 0, ref = stable ||
	    (e->ops->map_own != NULL && e->ops->map_own(e->g));

	if (e->ops->page_state != NULL &&
	    emit_pieces(e, e->ops->page_state) == -1) {
		e->ops->unmap(e->g, handle);
		return -1;
	}
	for (unsigned i = 0; i < n && r == 0; i++)
		if (ptr[i] != NULL)
			r = vmi_write_page(e->w, pfn[i], ptr[i], ref);
	/* Such pages are sent without a copy: keep them mapped. */
	if (r == 0 && handle != NULL && ref)
		r = vmi_writer_sync(e->w);
	e->ops->unmap(e->g, handle);
	if (r == -1)
		return eerr(e, NULL, vmi_writer_error(e->w));
	*count += n;
	if (e->bw)
		throttle(e, n);
	if (e->pr) {
		struct vmi_wstats ws;

		vmi_writer_stats(e->w, &ws);
		e->pi.done = *count;
		e->pi.bytes = ws.bytes;
		if (e->pi.total)
			e->pi.share = e->share_base + e->share_span *
			    *count / e->pi.total;
		progress_update(e->pr, &e->pi, 0);
	}
	return 0;
}

/* The last PAGES record of a call out, and its count. */
static int
end_pages(struct emit *e, uint64_t count, uint64_t *sent)
{
	if (vmi_flush_pages(e->w) == -1)
		return eerr(e, NULL, vmi_writer_error(e->w));
	if (sent)
		*sent = count;
	return 0;
}

int
emit_pages(struct emit *e, const uint64_t *bm, int stable, uint64_t *sent)
{
	uint64_t pfn[BATCH];
	void *ptr[BATCH], *handle;
	uint64_t next = 0, count = 0;

	while (next < e->npages) {
		unsigned n = 0;

		/* Gather the next batch of frames to send. */
		while (n < BATCH && next < e->npages) {
			if (bm && bm[next / 64] == 0) {
				next = (next | 63) + 1;
				continue;
			}
			if (!bm || (bm[next / 64] & (1ull << next % 64)))
				pfn[n++] = next;
			next++;
		}
		if (n == 0)
			break;
		if (e->stop && *e->stop)
			return eerr(e, NULL, "interrupted by a signal");
		if (e->ops->map(e->g, pfn, n, 0, ptr, &handle) == -1)
			return eerr(e, "map guest memory", hv_strerror());
		if (write_batch(e, pfn, n, ptr, handle, stable, &count) == -1)
			return -1;
	}
	return end_pages(e, count, sent);
}

int
emit_round(struct emit *e, int stable, uint64_t *sent)
{
	uint64_t pfn[BATCH], count = 0;
	void *ptr[BATCH], *handle;
	unsigned n;

	for (;;) {
		if (e->stop && *e->stop)
			return eerr(e, NULL, "interrupted by a signal");
		if (e->ops->map_next(e->g, pfn, BATCH, &n, ptr, &handle) == -1)
			return eerr(e, "map guest memory", hv_strerror());
		if (n == 0)
			break;
		if (write_batch(e, pfn, n, ptr, handle, stable, &count) == -1)
			return -1;
	}
	return end_pages(e, count, sent);
}

int
emit_state(struct emit *e)
{
	return emit_pieces(e, e->ops->get_state);
}
