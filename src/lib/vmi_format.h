/*
 * vmi_format.h: the vmpipe image format, version 1, on the wire.
 *
 * This header holds the wire structures and constants and nothing else.
 * The prose specification, with octet tables and the compatibility rule,
 * is man/vm-image.5; the two must always agree.
 *
 * All integers are little-endian.  Every structure is a multiple of 8
 * octets and every record body is padded with zero octets to a multiple
 * of 8, so that a reader that keeps to record boundaries stays aligned.
 */
#ifndef VMI_FORMAT_H
#define VMI_FORMAT_H

#include <stdint.h>

/*
 * The magic begins with a non-ASCII octet and ends with LF, so that a
 * stream mangled by a 7-bit or text-mode transfer is caught at once.
 */
#define VMI_MAGIC		"\x89VMPIPE\n"
#define VMI_MAGIC_LEN		8
#define VMI_VERSION		1

/* File header flags.  Unknown flags are refused: they change the meaning. */
#define VMI_HF_LIVE		(1u << 0)	/* written by a live pre-copy */
#define VMI_HF_KNOWN		(VMI_HF_LIVE)

struct vmi_file_header {
	uint8_t		magic[8];	/* VMI_MAGIC */
	uint32_t	version;	/* VMI_VERSION */
	uint32_t	flags;		/* VMI_HF_* */
	uint32_t	reserved;	/* zero */
	uint32_t	check;		/* low 32 bits of XXH3-64 of octets 0..19 */
};

/*
 * Every record starts with this header.  The body follows, then zero
 * padding to a multiple of 8 octets.  `check' is XXH3-64 of the header
 * with `check' set to zero, followed by the stored body (not the padding).
 */
struct vmi_record_header {
	uint32_t	type;		/* VMI_REC_*, bit 31 = optional */
	uint32_t	flags;		/* VMI_RF_* */
	uint32_t	length;		/* stored body octets, no padding */
	uint32_t	raw_length;	/* body octets once decompressed */
	uint64_t	seq;		/* 0 for the first record, +1 each */
	uint64_t	check;		/* XXH3-64, see above */
};

#define VMI_REC_OPTIONAL	0x80000000u
#define VMI_MAX_BODY		(8u << 20)	/* stored or raw, whichever */

/* Record flags.  Unknown flags on a mandatory record are refused. */
#define VMI_RF_ZSTD		(1u << 0)	/* body is one zstd frame */
#define VMI_RF_KNOWN		(VMI_RF_ZSTD)

enum vmi_record_type {
	VMI_REC_GUEST		= 0x0001,	/* struct vmi_guest */
	VMI_REC_CONFIG		= 0x0002,	/* opaque backend configuration */
	VMI_REC_PAGES		= 0x0003,	/* struct vmi_pages + pfns + data */
	VMI_REC_VCPU		= 0x0004,	/* struct vmi_state + opaque */
	VMI_REC_PLATFORM	= 0x0005,	/* struct vmi_state + opaque */
	VMI_REC_ROUND		= 0x0006,	/* struct vmi_round */
	VMI_REC_END		= 0x0007,	/* struct vmi_end */
	VMI_REC_NOTE		= 0x0001 | VMI_REC_OPTIONAL,	/* UTF-8 text */
};

/* Backends and architectures named in the GUEST record. */
#define VMI_BACKEND_KVM		1
#define VMI_BACKEND_XEN		2
#define VMI_ARCH_X86_64		1

/* Guest types: backend specific. */
#define VMI_GT_KVM		0
#define VMI_GT_XEN_PV		1
#define VMI_GT_XEN_PVH		2
#define VMI_GT_XEN_HVM		3

#define VMI_NAME_MAX		64

struct vmi_guest {
	uint32_t	backend;	/* VMI_BACKEND_* */
	uint32_t	arch;		/* VMI_ARCH_* */
	uint32_t	page_shift;	/* 12 on x86-64 */
	uint32_t	vcpus;		/* 1..VMI_MAX_VCPUS */
	uint64_t	mem_bytes;	/* multiple of the page size */
	uint32_t	guest_type;	/* VMI_GT_* */
	uint32_t	reserved;	/* zero */
	uint8_t		uuid[16];
	uint32_t	cpu_features[4];/* CPUID 1.ECX, 1.EDX, 7.EBX, 7.ECX */
	char		name[VMI_NAME_MAX];	/* vmi_name_ok(), NUL-padded */
};

