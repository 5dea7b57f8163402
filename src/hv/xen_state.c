/*
 * xen_state.c: a PVH or HVM guest's state, as Xen's own migration stream
 * carries it: TSC_INFO, HVM_CONTEXT (every vCPU and the emulated platform
 * in one blob) and HVM_PARAMS (where the special pages are, and the few
 * settings that go with the guest).  Each becomes one PLATFORM piece
 * whose tag is the stream's record type, so that restore hands it to
 * libxl unchanged.
 */
#include <errno.h>
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
	if (xen_unsupported(g) == -1)
		return -1;
	if (xc_domain_get_tsc_info(xen_xch, g->domid, &tsc.mode, &tsc.nsec,
	    &tsc.khz, &tsc.incarnation) < 0) {
		hv_seterr("can't read domain %u's TSC: %s", g->domid,
		    strerror(errno));
		return -1;
	}
	if ((rc = emit(fn, arg, XSR_TSC_INFO, &tsc, sizeof(tsc))) != 0)
		return rc;

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
	return emit(fn, arg, XSR_HVM_PARAMS, &p,
	    8 + p.count * sizeof(p.e[0]));
}

/*
 * Restore: check each piece and pass it on to libxl's restore as the
 * record it came from.  HVM_CONTEXT is applied by libxc once the stream
 * ends; parameters and TSC at once.
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
	switch (st->tag) {
	case XSR_TSC_INFO:
		if (st->len != sizeof(struct tsc_info))
			goto badlen;
		break;
	case XSR_HVM_CONTEXT:
		if (st->len == 0 || st->len > (64u << 20))
			goto badlen;
		break;
	case XSR_HVM_PARAMS: {
		uint32_t count;

		if (st->len < 8)
			goto badlen;
		memcpy(&count, st->data, 4);
		if (count > 1024 || st->len != 8 + count * 16)
			goto badlen;
		break;
	}
	default:
		hv_seterr("unknown Xen state tag %#x", st->tag);
		errno = EINVAL;
		return -1;
	}
	if (xen_stream_record(g, st->tag, st->data, st->len, NULL, 0) == -1) {
		hv_seterr("can't pass state to libxl: %s", strerror(errno));
		return -1;
	}
	return 0;
badlen:
	hv_seterr("Xen state tag %#x: bad length %u", st->tag, st->len);
	errno = EINVAL;
	return -1;
}
