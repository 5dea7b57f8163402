/*
 * vmi_read.c: the stream reader.
 *
 * Records are fetched raw (header, body, padding) into a small ring of
 * buffers, optionally by a read-ahead thread, and then checked in the
 * caller's thread: checksum, sequence, flags and lengths, the body of
 * every known type, the order of records, and at the end the record
 * count and digest.  Memory is bounded: the ring holds a few records of
 * at most VMI_MAX_BODY octets, and an image without the LIVE flag needs
 * one bit per guest frame (32 MiB for the largest guest) to find a frame
 * sent twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "hash.h"
#include "io.h"
#include "names.h"
#include "vmi.h"
#include "vmi_pool.h"

/*
 * Two raw records: one being checked and applied, the next being read.
 * More would only lengthen the queue a live migration's final pause must
 * wait for.
 */
#define NRING	2

struct raw {
	int			 state;		/* 0 empty, 1 full */
	struct vmi_record_header hdr;
	uint64_t		 offset;
	size_t			 got;		/* octets read of hdr+body */
	int			 eof;		/* stream ended here */
	int			 error;		/* errno of a failed read */
	struct vmi_buf		*mem;		/* body and padding, if read */
	const uint8_t		*body;		/* in mem, or in the file map */
};

struct vmi_reader {
	int			 fd;
	uint32_t		 hflags;
	/*
	 * A regular file is mapped rather than read: its records are
	 * checked and applied where they lie, without a copy.  stream is
	 * the stream's first octet, stream_len its length.
	 */
	void			*map;
	size_t			 map_len;
	const uint8_t		*stream;
	uint64_t		 stream_len;
	uint64_t		 offset;	/* where the next fetch reads */
	struct raw		 ring[NRING];
	struct vmi_pool		 pool;		/* what ring[] reads into */
	uint64_t		 head;		/* next to fetch */
	uint64_t		 tail;		/* next to hand out */
	int			 held;		/* tail-1 is still in use */
	int			 fetch_done;	/* END fetched, or eof/error */

	int			 threaded;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;

	uint8_t			*dbuf;		/* decompressed body */
	ZSTD_DCtx		*z;
	struct hash_state	 digest;
	uint64_t		 seq;		/* expected next sequence */
	struct vmi_guest	 guest;
	int			 have_guest;
	int			 have_config;
	int			 ended;
	int64_t			 last_round;
	int			 last_round_final;
	uint64_t		 last_round_seq;
	/*
	 * Frames sent so far, one bit each, for an image without the LIVE
	 * flag, where each frame comes at most once: at most 32 MiB, for
	 * the largest guest (1 TiB).
	 */
	uint64_t		*seen;
	char			 err[VMI_ERRLEN];
};

