/*
 * vmi_write.c: the stream writer.
 *
 * The caller builds records into slots of a small ring.  A finished slot
 * is checksummed (and compressed) either by the caller itself or, with
 * compression, by worker threads; an output thread writes ready slots
 * strictly in sequence order with one writev each, and folds each header
 * into the END digest.  So the caller, the compressors and the pipe all
 * run at once, and memory stays bounded by the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "hash.h"
#include "io.h"
#include "vmi.h"

enum { S_FREE, S_FILLED, S_BUSY, S_READY };

#define PAGE		4096u
#define PFN_OFF		sizeof(struct vmi_pages)
#define DATA_OFF	(PFN_OFF + VMI_PAGES_MAX * 8)
#define PAGES_CAP	(DATA_OFF + VMI_PAGES_MAX * PAGE)

struct slot {
	int			 state;
	struct vmi_record_header hdr;
	uint8_t			*buf;		/* body built here */
	size_t			 cap;
	size_t			 len;		/* body octets in buf */
	/* PAGES records: frames queued, and pages sent without a copy. */
	uint32_t		 count;
	uint32_t		 ndata;
	struct iovec		*ext;		/* VMI_PAGES_MAX, or NULL */
	int			 use_ext;
	int			 flat;		/* PAGES body made contiguous */
	uint8_t			*zbuf;
	size_t			 zcap;
	size_t			 zlen;
};

struct vmi_writer {
	int			 fd;
	struct vmi_writer_opts	 o;
	struct slot		*slot;
	unsigned		 nslot;
	uint64_t		 next_seq;	/* next record to be made */
	uint64_t		 out_seq;	/* next record to be written */
	struct slot		*cur;		/* PAGES record being filled */

	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* any state change */
	pthread_t		 out_thread;
	pthread_t		*workers;
	int			 nworkers;
	int			 stop;
	int			 failed;
	int			 splice;	/* fd is a pipe and splice asked */
	int			 spliced;	/* some pages went by reference */
	char			 err[VMI_ERRLEN];

	struct hash_state	 digest;
	struct vmi_wstats	 st;
};

static void
werr(struct vmi_writer *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	w->failed = 1;
}

/*
 * Lay out the body of a slot as iovecs: for PAGES the header and frame
 * words, then the page data, which lives in buf (copied) or outside
 * (stable pages sent without a copy).
 */
static int
slot_iov(struct slot *s, struct iovec *iov)
{
	int n = 0;

	if (s->hdr.type != VMI_REC_PAGES || s->flat) {
		iov[n].iov_base = s->buf;
		iov[n++].iov_len = s->len;
		return n;
	}
	iov[n].iov_base = s->buf;
	iov[n++].iov_len = PFN_OFF + (size_t)s->count * 8;
	if (s->use_ext) {
		memcpy(&iov[n], s->ext, s->ndata * sizeof(*iov));
		n += s->ndata;
	} else if (s->ndata) {
		iov[n].iov_base = s->buf + DATA_OFF;
		iov[n++].iov_len = (size_t)s->ndata * PAGE;
	}
	return n;
}

/* Compress (when asked and worth it) and checksum one slot. */
static void
slot_seal(struct slot *s, ZSTD_CCtx *z,
    struct iovec *iov)
{
	struct hash_state h;
	int n = slot_iov(s, iov);
	size_t raw = 0;

	for (int i = 0; i < n; i++)
		raw += iov[i].iov_len;
	s->hdr.raw_length = raw;
	s->hdr.length = raw;
	s->hdr.flags = 0;
	s->zlen = 0;
	if (z != NULL && raw >= 256) {
		ZSTD_outBuffer out = { s->zbuf, s->zcap, 0 };
		size_t r = 0;

		ZSTD_CCtx_reset(z, ZSTD_reset_session_only);
		ZSTD_CCtx_setPledgedSrcSize(z, raw);
		for (int i = 0; i < n; i++) {
			ZSTD_inBuffer in = { iov[i].iov_base, iov[i].iov_len, 0 };
			ZSTD_EndDirective e = i == n - 1 ? ZSTD_e_end :
			    ZSTD_e_continue;

			do {
				r = ZSTD_compressStream2(z, &out, &in, e);
			} while (!ZSTD_isError(r) && (in.pos < in.size ||
			    (e == ZSTD_e_end && r != 0)) && out.pos < out.size);
			if (ZSTD_isError(r))
				break;
		}
		/* Keep the raw body unless zstd saved at least 1/32. */
		if (!ZSTD_isError(r) && r == 0 && out.pos < raw - raw / 32) {
			s->zlen = out.pos;
			s->hdr.flags = VMI_RF_ZSTD;
			s->hdr.length = out.pos;
		}
	}
	s->hdr.check = 0;
	hash_init(&h);
	hash_update(&h, &s->hdr, sizeof(s->hdr));
	if (s->zlen)
		hash_update(&h, s->zbuf, s->zlen);
	else
		for (int i = 0; i < n; i++)
			hash_update(&h, iov[i].iov_base, iov[i].iov_len);
	s->hdr.check = hash_final(&h);
}

