/*
 * pvsave.c: the save of a 64-bit PV guest by this backend itself, offline
 * and (where Xen has shadow paging) live.
 *
 * Through libxl's save (pv.c) every page of a PV guest crosses a pipe
 * between libxl's helper and us, and under the emulator that pipe costs
 * more than the rest of the save (bench/xen-side-by-side: an xl save of
 * 128 MiB into a pipe takes 3.3 s, into a file 2.2 s).  So once the guest
 * has suspended, this file does what libxc's save does for such a guest,
 * and the pages are read where they lie, as a PVH guest's are (mem.c):
 *
 *  - the guest's p2m (its frame -> machine frame table) is found from its
 *    shared info, through the linear list its kernel maps (p2m_cr3,
 *    p2m_vaddr: every Linux since 4.3), and Xen's m2p gives the way back;
 *  - each page table is "normalised": every machine frame in it becomes
 *    the guest frame, and Xen's own slots of an L4 are cleared (Xen fills
 *    them again wherever the guest is restored);
 *  - the vCPU contexts name machine frames too (CR3, CR1, the GDT, and
 *    vCPU 0's start info in RDX): pvvcpu.c rewrites them the same way.
 *
 * The records it makes are those libxc writes, byte for byte in layout
 * (docs/specs/libxc-migration-stream in Xen's sources), so the image and
 * its restore are the same whichever way the guest was saved.  A live
 * copy's rounds are the save's own, as a PVH guest's: log-dirty (which a
 * PV guest has only on shadow paging), and a page table the running
 * guest was changing as it was read (a frame in it not yet its own) is
 * left out of that round and read again in the next, as libxc does.  A
 * guest this file can't take (32-bit, or a kernel that keeps no linear
 * p2m) goes through libxl's save.  VMPIPE_XEN_PV_SAVE=libxl forces that
 * way (tests and the benchmark take both).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xen.h"

/* After xen.h: xenguest.h needs libxenctrl's types. */
#include <xenguest.h>

/* Exported by libxenctrl, declared in its private header (as mem.c). */
int	xc_get_pfn_type_batch(xc_interface *, uint32_t, unsigned int,
	    xen_pfn_t *);

#define PTE_FRAME	0x000ffffffffff000ull	/* a PTE's frame bits */
#define PTE_PRESENT	0x1ull
#define PTE_PSE		0x80ull
#define XEN_L4_FIRST	256	/* Xen's slots of a 64-bit guest's L4 */
#define XEN_L4_LAST	272	/* (HYPERVISOR_VIRT_START..END >> 39) */
#define M2P_CHUNK	(2ul << 20)
#define INVALID		(~0ull)

struct pv_own {
	unsigned long	 max_mfn;	/* Xen's frames: 0 to max_mfn - 1 */
	xen_pfn_t	*m2p;
	size_t		 m2p_len;
	shared_info_any_t *shinfo;
	uint64_t	 max_pfn;	/* the p2m's last frame */
	uint64_t	*p2m;		/* its leaves, mapped */
	unsigned	 p2m_frames;
	uint64_t	*p2m_pfns;	/* the leaves' guest frames */
	uint64_t	 generation;	/* of the p2m's layout, at the start */

	/* a live copy: page tables that changed as they were read, to be
	 * read again (one bit a frame, max_pfn + 1 of them) */
	uint64_t	*deferred;

	/* the last map(): its mapping, its page tables normalised and
	 * their frame words (pfn | type << 60) */
	void		*map;
	unsigned	 nmap;
	uint8_t		*tab;
	unsigned	 atab;
	uint64_t	 tables[VMI_PAGES_MAX];
	unsigned	 ntables;
};

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hv_seterr("%s", buf);
	errno = EIO;
	return -1;
}

/* Is mfn one of the guest's own, and its p2m entry the way back? */
static int
in_physmap(const struct pv_own *o, uint64_t mfn)
{
	uint64_t pfn;

	if (mfn >= o->max_mfn)
		return 0;
	pfn = o->m2p[mfn];
	return pfn <= o->max_pfn && o->p2m[pfn] == mfn;
}

