/*
 * kvm_proto.h: the control protocol between vm-run and its clients (the
 * KVM backend, vm-ctl).  man/vm-run.8 describes it in prose.
 *
 * It lives in src/proto, with the guest's ABI (kvm_guest_abi.h) and the
 * Xen stream format (xen_stream.h), because it is what separately built
 * parts say to each other: vm-run (src/run), the KVM backend
 * (src/hv/kvm) and the test guest (guest/) include it from here, and a
 * program that speaks it need not link a backend.  Nothing in src/proto
 * needs a hypervisor's library.
 *
 * A stream socket DIR/NAME.sock carries frames: a struct kvmp_hdr, then
 * `len' octets of payload.  The client sends a request and reads exactly
 * one reply with the same op; status 0 means success, a negative errno
 * means failure and the payload is then a message (not NUL-terminated).
 * The first request on a connection must be HELLO; a peer whose version
 * differs is refused.  Integers are in host order: the socket never
 * leaves the host.  Payload structures are multiples of 8 octets.
 */
#ifndef KVM_PROTO_H
#define KVM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KVMP_MAGIC	0x706d766bu	/* "kvmp" */
#define KVMP_VERSION	1
#define KVMP_MAX	(64u << 20)	/* largest payload */
/* How long a reply may wait for a reader that does not read, in ms. */
#define KVMP_SEND_MS	5000

struct kvmp_hdr {
	uint32_t	magic;		/* KVMP_MAGIC */
	uint16_t	op;		/* enum kvmp_op */
	uint16_t	flags;		/* zero */
	uint32_t	len;		/* payload octets */
	int32_t		status;		/* replies: 0 or -errno */
};

enum kvmp_op {
	KVMP_HELLO	= 1,	/* u32 version, u32 0 -> u32 version, u32 0 */
	KVMP_INFO	= 2,	/* -> struct kvmp_info */
	KVMP_CONFIG	= 3,	/* -> struct kvmp_config */
	KVMP_MEMFD	= 4,	/* -> u64 size, and the memfd (SCM_RIGHTS) */
	KVMP_PAUSE	= 5,
	KVMP_RESUME	= 6,
	KVMP_LOG_START	= 7,	/* dirty logging on, log empty */
	KVMP_LOG_STOP	= 8,
	KVMP_DIRTY	= 9,	/* -> u64 count, bitmap (fetch and clear) */
	KVMP_GET_STATE	= 10,	/* -> kvmp_state items (guest paused) */
	KVMP_SET_STATE	= 11,	/* kvmp_state items -> (incoming only) */
	KVMP_CLAIM	= 12,	/* this connection controls an incoming guest */
	KVMP_COMMIT	= 13,	/* incoming guest becomes ordinary, paused */
	KVMP_DESTROY	= 14,	/* reply sent, then the guest is gone */
	KVMP_CONSOLE	= 15,	/* -> log file path */
	KVMP_HOLD	= 16,	/* this connection's pause outlives it */
};

/*
 * Leases.  A PAUSE belongs to its connection: if the connection closes
 * without RESUME, DESTROY or HOLD, and no other connection holds a
 * pause, vm-run resumes the guest, so that a saver killed mid-save
 * never leaves it paused.  HOLD makes the pause the guest's own (as for
 * vm-run -P and a restored guest after COMMIT) until any RESUME.
 * LOG_START's logging likewise stops when its connection closes.
 * A vm-run without leases answers HOLD with EOPNOTSUPP; its pauses
 * never expire, so a client may take that as success.
 */

/* INFO flags. */
#define KVMP_F_PAUSED	(1u << 0)
#define KVMP_F_INCOMING	(1u << 1)	/* not committed yet */
#define KVMP_F_LOGGING	(1u << 2)	/* dirty logging on */
#define KVMP_F_HUGETLB	(1u << 3)	/* memory in hugetlb pages */
#define KVMP_F_THP	(1u << 4)	/* shmem asked for huge pages */
#define KVMP_F_DEAD	(1u << 5)	/* a vCPU stopped for good */

