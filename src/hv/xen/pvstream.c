/*
 * pvstream.c: reading the stream of libxl's save of a PV guest as it is
 * written (see pv.c for what it holds), in one pass: the records before
 * the first page are kept whole, marked early; the pages are taken a
 * PAGE_DATA record at a time, as a save asks for its frames in order,
 * each with its type; the records after them are kept, late.  Nothing of
 * Xen is called: the fuzzer runs it on its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "pv.h"
#include "xen_stream.h"

#define REC_MAX			(64u << 20)	/* no record of a save is larger */

enum { S_NEW, S_PAGES, S_LIBXL, S_END, S_BAD };

static int
bad(struct pv_copy *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct pv_copy *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof(c->err), fmt, ap);
		va_end(ap);
	}
	c->state = S_BAD;
	return -1;
}

static int
rd(struct pv_copy *c, void *buf, size_t len)
{
	ssize_t n = io_readall(c->fd, buf, len);

	if (n != (ssize_t)len)
		return bad(c, "libxl's stream ended early, at octet %llu (%s)",
		    (unsigned long long)c->pos + (n > 0 ? n : 0),
		    n == -1 ? strerror(errno) : "end of input");
	c->pos += len;
	return 0;
}

/* Skip len octets (a record's padding). */
static int
skip(struct pv_copy *c, size_t len)
{
	uint8_t pad[8];

	while (len > 0) {
		size_t k = len < sizeof(pad) ? len : sizeof(pad);

		if (rd(c, pad, k) == -1)
			return -1;
		len -= k;
	}
	return 0;
}

static int
keep(struct pv_copy *c, uint32_t tag, uint32_t len, int early)
{
	struct pv_rec *r;

	if (c->nrec == c->arec) {
		size_t n = c->arec ? c->arec * 2 : 16;

		if (n > 4096)
			return bad(c, "more than 4096 records besides pages");
		if ((r = realloc(c->rec, n * sizeof(*r))) == NULL)
			return bad(c, "out of memory");
		c->rec = r;
		c->arec = n;
	}
	r = &c->rec[c->nrec];
	r->tag = tag;
	r->len = len;
	r->early = early;
	if ((r->body = malloc(len ? len : 1)) == NULL)
		return bad(c, "out of memory");
	c->nrec++;
	if (rd(c, r->body, len) == -1)
		return -1;
	return skip(c, (8 - len % 8) % 8);
}

/* One PAGE_DATA record, whole: its frame words and pages. */
static int
page_data(struct pv_copy *c, uint32_t len)
{
	uint32_t h[2];
	size_t need, ndata = 0;

	if (len < 8)
		return bad(c, "PAGE_DATA of %u octets", len);
	if (rd(c, h, 8) == -1)
		return -1;
	if (h[0] == 0 || h[0] > PV_MAP_MAX || len < 8 + (size_t)h[0] * 8)
		return bad(c, "PAGE_DATA of %u frames in %u octets", h[0], len);
	if (rd(c, c->w, h[0] * 8) == -1)
		return -1;
	for (uint32_t i = 0; i < h[0]; i++) {
		if ((c->w[i] & XSR_PFN_MASK) >= c->npfn)
			return bad(c, "frame %#llx beyond the guest's %#lx",
			    (unsigned long long)(c->w[i] & XSR_PFN_MASK),
			    c->npfn);
		if (XSR_PT_HAS_DATA(XSR_PAGE_TYPE(c->w[i])))
			ndata++;
	}
	need = 8 + (size_t)h[0] * 8 + ndata * 4096;
	if (need != len)
		return bad(c, "PAGE_DATA: %u octets for %zu", len, need);
	if (rd(c, c->data, ndata * 4096) == -1)
		return -1;
	c->nw = h[0];
	c->at = c->dat = 0;
	return 0;
}

/*
 * The next record of libxc's part that is a page's, or its END (then
 * S_LIBXL); those between are kept, early before the first page.
 */
