/*
 * peek.c: the first octets of an input, left in it.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "peek.h"

static ssize_t
peek_pipe(int fd, void *buf, size_t len, const void *prefix,
    unsigned max_ms)
{
	ssize_t n = 0;
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	for (unsigned i = 0; i <= max_ms; i++) {
		n = tee(fd, p[1], len, 0);
		if (n > 0)
			n = read(p[0], buf, n);
		if (n <= 0 || (size_t)n >= len ||
		    memcmp(buf, prefix, n) != 0)
			break;
		/* A prefix so far: the rest may still be on its way. */
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	close(p[0]);
	close(p[1]);
	return n < 0 ? 0 : n;
}

ssize_t
peek_input(int fd, void *buf, size_t len, const void *prefix,
    unsigned max_ms)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1)
		return -1;
	if (S_ISREG(sb.st_mode))
		return pread(fd, buf, len, lseek(fd, 0, SEEK_CUR));
	if (S_ISSOCK(sb.st_mode))
		return recv(fd, buf, len, MSG_PEEK | MSG_WAITALL);
	if (S_ISFIFO(sb.st_mode))
		return peek_pipe(fd, buf, len, prefix, max_ms);
	return 0;
}
