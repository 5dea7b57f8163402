/*
 * bundle_read.c: read a bundle (vm-bundle(5)) as a stream with
 * libarchive, and check all of it.  Everything in a bundle is hostile
 * until checked: member names are compared with the names expected, not
 * interpreted, so nothing a bundle says is ever used as a path; every
 * size is bounded before anything is read or kept.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "hash.h"
#include "larchive.h"
#include "vis.h"

#define RBUF	(1u << 20)
/* Octets after the end of the archive that are read (they must be zero:
 * a tar writer's blocking) before the rest is called junk. */
#define TAIL_MAX	(16u << 20)

static const unsigned char zeros[RBUF];

struct sum { uint64_t size, digest; };

struct rd {
	struct hash_state	h;		/* the member being read */
	struct archive		*a;
	int			fd;
	const unsigned char	*pre;		/* octets read before us */
	size_t			prelen;
	int			timeout_ms;	/* of silence; 0 none */
	int			stop_at_end;
	const struct bundle_read_ops *ops;
	void			*arg;
	struct bundle_manifest	m;
	unsigned char		*buf;
	uint64_t		delivered;	/* octets read from fd */
	uint64_t		lastnz;		/* 1 + offset of the last
						   non-zero octet, or 0 */
	struct sum		*sums;		/* each member so far */
	unsigned		nsums, capsums;
	unsigned		nimage;
	struct bundle_stats	st;
	/* The member being read, for the sinks. */
	char			*text;		/* MANIFEST */
	size_t			textlen;
	int			dfd;		/* a disk's fd, or -1 */
	unsigned		disk;
	char			line[BUNDLE_SUM_LINE_MAX + 1];
	size_t			linelen;
	unsigned		sumline;
	char			*err;
	size_t			errlen;
};

static int
rfail(struct rd *r, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	errno = saved ? saved : EINVAL;
	return -1;
}

/* The octets of the stream: counted, and where the last non-zero one
 * is, so that the end of the archive can be checked for. */
static void
track(struct rd *r, const unsigned char *p, size_t n)
{
	for (size_t i = n; i > 0; i--)
		if (p[i - 1] != 0) {
			r->lastnz = r->delivered + i;
			break;
		}
	r->delivered += n;
}

/* read(2), within the source's deadline of silence. */
static ssize_t
rd_fill(struct rd *r)
{
	ssize_t n;

	for (;;) {
		if (r->timeout_ms > 0) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
			int k = poll(&pfd, 1, r->timeout_ms);

			if (k == -1 && errno == EINTR)
				continue;
			if (k == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
		n = read(r->fd, r->buf, RBUF);
		if (n == -1 && errno == EINTR)
			continue;
		return n;
	}
}

static la_ssize_t
rd_read(struct archive *a, void *arg, const void **out)
{
	struct rd *r = arg;
	ssize_t n;

	if (r->prelen > 0) {
		n = (ssize_t)r->prelen;
		track(r, r->pre, r->prelen);
		*out = r->pre;
		r->prelen = 0;
		return n;
	}
	if ((n = rd_fill(r)) == -1) {
		if (errno == ETIMEDOUT)
			la.archive_set_error(a, errno, "no data for %d s",
			    r->timeout_ms / 1000);
		else
			la.archive_set_error(a, errno, "read: %s",
			    strerror(errno));
		return -1;
	}
	track(r, r->buf, (size_t)n);
	*out = r->buf;
	return n;
}

/* Member i's name: MANIFEST, the image's, the disks', SUMS. */
static void
member_name(const struct rd *r, unsigned i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "%s", BUNDLE_MANIFEST);
	else if (i <= r->nimage)
		snprintf(buf, len, BUNDLE_IMAGE_FMT, i - 1);
	else if (i - 1 - r->nimage < r->m.ndisks)
		snprintf(buf, len, "%s", r->m.disk[i - 1 - r->nimage].member);
	else
		snprintf(buf, len, "%s", BUNDLE_SUMS);
}

/*
 * The next member's header: 1, 0 at the end of the archive, -1.  It
 * must be a regular file with a size; expect says what was expected,
 * for the message.
 */
