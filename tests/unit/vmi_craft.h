/*
 * vmi_craft.h: images built octet by octet, each breaking one rule of
 * vm-image(5), for the unit tests and tests/unit/mkbad.c (the bats
 * tests' crafted images).  The writer cannot make most of them.
 */
#ifndef VMI_CRAFT_H
#define VMI_CRAFT_H

#include <err.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "vmi.h"

struct img {
	uint8_t			*p;
	size_t			 len;
	uint64_t		 seq;
	struct hash_state	 d;
	uint32_t		 round;
};

static inline void
img_put(struct img *m, const void *p, size_t len)
{
	if ((m->p = realloc(m->p, m->len + len + 8)) == NULL)
		err(1, "img_put");
	memcpy(m->p + m->len, p, len);
	m->len += len;
}

static inline void
img_start(struct img *m, uint32_t flags)
{
	struct vmi_file_header fh = { .version = VMI_VERSION, .flags = flags };

	memset(m, 0, sizeof(*m));
	memcpy(fh.magic, VMI_MAGIC, 8);
	fh.check = (uint32_t)hash64(&fh, offsetof(struct vmi_file_header,
	    check));
	hash_init(&m->d);
	hash_update(&m->d, &fh, sizeof(fh));
	img_put(m, &fh, sizeof(fh));
}

/* A record as stored: len body octets, raw_length raw, flags. */
static inline void
img_raw(struct img *m, uint32_t type, uint32_t flags, const void *body,
    uint32_t len, uint32_t raw)
{
	struct vmi_record_header h = { type, flags, len, raw, m->seq++, 0 };
	struct hash_state x;
	static const uint8_t zero[8];

	hash_init(&x);
	hash_update(&x, &h, sizeof(h));
	hash_update(&x, body, len);
	h.check = hash_final(&x);
	hash_update(&m->d, &h, sizeof(h));
	img_put(m, &h, sizeof(h));
	img_put(m, body, len);
	img_put(m, zero, (8 - len % 8) % 8);
}

static inline void
img_rec(struct img *m, uint32_t type, const void *body, uint32_t len)
{
	img_raw(m, type, 0, body, len, len);
}

/* END, with the record flags given (0 for a good one). */
static inline void
img_end(struct img *m, uint32_t flags)
{
	struct vmi_end e = { m->seq, hash_final(&m->d) };

	img_raw(m, VMI_REC_END, flags, &e, sizeof(e), sizeof(e));
}

/*
 * An image from a script, one letter a record: G GUEST (g), C CONFIG
 * (cfg), 1 2 PAGES of frame 1 or 2 (zero pages), S a VCPU record of
 * vCPU 0 (tag 0x42, 8 octets), X an XSAVE (tag 5) of xsave octets, R a
 * ROUND, L a ROUND with the LAST flag, N a NOTE, E END.
 */
static inline void
craft_script(struct img *m, uint32_t flags, const char *s,
    const struct vmi_guest *g, const void *cfg, uint32_t cfglen,
    uint32_t xsave)
{
	static uint8_t st[8 + 8192];

	img_start(m, flags);
	for (; *s; s++) {
		switch (*s) {
		case 'G':
			img_rec(m, VMI_REC_GUEST, g, sizeof(*g));
			break;
		case 'C':
			img_rec(m, VMI_REC_CONFIG, cfg, cfglen);
			break;
		case '1':
		case '2': {
			struct { struct vmi_pages h; uint64_t w; } pg =
			    { { 1, 0 }, (uint64_t)(*s - '0') | VMI_PFN_ZERO };

			img_rec(m, VMI_REC_PAGES, &pg, sizeof(pg));
			break;
		}
		case 'S':
		case 'X': {
			struct vmi_state h = { 0, *s == 'S' ? 0x42 : 0x05 };
			uint32_t n = *s == 'S' ? 8 : xsave;

			if (n > sizeof(st) - 8)
				n = sizeof(st) - 8;
			memcpy(st, &h, sizeof(h));
			img_rec(m, VMI_REC_VCPU, st, 8 + n);
			break;
		}
		case 'R':
		case 'L': {
			struct vmi_round rd = { m->round++, *s == 'L' ?
			    VMI_ROUND_LAST : 0, 1, 0, 1000 };

			img_rec(m, VMI_REC_ROUND, &rd, sizeof(rd));
			break;
		}
		case 'N':
			img_rec(m, VMI_REC_NOTE, "note", 4);
			break;
		case 'E':
			img_end(m, 0);
			break;
		}
	}
}

#endif /* VMI_CRAFT_H */
