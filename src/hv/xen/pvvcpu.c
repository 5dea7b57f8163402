/*
 * pvvcpu.c: a PV guest's vCPUs as libxc's save writes them, for
 * pvsave.c's save: for each vCPU that is online, X86_PV_VCPU_BASIC (its
 * context), then EXTENDED, XSAVE and MSRS where it has any, each record a
 * header (the vCPU's number) and the hypervisor's own structure.
 *
 * A PV vCPU's context names machine frames - its page tables (CR3, and
 * CR1 for user mode), its GDT's frames and, for vCPU 0, the start info
 * frame its suspend call passed in RDX - and each becomes the guest's own
 * frame (pvsave.c's p2m), which a restore turns back into the new
 * host's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

#define GDT_FRAMES_MAX	14	/* FIRST_RESERVED_GDT_ENTRY / 512 */

/* hv's message for a failed read of vCPU id's what. */
static int
unread(struct hv_guest *g, unsigned id, const char *what)
{
	hv_seterr("can't read vCPU %u of domain %u's %s: %s", id, g->domid,
	    what, strerror(errno));
	errno = EIO;
	return -1;
}

/* A machine frame of a vCPU's context as the guest's, or -1. */
static int
to_pfn(struct hv_guest *g, uint64_t *f, unsigned id, const char *what)
{
	uint64_t mfn = *f;

	if (xen_pvn_to_pfn(g, f) == 0)
		return 0;
	hv_seterr("domain %u: vCPU %u's %s names frame %#llx, not its own",
	    g->domid, id, what, (unsigned long long)mfn);
	errno = EIO;
	return -1;
}

/* A vCPU record: its header (the vCPU's number), then body. */
static int
record(hv_state_fn fn, void *arg, uint32_t tag, unsigned id,
    const void *body, size_t len)
{
	struct hv_state st = { VMI_REC_PLATFORM, 0, tag, 8 + len, NULL };
	uint32_t h[2] = { id, 0 };
	uint8_t *b;
	int rc;

	if ((b = malloc(8 + len)) == NULL) {
		hv_seterr("out of memory");
		errno = ENOMEM;
		return -1;
	}
	memcpy(b, h, 8);
	memcpy(b + 8, body, len);
	st.data = b;
	rc = fn(arg, &st);
	free(b);
	return rc;
}

static int
basic(struct hv_guest *g, unsigned id, hv_state_fn fn, void *arg)
{
	vcpu_guest_context_any_t v;
	vcpu_guest_context_x86_64_t *c = &v.x64;
	uint64_t f;

	if (xc_vcpu_getcontext(xen_xch, g->domid, id, &v) == -1)
		return unread(g, id, "context");
	if (id == 0 && to_pfn(g, &c->user_regs.rdx, id, "start info") == -1)
		return -1;
	if (c->gdt_ents > GDT_FRAMES_MAX * 512) {
		hv_seterr("domain %u: vCPU %u has %llu GDT entries", g->domid,
		    id, (unsigned long long)c->gdt_ents);
		errno = EIO;
		return -1;
	}
	for (unsigned i = 0; i < (c->gdt_ents + 511) / 512; i++)
		if (to_pfn(g, &c->gdt_frames[i], id, "GDT") == -1)
			return -1;
	f = c->ctrlreg[3] >> 12;
	if (to_pfn(g, &f, id, "CR3") == -1)
		return -1;
	c->ctrlreg[3] = f << 12;
	/* CR1: a 64-bit guest's user page tables, with a valid bit. */
	if (c->ctrlreg[1] != 0) {
		f = c->ctrlreg[1] >> 12;
		if (to_pfn(g, &f, id, "CR1") == -1)
			return -1;
		c->ctrlreg[1] = 1 | f << 12;
	}
	return record(fn, arg, XSR_X86_PV_VCPU_BASIC, id, c, sizeof(*c));
}

