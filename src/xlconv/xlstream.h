/*
 * xlstream.h: writing a file of `xl save': xl's header and the guest's
 * libxl configuration, then libxl's migration stream (version 2) that
 * wraps libxc's (version 3).  The layouts are Xen's own, as its
 * docs/specs/libxl-migration-stream and libxc-migration-stream describe
 * them.
 */
#ifndef XLSTREAM_H
#define XLSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "xen_stream.h"

struct xls {
	int		 fd;
	uint64_t	 bytes;		/* written so far */
};

/* xl's header and configuration (JSON), then the stream's headers for a
 * domain of type dtype (XSR_DOMAIN_*), up to the first page (for PV: up
 * to its early records, which end with STATIC_DATA_END).  0, or -1 with
 * errno. */
int	xls_begin(struct xls *, const void *json, size_t len, uint32_t dtype);

/* One libxc record of parts a and b (either may be empty), padded. */
int	xls_record(struct xls *, uint32_t type, const void *a, size_t alen,
	    const void *b, size_t blen);

/* Raw parts of a record already laid out (at most IOV_MAX). */
int	xls_iov(struct xls *, struct iovec *iov, int n);

/* libxc's END. */
int	xls_end_libxc(struct xls *);

/* libxl's END. */
int	xls_end(struct xls *);

#endif /* XLSTREAM_H */
