/*
 * peek.h: look at the first octets of an input without taking them from
 * it, so that the reader that follows still sees the whole stream.
 */
#ifndef PEEK_H
#define PEEK_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Copy up to len octets from the start of what fd holds, leaving them to
 * be read: pread on a file, MSG_PEEK on a socket, tee(2) into a scratch
 * pipe on a pipe.  On a pipe, what it holds now is all one can see: wait
 * (up to max_ms) while the octets seen so far still match prefix, so that
 * a prefix arriving in pieces is seen whole.  Returns the octets copied
 * (0 at end of input or when nothing can be seen), or -1.
 */
ssize_t	peek_input(int fd, void *buf, size_t len, const void *prefix,
	    unsigned max_ms);

#endif /* PEEK_H */