static int
rerr(struct vmi_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

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
static struct raw *
next_raw(struct vmi_reader *r)
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

int
vmi_tail_is_end(const void *tail, size_t n, int verify)
{
	struct vmi_record_header h;
	struct hash_state hs;
	const size_t len = sizeof(h) + sizeof(struct vmi_end);
	const uint8_t *p = (const uint8_t *)tail + n - len;
	uint64_t check;

	if (n < len)
		return 0;
	memcpy(&h, p, sizeof(h));
	if (h.type != VMI_REC_END || h.flags != 0 ||
	    h.length != sizeof(struct vmi_end) ||
	    h.raw_length != sizeof(struct vmi_end))
		return 0;
	if (!verify)
		return 1;
	check = h.check;
	h.check = 0;
	hash_init(&hs);
	hash_update(&hs, &h, sizeof(h));
	hash_update(&hs, p + sizeof(h), sizeof(struct vmi_end));
	return hash_final(&hs) == check;
}

int
vmi_check_file_header(const void *p, size_t n, char *err, size_t errlen)
{
	struct vmi_file_header fh;
	const char *what;

	memset(&fh, 0, sizeof(fh));
	memcpy(&fh, p, n < sizeof(fh) ? n : sizeof(fh));
	if (n < sizeof(fh) || memcmp(fh.magic, VMI_MAGIC, 8) != 0) {
		if (n >= 8 && memcmp(fh.magic, VMI_MAGIC, 8) == 0)
			return snprintf(err, errlen, "truncated file header: "
			    "expected %zu octets, found %zu", sizeof(fh), n), -1;
		what = vmi_sniff(&fh, n);
		snprintf(err, errlen, "not a vmpipe image: expected magic "
		    "89 56 4d 50 49 50 45 0a (\"\\x89VMPIPE\\n\"), found %s",
		    what ? what : "unknown data");
		return -1;
	}
	/*
	 * A version-1 header that fails its checksum is damaged; another
	 * version may lay its header out differently, so its checksum
	 * cannot be judged here.
	 */
	uint32_t check = (uint32_t)hash64(&fh,
	    offsetof(struct vmi_file_header, check));
	if (fh.version == VMI_VERSION && fh.check != check)
		return snprintf(err, errlen, "file header: checksum mismatch: "
		    "expected %08x, found %08x", check, fh.check), -1;
	if (fh.version != VMI_VERSION)
		return snprintf(err, errlen, "file header: expected version "
		    "%u, found %u (%s)", VMI_VERSION, fh.version,
		    fh.check == check && fh.version > VMI_VERSION ?
		    "written by a newer vmpipe" :
		    "damaged: the header's checksum does not match either"),
		    -1;
	if (fh.flags & ~VMI_HF_KNOWN)
		return snprintf(err, errlen, "file header: unknown flags %#x "
		    "(known: %#x)", fh.flags & ~VMI_HF_KNOWN, VMI_HF_KNOWN), -1;
	if (fh.reserved != 0)
		return snprintf(err, errlen, "file header: reserved field: "
		    "expected 0, found %#x", fh.reserved), -1;
	return 0;
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

#define REC(x)	(unsigned long long)(x)->hdr.seq, vmi_type_name((x)->hdr.type)

size_t
vmi_utf8(const void *p, size_t n, uint32_t *cp)
{
	const uint8_t *s = p;
	uint32_t c, min;
	size_t len;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

int
vmi_name_ok(const char *buf, size_t size, char *why, size_t whylen)
{
	if (why == NULL)
		whylen = 0;
	if (memchr(buf, '\0', size) == NULL)
		return snprintf(why, whylen, "a name with no NUL within its "
		    "%zu octets", size), 0;
	/* One rule for every name that enters (names.h). */
	return vmp_name_check(buf, why, whylen) == 0;
}

int
vmi_check_guest(uint64_t seq, const void *p, size_t len, char *err,
    size_t errlen)
{
	struct vmi_guest g;
	char why[200];

	if (len != sizeof(g))
		return snprintf(err, errlen, "record %llu (GUEST): expected "
		    "%zu octets, found %zu", (unsigned long long)seq,
		    sizeof(g), len), -1;
	memcpy(&g, p, sizeof(g));
#define BAD(...) (snprintf(err, errlen, "record %llu (GUEST): " __VA_ARGS__), -1)
	if (g.backend != VMI_BACKEND_KVM && g.backend != VMI_BACKEND_XEN)
		return BAD("backend: expected 1 (kvm) or 2 (xen), found %u",
		    (unsigned long long)seq, g.backend);
	if (g.arch != VMI_ARCH_X86_64)
		return BAD("architecture: expected 1 (x86-64), found %u",
		    (unsigned long long)seq, g.arch);
	if (g.page_shift != 12)
		return BAD("page shift: expected 12, found %u",
		    (unsigned long long)seq, g.page_shift);
	if (g.vcpus < 1 || g.vcpus > VMI_MAX_VCPUS)
		return BAD("vCPU count: expected 1 to %u, found %u",
		    (unsigned long long)seq, VMI_MAX_VCPUS, g.vcpus);
	if (g.mem_bytes == 0 || g.mem_bytes % 4096 ||
	    g.mem_bytes > VMI_MAX_MEM)
		return BAD("memory size: expected a multiple of 4096 up to "
		    "%llu, found %llu", (unsigned long long)seq,
		    (unsigned long long)VMI_MAX_MEM,
		    (unsigned long long)g.mem_bytes);
	if (g.backend == VMI_BACKEND_KVM ? g.guest_type != VMI_GT_KVM :
	    g.guest_type < VMI_GT_XEN_PV || g.guest_type > VMI_GT_XEN_HVM)
		return BAD("guest type %u is not one of backend %u",
		    (unsigned long long)seq, g.guest_type, g.backend);
	if (g.reserved != 0)
		return BAD("reserved field: expected 0, found %#x",
		    (unsigned long long)seq, g.reserved);
	if (!vmi_name_ok(g.name, sizeof(g.name), why, sizeof(why)))
		return BAD("%s", (unsigned long long)seq, why);
	for (size_t i = strlen(g.name); i < sizeof(g.name); i++)
		if (g.name[i] != '\0')
			return BAD("name padding is not zero",
			    (unsigned long long)seq);
#undef BAD
	return 0;
}

static int
check_guest(struct vmi_reader *r, uint64_t seq, const void *p, size_t len)
{
	struct vmi_guest g;

	if (r->have_guest)
		return rerr(r, "record %llu (GUEST): a second GUEST record",
		    (unsigned long long)seq);
	if (vmi_check_guest(seq, p, len, r->err, sizeof(r->err)) == -1) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&g, p, sizeof(g));
	/* Each frame at most once: one bit a frame, zero pages untouched. */
	if (!(r->hflags & VMI_HF_LIVE) &&
	    (r->seen = calloc((g.mem_bytes / 4096 + 63) / 64, 8)) == NULL)
		return rerr(r, "record %llu (GUEST): out of memory for the map "
		    "of %llu frames", (unsigned long long)seq,
		    (unsigned long long)(g.mem_bytes / 4096));
	r->guest = g;
	r->have_guest = 1;
	return 0;
}

/*
 * The size of a KVM state body with a known tag, not counting struct
 * vmi_state; 0 for tags whose size is not fixed or not known here.
 */
static size_t
kvm_state_len(uint32_t type, uint32_t tag)
{
	static const uint16_t vcpu[] = { 0, 0, VMI_KVM_TSC_KHZ_LEN,
	    VMI_KVM_REGS_LEN, VMI_KVM_FPU_LEN, VMI_KVM_XSAVE_LEN,
	    VMI_KVM_XCRS_LEN, VMI_KVM_SREGS_LEN, 0, VMI_KVM_MP_STATE_LEN,
	    VMI_KVM_LAPIC_LEN, VMI_KVM_EVENTS_LEN, VMI_KVM_DEBUGREGS_LEN };
	static const uint16_t plat[] = { 0, VMI_KVM_IRQCHIP_LEN,
	    VMI_KVM_IRQCHIP_LEN, VMI_KVM_IRQCHIP_LEN, VMI_KVM_PIT2_LEN,
	    VMI_KVM_CLOCK_LEN };

	if (type == VMI_REC_VCPU && tag < sizeof(vcpu) / sizeof(vcpu[0]))
		return vcpu[tag];
	if (type == VMI_REC_PLATFORM && tag >= 0x100 &&
	    tag - 0x100 < sizeof(plat) / sizeof(plat[0]))
		return plat[tag - 0x100];
	return 0;
}

/*
 * The order of records (vm-image(5), "What a reader checks"): CONFIG
 * after GUEST and before memory and state; ROUND only in a live stream;
 * after the ROUND with the LAST flag, only END.
 */
static int
check_order(struct vmi_reader *r, const struct vmi_record *rec)
{
	unsigned long long seq = rec->seq;
	const char *name = vmi_type_name(rec->type);

	if (rec->type & VMI_REC_OPTIONAL)
		return 0;
	if (rec->type != VMI_REC_GUEST && !r->have_guest)
		return rerr(r, "record %llu (%s): expected the GUEST record "
		    "first", seq, name);
	if (rec->type != VMI_REC_GUEST && rec->type != VMI_REC_CONFIG &&
	    !r->have_config)
		return rerr(r, "record %llu (%s): expected the CONFIG record "
		    "first", seq, name);
	if (r->last_round_final && rec->type != VMI_REC_END)
		return rerr(r, "record %llu (%s): expected END after the ROUND "
		    "record with the LAST flag (record %llu), found %s", seq,
		    name, (unsigned long long)r->last_round_seq, name);
	if (rec->type == VMI_REC_ROUND && !(r->hflags & VMI_HF_LIVE))
		return rerr(r, "record %llu (ROUND): expected no ROUND record "
		    "in an image without the LIVE file flag, found one", seq);
	if (rec->type == VMI_REC_END && (r->hflags & VMI_HF_LIVE) &&
	    !r->last_round_final)
		return rerr(r, "record %llu (END): expected a ROUND record with "
		    "the LAST flag before END in a live stream, found %s", seq,
		    r->last_round < 0 ? "no ROUND record" : "none with it");
	return 0;
}

static int
check_body(struct vmi_reader *r, const struct vmi_record *rec)
{
	unsigned long long seq = rec->seq;
	const char *name = vmi_type_name(rec->type);
	size_t len = rec->len;

	if (check_order(r, rec) == -1)
		return -1;
	if (rec->type == VMI_REC_GUEST)
		return check_guest(r, seq, rec->body, len);
	if (rec->type & VMI_REC_OPTIONAL)
		return 0;
	switch (rec->type) {
	case VMI_REC_CONFIG:
		if (r->have_config++)
			return rerr(r, "record %llu (CONFIG): a second CONFIG "
			    "record", seq);
		return 0;
	case VMI_REC_PAGES: {
		struct vmi_pages ph;
		const uint64_t *w = (const uint64_t *)((const uint8_t *)
		    rec->body + sizeof(ph));
		uint64_t npages = r->guest.mem_bytes >> 12, ndata = 0;

		if (len < sizeof(ph))
			return rerr(r, "record %llu (PAGES): expected at least "
			    "%zu octets, found %zu", seq, sizeof(ph), len);
		memcpy(&ph, rec->body, sizeof(ph));
		if (ph.count < 1 || ph.count > VMI_PAGES_MAX)
			return rerr(r, "record %llu (PAGES): frame count: "
			    "expected 1 to %u, found %u", seq, VMI_PAGES_MAX,
			    ph.count);
		if (ph.reserved)
			return rerr(r, "record %llu (PAGES): reserved field: "
			    "expected 0, found %#x", seq, ph.reserved);
		if (len < sizeof(ph) + (size_t)ph.count * 8)
			return rerr(r, "record %llu (PAGES): %u frames need "
			    "%zu octets of frame numbers, found %zu", seq,
			    ph.count, (size_t)ph.count * 8, len - sizeof(ph));
		for (uint32_t i = 0; i < ph.count; i++) {
			uint64_t pfn = w[i] & VMI_PFN_MASK;

			if (w[i] & VMI_PFN_RESERVED)
				return rerr(r, "record %llu (PAGES): frame word "
				    "%u: reserved bits set in %#llx", seq, i,
				    (unsigned long long)w[i]);
			if (pfn >= npages)
				return rerr(r, "record %llu (PAGES): frame word "
				    "%u: expected a frame below %#llx, found "
				    "%#llx", seq, i, (unsigned long long)npages,
				    (unsigned long long)pfn);
			if (!(w[i] & VMI_PFN_ZERO))
				ndata++;
			if (r->seen == NULL)
				continue;
			if (r->seen[pfn / 64] & 1ull << pfn % 64)
				return rerr(r, "record %llu (PAGES): frame word "
				    "%u: expected each frame at most once in an "
				    "image without the LIVE file flag, found "
				    "frame %#llx again", seq, i,
				    (unsigned long long)pfn);
			r->seen[pfn / 64] |= 1ull << pfn % 64;
		}
		if (len != sizeof(ph) + (size_t)ph.count * 8 + ndata * 4096)
			return rerr(r, "record %llu (PAGES): %llu pages with "
			    "data: expected %zu octets, found %zu", seq,
			    (unsigned long long)ndata, sizeof(ph) +
			    (size_t)ph.count * 8 + ndata * 4096, len);
		return 0;
	}
	case VMI_REC_VCPU:
	case VMI_REC_PLATFORM: {
		struct vmi_state st;
		size_t want;

		if (len < sizeof(st))
			return rerr(r, "record %llu (%s): expected at least %zu "
			    "octets, found %zu", seq, name, sizeof(st), len);
		memcpy(&st, rec->body, sizeof(st));
		if (rec->type == VMI_REC_VCPU && st.id >= r->guest.vcpus)
			return rerr(r, "record %llu (VCPU): vCPU: expected "
			    "below %u, found %u", seq, r->guest.vcpus, st.id);
		if (rec->type == VMI_REC_PLATFORM && st.id != 0)
			return rerr(r, "record %llu (PLATFORM): id: expected 0, "
			    "found %u", seq, st.id);
		if (r->guest.backend == VMI_BACKEND_KVM &&
		    (want = kvm_state_len(rec->type, st.tag)) != 0 &&
		    len - sizeof(st) != want)
			return rerr(r, "record %llu (%s): state of tag %#x: "
			    "expected %zu octets, found %zu", seq, name, st.tag,
			    want, len - sizeof(st));
		return 0;
	}
	case VMI_REC_ROUND: {
		struct vmi_round rd;

		if (len != sizeof(rd))
			return rerr(r, "record %llu (ROUND): expected %zu "
			    "octets, found %zu", seq, sizeof(rd), len);
		memcpy(&rd, rec->body, sizeof(rd));
		if (rd.round != r->last_round + 1)
			return rerr(r, "record %llu (ROUND): round: expected "
			    "%lld, found %u", seq, (long long)r->last_round + 1,
			    rd.round);
		if (rd.flags & ~VMI_ROUND_LAST)
			return rerr(r, "record %llu (ROUND): unknown flags %#x",
			    seq, rd.flags & ~VMI_ROUND_LAST);
		r->last_round = rd.round;
		r->last_round_final = rd.flags & VMI_ROUND_LAST;
		r->last_round_seq = seq;
		return 0;
	}
	}
	return 0;
}

/*
 * A compressed body is exactly one zstd frame that declares its content
 * size, and that size is raw_length: no skippable frame, nothing after
 * the frame, so that the stored octets have one meaning.
 */
static int
check_zframe(struct vmi_reader *r, uint64_t seq, uint32_t type,
    const void *body, size_t len, uint32_t raw)
{
	unsigned long long sq = seq;
	const char *name = vmi_type_name(type);
	unsigned long long fcs;
	size_t n;

	uint32_t magic = 0;

	memcpy(&magic, body, len < 4 ? len : 4);
	if (len >= 4 && (magic & ZSTD_MAGIC_SKIPPABLE_MASK) ==
	    ZSTD_MAGIC_SKIPPABLE_START)
		return rerr(r, "record %llu (%s): expected one zstd frame, "
		    "found a skippable frame", sq, name);
	fcs = ZSTD_getFrameContentSize(body, len);
	if (fcs == ZSTD_CONTENTSIZE_ERROR)
		return rerr(r, "record %llu (%s): expected one zstd frame, "
		    "found no zstd frame header", sq, name);
	if (fcs == ZSTD_CONTENTSIZE_UNKNOWN)
		return rerr(r, "record %llu (%s): zstd frame: expected its "
		    "content size declared, found none", sq, name);
	if (fcs != raw)
		return rerr(r, "record %llu (%s): zstd frame content size: "
		    "expected %u (the raw length), found %llu", sq, name, raw,
		    fcs);
	n = ZSTD_findFrameCompressedSize(body, len);
	if (ZSTD_isError(n))
		return rerr(r, "record %llu (%s): zstd: %s", sq, name,
		    ZSTD_getErrorName(n));
	if (n != len)
		return rerr(r, "record %llu (%s): expected one zstd frame of "
		    "%zu octets, found one of %zu and %zu octets after it", sq,
		    name, len, n, len - n);
	return 0;
}

int
vmi_next(struct vmi_reader *r, struct vmi_record *rec)
{
	struct raw *x;
	struct hash_state h;
	uint64_t check;
	size_t pad;

	if (r->ended)
		return rerr(r, "read past the END record");
	if (r->err[0])
		return -1;
	if ((x = next_raw(r)) == NULL)
		return rerr(r, "stream ended at offset %llu without an END "
		    "record: the image is incomplete",
		    (unsigned long long)r->offset);
	if (x->error)
		return rerr(r, "record %llu at offset %llu: read: %s",
		    (unsigned long long)r->seq, (unsigned long long)x->offset,
		    strerror(x->error));
	if (x->got == 0 && r->seq == 0)
		return rerr(r, "stream ended at offset %llu, right after the "
		    "file header: the image is empty",
		    (unsigned long long)x->offset);
	if (x->got == 0)
		return rerr(r, "stream ended at offset %llu after record %lld "
		    "without an END record: the image is incomplete",
		    (unsigned long long)x->offset, (long long)r->seq - 1);
	if (x->got < sizeof(x->hdr))
		return rerr(r, "record %llu at offset %llu: stream ends after "
		    "%zu of %zu header octets", (unsigned long long)r->seq,
		    (unsigned long long)x->offset, x->got, sizeof(x->hdr));
	if (x->hdr.length > VMI_MAX_BODY)
		return rerr(r, "record %llu at offset %llu: length: expected at "
		    "most %u, found %u", (unsigned long long)r->seq,
		    (unsigned long long)x->offset, VMI_MAX_BODY, x->hdr.length);
	pad = ((x->hdr.length + 7) & ~(size_t)7) - x->hdr.length;
	/* The body and its padding are counted apart. */
	if (x->eof && x->got - sizeof(x->hdr) < x->hdr.length)
		return rerr(r, "record %llu (%s) at offset %llu: stream ends "
		    "after %zu of %u body octets", (unsigned long long)r->seq,
		    vmi_type_name(x->hdr.type), (unsigned long long)x->offset,
		    x->got - sizeof(x->hdr), x->hdr.length);
	if (x->eof)
		return rerr(r, "record %llu (%s) at offset %llu: stream ends "
		    "after the %u body octets and %zu of %zu padding octets",
		    (unsigned long long)r->seq, vmi_type_name(x->hdr.type),
		    (unsigned long long)x->offset, x->hdr.length,
		    x->got - sizeof(x->hdr) - x->hdr.length, pad);

	/* The checksum first: nothing in a damaged record is trusted. */
	check = x->hdr.check;
	x->hdr.check = 0;
	hash_init(&h);
	hash_update(&h, &x->hdr, sizeof(x->hdr));
	hash_update(&h, x->body, x->hdr.length);
	x->hdr.check = check;
	if (hash_final(&h) != check)
		return rerr(r, "record %llu at offset %llu: checksum mismatch: "
		    "expected %016llx, found %016llx: the record is damaged",
		    (unsigned long long)r->seq, (unsigned long long)x->offset,
		    (unsigned long long)hash_final(&h),
		    (unsigned long long)check);
	if (x->hdr.seq != r->seq)
		return rerr(r, "record at offset %llu: sequence: expected %llu, "
		    "found %llu: records are missing, repeated or reordered",
		    (unsigned long long)x->offset, (unsigned long long)r->seq,
		    (unsigned long long)x->hdr.seq);
	for (size_t i = 0; i < pad; i++)
		if (x->body[x->hdr.length + i])
			return rerr(r, "record %llu (%s): padding is not zero",
			    REC(x));
	if (!(x->hdr.type & VMI_REC_OPTIONAL)) {
		if (strncmp(vmi_type_name(x->hdr.type), "unknown", 7) == 0)
			return rerr(r, "record %llu at offset %llu: unknown "
			    "mandatory record type %#x: this image needs a newer "
			    "vmpipe", (unsigned long long)r->seq,
			    (unsigned long long)x->offset, x->hdr.type);
		if (x->hdr.flags & ~VMI_RF_KNOWN)
			return rerr(r, "record %llu (%s): unknown flags %#x",
			    REC(x), x->hdr.flags & ~VMI_RF_KNOWN);
	}
	if (x->hdr.raw_length > VMI_MAX_BODY)
		return rerr(r, "record %llu (%s): raw length: expected at most "
		    "%u, found %u", REC(x), VMI_MAX_BODY, x->hdr.raw_length);

	memset(rec, 0, sizeof(*rec));
	rec->type = x->hdr.type;
	rec->flags = x->hdr.flags;
	rec->seq = x->hdr.seq;
	rec->offset = x->offset;
	rec->stored = x->hdr.length;
	if (x->hdr.type == VMI_REC_END && x->hdr.flags != 0)
		return rerr(r, "record %llu (END): flags: expected 0 (END is "
		    "never compressed), found %#x", (unsigned long long)x->hdr.seq,
		    x->hdr.flags);
	if ((x->hdr.flags & VMI_RF_ZSTD) &&
	    check_zframe(r, x->hdr.seq, x->hdr.type, x->body, x->hdr.length,
	    x->hdr.raw_length) == -1)
		return -1;
	if (x->hdr.flags & VMI_RF_ZSTD) {
		/* Only compressed images need the room to decompress. */
		if (r->dbuf == NULL && ((r->dbuf = malloc(VMI_MAX_BODY)) ==
		    NULL || (r->z = ZSTD_createDCtx()) == NULL))
			return rerr(r, "out of memory to decompress");
		size_t n = ZSTD_decompressDCtx(r->z, r->dbuf, VMI_MAX_BODY,
		    x->body, x->hdr.length);

		if (ZSTD_isError(n))
			return rerr(r, "record %llu (%s): zstd: %s", REC(x),
			    ZSTD_getErrorName(n));
		if (n != x->hdr.raw_length)
			return rerr(r, "record %llu (%s): decompressed length: "
			    "expected %u, found %zu", REC(x),
			    x->hdr.raw_length, n);
		rec->body = r->dbuf;
		rec->len = n;
	} else {
		if (x->hdr.raw_length != x->hdr.length)
			return rerr(r, "record %llu (%s): raw length: expected "
			    "%u (not compressed), found %u", REC(x),
			    x->hdr.length, x->hdr.raw_length);
		rec->body = x->body;
		rec->len = x->hdr.length;
	}

	if (rec->type == VMI_REC_END) {
		struct vmi_end e;
		uint64_t d = hash_final(&r->digest);

		if (rec->len != sizeof(e))
			return rerr(r, "record %llu (END): expected %zu octets, "
			    "found %u", (unsigned long long)x->hdr.seq, sizeof(e), rec->len);
		memcpy(&e, rec->body, sizeof(e));
		if (e.records != r->seq)
			return rerr(r, "record %llu (END): record count: "
			    "expected %llu, found %llu", (unsigned long long)x->hdr.seq,
			    (unsigned long long)r->seq,
			    (unsigned long long)e.records);
		if (e.digest != d)
			return rerr(r, "record %llu (END): stream digest: "
			    "expected %016llx, found %016llx: the stream was "
			    "spliced or altered", (unsigned long long)x->hdr.seq,
			    (unsigned long long)d, (unsigned long long)e.digest);
		if (!r->have_guest)
			return rerr(r, "record %llu (END): no GUEST record in "
			    "the image", (unsigned long long)x->hdr.seq);
		if (!r->have_config)
			return rerr(r, "record %llu (END): no CONFIG record in "
			    "the image", (unsigned long long)x->hdr.seq);
		if (check_order(r, rec) == -1)
			return -1;
		r->ended = 1;
		r->seq++;
		return 0;
	}
	if (check_body(r, rec) == -1)
		return -1;
	hash_update(&r->digest, &x->hdr, sizeof(x->hdr));
	r->seq++;
	return 1;
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
