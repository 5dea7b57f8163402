/*
 * kvm_guest_abi.h: what vm-run and the test guest (guest/) agree on; the
 * KVM backend checks a restored guest against its limits (src/hv/kvm).
 *
 * vm-run builds the whole CPL0 environment itself (GDT, TSS, identity
 * page tables with 2 MiB pages, long mode through KVM_SET_SREGS) and
 * starts every vCPU directly at CPL3, because guest CPL0 code is emulated
 * on the hosts this toolkit is tested on.  Port I/O from CPL3 is allowed
 * by the TSS I/O bitmap (ports 0-255): nested paravirtual KVM (kvm_pvm)
 * clears RFLAGS.IOPL, so IOPL 3 alone is not enough.  The guest never
 * leaves CPL3; an exception has no IDT to go to and shuts the vCPU down.
 *
 * Guest-physical layout (identity mapped, so virtual == physical):
 *
 *   0x001000  GDT              0x002000  TSS with its I/O bitmap
 *   0x003000  struct kvmg_params (written by vm-run before the first run)
 *   0x010000  PML4, PDPT, then one page directory per GiB of memory
 *   0x100000  guest image (ELF PT_LOAD segments), at most 1 MiB
 *   0x200000  vCPU stacks, KVMG_STACK_SIZE each, vCPU i's top at
 *             KVMG_STACK_GPA + (i + 1) * KVMG_STACK_SIZE
 *   0x400000  the guest's journal and then its data pages (guest's choice)
 *
 * Entry: rip = ELF entry, rdi = vCPU number, rsi = KVMG_PARAMS_GPA,
 * rsp = the vCPU's stack top, interrupts off, mp_state RUNNABLE (no
 * INIT/SIPI for the APs).
 *
 * Ports (32-bit OUT; each is one exit, so the guest uses them sparingly):
 *   KVMG_PORT_CONSOLE  eax = address of a struct kvmg_line: one console
 *                      line, which vm-run appends (with a newline) to
 *                      the guest's log.
 *   KVMG_PORT_SLEEP    eax = microseconds: the vCPU sleeps on the host
 *                      for that long (or until it is paused), instead
 *                      of burning a host CPU in a busy loop.
 *   KVMG_PORT_EXIT     eax = code: the vCPU stops for good.
 *   KVMG_PORT_DISK     eax = address of a struct kvmg_disk_req: vm-run
 *                      reads or writes its blocks of the guest's disk
 *                      (vm-run --disk) to or from guest memory before
 *                      the OUT completes, and sets its status.  So no
 *                      request is ever in flight while the guest is
 *                      paused: a disk adds no device state to an image.
 */
#ifndef KVM_GUEST_ABI_H
#define KVM_GUEST_ABI_H

#include <stdint.h>

#define KVMG_GDT_GPA		0x1000ull
#define KVMG_TSS_GPA		0x2000ull
#define KVMG_PARAMS_GPA		0x3000ull
#define KVMG_PT_GPA		0x10000ull
#define KVMG_PT_MAX_GIB		64	/* page directories fit below 1 MiB */
#define KVMG_IMAGE_GPA		0x100000ull
#define KVMG_IMAGE_MAX		0x100000ull
#define KVMG_STACK_GPA		0x200000ull
#define KVMG_STACK_SIZE		0x4000ull
#define KVMG_MAX_VCPUS		64
#define KVMG_DATA_GPA		0x400000ull
#define KVMG_MIN_MEM		(16ull << 20)
#define KVMG_MAX_MEM		((uint64_t)KVMG_PT_MAX_GIB << 30)

/* GDT selectors as loaded by vm-run (user ones with RPL 3). */
#define KVMG_SEL_UDATA		0x23
#define KVMG_SEL_UCODE		0x2b
#define KVMG_SEL_TSS		0x30

#define KVMG_PORT_CONSOLE	0xe0
#define KVMG_PORT_SLEEP		0xe4
#define KVMG_PORT_EXIT		0xe8
#define KVMG_PORT_DISK		0xec

#define KVMG_LINE_MAX		240

struct kvmg_line {
	uint32_t	len;		/* octets of text, <= KVMG_LINE_MAX */
	uint32_t	reserved;
	char		text[KVMG_LINE_MAX];
};

/* The disk: 4 KiB blocks, at most KVMG_DISK_MAX_IO of them a request. */
#define KVMG_DISK_BLOCK		4096u
#define KVMG_DISK_MAX_IO	16u
enum kvmg_disk_op {
	KVMG_DISK_READ	= 1,
	KVMG_DISK_WRITE	= 2,
};
struct kvmg_disk_req {
	uint32_t	op;		/* enum kvmg_disk_op */
	uint32_t	status;		/* set by vm-run: 0, or an errno */
	uint64_t	block;		/* the first block */
	uint64_t	count;		/* 1 to KVMG_DISK_MAX_IO blocks */
	uint64_t	gpa;		/* the guest's buffer, count blocks */
};

#define KVMG_PARAMS_MAGIC	0x31736d7261706d76ull	/* "vmparms1" */

enum kvmg_pattern {
	KVMG_PAT_SEQ	= 0,		/* each writer walks its pages in order */
	KVMG_PAT_RANDOM	= 1,		/* uniformly random page */
	KVMG_PAT_HOT	= 2,		/* 90 % of writes to 10 % of pages */
};

enum kvmg_fill {
	KVMG_FILL_RANDOM   = 0,		/* every footprint page random */
	KVMG_FILL_HALFZERO = 1,		/* half random, half zero pages */
};

#define KVMG_RATE_MAX		(~0ull)	/* write as fast as possible */

/* Written by vm-run at KVMG_PARAMS_GPA; read-only for the guest. */
struct kvmg_params {
	uint64_t	magic;		/* KVMG_PARAMS_MAGIC */
	uint64_t	mem_bytes;
	uint64_t	tsc_khz;	/* the guest's TSC frequency */
	uint64_t	pages;		/* footprint in 4 KiB pages, 0 = all */
	uint64_t	rate;		/* pages/s over all writers, or _MAX */
	uint64_t	seed;
	uint32_t	vcpus;
	uint32_t	writers;	/* vCPUs 0..writers-1 write */
	uint32_t	pattern;	/* enum kvmg_pattern */
	uint32_t	fill;		/* enum kvmg_fill */
	uint32_t	hb_ms;		/* heartbeat period */
	uint32_t	sweep_ms;	/* verify every page at least this often */
	uint64_t	disk_blocks;	/* the disk's size in blocks, 0: none */
	uint64_t	reserved[7];
};

#endif /* KVM_GUEST_ABI_H */
