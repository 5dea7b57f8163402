/*
 * xlstream.c: the layouts of an xl save file (see xlstream.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "io.h"
#include "xlstream.h"

#define XL_MAGIC		"Xen saved domain, xl format\n \0 \r"
#define XL_BYTEORDER		0x01020304u
#define XL_FLAG_JSON		(1u << 0)
#define XL_FLAG_STREAMV2	(1u << 1)


int
xls_iov(struct xls *x, struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		x->bytes += iov[i].iov_len;
	return io_writevall(x->fd, iov, n);
}

int
xls_begin(struct xls *x, const void *json, size_t len, uint32_t dtype)
{
	/* xl's header, in the saving host's byte order. */
	struct {
		char		magic[32];
		uint32_t	byteorder, mandatory, optional, optlen;
	} xh = { XL_MAGIC, XL_BYTEORDER, XL_FLAG_JSON | XL_FLAG_STREAMV2,
	    0, 0 };
	/* The configuration as xl writes it: its length, then the JSON
	 * with its NUL. */
	uint32_t clen = len + 1;
	/* libxl's stream header: big-endian, as its spec says. */
	struct {
		uint64_t	ident;
		uint32_t	version, options;
	} lh = { __builtin_bswap64(0x4c6962786c466d74ull),	/* LibxlFmt */
	    __builtin_bswap32(2), 0 };
	uint32_t libxc_ctx[2] = { XLR_LIBXC_CONTEXT, 0 };
	/* libxc's image header (big-endian) and domain header.  The Xen
	 * version there is informational: 0.0, unknown. */
	struct {
		uint64_t	marker;
		uint32_t	id, version;
		uint16_t	options, r1;
		uint32_t	r2;
	} ih = { ~0ull, __builtin_bswap32(0x58454e46), __builtin_bswap32(3),
	    0, 0, 0 };
	struct {
		uint32_t	type;
		uint16_t	page_shift, r1;
		uint32_t	major, minor;
	} dh = { dtype, 12, 0, 0, 0 };
	static const char nul;
	struct iovec iov[7] = {
		{ &xh, sizeof(xh) }, { &clen, 4 }, { (void *)json, len },
		{ (void *)&nul, 1 }, { &lh, sizeof(lh) },
		{ libxc_ctx, sizeof(libxc_ctx) }, { &ih, sizeof(ih) },
	};

	xh.optlen = 4 + clen;
	if (xls_iov(x, iov, 7) == -1)
		return -1;
	iov[0] = (struct iovec){ &dh, sizeof(dh) };
	if (xls_iov(x, iov, 1) == -1)
		return -1;
	if (dtype == XSR_DOMAIN_X86_PV)
		return 0;
	/* No CPUID or MSR policy: the guest gets the one it is created
	 * with, as a restore of an older stream does. */
	return xls_record(x, XSR_STATIC_DATA_END, NULL, 0, NULL, 0);
}

int
xls_record(struct xls *x, uint32_t type, const void *a, size_t alen,
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
	return xls_iov(x, iov, 4);
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
