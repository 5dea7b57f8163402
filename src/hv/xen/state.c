/*
 * state.c: a guest's state, as Xen's own migration stream carries it.
 * For PVH and HVM: TSC_INFO, HVM_CONTEXT (every vCPU and the emulated
 * platform in one blob) and HVM_PARAMS (where the special pages are, and
 * the few settings that go with the guest), then for HVM the device
 * model's records (dm.c).  For PV: the records of libxc's own save
 * (pv.c), or the same made by pvsave.c.  Each becomes one PLATFORM piece
 * whose tag is the stream's record type (xen.h), so that restore hands
 * it to libxl unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

#include <xen/hvm/params.h>

/* The parameters a guest takes with it (as libxc's save sends them).
 * The event channels are not among them: the new guest gets its own. */
static const uint32_t params[] = {
	HVM_PARAM_STORE_PFN,
	HVM_PARAM_IOREQ_PFN,
	HVM_PARAM_BUFIOREQ_PFN,
	HVM_PARAM_PAGING_RING_PFN,
	HVM_PARAM_MONITOR_RING_PFN,
	HVM_PARAM_SHARING_RING_PFN,
	HVM_PARAM_VM86_TSS_SIZED,
	HVM_PARAM_CONSOLE_PFN,
	HVM_PARAM_ACPI_IOPORTS_LOCATION,
	HVM_PARAM_VIRIDIAN,
	HVM_PARAM_IDENT_PT,
	HVM_PARAM_VM_GENERATION_ID_ADDR,
	HVM_PARAM_IOREQ_SERVER_PFN,
	HVM_PARAM_NR_IOREQ_SERVER_PAGES,
	HVM_PARAM_X87_FIP_WIDTH,
	HVM_PARAM_MCA_CAP,
};
#define NPARAMS	(sizeof(params) / sizeof(params[0]))

/* The most libxl records a restore holds for commit(). */
#define XEN_TAIL_MAX	64
#define XEN_TAIL_OCTETS	(64u << 20)

/* Bodies, little-endian as on the wire of Xen's stream. */
struct tsc_info {
	uint32_t	mode;
	uint32_t	khz;
	uint64_t	nsec;
	uint32_t	incarnation;
	uint32_t	reserved;
};

struct param_entry {
	uint64_t	index;
	uint64_t	value;
};

static int
emit(hv_state_fn fn, void *arg, uint32_t tag, const void *data, size_t len)
{
	struct hv_state st = { VMI_REC_PLATFORM, 0, tag, len, data };

	return fn(arg, &st);
}

int
xen_get_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct tsc_info tsc = { 0 };
	struct {
		uint32_t		count, reserved;
		struct param_entry	e[NPARAMS];
	} p = { 0 };
	uint8_t *ctx;
	int len, rc;

	hv_clearerr();
	if (g->type == VMI_GT_XEN_PV && g->pvn == NULL)
		return xen_pv_state(g, fn, arg);
	if (xc_domain_get_tsc_info(xen_xch, g->domid, &tsc.mode, &tsc.nsec,
	    &tsc.khz, &tsc.incarnation) < 0) {
		hv_seterr("can't read domain %u's TSC: %s", g->domid,
		    strerror(errno));
		return -1;
	}
	if ((rc = emit(fn, arg, XSR_TSC_INFO, &tsc, sizeof(tsc))) != 0)
		return rc;
	/* pvsave.c's PV guest: TSC_INFO, then as libxc's own save. */
	if (g->pvn != NULL)
		return (rc = xen_pvn_state(g, fn, arg)) != 0 ? rc :
		    xen_pvn_vcpus(g, fn, arg);

	if ((len = xc_domain_hvm_getcontext(xen_xch, g->domid, NULL, 0)) < 0) {
		hv_seterr("can't size domain %u's HVM context: %s", g->domid,
		    strerror(errno));
		return -1;
	}
	if ((ctx = malloc(len)) == NULL)
		return -1;
	if ((len = xc_domain_hvm_getcontext(xen_xch, g->domid, ctx, len)) < 0) {
		int e = errno;

		free(ctx);
		hv_seterr("can't read domain %u's HVM context: %s", g->domid,
		    strerror(e));
		errno = e;
		return -1;
	}
	rc = emit(fn, arg, XSR_HVM_CONTEXT, ctx, len);
	free(ctx);
	if (rc != 0)
		return rc;

	for (size_t i = 0; i < NPARAMS; i++) {
		uint64_t v;

		if (xc_hvm_param_get(xen_xch, g->domid, params[i], &v) < 0) {
			hv_seterr("can't read domain %u's HVM parameter %u: "
			    "%s", g->domid, params[i], strerror(errno));
			return -1;
		}
		if (v == 0)
			continue;
		p.e[p.count].index = params[i];
		p.e[p.count].value = v;
		p.count++;
	}
	if ((rc = emit(fn, arg, XSR_HVM_PARAMS, &p,
	    8 + p.count * sizeof(p.e[0]))) != 0)
		return rc;
	return g->type == VMI_GT_XEN_HVM ? xen_dm_state(g, fn, arg) : 0;
}