static const uint8_t zeros[8];

static int
slot_output(struct vmi_writer *w, struct slot *s, struct iovec *iov)
{
	int n = 1;

	iov[0].iov_base = &s->hdr;
	iov[0].iov_len = sizeof(s->hdr);
	if (s->zlen) {
		iov[n].iov_base = s->zbuf;
		iov[n++].iov_len = s->zlen;
	} else if (w->splice && s->use_ext && !s->flat) {
		/*
		 * The header and frame words live in the slot, which is
		 * reused at once: those are copied; the pages are spliced.
		 * A PAGES body is a multiple of 8: no padding.
		 */
		iov[n].iov_base = s->buf;
		iov[n++].iov_len = PFN_OFF + (size_t)s->count * 8;
		if (io_writevall(w->fd, iov, n) == -1)
			return -1;
		struct iovec *rest = iov;

		memcpy(iov, s->ext, s->ndata * sizeof(*iov));
		n = s->ndata;
		w->spliced = 1;
		/* The pages by reference, not by copy: the pipe holds them
		 * until the reader takes them, which is why only stable
		 * pages go this way (vmi_writer_opts.splice). */
		if (io_vmspliceall(w->fd, &rest, &n) == 0)
			return 0;
		/* Memory that cannot be spliced (a foreign mapping, say) is
		 * copied after all, from where the splice stopped. */
		if (errno == EPIPE)
			return -1;
		w->splice = 0;
		return io_writevall(w->fd, rest, n);
	} else
		n += slot_iov(s, iov + 1);
	if (s->hdr.length % 8) {
		iov[n].iov_base = (void *)zeros;
		iov[n++].iov_len = 8 - s->hdr.length % 8;
	}
	if (io_writevall(w->fd, iov, n) == -1)
		return -1;
	return 0;
}

static void *
output_main(void *arg)
{
	struct vmi_writer *w = arg;
	struct iovec *iov = calloc(VMI_PAGES_MAX + 8, sizeof(*iov));

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct slot *s = &w->slot[w->out_seq % w->nslot];

		while (!w->stop && !(s->state == S_READY &&
		    s->hdr.seq == w->out_seq))
			pthread_cond_wait(&w->cv, &w->mu);
		if (s->state != S_READY || s->hdr.seq != w->out_seq)
			break;
		pthread_mutex_unlock(&w->mu);
		int r = w->failed ? -1 : iov ? slot_output(w, s, iov) : -1;
		int e = iov ? errno : ENOMEM;
		pthread_mutex_lock(&w->mu);
		if (r == -1)
			werr(w, "write: %s", strerror(e));
		else {
			hash_update(&w->digest, &s->hdr, sizeof(s->hdr));
			w->st.bytes += sizeof(s->hdr) + ((s->hdr.length + 7) & ~7u);
			w->st.raw_bytes += sizeof(s->hdr) + s->hdr.raw_length;
			w->st.records++;
		}
		s->state = S_FREE;
		w->out_seq++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	free(iov);
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct vmi_writer *w = arg;
	ZSTD_CCtx *z = ZSTD_createCCtx();
	struct iovec *iov = calloc(VMI_PAGES_MAX + 8, sizeof(*iov));

	if (z)
		ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, w->o.zlevel);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct slot *s = NULL;

		/* The oldest filled slot first, so output never waits long. */
		while (!w->stop) {
			for (uint64_t q = w->out_seq; q < w->next_seq; q++) {
				struct slot *c = &w->slot[q % w->nslot];

				if (c->state == S_FILLED) {
					s = c;
					break;
				}
			}
			if (s)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
		}
		if (!s)
			break;
		s->state = S_BUSY;
		pthread_mutex_unlock(&w->mu);
		if (iov)
			slot_seal(s, z, iov);
		pthread_mutex_lock(&w->mu);
		if (!iov || !z)
			werr(w, "compression: out of memory");
		s->state = S_READY;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	ZSTD_freeCCtx(z);
	free(iov);
	return NULL;
}

