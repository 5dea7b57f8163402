/*
 * vmi_pool.c: the buffers a stream reader reads records into, when it
 * reads them (a pipe or a socket) rather than maps them (a file).
 *
 * A restore can pass a record's pages on by reference, vmsplice(2) into
 * libxl's pipe, without a copy; the pipe then refers to the buffer's own
 * pages until its reader has taken them.  So a buffer can be lent out of
 * the reader (vmi_record_lend()), and the reader reads on into others
 * until it comes back.  The buffers are mapped, not taken from malloc:
 * one unmapped while a pipe still refers to its pages leaves those pages
 * as they are, where malloc's memory could be handed out again and
 * written over before the pipe's reader gets to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "vmi_pool.h"

/* Sizes are rounded up to this: a PAGES record of VMI_PAGES_MAX frames
 * (4 MiB and its frame words) takes 17 of them. */
#define UNIT	(256u << 10)

void
vmi_pool_init(struct vmi_pool *pl)
{
	pthread_mutex_init(&pl->mu, NULL);
	pl->spare = pl->all = NULL;
}

struct vmi_buf *
vmi_pool_get(struct vmi_pool *pl, size_t need)
{
	struct vmi_buf **bp, *b = NULL;
	size_t cap = (need + UNIT - 1) / UNIT * UNIT;
	void *p;

	pthread_mutex_lock(&pl->mu);
	for (bp = &pl->spare; *bp != NULL; bp = &(*bp)->next)
		if ((*bp)->cap >= need) {
			b = *bp;
			*bp = b->next;
			break;
		}
	/* Too small for this record: made bigger, kept as the pool's. */
	if (b == NULL && pl->spare != NULL) {
		b = pl->spare;
		pl->spare = b->next;
	}
	pthread_mutex_unlock(&pl->mu);
	if (b != NULL && b->cap >= need)
		return b;
	if (cap == 0)
		cap = UNIT;
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		if (b != NULL)
			vmi_pool_put(pl, b);
		errno = ENOMEM;
		return NULL;
	}
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL) {
			munmap(p, cap);
			return NULL;
		}
		pthread_mutex_lock(&pl->mu);
		b->all = pl->all;
		pl->all = b;
		pthread_mutex_unlock(&pl->mu);
	} else
		munmap(b->p, b->cap);
	b->p = p;
	b->cap = cap;
	return b;
}

void
vmi_pool_put(struct vmi_pool *pl, struct vmi_buf *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&pl->mu);
	b->next = pl->spare;
	pl->spare = b;
	pthread_mutex_unlock(&pl->mu);
}

void
vmi_pool_free(struct vmi_pool *pl)
{
	struct vmi_buf *b, *next;

	for (b = pl->all; b != NULL; b = next) {
		next = b->all;
		if (b->p != NULL)
			munmap(b->p, b->cap);
		free(b);
	}
	pl->spare = pl->all = NULL;
	pthread_mutex_destroy(&pl->mu);
}
