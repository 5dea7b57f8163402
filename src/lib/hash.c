/*
 * hash.c: pick the XXH3 build that is fastest on this CPU, once.  All
 * builds give the same values (and keep the same state); only the speed
 * differs.  The pick is measured, not assumed: on hardware AVX2 is about
 * 2x SSE2, but where vector instructions are emulated (QEMU's TCG) SSE2
 * ran at 0.2-0.4 GB/s and plain 64-bit code at 0.6-0.9 GB/s.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

#define DECL(sfx)							\
	uint64_t hash64_##sfx(const void *, size_t);			\
	void hash_init_##sfx(struct hash_state *);			\
	void hash_update_##sfx(struct hash_state *, const void *, size_t); \
	uint64_t hash_final_##sfx(struct hash_state *);
DECL(scalar)
DECL(sse2)
DECL(avx2)

static const struct impl {
	uint64_t	(*h64)(const void *, size_t);
	void		(*init)(struct hash_state *);
	void		(*update)(struct hash_state *, const void *, size_t);
	uint64_t	(*final)(struct hash_state *);
} impls[] = {
	{ hash64_scalar, hash_init_scalar, hash_update_scalar,
	    hash_final_scalar },
	{ hash64_sse2, hash_init_sse2, hash_update_sse2, hash_final_sse2 },
	{ hash64_avx2, hash_init_avx2, hash_update_avx2, hash_final_avx2 },
};

static const struct impl *impl = &impls[1];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static volatile uint64_t sink;

static uint64_t
ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The best of three runs over 16 pages: some 20 us on hardware, a
 * millisecond or two under an emulator. */
static uint64_t
timing(const struct impl *m, const unsigned char *buf, size_t len)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < 3; r++) {
		uint64_t t0 = ns(), s = 0;

		for (size_t o = 0; o < len; o += 4096)
			s += m->h64(buf + o, 4096);
		sink += s;
		if (ns() - t0 < best)
			best = ns() - t0;
	}
	return best;
}

static void
pick(void)
{
	static unsigned char buf[16 * 4096];
	const char *force = getenv("VMPIPE_HASH");
	uint64_t best = UINT64_MAX;
	size_t n = 2;

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		n = 3;
	/* VMPIPE_HASH=scalar|sse2|avx2: a build by name (benchmarks). */
	if (force != NULL) {
		static const char *names[] = { "scalar", "sse2", "avx2" };

		for (size_t i = 0; i < n; i++)
			if (strcmp(force, names[i]) == 0) {
				impl = &impls[i];
				return;
			}
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 12));
	for (size_t i = 0; i < n; i++) {
		uint64_t t = timing(&impls[i], buf, sizeof(buf));

		if (t < best) {
			best = t;
			impl = &impls[i];
		}
	}
}

static const struct impl *
get(void)
{
	pthread_once(&once, pick);
	return impl;
}

uint64_t
hash64(const void *p, size_t len)
{
	return get()->h64(p, len);
}

void
hash_init(struct hash_state *s)
{
	get()->init(s);
}

void
hash_update(struct hash_state *s, const void *p, size_t len)
{
	get()->update(s, p, len);
}

uint64_t
hash_final(struct hash_state *s)
{
	return get()->final(s);
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
