/*
 * xen_mem.c: guest memory for the Xen backend: foreign mappings of a
 * running guest's frames, staging buffers for a guest being restored, and
 * log-dirty through the hypervisor's paging assistance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xen.h"

/* What unmap() releases. */
struct xmap {
	int		 staged;	/* restore: pages go to libxl */
	unsigned	 n;
	void		*addr;
	uint64_t	*pfn;		/* staged only */
};

/*
 * A guest being restored has no memory of its own yet: libxl populates it
 * from the stream.  Its frames are staged in zeroed buffers, and unmap()
 * sends them, every one, so that a frame the image holds as zero is still
 * populated in the new guest.
 */
static int
map_staged(struct hv_guest *g, const uint64_t *pfn, unsigned n, void **ptr,
    void **handle)
{
	struct xmap *m;

	(void)g;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->pfn = malloc(n * sizeof(*pfn))) == NULL ||
	    (m->addr = calloc(n, 4096)) == NULL) {
		if (m)
			free(m->pfn);
		free(m);
		errno = ENOMEM;
		return -1;
	}
	m->staged = 1;
	m->n = n;
	memcpy(m->pfn, pfn, n * sizeof(*pfn));
	for (unsigned i = 0; i < n; i++)
		ptr[i] = (uint8_t *)m->addr + (size_t)i * 4096;
	*handle = m;
	return 0;
}

static void
send_staged(struct hv_guest *g, struct xmap *m)
{
	uint32_t hdr[2] = { m->n, 0 };
	uint64_t *pfn = m->pfn;

	/* Page type NOTAB (0) in bits 60-63: HVM frames have no type. */
	for (unsigned i = 0; i < m->n; i++)
		pfn[i] &= 0x000fffffffffffffull;
	/* Two parts after the header: the frame list, then the data. */
	if (g->werr == 0) {
		size_t plen = m->n * sizeof(*pfn);
		uint8_t *body = malloc(plen + (size_t)m->n * 4096);

		if (body == NULL) {
			g->werr = ENOMEM;
			return;
		}
		memcpy(body, pfn, plen);
		memcpy(body + plen, m->addr, (size_t)m->n * 4096);
		if (xen_stream_record(g, XSR_PAGE_DATA, hdr, sizeof(hdr), body,
		    plen + (size_t)m->n * 4096) == -1 && g->werr == 0)
			g->werr = errno;
		free(body);
	}
}

int
xen_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, int writable,
    void **ptr, void **handle)
{
	struct xmap *m;
	xen_pfn_t *arr;
	int *err;

	hv_clearerr();
	if (g->creating)
		return map_staged(g, pfn, n, ptr, handle);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	arr = malloc(n * sizeof(*arr));
	err = malloc(n * sizeof(*err));
	if (arr == NULL || err == NULL) {
		free(arr);
		free(err);
		free(m);
		errno = ENOMEM;
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		arr[i] = pfn[i];
	m->n = n;
	m->addr = xenforeignmemory_map(xen_fmem, g->domid,
	    writable ? PROT_READ | PROT_WRITE : PROT_READ, n, arr, err);
	if (m->addr == NULL) {
		int e = errno;

		free(arr);
		free(err);
		free(m);
		hv_seterr("can't map %u frames of domain %u from %#llx: %s", n,
		    g->domid, (unsigned long long)pfn[0], strerror(e));
		errno = e;
		return -1;
	}
	/* A frame that failed is a hole (never populated): save skips it. */
	for (unsigned i = 0; i < n; i++)
		ptr[i] = err[i] ? NULL : (uint8_t *)m->addr + (size_t)i * 4096;
	free(arr);
	free(err);
	*handle = m;
	return 0;
}

void
xen_unmap(struct hv_guest *g, void *handle)
{
	struct xmap *m = handle;

	if (m == NULL)
		return;
	if (m->staged) {
		send_staged(g, m);
		free(m->addr);
		free(m->pfn);
	} else {
		xenforeignmemory_unmap(xen_fmem, m->addr, m->n);
	}
	free(m);
}

int
xen_log_dirty_start(struct hv_guest *g)
{
	unsigned long n;
	size_t pages;

	hv_clearerr();
	if (g->logdirty)
		return 0;
	if (g->type == VMI_GT_XEN_PV) {
		hv_seterr("domain %u is a PV guest: this Xen has no shadow "
		    "paging, so it can't log a PV guest's writes; save it "
		    "offline (without a live pre-copy)", g->domid);
		errno = ENOTSUP;
		return -1;
	}
	if (xen_unsupported(g) == -1)
		return -1;
	if (xen_nr_pfns(g->domid, &n) == -1)
		return -1;
	pages = (n + 8 * 4096 - 1) / (8 * 4096);
	g->dirty_hbuf = (xc_hypercall_buffer_t){ .hbuf = NULL,
	    .param_shadow = NULL, HYPERCALL_BUFFER_INIT_NO_BOUNCE };
	g->dirty = xc__hypercall_buffer_alloc_pages(xen_xch, &g->dirty_hbuf,
	    pages);
	if (g->dirty == NULL) {
		hv_seterr("can't allocate a dirty bitmap for %lu frames", n);
		errno = ENOMEM;
		return -1;
	}
	g->npages = n;
	if (xc_shadow_control(xen_xch, g->domid,
	    XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0) {
		int e = errno;

		xc__hypercall_buffer_free_pages(xen_xch, &g->dirty_hbuf, pages);
		g->dirty = NULL;
		hv_seterr("can't enable log-dirty for domain %u: %s",
		    g->domid, strerror(e));
		errno = e;
		return -1;
	}
	g->logdirty = 1;
	return 0;
}

int
xen_log_dirty_stop(struct hv_guest *g)
{
	int rc = 0;

	hv_clearerr();
	if (!g->logdirty)
		return 0;
	if (xc_shadow_control(xen_xch, g->domid, XEN_DOMCTL_SHADOW_OP_OFF,
	    NULL, 0) < 0) {
		hv_seterr("can't disable log-dirty for domain %u: %s",
		    g->domid, strerror(errno));
		rc = -1;
	}
	xc__hypercall_buffer_free_pages(xen_xch, &g->dirty_hbuf,
	    (g->npages + 8 * 4096 - 1) / (8 * 4096));
	g->dirty = NULL;
	g->logdirty = 0;
	return rc;
}

/*
 * CLEAN copies the log into the buffer and empties it in one hypercall.
 * Xen's bitmap is an array of unsigned long, bit i of word i/64: the same
 * layout as ours on x86-64.
 */
long
xen_dirty_fetch(struct hv_guest *g, uint64_t *bitmap)
{
	xc_shadow_op_stats_t stats;
	size_t words = (g->npages + 63) / 64;
	long count = 0;

	hv_clearerr();
	if (!g->logdirty) {
		hv_seterr("log-dirty is not on for domain %u", g->domid);
		errno = EINVAL;
		return -1;
	}
	if (xc_logdirty_control(xen_xch, g->domid, XEN_DOMCTL_SHADOW_OP_CLEAN,
	    &g->dirty_hbuf, g->npages, 0, &stats) < 0) {
		hv_seterr("can't read domain %u's dirty log: %s", g->domid,
		    strerror(errno));
		return -1;
	}
	memcpy(bitmap, g->dirty, words * 8);
	if (g->npages % 64)
		bitmap[words - 1] &= (1ull << g->npages % 64) - 1;
	for (size_t i = 0; i < words; i++)
		count += __builtin_popcountll(bitmap[i]);
	return count;
}
