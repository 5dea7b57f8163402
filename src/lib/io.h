/*
 * io.h: whole reads and writes on pipes and sockets.
 */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Read exactly len octets.  Returns len, fewer only at end of file, or -1. */
ssize_t	io_readall(int fd, void *buf, size_t len);

/* The same at offset off, with pread(); the file offset stays. */
ssize_t	io_preadall(int fd, void *buf, size_t len, off_t off);

/* Write everything, looping on short writes and EINTR.  0 or -1. */
int	io_writeall(int fd, const void *buf, size_t len);

/* The same for an iovec array; iov is modified. */
int	io_writevall(int fd, struct iovec *iov, int iovcnt);

/*
 * The same with vmsplice() into a pipe: the pages are lent to it, not
 * copied, so they must not change until its reader has taken them.
 * *iov and *iovcnt are advanced past what went in, on failure too, so
 * that a caller can copy the rest instead.
 */
int	io_vmspliceall(int fd, struct iovec **iov, int *iovcnt);

/* Step over len octets of iov[0..*iovcnt), as written by a short write:
 * whole entries are dropped, a partial one is shortened. */
void	io_iov_skip(struct iovec **iov, int *iovcnt, size_t len);

/* If fd is a pipe, make its buffer 1 MiB: fewer, larger copies. */
void	io_pipe_grow(int fd);

/*
 * Wait until a pipe's reader has taken everything written to it, or has
 * gone away, or max_ms have passed (0: no limit).  No-op on non-pipes.
 */
void	io_pipe_drain(int fd, unsigned max_ms);

/* Monotonic and wall clocks in nanoseconds. */
uint64_t	now_ns(void);
/* TCP keepalive on a connection, so that a peer that vanished without a
 * word is noticed within half a minute even when no data is due. */
void		io_keepalive(int fd);
/* Wait up to ms (-1: for ever) for fd to be readable: 1, 0 on timeout,
 * -1 on error.  EINTR is waited through. */
int		io_wait_readable(int fd, int ms);
/* Is the process at the other end of Unix socket fd root's or ours
 * (SO_PEERCRED)?  1 or 0; -1 with errno when it can't be asked.  The
 * peer's uid in *uid when uid is not NULL. */
int		io_peer_trusted(int fd, unsigned long *uid);
uint64_t	wall_ns(void);

/* Open "-" as stdin/stdout, anything else as a file.  -1 on failure. */
int	io_open_in(const char *path);
int	io_open_out(const char *path);

/* Parse a size with an optional k/m/g/t suffix (powers of 1024). */
int	parse_size(const char *s, uint64_t *out);

#endif /* IO_H */
