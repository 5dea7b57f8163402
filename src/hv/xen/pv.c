/*
 * pv.c: saving a PV guest.
 *
 * A PV guest's page tables hold machine frame numbers, and its vCPU
 * contexts, GDT frames and shared info name machine frames too: a save
 * must rewrite every one of them as a guest frame number (and a restore
 * the other way round), and must know which frames are page tables of
 * which level.  libxenctrl's save does exactly that, so suspend() of a PV
 * guest runs libxl's own save (which also suspends the guest
 * cooperatively) into a file in memory, and takes its stream apart:
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
 * The file's PAGE_DATA records are indexed, each frame by where its page
 * lies in the file, and map() reads a batch of them into one buffer; the
 * other records become PLATFORM pieces tagged with their record type,
 * early ones before the pages (a restore needs them first), with one
 * piece of our own listing the frames that are page tables.
 *
 * A file and reads, not a pipe into fresh memory: in a PV dom0 every
 * first touch of a page of our own is a page table update that Xen must
 * check, and under the emulator that cost four fifths of a save.  The
 * file costs dom0 memory the size of the guest's pages for as long as
 * the save runs: the price of an offline save through libxc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "pv.h"

#define TYPES_PER_PIECE		65536

void
xen_pv_free(struct hv_guest *g)
{
	xen_pv_copy_free(g->pv);
	g->pv = NULL;
}

int
xen_pv_suspend(struct hv_guest *g)
{
	struct pv_copy *c;
	xc_domaininfo_t di;
	unsigned long n = 0;
	struct timespec t0, t1, t2;
	int fd, rc;

	if (xen_dominfo(g->domid, &di) == -1) {
		hv_seterr("no Xen domain %u", g->domid);
		return -1;
	}
	if (xen_nr_pfns(g->domid, &n) == -1)
		return -1;
	if (n < di.max_pages)
		n = di.max_pages;
	if ((c = xen_pv_copy_new(n)) == NULL) {
		hv_seterr("no memory for an index of domain %u's %lu frames",
		    g->domid, n);
		errno = ENOMEM;
		return -1;
	}
	if ((fd = memfd_create("vmpipe-pv-save", MFD_CLOEXEC)) == -1) {
		int e = errno;

		xen_pv_copy_free(c);
		hv_seterr("can't make a file for domain %u's save: %s",
		    g->domid, strerror(e));
		errno = e;
		return -1;
	}
	g->pv = c;
	/* Synchronous: libxl suspends the guest, its helper writes the
	 * stream, and it returns once all of it is written. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = libxl_domain_suspend(xen_ctx, g->domid, fd, 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0)
		(void)xen_pv_read(c, fd);
	else
		close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (xen_debug)
		fprintf(stderr, "xen: PV save: libxl %.3f s, index %.3f s\n",
		    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		    (t2.tv_sec - t1.tv_sec) + (t2.tv_nsec - t1.tv_nsec) / 1e9);
	if (rc != 0 || c->err[0] != '\0') {
		char why[256];

		snprintf(why, sizeof(why), "%s", rc != 0 ? xen_lastlog() :
		    c->err);
		/* libxl may have suspended the guest before it failed. */
		if (xen_dominfo(g->domid, &di) == 0 &&
		    (di.flags & XEN_DOMINF_shutdown))
			(void)libxl_domain_resume(xen_ctx, g->domid, 1, NULL);
		xen_pv_free(g);
		hv_seterr("can't save PV domain %u through libxl: %s",
		    g->domid, why);
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * map() of a PV guest that suspend() saved: the batch's pages read into
 * the one buffer, a run of neighbours in the file at a time.  The handle
 * is not NULL, so that the engine is done with the pages before the next
 * map() reads over them.
 */
