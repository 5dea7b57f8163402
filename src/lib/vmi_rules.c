/*
 * vmi_rules.c: the checks of the image format that need no reader.
 *
 * The file header, a GUEST record's body, the shape of a final END
 * record, guest names and UTF-8: rules on bare octets.  The reader
 * applies them (the file header as it opens a stream, in vmi_read.c; the
 * GUEST body in vmi_check.c), and so does code that looks at a stream
 * without reading it through: the preamble scanner (xfer.c), vm-send's
 * pump (vmi_tail_is_end()), the JSON and vis encoders (vmi_utf8()).
 * Kept apart from the reader's state so that both of its halves can call
 * them while the calls between the halves run one way (the checking
 * half calls the fetching half, never back).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "names.h"
#include "vmi.h"

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
