/*
 * test_bundle: a bundle with an image and sparse disks is written, read
 * back (from a file and from a pipe), listed and extracted by GNU tar and
 * bsdtar with its holes kept; cut at many offsets, with one octet flipped
 * in each member, and crafted with wrong, hostile or missing members, it
 * is refused with a message that names what was expected.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "check.h"
#include "hash.h"
#include "io.h"

#define MiB	(1u << 20)
#define CHUNK	65536
#define IMAGE	(2 * CHUNK + 1234)

static char	dir[64];
static unsigned char image[IMAGE];

struct disk { const char *dev; uint64_t size; uint64_t data[4][2]; };

/* vda ends in a hole, vdb is all hole, vdc is all data. */
static const struct disk disks[] = {
	{ "vda", 64 * MiB, { { 0, 4096 }, { 5 * MiB, 65536 },
	    { 40 * MiB, MiB }, { 0, 0 } } },
	{ "vdb", 8 * MiB, { { 0, 0 } } },
	{ "vdc", MiB, { { 0, MiB } } },
};
#define NDISKS	(sizeof(disks) / sizeof(disks[0]))

static void
fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		c[i] = (unsigned char)(seed >> 16);
	}
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
make_disks(void)
{
	static unsigned char buf[MiB];
	char p[128];
	int fd;

	for (unsigned i = 0; i < NDISKS; i++) {
		path_of(p, sizeof(p), disks[i].dev);
		if ((fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
		    ftruncate(fd, (off_t)disks[i].size) == -1)
			abort();
		for (unsigned j = 0; disks[i].data[j][1] != 0; j++) {
			fill(buf, disks[i].data[j][1], i * 10 + j + 1);
			if (pwrite(fd, buf, disks[i].data[j][1],
			    (off_t)disks[i].data[j][0]) !=
			    (ssize_t)disks[i].data[j][1])
				abort();
		}
		close(fd);
	}
}

static int
write_bundle(const char *out)
{
	struct bundle_manifest m;
	struct bundle_writer *w;
	char ebuf[BUNDLE_ERRLEN], p[128];
	int fd, dfd, rc = -1;

	memset(&m, 0, sizeof(m));
	snprintf(m.guest, sizeof(m.guest), "web1");
	m.chunk = CHUNK;
	for (unsigned i = 0; i < NDISKS; i++) {
		path_of(p, sizeof(p), disks[i].dev);
		if (bundle_disk_set(&m.disk[m.ndisks++], disks[i].dev,
		    disks[i].size, p, ebuf, sizeof(ebuf)) == -1)
			return -1;
	}
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	if ((w = bundle_writer_new(fd, &m, ebuf, sizeof(ebuf))) == NULL) {
		fprintf(stderr, "%s\n", ebuf);
		close(fd);
		return -1;
	}
	/* The image in odd pieces, as a save engine writes it. */
	for (size_t off = 0, n; off < IMAGE; off += n) {
		n = IMAGE - off < 7777 ? IMAGE - off : 7777;
		if (bundle_write_image(w, image + off, n) == -1)
			goto out;
	}
	for (unsigned i = 0; i < NDISKS; i++) {
		path_of(p, sizeof(p), disks[i].dev);
		if ((dfd = open(p, O_RDONLY)) == -1)
			goto out;
		if (bundle_add_disk(w, disks[i].dev, dfd) == -1) {
			close(dfd);
			goto out;
		}
		close(dfd);
	}
	rc = bundle_writer_close(w);
out:
	if (rc == -1)
		fprintf(stderr, "write: %s\n", bundle_writer_error(w));
	bundle_writer_free(w);
	close(fd);
	return rc;
}

/* What a reader is given, kept for comparison. */
struct got {
	unsigned char	*image;
	size_t		ilen;
	int		manifest;
	int		to_fd;
};

static int
on_manifest(void *arg, const struct bundle_manifest *m)
{
	struct got *g = arg;

	g->manifest = m->ndisks == NDISKS && strcmp(m->guest, "web1") == 0;
	return 0;
}

static int
on_image(void *arg, const void *p, size_t len)
{
	struct got *g = arg;

	if (g->ilen + len > IMAGE)
		return errno = EFBIG, -1;
	memcpy(g->image + g->ilen, p, len);
	g->ilen += len;
	return 0;
}

static int
on_disk_open(void *arg, unsigned i, const struct bundle_disk *d)
{
	struct got *g = arg;
	char p[128], name[64];

	if (!g->to_fd)
		return errno = 0, -1;
	snprintf(name, sizeof(name), "out-%s", d->device);
	path_of(p, sizeof(p), name);
	(void)i;
	return open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static const struct bundle_read_ops ops = {
	.manifest = on_manifest,
	.image = on_image,
	.disk_open = on_disk_open,
};

static int
read_path(const char *path, struct got *g, char *ebuf, size_t len)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	g->ilen = 0;
	rc = bundle_read(fd, &ops, g, NULL, ebuf, len);
	close(fd);
	return rc;
}

static int
same_file(const char *a, const char *b, int blocks)
{
	char cmd[512];
	struct stat sa, sb;

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	if (system(cmd) != 0 || stat(a, &sa) == -1 || stat(b, &sb) == -1)
		return 0;
	/* Holes kept: no more blocks than the original, give or take a
	 * file system's rounding of a run. */
	return !blocks || sb.st_blocks <= sa.st_blocks + 64;
}

static void
test_roundtrip(const char *b)
{
	struct got g = { .to_fd = 1 };
	struct bundle_stats st;
	char ebuf[BUNDLE_ERRLEN], a[128], o[128], name[64];
	int p[2], fd;
	pid_t pid;

	g.image = malloc(IMAGE);
	CHECK(read_path(b, &g, ebuf, sizeof(ebuf)) == 0, "read: %s", ebuf);
	CHECK(g.manifest, "manifest not handed over");
	CHECK(g.ilen == IMAGE && memcmp(g.image, image, IMAGE) == 0,
	    "image differs (%zu octets)", g.ilen);
	for (unsigned i = 0; i < NDISKS; i++) {
		path_of(a, sizeof(a), disks[i].dev);
		snprintf(name, sizeof(name), "out-%s", disks[i].dev);
		path_of(o, sizeof(o), name);
		CHECK(same_file(a, o, 1), "disk %s read back differs or "
		    "lost its holes", disks[i].dev);
	}

	/* From a pipe: nothing may seek. */
	if (pipe(p) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		char c[256];

		close(p[0]);
		snprintf(c, sizeof(c), "cat '%s' >&%d", b, p[1]);
		_exit(system(c) == 0 ? 0 : 1);
	}
	close(p[1]);
	g.ilen = 0;
	g.to_fd = 0;
	CHECK(bundle_read(p[0], &ops, &g, &st, ebuf, sizeof(ebuf)) == 0,
	    "read from a pipe: %s", ebuf);
	close(p[0]);
	waitpid(pid, NULL, 0);
	CHECK(g.ilen == IMAGE, "image from a pipe: %zu octets", g.ilen);
	CHECK(st.members == 1 + 3 + NDISKS + 1 && st.image_members == 3,
	    "members %u, image %u", st.members, st.image_members);
	CHECK(st.disk_octets == 73 * MiB && st.disk_data == 4096 + 65536 +
	    2 * MiB, "disk octets %llu, data %llu",
	    (unsigned long long)st.disk_octets,
	    (unsigned long long)st.disk_data);
	fd = open(b, O_RDONLY);
	CHECK(st.offset == (uint64_t)lseek(fd, 0, SEEK_END),
	    "offset %llu", (unsigned long long)st.offset);
	close(fd);
	free(g.image);
}

/* Both tars list it and extract it, image and disks, holes kept. */
static void
test_tars(const char *b)
{
	static const char *tars[] = { "tar", "bsdtar" };
	char cmd[1024], a[128], x[160], line[256];
	const char *want[] = { "MANIFEST", "image.000000", "image.000002",
	    "disk/vda", "disk/vdb", "disk/vdc", "SUMS" };
	unsigned seen;
	FILE *f;

	for (unsigned t = 0; t < 2; t++) {
		snprintf(cmd, sizeof(cmd), "%s tvf '%s'", tars[t], b);
		if ((f = popen(cmd, "r")) == NULL)
			abort();
		seen = 0;
		/* Each name ends a line of the listing. */
		while (fgets(line, sizeof(line), f) != NULL)
			for (unsigned i = 0; i < 7; i++) {
				size_t n = strlen(line), k = strlen(want[i]);

				if (n > k + 1 && line[n - 1] == '\n' &&
				    line[n - k - 2] == ' ' &&
				    strncmp(line + n - k - 1, want[i], k) == 0)
					seen |= 1u << i;
			}
		CHECK(pclose(f) == 0, "%s tvf failed", tars[t]);
		CHECK(seen == 0x7f, "%s tvf lists %#x of 0x7f", tars[t], seen);

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/x' && mkdir '%s/x' && "
		    "%s -xf '%s' -C '%s/x' && cat '%s'/x/image.* > "
		    "'%s/x/image'", dir, dir, tars[t], b, dir, dir, dir);
		CHECK(system(cmd) == 0, "%s -x failed", tars[t]);
		snprintf(x, sizeof(x), "%s/x/image", dir);
		snprintf(cmd, sizeof(cmd), "%s/image", dir);
		CHECK(same_file(cmd, x, 0), "%s: image differs", tars[t]);
		for (unsigned i = 0; i < NDISKS; i++) {
			path_of(a, sizeof(a), disks[i].dev);
			snprintf(x, sizeof(x), "%s/x/disk/%s", dir,
			    disks[i].dev);
			CHECK(same_file(a, x, 1), "%s: disk %s differs or "
			    "lost its holes", tars[t], disks[i].dev);
		}
	}
}

