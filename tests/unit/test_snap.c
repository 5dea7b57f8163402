/*
 * test_snap: disk snapshots (src/lib/snap.c).  In a directory of TMPDIR
 * (no reflink on ext4 or tmpfs) the snapshot is a copy with the holes
 * kept; with a directory argument on a file system with reflink
 * (tests/16-snapshot.bats mounts an xfs), the snapshot is a reflink.
 * Either way: its bytes are the disk's at the instant it was taken, a
 * write to the disk afterwards does not reach it, an existing file is
 * never overwritten, and a refusal (no copy allowed, a copy over the
 * pause limit) leaves no file.
 *
 * Usage: test_snap.bin [reflink-dir]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check.h"
#include "snap.h"

#define MiB	(1u << 20)

static char	 dir[4096], src[4200], dst[4200];

/* Write len octets of pattern seed at off. */
static void
fill(int fd, off_t off, size_t len, unsigned seed)
{
	static uint8_t buf[MiB];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + seed);
	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			abort();
		off += n;
		len -= n;
	}
}

/* A disk of size octets with data at 0, 10 MiB and size - 2 MiB. */
static void
make_disk(const char *path, off_t size, unsigned seed)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	CHECK(fd != -1, "create %s", path);
	CHECK(ftruncate(fd, size) == 0, "size %s", path);
	fill(fd, 0, MiB, seed);
	fill(fd, 10 * MiB, 4096, seed + 1);
	fill(fd, size - 2 * MiB, 2 * MiB, seed + 2);
	close(fd);
}

/* Are files a and b equal, octet for octet? */
static int
same(const char *a, const char *b)
{
	static uint8_t x[MiB], y[MiB];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), eq = 1;
	ssize_t n, m;

	if (fa == -1 || fb == -1)
		eq = 0;
	while (eq) {
		n = read(fa, x, sizeof(x));
		m = read(fb, y, sizeof(y));
		if (n != m || n < 0 || memcmp(x, y, n) != 0)
			eq = 0;
		if (n <= 0)
			break;
	}
	close(fa);
	close(fb);
	return eq;
}

static long long
blocks(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (long long)st.st_blocks : -1;
}

static void
snapshots(int reflink)
{
	char err[SNAP_ERRLEN], keep[4200];
	struct snap s;
	int fd;

	make_disk(src, 64 * MiB, 7);
	CHECK(snap_can_reflink(src, dir, err) == reflink,
	    "reflink to %s: %s", dir, err);

	CHECK(snap_take(src, dst, 0, 0, &s, err) == 0, "snapshot: %s", err);
	CHECK(s.how == (reflink ? SNAP_REFLINK : SNAP_COPY),
	    "snapshot by %s", snap_how_name(s.how));
	CHECK(s.size == 64 * MiB, "size %llu", (unsigned long long)s.size);
	CHECK(same(src, dst), "the snapshot differs from the disk");
	if (!reflink) {
		CHECK(s.copied == 3 * MiB + 4096 || s.copied == 64 * MiB,
		    "%llu octets copied", (unsigned long long)s.copied);
		/* Holes kept: about 3 MiB of blocks, not 64. */
		CHECK(blocks(dst) < 16 * 2048, "%lld blocks: holes filled",
		    blocks(dst));
	}

	/* The disk goes on; the snapshot stays as it was. */
	snprintf(keep, sizeof(keep), "%s/keep", dir);
	make_disk(keep, 64 * MiB, 7);
	fd = open(src, O_RDWR);
	fill(fd, 0, MiB, 99);
	fill(fd, 30 * MiB, MiB, 99);
	close(fd);
	CHECK(same(keep, dst), "a write after the snapshot reached it");
	CHECK(!same(src, dst), "the disk did not change");

	/* Never over an existing file. */
	{
		struct snap t;

		CHECK(snap_take(src, dst, 0, 0, &t, err) == -1,
		    "over an existing file");
	}
	CHECK(same(keep, dst), "the existing file was touched");
	CHECK(strstr(err, "File exists") != NULL, "%s", err);
	unlink(keep);
	CHECK(snap_drop(&s) == 0, "drop");
	CHECK(access(dst, F_OK) == -1, "drop left %s", dst);

	/* No copy allowed: refused where there is no reflink. */
	{
		struct snap t;
		int r = snap_take(src, dst, 0, 1, &t, err);

		CHECK(r == (reflink ? 0 : -1), "no_copy: %d (%s)", r, err);
		CHECK((access(dst, F_OK) == 0) == reflink,
		    "no_copy: the file is %s", reflink ? "missing" : "left");
		if (r == 0)
			snap_drop(&t);
	}

	/* A copy over the pause limit stops and leaves nothing. */
	if (!reflink) {
		int big = open(src, O_RDWR | O_TRUNC);

		fill(big, 0, 256 * MiB, 3);
		close(big);
		CHECK(snap_take(src, dst, 1, 0, &s, err) == -1,
		    "a copy of 256 MiB in 1 ms");
		CHECK(strstr(err, "more than the pause allowed") != NULL,
		    "%s", err);
		CHECK(access(dst, F_OK) == -1, "the cut copy was left");
	}

	/* Not a file. */
	CHECK(snap_take("/dev/null", dst, 0, 0, &s, err) == -1, "/dev/null");
	CHECK(strstr(err, "neither a regular file nor an LVM logical volume")
	    != NULL, "%s", err);
	CHECK(access(dst, F_OK) == -1, "a file was made for /dev/null");
	CHECK(!snap_holdable("/dev/null") && snap_holdable(src),
	    "holdable: /dev/null %d, a file %d", snap_holdable("/dev/null"),
	    snap_holdable(src));
	unlink(src);
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	if (argc > 1) {
		snprintf(dir, sizeof(dir), "%s/test_snap.XXXXXX", argv[1]);
	} else {
		snprintf(dir, sizeof(dir), "%s/test_snap.XXXXXX",
		    tmp ? tmp : "/tmp");
	}
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(src, sizeof(src), "%s/disk", dir);
	snprintf(dst, sizeof(dst), "%s/disk.snap", dir);
	snapshots(argc > 1);
	rmdir(dir);
	printf("test_snap%s: %d checks, %d failures\n",
	    argc > 1 ? " (reflink)" : "", checks, failures);
	return failures != 0;
}
