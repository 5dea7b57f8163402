/*
 * hash.c: pick the XXH3 build that suits this CPU, once.  Both builds
 * give the same values; only the speed differs (about 2x for AVX2).
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define DECL(sfx)							\
	uint64_t hash64_##sfx(const void *, size_t);			\
	void hash_init_##sfx(struct hash_state *);			\
	void hash_update_##sfx(struct hash_state *, const void *, size_t); \
	uint64_t hash_final_##sfx(struct hash_state *);
DECL(sse2)
DECL(avx2)

static int
use_avx2(void)
{
	static int v = -1;

	if (v < 0) {
		__builtin_cpu_init();
		v = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return v;
}

uint64_t
hash64(const void *p, size_t len)
{
	return use_avx2() ? hash64_avx2(p, len) : hash64_sse2(p, len);
}

void
hash_init(struct hash_state *s)
{
	use_avx2() ? hash_init_avx2(s) : hash_init_sse2(s);
}

void
hash_update(struct hash_state *s, const void *p, size_t len)
{
	use_avx2() ? hash_update_avx2(s, p, len) : hash_update_sse2(s, p, len);
}

uint64_t
hash_final(struct hash_state *s)
{
	return use_avx2() ? hash_final_avx2(s) : hash_final_sse2(s);
}

void *
hash_calloc(size_t size)
{
	size_t n = (size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}
