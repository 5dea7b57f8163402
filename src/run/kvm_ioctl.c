/*
 * kvm_ioctl.c: the KVM ioctls, one named function each, so that a
 * failure says which call failed and the callers stay readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv.h"
#include "kvm_ioctl.h"

/* The ioctl, and on failure a message "NAME: strerror" for hv_strerror(). */
static int
kio(int fd, unsigned long req, void *arg, const char *what)
{
	int r, e;

	do
		r = ioctl(fd, req, arg);
	while (r == -1 && errno == EINTR && req != KVM_RUN);
	if (r == -1) {
		e = errno;
		hv_seterr("%s: %s", what, strerror(e));
		errno = e;
	}
	return r;
}

#define KIO(fd, req, arg)	kio(fd, req, arg, #req)

int
kvm_open_dev(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), e;

	if (fd == -1) {
		e = errno;
		hv_seterr("/dev/kvm: %s", strerror(e));
		errno = e;
	}
	return fd;
}

int kvm_api_version(int kvm) { return KIO(kvm, KVM_GET_API_VERSION, NULL); }

int
kvm_check_extension(int fd, long cap)
{
	return kio(fd, KVM_CHECK_EXTENSION, (void *)cap, "KVM_CHECK_EXTENSION");
}

int
kvm_create_vm(int kvm)
{
	return KIO(kvm, KVM_CREATE_VM, NULL);
}

int
kvm_vcpu_mmap_size(int kvm)
{
	return KIO(kvm, KVM_GET_VCPU_MMAP_SIZE, NULL);
}

/* Grow the buffer until KVM stops saying E2BIG. */
int
kvm_cpuid_alloc(int fd, int (*get)(int, struct kvm_cpuid2 *),
    struct kvm_cpuid2 **out)
{
	unsigned n;

	for (n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
		    n * sizeof(c->entries[0]));

		if (c == NULL)
			return -1;
		c->nent = n;
		if (get(fd, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -1;
	}
	return -1;
}

static int
supported_cpuid(int kvm, struct kvm_cpuid2 *c)
{
	return kio(kvm, KVM_GET_SUPPORTED_CPUID, c, "KVM_GET_SUPPORTED_CPUID");
}

int
kvm_get_supported_cpuid(int kvm, struct kvm_cpuid2 **out)
{
	return kvm_cpuid_alloc(kvm, supported_cpuid, out);
}

int
kvm_get_msr_index_list(int kvm, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	int e;

	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe) == -1 && errno != E2BIG)
		return KIO(kvm, KVM_GET_MSR_INDEX_LIST, &probe);
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (l == NULL)
		return -1;
	l->nmsrs = probe.nmsrs;
	if (KIO(kvm, KVM_GET_MSR_INDEX_LIST, l) == -1) {
		e = errno;
		free(l);
		errno = e;
		return -1;
	}
	*out = l;
	return 0;
}

int
kvm_set_tss_addr(int vm, uint64_t addr)
{
	return kio(vm, KVM_SET_TSS_ADDR, (void *)(uintptr_t)addr,
	    "KVM_SET_TSS_ADDR");
}

int
kvm_set_identity_map_addr(int vm, uint64_t addr)
{
	return KIO(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr);
}

int kvm_create_irqchip(int vm) { return KIO(vm, KVM_CREATE_IRQCHIP, NULL); }

int
kvm_create_pit2(int vm)
{
	struct kvm_pit_config c = { .flags = 0 };

	return KIO(vm, KVM_CREATE_PIT2, &c);
}

