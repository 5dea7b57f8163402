/*
 * pv.c: saving a PV guest.
 *
 * A PV guest's page tables hold machine frame numbers, and its vCPU
 * contexts, GDT frames and shared info name machine frames too: a save
 * must rewrite every one of them as a guest frame number (and a restore
 * the other way round), and must know which frames are page tables of
 * which level.  libxenctrl's save does exactly that, so suspend() of a PV
 * guest that pvsave.c does not take (32-bit, or without a linear p2m)
 * starts libxl's own save (which also suspends the guest
 * cooperatively) into a pipe, in a thread of its own, and this side
 * takes its stream apart as it comes (pvstream.c):
 *
 *   libxl header, LIBXC_CONTEXT
 *     image header, domain header
 *     X86_PV_INFO, CPU policies, STATIC_DATA_END, X86_PV_P2M_FRAMES
 *                                        "early": before the first page
 *     PAGE_DATA ...                      pages (canonical), page types
 *     TSC_INFO, SHARED_INFO, X86_PV_VCPU_* ...        "late"
 *     END
 *   libxl records ..., END
 *
 * suspend() returns at the first page, when libxc has suspended the
 * guest; map() takes the frames the save asks for, in order, from the
 * stream's PAGE_DATA records, and the page tables among them become a
 * PLATFORM piece before their pages (page_state()); the other records
 * become PLATFORM pieces tagged with their record type, early ones before
 * the pages (a restore needs them first), late ones after.  dom0 holds
 * one record (4 MiB) and one batch of the guest's pages at a time,
 * whatever the guest's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "pv.h"

/* libxl's save, synchronous, in its own thread: it writes into the pipe
 * that the save reads as it goes. */
static void *
writer(void *arg)
{
	struct pv_copy *c = arg;

	c->rc = libxl_domain_suspend(xen_ctx, c->domid, c->wfd,
	    c->live ? LIBXL_SUSPEND_LIVE : 0, NULL);
	close(c->wfd);
	c->wfd = -1;
	return NULL;
}

/* Stop reading; wait for libxl's save, which a closed pipe ends. */
static int
stop_writer(struct pv_copy *c)
{
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->thread_up) {
		pthread_join(c->thread, NULL);
		c->thread_up = 0;
	}
	return c->rc;
}

void
xen_pv_free(struct hv_guest *g)
{
	int live = g->pv != NULL && g->pv->live;

	xen_pvn_free(g);
	if (g->pv != NULL)
		(void)stop_writer(g->pv);
	xen_pv_copy_free(g->pv);
	g->pv = NULL;
	/* A live save cut short may leave log-dirty on: the guest would run
	 * on shadow page tables for nothing. */
	if (live)
		(void)xc_shadow_control(xen_xch, g->domid,
		    XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
}

/* The save failed: say why, let the guest go on if libxl suspended it. */
static int
pv_failed(struct hv_guest *g, const char *why)
{
	xc_domaininfo_t di;
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", why);
	xen_pv_free(g);
	if (xen_dominfo(g->domid, &di) == 0 && (di.flags & XEN_DOMINF_shutdown))
		(void)libxl_domain_resume(xen_ctx, g->domid, 1, NULL);
	hv_seterr("can't save PV domain %u through libxl: %s", g->domid, buf);
	errno = EIO;
	return -1;
}

/* Start libxl's save of the guest, live or not, and read it to its first
 * page. */
static int
pv_start(struct hv_guest *g, int live)
{
	struct pv_copy *c;
	xc_domaininfo_t di;
	unsigned long n = 0;
	const char *why;
	int p[2];

	if (xen_dominfo(g->domid, &di) == -1) {
		hv_seterr("no Xen domain %u", g->domid);
		return -1;
	}
	if (xen_nr_pfns(g->domid, &n) == -1)
		return -1;
	if (n < di.max_pages)
		n = di.max_pages;
	if ((c = xen_pv_copy_new(n)) == NULL) {
		hv_seterr("no memory to read domain %u's save", g->domid);
		errno = ENOMEM;
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		int e = errno;

		xen_pv_copy_free(c);
		hv_seterr("can't make a pipe for domain %u's save: %s",
		    g->domid, strerror(e));
		errno = e;
		return -1;
	}
	/* Room for a whole PAGE_DATA record in the pipe.  (A Unix socket
	 * pair carries the guest from libxl's helper more slowly: in dom0
	 * under the emulator 83 MB/s against 129, bench-ssh.sh.) */
	(void)fcntl(p[1], F_SETPIPE_SZ, 4 << 20);
	c->fd = p[0];
	c->wfd = p[1];
	c->domid = g->domid;
	c->live = live;
	g->pv = c;
	if (pthread_create(&c->thread, NULL, writer, c) != 0) {
		close(c->wfd);
		c->wfd = -1;
		return pv_failed(g, "no thread for libxl's save");
	}
	c->thread_up = 1;
	if ((why = xen_pv_open(c, c->fd)) != NULL) {
		/* libxl's own words say more than a stream cut short. */
		if (stop_writer(c) != 0)
			why = xen_lastlog();
		return pv_failed(g, why);
	}
	return 0;
}

int
xen_pv_suspend(struct hv_guest *g)
{
	if (g->pv == NULL)
		return pv_start(g, 0);
	/* A live save whose last round began: round_next() saw libxc's
	 * suspend. */
	if (g->pv->live && g->pv->rfinal)
		return 0;
	hv_seterr("domain %u: its save is under way, and has not suspended it",
	    g->domid);
	errno = EINVAL;
	return -1;
}

/* Whether libxc has suspended the guest by now. */
static int
suspended(struct hv_guest *g)
{
	xc_domaininfo_t di;

	if (xen_dominfo(g->domid, &di) == -1) {
		hv_seterr("domain %u is gone during its save", g->domid);
		return -1;
	}
	return xen_is_suspended(&di);
}

int
xen_pv_live(struct hv_guest *g)
{
	return g->pv != NULL && g->pv->live;
}

/* A PV guest's pages are read from libxl's stream into the save's own
 * buffers, which stay as they are until the next take. */
int
xen_pv_map_own(struct hv_guest *g)
{
	return g->pv != NULL;
}

/* A PV guest's live copy through libxl's save is libxc's, rounds and
 * all (hv.h); pvsave.c's takes the rounds the save picks. */
int
xen_pv_own_rounds(struct hv_guest *g)
{
	if (g->type != VMI_GT_XEN_PV || g->pvn != NULL)
		return 0;
	return g->pv != NULL || !xen_pvn_able(g);
}

/*
 * The next round of libxc's live save.  libxc suspends the guest before
 * it writes its last round, so a round that comes after the suspend is
 * the last; a round that ran before might also be read after it (libxc
 * writes ahead into the pipe), and is then taken as part of the last.
 */
int
xen_pv_round_next(struct hv_guest *g)
{
	struct pv_copy *c = g->pv;
	int s, r;

	if (c == NULL || !c->live) {
		hv_seterr("domain %u: no live save under way", g->domid);
		errno = EINVAL;
		return -1;
	}
	if ((s = suspended(g)) == -1)
		return -1;
	if ((r = xen_pv_round_begin(c, s)) == -1) {
		hv_seterr("domain %u's save: %s", g->domid, c->err);
		errno = EIO;
		return -1;
	}
	/* Past the pages: libxc suspended the guest before its last round. */
	if (r == 0 && !s) {
		(void)xen_pv_round_begin(c, 1);
		s = 1;
	}
	return s;
}

int
xen_pv_map_next(struct hv_guest *g, uint64_t *pfn, unsigned max,
    unsigned *n, void **ptr, void **handle)
{
	*handle = NULL;
	if (max > PV_MAP_MAX)
		max = PV_MAP_MAX;
	if (g->pv == NULL || xen_pv_take_next(g->pv, pfn, max, n, ptr) == -1) {
		hv_seterr("domain %u's save: %s", g->domid,
		    g->pv ? g->pv->err : "none under way");
		errno = EIO;
		return -1;
	}
	*handle = g->pv;
	return 0;
}

/*
 * map() of a PV guest that suspend() is saving: the frames, read from the
 * stream in order.  The handle is not NULL, so that the engine is done
 * with the pages before the next map() reads over them.
 */
int
xen_pv_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, void **ptr,
    void **handle)
{
	if (xen_pv_take(g->pv, pfn, n, ptr) == -1) {
		hv_seterr("domain %u's save: %s", g->domid, g->pv->err);
		errno = EIO;
		return -1;
	}
	*handle = g->pv;
	return 0;
}

