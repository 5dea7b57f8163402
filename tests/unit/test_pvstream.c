/*
 * test_pvstream: the reader of libxl's PV save stream (src/hv/xen/
 * pvstream.c) gives each frame its own page, whether a take lies in one
 * PAGE_DATA record or spans several, with holes and frames without data
 * between; the early and late records are kept; a stream cut anywhere is
 * an error, never a page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "xen/pv.h"
#include "xen_stream.h"

#define NPFN	64

static uint8_t	 s[1 << 20];
static size_t	 slen;

static void
put(const void *p, size_t n)
{
	memcpy(s + slen, p, n);
	slen += n;
}

static void
put32(uint32_t a, uint32_t b)
{
	uint32_t h[2] = { a, b };

	put(h, 8);
}

static unsigned	 gen;		/* added to a page's octets: its round */

/* A page whose every octet says its frame (and round). */
static void
put_page(unsigned pfn)
{
	uint8_t pg[4096];

	memset(pg, pfn + gen, sizeof(pg));
	put(pg, sizeof(pg));
}

/* A PAGE_DATA record of frames words[0..n). */
static void
page_data(const uint64_t *w, unsigned n)
{
	unsigned ndata = 0;

	for (unsigned i = 0; i < n; i++)
		ndata += XSR_PT_HAS_DATA(XSR_PAGE_TYPE(w[i]));
	put32(XSR_PAGE_DATA, 8 + n * 8 + ndata * 4096);
	put32(n, 0);
	put(w, n * 8);
	for (unsigned i = 0; i < n; i++)
		if (XSR_PT_HAS_DATA(XSR_PAGE_TYPE(w[i])))
			put_page((unsigned)(w[i] & XSR_PFN_MASK));
}

/*
 * libxl's header, one libxl record, libxc's part (headers, one record
 * before the pages, three PAGE_DATA records: frames 0-4, 5-9 with 7 of
 * no data (XTAB) and 8 a pinned L1 table, 11-20; 10 not at all), END,
 * one libxl record after it and libxl's END.
 */
static void
build(void)
{
	uint8_t zero[24] = { 0 };
	uint64_t w[16];

	slen = 0;
	put(zero, 16);				/* libxl's header */
	put32(XLR_EMULATOR_XENSTORE, 3);
	put("abc\0\0\0\0\0", 8);
	put32(XLR_LIBXC_CONTEXT, 0);
	put(zero, 24);				/* libxc's image header */
	zero[0] = XSR_DOMAIN_X86_PV;
	put(zero, 16);				/* its domain header */
	put32(XSR_SHARED_INFO, 8);
	put("sharedin", 8);
	for (unsigned i = 0; i < 5; i++)
		w[i] = i;
	page_data(w, 5);
	for (unsigned i = 0; i < 5; i++)
		w[i] = 5 + i;
	w[2] |= (uint64_t)XSR_PT_XTAB << 60;
	w[3] |= (uint64_t)(XSR_PT_L1 | XSR_PT_PINNED) << 60;
	page_data(w, 5);
	for (unsigned i = 0; i < 10; i++)
		w[i] = 11 + i;
	page_data(w, 10);
	put32(XSR_END, 0);
	put32(XLR_EMULATOR_CONTEXT, 8);
	put("late....", 8);
	put32(XLR_END, 0);
}

static struct pv_copy *
open_stream(size_t len)
{
	struct pv_copy *c;
	FILE *f = tmpfile();
	int fd;

	CHECK(f != NULL && fwrite(s, 1, len, f) == len, "tmpfile of %zu", len);
	fflush(f);
	fd = dup(fileno(f));
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	CHECK((c = xen_pv_copy_new(NPFN)) != NULL, "xen_pv_copy_new");
	(void)xen_pv_open(c, fd);
	return c;
}

/* Is ptr the page of frame pfn? */
static int
is_page(const void *ptr, unsigned pfn)
{
	const uint8_t *p = ptr;

	for (unsigned i = 0; i < 4096; i++)
		if (p[i] != (uint8_t)pfn)
			return 0;
	return 1;
}

