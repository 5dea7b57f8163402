/*
 * vmi_read.c: the stream reader's fetching half.
 *
 * Records are fetched raw (header, body, padding) into a small ring of
 * buffers, optionally by a read-ahead thread, or found where they lie in
 * a mapped regular file; vmi_next() (vmi_check.c) takes them one by one
 * in the caller's thread and checks them.  Nothing here judges a record:
 * a fetch reads no more than its header says and stops at END, and what
 * it met (a short read, a failed one) is left for the checker to report.
 * So all that the read-ahead thread runs is in this file, with the
 * reader's opening, the lending of its buffers, and its end.  Memory is
 * bounded: the ring holds a few records of at most VMI_MAX_BODY octets.
 *
 * The calls run one way: vmi_check.c calls vmi_next_raw() here, and of
 * the checks this file calls only the file header's (vmi_rules.c), never
 * the checker.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "hash.h"
#include "io.h"
#include "vmi.h"
#include "vmi_pool.h"
#include "vmi_read_int.h"

/* The same as fetch(), from the file's map. */
static void
fetch_mapped(struct vmi_reader *r, struct raw *x)
{
	uint64_t left = r->stream_len - r->offset;
	size_t body;

	x->got = left < sizeof(x->hdr) ? left : sizeof(x->hdr);
	memcpy(&x->hdr, r->stream + r->offset, x->got);
	r->offset += x->got;
	if (x->got < sizeof(x->hdr)) {
		x->eof = 1;
		return;
	}
	if (x->hdr.length > VMI_MAX_BODY)
		return;
	body = (x->hdr.length + 7) & ~(size_t)7;
	left -= sizeof(x->hdr);
	x->body = r->stream + r->offset;
	if (left < body) {
		x->eof = 1;
		body = left;
	}
	x->got += body;
	r->offset += body;
}

/*
 * Where a PAGES body goes in its buffer: so that its pages lie on page
 * boundaries (lead octets in), which lets a restore splice them whole
 * (one pipe buffer a page, not two).  first is the body's page header,
 * read already, with the frame count.
 */
static size_t
body_lead(const uint8_t *first)
{
	struct vmi_pages ph;
	size_t words;

	memcpy(&ph, first, sizeof(ph));
	/* A count out of bounds is the checker's to refuse. */
	words = ph.count <= VMI_PAGES_MAX ? ph.count : 0;
	return (4096 - (sizeof(ph) + words * 8) % 4096) % 4096;
}

/* Read one raw record: never more than its header says, never past END. */
static void
fetch(struct vmi_reader *r, struct raw *x)
{
	uint8_t first[sizeof(struct vmi_pages)];
	ssize_t n;
	size_t body, head, lead;

	x->offset = r->offset;
	x->got = 0;
	x->eof = x->error = 0;
	if (r->map != NULL) {
		fetch_mapped(r, x);
		return;
	}
	n = io_readall(r->fd, &x->hdr, sizeof(x->hdr));
	if (n < 0)
		goto ioerr;
	x->got = n;
	r->offset += n;
	if ((size_t)n < sizeof(x->hdr)) {
		x->eof = 1;
		return;
	}
	/* A length beyond the limit is reported by the checker unread. */
	if (x->hdr.length > VMI_MAX_BODY)
		return;
	body = (x->hdr.length + 7) & ~(size_t)7;
	/* Only an uncompressed PAGES body is placed: its header first. */
	head = x->hdr.type == VMI_REC_PAGES && !(x->hdr.flags & VMI_RF_ZSTD) &&
	    body >= sizeof(first) ? sizeof(first) : 0;
	n = head ? io_readall(r->fd, first, head) : 0;
	if (n < 0)
		goto ioerr;
	lead = head && (size_t)n == head ? body_lead(first) : 0;
	if (x->mem == NULL || x->mem->cap < lead + body) {
		vmi_pool_put(&r->pool, x->mem);
		if ((x->mem = vmi_pool_get(&r->pool, lead + body)) == NULL) {
			x->error = ENOMEM;
			return;
		}
	}
	x->body = x->mem->p + lead;
	memcpy(x->mem->p + lead, first, n);
	x->got += n;
	r->offset += n;
	if ((size_t)n < head) {
		x->eof = 1;
		return;
	}
	n = io_readall(r->fd, x->mem->p + lead + head, body - head);
	if (n < 0)
		goto ioerr;
	x->got += n;
	r->offset += n;
	if ((size_t)n < body - head)
		x->eof = 1;
	return;
ioerr:
	x->error = errno;
}

static int
fetch_final(const struct raw *x)
{
	return x->eof || x->error || x->hdr.length > VMI_MAX_BODY ||
	    x->hdr.type == VMI_REC_END;
}

static void *
readahead_main(void *arg)
{
	struct vmi_reader *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->stop && !r->fetch_done) {
		struct raw *x = &r->ring[r->head % NRING];

		while (!r->stop && x->state != 0)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->mu);
		fetch(r, x);
		pthread_mutex_lock(&r->mu);
		x->state = 1;
		r->head++;
		if (fetch_final(x))
			r->fetch_done = 1;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Hand out the next raw record, releasing the one handed out before. */
