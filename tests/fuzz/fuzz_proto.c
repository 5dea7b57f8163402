/*
 * fuzz_proto: libFuzzer target for the frames of vm-run's control
 * protocol, as a client reads them from the socket (kvmp_recv) and as
 * vm-run does, piecemeal from a non-blocking one (kvmp_recv_some).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm_proto.h"

/* The real one lives in hv.c, with the backends this target has not. */
void
hv_seterr(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvmp_hdr h;
	void *payload;
	int sv[2], fd;

	if (size > (1 << 16))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	close(sv[0]);
	/* Frames until the input runs out or one is refused. */
	while (kvmp_recv(sv[1], &h, &payload, &fd) == 0) {
		if (h.len && payload == NULL)
			abort();
		free(payload);
		if (fd >= 0)
			close(fd);
	}
	close(sv[1]);

	/* vm-run's way: what is there, the writer still connected. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	{
		struct kvmp_in in = { .fd = -1 };
		int r;

		while ((r = kvmp_recv_some(sv[1], &in)) == 1) {
			if (in.h.len && in.p == NULL)
				abort();
			kvmp_in_reset(&in);
		}
		/* 0: half a frame, waiting; -1: refused. */
		if (r == 0 && in.got >= size + 1)
			abort();
		kvmp_in_reset(&in);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