static uint64_t
pte_frame(uint64_t pte)
{
	return (pte & PTE_FRAME) >> 12;
}

/* The shared info, read once the guest is suspended. */
static const struct arch_shared_info_x86_64 *
arch(const struct pv_own *o)
{
	return &o->shinfo->x64.arch;
}

/*
 * The p2m's leaves: walked from p2m_cr3 down the page tables that map
 * p2m_vaddr, four levels, as libxc's map_p2m_list().  Trailing L2 entries
 * that all name one frame point at nothing but invalid entries: the p2m
 * ends before them.
 */
static int
map_p2m(struct hv_guest *g, struct pv_own *o)
{
	const uint64_t mask = 0x0000ffffffffffffull;
	uint64_t vaddr = arch(o)->p2m_vaddr, end, off = 0, saved = 0;
	uint64_t *mfns, *ptes = NULL;
	unsigned start = 0, last = 0, savedi = 0, npages = 1;
	int rc = -1;

	o->p2m_frames = o->max_pfn / 512 + 1;
	end = vaddr + (uint64_t)o->p2m_frames * 4096 - 1;
	/* The guest says where: a page's start, canonical, not Xen's. */
	if ((vaddr & 4095) != 0 ||
	    ((int64_t)vaddr >> 47) != ((int64_t)vaddr >> 63) ||
	    ((int64_t)end >> 47) != ((int64_t)end >> 63) || end < vaddr ||
	    (vaddr <= 0xffff880000000000ull && end > 0xffff800000000000ull))
		return fail("domain %u: its p2m lies at %#llx-%#llx, which "
		    "can't be", g->domid, (unsigned long long)vaddr,
		    (unsigned long long)end);
	if ((mfns = malloc(sizeof(*mfns))) == NULL)
		return fail("out of memory");
	mfns[0] = arch(o)->p2m_cr3 >> 12;
	for (unsigned level = 4; level > 0; level--) {
		unsigned shift = level * 9 + 3;
		uint64_t *next;

		ptes = xenforeignmemory_map(xen_fmem, g->domid, PROT_READ,
		    npages, mfns, NULL);
		if (ptes == NULL) {
			fail("domain %u: can't map its p2m's L%u tables: %s",
			    g->domid, level, strerror(errno));
			goto out;
		}
		start = ((vaddr - off) & mask) >> shift;
		last = ((end - off) & mask) >> shift;
		if (last >= npages * 512u ||
		    (next = malloc((last - start + 1) * sizeof(*next))) ==
		    NULL) {
			fail("domain %u: its p2m's L%u walk goes astray",
			    g->domid, level);
			goto out;
		}
		free(mfns);
		mfns = next;
		for (unsigned i = start; i <= last; i++) {
			uint64_t mfn = pte_frame(ptes[i]);

			if (mfn == 0 || mfn >= o->max_mfn) {
				fail("domain %u: bad frame %#llx in its p2m's "
				    "L%u table", g->domid,
				    (unsigned long long)mfn, level);
				goto out;
			}
			mfns[i - start] = mfn;
			if (level == 2 && mfn != saved) {
				saved = mfn;
				savedi = i - start;
			}
		}
		if (level == 2) {
			uint64_t max;

			if (savedi == last)
				savedi++;
			max = ((uint64_t)savedi << 9) * 512 - 1;
			if (max < o->max_pfn) {
				o->max_pfn = max;
				o->p2m_frames = (o->max_pfn + 512) / 512;
				end = vaddr + (uint64_t)o->p2m_frames * 4096 -
				    1;
				last = start + savedi;
			}
		}
		xenforeignmemory_unmap(xen_fmem, ptes, npages);
		ptes = NULL;
		npages = last - start + 1;
		off = vaddr & ((mask >> shift) << shift);
	}
	o->p2m = xenforeignmemory_map(xen_fmem, g->domid, PROT_READ, npages,
	    mfns, NULL);
	if (o->p2m == NULL) {
		fail("domain %u: can't map its p2m: %s", g->domid,
		    strerror(errno));
		goto out;
	}
	o->p2m_frames = npages;
	if ((o->p2m_pfns = malloc(npages * sizeof(uint64_t))) == NULL) {
		fail("out of memory");
		goto out;
	}
	for (unsigned i = 0; i < npages; i++) {
		if (!in_physmap(o, mfns[i])) {
			fail("domain %u: frame %u of its p2m (%#llx) is not "
			    "its own", g->domid, i,
			    (unsigned long long)mfns[i]);
			goto out;
		}
		o->p2m_pfns[i] = o->m2p[mfns[i]];
	}
	rc = 0;
out:
	if (ptes != NULL)
		xenforeignmemory_unmap(xen_fmem, ptes, npages);
	free(mfns);
	return rc;
}