/* Read n octets of a bundle held in memory; the message into ebuf. */
static int
read_mem(const unsigned char *p, size_t n, char *ebuf, size_t len)
{
	int fd = memfd_create("bundle", MFD_CLOEXEC), rc;

	if (fd == -1 || io_writeall(fd, p, n) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	rc = bundle_read(fd, NULL, NULL, NULL, ebuf, len);
	close(fd);
	return rc;
}

static unsigned char *
slurp(const char *path, size_t *n)
{
	struct stat st;
	unsigned char *p;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1 ||
	    (p = malloc((size_t)st.st_size)) == NULL ||
	    io_readall(fd, p, (size_t)st.st_size) != st.st_size)
		abort();
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

static void
test_cut(const unsigned char *b, size_t n)
{
	char ebuf[BUNDLE_ERRLEN];
	size_t tail[] = { 1, 2, 511, 512, 513, 1023, 1024, 1025, 1536 };
	unsigned refused = 0, tries = 0;

	for (size_t off = 0; off < n; off += n / 97 + 1, tries++)
		refused += read_mem(b, off, ebuf, sizeof(ebuf)) == -1;
	for (unsigned i = 0; i < sizeof(tail) / sizeof(tail[0]); i++, tries++)
		refused += read_mem(b, n - tail[i], ebuf, sizeof(ebuf)) == -1;
	CHECK(refused == tries, "cut: %u of %u refused", refused, tries);
	CHECK(read_mem(b, n - 1, ebuf, sizeof(ebuf)) == -1 &&
	    strstr(ebuf, "cut short") != NULL, "cut in the end: %s", ebuf);
	CHECK(read_mem(b, n, ebuf, sizeof(ebuf)) == 0, "whole: %s", ebuf);
}

/* Where a member's data lies: found by its first octets. */
static size_t
find(const unsigned char *b, size_t n, const void *what, size_t len)
{
	const unsigned char *p = memmem(b, n, what, len);

	if (p == NULL)
		abort();
	return (size_t)(p - b);
}

static void
flip_one(unsigned char *b, size_t n, size_t off, const char *want)
{
	char ebuf[BUNDLE_ERRLEN];

	b[off] ^= 1;
	CHECK(read_mem(b, n, ebuf, sizeof(ebuf)) == -1 &&
	    strstr(ebuf, want) != NULL, "octet %zu flipped: expected \"%s\""
	    ", got \"%s\"", off, want, ebuf);
	b[off] ^= 1;
}

static void
test_flip(unsigned char *b, size_t n)
{
	static unsigned char buf[64];
	char want[64];

	/* "guest web1": a bad line, and a good line that is not what
	 * was written. */
	flip_one(b, n, find(b, n, "vmpipe-bundle 1", 15) + 17,
	    "MANIFEST line 2");
	flip_one(b, n, find(b, n, "vmpipe-bundle 1", 15) + 22,
	    "MANIFEST: digest mismatch");
	for (unsigned k = 0; k < 3; k++) {
		snprintf(want, sizeof(want), "image.%06u: digest mismatch", k);
		flip_one(b, n, find(b, n, image + k * CHUNK, 64) + 9, want);
	}
	for (unsigned i = 0; i < NDISKS; i++)
		for (unsigned j = 0; disks[i].data[j][1] != 0; j++) {
			fill(buf, sizeof(buf), i * 10 + j + 1);
			snprintf(want, sizeof(want), "disk/%s: digest mismatch",
			    disks[i].dev);
			flip_one(b, n, find(b, n, buf, sizeof(buf)) + 33,
			    want);
		}
	flip_one(b, n, find(b, n, "xxh3-64:", 8) + 8,
	    "MANIFEST: digest mismatch");
	/* A header: its checksum. */
	flip_one(b, n, 3, "not a bundle");
}

/* ---- crafted archives ---- */

/* The table below leaves out what its members do not need. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct m { const char *name; const char *data; size_t len; int type; };

static int
craft(const struct m *ms, unsigned n, char *ebuf, size_t len)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = open_memstream(&buf, &cap);
	int fd = memfd_create("craft", MFD_CLOEXEC), rc;

	if (a == NULL || f == NULL || fd == -1)
		abort();
	archive_write_set_format_pax(a);
	archive_write_open_fd(a, fd);
	for (unsigned i = 0; i < n; i++) {
		const char *d = ms[i].data;
		size_t l = ms[i].len ? ms[i].len : d ? strlen(d) : 0;

		/* "@SUMS": the right SUMS for what came before. */
		if (strcmp(ms[i].name, "@SUMS") == 0) {
			fflush(f);
			d = buf;
			l = cap;
		}
		e = archive_entry_new();
		archive_entry_set_pathname(e, ms[i].name[0] == '@' ?
		    ms[i].name + 1 : ms[i].name);
		archive_entry_set_filetype(e, ms[i].type ?
		    (unsigned)ms[i].type : AE_IFREG);
		if (ms[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, "MANIFEST");
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, ms[i].type == AE_IFLNK ? 0 :
		    (la_int64_t)l);
		archive_write_header(a, e);
		if (ms[i].type != AE_IFLNK && l > 0)
			archive_write_data(a, d, l);
		archive_entry_free(e);
		fprintf(f, "xxh3-64:%016llx  %zu  %s\n",
		    (unsigned long long)hash64(d, l), l,
		    ms[i].name[0] == '@' ? ms[i].name + 1 : ms[i].name);
	}
	archive_write_close(a);
	archive_write_free(a);
	fclose(f);
	free(buf);
	lseek(fd, 0, SEEK_SET);
	rc = bundle_read(fd, NULL, NULL, NULL, ebuf, len);
	close(fd);
	return rc;
}

