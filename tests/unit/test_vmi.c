/*
 * test_vmi.c: unit tests of the image codec.  Every damaged image must be
 * refused with a message, never taken for a whole one, never crash.
 */
#include <err.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <zstd.h>

#include "hash.h"
#include "io.h"
#include "vmi.h"
#include "vmi_sample.h"
#include "pipe_with.h"
#include "vmi_craft.h"
#include "check.h"

struct buf {
	uint8_t	*p;
	size_t	 len;
};

static int
memfd_with(const void *p, size_t len)
{
	int fd = memfd_create("img", MFD_CLOEXEC);

	if (fd == -1 || write(fd, p, len) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) != 0)
		err(1, "memfd");
	return fd;
}

static struct buf
make(int zlevel, int threads, int live)
{
	struct vmi_writer_opts o = { .flags = live ? VMI_HF_LIVE : 0,
	    .zlevel = zlevel, .threads = threads };
	int fd = memfd_create("img", MFD_CLOEXEC);
	struct vmi_writer *w = vmi_writer_new(fd, &o);
	struct buf b;

	if (w == NULL || sample_write(w, live) == -1)
		errx(1, "sample_write: %s", w ? vmi_writer_error(w) : "new");
	vmi_writer_free(w);
	b.len = lseek(fd, 0, SEEK_CUR);
	b.p = malloc(b.len);
	if (pread(fd, b.p, b.len, 0) != (ssize_t)b.len)
		err(1, "pread");
	close(fd);
	return b;
}

/*
 * Read an image fully, rebuilding guest memory.  Returns 0 when whole
 * and memory is as written, -1 with a message otherwise.
 */
static int
readback(const void *p, size_t len, int live, int readahead, char *msg,
    size_t msglen)
{
	static uint8_t mem[SAMPLE_PAGES][4096], want[4096];
	struct vmi_reader *r;
	struct vmi_record rec;
	/* 0: a mapped file; 1: a pipe with read-ahead; 2: a pipe, plain. */
	int fd = readahead ? pipe_with(p, len) : memfd_with(p, len), n, rc = -1;
	unsigned vcpus = 0, platform = 0, optional = 0;

	memset(mem, 0xee, sizeof(mem));
	snprintf(msg, msglen, "no error");
	if ((r = vmi_reader_new(fd, readahead == 1, msg, msglen)) == NULL)
		goto out;
	while ((n = vmi_next(r, &rec)) == 1) {
		struct vmi_pages_view v;
		const uint8_t *d;

		switch (rec.type) {
		case VMI_REC_PAGES:
			vmi_pages_view(&rec, &v);
			d = v.data;
			for (uint32_t i = 0; i < v.count; i++) {
				uint64_t pfn = v.pfn[i] & VMI_PFN_MASK;

				if (v.pfn[i] & VMI_PFN_ZERO)
					memset(mem[pfn], 0, 4096);
				else {
					memcpy(mem[pfn], d, 4096);
					d += 4096;
				}
			}
			break;
		case VMI_REC_VCPU:
			vcpus++;
			break;
		case VMI_REC_PLATFORM:
			platform++;
			break;
		default:
			if (rec.type & VMI_REC_OPTIONAL)
				optional++;
		}
	}
	if (n == -1) {
		snprintf(msg, msglen, "%s", vmi_reader_error(r));
		goto out;
	}
	for (uint64_t pfn = 0; pfn < SAMPLE_PAGES; pfn++) {
		if (pfn % 4 == 0)
			memset(want, 0, sizeof(want));
		else
			sample_page(want, pfn, live && pfn % 2 && pfn >= 3 &&
			    pfn <= 7 ? 2 : 1);
		if (memcmp(want, mem[pfn], 4096) != 0) {
			snprintf(msg, msglen, "frame %llu differs",
			    (unsigned long long)pfn);
			goto out;
		}
	}
	if (vcpus != 2 || platform != 1 || optional < 1) {
		snprintf(msg, msglen, "state records: %u %u %u", vcpus,
		    platform, optional);
		goto out;
	}
	rc = 0;
out:
	vmi_reader_free(r);
	close(fd);
	return rc;
}

static void
test_roundtrip(void)
{
	char msg[VMI_ERRLEN];

	for (int z = 0; z <= 3; z += 3)
		for (int t = 1; t <= 3; t += 2)
			for (int live = 0; live < 2; live++) {
				struct buf b = make(z, t, live);

				for (int ra = 0; ra < 3; ra++)
					CHECK(readback(b.p, b.len, live, ra, msg,
					    sizeof(msg)) == 0,
					    "round trip z=%d t=%d live=%d "
					    "ra=%d: %s", z, t, live, ra, msg);
				free(b.p);
			}
}

/* The same image whatever the number of compression threads. */
static void
test_deterministic(void)
{
	struct buf a = make(3, 1, 1), b = make(3, 4, 1), c = make(0, 0, 1);

	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "zstd output depends on thread count");
	CHECK(c.len > a.len, "zstd did not make the image smaller (%zu, %zu)",
	    c.len, a.len);
	free(a.p);
	free(b.p);
	free(c.p);
}