void
xen_pvn_free(struct hv_guest *g)
{
	struct pv_own *o = g->pvn;

	if (o == NULL)
		return;
	xen_pvn_unmap(g);
	if (o->p2m != NULL)
		xenforeignmemory_unmap(xen_fmem, o->p2m, o->p2m_frames);
	if (o->shinfo != NULL)
		xenforeignmemory_unmap(xen_fmem, o->shinfo, 1);
	if (o->m2p != NULL)
		munmap(o->m2p, o->m2p_len);
	free(o->p2m_pfns);
	free(o->deferred);
	free(o->tab);
	free(o);
	g->pvn = NULL;
}

/* The shared info page, where the guest's p2m is told. */
static shared_info_any_t *
map_shinfo(uint32_t domid)
{
	xc_domaininfo_t di;
	xen_pfn_t f;

	if (xen_dominfo(domid, &di) == -1)
		return NULL;
	f = di.shared_info_frame;
	return xenforeignmemory_map(xen_fmem, domid, PROT_READ, 1, &f, NULL);
}

int
xen_pvn_able(struct hv_guest *g)
{
	const char *how = getenv("VMPIPE_XEN_PV_SAVE");
	shared_info_any_t *s;
	unsigned width = 0;
	int ok;

	if (how != NULL && strcmp(how, "libxl") == 0)
		return 0;
	if (xc_domain_get_guest_width(xen_xch, g->domid, &width) == -1 ||
	    width != 8 || (s = map_shinfo(g->domid)) == NULL)
		return 0;
	ok = s->x64.arch.p2m_cr3 != 0;
	xenforeignmemory_unmap(xen_fmem, s, 1);
	return ok;
}

int
xen_pvn_begin(struct hv_guest *g)
{
	struct pv_own *o;
	unsigned long mfn0;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return fail("out of memory");
	g->pvn = o;
	if (xc_maximum_ram_page(xen_xch, &o->max_mfn) < 0)
		return fail("can't read Xen's highest frame: %s",
		    strerror(errno));
	/* What xc_map_m2p() maps: an entry a frame, in whole chunks. */
	o->m2p_len = ((o->max_mfn * sizeof(xen_pfn_t) + M2P_CHUNK - 1) /
	    M2P_CHUNK) * M2P_CHUNK;
	if ((o->m2p = xc_map_m2p(xen_xch, o->max_mfn, PROT_READ, &mfn0)) ==
	    NULL)
		return fail("can't map Xen's m2p: %s", strerror(errno));
	if ((o->shinfo = map_shinfo(g->domid)) == NULL)
		return fail("domain %u: can't map its shared info: %s",
		    g->domid, strerror(errno));
	if (arch(o)->p2m_cr3 == 0 || arch(o)->max_pfn == 0)
		return fail("domain %u keeps no linear p2m", g->domid);
	o->max_pfn = arch(o)->max_pfn - 1;
	o->generation = arch(o)->p2m_generation;
	if (map_p2m(g, o) == -1)
		return -1;
	if ((o->deferred = calloc(o->max_pfn / 64 + 1, 8)) == NULL)
		return fail("out of memory");
	return 0;
}

