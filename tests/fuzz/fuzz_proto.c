/*
 * fuzz_proto: libFuzzer target for the frames of vm-run's control
 * protocol, as a client or vm-run reads them from the socket.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	return 0;
}
