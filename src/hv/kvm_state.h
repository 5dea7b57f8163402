/*
 * kvm_state.h: the pieces of KVM state that carry a guest from one VM to
 * another, as the tags of VCPU and PLATFORM records (struct hv_state).
 *
 * Each body is the kernel structure of the matching KVM_GET_* ioctl,
 * byte for byte, as on x86-64 Linux (the image is only ever restored by
 * this backend on x86-64).  get_state emits them in the order set_state
 * must apply them: platform devices first, then for every vCPU its CPUID
 * (which must precede the rest: it decides which MSRs and XSAVE features
 * exist), TSC frequency, registers, ..., and the kvmclock last.
 */
#ifndef KVM_STATE_H
#define KVM_STATE_H

#include <stdint.h>

#include "hv.h"

enum kvm_state_tag {
	/* VMI_REC_VCPU, id = vCPU number */
	KVM_ST_CPUID		= 0x01,	/* struct kvm_cpuid2 + entries */
	KVM_ST_TSC_KHZ		= 0x02,	/* uint64_t, guest TSC frequency */
	KVM_ST_REGS		= 0x03,	/* struct kvm_regs */
	KVM_ST_FPU		= 0x04,	/* struct kvm_fpu */
	KVM_ST_XSAVE		= 0x05,	/* struct kvm_xsave (4096 octets) */
	KVM_ST_XCRS		= 0x06,	/* struct kvm_xcrs */
	KVM_ST_SREGS		= 0x07,	/* struct kvm_sregs */
	KVM_ST_MSRS		= 0x08,	/* struct kvm_msrs + entries, incl. TSC */
	KVM_ST_MP_STATE		= 0x09,	/* struct kvm_mp_state */
	KVM_ST_LAPIC		= 0x0a,	/* struct kvm_lapic_state */
	KVM_ST_EVENTS		= 0x0b,	/* struct kvm_vcpu_events */
	KVM_ST_DEBUGREGS	= 0x0c,	/* struct kvm_debugregs */

	/* VMI_REC_PLATFORM, id = 0 */
	KVM_ST_PIC_MASTER	= 0x101, /* struct kvm_irqchip, chip 0 */
	KVM_ST_PIC_SLAVE	= 0x102, /* struct kvm_irqchip, chip 1 */
	KVM_ST_IOAPIC		= 0x103, /* struct kvm_irqchip, chip 2 */
	KVM_ST_PIT2		= 0x104, /* struct kvm_pit_state2 */
	KVM_ST_CLOCK		= 0x105, /* struct kvm_clock_data */
};

/* What the state code needs to know of a VM; filled by kvm_state_init(). */
struct kvm_vmstate {
	int		 kvm;		/* /dev/kvm */
	int		 vm;
	unsigned	 nvcpus;
	const int	*vcpu;		/* nvcpus vCPU fds */
	void		*msrs;		/* struct kvm_msr_list: readable ones */
	int		 has_xsave, has_xcrs, has_debugregs, has_pit;
};

int	 kvm_state_init(struct kvm_vmstate *, int kvm, int vm, unsigned nvcpus,
	    const int *vcpu);
void	 kvm_state_fini(struct kvm_vmstate *);

/* The guest's vCPUs must be stopped (not inside KVM_RUN). */
int	 kvm_state_get(struct kvm_vmstate *, hv_state_fn fn, void *arg);
int	 kvm_state_set(struct kvm_vmstate *, const struct hv_state *);

/* "REGS", "MSRS", ...; "?" for an unknown tag. */
const char *kvm_state_name(uint32_t tag);

#endif /* KVM_STATE_H */