static int
next_pages(struct pv_copy *c)
{
	uint32_t h[2];

	for (;;) {
		if (rd(c, h, 8) == -1)
			return -1;
		if (h[1] > REC_MAX)
			return bad(c, "libxc record %#x of %u octets", h[0],
			    h[1]);
		if (h[0] == XSR_END) {
			c->state = S_LIBXL;
			return skip(c, (h[1] + 7) & ~7u);
		}
		if (h[0] == XSR_PAGE_DATA) {
			if (page_data(c, h[1]) == -1)
				return -1;
			c->state = S_PAGES;
			return 0;
		}
		if (keep(c, h[0], h[1], c->state == S_NEW) == -1)
			return -1;
	}
}

/* libxl's own records, kept (late), up to the next that is LIBXC_CONTEXT
 * or END: its type, or -1. */
static int
libxl_recs(struct pv_copy *c)
{
	uint32_t h[2];

	for (;;) {
		if (rd(c, h, 8) == -1)
			return -1;
		if (h[0] == XLR_END || h[0] == XLR_LIBXC_CONTEXT)
			return (int)h[0];
		if (h[1] > REC_MAX)
			return bad(c, "libxl record %#x of %u octets", h[0],
			    h[1]);
		if (keep(c, XEN_TAG_LIBXL | h[0], h[1], 0) == -1)
			return -1;
	}
}

const char *
xen_pv_open(struct pv_copy *c, int fd)
{
	uint8_t lhdr[16], ihdr[24], dhdr[16];

	c->fd = fd;
	if (rd(c, lhdr, sizeof(lhdr)) == -1)
		return c->err;
	/* libxl's records up to libxc's part, kept for the end. */
	switch (libxl_recs(c)) {
	case -1:
		return c->err;
	case XLR_END:
		bad(c, "libxl's stream has no part of libxc's");
		return c->err;
	}
	if (rd(c, ihdr, sizeof(ihdr)) == -1 || rd(c, dhdr, sizeof(dhdr)) == -1)
		return c->err;
	if (dhdr[0] != XSR_DOMAIN_X86_PV) {
		bad(c, "libxc's stream is of domain type %u, not x86 PV (1)",
		    dhdr[0]);
		return c->err;
	}
	return next_pages(c) == -1 ? c->err : NULL;
}

/*
 * The pages of ptr[from..to) that point into the PAGE_DATA record about
 * to be replaced are copied to the take's own buffer first: a take points
 * into the record it reads, and copies only where it spans two.
 */
static void
keep_taken(struct pv_copy *c, void **ptr, unsigned from, unsigned to)
{
	for (unsigned j = from; j < to; j++)
		if (ptr[j] != NULL) {
			memcpy(c->buf + (size_t)j * 4096, ptr[j], 4096);
			ptr[j] = c->buf + (size_t)j * 4096;
		}
}

int
xen_pv_take(struct pv_copy *c, const uint64_t *pfn, unsigned n, void **ptr)
{
	unsigned from = 0;	/* ptr[from..] may point into c->data */

	c->ntables = 0;
	if (n > PV_MAP_MAX)
		return bad(c, "can't take %u frames at once (at most %u)", n,
		    PV_MAP_MAX);
	for (unsigned i = 0; i < n; i++) {
		ptr[i] = NULL;
		if (pfn[i] < c->next)
			return bad(c, "frame %#llx asked for after %#llx: "
			    "libxl's stream is read once, in order",
			    (unsigned long long)pfn[i],
			    (unsigned long long)c->next);
		c->next = pfn[i] + 1;
		while (c->state == S_PAGES) {
			uint64_t w, f;
			unsigned t;

			if (c->at == c->nw) {
				keep_taken(c, ptr, from, i);
				from = i;
				if (next_pages(c) == -1)
					return -1;
				continue;
			}
			w = c->w[c->at];
			f = w & XSR_PFN_MASK;
			t = XSR_PAGE_TYPE(w);
			if (f > pfn[i])
				break;		/* not in the stream: a hole */
			if (f < pfn[i] && XSR_PT_HAS_DATA(t))
				return bad(c, "frame %#llx comes after %#llx "
				    "was asked for", (unsigned long long)f,
				    (unsigned long long)pfn[i]);
			c->at++;
			if (XSR_PT_HAS_DATA(t))
				c->dat++;
			if (f < pfn[i])
				continue;	/* a frame with no data: skip */
			if (XSR_PT_HAS_DATA(t))
				ptr[i] = c->data + (size_t)(c->dat - 1) * 4096;
			if (XSR_PT_IS_TABLE(t))
				c->tables[c->ntables++] = w & (XSR_PFN_MASK |
				    (0xfull << 60));
			break;
		}
	}
	return c->state == S_BAD ? -1 : 0;
}