#define MAN	"vmpipe-bundle 1\nguest web1\nchunk 4096\n"

static void
test_crafted(void)
{
	static char big[70000];
	char ebuf[BUNDLE_ERRLEN];
	static const struct {
		struct m m[5];
		unsigned n;
		const char *want;	/* NULL: whole */
	} c[] = {
		{ { { "MANIFEST", MAN }, { "image.000000", "x" },
		    { "@SUMS" } }, 3, NULL },
		{ { { "/MANIFEST", MAN } }, 1,
		    "expected MANIFEST, found \"/MANIFEST\"" },
		{ { { "MANIFEST", MAN }, { "../image.000000", "x" } }, 2,
		    "expected image.000000, found \"../image.000000\"" },
		{ { { "MANIFEST", MAN }, { "image.000000/../x", "x" } }, 2,
		    "expected image.000000, found" },
		{ { { "MANIFEST", MAN }, { "image.000000", NULL, 0,
		    AE_IFLNK } }, 2, "expected a regular file" },
		{ { { "MANIFEST", MAN "disk disk/../x x 10 /x\n" } }, 1,
		    "MANIFEST line 4" },
		{ { { "MANIFEST", MAN "disk /vda vda 10 /x\n" } }, 1,
		    "MANIFEST line 4: expected member disk/vda" },
		{ { { "MANIFEST", MAN }, { "image.000000", "x" } }, 2,
		    "expected SUMS, found the end of the archive" },
		{ { { "MANIFEST", MAN }, { "image.000000", "x" },
		    { "image.000001", "y" } }, 3,
		    "expected SUMS, found \"image.000001\"" },
		{ { { "MANIFEST", MAN }, { "image.000000", "x" },
		    { "@SUMS" }, { "junk", "z" } }, 4,
		    "expected the end of the archive after SUMS" },
		{ { { "MANIFEST", MAN }, { "image.000000", "x" },
		    { "SUMS", "xxh3-64:0000000000000000  1  image.000000\n" } },
		    3, "SUMS line 1: expected" },
		{ { { "MANIFEST", MAN }, { "image.000000", "x" },
		    { "SUMS", "" } }, 3, "SUMS: 0 lines, expected 2" },
		{ { { "MANIFEST", MAN }, { "image.000000", big, 4097 } }, 2,
		    "image.000000: 4097 octets, expected 1 to 4096" },
		{ { { "MANIFEST", big, 70000 } }, 1,
		    "MANIFEST: 70000 octets, expected at most 65536" },
		{ { { "MANIFEST", MAN }, { "image.000000", "x" },
		    { "disk/vda", "x" } }, 3,
		    "expected SUMS, found \"disk/vda\"" },
		{ { { "MANIFEST", MAN "disk disk/vda vda 1 /x\n" },
		    { "image.000000", "x" }, { "disk/vda", "xy" } }, 3,
		    "disk/vda: 2 octets, expected 1" },
	};

	memset(big, 'a', sizeof(big));
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int rc = craft(c[i].m, c[i].n, ebuf, sizeof(ebuf));

		if (c[i].want == NULL)
			CHECK(rc == 0, "crafted %u: %s", i, ebuf);
		else
			CHECK(rc == -1 && strstr(ebuf, c[i].want) != NULL,
			    "crafted %u: expected \"%s\", got \"%s\"", i,
			    c[i].want, rc ? ebuf : "whole");
	}
}