/* Is octet off inside the page data of an uncompressed PAGES record? */
static int
in_page_data(const struct buf *b, size_t off)
{
	size_t at = 24;

	while (at + 32 <= b->len) {
		struct vmi_record_header h;
		struct vmi_pages ph;

		memcpy(&h, b->p + at, sizeof(h));
		if (h.type == VMI_REC_PAGES && (h.flags & VMI_RF_ZSTD) &&
		    off >= at + 32 && off < at + 32 + h.length)
			return 1;
		if (h.type == VMI_REC_PAGES && !(h.flags & VMI_RF_ZSTD)) {
			memcpy(&ph, b->p + at + 32, sizeof(ph));
			if (off >= at + 32 + 8 + ph.count * 8ull &&
			    off < at + 32 + h.length)
				return 1;
		}
		at += 32 + ((h.length + 7) & ~7ull);
	}
	return 0;
}

static void
test_bitflips(int zlevel)
{
	struct buf b = make(zlevel, 1, 1);
	char msg[VMI_ERRLEN];
	size_t undetected = 0;

	size_t tried = 0;

	/*
	 * Every bit outside page data, where a flip changes a field, and
	 * every bit of one octet in 499 of the page data: some eight
	 * octets of each page, which one hash covers as it covers all of
	 * them (one in 61 made nine tenths of the tries page data, and
	 * this test minutes long under ASan).
	 */
	for (size_t bit = 0; bit < b.len * 8; bit++) {
		if (in_page_data(&b, bit / 8) && bit / 8 % 499)
			continue;
		tried++;
		b.p[bit / 8] ^= 1u << bit % 8;
		if (readback(b.p, b.len, 1, bit % 3, msg, sizeof(msg)) == 0)
			undetected++;
		else if (msg[0] == '\0' || strcmp(msg, "no error") == 0)
			CHECK(0, "bit %zu: refused without a message", bit);
		b.p[bit / 8] ^= 1u << bit % 8;
	}
	CHECK(undetected == 0, "z=%d: %zu of %zu flipped bits undetected",
	    zlevel, undetected, tried);
	if (getenv("VERBOSE"))
		printf("bitflips z=%d: %zu bits tried\n", zlevel, tried);
	free(b.p);
}

/* Is off within d octets of the start or end of a record? */
static int
near_boundary(const struct buf *b, size_t off, size_t d)
{
	size_t at = 24;

	if (off < 24 + d)
		return 1;
	while (at + 32 <= b->len) {
		struct vmi_record_header h;

		memcpy(&h, b->p + at, sizeof(h));
		at += 32 + ((h.length + 7) & ~7ull);
		if (off + d >= at && off <= at + d)
			return 1;
	}
	return 0;
}

static void
test_truncation(void)
{
	struct buf b = make(0, 1, 1);
	char msg[VMI_ERRLEN];
	size_t taken = 0;

	size_t tried = 0;

	/* Every cut near a record boundary, and one in 97 elsewhere. */
	for (size_t len = 0; len < b.len; len++) {
		if (!near_boundary(&b, len, 40) && len % 97)
			continue;
		tried++;
		if (readback(b.p, len, 1, len % 3, msg, sizeof(msg)) == 0)
			taken++;
	}
	CHECK(taken == 0, "%zu of %zu truncated images taken for whole", taken,
	    tried);
	readback(b.p, b.len - 48, 1, 0, msg, sizeof(msg));
	CHECK(strstr(msg, "without an END record") != NULL, "cut at END: %s",
	    msg);
	readback(b.p, 30, 1, 0, msg, sizeof(msg));
	CHECK(strstr(msg, "stream ends after 6 of 32 header octets") != NULL,
	    "cut in a header: %s", msg);
	readback(b.p, 24 + 32 + 50, 1, 0, msg, sizeof(msg));
	CHECK(strstr(msg, "stream ends after 50 of 128 body octets") != NULL,
	    "cut in a body: %s", msg);
	readback(b.p, 10, 1, 0, msg, sizeof(msg));
	CHECK(strstr(msg, "truncated file header") != NULL, "cut header: %s",
	    msg);
	free(b.p);
}

/* Build an image with an extra record of the given type after CONFIG. */
static struct buf
with_extra(uint32_t type, uint32_t len)
{
	int fd = memfd_create("img", MFD_CLOEXEC);
	struct vmi_writer *w = vmi_writer_new(fd, NULL);
	struct vmi_guest g;
	static uint8_t page[4096], junk[64];
	struct buf b;

	sample_guest(&g);
	vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g));
	vmi_write_buf(w, VMI_REC_CONFIG, "{}", 2);
	vmi_write_buf(w, type, junk, len);
	memset(page, 7, sizeof(page));
	vmi_write_page(w, 1, page, 1);
	if (vmi_write_end(w) == -1)
		errx(1, "with_extra: %s", vmi_writer_error(w));
	vmi_writer_free(w);
	b.len = lseek(fd, 0, SEEK_CUR);
	b.p = malloc(b.len);
	if (pread(fd, b.p, b.len, 0) != (ssize_t)b.len)
		err(1, "pread");
	close(fd);
	return b;
}

