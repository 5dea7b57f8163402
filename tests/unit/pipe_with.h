/*
 * pipe_with.h: an image on a pipe, for the unit tests that need the
 * reader to read rather than map it (files and memfds are mapped).
 */
#ifndef PIPE_WITH_H
#define PIPE_WITH_H

#include <err.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

struct feed {
	int		 fd;
	const void	*p;
	size_t		 len;
};

static inline void *
feed_main(void *arg)
{
	struct feed *f = arg;

	(void)io_writeall(f->fd, f->p, f->len);
	close(f->fd);
	free((void *)f->p);
	free(f);
	return NULL;
}

/* The len octets at p on a pipe, fed by a thread of its own: the read
 * end. */
static inline int
pipe_with(const void *p, size_t len)
{
	struct feed *f = malloc(sizeof(*f));
	pthread_t t;
	int fds[2];

	if (f == NULL || pipe(fds) == -1)
		err(1, "pipe_with");
	/* The feeder's own copy: the caller may free p before it is done. */
	f->fd = fds[1];
	f->p = malloc(len ? len : 1);
	f->len = len;
	if (f->p == NULL)
		err(1, "pipe_with");
	memcpy((void *)f->p, p, len);
	if (pthread_create(&t, NULL, feed_main, f) != 0)
		errx(1, "pthread_create");
	pthread_detach(t);
	return fds[0];
}

#endif /* PIPE_WITH_H */
