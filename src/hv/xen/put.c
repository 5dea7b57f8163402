/*
 * put.c: the pages of a guest being restored.
 *
 * Such a guest has no memory yet: libxc populates each frame as its page
 * arrives in the migration stream that libxl reads.  So put_pages() sends
 * each batch as one PAGE_DATA record into the pipe to libxl:
 *
 *   record header, page header, frame words | page | page ... | page
 *
 * The headers are copied into the pipe; the pages too, unless the restore
 * says they are stable (a mapped image file, which nothing writes while
 * it is restored): then they are spliced, referred to by the pipe rather
 * than copied, and libxc's read is the one copy of them.  Under the
 * emulator every copy is slow: each one saved is a tenth of a second or
 * more per 64 MiB.
 *
 * A frame with no data (a zero frame nothing wrote before) goes as an
 * "allocate only" (XALLOC) frame: libxc populates it, and Xen's fresh
 * memory is zero.  A PV guest's page tables go with their types (from its
 * XEN_TAG_PV_TYPES pieces, each before its batch of pages), zeros and all.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "xen.h"

#define PUT_MAX		1024		/* frames, as VMI_PAGES_MAX */

static const uint8_t zero_page[4096] __attribute__((aligned(4096)));

int
xen_put_pages(struct hv_guest *g, const uint64_t *pfn, unsigned n,
    const void *const *data, int stable)
{
	uint64_t w[PUT_MAX];
	struct iovec iov[PUT_MAX + 2];
	uint32_t hdr[4] = { XSR_PAGE_DATA, 0, n, 0 };
	size_t len = 8 + (size_t)n * 8;
	int k = 2;

	hv_clearerr();
	if (!g->creating) {
		hv_seterr("domain %u: pages can only be put into a guest being "
		    "restored", g->domid);
		errno = EINVAL;
		return -1;
	}
	if (n == 0 || n > PUT_MAX) {
		hv_seterr("can't put %u frames at once (1 to %u)", n, PUT_MAX);
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t f = pfn[i] & XSR_PFN_MASK;
		unsigned t = g->ptype && f < g->nptype ? g->ptype[f] :
		    XSR_PT_NOTAB;
		const void *p = data[i];

		/* A type is its page's, this once: in a live image a frame
		 * that was a table in one round may come as data later. */
		if (g->ptype && f < g->nptype)
			g->ptype[f] = XSR_PT_NOTAB;

		if (p == NULL && t == XSR_PT_NOTAB) {
			w[i] = f | (uint64_t)XSR_PT_XALLOC << 60;
			continue;
		}
		if (p == NULL)
			p = zero_page;
		w[i] = f | (uint64_t)t << 60;
		len += 4096;
		/* Neighbouring pages make one piece. */
		if (k > 2 && (const uint8_t *)iov[k - 1].iov_base +
		    iov[k - 1].iov_len == (const uint8_t *)p) {
			iov[k - 1].iov_len += 4096;
			continue;
		}
		iov[k].iov_base = (void *)p;
		iov[k].iov_len = 4096;
		k++;
	}
	hdr[1] = len;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = w;
	iov[1].iov_len = (size_t)n * 8;
	/* No padding: frame words and pages are multiples of 8 octets. */
	if (xen_stream_iov(g, iov, stable ? 2 : k) == -1 ||
	    (stable && k > 2 && xen_stream_splice(g, iov + 2, k - 2) == -1)) {
		hv_seterr("libxl gave up on the restore: %s",
		    xen_stream_why(g));
		errno = EIO;
		return -1;
	}
	return 0;
}
