/*
 * cpu.c: a guest's CPU policy - what CPUID and its MSRs tell it - across
 * a save.
 *
 * Since Xen 4.14 libxc writes a domain's policy into its stream
 * (X86_CPUID_POLICY, X86_MSR_POLICY, before STATIC_DATA_END), and its
 * restore gives the new domain exactly that policy once it has checked
 * that this host can (xc_set_domain_cpu_policy() refuses one it can't).
 * A stream without them is taken for an older Xen's: the domain keeps the
 * policy it was created with, adjusted for old streams, and the guest's
 * CPUID changes under it.  So the image carries the policy as libxc's
 * two records, among the early pieces, and the guest's CPUID 1 and 7
 * feature words in its GUEST record, which a restore's preflight compares
 * with what this host can give a guest of its type (Xen's max policy)
 * before anything is made, naming what is missing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

/* After xen.h: xenguest.h needs libxenctrl's types. */
#include <xenguest.h>

/* A policy as libxc serialises it; the arrays malloc'd. */
struct policy {
	xen_cpuid_leaf_t	*leaves;
	uint32_t		 nleaves;
	xen_msr_entry_t		*msrs;
	uint32_t		 nmsrs;
};

static void
policy_free(struct policy *p)
{
	free(p->leaves);
	free(p->msrs);
	memset(p, 0, sizeof(*p));
}

/* Xen's system policy idx (XEN_SYSCTL_cpu_policy_*) or, for idx < 0, the
 * policy of domain domid. */
static int
policy_get(int idx, uint32_t domid, struct policy *p)
{
	xc_cpu_policy_t *pol = NULL;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (xc_cpu_policy_get_size(xen_xch, &p->nleaves, &p->nmsrs) == -1) {
		hv_seterr("can't size CPU policies: %s", strerror(errno));
		return -1;
	}
	p->leaves = calloc(p->nleaves ? p->nleaves : 1, sizeof(*p->leaves));
	p->msrs = calloc(p->nmsrs ? p->nmsrs : 1, sizeof(*p->msrs));
	if (p->leaves == NULL || p->msrs == NULL ||
	    (pol = xc_cpu_policy_init()) == NULL)
		goto out;
	if ((idx < 0 ? xc_cpu_policy_get_domain(xen_xch, domid, pol) :
	    xc_cpu_policy_get_system(xen_xch, idx, pol)) == -1) {
		hv_seterr(idx < 0 ? "can't read domain %u's CPU policy: %s" :
		    "can't read Xen's CPU policy %u: %s",
		    idx < 0 ? domid : (uint32_t)idx, strerror(errno));
		goto out;
	}
	if (xc_cpu_policy_serialise(xen_xch, pol, p->leaves, &p->nleaves,
	    p->msrs, &p->nmsrs) == -1) {
		hv_seterr("can't serialise a CPU policy: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	xc_cpu_policy_destroy(pol);
	if (rc == -1)
		policy_free(p);
	return rc;
}

/* CPUID 1.ECX, 1.EDX, 7.0.EBX, 7.0.ECX of a policy: the GUEST record's
 * feature words (vm-image(5)). */
static void
words(const struct policy *p, uint32_t out[4])
{
	memset(out, 0, 4 * sizeof(out[0]));
	for (uint32_t i = 0; i < p->nleaves; i++) {
		const xen_cpuid_leaf_t *l = &p->leaves[i];

		if (l->leaf == 1) {
			out[0] = l->c;
			out[1] = l->d;
		} else if (l->leaf == 7 && l->subleaf == 0) {
			out[2] = l->b;
			out[3] = l->c;
		}
	}
}

int
xen_cpu_features(uint32_t domid, uint32_t out[4])
{
	struct policy p;

	if (policy_get(-1, domid, &p) == -1)
		return -1;
	words(&p, out);
	policy_free(&p);
	return 0;
}

int
xen_cpu_max(const struct hv_info *info, uint32_t out[4])
{
	struct policy p;

	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	if (policy_get(info->guest_type == VMI_GT_XEN_PV ?
	    XEN_SYSCTL_cpu_policy_pv_max : XEN_SYSCTL_cpu_policy_hvm_max, 0,
	    &p) == -1)
		return -1;
	words(&p, out);
	policy_free(&p);
	return 0;
}

/* The early pieces of an HVM or PVH guest: its policy as libxc writes
 * it, then STATIC_DATA_END.  (A PV guest's come from libxc's own
 * stream, pv.c.) */
int
xen_cpu_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	struct policy p;
	struct hv_state st = { VMI_REC_PLATFORM, 0, 0, 0, NULL };
	int rc;

	if (policy_get(-1, g->domid, &p) == -1)
		return -1;
	st.tag = XSR_X86_CPUID_POLICY;
	st.len = p.nleaves * sizeof(*p.leaves);
	st.data = p.leaves;
	if ((rc = fn(arg, &st)) == 0) {
		st.tag = XSR_X86_MSR_POLICY;
		st.len = p.nmsrs * sizeof(*p.msrs);
		st.data = p.msrs;
		rc = fn(arg, &st);
	}
	if (rc == 0) {
		st.tag = XSR_STATIC_DATA_END;
		st.len = 0;
		st.data = NULL;
		rc = fn(arg, &st);
	}
	policy_free(&p);
	return rc;
}
