/*
 * vm.c: creating the KVM VM and its vCPUs, and the VM-wide operations
 * (dirty logging, CPU features) that the control socket offers.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exits.h"
#include "hv.h"
#include "run.h"

#define SLOT	0

static void
set_apic_id(struct kvm_cpuid2 *c, unsigned id)
{
	unsigned i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | id << 24;
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = id;
	}
}

void
vm_create(struct vm *vm)
{
	unsigned i;

	if ((vm->kvm = kvm_open_dev()) == -1)
		errx(VMP_EX_FAIL, "%s", hv_strerror());
	if (kvm_api_version(vm->kvm) != KVM_API_VERSION)
		errx(VMP_EX_FAIL, "/dev/kvm: unexpected API version");
	if ((vm->fd = kvm_create_vm(vm->kvm)) == -1 ||
	    kvm_create_irqchip(vm->fd) == -1 ||
	    kvm_create_pit2(vm->fd) == -1 ||
	    (vm->runsz = kvm_vcpu_mmap_size(vm->kvm)) == -1 ||
	    kvm_get_supported_cpuid(vm->kvm, &vm->cpuid) == -1)
		errx(VMP_EX_FAIL, "%s", hv_strerror());
	if (kvm_set_memslot(vm->fd, SLOT, 0, 0, vm->mem_bytes, vm->mem) == -1)
		errx(VMP_EX_FAIL, "%s", hv_strerror());

	vm->vcpu = calloc(vm->nvcpus, sizeof(*vm->vcpu));
	vm->vcpufd = calloc(vm->nvcpus, sizeof(*vm->vcpufd));
	if (vm->vcpu == NULL || vm->vcpufd == NULL)
		err(VMP_EX_FAIL, "vCPUs");
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		int fd;

		v->vm = vm;
		v->id = i;
		if ((fd = kvm_create_vcpu(vm->fd, i)) == -1)
			errx(VMP_EX_FAIL, "vCPU %u: %s", i, hv_strerror());
		v->fd = vm->vcpufd[i] = fd;
		v->run = mmap(NULL, vm->runsz, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
		if (v->run == MAP_FAILED)
			err(VMP_EX_FAIL, "vCPU %u: mmap kvm_run", i);
		set_apic_id(vm->cpuid, i);
		if (kvm_set_cpuid2(fd, vm->cpuid) == -1)
			errx(VMP_EX_FAIL, "vCPU %u: %s", i, hv_strerror());
	}
	if (vm->tsc_khz == 0) {
		int khz = kvm_get_tsc_khz(vm->vcpufd[0]);

		if (khz <= 0)
			errx(VMP_EX_FAIL, "%s", hv_strerror());
		vm->tsc_khz = (uint64_t)khz;
	}
	(void)vm_cpu_features(vm);
	if (kvm_state_init(&vm->st, vm->kvm, vm->fd, vm->nvcpus,
	    vm->vcpufd) == -1)
		errx(VMP_EX_FAIL, "%s", hv_strerror());
	vm->bitmap = calloc(1, (vm->mem_bytes >> 12) / 8 + 8);
	if (vm->bitmap == NULL)
		err(VMP_EX_FAIL, "dirty bitmap");
	if (vm->disk_fd != -1 &&
	    (vm->devdirty = calloc(1, (vm->mem_bytes >> 12) / 8 + 8)) == NULL)
		err(VMP_EX_FAIL, "dirty bitmap");
}

/*
 * Read the features the guest sees into vm->features (restore may have
 * replaced CPUID).  Only while no vCPU is in KVM_RUN: a vCPU ioctl waits
 * for the vCPU's mutex, which KVM_RUN holds for as long as the guest
 * runs without an exit to us, seconds at times.
 */
int
vm_cpu_features(struct vm *vm)
{
	uint32_t *out = vm->features;
	struct kvm_cpuid2 *c;
	unsigned i, n = 256;

	memset(out, 0, sizeof(vm->features));
	c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	if (c == NULL)
		return -1;
	c->nent = n;
	if (kvm_get_cpuid2(vm->vcpufd[0], c) == -1) {
		free(c);
		return -1;
	}
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			out[0] = e->ecx;
			out[1] = e->edx;
		} else if (e->function == 7 && e->index == 0) {
			out[2] = e->ebx;
			out[3] = e->ecx;
		}
	}
	free(c);
	return 0;
}

/* Switching the flag on write-protects all memory and starts an empty log. */
int
vm_log_dirty(struct vm *vm, int on)
{
	if (kvm_set_memslot(vm->fd, SLOT, on ? KVM_MEM_LOG_DIRTY_PAGES : 0, 0,
	    vm->mem_bytes, vm->mem) == -1)
		return -1;
	vm->logging = on;
	return 0;
}

/* Fetch and clear the log into vm->bitmap; returns the frames set. */
long
vm_dirty_fetch(struct vm *vm)
{
	size_t i, words = ((vm->mem_bytes >> 12) + 63) / 64;
	long n = 0;

	if (!vm->logging) {
		hv_seterr("dirty logging is off");
		errno = EINVAL;
		return -1;
	}
	if (kvm_get_dirty_log(vm->fd, SLOT, vm->bitmap) == -1)
		return -1;
	/* And the frames vm-run wrote itself (disk reads): taken word by
	 * word, so one it marks after the exchange is in the next fetch. */
	if (vm->devdirty != NULL)
		for (i = 0; i < words; i++)
			vm->bitmap[i] |= __atomic_exchange_n(&vm->devdirty[i],
			    0, __ATOMIC_ACQ_REL);
	for (i = 0; i < words; i++)
		n += __builtin_popcountll(vm->bitmap[i]);
	return n;
}