static void
test_manifest(void)
{
	static const char *bad[] = {
		"", "vmpipe-bundle 1\n", "vmpipe-bundle 2\nguest a\nchunk "
		"4096\n", MAN "disk disk/vda vda 0 /x\n",
		MAN "disk disk/vda vda 01 /x\n", MAN "disk disk/vda vda 1 x\n",
		MAN "disk disk/vda vdb 1 /x\n", MAN "disk disk/Vda Vda 1 /x\n",
		MAN "disk disk/vda vda 1 /x\ndisk disk/vda vda 1 /y\n",
		MAN "disk disk/vda vda 99999999999999999999 /x\n",
		MAN "disk disk/vda  vda 1 /x\n", MAN "disk disk/vda vda 1 /\x01\n",
		MAN "extra\n", "vmpipe-bundle 1\nguest a b\nchunk 4096\n",
		"vmpipe-bundle 1\nguest a\nchunk 4097\n",
		"vmpipe-bundle 1\nguest a\nchunk 4096 \n",
		"vmpipe-bundle 1\nguest a\nchunk 4096",
	};
	struct bundle_manifest m;
	char ebuf[BUNDLE_ERRLEN], *text;
	size_t len;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bundle_manifest_parse(&m, bad[i], strlen(bad[i]), ebuf,
		    sizeof(ebuf)) == -1, "bad manifest %u taken", i);
	CHECK(bundle_manifest_parse(&m, MAN "disk disk/vda vda 10 /a b\n",
	    strlen(MAN) + 26, ebuf, sizeof(ebuf)) == 0 && m.ndisks == 1 &&
	    strcmp(m.disk[0].path, "/a b") == 0, "good manifest: %s", ebuf);
	CHECK(bundle_manifest_format(&m, &text, &len, ebuf, sizeof(ebuf)) ==
	    0 && len == strlen(MAN) + 26 && memcmp(text, MAN "disk disk/vda "
	    "vda 10 /a b\n", len) == 0, "manifest written back differs");
	free(text);
}

