/*
 * vmi_pool.h: the buffers a reader reads records into (vmi_pool.c).
 */
#ifndef VMI_POOL_H
#define VMI_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct vmi_buf {
	uint8_t		*p;
	size_t		 cap;
	struct vmi_buf	*next;		/* on the spare list */
	struct vmi_buf	*all;		/* every buffer of the pool */
};

struct vmi_pool {
	pthread_mutex_t	 mu;
	struct vmi_buf	*spare;
	struct vmi_buf	*all;
};

void	vmi_pool_init(struct vmi_pool *);
/* A spare buffer of at least need octets, else a new one; NULL when out
 * of memory (errno set). */
struct vmi_buf	*vmi_pool_get(struct vmi_pool *, size_t need);
/* Back to the spares: the pool may hand it out and it be written over. */
void	vmi_pool_put(struct vmi_pool *, struct vmi_buf *);
/* Unmap every buffer, spare or not. */
void	vmi_pool_free(struct vmi_pool *);

#endif
