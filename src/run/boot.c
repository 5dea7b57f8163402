/*
 * boot.c: everything a guest's CPL0 code would normally do, done from
 * outside.  vm-run writes the GDT, TSS and identity page tables into
 * guest memory and sets long mode and CPL3 through KVM_SET_SREGS, since
 * guest CPL0 code may be emulated (slowly) while CPL3 runs natively.
 * Layout and entry conventions: src/proto/kvm_guest_abi.h.
 */
#include <elf.h>
#include <err.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exits.h"
#include "hv.h"
#include "run.h"

#define PTE_P		0x001ull
#define PTE_RW		0x002ull
#define PTE_US		0x004ull
#define PTE_PS		0x080ull

#define CR0_LONG	0x80050033ull	/* PG WP NE ET MP PE, AM */
#define CR4_LONG	0x620ull	/* PAE OSFXSR OSXMMEXCPT */
#define EFER_LONG	0x500ull	/* LME LMA */
#define RFLAGS_IOPL3	0x3002ull
#define TSS_LIMIT	(0x68 + 32)	/* TSS, bitmap of ports 0-255, 0xff */

static uint64_t *
gpa(struct vm *vm, uint64_t a)
{
	return (uint64_t *)(vm->mem + a);
}

static void
build_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gpa(vm, KVMG_PT_GPA);
	uint64_t *pdpt = gpa(vm, KVMG_PT_GPA + 0x1000);
	uint64_t gib = (vm->mem_bytes + (1ull << 30) - 1) >> 30, i, j;

	/* User-accessible, because the guest lives at CPL3. */
	pml4[0] = (KVMG_PT_GPA + 0x1000) | PTE_P | PTE_RW | PTE_US;
	for (i = 0; i < gib; i++) {
		uint64_t pd_gpa = KVMG_PT_GPA + 0x2000 + i * 0x1000;
		uint64_t *pd = gpa(vm, pd_gpa);

		pdpt[i] = pd_gpa | PTE_P | PTE_RW | PTE_US;
		for (j = 0; j < 512; j++) {
			uint64_t a = i << 30 | j << 21;

			if (a >= vm->mem_bytes)
				break;
			pd[j] = a | PTE_P | PTE_RW | PTE_US | PTE_PS;
		}
	}
}

static void
build_gdt(struct vm *vm)
{
	uint64_t *gdt = gpa(vm, KVMG_GDT_GPA), tss = KVMG_TSS_GPA;

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;		/* 0x08 kernel code 64 */
	gdt[2] = 0x00cf92000000ffffull;		/* 0x10 kernel data */
	gdt[3] = 0x00cffa000000ffffull;		/* 0x18 user code 32 */
	gdt[4] = 0x00cff2000000ffffull;		/* 0x20 user data */
	gdt[5] = 0x00affa000000ffffull;		/* 0x28 user code 64 */
	/* 0x30: 64-bit TSS, 16 octets. */
	gdt[6] = TSS_LIMIT | (tss & 0xffffff) << 16 | 0x89ull << 40 |
	    ((tss >> 24) & 0xff) << 56;
	gdt[7] = tss >> 32;
	/* I/O bitmap right after the TSS: ports 0-255 allowed, then 0xff. */
	*(uint16_t *)(vm->mem + KVMG_TSS_GPA + 0x66) = 0x68;
	memset(vm->mem + KVMG_TSS_GPA + 0x68, 0, 32);
	vm->mem[KVMG_TSS_GPA + 0x68 + 32] = 0xff;
}