static int
next(struct rd *r, struct archive_entry **e, const char **name,
    const char *expect)
{
	char v[4 * 64 + 1];
	int rc;

	rc = la.archive_read_next_header(r->a, e);
	if (rc == ARCHIVE_EOF)
		return 0;
	if (rc != ARCHIVE_OK)
		return rfail(r, "member %u: expected %s, found an unreadable "
		    "header: %s", r->nsums + 1, expect,
		    la.archive_error_string(r->a));
	if ((*name = la.archive_entry_pathname(*e)) == NULL)
		*name = "";
	vis_text(v, sizeof(v), *name, strnlen(*name, 64), 0);
	if (la.archive_entry_filetype(*e) != AE_IFREG ||
	    la.archive_entry_hardlink(*e) != NULL ||
	    la.archive_entry_symlink(*e) != NULL || !la.archive_entry_size_is_set(*e))
		return rfail(r, "member %u (\"%s\"): expected a regular file, "
		    "found another type", r->nsums + 1, v);
	return 1;
}

static int
wrong(struct rd *r, const char *expect, const char *name)
{
	char v[4 * 64 + 1];

	vis_text(v, sizeof(v), name, strnlen(name, 64), 0);
	return rfail(r, "member %u: expected %s, found \"%s\"", r->nsums + 1,
	    expect, v);
}

typedef int (*sink_fn)(struct rd *, const void *, size_t, uint64_t);

/*
 * A member's data, hashed and handed to take.  Only a disk may be
 * sparse: its holes are hashed as zeros and not handed over.
 */
static int
data(struct rd *r, const char *name, uint64_t size, int sparse_ok,
    sink_fn take)
{
	const void *p;
	size_t n, z;
	la_int64_t off;
	uint64_t pos = 0, hole;
	struct sum *s;
	int rc;

	hash_init(&r->h);
	for (;;) {
		rc = la.archive_read_data_block(r->a, &p, &n, &off);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK)
			return rfail(r, "%s: after %llu of %llu octets: %s",
			    name, (unsigned long long)pos,
			    (unsigned long long)size,
			    la.archive_error_string(r->a));
		if (off < 0 || (uint64_t)off < pos || (uint64_t)off > size ||
		    n > size - (uint64_t)off)
			return rfail(r, "%s: data at %lld, %zu octets: "
			    "expected it from %llu to at most %llu", name,
			    (long long)off, n, (unsigned long long)pos,
			    (unsigned long long)size);
		if ((uint64_t)off > pos && !sparse_ok)
			return rfail(r, "%s: expected a plain member, found "
			    "a hole at %llu", name, (unsigned long long)pos);
		for (hole = (uint64_t)off - pos; hole > 0; hole -= z) {
			z = hole < RBUF ? (size_t)hole : RBUF;
			hash_update(&r->h, zeros, z);
		}
		hash_update(&r->h, p, n);
		if (n > 0 && take(r, p, n, (uint64_t)off) == -1)
			return -1;
		pos = (uint64_t)off + n;
		if (sparse_ok)
			r->st.disk_data += n;
	}
	if (pos < size && !sparse_ok)
		return rfail(r, "%s: ends after %llu of %llu octets", name,
		    (unsigned long long)pos, (unsigned long long)size);
	for (hole = size - pos; hole > 0; hole -= z) {
		z = hole < RBUF ? (size_t)hole : RBUF;
		hash_update(&r->h, zeros, z);
	}
	if (r->nsums == r->capsums) {
		r->capsums = r->capsums ? 2 * r->capsums : 64;
		if ((s = reallocarray(r->sums, r->capsums, sizeof(*s))) ==
		    NULL)
			return rfail(r, "%s: out of memory", name);
		r->sums = s;
	}
	r->sums[r->nsums].size = size;
	r->sums[r->nsums].digest = hash_final(&r->h);
	r->nsums++;
	r->st.members++;
	return 0;
}

static int
take_text(struct rd *r, const void *p, size_t n, uint64_t off)
{
	memcpy(r->text + off, p, n);
	r->textlen = (size_t)off + n;
	return 0;
}

static int
take_image(struct rd *r, const void *p, size_t n, uint64_t off)
{
	(void)off;
	r->st.image_octets += n;
	if (r->ops->image != NULL && r->ops->image(r->arg, p, n) == -1)
		return rfail(r, "image: at octet %llu: %s",
		    (unsigned long long)(r->st.image_octets - n),
		    strerror(errno));
	return 0;
}