struct raw *
vmi_next_raw(struct vmi_reader *r)
{
	struct raw *x;

	if (!r->threaded) {
		x = &r->ring[0];
		if (r->fetch_done)
			return NULL;
		fetch(r, x);
		if (fetch_final(x))
			r->fetch_done = 1;
		return x;
	}
	pthread_mutex_lock(&r->mu);
	if (r->held) {
		r->ring[(r->tail - 1) % NRING].state = 0;
		r->held = 0;
		pthread_cond_broadcast(&r->cv);
	}
	x = &r->ring[r->tail % NRING];
	while (x->state == 0 && !(r->fetch_done && r->tail == r->head))
		pthread_cond_wait(&r->cv, &r->mu);
	if (x->state == 0)
		x = NULL;
	else {
		r->tail++;
		r->held = 1;
	}
	pthread_mutex_unlock(&r->mu);
	return x;
}

static int
check_header(struct vmi_reader *r, int fd, char *err, size_t errlen)
{
	struct vmi_file_header fh;
	ssize_t n = io_readall(fd, &fh, sizeof(fh));

	if (n < 0)
		return snprintf(err, errlen, "read: %s", strerror(errno)), -1;
	r->offset = n;
	if (vmi_check_file_header(&fh, n, err, errlen) == -1)
		return -1;
	r->hflags = fh.flags;
	hash_init(&r->digest);
	hash_update(&r->digest, &fh, sizeof(fh));
	return 0;
}

/* Map the rest of a regular file; on any failure it is simply read. */
static void
map_file(struct vmi_reader *r)
{
	struct stat sb;
	off_t pos = lseek(r->fd, 0, SEEK_CUR);
	void *p;

	if (pos < (off_t)sizeof(struct vmi_file_header) ||
	    fstat(r->fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size <= pos)
		return;
	p = mmap(NULL, sb.st_size, PROT_READ, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED)
		return;
	(void)madvise(p, sb.st_size, MADV_SEQUENTIAL);
	r->map = p;
	r->map_len = sb.st_size;
	/* Stream offset 0 is the file header, already read before pos. */
	r->stream = (const uint8_t *)p + pos - r->offset;
	r->stream_len = sb.st_size - pos + r->offset;
}

struct vmi_reader *
vmi_reader_new(int fd, int readahead, char *err, size_t errlen)
{
	struct vmi_reader *r = hash_calloc(sizeof(*r));

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fd = fd;
	r->last_round = -1;
	vmi_pool_init(&r->pool);
	io_pipe_grow(fd);
	if (check_header(r, fd, err, errlen) == -1) {
		vmi_pool_free(&r->pool);
		free(r);
		return NULL;
	}
	map_file(r);
	if (readahead && r->map == NULL) {
		pthread_mutex_init(&r->mu, NULL);
		pthread_cond_init(&r->cv, NULL);
		if (pthread_create(&r->thread, NULL, readahead_main, r) == 0)
			r->threaded = 1;
	}
	return r;
}

uint32_t
vmi_reader_flags(struct vmi_reader *r)
{
	return r->hflags;
}

uint64_t
vmi_reader_offset(struct vmi_reader *r)
{
	return r->offset;
}

const struct vmi_guest *
vmi_reader_guest(struct vmi_reader *r)
{
	return r->have_guest ? &r->guest : NULL;
}

const char *
vmi_reader_error(struct vmi_reader *r)
{
	return r->err[0] ? r->err : strerror(errno);
}

int
vmi_reader_trailing(struct vmi_reader *r)
{
	char c;

	if (r->map != NULL)
		return r->stream_len > r->offset;
	return io_readall(r->fd, &c, 1) == 1;
}

void
vmi_pages_view(const struct vmi_record *rec, struct vmi_pages_view *v)
{
	const uint8_t *p = rec->body;
	struct vmi_pages ph;

	memcpy(&ph, p, sizeof(ph));
	v->count = ph.count;
	v->pfn = (const uint64_t *)(p + sizeof(ph));
	v->data = p + sizeof(ph) + (size_t)ph.count * 8;
}

void
vmi_reader_free(struct vmi_reader *r)
{
	if (r == NULL)
		return;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	/* Lent buffers too: a pipe that still refers to their pages keeps
	 * the pages, and what they hold (vmi_pool.c). */
	vmi_pool_free(&r->pool);
	if (r->map != NULL)
		munmap(r->map, r->map_len);
	free(r->dbuf);
	free(r->seen);
	ZSTD_freeDCtx(r->z);
	free(r);
}

int
vmi_record_stable(const struct vmi_reader *r, const struct vmi_record *rec)
{
	const uint8_t *b = rec->body, *m = r->map;

	return m != NULL && b >= m && b + rec->len <= m + r->map_len;
}

struct vmi_loan *
vmi_record_lend(struct vmi_reader *r, const struct vmi_record *rec)
{
	struct raw *x;
	struct vmi_buf *b;

	if (r->map != NULL || (r->threaded && !r->held))
		return NULL;
	x = r->threaded ? &r->ring[(r->tail - 1) % NRING] : &r->ring[0];
	b = x->mem;
	/* Only a body that lies in the buffer (not decompressed). */
	if (b == NULL || rec->body != x->body ||
	    (const uint8_t *)rec->body + rec->len > b->p + b->cap)
		return NULL;
	x->mem = NULL;
	return (struct vmi_loan *)b;
}

void
vmi_loan_return(struct vmi_reader *r, struct vmi_loan *loan)
{
	vmi_pool_put(&r->pool, (struct vmi_buf *)loan);
}
