/*
 * hash.h: the stream's checksum, XXH3-64, at memory speed.
 * The vector width is chosen once, from what the CPU offers.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

/* Incremental hashing of one record: its header, then its body parts. */
struct hash_state {
	unsigned char	opaque[640] __attribute__((aligned(64)));
};

/* calloc() for structures that hold a hash_state: 64-octet aligned. */
void		*hash_calloc(size_t size);

uint64_t	hash64(const void *p, size_t len);
void		hash_init(struct hash_state *);
void		hash_update(struct hash_state *, const void *p, size_t len);
uint64_t	hash_final(struct hash_state *);

#endif /* HASH_H */