static int
read_all(const struct buf *b, char *msg, size_t msglen, int *skipped)
{
	int fd = memfd_with(b->p, b->len), n;
	struct vmi_reader *r = vmi_reader_new(fd, 0, msg, msglen);
	struct vmi_record rec;

	*skipped = 0;
	if (r == NULL)
		return close(fd), -1;
	while ((n = vmi_next(r, &rec)) == 1)
		if (strncmp(vmi_type_name(rec.type), "unknown", 7) == 0)
			(*skipped)++;
	if (n == -1)
		snprintf(msg, msglen, "%s", vmi_reader_error(r));
	vmi_reader_free(r);
	close(fd);
	return n;
}

static void
test_unknown(void)
{
	char msg[VMI_ERRLEN];
	int skipped;
	struct buf b = with_extra(0x42, 16);

	CHECK(read_all(&b, msg, sizeof(msg), &skipped) == -1 &&
	    strstr(msg, "unknown mandatory record type 0x42") != NULL,
	    "unknown mandatory: %s", msg);
	free(b.p);
	b = with_extra(0x42 | VMI_REC_OPTIONAL, 16);
	CHECK(read_all(&b, msg, sizeof(msg), &skipped) == 0 && skipped == 1,
	    "unknown optional: %s (skipped %d)", msg, skipped);
	free(b.p);
	/* A PAGES record before GUEST is out of order. */
	b = with_extra(VMI_REC_VCPU, 4);
	CHECK(read_all(&b, msg, sizeof(msg), &skipped) == -1 &&
	    strstr(msg, "expected at least 8 octets, found 4"), "short VCPU: "
	    "%s", msg);
	free(b.p);
}

static void
test_oversize(void)
{
	struct buf b = make(0, 1, 0);
	struct vmi_record_header h;
	char msg[VMI_ERRLEN];
	int skipped;

	/* The first record's length, set beyond the limit. */
	memcpy(&h, b.p + 24, sizeof(h));
	h.length = VMI_MAX_BODY + 8;
	memcpy(b.p + 24, &h, sizeof(h));
	CHECK(read_all(&b, msg, sizeof(msg), &skipped) == -1 &&
	    strstr(msg, "length: expected at most 8388608, found 8388616"),
	    "oversize: %s", msg);
	free(b.p);
}

/* Records moved or taken from another stream are caught. */
static void
test_reorder_splice(void)
{
	struct buf a = make(0, 1, 0), c = make(0, 1, 0);
	char msg[VMI_ERRLEN];
	int skipped;
	size_t off = 24, rec[64];
	int n = 0;

	while (off < a.len && n < 64) {
		struct vmi_record_header h;

		memcpy(&h, a.p + off, sizeof(h));
		rec[n++] = off;
		off += sizeof(h) + ((h.length + 7) & ~7u);
	}
	/* Swap records 1 and 2 (CONFIG and NOTE): same sizes? no: move. */
	{
		size_t l1 = rec[2] - rec[1], l2 = rec[3] - rec[2];
		uint8_t *t = malloc(l1 + l2);

		memcpy(t, a.p + rec[2], l2);
		memcpy(t + l2, a.p + rec[1], l1);
		memcpy(c.p + rec[1], t, l1 + l2);
		free(t);
		CHECK(read_all(&c, msg, sizeof(msg), &skipped) == -1 &&
		    strstr(msg, "sequence: expected 1, found 2"),
		    "reorder: %s", msg);
	}
	free(c.p);
	/* Splice: the same layout, but a record from another guest. */
	{
		struct buf d = make(0, 1, 0);
		struct vmi_guest g;
		struct vmi_writer *w;
		int fd = memfd_create("img", MFD_CLOEXEC);

		w = vmi_writer_new(fd, NULL);
		sample_guest(&g);
		g.name[0] = 'S';
		vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g));
		vmi_writer_sync(w);
		if (pread(fd, d.p + rec[0], rec[1] - rec[0], 24) !=
		    (ssize_t)(rec[1] - rec[0]))
			err(1, "pread");
		vmi_writer_free(w);
		close(fd);
		CHECK(read_all(&d, msg, sizeof(msg), &skipped) == -1 &&
		    strstr(msg, "stream digest"), "splice: %s", msg);
		free(d.p);
	}
	free(a.p);
}