static void
test_misuse(void)
{
	struct bundle_manifest m;
	struct bundle_writer *w;
	char ebuf[BUNDLE_ERRLEN], p[128];
	int fd = open("/dev/null", O_WRONLY), dfd;

	memset(&m, 0, sizeof(m));
	snprintf(m.guest, sizeof(m.guest), "web1");
	path_of(p, sizeof(p), "vda");
	bundle_disk_set(&m.disk[0], "vda", 64 * MiB, p, ebuf, sizeof(ebuf));
	bundle_disk_set(&m.disk[1], "vdb", 8 * MiB, p, ebuf, sizeof(ebuf));
	m.ndisks = 2;
	w = bundle_writer_new(fd, &m, ebuf, sizeof(ebuf));
	CHECK(w != NULL, "writer: %s", ebuf);
	if (w == NULL)
		return;
	dfd = open(p, O_RDONLY);
	CHECK(bundle_add_disk(w, "vda", dfd) == -1 && strstr(
	    bundle_writer_error(w), "no octets") != NULL, "empty image: %s",
	    bundle_writer_error(w));
	bundle_writer_free(w);
	w = bundle_writer_new(fd, &m, ebuf, sizeof(ebuf));
	bundle_write_image(w, "x", 1);
	CHECK(bundle_add_disk(w, "vdb", dfd) == -1 && strstr(
	    bundle_writer_error(w), "expected disk vda") != NULL,
	    "disk order: %s", bundle_writer_error(w));
	bundle_writer_free(w);
	w = bundle_writer_new(fd, &m, ebuf, sizeof(ebuf));
	bundle_write_image(w, "x", 1);
	CHECK(bundle_add_disk(w, "vda", dfd) == 0, "vda: %s",
	    bundle_writer_error(w));
	CHECK(bundle_add_disk(w, "vdb", dfd) == -1 && strstr(
	    bundle_writer_error(w), "the MANIFEST says") != NULL,
	    "disk size: %s", bundle_writer_error(w));
	bundle_writer_free(w);
	w = bundle_writer_new(fd, &m, ebuf, sizeof(ebuf));
	bundle_write_image(w, "x", 1);
	CHECK(bundle_writer_close(w) == -1 && strstr(bundle_writer_error(w),
	    "0 of 2 disks") != NULL, "close early: %s",
	    bundle_writer_error(w));
	bundle_writer_free(w);
	close(dfd);
	close(fd);
}