/*
 * Before the pages: the Xen version (for an xl save file made of the
 * image), then a PV guest's early records from libxc's own stream, or an
 * HVM or PVH guest's CPU policy (cpu.c).
 */
int
xen_early_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	uint32_t v;
	int rc;

	hv_clearerr();
	v = (uint32_t)xc_version(xen_xch, XENVER_version, NULL);
	if ((rc = emit(fn, arg, XEN_TAG_VERSION, &v, sizeof(v))) != 0)
		return rc;
	/* A live copy of a PV guest that pvsave.c can take begins here,
	 * the guest running (offline, suspend() began it). */
	if (g->type == VMI_GT_XEN_PV && g->pvn == NULL && g->pv == NULL &&
	    !g->suspended && xen_pvn_able(g)) {
		if (!xen_has_shadow())
			return xen_pv_no_live(g);
		if (xen_pvn_begin(g) == -1)
			return -1;
	}
	/* pvsave.c's PV guest: X86_PV_INFO, its CPU policy as an HVM
	 * guest's, then P2M_FRAMES, in the order of libxc's own save. */
	if (g->pvn != NULL)
		return (rc = xen_pvn_info(g, fn, arg)) != 0 ||
		    (rc = xen_cpu_state(g, fn, arg)) != 0 ? rc :
		    xen_pvn_p2m_frames(g, fn, arg);
	return g->type == VMI_GT_XEN_PV ? xen_pv_early_state(g, fn, arg) :
	    xen_cpu_state(g, fn, arg);
}

/*
 * libxl's records come after libxc's END: held until commit().
 */
struct xen_tail {
	struct xen_tail	*next;
	uint32_t	 type;
	uint32_t	 len;
	uint8_t		 body[];
};

static int
tail_add(struct hv_guest *g, uint32_t type, const void *data, uint32_t len)
{
	struct xen_tail *t, **p;

	/* A peer chooses how many; a guest has a handful (the emulator's
	 * context, its extra state), a few MiB in all. */
	if (g->tail_n >= XEN_TAIL_MAX || len > XEN_TAIL_OCTETS -
	    g->tail_octets) {
		hv_seterr("more libxl records than a guest has: expected at "
		    "most %u records and %u MiB in all", XEN_TAIL_MAX,
		    XEN_TAIL_OCTETS >> 20);
		errno = EINVAL;
		return -1;
	}
	if ((t = malloc(sizeof(*t) + len)) == NULL)
		return -1;
	g->tail_n++;
	g->tail_octets += len;
	t->next = NULL;
	t->type = type;
	t->len = len;
	memcpy(t->body, data, len);
	for (p = &g->tail; *p != NULL; p = &(*p)->next)
		;
	*p = t;
	return 0;
}

int
xen_tail_write(struct hv_guest *g)
{
	for (struct xen_tail *t = g->tail; t != NULL; t = t->next)
		if (xen_stream_record(g, t->type, t->body, t->len, NULL, 0) ==
		    -1)
			return -1;
	return 0;
}

void
xen_tail_free(struct hv_guest *g)
{
	while (g->tail != NULL) {
		struct xen_tail *t = g->tail;

		g->tail = t->next;
		free(t);
	}
	g->tail_n = 0;
	g->tail_octets = 0;
}

/* PV page types: frame words, kept for the pages (put.c). */
static int
set_types(struct hv_guest *g, const struct hv_state *st)
{
	const uint8_t *d = st->data;

	if (st->len == 0 || st->len % 8 != 0)
		return -1;
	for (uint32_t i = 0; i < st->len; i += 8) {
		uint64_t w;

		memcpy(&w, d + i, 8);
		if (!XSR_TYPE_WORD_OK(w, g->nptype)) {
			hv_seterr("PV page types: bad frame word %#llx",
			    (unsigned long long)w);
			errno = EINVAL;
			return -2;
		}
		g->ptype[w & XSR_PFN_MASK] = XSR_PAGE_TYPE(w);
	}
	return 0;
}