static int
take_disk(struct rd *r, const void *p, size_t n, uint64_t off)
{
	const struct bundle_disk *d = &r->m.disk[r->disk];
	const char *s = p;
	ssize_t w;

	if (r->dfd == -1) {
		if (r->ops->disk_data != NULL &&
		    r->ops->disk_data(r->arg, r->disk, p, n, off) == -1)
			return rfail(r, "%s: at %llu: %s", d->member,
			    (unsigned long long)off, strerror(errno));
		return 0;
	}
	while (n > 0) {
		w = pwrite(r->dfd, s, n, (off_t)off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return rfail(r, "%s: writing at %llu: %s", d->member,
			    (unsigned long long)off, strerror(errno));
		s += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* SUMS, a line at a time, each compared with the line its member
 * should have. */
static int
take_sums(struct rd *r, const void *p, size_t n, uint64_t off)
{
	const char *s = p;
	char want[BUNDLE_SUM_LINE_MAX + 1], name[BUNDLE_MEMBER_MAX + 1];
	char v[4 * BUNDLE_SUM_LINE_MAX + 1], wv[4 * BUNDLE_SUM_LINE_MAX + 1];
	const struct sum *sum;
	size_t k = strlen(BUNDLE_SUM_PREFIX) + 16;

	(void)off;
	for (size_t i = 0; i < n; i++) {
		if (r->linelen == BUNDLE_SUM_LINE_MAX)
			return rfail(r, "SUMS line %u: longer than %d octets",
			    r->sumline + 1, BUNDLE_SUM_LINE_MAX);
		r->line[r->linelen++] = s[i];
		if (s[i] != '\n')
			continue;
		if (r->sumline == r->nsums)
			return rfail(r, "SUMS line %u: expected the end of "
			    "SUMS (%u members before it), found more",
			    r->sumline + 1, r->nsums);
		sum = &r->sums[r->sumline];
		member_name(r, r->sumline, name, sizeof(name));
		snprintf(want, sizeof(want), BUNDLE_SUM_PREFIX "%016llx  "
		    "%llu  %s\n", (unsigned long long)sum->digest,
		    (unsigned long long)sum->size, name);
		if (r->linelen != strlen(want) ||
		    memcmp(r->line, want, r->linelen) != 0) {
			/* Only the digest differs: say so plainly. */
			if (r->linelen == strlen(want) &&
			    memcmp(r->line, want, strlen(BUNDLE_SUM_PREFIX))
			    == 0 && memcmp(r->line + k, want + k,
			    r->linelen - k) == 0)
				return rfail(r, "%s: digest mismatch: SUMS "
				    "says %.*s, the member's data has %.*s",
				    name, (int)k, r->line, (int)k, want);
			vis_text(v, sizeof(v), r->line, r->linelen - 1, 0);
			vis_text(wv, sizeof(wv), want, strlen(want) - 1, 0);
			return rfail(r, "SUMS line %u: expected \"%s\", found "
			    "\"%s\"", r->sumline + 1, wv, v);
		}
		r->sumline++;
		r->linelen = 0;
	}
	return 0;
}

static int
read_manifest(struct rd *r)
{
	struct archive_entry *e;
	const char *name;
	uint64_t size;
	int n;

	if ((n = next(r, &e, &name, BUNDLE_MANIFEST)) != 1)
		return n == 0 ? rfail(r, "expected member " BUNDLE_MANIFEST
		    ", found the end of the archive") : -1;
	if (strcmp(name, BUNDLE_MANIFEST) != 0)
		return wrong(r, BUNDLE_MANIFEST, name);
	size = (uint64_t)la.archive_entry_size(e);
	if (size > BUNDLE_MANIFEST_MAX)
		return rfail(r, "MANIFEST: %llu octets, expected at most %d",
		    (unsigned long long)size, BUNDLE_MANIFEST_MAX);
	if ((r->text = malloc(size + 1)) == NULL)
		return rfail(r, "MANIFEST: out of memory");
	if (data(r, BUNDLE_MANIFEST, size, 0, take_text) == -1 ||
	    bundle_manifest_parse(&r->m, r->text, r->textlen, r->err,
	    r->errlen) == -1)
		return -1;
	if (r->ops->manifest != NULL && r->ops->manifest(r->arg, &r->m) == -1)
		return rfail(r, "MANIFEST: refused: %s", strerror(errno));
	return 0;
}

/* The image's members, then the first member after them in *e. */
static int
read_image(struct rd *r, struct archive_entry **e, const char **name)
{
	char want[BUNDLE_MEMBER_MAX + 1], expect[64];
	const char *after = r->m.ndisks ? r->m.disk[0].member : BUNDLE_SUMS;
	uint64_t size = 0;
	int n;

	for (;;) {
		snprintf(want, sizeof(want), BUNDLE_IMAGE_FMT, r->nimage);
		/* After a full member the image may go on or have ended. */
		if (r->nimage > 0 && size == r->m.chunk)
			snprintf(expect, sizeof(expect), "%s or %s", want,
			    after);
		else
			snprintf(expect, sizeof(expect), "%s", r->nimage ?
			    after : want);
		if ((n = next(r, e, name, expect)) != 1)
			return n == 0 ? rfail(r, "member %u: expected %s, "
			    "found the end of the archive", r->nsums + 1,
			    expect) : -1;
		if (strcmp(*name, want) != 0 || (r->nimage > 0 &&
		    size < r->m.chunk)) {
			if (r->nimage > 0 && strcmp(*name, after) == 0)
				return 0;
			return wrong(r, expect, *name);
		}
		size = (uint64_t)la.archive_entry_size(*e);
		if (size == 0 || size > r->m.chunk)
			return rfail(r, "%s: %llu octets, expected 1 to %llu "
			    "(the MANIFEST's chunk)", want,
			    (unsigned long long)size,
			    (unsigned long long)r->m.chunk);
		if (data(r, want, size, 0, take_image) == -1)
			return -1;
		r->nimage++;
		r->st.image_members++;
		if (r->nimage == BUNDLE_IMAGE_MAX)
			return rfail(r, "image: more than %d members",
			    BUNDLE_IMAGE_MAX);
	}
}

static int
read_disk(struct rd *r, struct archive_entry *e, const char *name)
{
	const struct bundle_disk *d = &r->m.disk[r->disk];
	uint64_t size = (uint64_t)la.archive_entry_size(e);

	if (strcmp(name, d->member) != 0)
		return wrong(r, d->member, name);
	if (size != d->size)
		return rfail(r, "%s: %llu octets, expected %llu (the "
		    "MANIFEST's size)", d->member, (unsigned long long)size,
		    (unsigned long long)d->size);
	r->dfd = -1;
	errno = 0;
	if (r->ops->disk_open != NULL &&
	    (r->dfd = r->ops->disk_open(r->arg, r->disk, d)) == -1 &&
	    errno != 0)
		return rfail(r, "%s: %s", d->member, strerror(errno));
	/* The holes are holes only in an empty file. */
	if (r->dfd != -1 && ftruncate(r->dfd, 0) == -1)
		return rfail(r, "%s: %s", d->member, strerror(errno));
	if (data(r, d->member, size, 1, take_disk) == -1)
		return -1;
	if (r->dfd != -1 && ftruncate(r->dfd, (off_t)size) == -1)
		return rfail(r, "%s: %s", d->member, strerror(errno));
	r->st.disk_octets += size;
	return 0;
}

static int
read_sums(struct rd *r, struct archive_entry *e, const char *name)
{
	uint64_t size = (uint64_t)la.archive_entry_size(e);
	uint64_t max = (uint64_t)r->nsums * BUNDLE_SUM_LINE_MAX;
	unsigned n = r->nsums;

	if (strcmp(name, BUNDLE_SUMS) != 0)
		return wrong(r, BUNDLE_SUMS, name);
	if (size > max)
		return rfail(r, "SUMS: %llu octets, expected at most %llu",
		    (unsigned long long)size, (unsigned long long)max);
	if (data(r, BUNDLE_SUMS, size, 0, take_sums) == -1)
		return -1;
	if (r->linelen != 0)
		return rfail(r, "SUMS line %u: expected a line feed at its "
		    "end, found the end of SUMS", r->sumline + 1);
	if (r->sumline != n)
		return rfail(r, "SUMS: %u lines, expected %u (one for each "
		    "member before it)", r->sumline, n);
	return 0;
}

/*
 * After SUMS: the end of the archive (two blocks of zeros), then only
 * zeros (a writer's blocking) up to the end of the stream.  libarchive
 * takes a stream that simply stops for an end, so this is checked on
 * the octets themselves: since SUMS ends in a line feed and its padding
 * is under 512 octets, a stream of whole blocks that ends in at least
 * 1024 zeros has both.
 */
static int
read_end(struct rd *r)
{
	struct archive_entry *e;
	const char *name;
	uint64_t used, extra = 0;
	ssize_t n;
	int rc;

	if ((rc = next(r, &e, &name, "the end of the archive")) != 0)
		return rc == 1 ? wrong(r, "the end of the archive after "
		    BUNDLE_SUMS, name) : -1;
	used = (uint64_t)la.archive_filter_bytes(r->a, 0);
	/* More may follow on the source (a sender's word after the
	 * bundle): what was read is all there is to check. */
	while (!r->stop_at_end) {
		n = rd_fill(r);
		if (n == -1 && errno == ETIMEDOUT)
			return rfail(r, "no data for %d s after the end of "
			    "the archive", r->timeout_ms / 1000);
		if (n == -1)
			return rfail(r, "read: %s", strerror(errno));
		if (n == 0)
			break;
		track(r, r->buf, (size_t)n);
		if ((extra += (uint64_t)n) > TAIL_MAX)
			break;
	}
	if (r->lastnz > used || extra > TAIL_MAX)
		return rfail(r, "data after the end of the archive, at offset "
		    "%llu", (unsigned long long)(r->lastnz > used ? used :
		    r->delivered));
	if (r->delivered % 512 != 0 || r->delivered - r->lastnz < 1024)
		return rfail(r, "the archive ends after SUMS without its end "
		    "(two blocks of zeros): cut short");
	return 0;
}

int
bundle_read(int fd, const struct bundle_read_ops *ops, void *arg,
    struct bundle_stats *st, char *err, size_t errlen)
{
	const struct bundle_source src = { .fd = fd };

	return bundle_read_from(&src, ops, arg, st, err, errlen);
}

int
bundle_read_from(const struct bundle_source *src,
    const struct bundle_read_ops *ops, void *arg, struct bundle_stats *st,
    char *err, size_t errlen)
{
	static const struct bundle_read_ops none;
	struct archive_entry *e;
	const char *name;
	struct rd *r;
	int rc = -1, saved;

	if (larchive_load(err, errlen) == -1)
		return -1;
	if ((r = hash_calloc(sizeof(*r))) == NULL ||
	    (r->buf = malloc(RBUF)) == NULL ||
	    (r->a = la.archive_read_new()) == NULL) {
		snprintf(err, errlen, "bundle: out of memory");
		goto out;
	}
	if (errlen > 0)
		err[0] = '\0';
	r->fd = src->fd;
	r->pre = src->pre;
	r->prelen = src->prelen;
	r->timeout_ms = src->timeout_ms;
	r->stop_at_end = src->stop_at_end;
	r->ops = ops != NULL ? ops : &none;
	r->arg = arg;
	r->err = err;
	r->errlen = errlen;
	r->dfd = -1;
	/* tar alone (ustar, pax, GNU), no compression: a compressed
	 * bundle is uncompressed before it comes here. */
	if (la.archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
	    la.archive_read_open(r->a, r, NULL, rd_read, NULL) != ARCHIVE_OK) {
		rfail(r, "not a bundle: %s", la.archive_error_string(r->a));
		goto out;
	}
	if (read_manifest(r) == -1 || read_image(r, &e, &name) == -1)
		goto out;
	for (r->disk = 0; r->disk < r->m.ndisks; r->disk++) {
		if (r->disk > 0 && next(r, &e, &name,
		    r->m.disk[r->disk].member) != 1) {
			if (r->err[0] == '\0')
				rfail(r, "member %u: expected %s, found the "
				    "end of the archive", r->nsums + 1,
				    r->m.disk[r->disk].member);
			goto out;
		}
		if (read_disk(r, e, name) == -1)
			goto out;
	}
	if (r->m.ndisks > 0 && (rc = next(r, &e, &name, BUNDLE_SUMS)) != 1) {
		if (rc == 0)
			rfail(r, "member %u: expected " BUNDLE_SUMS ", found "
			    "the end of the archive", r->nsums + 1);
		rc = -1;
		goto out;
	}
	rc = -1;
	if (read_sums(r, e, name) == -1 || read_end(r) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (r != NULL) {
		if (st != NULL) {
			r->st.offset = r->delivered;
			*st = r->st;
		}
		if (r->a != NULL)
			la.archive_read_free(r->a);
		free(r->sums);
		free(r->text);
		free(r->buf);
		free(r);
	}
	errno = saved;
	return rc;
}