/*
 * A bundle over a connection (bundle_read_from()): its first block read
 * already, more to follow on the fd after the archive (a handover's go,
 * sent only once the reader is done), and a sender that goes silent.
 */
static void
test_stream(const unsigned char *data, size_t n)
{
	static const char go[] = "vmpipe-send: go\n";
	struct got g = { .to_fd = 0 };
	struct bundle_source src = { .stop_at_end = 1, .timeout_ms = 5000 };
	char ebuf[BUNDLE_ERRLEN], pre[512], after[64];
	int p[2], q[2], rc;
	pid_t pid;

	g.image = malloc(IMAGE);
	if (pipe(p) == -1 || pipe(q) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		char c;

		close(p[0]);
		close(q[1]);
		/* The go only once the reader said it is done. */
		if (io_writeall(p[1], data, n) == -1 || read(q[0], &c, 1) != 1 ||
		    io_writeall(p[1], go, strlen(go)) == -1)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	CHECK(io_readall(p[0], pre, sizeof(pre)) == sizeof(pre), "pre");
	src.fd = p[0];
	src.pre = pre;
	src.prelen = sizeof(pre);
	rc = bundle_read_from(&src, &ops, &g, NULL, ebuf, sizeof(ebuf));
	CHECK(rc == 0, "read up to the end of the archive: %s", ebuf);
	CHECK(g.manifest && g.ilen == IMAGE && memcmp(g.image, image,
	    IMAGE) == 0, "image read with a prefix differs (%zu)", g.ilen);
	/* What follows is left to the caller, whole. */
	if (write(q[1], "x", 1) != 1)
		abort();
	memset(after, 0, sizeof(after));
	CHECK(io_readall(p[0], after, sizeof(after)) == (ssize_t)strlen(go) &&
	    strcmp(after, go) == 0, "after the archive: '%s'", after);
	close(p[0]);
	close(q[1]);
	waitpid(pid, NULL, 0);

	/* Silence half-way: refused within the deadline, not waited on. */
	if (pipe(p) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(p[0]);
		if (io_writeall(p[1], data, n / 2) == -1)
			_exit(1);
		sleep(10);
		_exit(0);
	}
	close(p[1]);
	src.fd = p[0];
	src.pre = NULL;
	src.prelen = 0;
	src.timeout_ms = 1000;
	g.ilen = 0;
	uint64_t t0 = now_ns();

	rc = bundle_read_from(&src, &ops, &g, NULL, ebuf, sizeof(ebuf));
	CHECK(rc == -1 && strstr(ebuf, "no data for 1 s") != NULL &&
	    now_ns() - t0 < 5000000000ull, "a silent sender: %d '%s'", rc,
	    ebuf);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	free(g.image);
}

int
main(void)
{
	char b[128], cmd[256];
	unsigned char *data;
	size_t n;
	uint64_t t0;
	int fd;

	snprintf(dir, sizeof(dir), "%s/test_bundle.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	fill(image, sizeof(image), 99);
	path_of(b, sizeof(b), "image");
	if ((fd = open(b, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    io_writeall(fd, image, sizeof(image)) == -1)
		abort();
	close(fd);
	make_disks();
	path_of(b, sizeof(b), "b.tar");
	t0 = now_ns();
	CHECK(write_bundle(b) == 0, "write failed");
	fprintf(stderr, "test_bundle: wrote 73 MiB of disks (2 MiB of data) "
	    "and %d octets of image in %.1f ms\n", IMAGE,
	    (now_ns() - t0) / 1e6);

	test_roundtrip(b);
	test_tars(b);
	data = slurp(b, &n);
	test_stream(data, n);
	test_cut(data, n);
	test_flip(data, n);
	free(data);
	test_crafted();
	test_manifest();
	test_misuse();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		abort();
	printf("test_bundle: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