/*
 * A live copy's rounds: the page tables put off since the last are
 * dirty again, and the guest must not have moved its p2m (libxc's save
 * gives up too: the P2M_FRAMES record would be wrong).
 */
int
xen_pvn_dirty(struct hv_guest *g, uint64_t *bitmap, unsigned long nbits)
{
	struct pv_own *o = g->pvn;

	if (arch(o)->p2m_generation != o->generation)
		return fail("domain %u changed the layout of its p2m during "
		    "the copy", g->domid);
	for (uint64_t i = 0; i <= o->max_pfn / 64 && i * 64 < nbits; i++) {
		bitmap[i] |= o->deferred[i];
		o->deferred[i] = 0;
	}
	return 0;
}

/*
 * A page table with the guest's frames in place of the machine's.  A
 * frame that is not the guest's own is an error (or, while the guest
 * runs, a table caught mid-change: the caller reads it again later).
 */
static int
normalise(struct hv_guest *g, const uint64_t *src, uint64_t *dst,
    unsigned level, uint64_t pfn)
{
	const struct pv_own *o = g->pvn;

	for (unsigned i = 0; i < 512; i++) {
		uint64_t pte = src[i], mfn;

		if (level == 4 && i >= XEN_L4_FIRST && i <= XEN_L4_LAST)
			pte = 0;
		if (pte & PTE_PRESENT) {
			mfn = pte_frame(pte);
			if (level > 1 && (pte & PTE_PSE))
				return fail("domain %u: its L%u table %#llx "
				    "maps a superpage: no save can move it",
				    g->domid, level, (unsigned long long)pfn);
			if (!in_physmap(o, mfn))
				return fail("domain %u: entry %u of its L%u "
				    "table %#llx names frame %#llx, not its "
				    "own", g->domid, i, level,
				    (unsigned long long)pfn,
				    (unsigned long long)mfn);
			pte = (pte & ~PTE_FRAME) |
			    ((o->m2p[mfn] << 12) & PTE_FRAME);
		}
		dst[i] = pte;
	}
	return 0;
}

int
xen_pvn_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, void **ptr,
    void **handle)
{
	struct pv_own *o = g->pvn;
	xen_pfn_t mfn[VMI_PAGES_MAX], type[VMI_PAGES_MAX];
	int err[VMI_PAGES_MAX];
	unsigned k = 0, ntab = 0;

	o->ntables = 0;
	if (n > VMI_PAGES_MAX)
		return fail("can't map %u frames at once (at most %u)", n,
		    VMI_PAGES_MAX);
	for (unsigned i = 0; i < n; i++) {
		ptr[i] = NULL;
		type[i] = mfn[i] = pfn[i] <= o->max_pfn ? o->p2m[pfn[i]] :
		    INVALID;
	}
	if (xc_get_pfn_type_batch(xen_xch, g->domid, n, type) < 0)
		return fail("can't read the types of %u frames of domain %u "
		    "from %#llx: %s", n, g->domid,
		    (unsigned long long)pfn[0], strerror(errno));
	for (unsigned i = 0; i < n; i++) {
		unsigned t = (type[i] & XEN_DOMCTL_PFINFO_LTAB_MASK) >> 28;

		if (t > 4 && t < 9)
			return fail("domain %u: frame %#llx has type %#x, "
			    "unknown", g->domid, (unsigned long long)pfn[i],
			    t);
		if (XSR_PT_HAS_DATA(t))
			mfn[k++] = mfn[i];
		if (XSR_PT_IS_TABLE(t))
			ntab++;
	}
	if (ntab > o->atab) {
		free(o->tab);
		o->atab = 0;
		if ((o->tab = aligned_alloc(4096, (size_t)ntab * 4096)) ==
		    NULL)
			return fail("out of memory");
		o->atab = ntab;
	}
	if (k > 0 && (o->map = xenforeignmemory_map(xen_fmem, g->domid,
	    PROT_READ, k, mfn, err)) == NULL)
		return fail("can't map %u frames of domain %u from %#llx: %s",
		    k, g->domid, (unsigned long long)pfn[0], strerror(errno));
	o->nmap = k;
	*handle = o;
	for (unsigned i = 0, j = 0; i < n; i++) {
		unsigned t = (type[i] & XEN_DOMCTL_PFINFO_LTAB_MASK) >> 28;
		uint8_t *p;

		if (!XSR_PT_HAS_DATA(t))
			continue;
		/* A frame with RAM that can't be mapped fails the save, as
		 * it does libxc's: as a hole it would come back zero. */
		if (err[j] != 0)
			return fail("can't map frame %#llx of domain %u: %s",
			    (unsigned long long)pfn[i], g->domid,
			    strerror(-err[j]));
		p = (uint8_t *)o->map + (size_t)j++ * 4096;
		if (XSR_PT_IS_TABLE(t)) {
			uint8_t *d = o->tab + (size_t)o->ntables * 4096;

			if (normalise(g, (const uint64_t *)p, (uint64_t *)d,
			    t & 7, pfn[i]) == -1) {
				/* The guest runs: a table it is changing is
				 * read again in a later round (libxc's save
				 * does the same).  Suspended, it fails. */
				if (g->suspended)
					return -1;
				hv_clearerr();
				o->deferred[pfn[i] / 64] |= 1ull << pfn[i] % 64;
				continue;
			}
			o->tables[o->ntables++] = pfn[i] | (uint64_t)t << 60;
			p = d;
		}
		ptr[i] = p;
	}
	return 0;
}

