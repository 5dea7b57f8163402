/*
 * xen_pv.c: saving a PV guest.
 *
 * A PV guest's page tables hold machine frame numbers, and its vCPU
 * contexts, GDT frames and shared info name machine frames too: a save
 * must rewrite every one of them as a guest frame number (and a restore
 * the other way round), and must know which frames are page tables of
 * which level.  libxenctrl's save does exactly that, so suspend() of a PV
 * guest runs libxl's own save (which also suspends the guest
 * cooperatively) into a pipe, and takes the stream apart as it comes:
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
 * The pages go into a sparse copy of the guest's frames that map() then
 * hands out; the other records become PLATFORM pieces tagged with their
 * record type, early ones before the pages (a restore needs them first),
 * with one piece of our own listing the frames that are page tables.
 * The copy costs dom0 memory the size of the guest's, for as long as the
 * save runs: the price of an offline save through libxc.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen.h"

#define REC_MAX			(64u << 20)	/* no record of a save is larger */
#define TYPES_PER_PIECE		65536

struct pv_rec {
	uint32_t	 tag;
	uint32_t	 len;
	int		 early;
	uint8_t		*body;
};

struct pv_copy {
	unsigned long	 npfn;
	uint8_t		*mem;		/* npfn pages, sparse */
	uint8_t		*type;		/* per frame: PFINFO >> 28, 0xff none */
	struct pv_rec	*rec;
	size_t		 nrec, arec;
	int		 pages_seen;

	/* the reader */
	int		 fd;
	char		 err[200];
};

static int
rd(struct pv_copy *c, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(c->fd, (uint8_t *)buf + done, len - done);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(c->err, sizeof(c->err), "libxl's stream ended "
			    "early (%s)", n == 0 ? "end of file" :
			    strerror(errno));
			return -1;
		}
		done += n;
	}
	return 0;
}

static int
skip(struct pv_copy *c, size_t len)
{
	uint8_t buf[4096];

	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (rd(c, buf, n) == -1)
			return -1;
		len -= n;
	}
	return 0;
}

