/*
 * stream.c: the pipe that carries a restore's migration stream to libxl
 * (create.c starts libxl's reader on its other end).  The records are
 * laid out by the one writer of Xen's streams (xen_stream.c); this file
 * is its sink: it writes them all, or keeps the first failure for every
 * later write and tells why libxl stopped reading.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"
#include "xen.h"

/*
 * Write iov[0..n) to the pipe, all of it: with vmsplice() when splice is
 * set (the pages are then referred to, not copied, until libxl reads
 * them: they must not change; see put.c), else with writev().
 * SIGPIPE is held back while we write: a libxl that gave up is an EPIPE.
 */
static int
write_all(struct hv_guest *g, struct iovec *iov, int n, int splice)
{
	sigset_t pipe, old;
	int rc, e;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	rc = splice ? io_vmspliceall(g->sock, &iov, &n) :
	    io_writevall(g->sock, iov, n);
	e = rc == -1 ? errno : 0;
	if (e == EPIPE && !sigismember(&old, SIGPIPE)) {
		struct timespec now = { 0, 0 };

		(void)sigtimedwait(&pipe, NULL, &now);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return rc;
}

static int
stream_write(struct hv_guest *g, struct iovec *iov, int n, int splice)
{
	if (g->werr) {
		errno = g->werr;
		return -1;
	}
	if (write_all(g, iov, n, splice) == -1) {
		g->werr = errno;
		return -1;
	}
	return 0;
}

/*
 * What libxl has read of the stream: what was written less what the pipe
 * still holds.  Pages spliced into the pipe are referred to until then.
 */
int
xen_put_taken(struct hv_guest *g, uint64_t *put, uint64_t *taken)
{
	int queued;

	if (g->sock == -1 || ioctl(g->sock, FIONREAD, &queued) == -1 ||
	    queued < 0 || (uint64_t)queued > g->out.bytes)
		return -1;
	*put = g->out.bytes;
	*taken = g->out.bytes - queued;
	return 0;
}

/* The writer's sink (struct xls). */
static int
sink(void *arg, struct iovec *iov, int n)
{
	return stream_write(arg, iov, n, 0);
}

void
xen_stream_open(struct hv_guest *g, int fd)
{
	g->sock = fd;
	g->werr = 0;
	g->out = (struct xls){ .fd = fd, .writev = sink, .arg = g };
}

int
xen_stream_iov(struct hv_guest *g, struct iovec *iov, int n)
{
	return xls_iov(&g->out, iov, n);
}

int
xen_stream_splice(struct hv_guest *g, struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		g->out.bytes += iov[i].iov_len;
	return stream_write(g, iov, n, 1);
}

int
xen_stream_record(struct hv_guest *g, uint32_t type, const void *a,
    size_t alen, const void *b, size_t blen)
{
	return xls_record(&g->out, type, a, alen, b, blen);
}

/* The end of the stream for libxl, which has read it all or gives up
 * at its end; then wait for libxl to be done. */
void
xen_stream_close(struct hv_guest *g)
{
	if (g->sock != -1) {
		close(g->sock);
		g->sock = -1;
	}
	if (g->thread_up) {
		pthread_join(g->thread, NULL);
		g->thread_up = 0;
	}
}

/* Why libxl stopped reading: its own message, once its thread is done. */
const char *
xen_stream_why(struct hv_guest *g)
{
	xen_stream_close(g);
	return g->lmsg[0] ? g->lmsg : strerror(g->werr ? g->werr : EIO);
}
