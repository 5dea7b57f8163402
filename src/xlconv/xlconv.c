/*
 * vm-xlconv: turn a vmpipe image of a Xen guest (PVH, HVM or PV) into a
 * file that `xl restore' reads.  The image's records map one to one onto
 * Xen's own stream: its CONFIG record is libxl's configuration, its
 * PLATFORM records are libxc records by tag (libxl's own, an HVM guest's
 * device model, held until libxc's END), and each PAGES record becomes
 * one PAGE_DATA record, a PV guest's page tables with their types.  A
 * live image (vm-precopy) converts too: a frame sent again replaces the
 * earlier copy on restore, as in Xen's live streams.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "exits.h"
#include "vmi.h"
#include "xen_stream.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-xlconv [-o file] [file]\n");
	exit(VMP_EX_USAGE);
}

struct held {
	struct held	*next;
	uint32_t	 type, len;
	uint8_t		 body[];
};

struct conv {
	struct xls	 x;
	const struct vmi_guest *g;
	uint64_t	 nframes;
	uint64_t	*sent;		/* frames sent with data so far */
	uint8_t		*ptype;		/* PV: page type per frame */
	struct held	*held, **tail;	/* libxl records, for the end */
	void		*config;	/* CONFIG, until the headers are out */
	size_t		 configlen;
	uint64_t	 pfn[VMI_PAGES_MAX];
	uint8_t		 zero[4096];
	struct iovec	 iov[VMI_PAGES_MAX + 2];	/* heads, then data */
	char		 err[VMI_ERRLEN];
};

static int
cerr(struct conv *c, const char *fmt, const char *s)
{
	snprintf(c->err, sizeof(c->err), fmt, s);
	return -1;
}

static int
guest(struct conv *c, const struct vmi_guest *g)
{
	if (g->backend != VMI_BACKEND_XEN)
		return cerr(c, "%s", "not an image of a Xen guest (backend "
		    "kvm): xl can't restore it");
	c->g = g;
	c->nframes = g->mem_bytes >> g->page_shift;
	c->tail = &c->held;
	if ((c->sent = calloc((c->nframes + 63) / 64, 8)) == NULL ||
	    (g->guest_type == VMI_GT_XEN_PV &&
	    (c->ptype = calloc(c->nframes, 1)) == NULL))
		return cerr(c, "%s", "out of memory");
	return 0;
}

/* The page types of a PV guest's page tables, for the pages to come. */
static int
types(struct conv *c, const uint8_t *d, size_t len)
{
	if (c->ptype == NULL || len % 8 != 0)
		return cerr(c, "%s", "page types in an image not of a PV guest");
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;

		memcpy(&w, d + i, 8);
		if (!XSR_TYPE_WORD_OK(w, c->nframes))
			return cerr(c, "%s", "a bad page type word");
		c->ptype[w & XSR_PFN_MASK] = XSR_PAGE_TYPE(w);
	}
	return 0;
}

/*
 * A zero frame goes without data, "allocate only": libxc populates it and
 * Xen's fresh memory is zero; unless an earlier record of a live image
 * gave it data, which its zeros now replace.
 */
static int
pages(struct conv *c, const struct vmi_record *rec)
{
	struct vmi_pages_view v;
	const uint8_t *d;
	uint32_t hdr[4];
	size_t len = 0;
	int k = 2;

	vmi_pages_view(rec, &v);
	d = v.data;
	for (uint32_t i = 0; i < v.count; i++) {
		uint64_t f = v.pfn[i] & VMI_PFN_MASK, bit = 1ull << f % 64;
		const void *page;
		unsigned t;

		if (f >= c->nframes)
			return cerr(c, "%s", "frame beyond the guest's memory");
		t = c->ptype ? c->ptype[f] : XSR_PT_NOTAB;
		/* A page table goes with its type, even when all zero. */
		if ((v.pfn[i] & VMI_PFN_ZERO) && !(c->sent[f / 64] & bit) &&
		    t == XSR_PT_NOTAB) {
			c->pfn[i] = f | (uint64_t)XSR_PT_XALLOC << 60;
			continue;
		}
		if (v.pfn[i] & VMI_PFN_ZERO) {
			page = c->zero;
		} else {
			page = d;
			d += 4096;
		}
		c->sent[f / 64] |= bit;
		c->pfn[i] = f | (uint64_t)t << 60;
		if (page != c->zero && k > 2 && (const uint8_t *)
		    c->iov[k - 1].iov_base + c->iov[k - 1].iov_len == page) {
			c->iov[k - 1].iov_len += 4096;
		} else {
			c->iov[k].iov_base = (void *)page;
			c->iov[k].iov_len = 4096;
			k++;
		}
		len += 4096;
	}
	/* Record header, PAGE_DATA header (count, reserved), frame words,
	 * then the data (whole pages: no padding). */
	hdr[0] = XSR_PAGE_DATA;
	hdr[1] = 8 + v.count * 8 + len;
	hdr[2] = v.count;
	hdr[3] = 0;
	c->iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	c->iov[1] = (struct iovec){ c->pfn, v.count * 8 };
	if (xls_iov(&c->x, c->iov, 2) == -1 ||
	    (k > 2 && xls_iov(&c->x, c->iov + 2, k - 2) == -1))
		return cerr(c, "write: %s", strerror(errno));
	return 0;
}

