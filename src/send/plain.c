/*
 * plain.c: the raw TCP transport to a relocation server started with
 * --plain.  The stream goes one way and the back-channel lines the other
 * on the same connection; there is no authentication and no secrecy, so
 * it is meant for trusted networks only.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "io.h"
#include "send.h"
#include "xfer.h"

struct plain {
	struct xport	xp;
	int		fd;
};

static int
plain_write(struct xport *xp, const void *buf, size_t n)
{
	struct plain *p = (struct plain *)xp;

	if (io_writeall(p->fd, buf, n) < 0) {
		snprintf(xp->err, sizeof xp->err, "send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static ssize_t
plain_read(struct xport *xp, void *buf, size_t n, int timeout)
{
	struct plain *p = (struct plain *)xp;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t r;

	for (;;) {
		int k = poll(&pfd, 1, timeout);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		if (k == 0)
			return 0;
		r = read(p->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return XP_EOF;
		if (r > 0)
			return r;
		break;
	}
	snprintf(xp->err, sizeof xp->err, "receive: %s", strerror(errno));
	return -1;
}

static int
plain_shutdown(struct xport *xp)
{
	struct plain *p = (struct plain *)xp;

	if (shutdown(p->fd, SHUT_WR) < 0) {
		snprintf(xp->err, sizeof xp->err, "shutdown: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
plain_close(struct xport *xp)
{
	struct plain *p = (struct plain *)xp;

	close(p->fd);
	free(p);
}

static const struct xport_ops plain_ops = {
	.write = plain_write,
	.read = plain_read,
	.shutdown = plain_shutdown,
	.close = plain_close,
};

struct xport *
xport_plain_open(const struct send_opts *o, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	}, *res, *ai;
	char port[16];
	struct plain *p;
	int fd = -1, rc, saved = 0;

	snprintf(port, sizeof port, "%d", o->port ? o->port : XFER_RELOC_PORT);
	if ((rc = getaddrinfo(o->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", o->host, gai_strerror(rc));
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* A deadline for the connect, and for every write after
		 * it: a receiver that stops reading is not waited for. */
		struct timeval tv = { .tv_sec = send_deadline_s(o) };

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			io_keepalive(fd);
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "can't connect to %s port %s: %s",
		    o->host, port, strerror(saved));
		return NULL;
	}
	if ((p = calloc(1, sizeof *p)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	p->xp.ops = &plain_ops;
	p->fd = fd;
	return &p->xp;
}
