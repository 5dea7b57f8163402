/*
 * xen_stage.c: the memory of a guest being restored.
 *
 * Such a guest has no memory yet: libxc populates each frame as its page
 * arrives in the migration stream that libxl reads.  So map() hands out
 * a staging buffer, and unmap() sends what was written there as one
 * PAGE_DATA record, the headers copied into the pipe, the pages spliced:
 *
 *   record header, page header, frame words | page | page ... | page
 *
 * A spliced page stays in the pipe by reference until libxc reads it, so
 * a buffer is reused only once the pipe holds nothing of it: the buffers
 * go round a ring, and map() waits, should it come to that, until fewer
 * octets are unread in the pipe than were written after the buffer.
 *
 * A frame the image holds as zero is sent without data, as an
 * "allocate only" (XALLOC) frame: libxc populates it, and Xen's fresh
 * memory is zero.  The restore engine writes nothing into a zero frame it
 * has not written before, so a page still holding the marker that map()
 * left in it is such a frame.  A frame written before and now zero is
 * cleared by the engine, loses its marker and goes with its zeros; so
 * does a PV guest's page table, which libxc must see with its type.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "xen.h"

#define STAGE_MAX	1024		/* frames, as VMI_PAGES_MAX */
#define STAGE_NBUF	4		/* 16 MiB; the pipe holds 1 MiB */


struct stage {
	int		 staged;	/* 1: see xen_mem.c's struct xmap */
	unsigned	 n;
	uint8_t		*pages;		/* n pages, page-aligned */
	uint64_t	*pfn;		/* n frame words */
	int		 owned;		/* not the guest's reusable one */
	uint64_t	 end;		/* g->sent after its last page */
};

struct stage_buf {
	struct stage	 s[STAGE_NBUF];
	int		 next;		/* the one map() hands out next */
	int		 busy;
	uint64_t	 marker[2];
	struct iovec	 iov[STAGE_MAX + 2];
};

static int
stage_alloc(struct stage *st, unsigned n)
{
	if (posix_memalign((void **)&st->pages, 4096, (size_t)n * 4096) != 0)
		return -1;
	if ((st->pfn = malloc(n * sizeof(*st->pfn))) == NULL) {
		free(st->pages);
		return -1;
	}
	return 0;
}

static void
stage_free(struct stage *st)
{
	free(st->pages);
	free(st->pfn);
}

/*
 * The guest's buffers are reused batch after batch: fresh memory costs a
 * page fault per page on its first touch, every time.
 */
static struct stage_buf *
stage_buf(struct hv_guest *g)
{
	struct stage_buf *b = g->stage;

	if (b != NULL)
		return b;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (getrandom(b->marker, sizeof(b->marker), 0) !=
	    sizeof(b->marker)) {
		free(b);
		errno = EIO;
		return NULL;
	}
	return g->stage = b;
}

/* The next buffer of the ring, once nothing of it is left in the pipe. */
static struct stage *
stage_next(struct hv_guest *g, struct stage_buf *b)
{
	struct stage *st = &b->s[b->next];
	int q;

	if (st->pages == NULL) {
		if (stage_alloc(st, STAGE_MAX) == -1) {
			errno = ENOMEM;
			return NULL;
		}
		st->staged = 1;
	}
	/* A libxl that has gone reads nothing more: no need to wait. */
	while (__atomic_load_n(&g->peer, __ATOMIC_ACQUIRE) != -1 &&
	    g->werr == 0) {
		if (ioctl(g->sock, FIONREAD, &q) == -1)
			return NULL;
		if ((uint64_t)q <= g->sent - st->end)
			break;
		usleep(100);
	}
	b->next = (b->next + 1) % STAGE_NBUF;
	return st;
}

int
xen_stage_map(struct hv_guest *g, const uint64_t *pfn, unsigned n,
    void **ptr, void **handle)
{
	struct stage_buf *b;
	struct stage *st;

	if (n == 0 || n > STAGE_MAX) {
		hv_seterr("can't stage %u frames at once (1 to %u)", n,
		    STAGE_MAX);
		errno = EINVAL;
		return -1;
	}
	if ((b = stage_buf(g)) == NULL)
		return -1;
	if (b->busy) {
		/* Never so with the restore engine: one batch at a time. */
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return -1;
		if (stage_alloc(st, n) == -1) {
			free(st);
			errno = ENOMEM;
			return -1;
		}
		st->staged = st->owned = 1;
	} else {
		if ((st = stage_next(g, b)) == NULL)
			return -1;
		b->busy = 1;
	}
	st->n = n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t *p = (uint64_t *)(st->pages + (size_t)i * 4096);

		st->pfn[i] = pfn[i] & XSR_PFN_MASK;
		p[0] = b->marker[0];
		p[511] = b->marker[1];
		ptr[i] = p;
	}
	*handle = st;
	return 0;
}

/* Send the batch: frames still marked go as XALLOC, without data. */
static void
stage_send(struct hv_guest *g, struct stage_buf *b, struct stage *st)
{
	uint32_t hdr[4] = { XSR_PAGE_DATA, 0, st->n, 0 };
	struct iovec *iov = b->iov;
	size_t len = 8 + st->n * 8;
	int k = 2;

	for (unsigned i = 0; i < st->n; i++) {
		uint64_t *p = (uint64_t *)(st->pages + (size_t)i * 4096);
		uint64_t f = st->pfn[i];
		unsigned t = g->ptype && f < g->nptype ? g->ptype[f] : 0;

		if (p[0] == b->marker[0] && p[511] == b->marker[1]) {
			if (t == 0) {
				st->pfn[i] |= (uint64_t)XSR_PT_XALLOC << 60;
				continue;
			}
			/* A page table goes with its type, zeros and all. */
			memset(p, 0, 4096);
		}
		st->pfn[i] |= (uint64_t)t << 60;
		len += 4096;
		/* Neighbouring pages make one piece. */
		if (k > 2 && (uint8_t *)iov[k - 1].iov_base +
		    iov[k - 1].iov_len == (uint8_t *)p) {
			iov[k - 1].iov_len += 4096;
			continue;
		}
		iov[k].iov_base = p;
		iov[k].iov_len = 4096;
		k++;
	}
	hdr[1] = len;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = st->pfn;
	iov[1].iov_len = st->n * 8;
	/* No padding: frame words and pages are multiples of 8 octets.
	 * An owned buffer is freed at once: its pages are copied. */
	if (xen_stream_iov(g, iov, st->owned ? k : 2) == 0 && !st->owned &&
	    k > 2)
		(void)xen_stream_splice(g, iov + 2, k - 2);
	st->end = g->sent;
}

void
xen_stage_unmap(struct hv_guest *g, void *handle)
{
	struct stage *st = handle;
	struct stage_buf *b = g->stage;

	stage_send(g, b, st);
	if (st->owned) {
		stage_free(st);
		free(st);
	} else {
		b->busy = 0;
	}
}

void
xen_stage_free(struct hv_guest *g)
{
	struct stage_buf *b = g->stage;

	if (b == NULL)
		return;
	for (int i = 0; i < STAGE_NBUF; i++)
		stage_free(&b->s[i]);
	free(b);
	g->stage = NULL;
}
