/*
 * test_restore.c: the restore engine's pages, through a double of a
 * backend that takes them as Xen's does: into a pipe, by vmsplice() when
 * the restore says they are stable, read out at the far end by a slow
 * consumer thread (libxl's reader).  An image read from a pipe is lent
 * out of the reader record by record (vmi_record_lend()); a buffer given
 * back before the consumer has taken its pages would be read over while
 * the pipe still refers to them, and the consumer would see a later
 * record's octets.  So the memory the consumer builds must equal the
 * image's, octet for octet, with lending in play, and without it (a
 * compressed image, a mapped file).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "io.h"
#include "restore.h"
#include "vmi.h"
#include "check.h"
#include "pipe_with.h"

#define NPAGES	4096		/* 16 MiB: four full PAGES records a round */
#define PAGE	4096

/* ---- the double ---- */

struct hv_guest {
	int		 rfd, wfd;	/* the pipe to the consumer */
	uint64_t	 put;		/* octets written into it */
	pthread_t	 consumer;
	uint8_t		*mem;		/* what the consumer built */
	unsigned	 puts, stable_puts;
	int		 bad;		/* the consumer found a broken batch */
	int		 committed, resumed, destroyed;
};

static struct hv_guest *G;
static char lasterr[256];

const char *
hv_strerror(void)
{
	return lasterr[0] ? lasterr : strerror(errno);
}

static int
d_probe(void)
{
	return 1;
}

static int
d_list(hv_list_fn fn, void *arg)
{
	(void)fn;
	(void)arg;
	return 0;
}

static int
d_open(const char *name, struct hv_guest **g)
{
	(void)name;
	(void)g;
	errno = ENOENT;
	return -1;
}

static int
d_mem_free(const struct hv_info *info, const void *cfg, size_t len,
    uint64_t *need, uint64_t *avail)
{
	(void)info;
	(void)cfg;
	(void)len;
	(void)need;
	*avail = 1ull << 40;
	return 0;
}

static int
d_cpu_max(const struct hv_info *info, uint32_t out[4])
{
	(void)info;
	memset(out, 0xff, 4 * sizeof(out[0]));
	return 0;
}

/*
 * libxl's reader, slowly: each batch is its frame count, its frames and
 * their pages, read 16 KiB at a time with a pause every 64 KiB, so that
 * the pipe stays full behind it.
 */