/* A header of a later version, whole: refused as newer, not damaged. */
static void
test_newer(void)
{
	struct vmi_file_header fh;
	char msg[VMI_ERRLEN];
	struct vmi_reader *r;
	int fd;

	memset(&fh, 0, sizeof(fh));
	memcpy(fh.magic, VMI_MAGIC, 8);
	fh.version = 2;
	fh.check = (uint32_t)hash64(&fh, 20);
	fd = memfd_with(&fh, sizeof(fh));
	r = vmi_reader_new(fd, 0, msg, sizeof(msg));
	CHECK(r == NULL && strstr(msg, "expected version 1, found 2 (written "
	    "by a newer vmpipe)"), "newer: %s", r ? "accepted" : msg);
	vmi_reader_free(r);
	close(fd);
}

static void
test_foreign(void)
{
	static const struct {
		const char *data;
		size_t len;
		const char *want;
	} cases[] = {
		{ "Xen saved domain, xl format\n \0 \r\0\0\0\0", 36,
		    "found an xl save file" },
		{ "\x28\xb5\x2f\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
		    24, "zstd-compressed" },
		{ "", 0, "found an empty stream" },
		{ "hello world, this is not an image", 33, "found unknown data" },
		{ "\x89VMPIPE\n\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24,
		    "expected version 1, found 2 (damaged: the header's "
		    "checksum does not match either)" },
	};
	char msg[VMI_ERRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = memfd_with(cases[i].data, cases[i].len);
		struct vmi_reader *r = vmi_reader_new(fd, 0, msg, sizeof(msg));

		CHECK(r == NULL && strstr(msg, cases[i].want), "foreign %zu: "
		    "%s", i, r ? "accepted" : msg);
		vmi_reader_free(r);
		close(fd);
	}
}

struct slow_reader {
	int		fd;
	int		rc;
	char		msg[VMI_ERRLEN];
	uint8_t		*mem;
};

/* Reads the image slowly, checking every page against the pattern. */
static void *
slow_reader_main(void *arg)
{
	struct slow_reader *a = arg;
	struct vmi_reader *r = vmi_reader_new(a->fd, 0, a->msg, sizeof(a->msg));
	struct vmi_record rec;
	int n;

	a->rc = -1;
	if (r == NULL) {
		close(a->fd);
		return NULL;
	}
	while ((n = vmi_next(r, &rec)) == 1) {
		struct vmi_pages_view v;
		const uint8_t *d;

		usleep(2000);
		if (rec.type != VMI_REC_PAGES)
			continue;
		vmi_pages_view(&rec, &v);
		d = v.data;
		for (uint32_t i = 0; i < v.count; i++, d += 4096) {
			uint8_t want[4096];

			sample_page(want, v.pfn[i], 1);
			if (memcmp(d, want, 4096) != 0) {
				snprintf(a->msg, sizeof(a->msg), "frame %llu "
				    "changed in the pipe",
				    (unsigned long long)v.pfn[i]);
				goto out;
			}
		}
	}
	a->rc = n == 0 ? 0 : -1;
	if (n == -1)
		snprintf(a->msg, sizeof(a->msg), "%s", vmi_reader_error(r));
out:
	vmi_reader_free(r);
	/* A reader that gives up must not leave the writer blocked. */
	close(a->fd);
	return NULL;
}

/*
 * Where vmsplice(2) passes pages by reference (Linux before 6.5), they
 * stay referred to by the pipe until read: the writer must not return
 * from END before the reader has them, so that a guest can be resumed
 * (its pages changed) the moment vmi_write_end() returns.  Newer kernels
 * copy in vmsplice, and there this checks only that the data arrive.
 */
static void
test_splice(void)
{
	enum { N = 3000 };
	struct vmi_writer_opts o = { .splice = 1 };
	struct slow_reader a = { .rc = -1 };
	struct vmi_guest g;
	struct vmi_writer *w;
	pthread_t t;
	uint8_t *mem = aligned_alloc(4096, (size_t)N * 4096);
	int p[2], rc = 0;

	if (mem == NULL || pipe(p) == -1)
		err(1, "test_splice");
	for (uint64_t f = 0; f < N; f++)
		sample_page(mem + f * 4096, f, 1);
	a.fd = p[0];
	pthread_create(&t, NULL, slow_reader_main, &a);
	w = vmi_writer_new(p[1], &o);
	sample_guest(&g);
	g.mem_bytes = (uint64_t)N * 4096;
	rc |= vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g));
	rc |= vmi_write_buf(w, VMI_REC_CONFIG, "{}", 2);
	for (uint64_t f = 0; f < N && rc == 0; f++)
		rc |= vmi_write_page(w, f, mem + f * 4096, 1);
	rc |= vmi_write_end(w);
	/* The guest runs again: every page changes at once. */
	memset(mem, 0x5a, (size_t)N * 4096);
	vmi_writer_free(w);
	close(p[1]);
	pthread_join(t, NULL);
	CHECK(rc == 0 && a.rc == 0, "splice: writer %d, reader: %s", rc,
	    a.msg);
	free(mem);
}