static int
extended(struct hv_guest *g, unsigned id, hv_state_fn fn, void *arg)
{
	struct xen_domctl d = { .cmd = XEN_DOMCTL_get_ext_vcpucontext,
	    .domain = g->domid };

	d.u.ext_vcpucontext.vcpu = id;
	if (xc_domctl(xen_xch, &d) < 0)
		return unread(g, id, "extended context");
	if (d.u.ext_vcpucontext.size == 0)
		return 0;
	return record(fn, arg, XSR_X86_PV_VCPU_EXT, id, &d.u.ext_vcpucontext,
	    d.u.ext_vcpucontext.size);
}

/* XSAVE state and MSRs: sized by a first call, read by a second into a
 * hypercall buffer; none, no record. */
static int
xsave(struct hv_guest *g, unsigned id, hv_state_fn fn, void *arg)
{
	DECLARE_HYPERCALL_BUFFER(void, buf);
	struct xen_domctl d = { .cmd = XEN_DOMCTL_getvcpuextstate,
	    .domain = g->domid };
	int rc;

	d.u.vcpuextstate.vcpu = id;
	if (xc_domctl(xen_xch, &d) < 0)
		return unread(g, id, "XSAVE state size");
	if (d.u.vcpuextstate.xfeature_mask == 0)
		return 0;
	if ((buf = xc_hypercall_buffer_alloc(xen_xch, buf,
	    d.u.vcpuextstate.size)) == NULL)
		return unread(g, id, "XSAVE state (no buffer)");
	set_xen_guest_handle(d.u.vcpuextstate.buffer, buf);
	if (xc_domctl(xen_xch, &d) < 0)
		rc = unread(g, id, "XSAVE state");
	else
		rc = d.u.vcpuextstate.size == 0 ? 0 : record(fn, arg,
		    XSR_X86_PV_VCPU_XSAVE, id, buf, d.u.vcpuextstate.size);
	xc_hypercall_buffer_free(xen_xch, buf);
	return rc;
}

static int
msrs(struct hv_guest *g, unsigned id, hv_state_fn fn, void *arg)
{
	DECLARE_HYPERCALL_BUFFER(void, buf);
	struct xen_domctl d = { .cmd = XEN_DOMCTL_get_vcpu_msrs,
	    .domain = g->domid };
	const size_t one = sizeof(xen_domctl_vcpu_msr_t);
	int rc;

	d.u.vcpu_msrs.vcpu = id;
	if (xc_domctl(xen_xch, &d) < 0)
		return unread(g, id, "MSR count");
	if (d.u.vcpu_msrs.msr_count == 0)
		return 0;
	if ((buf = xc_hypercall_buffer_alloc(xen_xch, buf,
	    d.u.vcpu_msrs.msr_count * one)) == NULL)
		return unread(g, id, "MSRs (no buffer)");
	set_xen_guest_handle(d.u.vcpu_msrs.msrs, buf);
	if (xc_domctl(xen_xch, &d) < 0)
		rc = unread(g, id, "MSRs");
	else
		rc = d.u.vcpu_msrs.msr_count == 0 ? 0 : record(fn, arg,
		    XSR_X86_PV_VCPU_MSRS, id, buf,
		    d.u.vcpu_msrs.msr_count * one);
	xc_hypercall_buffer_free(xen_xch, buf);
	return rc;
}

int
xen_pvn_vcpus(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	xc_domaininfo_t di;
	int rc;

	if (xen_dominfo(g->domid, &di) == -1) {
		hv_seterr("domain %u is gone during its save", g->domid);
		errno = ESRCH;
		return -1;
	}
	for (unsigned id = 0; id <= di.max_vcpu_id; id++) {
		xc_vcpuinfo_t vi;

		if (xc_vcpu_getinfo(xen_xch, g->domid, id, &vi) == -1)
			return unread(g, id, "state");
		if (!vi.online)
			continue;
		if ((rc = basic(g, id, fn, arg)) != 0 ||
		    (rc = extended(g, id, fn, arg)) != 0 ||
		    (rc = xsave(g, id, fn, arg)) != 0 ||
		    (rc = msrs(g, id, fn, arg)) != 0)
			return rc;
	}
	return 0;
}