/* Wait for the next free slot, and claim it with the next sequence. */
static struct slot *
slot_get(struct vmi_writer *w, uint32_t type, size_t need)
{
	struct slot *s;

	pthread_mutex_lock(&w->mu);
	s = &w->slot[w->next_seq % w->nslot];
	while (s->state != S_FREE && !w->failed)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->failed) {
		pthread_mutex_unlock(&w->mu);
		errno = EIO;
		return NULL;
	}
	s->hdr.seq = w->next_seq++;
	pthread_mutex_unlock(&w->mu);

	s->hdr.type = type;
	s->len = s->count = s->ndata = 0;
	s->use_ext = s->flat = 0;
	s->zlen = 0;
	if (need > s->cap) {
		uint8_t *b = realloc(s->buf, need);

		if (b == NULL)
			goto nomem;
		s->buf = b;
		s->cap = need;
	}
	if (w->o.zlevel) {
		size_t zneed = ZSTD_compressBound(need);

		if (zneed > s->zcap) {
			uint8_t *b = realloc(s->zbuf, zneed);

			if (b == NULL)
				goto nomem;
			s->zbuf = b;
			s->zcap = zneed;
		}
	}
	return s;
nomem:
	/* The claimed sequence number must still reach the output thread. */
	pthread_mutex_lock(&w->mu);
	werr(w, "out of memory for a %zu-octet record", need);
	s->len = 0;
	s->state = S_READY;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	errno = ENOMEM;
	return NULL;
}

static int
slot_put(struct vmi_writer *w, struct slot *s)
{
	if (w->nworkers == 0) {
		struct iovec iov[VMI_PAGES_MAX + 8];

		slot_seal(s, NULL, iov);
	}
	pthread_mutex_lock(&w->mu);
	s->state = w->nworkers ? S_FILLED : S_READY;
	pthread_cond_broadcast(&w->cv);
	int failed = w->failed;
	pthread_mutex_unlock(&w->mu);
	if (failed) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
vmi_write(struct vmi_writer *w, uint32_t type, const struct iovec *iov,
    int iovcnt)
{
	size_t len = 0;
	struct slot *s;

	if (vmi_flush_pages(w) == -1)
		return -1;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > VMI_MAX_BODY) {
		pthread_mutex_lock(&w->mu);
		werr(w, "%s record of %zu octets exceeds the maximum of %u",
		    vmi_type_name(type), len, VMI_MAX_BODY);
		pthread_mutex_unlock(&w->mu);
		errno = EFBIG;
		return -1;
	}
	if ((s = slot_get(w, type, len ? len : 1)) == NULL)
		return -1;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(s->buf + s->len, iov[i].iov_base, iov[i].iov_len);
		s->len += iov[i].iov_len;
	}
	return slot_put(w, s);
}

int
vmi_write_buf(struct vmi_writer *w, uint32_t type, const void *p, size_t len)
{
	struct iovec iov = { (void *)p, len };

	return vmi_write(w, type, &iov, 1);
}

static int
page_is_zero(const void *p)
{
	const uint64_t *q = p;

	for (unsigned i = 0; i < PAGE / 8; i += 8)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] |
		    q[i + 5] | q[i + 6] | q[i + 7])
			return 0;
	return 1;
}

int
vmi_write_page(struct vmi_writer *w, uint64_t pfn, const void *data,
    int stable)
{
	struct slot *s = w->cur;

	if (pfn & ~VMI_PFN_MASK) {
		errno = EINVAL;
		return -1;
	}
	if (s == NULL) {
		if ((s = slot_get(w, VMI_REC_PAGES, PAGES_CAP)) == NULL)
			return -1;
		/* Without room for references, pages are simply copied. */
		if (s->ext == NULL)
			s->ext = calloc(VMI_PAGES_MAX, sizeof(*s->ext));
		w->cur = s;
	}
	uint64_t *words = (uint64_t *)(s->buf + PFN_OFF);
	if (data == NULL || page_is_zero(data)) {
		words[s->count++] = pfn | VMI_PFN_ZERO;
		w->st.zero_pages++;
	} else {
		words[s->count++] = pfn;
		/* A slot is either all copies or all references. */
		if (stable && s->ext && (s->use_ext || s->ndata == 0)) {
			s->use_ext = 1;
			s->ext[s->ndata].iov_base = (void *)data;
			s->ext[s->ndata].iov_len = PAGE;
		} else {
			if (s->use_ext) {
				for (uint32_t i = 0; i < s->ndata; i++)
					memcpy(s->buf + DATA_OFF + i * PAGE,
					    s->ext[i].iov_base, PAGE);
				s->use_ext = 0;
			}
			memcpy(s->buf + DATA_OFF + (size_t)s->ndata * PAGE,
			    data, PAGE);
		}
		s->ndata++;
	}
	w->st.pages++;
	if (s->count == VMI_PAGES_MAX)
		return vmi_flush_pages(w);
	return 0;
}

