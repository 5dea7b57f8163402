/*
 * xlstream.h: writing a file of `xl save': xl's header and the guest's
 * libxl configuration, then libxl's migration stream (version 2) that
 * wraps libxc's (version 3).  The layouts are Xen's own, as its
 * docs/specs/libxl-migration-stream and libxc-migration-stream describe
 * them; only what a PVH guest's stream holds is written.
 */
#ifndef XLSTREAM_H
#define XLSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* libxc record types (and the Xen backend's PLATFORM tags). */
#define XC_REC_END		0x00
#define XC_REC_PAGE_DATA	0x01
#define XC_REC_TSC_INFO		0x08
#define XC_REC_HVM_CONTEXT	0x09
#define XC_REC_HVM_PARAMS	0x0a
#define XC_REC_STATIC_DATA_END	0x10

/* PAGE_DATA frame words: the frame, and its type in bits 60 to 63. */
#define XC_PFN_MASK		0x000fffffffffffffull
#define XC_PAGE_NOTAB		0ull
#define XC_PAGE_XALLOC		(0xeull << 60)	/* populate, no data */

struct xls {
	int		 fd;
	uint64_t	 bytes;		/* written so far */
};

/* xl's header and configuration (JSON), then the stream's headers, up to
 * the first page.  0, or -1 with errno. */
int	xls_begin(struct xls *, const void *json, size_t len);

/* One libxc record of parts a and b (either may be empty), padded. */
int	xls_record(struct xls *, uint32_t type, const void *a, size_t alen,
	    const void *b, size_t blen);

/* Raw parts of a record already laid out (at most IOV_MAX). */
int	xls_iov(struct xls *, struct iovec *iov, int n);

/* libxc's END, then libxl's. */
int	xls_end(struct xls *);

#endif /* XLSTREAM_H */