void
xen_pvn_unmap(struct hv_guest *g)
{
	struct pv_own *o = g->pvn;

	if (o->map != NULL)
		xenforeignmemory_unmap(xen_fmem, o->map, o->nmap);
	o->map = NULL;
	o->nmap = 0;
}

int
xen_pvn_page_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct pv_own *o = g->pvn;
	struct hv_state st = { VMI_REC_PLATFORM, 0, XEN_TAG_PV_TYPES, 0,
	    NULL };

	if (o->ntables == 0)
		return 0;
	st.len = o->ntables * 8;
	st.data = o->tables;
	return fn(arg, &st);
}

static int
piece(hv_state_fn fn, void *arg, uint32_t tag, const void *data, size_t len)
{
	struct hv_state st = { VMI_REC_PLATFORM, 0, tag, len, data };

	return fn(arg, &st);
}

int
xen_pvn_info(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	uint8_t info[8] = { 8, 4 };	/* guest width, page-table levels */

	(void)g;
	return piece(fn, arg, XSR_X86_PV_INFO, info, sizeof(info));
}

int
xen_pvn_p2m_frames(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct pv_own *o = g->pvn;
	size_t len = 8 + (size_t)o->p2m_frames * 8;
	uint32_t *b;
	int rc;

	if ((b = malloc(len)) == NULL)
		return fail("out of memory");
	b[0] = 0;
	b[1] = (uint32_t)o->max_pfn;
	memcpy(b + 2, o->p2m_pfns, (size_t)o->p2m_frames * 8);
	rc = piece(fn, arg, XSR_X86_PV_P2M_FRAMES, b, len);
	free(b);
	return rc;
}

/* A machine frame as the guest's own frame, or -1 (not the guest's). */
int
xen_pvn_to_pfn(struct hv_guest *g, uint64_t *f)
{
	const struct pv_own *o = g->pvn;

	if (!in_physmap(o, *f))
		return -1;
	*f = o->m2p[*f];
	return 0;
}

/* After the pages (and TSC_INFO, state.c): the shared info page (then
 * pvvcpu.c's records). */
int
xen_pvn_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	return piece(fn, arg, XSR_SHARED_INFO, g->pvn->shinfo, 4096);
}