/* The writer reports a reader that went away, and does not hang. */
static void
test_epipe(void)
{
	int p[2];
	struct vmi_writer *w;
	static uint8_t page[4096];
	int rc = 0;

	if (pipe(p) == -1)
		err(1, "pipe");
	close(p[0]);
	w = vmi_writer_new(p[1], NULL);
	CHECK(w == NULL, "writer started on a broken pipe");
	vmi_writer_free(w);
	close(p[1]);

	if (pipe(p) == -1)
		err(1, "pipe");
	w = vmi_writer_new(p[1], NULL);
	close(p[0]);
	memset(page, 1, sizeof(page));
	for (int i = 0; i < 100000 && rc == 0; i++)
		rc = vmi_write_page(w, i % 64, page, 1);
	if (rc == 0)
		rc = vmi_write_end(w);
	CHECK(rc == -1 && strstr(vmi_writer_error(w), "Broken pipe"),
	    "write to a closed pipe: rc %d, %s", rc, vmi_writer_error(w));
	vmi_writer_free(w);
	close(p[1]);
}

/* A script image (vmi_craft.h) of the sample guest named name. */
static struct buf
script(uint32_t flags, const char *s, const char *name, uint32_t backend,
    uint32_t xsave)
{
	struct vmi_guest g;
	struct img m;

	sample_guest(&g);
	memset(g.name, 0, sizeof(g.name));
	memcpy(g.name, name, strnlen(name, sizeof(g.name)));
	if ((g.backend = backend) == VMI_BACKEND_XEN)
		g.guest_type = VMI_GT_XEN_PV;
	craft_script(&m, flags, s, &g, "{}", 2, xsave);
	return (struct buf){ m.p, m.len };
}

/* Read b whole; 0 if whole, else -1 and msg. */
static int
verdict(struct buf b, char *msg, size_t msglen)
{
	int skipped, n = read_all(&b, msg, msglen, &skipped);

	free(b.p);
	return n;
}

#define WHOLE(b, what) do {						\
	char m_[VMI_ERRLEN];						\
	CHECK(verdict(b, m_, sizeof(m_)) == 0, "%s: refused: %s", what,	\
	    m_);							\
} while (0)

#define REFUSED(b, want, what) do {					\
	char m_[VMI_ERRLEN] = "";					\
	CHECK(verdict(b, m_, sizeof(m_)) == -1 && strstr(m_, want),	\
	    "%s: expected \"%s\", got \"%s\"", what, want, m_);		\
} while (0)

#define KVM	VMI_BACKEND_KVM

static void
test_order(void)
{
	/* Offline: no ROUND, each frame once; state may precede pages. */
	WHOLE(script(0, "GCN12SE", "a", KVM, 0), "offline image");
	WHOLE(script(0, "GCS12E", "a", KVM, 0), "state before pages");
	REFUSED(script(0, "GC1R2E", "a", KVM, 0), "record 3 (ROUND): "
	    "expected no ROUND record in an image without the LIVE file "
	    "flag, found one", "offline ROUND");
	REFUSED(script(0, "GC121E", "a", KVM, 0), "record 4 (PAGES): frame "
	    "word 0: expected each frame at most once in an image without the "
	    "LIVE file flag, found frame 0x1 again", "offline frame twice");
	/* Live: as vm-precopy writes it. */
	WHOLE(script(VMI_HF_LIVE, "GCN12R1SLE", "a", KVM, 0), "live stream");
	WHOLE(script(VMI_HF_LIVE, "GC12R1SLNE", "a", KVM, 0),
	    "a NOTE after the last ROUND");
	REFUSED(script(VMI_HF_LIVE, "GC12R1LSE", "a", KVM, 0), "record 7 "
	    "(VCPU): expected END after the ROUND record with the LAST flag "
	    "(record 6), found VCPU", "state after the last ROUND");
	REFUSED(script(VMI_HF_LIVE, "GC12RSL1E", "a", KVM, 0), "record 7 "
	    "(PAGES): expected END after the ROUND record with the LAST flag "
	    "(record 6), found PAGES", "PAGES after the last ROUND");
	REFUSED(script(VMI_HF_LIVE, "GC12RSLRE", "a", KVM, 0), "record 7 "
	    "(ROUND): expected END after the ROUND record with the LAST flag "
	    "(record 6), found ROUND", "ROUND after the last ROUND");
	REFUSED(script(VMI_HF_LIVE, "GC12SE", "a", KVM, 0), "record 5 (END): "
	    "expected a ROUND record with the LAST flag before END in a live "
	    "stream, found no ROUND record", "live without ROUND");
	REFUSED(script(VMI_HF_LIVE, "GC12RSE", "a", KVM, 0), "record 6 "
	    "(END): expected a ROUND record with the LAST flag before END in "
	    "a live stream, found none with it", "live without LAST");
	/* CONFIG: exactly once, before memory and state. */
	REFUSED(script(0, "G1CE", "a", KVM, 0), "record 1 (PAGES): expected "
	    "the CONFIG record first", "PAGES before CONFIG");
	REFUSED(script(0, "GSCE", "a", KVM, 0), "record 1 (VCPU): expected "
	    "the CONFIG record first", "VCPU before CONFIG");
	REFUSED(script(VMI_HF_LIVE, "GRCE", "a", KVM, 0), "record 1 (ROUND): "
	    "expected the CONFIG record first", "ROUND before CONFIG");
	REFUSED(script(0, "GNE", "a", KVM, 0), "record 2 (END): no CONFIG "
	    "record in the image", "no CONFIG");
	REFUSED(script(0, "GCCE", "a", KVM, 0), "record 2 (CONFIG): a second "
	    "CONFIG record", "two CONFIG");
}

