/*
 * pvstream.c: reading the stream of libxl's save of a PV guest from
 * the file it was written to (see pv.c for what it holds).  Every
 * record but the pages is kept whole, in order, marked early when it
 * came before the first page; each page is indexed, by frame, where it
 * lies in the file, and each frame's type noted.  Nothing of Xen is
 * called: the fuzzer runs it on its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "pv.h"
#include "xen_stream.h"

#define REC_MAX			(64u << 20)	/* no record of a save is larger */

static int
rd(struct pv_copy *c, void *buf, size_t len)
{
	ssize_t n = io_preadall(c->fd, buf, len, c->pos);

	if (n != (ssize_t)len) {
		snprintf(c->err, sizeof(c->err), "libxl's stream ended early "
		    "(%s)", n == -1 ? strerror(errno) : "end of file");
		return -1;
	}
	c->pos += len;
	return 0;
}

static int
keep(struct pv_copy *c, uint32_t tag, uint32_t len, int early)
{
	struct pv_rec *r;

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
	c->pos += (8 - len % 8) % 8;
	return 0;
}

/* One PAGE_DATA record: its frame words, then the data of those that
 * have some, each indexed where it lies. */
static int
page_data(struct pv_copy *c, uint32_t len)
{
	uint32_t h[2];
	uint64_t w[PV_MAP_MAX], data;
	size_t need;

	if (len < 8) {
		snprintf(c->err, sizeof(c->err), "PAGE_DATA of %u octets",
		    len);
		return -1;
	}
	if (rd(c, h, 8) == -1)
		return -1;
	if (h[0] == 0 || h[0] > PV_MAP_MAX || len < 8 + (size_t)h[0] * 8) {
		snprintf(c->err, sizeof(c->err), "PAGE_DATA of %u frames in "
		    "%u octets", h[0], len);
		return -1;
	}
	if (rd(c, w, h[0] * 8) == -1)
		return -1;
	need = 8 + (size_t)h[0] * 8;
	for (uint32_t i = 0; i < h[0]; i++)
		if (XSR_PT_HAS_DATA(XSR_PAGE_TYPE(w[i])))
			need += 4096;
	if (need != len) {
		snprintf(c->err, sizeof(c->err), "PAGE_DATA: %u octets for "
		    "%zu", len, need);
		return -1;
	}
	data = c->pos;
	for (uint32_t i = 0; i < h[0]; i++) {
		uint64_t pfn = w[i] & XSR_PFN_MASK;
		unsigned t = XSR_PAGE_TYPE(w[i]);

		if (pfn >= c->npfn) {
			snprintf(c->err, sizeof(c->err), "frame %#llx beyond "
			    "the guest's %#lx", (unsigned long long)pfn,
			    c->npfn);
			return -1;
		}
		c->type[pfn] = t;
		c->off[pfn] = PV_NO_PAGE;
		if (XSR_PT_HAS_DATA(t)) {
			c->off[pfn] = data;
			data += 4096;
		}
	}
	c->pos = data;
	c->pages_seen = 1;
	return 0;
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
		if (h[0] == XSR_END) {
			c->pos += (h[1] + 7) & ~7u;
			return 0;
		}
		if (h[0] == XSR_PAGE_DATA) {
			if (page_data(c, h[1]) == -1)
				return -1;
			continue;
		}
		if (keep(c, h[0], h[1], !c->pages_seen) == -1)
			return -1;
	}
}

static void
reader(struct pv_copy *c)
{
	uint8_t lhdr[16];
	uint32_t h[2];

	if (rd(c, lhdr, sizeof(lhdr)) == -1)
		return;
	for (;;) {
		if (rd(c, h, 8) == -1 || h[0] == XLR_END)
			return;
		if (h[0] == XLR_LIBXC_CONTEXT) {
			if (read_libxc(c) == -1)
				return;
			continue;
		}
		if (h[1] > REC_MAX) {
			snprintf(c->err, sizeof(c->err), "libxl record %#x of "
			    "%u octets", h[0], h[1]);
			return;
		}
		if (keep(c, XEN_TAG_LIBXL | h[0], h[1], 0) == -1)
			return;
	}
}

struct pv_copy *
xen_pv_copy_new(unsigned long npfn)
{
	struct pv_copy *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->npfn = npfn;
	c->fd = -1;
	c->off = malloc(npfn * sizeof(*c->off));
	c->type = malloc(npfn);
	if (posix_memalign((void **)&c->buf, 4096, PV_MAP_MAX * 4096) != 0)
		c->buf = NULL;
	if (c->off == NULL || c->type == NULL || c->buf == NULL) {
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
	free(c->off);
	free(c->type);
	free(c->buf);
	for (size_t i = 0; i < c->nrec; i++)
		free(c->rec[i].body);
	free(c->rec);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

const char *
xen_pv_read(struct pv_copy *c, int fd)
{
	c->fd = fd;
	c->pos = 0;
	reader(c);
	return c->err[0] ? c->err : NULL;
}