static uint64_t
load_elf(struct vm *vm, const char *path)
{
	const Elf64_Ehdr *eh;
	uint64_t entry;
	struct stat sb;
	unsigned char *f;
	unsigned i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(VMP_EX_FAIL, "%s", path);
	if (fstat(fd, &sb) == -1)
		err(VMP_EX_FAIL, "%s", path);
	if (sb.st_size < (off_t)sizeof(*eh) || sb.st_size > (64 << 20))
		errx(VMP_EX_FAIL, "%s: not a guest image (size %lld)", path,
		    (long long)sb.st_size);
	if ((f = malloc(sb.st_size)) == NULL)
		err(VMP_EX_FAIL, NULL);
	if (read(fd, f, sb.st_size) != sb.st_size)
		err(VMP_EX_FAIL, "%s: short read", path);
	close(fd);
	eh = (const Elf64_Ehdr *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		errx(VMP_EX_FAIL, "%s: not an x86-64 ELF executable", path);
	if (eh->e_phoff > (uint64_t)sb.st_size ||
	    eh->e_phnum > ((uint64_t)sb.st_size - eh->e_phoff) /
	    sizeof(Elf64_Phdr))
		errx(VMP_EX_FAIL, "%s: bad program headers", path);
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_paddr < KVMG_IMAGE_GPA || ph->p_memsz >
		    KVMG_IMAGE_MAX || ph->p_paddr + ph->p_memsz >
		    KVMG_IMAGE_GPA + KVMG_IMAGE_MAX || ph->p_filesz >
		    ph->p_memsz || ph->p_offset > (uint64_t)sb.st_size ||
		    ph->p_filesz > (uint64_t)sb.st_size - ph->p_offset)
			errx(VMP_EX_FAIL, "%s: segment %u at 0x%llx outside "
			    "the image area", path, i,
			    (unsigned long long)ph->p_paddr);
		/* The rest of memsz is already zero: fresh memfd. */
		memcpy(vm->mem + ph->p_paddr, f + ph->p_offset, ph->p_filesz);
	}
	entry = eh->e_entry;
	free(f);
	if (entry < KVMG_IMAGE_GPA || entry >= KVMG_IMAGE_GPA + KVMG_IMAGE_MAX)
		errx(VMP_EX_FAIL, "%s: entry 0x%llx outside the image", path,
		    (unsigned long long)entry);
	return entry;
}

static void
user_seg(struct kvm_segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3;
	s->present = 1;
	s->dpl = 3;
	s->db = !code;
	s->s = 1;
	s->l = code;
	s->g = 1;
}

static void
boot_vcpu(struct vm *vm, unsigned id, uint64_t entry)
{
	int fd = vm->vcpufd[id];
	struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };
	struct kvm_sregs s;
	struct kvm_regs r;

	if (kvm_get_sregs(fd, &s) == -1)
		errx(VMP_EX_FAIL, "vCPU %u: %s", id, hv_strerror());
	user_seg(&s.cs, KVMG_SEL_UCODE, 1);
	user_seg(&s.ss, KVMG_SEL_UDATA, 0);
	s.ds = s.es = s.fs = s.gs = s.ss;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = KVMG_TSS_GPA;
	s.tr.limit = TSS_LIMIT;
	s.tr.selector = KVMG_SEL_TSS;
	s.tr.type = 0xb;			/* busy 64-bit TSS */
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.type = 2;
	s.ldt.unusable = 1;
	s.gdt.base = KVMG_GDT_GPA;
	s.gdt.limit = 8 * 8 - 1;
	/* No IDT: an exception shuts the vCPU down, which vm-run reports. */
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = CR0_LONG;
	s.cr3 = KVMG_PT_GPA;
	s.cr4 = CR4_LONG;
	s.efer = EFER_LONG;
	if (kvm_set_sregs(fd, &s) == -1)
		errx(VMP_EX_FAIL, "vCPU %u: %s", id, hv_strerror());

	memset(&r, 0, sizeof(r));
	r.rip = entry;
	r.rsp = KVMG_STACK_GPA + (id + 1) * KVMG_STACK_SIZE;
	r.rdi = id;
	r.rsi = KVMG_PARAMS_GPA;
	r.rflags = RFLAGS_IOPL3;
	if (kvm_set_regs(fd, &r) == -1)
		errx(VMP_EX_FAIL, "vCPU %u: %s", id, hv_strerror());
	/* With the in-kernel LAPIC, APs would wait for INIT/SIPI. */
	if (kvm_set_mp_state(fd, &mp) == -1)
		errx(VMP_EX_FAIL, "vCPU %u: %s", id, hv_strerror());
}

void
boot_image(struct vm *vm, const char *path, struct kvmg_params *p)
{
	uint64_t entry;
	unsigned i;

	build_page_tables(vm);
	build_gdt(vm);
	entry = load_elf(vm, path);
	p->magic = KVMG_PARAMS_MAGIC;
	p->mem_bytes = vm->mem_bytes;
	p->tsc_khz = vm->tsc_khz;
	p->vcpus = vm->nvcpus;
	memcpy(vm->mem + KVMG_PARAMS_GPA, p, sizeof(*p));
	for (i = 0; i < vm->nvcpus; i++)
		boot_vcpu(vm, i, entry);
}