static int
state(struct conv *c, const struct vmi_record *rec)
{
	struct vmi_state h;
	const uint8_t *d;
	size_t len;

	memcpy(&h, rec->body, sizeof(h));
	if (rec->type != VMI_REC_PLATFORM || h.id != 0)
		return cerr(c, "%s", "a per-vCPU record: not a Xen image");
	d = (const uint8_t *)rec->body + sizeof(h);
	len = rec->len - sizeof(h);
	if (h.tag == XEN_TAG_PV_TYPES)
		return types(c, d, len);
	if (h.tag & XEN_TAG_LIBXL) {
		struct held *k;

		if ((k = malloc(sizeof(*k) + len)) == NULL)
			return cerr(c, "%s", "out of memory");
		k->next = NULL;
		k->type = h.tag & ~XEN_TAG_LIBXL;
		k->len = len;
		memcpy(k->body, d, len);
		*c->tail = k;
		c->tail = &k->next;
		return 0;
	}
	if (h.tag >= XEN_TAG_PV_TYPES || h.tag == XSR_END ||
	    h.tag == XSR_PAGE_DATA) {
		if (h.tag == XEN_TAG_VERSION)
			return 0;	/* taken for the headers */
		snprintf(c->err, sizeof(c->err), "unknown Xen state tag %#x",
		    h.tag);
		return -1;
	}
	if (xls_record(&c->x, h.tag, d, len, NULL, 0) == -1)
		return cerr(c, "write: %s", strerror(errno));
	return 0;
}

/*
 * xl's header with the image's configuration, and the stream's headers
 * with the saving host's Xen version if rec, the record after CONFIG, is
 * the piece that gives it (else 0.0, unknown).
 */
static int
headers(struct conv *c, const struct vmi_record *rec)
{
	uint32_t version = 0;
	struct vmi_state h;
	int rc;

	if (rec != NULL && rec->type == VMI_REC_PLATFORM &&
	    rec->len == sizeof(h) + 4) {
		memcpy(&h, rec->body, sizeof(h));
		if (h.tag == XEN_TAG_VERSION)
			memcpy(&version, (const uint8_t *)rec->body + sizeof(h),
			    4);
	}
	rc = xls_begin(&c->x, c->config, c->configlen,
	    c->g->guest_type == VMI_GT_XEN_PV ? XSR_DOMAIN_X86_PV :
	    XSR_DOMAIN_X86_HVM, version);
	free(c->config);
	c->config = NULL;
	if (rc == -1)
		return cerr(c, "write: %s", strerror(errno));
	return 0;
}

/* libxc's END, libxl's held records, libxl's END. */
static int
finish(struct conv *c)
{
	if (xls_end_libxc(&c->x) == -1)
		return -1;
	for (struct held *k = c->held; k != NULL; k = k->next)
		if (xls_record(&c->x, k->type, k->body, k->len, NULL, 0) == -1)
			return -1;
	return xls_end(&c->x);
}

static int
convert(struct conv *c, int in)
{
	struct vmi_reader *r;
	struct vmi_record rec;
	int n, began = 0, rc = -1;

	if ((r = vmi_reader_new(in, 1, c->err, sizeof(c->err))) == NULL)
		return -1;
	while ((n = vmi_next(r, &rec)) == 1) {
		switch (rec.type) {
		case VMI_REC_GUEST:
			if (guest(c, vmi_reader_guest(r)) == -1)
				goto out;
			break;
		case VMI_REC_CONFIG:
			/* Kept until the next record: the first piece may
			 * be the Xen version for the headers. */
			if ((c->config = malloc(rec.len)) == NULL) {
				cerr(c, "%s", "out of memory");
				goto out;
			}
			memcpy(c->config, rec.body, rec.len);
			c->configlen = rec.len;
			began = 1;
			break;
		case VMI_REC_PAGES:
		case VMI_REC_VCPU:
		case VMI_REC_PLATFORM:
			if (!began) {
				cerr(c, "%s", "the image has no CONFIG record "
				    "before its pages");
				goto out;
			}
			if (c->config != NULL && headers(c, &rec) == -1)
				goto out;
			if ((rec.type == VMI_REC_PAGES ? pages(c, &rec) :
			    state(c, &rec)) == -1)
				goto out;
			break;
		}
	}
	if (n == -1) {
		cerr(c, "%s", vmi_reader_error(r));
		goto out;
	}
	if (c->config != NULL && headers(c, NULL) == -1)
		goto out;
	if (finish(c) == -1) {
		cerr(c, "write: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	vmi_reader_free(r);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "output",	required_argument,	NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	static struct conv c;
	const char *in = "-", *out = "-";
	int ch, fd;

	while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		in = argv[0];
	if (strcmp(in, "-") != 0 && strcmp(in, out) == 0)
		errx(VMP_EX_USAGE, "%s: the output would overwrite the input",
		    in);
	fd = cli_open_in(in, VMP_EX_FAIL);
	c.x.fd = cli_open_out(out, VMP_EX_FAIL);
	if (convert(&c, fd) == -1) {
		/* Half a save file must not look like one. */
		if (strcmp(out, "-") != 0)
			unlink(out);
		errx(VMP_EX_FAIL, "%s: %s", in, c.err);
	}
	if (strcmp(out, "-") != 0 && fsync(c.x.fd) == -1 && errno != EINVAL)
		err(VMP_EX_FAIL, "fsync %s", out);
	return 0;
}