static void
test_end_zstd(void)
{
	struct img m;
	struct vmi_guest g;

	img_start(&m, 0);
	sample_guest(&g);
	img_rec(&m, VMI_REC_GUEST, &g, sizeof(g));
	img_rec(&m, VMI_REC_CONFIG, "{}", 2);
	img_end(&m, VMI_RF_ZSTD);
	REFUSED(((struct buf){ m.p, m.len }), "record 2 (END): flags: "
	    "expected 0 (END is never compressed), found 0x1", "END zstd");
}

static void
test_names(void)
{
	/* The reader applies the one name rule of names.h; its own part
	 * is the field: a NUL within it. */
	static const struct { const char *name; size_t len; const char *why; }
	    t[] = {
		{ "web-01", 7, NULL },
		{ "a.b_c+d", 8, NULL },
		{ "caf\xc3\xa9", 6, "found '\\xc3' at octet 4" },
		{ "", 1, "expected 1 to 63 octets, found none" },
		{ "a/b", 4, "found '/' at octet 2" },
		{ "a@b", 4, "found '@' at octet 2" },
		{ "\x1b[2J", 5, "expected a letter or digit first, found "
		    "'\\x1b'" },
		{ "a\x7f", 3, "found '\\x7f' at octet 2" },
		{ "..", 3, "expected a letter or digit first, found '.'" },
		{ "abc", 3, "a name with no NUL within its 3 octets" },
	};
	char why[200];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int ok = vmi_name_ok(t[i].name, t[i].len, why, sizeof(why));

		CHECK(ok == (t[i].why == NULL), "name %zu: ok %d", i, ok);
		CHECK(t[i].why == NULL || strstr(why, t[i].why) != NULL,
		    "name %zu: expected \"%s\", got \"%s\"", i, t[i].why, why);
	}
	CHECK(!vmi_name_ok("", 1, NULL, 0), "why may be NULL");
	/* Through the reader: the GUEST record is refused. */
	WHOLE(script(0, "GCE", "web-01", KVM, 0), "a good name");
	REFUSED(script(0, "GCE", "", KVM, 0), "record 0 (GUEST): bad guest "
	    "name \"\": expected 1 to 63 octets, found none", "empty name");
	REFUSED(script(0, "GCE", "../x", KVM, 0), "record 0 (GUEST): bad "
	    "guest name \"../x\": expected a letter or digit first, found "
	    "'.'", "name ../x");
	REFUSED(script(0, "GCE", "a/x", KVM, 0), "found '/' at octet 2",
	    "name with /");
	REFUSED(script(0, "GCE", "\x1b]0;x\x07", KVM, 0), "bad guest name "
	    "\"\\x1b]0;x\\x07\"", "name with ESC, escaped");
	REFUSED(script(0, "GCE", "a\xff", KVM, 0), "found '\\xff' at octet 2",
	    "name not ASCII");
	{
		char full[VMI_NAME_MAX];

		memset(full, 'x', sizeof(full));
		REFUSED(script(0, "GCE", full, KVM, 0), "a name with no NUL "
		    "within its 64 octets", "name without NUL");
	}
}

/* The sizes of vm-image(5) are those of the kernel's structures. */
_Static_assert(VMI_KVM_XSAVE_LEN == sizeof(struct kvm_xsave), "xsave");
_Static_assert(VMI_KVM_REGS_LEN == sizeof(struct kvm_regs), "regs");
_Static_assert(VMI_KVM_FPU_LEN == sizeof(struct kvm_fpu), "fpu");
_Static_assert(VMI_KVM_XCRS_LEN == sizeof(struct kvm_xcrs), "xcrs");
_Static_assert(VMI_KVM_SREGS_LEN == sizeof(struct kvm_sregs), "sregs");
_Static_assert(VMI_KVM_MP_STATE_LEN == sizeof(struct kvm_mp_state), "mp");
_Static_assert(VMI_KVM_LAPIC_LEN == sizeof(struct kvm_lapic_state), "lapic");
_Static_assert(VMI_KVM_EVENTS_LEN == sizeof(struct kvm_vcpu_events), "ev");
_Static_assert(VMI_KVM_DEBUGREGS_LEN == sizeof(struct kvm_debugregs), "dr");
_Static_assert(VMI_KVM_IRQCHIP_LEN == sizeof(struct kvm_irqchip), "chip");
_Static_assert(VMI_KVM_PIT2_LEN == sizeof(struct kvm_pit_state2), "pit");
_Static_assert(VMI_KVM_CLOCK_LEN == sizeof(struct kvm_clock_data), "clock");

