/*
 * hash_impl.h: the body of hash_sse2.c and hash_avx2.c, compiled twice
 * with different vector widths.  HASH_SUFFIX names the copy.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "hash.h"

#define CAT_(a, b)	a##b
#define CAT(a, b)	CAT_(a, b)

_Static_assert(sizeof(XXH3_state_t) <= sizeof(struct hash_state),
    "hash_state too small for XXH3_state_t");

uint64_t
CAT(hash64_, HASH_SUFFIX)(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

void
CAT(hash_init_, HASH_SUFFIX)(struct hash_state *s)
{
	XXH3_64bits_reset((XXH3_state_t *)s);
}

void
CAT(hash_update_, HASH_SUFFIX)(struct hash_state *s, const void *p,
    size_t len)
{
	XXH3_64bits_update((XXH3_state_t *)s, p, len);
}

uint64_t
CAT(hash_final_, HASH_SUFFIX)(struct hash_state *s)
{
	return XXH3_64bits_digest((XXH3_state_t *)s);
}