struct kvmp_info {
	char		name[64];
	uint8_t		uuid[16];
	uint64_t	mem_bytes;
	uint32_t	vcpus;
	uint32_t	flags;		/* KVMP_F_* */
	int64_t		pid;
	uint32_t	cpu_features[4];/* CPUID 1.ECX, 1.EDX, 7.EBX, 7.ECX */
	uint64_t	tsc_khz;
	char		log[256];	/* console log path */
};

/*
 * The opaque CONFIG record of the KVM backend.  Version 1: the structure
 * alone, a guest without a disk.  Version 2: a guest with a disk, whose
 * path (disk_len octets, no NUL, absolute) follows the structure; a
 * restore opens it there, if the destination's policy admits it.
 */
#define KVMP_CONFIG_VERSION	1
#define KVMP_CONFIG_DISK	2
struct kvmp_config {
	uint32_t	version;	/* KVMP_CONFIG_VERSION or _DISK */
	uint32_t	disk_len;	/* version 2: the path's length */
	uint64_t	tsc_khz;	/* guest TSC rate (also in state) */
	uint64_t	reserved2[6];
};

/*
 * The pieces of KVM state that carry a guest from one VM to another: the
 * tags of GET_STATE and SET_STATE items, and of an image's VCPU and
 * PLATFORM records (struct hv_state).  Each body is the kernel structure
 * of the matching KVM_GET_* ioctl, byte for byte, as on x86-64 Linux (the
 * image is only ever restored by this backend on x86-64).  GET_STATE
 * gives them in the order SET_STATE must apply them: platform devices
 * first, then for every vCPU its CPUID (which must precede the rest: it
 * decides which MSRs and XSAVE features exist), TSC frequency,
 * registers, ..., and the kvmclock last.
 */
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

/* "REGS", "MSRS", ...; "?" for an unknown tag. */
const char *kvm_state_name(uint32_t tag);

/* GET_STATE replies and SET_STATE requests: items, each padded to 8. */
struct kvmp_state {
	uint32_t	kind;		/* VMI_REC_VCPU or VMI_REC_PLATFORM */
	uint32_t	id;
	uint32_t	tag;		/* enum kvm_state_tag */
	uint32_t	len;		/* data octets that follow */
};

/*
 * Frame I/O, shared by both ends.  kvmp_send() writes a header and
 * payload (and passes fd if fd >= 0); kvmp_recv() reads one frame into
 * a malloc'd *payload (NULL if empty) and any passed fd into *fd (or -1).
 * Both return 0, or -1 with errno (EPROTO for a bad frame, ECONNRESET
 * for a peer that went away) and a message for hv_strerror().
 */
int	kvmp_send(int sock, uint16_t op, int32_t status, const void *payload,
	    uint32_t len, int fd);
int	kvmp_recv(int sock, struct kvmp_hdr *hdr, void **payload, int *fd);

/*
 * One incoming frame read piecemeal from a non-blocking socket, so that
 * vm-run serves every client from one loop and a client that sends half
 * a frame holds up no one.  kvmp_recv_some() reads what is there and
 * returns 1 when the frame is whole (h, p and fd are then the caller's,
 * and kvmp_in_reset() readies in for the next), 0 when more is to come,
 * -1 on a bad frame, an error or the peer's end.  At most one descriptor
 * is taken, with the header; any other that arrives is closed, and a
 * truncated control message is refused.
 */
struct kvmp_in {
	struct kvmp_hdr	 h;
	size_t		 got;	/* octets of header and payload so far */
	char		*p;	/* the payload and a NUL, or NULL */
	int		 fd;	/* passed with the header, or -1 */
};

void	kvmp_in_reset(struct kvmp_in *);	/* frees p, closes fd */
int	kvmp_recv_some(int sock, struct kvmp_in *);

#endif /* KVM_PROTO_H */
