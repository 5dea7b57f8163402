/*
 * kvm_proto.c: frames on the vm-run control socket (see kvm_proto.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hv.h"
#include "kvm_proto.h"

int
kvmp_send(int sock, uint16_t op, int32_t status, const void *payload,
    uint32_t len, int fd)
{
	struct kvmp_hdr h = { KVMP_MAGIC, op, 0, len, status };
	union {
		struct cmsghdr	c;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov[2] = {
		{ &h, sizeof(h) },
		{ (void *)(uintptr_t)payload, len },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		cm.c.cmsg_level = SOL_SOCKET;
		cm.c.cmsg_type = SCM_RIGHTS;
		cm.c.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.c), &fd, sizeof(int));
	}
	/* Loop on short writes; the fd rides with the first octet only. */
	while (m.msg_iovlen > 0) {
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		/* A non-blocking socket (vm-run's): wait, but not for a
		 * reader that has stopped reading. */
		if (n == -1 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = sock, .events = POLLOUT };

			if (poll(&pfd, 1, KVMP_SEND_MS) > 0)
				continue;
			errno = ETIMEDOUT;
		}
		if (n == -1) {
			hv_seterr("control socket: %s", strerror(errno));
			return -1;
		}
		m.msg_control = NULL;
		m.msg_controllen = 0;
		while (m.msg_iovlen > 0 && (size_t)n >= m.msg_iov->iov_len) {
			n -= m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen > 0) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + n;
			m.msg_iov->iov_len -= n;
		}
	}
	return 0;
}

/*
 * Take the descriptors a recvmsg() brought: the first into *fd if fd is
 * not NULL and *fd is free, every other closed.  -1 when the control
 * message was cut short (the kernel dropped some).
 */
static int
take_fds(struct msghdr *m, int *fd)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			if (fd != NULL && *fd < 0)
				*fd = f;
			else
				close(f);
		}
	}
	if (m->msg_flags & MSG_CTRUNC) {
		hv_seterr("control socket: truncated control message");
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int
bad_header(const struct kvmp_hdr *h)
{
	if (h->magic == KVMP_MAGIC && h->len <= KVMP_MAX)
		return 0;
	hv_seterr("control socket: bad frame (magic 0x%08x, length %u)",
	    h->magic, h->len);
	errno = EPROTO;
	return -1;
}

void
kvmp_in_reset(struct kvmp_in *in)
{
	free(in->p);
	if (in->fd >= 0)
		close(in->fd);
	memset(in, 0, sizeof(*in));
	in->fd = -1;
}

int
kvmp_recv_some(int sock, struct kvmp_in *in)
{
	union {
		struct cmsghdr	c;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	const size_t hl = sizeof(in->h);

	for (;;) {
		struct iovec iov;
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
		    .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		ssize_t n;

		if (in->got < hl) {
			iov.iov_base = (char *)&in->h + in->got;
			iov.iov_len = hl - in->got;
		} else {
			if (in->got == hl + in->h.len)
				return 1;
			iov.iov_base = in->p + (in->got - hl);
			iov.iov_len = hl + in->h.len - in->got;
		}
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1) {
			hv_seterr("control socket: %s", strerror(errno));
			return -1;
		}
		/* A descriptor counts only with the header. */
		if (take_fds(&m, in->got < hl ? &in->fd : NULL) == -1)
			return -1;
		if (n == 0) {
			hv_seterr("control socket: connection closed by peer");
			errno = ECONNRESET;
			return -1;
		}
		in->got += (size_t)n;
		if (in->got == hl) {
			if (bad_header(&in->h) == -1)
				return -1;
			/* One spare octet so that text can be terminated. */
			if ((in->p = malloc((size_t)in->h.len + 1)) == NULL)
				return -1;
			in->p[in->h.len] = '\0';
		}
	}
}

/* The client's read: vm-run's piecemeal one, waiting between pieces. */
int
kvmp_recv(int sock, struct kvmp_hdr *h, void **payload, int *fd)
{
	struct kvmp_in in = { .fd = -1 };
	int r, e;

	*payload = NULL;
	if (fd != NULL)
		*fd = -1;
	while ((r = kvmp_recv_some(sock, &in)) == 0) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };

		if (poll(&pfd, 1, -1) == -1 && errno != EINTR) {
			hv_seterr("control socket: %s", strerror(errno));
			r = -1;
			break;
		}
	}
	if (r == -1) {
		e = errno;
		kvmp_in_reset(&in);
		errno = e;
		return -1;
	}
	*h = in.h;
	if (h->len > 0)
		*payload = in.p;
	else
		free(in.p);
	if (fd != NULL)
		*fd = in.fd;
	else if (in.fd >= 0)
		close(in.fd);
	return 0;
}

const char *
kvm_state_name(uint32_t tag)
{
	static const char *const vcpu[] = { "?", "CPUID", "TSC_KHZ", "REGS",
	    "FPU", "XSAVE", "XCRS", "SREGS", "MSRS", "MP_STATE", "LAPIC",
	    "VCPU_EVENTS", "DEBUGREGS" };
	static const char *const plat[] = { "?", "PIC_MASTER", "PIC_SLAVE",
	    "IOAPIC", "PIT2", "CLOCK" };

	if (tag < sizeof(vcpu) / sizeof(vcpu[0]))
		return vcpu[tag];
	if (tag >= 0x100 && tag - 0x100 < sizeof(plat) / sizeof(plat[0]))
		return plat[tag - 0x100];
	return "?";
}
