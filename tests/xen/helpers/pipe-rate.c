/*
 * pipe-rate MIB PIPE_KIB CHUNK_KIB: MIB mebibytes from one process to
 * another through a pipe PIPE_KIB deep (F_SETPIPE_SZ; 0: the kernel's
 * default), written and read CHUNK_KIB at a time; prints the rate in
 * MB/s.  PIPE_KIB "sockN": through a Unix stream socket pair whose
 * buffers are N KiB instead.  Under the emulator a PV dom0 pays for every switch between the
 * two far more than for every octet: this shows how much.
 */
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec t0, t1;
	size_t total, chunk, done = 0;
	int p[2], st;
	char *buf;
	pid_t pid;

	if (argc != 4)
		errx(2, "usage: pipe-rate MIB PIPE_KIB|sockKIB CHUNK_KIB");
	total = strtoul(argv[1], NULL, 10) << 20;
	chunk = strtoul(argv[3], NULL, 10) << 10;
	if (chunk == 0 || (buf = calloc(1, chunk)) == NULL)
		errx(2, "bad chunk");
	if (strncmp(argv[2], "sock", 4) == 0) {
		int sz = atoi(argv[2] + 4) << 10, sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			err(1, "socketpair");
		/* As a pipe: p[0] reads, p[1] writes. */
		p[0] = sv[0];
		p[1] = sv[1];
		/* Past net.core.[rw]mem_max where we may (root). */
		if (sz > 0 && (setsockopt(p[1], SOL_SOCKET, SO_SNDBUFFORCE,
		    &sz, sizeof(sz)) == -1 || setsockopt(p[0], SOL_SOCKET,
		    SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1) &&
		    (setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &sz,
		    sizeof(sz)) == -1 || setsockopt(p[0], SOL_SOCKET,
		    SO_RCVBUF, &sz, sizeof(sz)) == -1))
			err(1, "SO_SNDBUF");
	} else {
		if (pipe(p) == -1)
			err(1, "pipe");
		if (atoi(argv[2]) > 0 &&
		    fcntl(p[1], F_SETPIPE_SZ, atoi(argv[2]) << 10) == -1)
			err(1, "F_SETPIPE_SZ");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		close(p[0]);
		for (size_t off = 0; off < total; off += chunk)
			if (write(p[1], buf, chunk) != (ssize_t)chunk)
				err(1, "write");
		_exit(0);
	}
	close(p[1]);
	for (ssize_t n; (n = read(p[0], buf, chunk)) > 0;)
		done += (size_t)n;
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (done != total)
		errx(1, "%zu of %zu octets", done, total);
	printf("%.1f\n", total / 1e6 / ((t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9));
	return 0;
}
