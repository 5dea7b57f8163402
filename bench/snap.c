/*
 * snap: the pause a disk snapshot adds to a consistent checkpoint
 * (src/lib/snap.c): snapshots of one disk of SIZE MiB, all of it data,
 * in DIR, by reflink where DIR's file system has it and otherwise by
 * copy; beside them the same copy made by cp(1) (--reflink=never), the
 * limit a copy can reach.  Prints one line per way: min and median ms of
 * RUNS runs, and MB/s.
 *
 * Usage: bench/out/snap DIR [SIZE-MiB [RUNS]]
 */
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snap.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *how, double *ms, int runs, unsigned mib)
{
	qsort(ms, runs, sizeof(*ms), cmp);
	printf("%-22s min %9.3f ms  median %9.3f ms  %8.0f MB/s\n", how,
	    ms[0], ms[runs / 2], mib * 1.048576 / (ms[runs / 2] / 1e3));
}

int
main(int argc, char **argv)
{
	char disk[4096], snap[4200], cmd[9000], e[SNAP_ERRLEN];
	unsigned mib = argc > 2 ? (unsigned)atoi(argv[2]) : 1024;
	int runs = argc > 3 ? atoi(argv[3]) : 5, fd;
	double *ms;
	static char buf[1 << 20];

	if (argc < 2 || mib == 0 || runs < 1 || runs > 100)
		errx(100, "usage: snap DIR [SIZE-MiB [RUNS]]");
	if ((ms = calloc(runs, sizeof(*ms))) == NULL)
		err(111, "calloc");
	snprintf(disk, sizeof(disk), "%s/bench-disk", argv[1]);
	snprintf(snap, sizeof(snap), "%s.snap", disk);
	if ((fd = open(disk, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		err(111, "%s", disk);
	for (unsigned i = 0; i < mib; i++) {
		for (size_t j = 0; j < sizeof(buf); j += 8)
			*(uint64_t *)(buf + j) = (i * 0x9e3779b97f4a7c15ull) ^ j;
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			err(111, "write %s", disk);
	}
	if (fsync(fd) == -1 || close(fd) == -1)
		err(111, "%s", disk);

	for (int pass = 0; pass < 2; pass++) {
		enum snap_how how = SNAP_REFLINK;

		for (int r = 0; r < runs; r++) {
			struct snap s;

			if (pass == 0) {
				double t0 = now_ms();

				if (snap_take(disk, snap, 0, 0, &s, e) == -1)
					errx(111, "%s", e);
				ms[r] = now_ms() - t0;
				how = s.how;
				snap_drop(&s);
			} else {
				double t0 = now_ms();

				snprintf(cmd, sizeof(cmd), "cp --reflink=never "
				    "--sparse=always '%s' '%s'", disk, snap);
				if (system(cmd) != 0)
					errx(111, "%s failed", cmd);
				ms[r] = now_ms() - t0;
				unlink(snap);
			}
			sync();
		}
		report(pass ? "cp --reflink=never" :
		    how == SNAP_REFLINK ? "snapshot (reflink)" :
		    "snapshot (copy)", ms, runs, mib);
	}
	unlink(disk);
	return 0;
}