/* Which of the last map()'s frames are page tables: before their pages,
 * for a restore must know a table when its page comes. */
int
xen_pv_page_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct pv_copy *c = g->pv;
	struct hv_state st = { VMI_REC_PLATFORM, 0, XEN_TAG_PV_TYPES, 0,
	    NULL };

	if (g->pvn != NULL)
		return xen_pvn_page_state(g, fn, arg);
	if (c == NULL || c->ntables == 0)
		return 0;
	st.len = c->ntables * 8;
	st.data = c->tables;
	return fn(arg, &st);
}

static int
emit_rec(hv_state_fn fn, void *arg, const struct pv_rec *r)
{
	struct hv_state st = { VMI_REC_PLATFORM, 0, r->tag, r->len, r->body };

	return fn(arg, &st);
}

/* The records before the first page (early) or after it, in order. */
static int
emit_recs(const struct pv_copy *c, int early, hv_state_fn fn, void *arg)
{
	int rc;

	for (size_t i = 0; i < c->nrec; i++)
		if (c->rec[i].early == early &&
		    (rc = emit_rec(fn, arg, &c->rec[i])) != 0)
			return rc;
	return 0;
}

int
xen_pv_early_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct pv_copy *c = g->pv;
	int rc;

	/* No save yet: this is a live one, which begins here, for libxc's
	 * early records come before its first round. */
	if (c == NULL) {
		if (!xen_has_shadow())
			return xen_pv_no_live(g);
		if (pv_start(g, 1) == -1)
			return -1;
		c = g->pv;
	}
	if ((rc = emit_recs(c, 1, fn, arg)) != 0)
		return rc;
	return 0;
}

int
xen_pv_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	if (g->pv == NULL) {
		hv_seterr("domain %u is a PV guest: its state is read only "
		    "by an offline save", g->domid);
		errno = ENOTSUP;
		return -1;
	}
	struct pv_copy *c = g->pv;
	const char *why;

	/* The rest of the stream, and libxl's word on its save. */
	if ((why = xen_pv_finish(c)) != NULL) {
		hv_seterr("domain %u's save: %s", g->domid, why);
		errno = EIO;
		return -1;
	}
	if (stop_writer(c) != 0) {
		hv_seterr("domain %u's save: libxl: %s", g->domid,
		    xen_lastlog());
		errno = EIO;
		return -1;
	}
	return emit_recs(c, 0, fn, arg);
}

/*
 * A live copy of a PV guest: log-dirty of a PV guest needs shadow page
 * tables.  Without them (Debian's Xen) no tool can do it.
 */
int
xen_pv_no_live(struct hv_guest *g)
{
	hv_seterr("domain %u is a PV guest: this Xen has no shadow paging, so "
	    "it can't log a PV guest's writes; save it offline (vm-save, or "
	    "vm-migrate without --live)", g->domid);
	errno = ENOTSUP;
	return -1;
}
