/*
 * bundle_write.c: write a bundle (vm-bundle(5)) as a stream with
 * libarchive's pax writer.  The only thing staged is one image chunk:
 * a tar member's size goes before its data, and the image's size is not
 * known until its end.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "hash.h"
#include "io.h"
#include "larchive.h"

#define IOBUF	(1u << 20)

/* Holes are passed to the pax writer as zeros (it counts them off its
 * sparse map and writes nothing) and hashed as zeros. */
static const unsigned char zeros[IOBUF];

enum wstate { W_IMAGE, W_DISKS, W_CLOSED, W_FAILED };

struct bundle_writer {
	struct hash_state	h;		/* the member being written */
	struct archive		*a;
	struct bundle_manifest	m;
	enum wstate		state;
	unsigned		next_disk;
	unsigned		nimage;		/* image members written */
	unsigned char		*chunk;		/* the image's staging */
	size_t			fill;
	uint64_t		image_octets;
	unsigned char		*buf;		/* a disk's reads */
	char			*sums;		/* SUMS, as it grows */
	size_t			sums_len;
	FILE			*sums_f;
	time_t			mtime;
	int			fd;
	uint64_t		offset;		/* octets written to fd */
	char			err[BUNDLE_ERRLEN];
};

static int
wfail(struct bundle_writer *w, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	w->state = W_FAILED;
	errno = saved ? saved : EIO;
	return -1;
}

/* A member's header: a regular file owned by root, mode 0600 (a disk
 * holds the guest's secrets as much as its memory does). */
static struct archive_entry *
entry_new(struct bundle_writer *w, const char *name, uint64_t size)
{
	struct archive_entry *e;

	if ((e = la.archive_entry_new()) == NULL)
		return NULL;
	la.archive_entry_set_pathname(e, name);
	la.archive_entry_set_filetype(e, AE_IFREG);
	la.archive_entry_set_perm(e, 0600);
	la.archive_entry_set_size(e, (la_int64_t)size);
	la.archive_entry_set_mtime(e, w->mtime, 0);
	return e;
}

/* Data of the member being written, hashed on the way. */
static int
put(struct bundle_writer *w, const char *name, const void *p, size_t len)
{
	la_ssize_t n;

	hash_update(&w->h, p, len);
	if ((n = la.archive_write_data(w->a, p, len)) != (la_ssize_t)len)
		return wfail(w, "%s: write: %s", name, n < 0 ?
		    la.archive_error_string(w->a) : "short write");
	return 0;
}

static int
header(struct bundle_writer *w, struct archive_entry *e, const char *name)
{
	hash_init(&w->h);
	if (la.archive_write_header(w->a, e) != ARCHIVE_OK) {
		wfail(w, "%s: header: %s", name, la.archive_error_string(w->a));
		la.archive_entry_free(e);
		return -1;
	}
	la.archive_entry_free(e);
	return 0;
}

