/*
 * vmi_sample.h: a small deterministic image, shared by the unit tests,
 * the golden-vector generator and the fuzzer's seed corpus.
 */
#ifndef VMI_SAMPLE_H
#define VMI_SAMPLE_H

#include <stdint.h>
#include <string.h>

#include "vmi.h"

#define SAMPLE_PAGES	64		/* 256 KiB guest */

static inline void
sample_guest(struct vmi_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->backend = VMI_BACKEND_KVM;
	g->arch = VMI_ARCH_X86_64;
	g->page_shift = 12;
	g->vcpus = 2;
	g->mem_bytes = SAMPLE_PAGES * 4096ull;
	g->guest_type = VMI_GT_KVM;
	for (int i = 0; i < 16; i++)
		g->uuid[i] = 0x10 + i;
	g->cpu_features[0] = 0x80202001;
	g->cpu_features[1] = 0x078bfbff;
	strcpy(g->name, "sample");
}

/* Page contents: frame number and a generation, as the test guest does. */
static inline void
sample_page(uint8_t *p, uint64_t pfn, uint32_t gen)
{
	uint64_t x = pfn * 0x9e3779b97f4a7c15ull + gen;

	/* Half random, half a repeated word: zstd has something to do. */
	for (int i = 0; i < 4096 / 8; i++) {
		if (i == 4096 / 16)
			x = pfn;
		if (i < 4096 / 16) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		memcpy(p + i * 8, &x, 8);
	}
	memcpy(p, &pfn, 8);
	memcpy(p + 8, &gen, 4);
}

/*
 * Write the sample: GUEST, CONFIG, NOTE, pages (frames 0..63, every
 * fourth a zero page), two VCPU records, a PLATFORM record, END.  A live
 * sample, as vm-precopy writes it: round 0 (the pages above and its
 * ROUND record), round 1 (frames 3, 5 and 7 again with generation 2,
 * the state records, then its ROUND record with the LAST flag), END.
 */
static inline int
sample_write(struct vmi_writer *w, int live)
{
	static uint8_t page[4096];
	struct vmi_guest g;
	struct vmi_round rd;
	const char cfg[] = "{\"memory\":262144,\"vcpus\":2}";
	const char note[] = "sample image";
	struct { struct vmi_state h; uint8_t d[40]; } st;

	sample_guest(&g);
	if (vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g)) == -1 ||
	    vmi_write_buf(w, VMI_REC_CONFIG, cfg, sizeof(cfg) - 1) == -1 ||
	    vmi_write_buf(w, VMI_REC_NOTE, note, sizeof(note) - 1) == -1)
		return -1;
	for (uint64_t pfn = 0; pfn < SAMPLE_PAGES; pfn++) {
		sample_page(page, pfn, 1);
		if (vmi_write_page(w, pfn, pfn % 4 == 0 ? NULL : page, 0) == -1)
			return -1;
	}
	if (live) {
		memset(&rd, 0, sizeof(rd));
		rd.pages = SAMPLE_PAGES;
		rd.dirty = 3;
		rd.elapsed_ns = 1000000;
		if (vmi_write_buf(w, VMI_REC_ROUND, &rd, sizeof(rd)) == -1)
			return -1;
		for (uint64_t pfn = 3; pfn < 8; pfn += 2) {
			sample_page(page, pfn, 2);
			if (vmi_write_page(w, pfn, page, 0) == -1)
				return -1;
		}
	}
	for (uint32_t v = 0; v < 2; v++) {
		st.h.id = v;
		st.h.tag = 1;
		memset(st.d, 0x40 + v, sizeof(st.d));
		if (vmi_write_buf(w, VMI_REC_VCPU, &st, sizeof(st)) == -1)
			return -1;
	}
	st.h.id = 0;
	st.h.tag = 7;
	if (vmi_write_buf(w, VMI_REC_PLATFORM, &st, sizeof(st.h) + 12) == -1)
		return -1;
	/* As vm-precopy: the last round's pages, the state, its ROUND. */
	if (live) {
		rd.round = 1;
		rd.flags = VMI_ROUND_LAST;
		rd.pages = 3;
		rd.dirty = 0;
		if (vmi_write_buf(w, VMI_REC_ROUND, &rd, sizeof(rd)) == -1)
			return -1;
	}
	return vmi_write_end(w);
}

#endif /* VMI_SAMPLE_H */