int
vmi_flush_pages(struct vmi_writer *w)
{
	struct slot *s = w->cur;
	struct vmi_pages ph = { s ? s->count : 0, 0 };

	if (s == NULL)
		return 0;
	w->cur = NULL;
	memcpy(s->buf, &ph, sizeof(ph));
	/* Close the gap between the frame words and the copied data. */
	if (!s->use_ext && s->ndata && s->count < VMI_PAGES_MAX)
		memmove(s->buf + PFN_OFF + (size_t)s->count * 8,
		    s->buf + DATA_OFF, (size_t)s->ndata * PAGE);
	if (!s->use_ext && s->ndata) {
		/* Now one contiguous body: header, words, data. */
		s->len = PFN_OFF + (size_t)s->count * 8 +
		    (size_t)s->ndata * PAGE;
		s->flat = 1;
	}
	return slot_put(w, s);
}

int
vmi_writer_sync(struct vmi_writer *w)
{
	int r;

	if (vmi_flush_pages(w) == -1)
		return -1;
	pthread_mutex_lock(&w->mu);
	while (!w->failed && w->out_seq < w->next_seq)
		pthread_cond_wait(&w->cv, &w->mu);
	r = w->failed ? -1 : 0;
	pthread_mutex_unlock(&w->mu);
	if (r)
		errno = EIO;
	return r;
}

int
vmi_write_end(struct vmi_writer *w)
{
	struct {
		struct vmi_record_header h;
		struct vmi_end e;
	} rec;
	struct hash_state h;

	if (vmi_writer_sync(w) == -1)
		return -1;
	memset(&rec, 0, sizeof(rec));
	rec.e.records = w->out_seq;
	rec.e.digest = hash_final(&w->digest);
	rec.h.type = VMI_REC_END;
	rec.h.length = rec.h.raw_length = sizeof(rec.e);
	rec.h.seq = w->out_seq;
	hash_init(&h);
	hash_update(&h, &rec, sizeof(rec));
	rec.h.check = hash_final(&h);
	if (io_writeall(w->fd, &rec, sizeof(rec)) == -1) {
		werr(w, "write: %s", strerror(errno));
		return -1;
	}
	w->next_seq++;
	w->out_seq++;
	w->st.records++;
	w->st.bytes += sizeof(rec);
	w->st.raw_bytes += sizeof(rec);
	/* No spliced page may still be referred to by the pipe. */
	if (w->spliced)
		io_pipe_drain(w->fd, 0);
	return 0;
}

struct vmi_writer *
vmi_writer_new(int fd, const struct vmi_writer_opts *o)
{
	static const struct vmi_writer_opts defaults;
	struct vmi_writer *w;
	struct vmi_file_header fh;

	if ((w = hash_calloc(sizeof(*w))) == NULL)
		return NULL;
	w->fd = fd;
	w->o = o ? *o : defaults;
	if (w->o.zlevel) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		w->nworkers = w->o.threads > 0 ? w->o.threads : n > 0 ? n : 1;
	}
	w->nslot = w->nworkers ? 2 * w->nworkers + 2 : 4;
	if ((w->slot = calloc(w->nslot, sizeof(*w->slot))) == NULL ||
	    (w->nworkers && (w->workers = calloc(w->nworkers,
	    sizeof(*w->workers))) == NULL))
		goto fail;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);

	io_pipe_grow(fd);
	if (w->o.splice) {
		struct stat sb;

		w->splice = fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
	}
	memset(&fh, 0, sizeof(fh));
	memcpy(fh.magic, VMI_MAGIC, VMI_MAGIC_LEN);
	fh.version = VMI_VERSION;
	fh.flags = w->o.flags;
	fh.check = (uint32_t)hash64(&fh, offsetof(struct vmi_file_header, check));
	if (io_writeall(fd, &fh, sizeof(fh)) == -1)
		goto fail;
	w->st.bytes = w->st.raw_bytes = sizeof(fh);
	hash_init(&w->digest);
	hash_update(&w->digest, &fh, sizeof(fh));

	if (pthread_create(&w->out_thread, NULL, output_main, w) != 0)
		goto fail;
	for (int i = 0; i < w->nworkers; i++)
		if (pthread_create(&w->workers[i], NULL, worker_main, w) != 0) {
			w->nworkers = i;
			vmi_writer_free(w);
			errno = EAGAIN;
			return NULL;
		}
	return w;
fail:
	free(w->slot);
	free(w->workers);
	free(w);
	return NULL;
}

void
vmi_writer_stats(struct vmi_writer *w, struct vmi_wstats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

const char *
vmi_writer_error(struct vmi_writer *w)
{
	return w->err[0] ? w->err : strerror(errno);
}

void
vmi_writer_free(struct vmi_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nworkers; i++)
		pthread_join(w->workers[i], NULL);
	pthread_join(w->out_thread, NULL);
	for (unsigned i = 0; i < w->nslot; i++) {
		free(w->slot[i].buf);
		free(w->slot[i].zbuf);
		free(w->slot[i].ext);
	}
	free(w->slot);
	free(w->workers);
	free(w);
}