/* The member is done: its SUMS line. */
static int
finish(struct bundle_writer *w, const char *name, uint64_t size)
{
	if (la.archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return wfail(w, "%s: %s", name, la.archive_error_string(w->a));
	if (w->sums_f == NULL)		/* SUMS itself */
		return 0;
	fprintf(w->sums_f, BUNDLE_SUM_PREFIX "%016llx  %llu  %s\n",
	    (unsigned long long)hash_final(&w->h), (unsigned long long)size,
	    name);
	if (fflush(w->sums_f) != 0)
		return wfail(w, "SUMS: %s", strerror(errno));
	return 0;
}

/* A whole member from memory. */
static int
member(struct bundle_writer *w, const char *name, const void *p,
    size_t len)
{
	struct archive_entry *e;

	if ((e = entry_new(w, name, len)) == NULL)
		return wfail(w, "%s: out of memory", name);
	if (header(w, e, name) == -1 || put(w, name, p, len) == -1)
		return -1;
	return finish(w, name, len);
}

static int
flush_chunk(struct bundle_writer *w)
{
	char name[BUNDLE_MEMBER_MAX + 1];

	if (w->nimage == BUNDLE_IMAGE_MAX)
		return wfail(w, "image: more than %u members of %llu octets",
		    BUNDLE_IMAGE_MAX, (unsigned long long)w->m.chunk);
	snprintf(name, sizeof(name), BUNDLE_IMAGE_FMT, w->nimage);
	if (member(w, name, w->chunk, w->fill) == -1)
		return -1;
	w->nimage++;
	w->fill = 0;
	return 0;
}

/* libarchive's output: to fd, unless the bundle has failed, so that a
 * failed or unfinished bundle never gets an end of archive that would
 * make it look whole up to where it stopped. */
static la_ssize_t
out(struct archive *a, void *arg, const void *p, size_t n)
{
	struct bundle_writer *w = arg;

	if (w->state == W_FAILED) {
		la.archive_set_error(a, EIO, "the bundle failed");
		return -1;
	}
	if (io_writeall(w->fd, p, n) == -1) {
		la.archive_set_error(a, errno, "write: %s", strerror(errno));
		return -1;
	}
	w->offset += n;
	return (la_ssize_t)n;
}

struct bundle_writer *
bundle_writer_new(int fd, const struct bundle_manifest *m, char *err,
    size_t errlen)
{
	struct bundle_writer *w;
	char *text = NULL;
	size_t len;

	if (larchive_load(err, errlen) == -1)
		return NULL;
	if ((w = hash_calloc(sizeof(*w))) == NULL) {
		snprintf(err, errlen, "bundle: out of memory");
		return NULL;
	}
	w->m = *m;
	w->fd = fd;
	if (w->m.chunk == 0)
		w->m.chunk = BUNDLE_CHUNK_DEFAULT;
	w->mtime = time(NULL);
	if (bundle_manifest_format(&w->m, &text, &len, err, errlen) == -1)
		goto fail;
	/* What the writer is given is checked as a reader would. */
	if (bundle_manifest_parse(&w->m, text, len, err, errlen) == -1)
		goto fail;
	if ((w->chunk = malloc(w->m.chunk)) == NULL ||
	    (w->buf = malloc(IOBUF)) == NULL ||
	    (w->sums_f = open_memstream(&w->sums, &w->sums_len)) == NULL ||
	    (w->a = la.archive_write_new()) == NULL) {
		snprintf(err, errlen, "bundle: out of memory");
		goto fail;
	}
	/*
	 * pax, for sparse members (GNU.sparse 1.0) and sizes past 8 GiB.
	 * Unblocked: each write goes straight to fd, the end of the
	 * archive being its two zero blocks and nothing more.
	 */
	if (la.archive_write_set_format_pax(w->a) != ARCHIVE_OK ||
	    la.archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
	    la.archive_write_open2(w->a, w, NULL, out, NULL, NULL) !=
	    ARCHIVE_OK) {
		snprintf(err, errlen, "bundle: %s",
		    la.archive_error_string(w->a));
		goto fail;
	}
	if (member(w, BUNDLE_MANIFEST, text, len) == -1) {
		snprintf(err, errlen, "%s", w->err);
		goto fail;
	}
	free(text);
	return w;
fail:
	free(text);
	bundle_writer_free(w);
	return NULL;
}

int
bundle_write_image(struct bundle_writer *w, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t n;

	if (w->state != W_IMAGE)
		return wfail(w, "image: written %s", w->state == W_FAILED ?
		    "after a failure" : "after the disks");
	while (len > 0) {
		n = w->m.chunk - w->fill;
		if (n > len)
			n = len;
		memcpy(w->chunk + w->fill, s, n);
		w->fill += n;
		w->image_octets += n;
		s += n;
		len -= n;
		if (w->fill == w->m.chunk && flush_chunk(w) == -1)
			return -1;
	}
	return 0;
}

int
bundle_pump_image(struct bundle_writer *w, int fd)
{
	ssize_t n;

	if (w->state != W_IMAGE)
		return wfail(w, "image: written %s", w->state == W_FAILED ?
		    "after a failure" : "after the disks");
	for (;;) {
		/* Straight into the chunk: no copy. */
		n = read(fd, w->chunk + w->fill, w->m.chunk - w->fill);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return wfail(w, "image: read: %s", strerror(errno));
		if (n == 0)
			return 0;
		w->fill += (size_t)n;
		w->image_octets += (uint64_t)n;
		if (w->fill == w->m.chunk && flush_chunk(w) == -1)
			return -1;
	}
}

/* The last image member, however short; an image is never empty. */
static int
end_image(struct bundle_writer *w)
{
	if (w->state != W_IMAGE)
		return 0;
	if (w->fill > 0 && flush_chunk(w) == -1)
		return -1;
	if (w->nimage == 0)
		return wfail(w, "image: no octets written");
	w->state = W_DISKS;
	return 0;
}

struct extent { uint64_t off, len; };

/*
 * Where the data of fd lies, from SEEK_DATA and SEEK_HOLE, in order.
 * A file system without them (EINVAL) and a block device have one
 * extent, the whole.
 */
static int
map_data(int fd, uint64_t size, struct extent **out, size_t *count)
{
	struct extent *x = NULL, *nx;
	size_t n = 0, cap = 0;
	off_t d, h, pos = 0;

	while ((uint64_t)pos < size) {
		if ((d = lseek(fd, pos, SEEK_DATA)) == -1) {
			if (errno == ENXIO)
				break;
			if (errno != EINVAL || pos != 0)
				goto fail;
			d = 0;
			h = (off_t)size;
		} else if ((h = lseek(fd, d, SEEK_HOLE)) == -1)
			goto fail;
		if ((uint64_t)h > size)
			h = (off_t)size;
		if (h <= d)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((nx = reallocarray(x, cap, sizeof(*x))) == NULL)
				goto fail;
			x = nx;
		}
		x[n].off = (uint64_t)d;
		x[n].len = (uint64_t)(h - d);
		n++;
		pos = h;
	}
	*out = x;
	*count = n;
	return 0;
fail:
	free(x);
	return -1;
}

static int
disk_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size);
	errno = EINVAL;
	return -1;
}