/* Takes of n frames at a time, 0 to 20: every frame its page. */
static void
takes(unsigned n)
{
	struct pv_copy *c = open_stream(slen);
	uint64_t pfn[NPFN];
	void *ptr[NPFN];

	CHECK(c->err[0] == '\0', "open: %s", c->err);
	for (unsigned b = 0; b <= 20; b += n) {
		unsigned k = b + n > 21 ? 21 - b : n;

		for (unsigned i = 0; i < k; i++)
			pfn[i] = b + i;
		CHECK(xen_pv_take(c, pfn, k, ptr) == 0, "take %u at %u: %s", k, b,
		    c->err);
		for (unsigned i = 0; i < k; i++) {
			unsigned f = b + i;

			if (f == 7 || f == 10)
				CHECK(ptr[i] == NULL, "frame %u has a page", f);
			else
				CHECK(ptr[i] != NULL && is_page(ptr[i], f),
				    "frame %u (takes of %u): not its page", f,
				    n);
		}
		for (unsigned i = 0; i < c->ntables; i++)
			CHECK((c->tables[i] & XSR_PFN_MASK) == 8,
			    "table %#llx", (unsigned long long)c->tables[i]);
		CHECK(c->ntables == (b <= 8 && 8 < b + k),
		    "%u tables at %u", c->ntables, b);
	}
	CHECK(xen_pv_finish(c) == NULL, "finish: %s", c->err);
	CHECK(c->nrec == 3, "%zu records kept", c->nrec);
	CHECK(c->rec[0].early == 0 && c->rec[1].early == 1 &&
	    c->rec[2].early == 0, "early and late records");
	CHECK(memcmp(c->rec[1].body, "sharedin", 8) == 0, "SHARED_INFO");
	xen_pv_copy_free(c);
}

/* Cut at every 8-octet step: an error from open, a take or finish. */
static void
cut(void)
{
	for (size_t len = 0; len < slen; len += 8) {
		struct pv_copy *c = open_stream(len);
		uint64_t pfn[21];
		void *ptr[21];
		int failed = c->err[0] != '\0';

		for (unsigned i = 0; i < 21; i++)
			pfn[i] = i;
		if (!failed)
			failed = xen_pv_take(c, pfn, 21, ptr) == -1;
		if (!failed)
			failed = xen_pv_finish(c) != NULL;
		CHECK(failed, "cut at %zu of %zu: read as whole", len, slen);
		xen_pv_copy_free(c);
	}
}

/*
 * A live save's stream: round 0 every frame 0-20 (as build()), round 1
 * frames 3 and 8, then rounds[] as given (each a record of its frames,
 * the first of them after the suspend), END and libxl's part.  A page of
 * round r has octets pfn + 64 r.
 */
static void
build_live(const unsigned *more, unsigned nmore)
{
	uint64_t w[16];
	size_t end;

	gen = 0;
	build();
	/* Cut build()'s stream at libxc's END: rounds go there. */
	end = slen - 8 - 8 - 8 - 8;
	slen = end;
	gen = 64;
	w[0] = 3;
	w[1] = 8 | (uint64_t)(XSR_PT_L1 | XSR_PT_PINNED) << 60;
	page_data(w, 2);
	gen = 128;
	for (unsigned i = 0; i < nmore; i++)
		w[i] = more[i];
	if (nmore)
		page_data(w, nmore);
	gen = 0;
	put32(XSR_END, 0);
	put32(XLR_EMULATOR_CONTEXT, 8);
	put("late....", 8);
	put32(XLR_END, 0);
}

/* Take a round whole: its frames into f (at most 32), their pages
 * checked against the round's octets; how many. */
static unsigned
take_round(struct pv_copy *c, unsigned max, uint64_t *f, unsigned r)
{
	uint64_t pfn[32];
	void *ptr[32];
	unsigned n, got = 0;

	for (;;) {
		CHECK(xen_pv_take_next(c, pfn, max, &n, ptr) == 0,
		    "take_next: %s", c->err);
		if (n == 0 || c->err[0])
			return got;
		CHECK(n <= max, "%u frames for %u", n, max);
		for (unsigned i = 0; i < n && got < 32; i++) {
			unsigned g = r == 0 ? 0 : r == 1 ? 64 : 128;

			CHECK(is_page(ptr[i], (unsigned)pfn[i] + g),
			    "frame %llu of round %u: not its page",
			    (unsigned long long)pfn[i], r);
			f[got++] = pfn[i];
		}
	}
}

