/*
 * xen_stream.h: what the Xen backend and vm-xlconv share of Xen's own
 * migration streams (libxc's version 3 wrapped in libxl's version 2; see
 * docs/specs/libxc-migration-stream and libxl-migration-stream in the Xen
 * sources) and of the file `xl save' writes around them, how an image's
 * PLATFORM pieces stand for their records, and the one writer of those
 * streams (xen_stream.c).  No Xen header or library is needed: vm-xlconv
 * builds without libxen, and so does this pair (see kvm_proto.h for why
 * it lives in src/proto).
 */
#ifndef XEN_STREAM_H
#define XEN_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * A file of `xl save': xl's header, its optional data (the guest's libxl
 * configuration as JSON), then libxl's stream.
 *
 *   magic "Xen saved domain, xl format\n \0 \r"      32 octets
 *   byteorder 0x01020304, mandatory flags,
 *   optional flags, optional data length             4 x 32 bits, host order
 *   optional data: config length (32 bits), config   (JSON, NUL-terminated)
 *   libxl stream
 */
#define XL_MAGIC		"Xen saved domain, xl format\n \0 \r"
#define XL_MAGIC_LEN		32
#define XL_BYTEORDER		0x01020304u
#define XL_FLAG_JSON		(1u << 0)
#define XL_FLAG_STREAMV2	(1u << 1)

struct xl_header {
	char		magic[XL_MAGIC_LEN];
	uint32_t	byteorder;
	uint32_t	mandatory;
	uint32_t	optional;
	uint32_t	optlen;
};

/* libxl's stream header (big-endian), and libxc's image header. */
#define XLS_IDENT		0x4c6962786c466d74ull	/* "LibxlFmt" */
#define XLS_VERSION		2
#define XSR_MARKER		(~0ull)
#define XSR_IDENT		0x58454e46u		/* "XENF" */
#define XSR_VERSION		3

/* libxc record types. */
#define XSR_END			0x00
#define XSR_PAGE_DATA		0x01
#define XSR_X86_PV_INFO		0x02
#define XSR_X86_PV_P2M_FRAMES	0x03
#define XSR_X86_PV_VCPU_BASIC	0x04
#define XSR_X86_PV_VCPU_EXT	0x05
#define XSR_X86_PV_VCPU_XSAVE	0x06
#define XSR_SHARED_INFO		0x07
#define XSR_TSC_INFO		0x08
#define XSR_HVM_CONTEXT		0x09
#define XSR_HVM_PARAMS		0x0a
#define XSR_X86_PV_VCPU_MSRS	0x0c
#define XSR_STATIC_DATA_END	0x10
#define XSR_X86_CPUID_POLICY	0x11
#define XSR_X86_MSR_POLICY	0x12

/* libxc's domain header types. */
#define XSR_DOMAIN_X86_PV	1
#define XSR_DOMAIN_X86_HVM	2	/* PVH and HVM alike */

/* libxl record types. */
#define XLR_END			0x00
#define XLR_LIBXC_CONTEXT	0x01
#define XLR_EMULATOR_XENSTORE	0x02
#define XLR_EMULATOR_CONTEXT	0x03

/* PAGE_DATA frame words: the frame, and its type in bits 60 to 63 (a
 * XEN_DOMCTL_PFINFO_* value shifted down by 28). */
#define XSR_PFN_MASK		0x000fffffffffffffull
#define XSR_PAGE_TYPE(w)	((unsigned)((w) >> 60))
#define XSR_PT_NOTAB		0x0	/* an ordinary page */
#define XSR_PT_L1		0x1	/* L1 to L4 page tables, 0x9-0xc */
#define XSR_PT_L4		0x4	/*   when pinned */
#define XSR_PT_PINNED		0x8
#define XSR_PT_BROKEN		0xd	/* no data */
#define XSR_PT_XALLOC		0xe	/* populate only: no data */
#define XSR_PT_XTAB		0xf	/* no frame: no data */