static void
test_state_sizes(void)
{
	WHOLE(script(0, "GCXE", "a", KVM, 4096), "XSAVE of 4096");
	REFUSED(script(0, "GCXE", "a", KVM, 4088), "record 2 (VCPU): state "
	    "of tag 0x5: expected 4096 octets, found 4088", "XSAVE of 4088");
	REFUSED(script(0, "GCXE", "a", KVM, 4104), "expected 4096 octets, "
	    "found 4104", "XSAVE of 4104");
	/* Xen's tags are Xen's: not KVM's sizes. */
	WHOLE(script(0, "GCXE", "a", VMI_BACKEND_XEN, 4088), "Xen tag 5");
}

/* An image whose CONFIG body is the stored octets z (raw: "{}...") . */
static struct buf
with_zconfig(const void *z, size_t zlen, uint32_t raw)
{
	struct img m;
	struct vmi_guest g;

	img_start(&m, 0);
	sample_guest(&g);
	img_rec(&m, VMI_REC_GUEST, &g, sizeof(g));
	img_raw(&m, VMI_REC_CONFIG, VMI_RF_ZSTD, z, zlen, raw);
	img_end(&m, 0);
	return (struct buf){ m.p, m.len };
}

static void
test_zframes(void)
{
	static char raw[1024];
	uint8_t z[4096], z2[4096];
	size_t n, n2;
	ZSTD_CCtx *c = ZSTD_createCCtx();

	memset(raw, 'a', sizeof(raw));
	n = ZSTD_compress2(c, z, sizeof(z), raw, sizeof(raw));
	CHECK(!ZSTD_isError(n), "compress");
	WHOLE(with_zconfig(z, n, sizeof(raw)), "one frame");
	/* Two frames of half each: the same content, two frames. */
	n = ZSTD_compress2(c, z, sizeof(z), raw, sizeof(raw) / 2);
	memcpy(z + n, z, n);
	REFUSED(with_zconfig(z, 2 * n, sizeof(raw)), "record 1 (CONFIG): "
	    "zstd frame content size: expected 1024 (the raw length), found "
	    "512", "two frames");
	n = ZSTD_compress2(c, z, sizeof(z), raw, sizeof(raw));
	n2 = ZSTD_compress2(c, z2, sizeof(z2), raw, 0);
	memcpy(z + n, z2, n2);
	REFUSED(with_zconfig(z, n + n2, sizeof(raw)), "expected one zstd "
	    "frame of", "a frame and an empty one");
	/* A skippable frame first. */
	{
		uint8_t sk[4096];
		uint32_t h[2] = { ZSTD_MAGIC_SKIPPABLE_START + 3, 4 };

		memcpy(sk, h, 8);
		memset(sk + 8, 0, 4);
		memcpy(sk + 12, z, n);
		REFUSED(with_zconfig(sk, 12 + n, sizeof(raw)), "record 1 "
		    "(CONFIG): expected one zstd frame, found a skippable "
		    "frame", "skippable frame");
	}
	/* No content size in the frame header. */
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
	{
		ZSTD_outBuffer out = { z, sizeof(z), 0 };
		ZSTD_inBuffer in = { raw, sizeof(raw), 0 };

		ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
		ZSTD_compressStream2(c, &out, &in, ZSTD_e_end);
		REFUSED(with_zconfig(z, out.pos, sizeof(raw)), "record 1 "
		    "(CONFIG): zstd frame: expected its content size declared, "
		    "found none", "no content size");
	}
	REFUSED(with_zconfig("nothing!", 8, 8), "expected one zstd frame, "
	    "found no zstd frame header", "not zstd");
	ZSTD_freeCCtx(c);
}

/* A message counts a record's body and its padding apart. */
static void
test_cut_padding(void)
{
	struct buf b = script(0, "GCE", "a", KVM, 0);
	/* CONFIG (2 octets, 6 of padding) is at 24 + 32 + 128. */
	size_t at = 24 + 32 + 128 + 32;
	char msg[VMI_ERRLEN];
	int skipped;
	struct buf c = { b.p, at + 1 };

	read_all(&c, msg, sizeof(msg), &skipped);
	CHECK(strstr(msg, "record 1 (CONFIG) at offset 184: stream ends after "
	    "1 of 2 body octets"), "cut in body: %s", msg);
	c.len = at + 4;
	read_all(&c, msg, sizeof(msg), &skipped);
	CHECK(strstr(msg, "record 1 (CONFIG) at offset 184: stream ends after "
	    "the 2 body octets and 2 of 6 padding octets"),
	    "cut in padding: %s", msg);
	free(b.p);
}

/* The three XXH3 builds hash.c picks among give the same values, whole
 * and in pieces, and so does the one picked. */