int
xen_pv_take_next(struct pv_copy *c, uint64_t *pfn, unsigned max, unsigned *n,
    void **ptr)
{
	*n = 0;
	c->ntables = 0;
	while (!c->rover && c->state == S_PAGES && *n < max) {
		uint64_t w, f;
		unsigned t;

		if (c->at == c->nw) {
			/* Taken pages point into this record: the next one
			 * is read by the next call. */
			if (*n > 0)
				break;
			if (next_pages(c) == -1)
				return -1;
			/* libxc sends each round in ascending order. */
			if (c->state == S_PAGES && c->rstarted && !c->rfinal &&
			    (c->w[0] & XSR_PFN_MASK) <= c->rlast)
				c->rover = 1;
			continue;
		}
		w = c->w[c->at];
		f = w & XSR_PFN_MASK;
		t = XSR_PAGE_TYPE(w);
		if (c->rstarted && f <= c->rlast && c->at > 0)
			return bad(c, "frame %#llx after %#llx in one record",
			    (unsigned long long)f,
			    (unsigned long long)c->rlast);
		c->at++;
		c->rlast = f;
		c->rstarted = 1;
		if (!XSR_PT_HAS_DATA(t))
			continue;	/* no data: left out, as a hole */
		c->dat++;
		pfn[*n] = f;
		ptr[*n] = c->data + (size_t)(c->dat - 1) * 4096;
		if (XSR_PT_IS_TABLE(t))
			c->tables[c->ntables++] = w & (XSR_PFN_MASK |
			    (0xfull << 60));
		(*n)++;
	}
	if (c->state != S_PAGES && c->state != S_LIBXL)
		return -1;
	return 0;
}

int
xen_pv_round_begin(struct pv_copy *c, int final)
{
	if (c->state == S_BAD)
		return -1;
	c->rover = 0;
	c->rstarted = 0;
	c->rfinal = final;
	return c->state == S_PAGES;
}

const char *
xen_pv_finish(struct pv_copy *c)
{

	while (c->state == S_PAGES) {
		for (; c->at < c->nw; c->at++)
			if (XSR_PT_HAS_DATA(XSR_PAGE_TYPE(c->w[c->at]))) {
				bad(c, "frame %#llx was never asked for",
				    (unsigned long long)(c->w[c->at] &
				    XSR_PFN_MASK));
				return c->err;
			}
		if (next_pages(c) == -1)
			return c->err;
	}
	if (c->state == S_LIBXL) {
		/* A second part of libxc's is not a save's. */
		if (libxl_recs(c) != XLR_END)
			return c->err[0] ? c->err :
			    "libxl's stream has a second part of libxc's";
		c->state = S_END;
	}
	return c->state == S_END ? NULL : c->err[0] ? c->err :
	    "libxl's stream was not read to its end";
}

struct pv_copy *
xen_pv_copy_new(unsigned long npfn)
{
	struct pv_copy *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->npfn = npfn;
	c->fd = c->wfd = -1;
	if (posix_memalign((void **)&c->buf, 4096, PV_MAP_MAX * 4096) != 0)
		c->buf = NULL;
	if (posix_memalign((void **)&c->data, 4096, PV_MAP_MAX * 4096) != 0)
		c->data = NULL;
	if (c->buf == NULL || c->data == NULL) {
		xen_pv_copy_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void
xen_pv_copy_free(struct pv_copy *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c->data);
	for (size_t i = 0; i < c->nrec; i++)
		free(c->rec[i].body);
	free(c->rec);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}