int
kvm_set_memslot(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
    uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return KIO(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

int
kvm_get_dirty_log(int vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log l = { .slot = slot, .dirty_bitmap = bitmap };

	return KIO(vm, KVM_GET_DIRTY_LOG, &l);
}

int kvm_get_irqchip(int vm, struct kvm_irqchip *c)
{ return KIO(vm, KVM_GET_IRQCHIP, c); }
int kvm_set_irqchip(int vm, struct kvm_irqchip *c)
{ return KIO(vm, KVM_SET_IRQCHIP, c); }
int kvm_get_pit2(int vm, struct kvm_pit_state2 *p)
{ return KIO(vm, KVM_GET_PIT2, p); }
int kvm_set_pit2(int vm, struct kvm_pit_state2 *p)
{ return KIO(vm, KVM_SET_PIT2, p); }
int kvm_get_clock(int vm, struct kvm_clock_data *c)
{ return KIO(vm, KVM_GET_CLOCK, c); }
int kvm_set_clock(int vm, struct kvm_clock_data *c)
{ return KIO(vm, KVM_SET_CLOCK, c); }

int
kvm_create_vcpu(int vm, unsigned id)
{
	return kio(vm, KVM_CREATE_VCPU, (void *)(uintptr_t)id,
	    "KVM_CREATE_VCPU");
}

/* KVM_RUN is not retried on EINTR: that is how a kicked vCPU stops. */
int kvm_run(int vcpu) { return KIO(vcpu, KVM_RUN, NULL); }

int kvm_set_cpuid2(int vcpu, struct kvm_cpuid2 *c)
{ return KIO(vcpu, KVM_SET_CPUID2, c); }
int kvm_get_cpuid2(int vcpu, struct kvm_cpuid2 *c)
{ return KIO(vcpu, KVM_GET_CPUID2, c); }
int kvm_get_tsc_khz(int vcpu) { return KIO(vcpu, KVM_GET_TSC_KHZ, NULL); }

int
kvm_set_tsc_khz(int vcpu, unsigned long khz)
{
	return kio(vcpu, KVM_SET_TSC_KHZ, (void *)khz, "KVM_SET_TSC_KHZ");
}

int kvm_get_regs(int v, struct kvm_regs *r) { return KIO(v, KVM_GET_REGS, r); }
int kvm_set_regs(int v, struct kvm_regs *r) { return KIO(v, KVM_SET_REGS, r); }
int kvm_get_sregs(int v, struct kvm_sregs *s)
{ return KIO(v, KVM_GET_SREGS, s); }
int kvm_set_sregs(int v, struct kvm_sregs *s)
{ return KIO(v, KVM_SET_SREGS, s); }
int kvm_get_fpu(int v, struct kvm_fpu *f) { return KIO(v, KVM_GET_FPU, f); }
int kvm_set_fpu(int v, struct kvm_fpu *f) { return KIO(v, KVM_SET_FPU, f); }
int kvm_get_xsave(int v, struct kvm_xsave *x)
{ return KIO(v, KVM_GET_XSAVE, x); }
int kvm_set_xsave(int v, struct kvm_xsave *x)
{ return KIO(v, KVM_SET_XSAVE, x); }
int kvm_get_xcrs(int v, struct kvm_xcrs *x) { return KIO(v, KVM_GET_XCRS, x); }
int kvm_set_xcrs(int v, struct kvm_xcrs *x) { return KIO(v, KVM_SET_XCRS, x); }
int kvm_get_msrs(int v, struct kvm_msrs *m) { return KIO(v, KVM_GET_MSRS, m); }
int kvm_set_msrs(int v, struct kvm_msrs *m) { return KIO(v, KVM_SET_MSRS, m); }
int kvm_get_lapic(int v, struct kvm_lapic_state *l)
{ return KIO(v, KVM_GET_LAPIC, l); }
int kvm_set_lapic(int v, struct kvm_lapic_state *l)
{ return KIO(v, KVM_SET_LAPIC, l); }
int kvm_get_vcpu_events(int v, struct kvm_vcpu_events *e)
{ return KIO(v, KVM_GET_VCPU_EVENTS, e); }
int kvm_set_vcpu_events(int v, struct kvm_vcpu_events *e)
{ return KIO(v, KVM_SET_VCPU_EVENTS, e); }
int kvm_get_mp_state(int v, struct kvm_mp_state *m)
{ return KIO(v, KVM_GET_MP_STATE, m); }
int kvm_set_mp_state(int v, struct kvm_mp_state *m)
{ return KIO(v, KVM_SET_MP_STATE, m); }
int kvm_get_debugregs(int v, struct kvm_debugregs *d)
{ return KIO(v, KVM_GET_DEBUGREGS, d); }
int kvm_set_debugregs(int v, struct kvm_debugregs *d)
{ return KIO(v, KVM_SET_DEBUGREGS, d); }