int
xen_pv_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, void **ptr,
    void **handle)
{
	struct pv_copy *c = g->pv;
	uint64_t run = 0, at = 0;
	size_t len = 0;

	if (n > PV_MAP_MAX) {
		hv_seterr("can't map %u frames at once (at most %u)", n,
		    PV_MAP_MAX);
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i <= n; i++) {
		uint64_t o = PV_NO_PAGE;

		if (i < n) {
			ptr[i] = NULL;
			if (pfn[i] < c->npfn && c->type[pfn[i]] != 0xff)
				o = c->off[pfn[i]];
			if (o != PV_NO_PAGE && len > 0 && o == run + len) {
				ptr[i] = c->buf + at + len;
				len += 4096;
				continue;
			}
		}
		/* The run so far, then a new one from this frame. */
		if (len > 0) {
			for (size_t d = 0; d < len; ) {
				ssize_t r = pread(c->fd, c->buf + at + d,
				    len - d, run + d);

				if (r <= 0) {
					hv_seterr("can't read domain %u's "
					    "saved pages: %s", g->domid,
					    r == 0 ? "short file" :
					    strerror(errno));
					errno = EIO;
					return -1;
				}
				d += r;
			}
			at += len;
			len = 0;
		}
		if (o != PV_NO_PAGE) {
			ptr[i] = c->buf + at;
			run = o;
			len = 4096;
		}
	}
	*handle = c;
	return 0;
}

static int
emit_rec(hv_state_fn fn, void *arg, const struct pv_rec *r)
{
	struct hv_state st = { VMI_REC_PLATFORM, 0, r->tag, r->len, r->body };

	return fn(arg, &st);
}

/* The page types: frame words (PAGE_DATA's layout) of every frame that
 * is a page table, in pieces of at most TYPES_PER_PIECE. */
static int
emit_types(struct pv_copy *c, hv_state_fn fn, void *arg)
{
	uint64_t *w;
	size_t k = 0;
	int rc = 0;

	if ((w = malloc(TYPES_PER_PIECE * 8)) == NULL)
		return -1;
	for (unsigned long pfn = 0; pfn < c->npfn && rc == 0; pfn++) {
		unsigned t = c->type[pfn];

		if (t == 0xff || !XSR_PT_IS_TABLE(t))
			continue;
		w[k++] = pfn | (uint64_t)t << 60;
		if (k == TYPES_PER_PIECE) {
			struct hv_state st = { VMI_REC_PLATFORM, 0,
			    XEN_TAG_PV_TYPES, k * 8, w };

			rc = fn(arg, &st);
			k = 0;
		}
	}
	if (rc == 0 && k > 0) {
		struct hv_state st = { VMI_REC_PLATFORM, 0, XEN_TAG_PV_TYPES,
		    k * 8, w };

		rc = fn(arg, &st);
	}
	free(w);
	return rc;
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

	if (c == NULL)
		return xen_pv_no_live(g);
	if ((rc = emit_recs(c, 1, fn, arg)) != 0)
		return rc;
	return emit_types(c, fn, arg);
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
	return emit_recs(g->pv, 0, fn, arg);
}

/*
 * A live copy of a PV guest: log-dirty of a PV guest needs shadow page
 * tables.  Without them (Debian's Xen) no tool can do it; with them,
 * libxenctrl's own live save could, which this backend does not drive.
 */
int
xen_pv_no_live(struct hv_guest *g)
{
	xc_physinfo_t pi = { 0 };

	if (xc_physinfo(xen_xch, &pi) == 0 &&
	    (pi.capabilities & XEN_SYSCTL_PHYSCAP_shadow))
		hv_seterr("domain %u is a PV guest: live copies of PV guests "
		    "are not supported; save it offline (vm-save, or "
		    "vm-migrate without --live)", g->domid);
	else
		hv_seterr("domain %u is a PV guest: this Xen has no shadow "
		    "paging, so it can't log a PV guest's writes; save it "
		    "offline (vm-save, or vm-migrate without --live)",
		    g->domid);
	errno = ENOTSUP;
	return -1;
}
