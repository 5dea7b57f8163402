/*
 * kvm_ioctl.h: one small named function per KVM ioctl vmpipe uses.
 * Each returns the ioctl's non-negative result, or -1 with errno kept
 * and a message naming the ioctl left by hv_seterr().
 */
#ifndef KVM_IOCTL_H
#define KVM_IOCTL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

int	kvm_open_dev(void);
int	kvm_api_version(int kvm);
int	kvm_check_extension(int fd, long cap);
int	kvm_create_vm(int kvm);
int	kvm_vcpu_mmap_size(int kvm);
int	kvm_get_supported_cpuid(int kvm, struct kvm_cpuid2 **out);
/* A kvm_cpuid2 from get (KVM_GET_SUPPORTED_CPUID, KVM_GET_CPUID2), in a
 * buffer grown until it fits; *out is malloc'd. */
int	kvm_cpuid_alloc(int fd, int (*get)(int, struct kvm_cpuid2 *),
	    struct kvm_cpuid2 **out);
int	kvm_get_msr_index_list(int kvm, struct kvm_msr_list **out);

int	kvm_set_tss_addr(int vm, uint64_t addr);
int	kvm_set_identity_map_addr(int vm, uint64_t addr);
int	kvm_create_irqchip(int vm);
int	kvm_create_pit2(int vm);
int	kvm_set_memslot(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
	    uint64_t size, void *hva);
int	kvm_get_dirty_log(int vm, uint32_t slot, void *bitmap);
int	kvm_get_irqchip(int vm, struct kvm_irqchip *);
int	kvm_set_irqchip(int vm, struct kvm_irqchip *);
int	kvm_get_pit2(int vm, struct kvm_pit_state2 *);
int	kvm_set_pit2(int vm, struct kvm_pit_state2 *);
int	kvm_get_clock(int vm, struct kvm_clock_data *);
int	kvm_set_clock(int vm, struct kvm_clock_data *);
int	kvm_create_vcpu(int vm, unsigned id);

int	kvm_run(int vcpu);
int	kvm_set_cpuid2(int vcpu, struct kvm_cpuid2 *);
int	kvm_get_cpuid2(int vcpu, struct kvm_cpuid2 *);
int	kvm_get_tsc_khz(int vcpu);
int	kvm_set_tsc_khz(int vcpu, unsigned long khz);
int	kvm_get_regs(int vcpu, struct kvm_regs *);
int	kvm_set_regs(int vcpu, struct kvm_regs *);
int	kvm_get_sregs(int vcpu, struct kvm_sregs *);
int	kvm_set_sregs(int vcpu, struct kvm_sregs *);
int	kvm_get_fpu(int vcpu, struct kvm_fpu *);
int	kvm_set_fpu(int vcpu, struct kvm_fpu *);
int	kvm_get_xsave(int vcpu, struct kvm_xsave *);
int	kvm_set_xsave(int vcpu, struct kvm_xsave *);
int	kvm_get_xcrs(int vcpu, struct kvm_xcrs *);
int	kvm_set_xcrs(int vcpu, struct kvm_xcrs *);
int	kvm_get_msrs(int vcpu, struct kvm_msrs *);
int	kvm_set_msrs(int vcpu, struct kvm_msrs *);
int	kvm_get_lapic(int vcpu, struct kvm_lapic_state *);
int	kvm_set_lapic(int vcpu, struct kvm_lapic_state *);
int	kvm_get_vcpu_events(int vcpu, struct kvm_vcpu_events *);
int	kvm_set_vcpu_events(int vcpu, struct kvm_vcpu_events *);
int	kvm_get_mp_state(int vcpu, struct kvm_mp_state *);
int	kvm_set_mp_state(int vcpu, struct kvm_mp_state *);
int	kvm_get_debugregs(int vcpu, struct kvm_debugregs *);
int	kvm_set_debugregs(int vcpu, struct kvm_debugregs *);

#endif /* KVM_IOCTL_H */