uint64_t hash64_scalar(const void *, size_t);
uint64_t hash64_sse2(const void *, size_t);
uint64_t hash64_avx2(const void *, size_t);
void hash_init_scalar(struct hash_state *);
void hash_update_scalar(struct hash_state *, const void *, size_t);
uint64_t hash_final_scalar(struct hash_state *);

static void
test_hash_builds(void)
{
	static unsigned char buf[9000];
	int avx2;
	unsigned bad = 0;

	__builtin_cpu_init();
	avx2 = __builtin_cpu_supports("avx2");
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
	for (size_t len = 0; len <= sizeof(buf); len += len < 300 ? 1 : 97) {
		uint64_t a = hash64_scalar(buf, len), b = hash64_sse2(buf, len);
		struct hash_state st;
		size_t cut = (size_t)rand() % (len + 1);

		if (a != b || (avx2 && a != hash64_avx2(buf, len)) ||
		    a != hash64(buf, len))
			bad++;
		hash_init_scalar(&st);
		hash_update_scalar(&st, buf, cut);
		hash_update_scalar(&st, buf + cut, len - cut);
		if (hash_final_scalar(&st) != a)
			bad++;
		hash_init(&st);
		hash_update(&st, buf, cut);
		hash_update(&st, buf + cut, len - cut);
		if (hash_final(&st) != a)
			bad++;
	}
	CHECK(bad == 0, "%u lengths where the XXH3 builds differ", bad);
}

/*
 * A PAGES record read from a pipe can be lent (vmi_record_lend()): its
 * body stays as it was while the reader reads on, its pages lie on page
 * boundaries (a restore splices them), and a buffer given back is used
 * again.  A mapped image's records and compressed ones are not lent.
 */
static void
test_lend(void)
{
	for (int ra = 0; ra < 2; ra++) {
		struct buf b = make(0, 1, 1);
		char msg[VMI_ERRLEN] = "";
		int fd = pipe_with(b.p, b.len);
		struct vmi_reader *r = vmi_reader_new(fd, ra, msg, sizeof(msg));
		struct vmi_loan *loan[4];
		uint8_t *copy[4];
		const void *body[4];
		size_t len[4];
		unsigned nl = 0, aligned = 0, same = 0;
		struct vmi_record rec;
		int n;

		CHECK(r != NULL, "lend: reader: %s", msg);
		if (r == NULL)
			return;
		while ((n = vmi_next(r, &rec)) == 1) {
			struct vmi_pages_view v;

			if (rec.type != VMI_REC_PAGES || nl == 4)
				continue;
			if ((loan[nl] = vmi_record_lend(r, &rec)) == NULL)
				continue;
			vmi_pages_view(&rec, &v);
			aligned += ((uintptr_t)v.data & 4095) == 0;
			body[nl] = rec.body;
			len[nl] = rec.len;
			copy[nl] = malloc(rec.len);
			memcpy(copy[nl++], rec.body, rec.len);
		}
		CHECK(n == 0, "lend (read-ahead %d): %s", ra,
		    vmi_reader_error(r));
		CHECK(nl == 2 && aligned == nl, "lend (read-ahead %d): %u of 2 "
		    "PAGES records lent, %u with their pages aligned", ra, nl,
		    aligned);
		for (unsigned i = 0; i < nl; i++) {
			same += memcmp(body[i], copy[i], len[i]) == 0;
			vmi_loan_return(r, loan[i]);
			free(copy[i]);
		}
		CHECK(same == nl, "lend (read-ahead %d): %u of %u lent bodies "
		    "changed while the reader read on", ra, nl - same, nl);
		vmi_reader_free(r);
		close(fd);
		free(b.p);
	}
	/* Not from a mapped image, nor a decompressed body. */
	for (int z = 0; z < 2; z++) {
		struct buf b = make(z ? 3 : 0, 1, 0);
		char msg[VMI_ERRLEN] = "";
		int fd = z ? pipe_with(b.p, b.len) : memfd_with(b.p, b.len);
		struct vmi_reader *r = vmi_reader_new(fd, 1, msg, sizeof(msg));
		struct vmi_record rec;
		unsigned lent = 0, pages = 0;

		while (r != NULL && vmi_next(r, &rec) == 1)
			if (rec.type == VMI_REC_PAGES) {
				pages++;
				lent += vmi_record_lend(r, &rec) != NULL;
			}
		CHECK(r != NULL && pages > 0 && lent == 0, "lend: %u of %u "
		    "records of a %s image lent", lent, pages,
		    z ? "compressed" : "mapped");
		vmi_reader_free(r);
		close(fd);
		free(b.p);
	}
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_hash_builds();
	test_roundtrip();
	test_deterministic();
	test_truncation();
	test_unknown();
	test_oversize();
	test_reorder_splice();
	test_foreign();
	test_newer();
	test_order();
	test_end_zstd();
	test_names();
	test_state_sizes();
	test_zframes();
	test_cut_padding();
	test_epipe();
	test_splice();
	test_lend();
	test_bitflips(0);
	test_bitflips(3);
	printf("test_vmi: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