/* Which pieces a guest of each type takes, and how long each may be. */
static int
tag_ok(uint32_t type, uint32_t tag, uint32_t len)
{
	switch (tag) {
	case XSR_TSC_INFO:
		return len == sizeof(struct tsc_info);
	case XSR_HVM_CONTEXT:
		return type != VMI_GT_XEN_PV && len > 0 && len <= (64u << 20);
	case XSR_HVM_PARAMS:
		return type != VMI_GT_XEN_PV && len >= 8;
	case XEN_TAG_LIBXL | XLR_EMULATOR_XENSTORE:
	case XEN_TAG_LIBXL | XLR_EMULATOR_CONTEXT:
		return type == VMI_GT_XEN_HVM && len > 8;
	case XEN_TAG_VERSION:
		return len == sizeof(uint32_t);
	case XSR_X86_CPUID_POLICY:
		/* A policy has some 100 leaves of 24 octets, MSRs 16. */
		return len % 24 == 0 && len <= (64u << 10);
	case XSR_X86_MSR_POLICY:
		return len % 16 == 0 && len <= (64u << 10);
	case XSR_STATIC_DATA_END:
		return len == 0;
	case XSR_X86_PV_INFO:
	case XSR_X86_PV_P2M_FRAMES:
	case XSR_X86_PV_VCPU_BASIC:
	case XSR_X86_PV_VCPU_EXT:
	case XSR_X86_PV_VCPU_XSAVE:
	case XSR_SHARED_INFO:
	case XSR_X86_PV_VCPU_MSRS:
	case XEN_TAG_PV_TYPES:
		return type == VMI_GT_XEN_PV;
	}
	return -1;
}

/*
 * Restore: check each piece and pass it on to libxl's restore as the
 * record it came from: libxc's at once, in the order they come (a PV
 * guest's early pieces come before its pages, as libxc needs them),
 * libxl's at commit(), after libxc's END.  HVM_CONTEXT is applied by
 * libxc once its stream ends; parameters and TSC at once.  A PV guest's
 * page types are kept for the pages still to come.
 */
int
xen_set_state(struct hv_guest *g, const struct hv_state *st)
{
	hv_clearerr();
	if (!g->creating) {
		hv_seterr("domain %u: state can only be set on a guest being "
		    "restored", g->domid);
		errno = EINVAL;
		return -1;
	}
	if (st->kind != VMI_REC_PLATFORM || st->id != 0) {
		hv_seterr("Xen guests carry no per-vCPU records (got kind %u "
		    "id %u)", st->kind, st->id);
		errno = EINVAL;
		return -1;
	}
	if (xen_debug)
		fprintf(stderr, "xen: state piece %#x, %u octets\n", st->tag,
		    st->len);
	switch (tag_ok(g->type, st->tag, st->len)) {
	case -1:
		hv_seterr("unknown Xen state tag %#x", st->tag);
		errno = EINVAL;
		return -1;
	case 0:
		goto badlen;
	}
	if (st->tag == XSR_HVM_PARAMS) {
		uint32_t count;

		memcpy(&count, st->data, 4);
		if (count > 1024 || st->len != 8 + count * 16)
			goto badlen;
	}
	/* The saving host's; the stream says this one's (create.c). */
	if (st->tag == XEN_TAG_VERSION)
		return 0;
	if (st->tag == XEN_TAG_PV_TYPES) {
		int rc = set_types(g, st);

		if (rc == -1)
			goto badlen;
		return rc == 0 ? 0 : -1;
	}
	if (st->tag & XEN_TAG_LIBXL) {
		if (tail_add(g, st->tag & ~XEN_TAG_LIBXL, st->data, st->len) ==
		    -1)
			return -1;
		return 0;
	}
	if (xen_stream_record(g, st->tag, st->data, st->len, NULL, 0) == -1) {
		hv_seterr("libxl gave up on the restore: %s",
		    xen_stream_why(g));
		errno = EIO;
		return -1;
	}
	return 0;
badlen:
	hv_seterr("Xen state tag %#x of %u octets does not fit a %s guest",
	    st->tag, st->len, g->type == VMI_GT_XEN_PV ? "PV" :
	    g->type == VMI_GT_XEN_HVM ? "HVM" : "PVH");
	errno = EINVAL;
	return -1;
}
