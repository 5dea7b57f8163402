/*
 * xen_stream.c: the one writer of Xen's streams and of xl's save files
 * (see xen_stream.h), for vm-xlconv's files and the Xen backend's pipe
 * to libxl alike.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "io.h"
#include "xen_stream.h"

static int
put(struct xls *x, struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		x->bytes += iov[i].iov_len;
	if (x->writev != NULL)
		return x->writev(x->arg, iov, n);
	return io_writevall(x->fd, iov, n);
}

static int
put_record(struct xls *x, uint32_t type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	static const uint8_t zero[8];
	uint32_t hdr[2] = { type, (uint32_t)(alen + blen) };
	struct iovec iov[4] = {
		{ hdr, sizeof(hdr) }, { (void *)a, alen }, { (void *)b, blen },
		{ (void *)zero, (8 - (alen + blen) % 8) % 8 },
	};

	if (alen + blen > UINT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	return put(x, iov, 4);
}

/* An HVM stream's static data ends before any other record. */
static int
static_end(struct xls *x, uint32_t type)
{
	if (!x->static_due || type == XSR_X86_CPUID_POLICY ||
	    type == XSR_X86_MSR_POLICY)
		return 0;
	x->static_due = 0;
	if (type == XSR_STATIC_DATA_END)
		return 0;
	return put_record(x, XSR_STATIC_DATA_END, NULL, 0, NULL, 0);
}

int
xls_iov(struct xls *x, struct iovec *iov, int n)
{
	uint32_t type;

	memcpy(&type, iov[0].iov_base, sizeof(type));
	if (static_end(x, type) == -1)
		return -1;
	return put(x, iov, n);
}

int
xls_xl_header(struct xls *x, const void *json, size_t len)
{
	/* xl's header, in the saving host's byte order. */
	struct xl_header xh = { XL_MAGIC, XL_BYTEORDER,
	    XL_FLAG_JSON | XL_FLAG_STREAMV2, 0, 0 };
	/* The configuration as xl writes it: its length, then the JSON
	 * with its NUL. */
	uint32_t clen = len + 1;
	static const char nul;
	struct iovec iov[4] = {
		{ &xh, sizeof(xh) }, { &clen, 4 }, { (void *)json, len },
		{ (void *)&nul, 1 },
	};

	xh.optlen = 4 + clen;
	return put(x, iov, 4);
}

int
xls_headers(struct xls *x, uint32_t dtype, uint32_t xen_version)
{
	/* libxl's stream header: big-endian, as its spec says. */
	struct {
		uint64_t	ident;
		uint32_t	version, options;
	} lh = { __builtin_bswap64(XLS_IDENT), __builtin_bswap32(XLS_VERSION),
	    0 };
	uint32_t libxc_ctx[2] = { XLR_LIBXC_CONTEXT, 0 };
	/* libxc's image header (big-endian) and domain header. */
	struct {
		uint64_t	marker;
		uint32_t	id, version;
		uint16_t	options, r1;
		uint32_t	r2;
	} ih = { XSR_MARKER, __builtin_bswap32(XSR_IDENT),
	    __builtin_bswap32(XSR_VERSION), 0, 0, 0 };
	struct {
		uint32_t	type;
		uint16_t	page_shift, r1;
		uint32_t	major, minor;
	} dh = { dtype, 12, 0, xen_version >> 16, xen_version & 0xffff };
	struct iovec iov[4] = {
		{ &lh, sizeof(lh) }, { libxc_ctx, sizeof(libxc_ctx) },
		{ &ih, sizeof(ih) }, { &dh, sizeof(dh) },
	};

	if (put(x, iov, 4) == -1)
		return -1;
	x->static_due = dtype != XSR_DOMAIN_X86_PV;
	return 0;
}

int
xls_begin(struct xls *x, const void *json, size_t len, uint32_t dtype,
    uint32_t xen_version)
{
	if (xls_xl_header(x, json, len) == -1)
		return -1;
	return xls_headers(x, dtype, xen_version);
}

int
xls_record(struct xls *x, uint32_t type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	if (static_end(x, type) == -1)
		return -1;
	return put_record(x, type, a, alen, b, blen);
}

int
xls_end_libxc(struct xls *x)
{
	return xls_record(x, XSR_END, NULL, 0, NULL, 0);
}

int
xls_end(struct xls *x)
{
	return xls_record(x, XLR_END, NULL, 0, NULL, 0);
}
