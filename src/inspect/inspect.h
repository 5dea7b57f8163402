/*
 * inspect.h: what vm-inspect's files share.
 */
#ifndef INSPECT_H
#define INSPECT_H

#include <stddef.h>

extern int	verbose, quiet;

/* Describe the image on fd and check it (image.c).  0 if whole; -1
 * with the fault in msg.  in_bundle: leave the status line out. */
int	inspect_image(int fd, const char *label, int in_bundle, char *msg,
	    size_t msglen);

/* Look at fd's first block without losing it: *bundle says whether it
 * is a tar archive, and the fd returned reads from the start (fd itself
 * when it can seek, else a pipe fed by a thread).  -1 with errno. */
int	sniff_bundle(int fd, int *bundle);

/* Check and describe the bundle on fd; returns the exit status, or
 * exits with a message (bundle.c). */
int	inspect_bundle(int fd, const char *path);

#endif /* INSPECT_H */