/* Zeros for a hole of len octets. */
static int
put_hole(struct bundle_writer *w, const char *name, uint64_t len)
{
	size_t n;

	for (; len > 0; len -= n) {
		n = len < IOBUF ? (size_t)len : IOBUF;
		if (put(w, name, zeros, n) == -1)
			return -1;
	}
	return 0;
}

static int
put_data(struct bundle_writer *w, const char *name, int fd, uint64_t off,
    uint64_t len)
{
	ssize_t r;
	size_t n;

	for (; len > 0; len -= n, off += n) {
		n = len < IOBUF ? (size_t)len : IOBUF;
		if ((r = io_preadall(fd, w->buf, n, (off_t)off)) == -1)
			return wfail(w, "%s: read at %llu: %s", name,
			    (unsigned long long)off, strerror(errno));
		if ((size_t)r != n) {
			errno = EIO;
			return wfail(w, "%s: ends at %llu, expected data to "
			    "%llu: it changed while it was written", name,
			    (unsigned long long)(off + (uint64_t)r),
			    (unsigned long long)(off + len));
		}
		if (put(w, name, w->buf, n) == -1)
			return -1;
	}
	return 0;
}

int
bundle_add_disk(struct bundle_writer *w, const char *device, int fd)
{
	struct archive_entry *e;
	struct bundle_disk *d;
	struct extent *x = NULL;
	size_t nx = 0;
	uint64_t size, pos = 0;
	int sparse;

	if (end_image(w) == -1 || w->state != W_DISKS)
		return w->state == W_FAILED ? -1 :
		    wfail(w, "disk %s: added after the end", device);
	if (w->next_disk == w->m.ndisks)
		return wfail(w, "disk %s: expected no more disks", device);
	d = &w->m.disk[w->next_disk];
	if (strcmp(d->device, device) != 0)
		return wfail(w, "disk %s: expected disk %s (the MANIFEST's "
		    "order)", device, d->device);
	if (disk_size(fd, &size) == -1)
		return wfail(w, "%s: %s", d->member, strerror(errno));
	if (size != d->size) {
		errno = EINVAL;
		return wfail(w, "%s: %llu octets, the MANIFEST says %llu",
		    d->member, (unsigned long long)size,
		    (unsigned long long)d->size);
	}
	if (map_data(fd, size, &x, &nx) == -1)
		return wfail(w, "%s: finding its data: %s", d->member,
		    strerror(errno));
	if ((e = entry_new(w, d->member, size)) == NULL) {
		free(x);
		return wfail(w, "%s: out of memory", d->member);
	}
	/* A member that is all data is an ordinary one; otherwise the map,
	 * ended by a run of no octets at the end when the file ends in a
	 * hole or is all hole. */
	sparse = !(nx == 1 && x[0].off == 0 && x[0].len == size);
	if (sparse) {
		for (size_t i = 0; i < nx; i++)
			la.archive_entry_sparse_add_entry(e, (la_int64_t)x[i].off,
			    (la_int64_t)x[i].len);
		if (nx == 0)
			la.archive_entry_sparse_add_entry(e, (la_int64_t)size, 0);
	}
	if (header(w, e, d->member) == -1)
		goto fail;
	for (size_t i = 0; i < nx; i++) {
		if (put_hole(w, d->member, x[i].off - pos) == -1 ||
		    put_data(w, d->member, fd, x[i].off, x[i].len) == -1)
			goto fail;
		pos = x[i].off + x[i].len;
	}
	if (put_hole(w, d->member, size - pos) == -1 ||
	    finish(w, d->member, size) == -1)
		goto fail;
	free(x);
	w->next_disk++;
	return 0;
fail:
	free(x);
	return -1;
}

int
bundle_writer_close(struct bundle_writer *w)
{
	if (end_image(w) == -1 || w->state != W_DISKS)
		return w->state == W_FAILED ? -1 :
		    wfail(w, "bundle: closed twice");
	if (w->next_disk != w->m.ndisks)
		return wfail(w, "bundle: %u of %u disks added, expected all "
		    "before SUMS", w->next_disk, w->m.ndisks);
	if (fclose(w->sums_f) != 0) {
		w->sums_f = NULL;
		return wfail(w, "SUMS: %s", strerror(errno));
	}
	w->sums_f = NULL;
	if (member(w, BUNDLE_SUMS, w->sums, w->sums_len) == -1)
		return -1;
	if (la.archive_write_close(w->a) != ARCHIVE_OK)
		return wfail(w, "bundle: %s", la.archive_error_string(w->a));
	w->state = W_CLOSED;
	return 0;
}

const char *
bundle_writer_error(const struct bundle_writer *w)
{
	return w->err;
}

uint64_t
bundle_writer_offset(const struct bundle_writer *w)
{
	return w->offset;
}

void
bundle_writer_free(struct bundle_writer *w)
{
	if (w == NULL)
		return;
	if (w->a != NULL) {
		if (w->state != W_CLOSED)
			w->state = W_FAILED;	/* see out() */
		la.archive_write_free(w->a);
	}
	if (w->sums_f != NULL)
		fclose(w->sums_f);
	free(w->sums);
	free(w->buf);
	free(w->chunk);
	free(w);
}
