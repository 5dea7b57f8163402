/*
 * vmi_check.c: the stream reader's checking half.
 *
 * vmi_next() takes each raw record from the fetching half (vmi_read.c)
 * and checks it in the caller's thread: checksum, sequence, flags and
 * lengths, the body of every known type, the order of records, and at
 * the end the record count and digest.  A compressed body is
 * decompressed here, once its frame has passed.  The first failure is
 * kept in the reader (rerr()), and every later call returns it.  An
 * image without the LIVE flag needs one bit per guest frame (32 MiB for
 * the largest guest) to find a frame sent twice.
 *
 * The calls run one way: this file calls vmi_next_raw() and the rules
 * that need no reader (vmi_rules.c); the fetching half never calls in
 * here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "hash.h"
#include "vmi.h"
#include "vmi_read_int.h"

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

#define REC(x)	(unsigned long long)(x)->hdr.seq, vmi_type_name((x)->hdr.type)

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
	if ((x = vmi_next_raw(r)) == NULL)
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
