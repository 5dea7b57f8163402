/*
 * io.c: whole reads and writes, clocks, and argument helpers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "io.h"

/* read(2), or pread(2) from off when off >= 0, until len or end of file. */
static ssize_t
readall_at(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? read(fd, (char *)buf + done, len - done) :
		    pread(fd, (char *)buf + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

ssize_t
io_readall(int fd, void *buf, size_t len)
{
	return readall_at(fd, buf, len, -1);
}

ssize_t
io_preadall(int fd, void *buf, size_t len, off_t off)
{
	return readall_at(fd, buf, len, off);
}

int
io_writeall(int fd, const void *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

void
io_iov_skip(struct iovec **iovp, int *iovcnt, size_t len)
{
	struct iovec *iov = *iovp;
	int n = *iovcnt;

	while (n > 0 && len >= iov->iov_len) {
		len -= iov->iov_len;
		iov++;
		n--;
	}
	if (n > 0) {
		iov->iov_base = (char *)iov->iov_base + len;
		iov->iov_len -= len;
	}
	*iovp = iov;
	*iovcnt = n;
}

/* writev() or vmsplice() until everything is in, or a failure. */
static int
pushv(int fd, struct iovec **iov, int *iovcnt, int splice)
{
	while (*iovcnt > 0) {
		int k = *iovcnt > IOV_MAX ? IOV_MAX : *iovcnt;
		ssize_t n = splice ? vmsplice(fd, *iov, k, 0) :
		    writev(fd, *iov, k);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		io_iov_skip(iov, iovcnt, n);
	}
	return 0;
}

int
io_writevall(int fd, struct iovec *iov, int iovcnt)
{
	return pushv(fd, &iov, &iovcnt, 0);
}

int
io_vmspliceall(int fd, struct iovec **iov, int *iovcnt)
{
	return pushv(fd, iov, iovcnt, 1);
}

void
io_pipe_grow(int fd)
{
	/* Fails harmlessly on non-pipes and above pipe-max-size. */
	(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

void
io_pipe_drain(int fd, unsigned max_ms)
{
	uint64_t end = now_ns() + (uint64_t)max_ms * 1000000;
	int queued;

	while (ioctl(fd, FIONREAD, &queued) == 0 && queued > 0) {
		struct pollfd p = { fd, 0, 0 };

		if (poll(&p, 1, 1) == 1 && (p.revents & (POLLERR | POLLHUP)))
			break;
		if (max_ms && now_ns() > end)
			break;
	}
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int
io_open_in(const char *path)
{
	if (strcmp(path, "-") == 0)
		return STDIN_FILENO;
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
io_open_out(const char *path)
{
	if (strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
}

int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 't': case 'T': shift += 10; /* FALLTHROUGH */
	case 'g': case 'G': shift += 10; /* FALLTHROUGH */
	case 'm': case 'M': shift += 10; /* FALLTHROUGH */
	case 'k': case 'K': shift += 10; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || (shift && v > (ULLONG_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

void
io_keepalive(int fd)
{
	int on = 1, idle = 10, intvl = 5, cnt = 3;

	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

int
io_peer_trusted(int fd, unsigned long *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return -1;
	if (uid != NULL)
		*uid = cr.uid;
	return cr.uid == 0 || cr.uid == geteuid();
}

int
io_wait_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	while ((r = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
		;
	return r;
}