/* Rounds found by their frames going down again; after the suspend, the
 * rest is one round whatever its order. */
static void
live(unsigned max)
{
	static const unsigned last[] = { 2, 15 }, later[] = { 12, 13 };
	uint64_t f[32];
	struct pv_copy *c;
	unsigned n;

	build_live(last, 2);
	c = open_stream(slen);
	CHECK(xen_pv_round_begin(c, 0) == 1, "round 0 begins");
	n = take_round(c, max, f, 0);
	/* 7 has no data, 10 is not in the stream. */
	CHECK(n == 19, "round 0 (takes of %u): %u frames", max, n);
	CHECK(xen_pv_round_begin(c, 0) == 1, "round 1 begins");
	n = take_round(c, max, f, 1);
	CHECK(n == 2 && f[0] == 3 && f[1] == 8, "round 1: %u frames", n);
	CHECK(xen_pv_round_begin(c, 1) == 1, "the last round begins");
	n = take_round(c, max, f, 2);
	CHECK(n == 2 && f[0] == 2 && f[1] == 15, "last round: %u frames", n);
	CHECK(xen_pv_round_begin(c, 1) == 0, "no pages after the last round");
	CHECK(xen_pv_finish(c) == NULL, "finish: %s", c->err);
	xen_pv_copy_free(c);

	/* A round that goes on upwards is taken with the one before (libxc
	 * wrote it ahead); the suspend's round then has nothing. */
	build_live(later, 2);
	c = open_stream(slen);
	(void)xen_pv_round_begin(c, 0);
	CHECK(take_round(c, max, f, 0) == 19, "round 0");
	(void)xen_pv_round_begin(c, 0);
	gen = 0;
	n = 0;
	{
		uint64_t pfn[32];
		void *ptr[32];
		unsigned k;

		do {
			CHECK(xen_pv_take_next(c, pfn, max, &k, ptr) == 0,
			    "take_next: %s", c->err);
			for (unsigned i = 0; i < k; i++)
				f[n++] = pfn[i];
		} while (k > 0);
	}
	CHECK(n == 4 && f[2] == 12 && f[3] == 13, "merged round: %u", n);
	CHECK(xen_pv_round_begin(c, 1) == 0, "nothing after it");
	CHECK(xen_pv_finish(c) == NULL, "finish: %s", c->err);
	xen_pv_copy_free(c);
}

/* Frames going down inside one record: refused. */
static void
live_bad(void)
{
	static const unsigned down[] = { 9, 4 };
	uint64_t pfn[32], f[32];
	void *ptr[32];
	struct pv_copy *c;
	unsigned n;
	int r = 0;

	build_live(down, 2);
	c = open_stream(slen);
	(void)xen_pv_round_begin(c, 0);
	CHECK(take_round(c, 32, f, 0) == 19, "round 0");
	(void)xen_pv_round_begin(c, 0);
	do
		r = xen_pv_take_next(c, pfn, 32, &n, ptr);
	while (r == 0 && n > 0);
	CHECK(r == -1 && strstr(c->err, "in one record") != NULL,
	    "frames going down in a record: %d %s", r, c->err);
	xen_pv_copy_free(c);
}

int
main(void)
{
	build();
	for (unsigned n = 1; n <= 21; n++)
		takes(n);
	cut();
	/* Asked out of order: refused. */
	{
		struct pv_copy *c = open_stream(slen);
		uint64_t pfn[2] = { 0, 0 };
		void *ptr[2];

		CHECK(xen_pv_take(c, pfn, 1, ptr) == 0, "take 0");
		CHECK(xen_pv_take(c, pfn + 1, 1, ptr) == -1, "0 again");
		CHECK(strstr(c->err, "in order") != NULL, "%s", c->err);
		xen_pv_copy_free(c);
	}
	for (unsigned m = 1; m <= 21; m += 4)
		live(m);
	live_bad();
	printf("test_pvstream: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