#define VMI_MAX_VCPUS		128
#define VMI_MAX_MEM		(1ull << 40)

/*
 * PAGES: `count' 64-bit frame words follow the header, then the data of
 * every frame whose word lacks VMI_PFN_ZERO, 1 << page_shift octets each,
 * in the order of the words.  A later record for a frame replaces every
 * earlier one; only a LIVE stream sends a frame more than once.
 */
#define VMI_PAGES_MAX		1024
#define VMI_PFN_ZERO		(1ull << 63)	/* frame is all zero: no data */
#define VMI_PFN_MASK		((1ull << 52) - 1)
#define VMI_PFN_RESERVED	(~(VMI_PFN_ZERO | VMI_PFN_MASK))

struct vmi_pages {
	uint32_t	count;		/* 1..VMI_PAGES_MAX */
	uint32_t	reserved;	/* zero */
};

/* VCPU and PLATFORM bodies start with this, then opaque backend data. */
struct vmi_state {
	uint32_t	id;		/* vCPU number (VCPU), zero (PLATFORM) */
	uint32_t	tag;		/* backend-defined kind of state */
};

/*
 * KVM state tags (src/hv/kvm_state.h) whose body has one fixed size: the
 * Linux x86-64 structure of the matching ioctl.  The reader checks them
 * (the 8-octet struct vmi_state not counted), so that an image the KVM
 * backend would refuse is refused by every reader alike.
 */
#define VMI_KVM_TSC_KHZ_LEN	8	/* 0x02, u64 */
#define VMI_KVM_REGS_LEN	144	/* 0x03, struct kvm_regs */
#define VMI_KVM_FPU_LEN		416	/* 0x04, struct kvm_fpu */
#define VMI_KVM_XSAVE_LEN	4096	/* 0x05, struct kvm_xsave */
#define VMI_KVM_XCRS_LEN	392	/* 0x06, struct kvm_xcrs */
#define VMI_KVM_SREGS_LEN	312	/* 0x07, struct kvm_sregs */
#define VMI_KVM_MP_STATE_LEN	4	/* 0x09, struct kvm_mp_state */
#define VMI_KVM_LAPIC_LEN	1024	/* 0x0a, struct kvm_lapic_state */
#define VMI_KVM_EVENTS_LEN	64	/* 0x0b, struct kvm_vcpu_events */
#define VMI_KVM_DEBUGREGS_LEN	128	/* 0x0c, struct kvm_debugregs */
#define VMI_KVM_IRQCHIP_LEN	520	/* 0x101-0x103, struct kvm_irqchip */
#define VMI_KVM_PIT2_LEN	112	/* 0x104, struct kvm_pit_state2 */
#define VMI_KVM_CLOCK_LEN	48	/* 0x105, struct kvm_clock_data */

/*
 * ROUND records appear only in a LIVE stream.  Each round's PAGES come
 * before its ROUND record.  The last round, with the guest paused, sends
 * its PAGES, then every state record, then its ROUND record with
 * VMI_ROUND_LAST (elapsed_ns: the whole pause), then END.
 */
#define VMI_ROUND_LAST		(1u << 0)	/* guest paused: stop-and-copy */

struct vmi_round {
	uint32_t	round;		/* 0, 1, ... */
	uint32_t	flags;		/* VMI_ROUND_* */
	uint64_t	pages;		/* frames sent in this round */
	uint64_t	dirty;		/* frames dirtied during this round */
	uint64_t	elapsed_ns;	/* duration of this round */
};

/*
 * END: the number of records before it, and XXH3-64 over the file header
 * followed by every earlier record header in order.  Each header holds
 * its body's check, so this digest covers every octet of the stream and
 * fixes the order of the records: a stream that was cut, reordered or
 * spliced from two streams cannot end with a matching END.
 */
struct vmi_end {
	uint64_t	records;
	uint64_t	digest;
};

#endif /* VMI_FORMAT_H */
