/*
 * mem.c: guest memory for the Xen backend: foreign mappings of a
 * running guest's frames, and log-dirty through the hypervisor's paging
 * assistance.  (A guest being restored is given its pages instead:
 * put.c.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xen.h"

/* What unmap() releases. */
struct xmap {
	unsigned	 n;
	void		*addr;
};

/*
 * libxenctrl's own save asks the page types of each batch first
 * (XEN_DOMCTL_getpageframeinfo3) and maps only the frames that hold RAM:
 * a PVH guest's frame range runs up to its special pages below 4 GiB, and
 * mapping the gigabytes of hole between, frame by failing frame, cost
 * most of a save.  The call is exported by libxenctrl but declared only in
 * its private header.
 */
int	xc_get_pfn_type_batch(xc_interface *, uint32_t, unsigned int,
	    xen_pfn_t *);

static int
has_ram(xen_pfn_t type)
{
	type &= XEN_DOMCTL_PFINFO_LTAB_MASK;
	return type != XEN_DOMCTL_PFINFO_XTAB &&
	    type != XEN_DOMCTL_PFINFO_BROKEN &&
	    type != XEN_DOMCTL_PFINFO_XALLOC;
}

int
xen_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, int writable,
    void **ptr, void **handle)
{
	struct xmap *m;
	xen_pfn_t *arr, *type;
	unsigned k = 0;
	int *err, e;

	hv_clearerr();
	if (g->creating) {
		hv_seterr("domain %u is being restored: its frames exist only "
		    "as they arrive (put_pages)", g->domid);
		errno = EINVAL;
		return -1;
	}
	if (g->pvn != NULL)
		return xen_pvn_map(g, pfn, n, ptr, handle);
	if (g->pv != NULL)
		return xen_pv_map(g, pfn, n, ptr, handle);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	arr = malloc(n * sizeof(*arr));
	type = malloc(n * sizeof(*type));
	err = malloc(n * sizeof(*err));
	if (arr == NULL || type == NULL || err == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < n; i++)
		type[i] = pfn[i];
	if (xc_get_pfn_type_batch(xen_xch, g->domid, n, type) < 0) {
		hv_seterr("can't read the types of %u frames of domain %u "
		    "from %#llx: %s", n, g->domid,
		    (unsigned long long)pfn[0], strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < n; i++)
		if (has_ram(type[i]))
			arr[k++] = pfn[i];
	m->n = k;
	if (k > 0) {
		m->addr = xenforeignmemory_map(xen_fmem, g->domid,
		    writable ? PROT_READ | PROT_WRITE : PROT_READ, k, arr,
		    err);
		if (m->addr == NULL) {
			hv_seterr("can't map %u frames of domain %u from "
			    "%#llx: %s", k, g->domid,
			    (unsigned long long)arr[0], strerror(errno));
			goto fail;
		}
	}
	/*
	 * A frame without RAM is a hole: save skips it.  One with RAM that
	 * can't be mapped is a failure, as it is to libxc: as a hole it
	 * would arrive as zeros.
	 */
	for (unsigned i = 0, j = 0; i < n; i++) {
		ptr[i] = NULL;
		if (!has_ram(type[i]))
			continue;
		if (err[j] != 0) {
			hv_seterr("can't map frame %#llx of domain %u: %s",
			    (unsigned long long)pfn[i], g->domid,
			    strerror(-err[j]));
			xenforeignmemory_unmap(xen_fmem, m->addr, k);
			errno = EIO;
			goto fail;
		}
		ptr[i] = (uint8_t *)m->addr + (size_t)j * 4096;
		j++;
	}
	free(arr);
	free(type);
	free(err);
	*handle = m;
	return 0;
fail:
	e = errno;
	free(arr);
	free(type);
	free(err);
	free(m);
	errno = e;
	return -1;
}

void
xen_unmap(struct hv_guest *g, void *handle)
{
	struct xmap *m = handle;

	/* A PV guest's saved pages are in a buffer of its save. */
	if (m == NULL || (g->pv != NULL && handle == (void *)g->pv))
		return;
	if (g->pvn != NULL && handle == (void *)g->pvn) {
		xen_pvn_unmap(g);
		return;
	}
	if (m->n > 0)
		xenforeignmemory_unmap(xen_fmem, m->addr, m->n);
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
	/* A PV guest's is libxc's, begun with its live save (pv.c), unless
	 * pvsave.c copies it (on shadow paging, which early state saw). */
	if (g->type == VMI_GT_XEN_PV && g->pvn == NULL)
		return xen_pv_live(g) ? 0 : xen_pv_no_live(g);
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
	/* QEMU's writes into the guest's memory too. */
	if (xen_dm_logdirty(g, 1) == -1) {
		char why[256];

		snprintf(why, sizeof(why), "%s", hv_strerror());
		(void)xen_log_dirty_stop(g);
		hv_seterr("%s", why);
		errno = EIO;
		return -1;
	}
	g->dm_logdirty = g->type == VMI_GT_XEN_HVM;
	return 0;
}

int
xen_log_dirty_stop(struct hv_guest *g)
{
	int rc = 0;

	hv_clearerr();
	if (!g->logdirty)
		return 0;
	if (g->dm_logdirty && xen_dm_logdirty(g, 0) == -1)
		rc = -1;
	g->dm_logdirty = 0;
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
	/* A PV guest's page tables that could not be read whole go again. */
	if (g->pvn != NULL && xen_pvn_dirty(g, bitmap, g->npages) == -1)
		return -1;
	if (g->npages % 64)
		bitmap[words - 1] &= (1ull << g->npages % 64) - 1;
	for (size_t i = 0; i < words; i++)
		count += __builtin_popcountll(bitmap[i]);
	return count;
}