/* Does a frame of this type carry data?  Is it a page table? */
#define XSR_PT_HAS_DATA(t)	((t) < XSR_PT_BROKEN)
#define XSR_PT_IS_TABLE(t)	(((t) & 7) >= XSR_PT_L1 && \
				 ((t) & 7) <= XSR_PT_L4 && (t) <= 0xc)

/* Is w a PV_TYPES word: a page table among nframes, no other bits? */
#define XSR_TYPE_WORD_OK(w, nframes) \
	(((w) & XSR_PFN_MASK) < (nframes) && \
	 !((w) & 0x0ff0000000000000ull) && \
	 XSR_PT_IS_TABLE(XSR_PAGE_TYPE(w)))

/*
 * The tags of PLATFORM pieces.  Below XEN_TAG_LIBXL: a record of libxc's
 * stream, of that type, whose body the piece is.  XEN_TAG_LIBXL | type: a
 * record of libxl's stream (after libxc's END), the emulator records of
 * an HVM guest.  XEN_TAG_PV_TYPES: vmpipe's own, the page tables of a PV
 * guest as PAGE_DATA frame words; they come before the pages, which a
 * restore sends to libxc with these types.  A PV guest's pieces up to
 * its P2M_FRAMES also come before the pages, in the order libxc wrote
 * them; an HVM or PVH guest's X86_CPUID_POLICY and X86_MSR_POLICY, then
 * STATIC_DATA_END, as libxc writes them.  XEN_TAG_VERSION: vmpipe's own,
 * first of all, the saving host's Xen version (a uint32_t, major << 16 |
 * minor, as xc_version() gives it), for the domain header of an xl save
 * file made from the image.
 */
#define XEN_TAG_LIBXL		0x40000000u
#define XEN_TAG_PV_TYPES	0x20000001u
#define XEN_TAG_VERSION		0x20000002u
#define XEN_TAG_OWN_LAST	XEN_TAG_VERSION

/*
 * The writer.  Everything goes to fd with io_writevall(), or, when
 * writev is set, to writev(arg, ...), which must take iov[0..n) whole
 * (it may modify iov) and return 0, or -1 with errno.  bytes counts what
 * was written.
 */
struct xls {
	int		 fd;
	uint64_t	 bytes;
	int		(*writev)(void *arg, struct iovec *iov, int n);
	void		*arg;
	int		 static_due;	/* HVM: STATIC_DATA_END not yet out */
};

/* xl's header and configuration (JSON), then the stream's headers for a
 * domain of type dtype (XSR_DOMAIN_*) saved on Xen xen_version (as
 * xls_headers()).  0, or -1 with errno. */
int	xls_begin(struct xls *, const void *json, size_t len, uint32_t dtype,
	    uint32_t xen_version);

/* xl's header and configuration only. */
int	xls_xl_header(struct xls *, const void *json, size_t len);

/*
 * libxl's stream header, its LIBXC_CONTEXT record, libxc's image header
 * and domain header.  xen_version (major << 16 | minor, as xc_version()
 * gives it; 0 for unknown) is informational.  An HVM stream's static
 * data follows: its CPU policy records, if any, and STATIC_DATA_END,
 * which the writer puts in by itself before the first record of any
 * other kind (without a policy libxc gives the guest the one it was
 * created with, as to a stream older than Xen 4.14).  A PV stream's
 * early records are the caller's, STATIC_DATA_END included.
 */
int	xls_headers(struct xls *, uint32_t dtype, uint32_t xen_version);

/* One libxc or libxl record of parts a and b (either may be empty),
 * padded to 8 octets. */
int	xls_record(struct xls *, uint32_t type, const void *a, size_t alen,
	    const void *b, size_t blen);

/* Raw parts of a record already laid out (at most IOV_MAX), iov[0]
 * beginning with its type. */
int	xls_iov(struct xls *, struct iovec *iov, int n);

/* libxc's END. */
int	xls_end_libxc(struct xls *);

/* libxl's END. */
int	xls_end(struct xls *);

#endif /* XEN_STREAM_H */