static int
keep(struct pv_copy *c, uint32_t tag, uint32_t len, int early)
{
	struct pv_rec *r;
	size_t pad = (8 - len % 8) % 8;

	if (c->nrec == c->arec) {
		size_t n = c->arec ? c->arec * 2 : 16;

		if ((r = realloc(c->rec, n * sizeof(*r))) == NULL) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		c->rec = r;
		c->arec = n;
	}
	r = &c->rec[c->nrec];
	r->tag = tag;
	r->len = len;
	r->early = early;
	if ((r->body = malloc(len ? len : 1)) == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	c->nrec++;
	if (rd(c, r->body, len) == -1)
		return -1;
	return skip(c, pad);
}

/* One PAGE_DATA record: its frame words, then the data of those that
 * have some, each into the copy at its frame. */
static int
page_data(struct pv_copy *c, uint32_t len)
{
	uint32_t h[2];
	uint64_t *w;
	size_t need;

	if (len < 8 || rd(c, h, 8) == -1)
		return len < 8 ? (snprintf(c->err, sizeof(c->err),
		    "PAGE_DATA of %u octets", len), -1) : -1;
	if (h[0] == 0 || h[0] > 1024 || len < 8 + (size_t)h[0] * 8) {
		snprintf(c->err, sizeof(c->err), "PAGE_DATA of %u frames in "
		    "%u octets", h[0], len);
		return -1;
	}
	if ((w = malloc(h[0] * 8)) == NULL)
		return -1;
	if (rd(c, w, h[0] * 8) == -1)
		goto fail;
	need = 8 + (size_t)h[0] * 8;
	for (uint32_t i = 0; i < h[0]; i++)
		if (XSR_PT_HAS_DATA(XSR_PAGE_TYPE(w[i])))
			need += 4096;
	if (need != len) {
		snprintf(c->err, sizeof(c->err), "PAGE_DATA: %u octets for "
		    "%zu", len, need);
		goto fail;
	}
	for (uint32_t i = 0; i < h[0]; i++) {
		uint64_t pfn = w[i] & XSR_PFN_MASK;
		unsigned t = XSR_PAGE_TYPE(w[i]);

		if (pfn >= c->npfn) {
			snprintf(c->err, sizeof(c->err), "frame %#llx beyond "
			    "the guest's %#lx", (unsigned long long)pfn,
			    c->npfn);
			goto fail;
		}
		c->type[pfn] = t;
		if (XSR_PT_HAS_DATA(t) && rd(c, c->mem + pfn * 4096, 4096) == -1)
			goto fail;
	}
	free(w);
	c->pages_seen = 1;
	return 0;
fail:
	free(w);
	return -1;
}

/* libxc's part: its headers, then records up to its END. */
static int
read_libxc(struct pv_copy *c)
{
	uint8_t ihdr[24], dhdr[16];
	uint32_t h[2];

	if (rd(c, ihdr, sizeof(ihdr)) == -1 || rd(c, dhdr, sizeof(dhdr)) == -1)
		return -1;
	if (dhdr[0] != XSR_DOMAIN_X86_PV) {
		snprintf(c->err, sizeof(c->err), "libxc's stream is of domain "
		    "type %u, not x86 PV (1)", dhdr[0]);
		return -1;
	}
	for (;;) {
		if (rd(c, h, 8) == -1)
			return -1;
		if (h[1] > REC_MAX) {
			snprintf(c->err, sizeof(c->err), "libxc record %#x of "
			    "%u octets", h[0], h[1]);
			return -1;
		}
		if (h[0] == XSR_END)
			return skip(c, h[1]);
		if (h[0] == XSR_PAGE_DATA) {
			if (page_data(c, h[1]) == -1)
				return -1;
			continue;
		}
		if (keep(c, h[0], h[1], !c->pages_seen) == -1)
			return -1;
	}
}

static void *
reader(void *arg)
{
	struct pv_copy *c = arg;
	uint8_t lhdr[16];
	uint32_t h[2];

	if (rd(c, lhdr, sizeof(lhdr)) == -1)
		goto out;
	for (;;) {
		if (rd(c, h, 8) == -1)
			break;
		if (h[0] == XLR_END)
			break;
		if (h[0] == XLR_LIBXC_CONTEXT) {
			if (read_libxc(c) == -1)
				break;
			continue;
		}
		if (h[1] > REC_MAX) {
			snprintf(c->err, sizeof(c->err), "libxl record %#x of "
			    "%u octets", h[0], h[1]);
			break;
		}
		if (keep(c, XEN_TAG_LIBXL | h[0], h[1], 0) == -1)
			break;
	}
out:
	/* Drain: libxl's helper must never block on a full pipe. */
	if (c->err[0] != '\0') {
		uint8_t buf[4096];

		while (read(c->fd, buf, sizeof(buf)) > 0)
			;
	}
	return NULL;
}

struct pv_copy *
xen_pv_copy_new(unsigned long npfn)
{
	struct pv_copy *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->npfn = npfn;
	c->mem = mmap(NULL, npfn * 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	c->type = malloc(npfn);
	if (c->mem == MAP_FAILED || c->type == NULL) {
		c->mem = c->mem == MAP_FAILED ? NULL : c->mem;
		xen_pv_copy_free(c);
		errno = ENOMEM;
		return NULL;
	}
	memset(c->type, 0xff, npfn);
	return c;
}

void
xen_pv_copy_free(struct pv_copy *c)
{
	if (c == NULL)
		return;
	if (c->mem != NULL)
		munmap(c->mem, c->npfn * 4096);
	free(c->type);
	for (size_t i = 0; i < c->nrec; i++)
		free(c->rec[i].body);
	free(c->rec);
	free(c);
}

const char *
xen_pv_read(struct pv_copy *c, int fd)
{
	c->fd = fd;
	reader(c);
	return c->err[0] ? c->err : NULL;
}

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
	pthread_t t;
	int p[2], rc, e;

	if (xen_dominfo(g->domid, &di) == -1) {
		hv_seterr("no Xen domain %u", g->domid);
		return -1;
	}
	if (xen_nr_pfns(g->domid, &n) == -1)
		return -1;
	if (n < di.max_pages)
		n = di.max_pages;
	if ((c = xen_pv_copy_new(n)) == NULL) {
		hv_seterr("no memory for a copy of domain %u's %lu frames",
		    g->domid, n);
		errno = ENOMEM;
		return -1;
	}
	g->pv = c;
	if (pipe2(p, O_CLOEXEC) == -1)
		goto fail;
	(void)fcntl(p[1], F_SETPIPE_SZ, XEN_PIPE_SIZE);
	c->fd = p[0];
	if ((rc = pthread_create(&t, NULL, reader, c)) != 0) {
		close(p[0]);
		close(p[1]);
		errno = rc;
		goto fail;
	}
	/* Synchronous: libxl suspends the guest, its helper writes the
	 * stream, and it returns once all of it is written. */
	rc = libxl_domain_suspend(xen_ctx, g->domid, p[1], 0, NULL);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
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
fail:
	e = errno;
	xen_pv_free(g);
	errno = e;
	return -1;
}

/* map() of a PV guest that suspend() copied. */
int
xen_pv_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, void **ptr,
    void **handle)
{
	struct pv_copy *c = g->pv;

	for (unsigned i = 0; i < n; i++)
		ptr[i] = pfn[i] < c->npfn && c->type[pfn[i]] != 0xff &&
		    XSR_PT_HAS_DATA(c->type[pfn[i]]) ?
		    c->mem + pfn[i] * 4096 : NULL;
	*handle = NULL;
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

int
xen_pv_early_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct pv_copy *c = g->pv;
	int rc;

	if (c == NULL) {
		hv_seterr("domain %u is a PV guest: this Xen has no shadow "
		    "paging, so it can't log a PV guest's writes; save it "
		    "offline (without a live pre-copy)", g->domid);
		errno = ENOTSUP;
		return -1;
	}
	for (size_t i = 0; i < c->nrec; i++)
		if (c->rec[i].early && (rc = emit_rec(fn, arg, &c->rec[i])) != 0)
			return rc;
	return emit_types(c, fn, arg);
}

int
xen_pv_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct pv_copy *c = g->pv;
	int rc;

	if (c == NULL) {
		hv_seterr("domain %u is a PV guest: its state is read only "
		    "by an offline save", g->domid);
		errno = ENOTSUP;
		return -1;
	}
	for (size_t i = 0; i < c->nrec; i++)
		if (!c->rec[i].early && (rc = emit_rec(fn, arg, &c->rec[i])) != 0)
			return rc;
	return 0;
}
