/*
 * page.c: self-describing pages.  Word 0 holds the frame number under a
 * magic, word 1 the generation that wrote it, word 2 a checksum of words
 * 3..511, which are a pseudo-random stream seeded by frame and
 * generation (incompressible, like real data).  So a page that is lost,
 * stale, moved or torn is caught by reading it alone.
 */
#include "guest.h"

#define PAGE_WORDS	(PAGE_SIZE / 8)
#define PAGE_MAGIC	0x766d7000000000ull	/* "vmp" in bits 40..63 */

static uint64_t
checksum(const uint64_t *w)
{
	uint64_t a = 0x9e3779b97f4a7c15ull, b = 0;
	unsigned i;

	/* Two independent lanes keep the multiply latency off the path. */
	for (i = 3; i + 1 < PAGE_WORDS; i += 2) {
		a = (a ^ w[i]) * 0x100000001b3ull;
		b = (b ^ w[i + 1]) * 0xff51afd7ed558ccdull + i;
	}
	a = (a ^ w[i]) * 0x100000001b3ull;
	return a ^ (b >> 7) ^ (b << 29);
}

void
page_write(uint64_t *w, uint64_t pfn, uint64_t gen, uint64_t seed)
{
	uint64_t x = (pfn * 0x9e3779b97f4a7c15ull) ^ (gen * 0xc2b2ae3d27d4eb4full)
	    ^ seed;
	unsigned i;

	x |= 1;
	for (i = 3; i < PAGE_WORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
	w[2] = checksum(w);
	w[1] = gen;
	w[0] = PAGE_MAGIC ^ pfn;
}

/* Returns CHECK_OK, or what is wrong, with *got the generation found. */
int
page_check(const uint64_t *w, uint64_t pfn, uint64_t want, uint64_t *got)
{
	unsigned i;

	if (want == JOURNAL_ZERO) {
		*got = 0;
		for (i = 0; i < PAGE_WORDS; i++)
			if (w[i]) {
				*got = w[1];
				return CHECK_ZERO;
			}
		return CHECK_OK;
	}
	*got = w[1];
	if (w[0] != (PAGE_MAGIC ^ pfn))
		return CHECK_PFN;
	if (w[1] != want)
		return CHECK_GEN;
	if (w[2] != checksum(w))
		return CHECK_SUM;
	return CHECK_OK;
}