static int
slow_read(int fd, void *p, size_t len)
{
	static size_t since;

	for (size_t got = 0; got < len;) {
		size_t want = len - got < 16384 ? len - got : 16384;
		ssize_t n = read(fd, (uint8_t *)p + got, want);

		if (n <= 0)
			return -1;
		got += n;
		if ((since += n) >= 65536) {
			struct timespec ts = { 0, 200000 };

			since = 0;
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static void *
consume(void *arg)
{
	struct hv_guest *g = arg;
	uint64_t pfn[VMI_PAGES_MAX];
	uint32_t n;

	while (slow_read(g->rfd, &n, sizeof(n)) == 0) {
		if (n == 0 || n > VMI_PAGES_MAX ||
		    slow_read(g->rfd, pfn, n * 8ull) == -1) {
			g->bad = 1;
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			if (pfn[i] >= NPAGES ||
			    slow_read(g->rfd, g->mem + pfn[i] * PAGE, PAGE) == -1) {
				g->bad = 1;
				return NULL;
			}
	}
	return NULL;
}

static int
d_create(const struct hv_info *info, const void *cfg, size_t len,
    struct hv_guest **out)
{
	struct hv_guest *g = calloc(1, sizeof(*g));
	int p[2];

	(void)cfg;
	(void)len;
	if (g == NULL || info->mem_bytes != NPAGES * (uint64_t)PAGE ||
	    pipe(p) == -1 || (g->mem = calloc(NPAGES, PAGE)) == NULL) {
		snprintf(lasterr, sizeof(lasterr), "double: create");
		free(g);
		return -1;
	}
	/* As create.c: a pipe of 1 MiB. */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	g->rfd = p[0];
	g->wfd = p[1];
	if (pthread_create(&g->consumer, NULL, consume, g) != 0)
		return -1;
	*out = G = g;
	return 0;
}

/* As put.c: the frame words copied, the pages spliced when stable. */
static int
d_put_pages(struct hv_guest *g, const uint64_t *pfn, unsigned n,
    const void *const *data, int stable)
{
	static const uint8_t zero[PAGE] __attribute__((aligned(PAGE)));
	struct iovec iov[VMI_PAGES_MAX + 2], *v = iov + 2;
	uint32_t count = n;
	int k = n;

	iov[0] = (struct iovec){ &count, sizeof(count) };
	iov[1] = (struct iovec){ (void *)pfn, n * 8ull };
	for (unsigned i = 0; i < n; i++)
		v[i] = (struct iovec){ (void *)(data[i] ? data[i] : zero),
		    PAGE };
	g->puts++;
	g->put += sizeof(count) + n * 8ull + (uint64_t)n * PAGE;
	if (!stable) {
		struct iovec *all = iov;
		int cnt = n + 2;

		return io_writevall(g->wfd, all, cnt);
	}
	g->stable_puts++;
	if (io_writevall(g->wfd, iov, 2) == -1)
		return -1;
	return io_vmspliceall(g->wfd, &v, &k);
}

static int
d_put_taken(struct hv_guest *g, uint64_t *put, uint64_t *taken)
{
	int queued;

	if (ioctl(g->wfd, FIONREAD, &queued) == -1)
		return -1;
	*put = g->put;
	*taken = g->put - queued;
	return 0;
}

static int
d_set_state(struct hv_guest *g, const struct hv_state *st)
{
	(void)g;
	(void)st;
	return 0;
}

/* libxl has read the whole stream once the restore commits. */
static int
d_commit(struct hv_guest *g)
{
	close(g->wfd);
	g->wfd = -1;
	pthread_join(g->consumer, NULL);
	g->committed = 1;
	return 0;
}

static int
d_resume(struct hv_guest *g)
{
	g->resumed = 1;
	return 0;
}

static int
d_destroy(struct hv_guest *g)
{
	g->destroyed = 1;
	return 0;
}

static void
d_close(struct hv_guest *g)
{
	if (g->wfd != -1) {
		close(g->wfd);
		pthread_join(g->consumer, NULL);
	}
	close(g->rfd);
}

static const struct hv_ops double_ops = {
	.name = "xen",
	.backend = VMI_BACKEND_XEN,
	.probe = d_probe,
	.list = d_list,
	.open = d_open,
	.mem_free = d_mem_free,
	.cpu_max = d_cpu_max,
	.create = d_create,
	.put_pages = d_put_pages,
	.put_taken = d_put_taken,
	.set_state = d_set_state,
	.commit = d_commit,
	.resume = d_resume,
	.destroy = d_destroy,
	.close = d_close,
};

const struct hv_ops *
hv_by_id(uint32_t backend)
{
	return backend == VMI_BACKEND_XEN ? &double_ops : NULL;
}

/* ---- the image ---- */

/* Frame pfn's octets in generation gen: every word says both. */
static void
fill(uint8_t *p, uint64_t pfn, uint32_t gen)
{
	for (unsigned i = 0; i < PAGE / 8; i++) {
		uint64_t w = pfn << 32 | (uint64_t)gen << 16 | i;

		memcpy(p + i * 8, &w, 8);
	}
}

/* A live image: every frame, then two rounds that write some again. */
static void *
image(int zlevel, size_t *len, uint8_t *expect)
{
	struct vmi_writer_opts o = { .flags = VMI_HF_LIVE, .zlevel = zlevel };
	int fd = memfd_create("img", MFD_CLOEXEC);
	struct vmi_writer *w = vmi_writer_new(fd, &o);
	static uint8_t page[PAGE];
	struct vmi_guest g;
	struct vmi_round rd;
	struct { struct vmi_state h; uint8_t d[16]; } st;
	const char cfg[] = "{}";
	void *p;

	memset(&g, 0, sizeof(g));
	g.backend = VMI_BACKEND_XEN;
	g.arch = VMI_ARCH_X86_64;
	g.page_shift = 12;
	g.vcpus = 1;
	g.mem_bytes = NPAGES * (uint64_t)PAGE;
	g.guest_type = VMI_GT_XEN_PVH;
	snprintf(g.name, sizeof(g.name), "lent");
	if (w == NULL || vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g)) ||
	    vmi_write_buf(w, VMI_REC_CONFIG, cfg, sizeof(cfg) - 1))
		errx(1, "image: %s", w ? vmi_writer_error(w) : "new");
	memset(&rd, 0, sizeof(rd));
	for (uint32_t gen = 1; gen <= 3; gen++) {
		/* Round 0 every frame; then every 3rd, every 11th. */
		unsigned step = gen == 1 ? 1 : gen == 2 ? 3 : 11;

		for (uint64_t pfn = gen - 1; pfn < NPAGES; pfn += step) {
			fill(page, pfn, gen);
			memcpy(expect + pfn * PAGE, page, PAGE);
			if (vmi_write_page(w, pfn, page, 0) == -1)
				errx(1, "image: %s", vmi_writer_error(w));
		}
		if (gen == 3) {
			memset(&st, 0, sizeof(st));
			if (vmi_write_buf(w, VMI_REC_VCPU, &st, sizeof(st)))
				errx(1, "image: %s", vmi_writer_error(w));
			rd.flags = VMI_ROUND_LAST;
		}
		rd.round = gen - 1;
		if (vmi_write_buf(w, VMI_REC_ROUND, &rd, sizeof(rd)) == -1)
			errx(1, "image: %s", vmi_writer_error(w));
	}
	if (vmi_write_end(w) == -1)
		errx(1, "image: %s", vmi_writer_error(w));
	vmi_writer_free(w);
	*len = lseek(fd, 0, SEEK_CUR);
	if ((p = malloc(*len)) == NULL || pread(fd, p, *len, 0) != (ssize_t)*len)
		err(1, "image");
	close(fd);
	return p;
}

/*
 * Restore the image from a pipe (or a memfd: mapped); the consumer's
 * memory must be the image's.  Returns how many batches went spliced.
 */
static unsigned
restore_via(const char *what, const uint8_t *img, size_t len, int mapped,
    const uint8_t *expect)
{
	struct restore_opts ro = { .name = "lent", .paused = 0 };
	struct restore_result res;
	char msg[512] = "";
	unsigned spliced;
	int fd, rc, same = 0;

	if (!mapped)
		fd = pipe_with(img, len);
	else if ((fd = memfd_create("img", MFD_CLOEXEC)) == -1 ||
	    io_writeall(fd, img, len) == -1 || lseek(fd, 0, SEEK_SET))
		err(1, "memfd");
	G = NULL;
	rc = restore_stream(fd, &ro, &res, msg, sizeof(msg));
	close(fd);
	CHECK(rc == 0, "%s: restore: %s", what, msg);
	CHECK(G != NULL && G->committed && G->resumed && !G->destroyed &&
	    !G->bad, "%s: the guest was not made whole (%s)", what,
	    G && G->bad ? "the consumer read a broken batch" : "state");
	if (G == NULL)
		return 0;
	for (unsigned i = 0; i < NPAGES; i++)
		same += memcmp(G->mem + (size_t)i * PAGE,
		    expect + (size_t)i * PAGE, PAGE) == 0;
	CHECK(same == NPAGES, "%s: %u of %u frames differ from the image's",
	    what, NPAGES - same, NPAGES);
	spliced = G->stable_puts;
	free(G->mem);
	free(G);
	G = NULL;
	return spliced;
}

int
main(void)
{
	uint8_t *expect = calloc(NPAGES, PAGE);
	size_t len;
	uint8_t *img;
	unsigned n;

	signal(SIGPIPE, SIG_IGN);
	if (expect == NULL)
		err(1, "calloc");
	img = image(0, &len, expect);
	/* From a pipe: each PAGES record lent, its pages spliced. */
	n = restore_via("pipe", img, len, 0, expect);
	CHECK(n > 4, "pipe: %u batches spliced, expected every one", n);
	/* A mapped file: stable as it lies. */
	n = restore_via("mapped file", img, len, 1, expect);
	CHECK(n > 4, "mapped file: %u batches spliced", n);
	free(img);
	/* Compressed: decompressed into the reader's own buffer, copied. */
	img = image(3, &len, expect);
	n = restore_via("compressed, from a pipe", img, len, 0, expect);
	CHECK(n == 0, "compressed: %u batches spliced, expected none", n);
	free(img);
	free(expect);
	printf("test_restore: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
