/*
 * bundle.c: vm-inspect on a bundle (vm-bundle(5)).  The bundle is read
 * in a thread of its own, which passes the image's octets through a pipe
 * to the image reader that vm-inspect runs on a plain image, so a bundle
 * is checked as it streams and its image is described as any other.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "exits.h"
#include "inspect.h"
#include "io.h"
#include "vis.h"

#define BLOCK	512

/* ---- keeping the first block of a stream that can't seek ---- */

struct feed {
	int		in, out;
	unsigned char	head[BLOCK];
	size_t		len;
};

/*
 * Give the pipe what was read, then the rest of the input, copied.  Not
 * by splice(2): a saver lends the guest's pages to its pipe (vmsplice)
 * and lets the guest run on once that pipe is empty, so the pages must
 * be copied out of it, not moved on by reference into another pipe.
 */
static void *
feeder(void *arg)
{
	struct feed *f = arg;
	unsigned char *buf = NULL;
	ssize_t n;

	if (io_writeall(f->out, f->head, f->len) == -1)
		goto out;
	if ((buf = malloc(1 << 20)) == NULL)
		goto out;
	while ((n = read(f->in, buf, 1 << 20)) > 0 ||
	    (n == -1 && errno == EINTR))
		if (n > 0 && io_writeall(f->out, buf, (size_t)n) == -1)
			break;
out:
	free(buf);
	close(f->out);
	close(f->in);
	free(f);
	return NULL;
}

int
sniff_bundle(int fd, int *bundle)
{
	struct feed *f;
	pthread_t t;
	off_t at;
	ssize_t n;
	int p[2];

	/* A file: look, and leave the offset where it was. */
	if ((at = lseek(fd, 0, SEEK_CUR)) != -1) {
		unsigned char head[BLOCK];

		if ((n = io_preadall(fd, head, sizeof(head), at)) == -1)
			return -1;
		*bundle = bundle_sniff(head, (size_t)n);
		return fd;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if ((n = io_readall(fd, f->head, sizeof(f->head))) == -1 ||
	    pipe2(p, O_CLOEXEC) == -1) {
		free(f);
		return -1;
	}
	*bundle = bundle_sniff(f->head, (size_t)n);
	f->len = (size_t)n;
	f->in = fd;
	f->out = p[1];
	io_pipe_grow(p[1]);
	if ((errno = pthread_create(&t, NULL, feeder, f)) != 0) {
		close(p[0]);
		close(p[1]);
		free(f);
		return -1;
	}
	pthread_detach(t);
	return p[0];
}

/* ---- the bundle ---- */

struct bctx {
	int			fd;		/* the bundle */
	int			out;		/* the image's pipe */
	int			gone;		/* the image reader stopped */
	int			rc;
	struct bundle_stats	st;
	char			msg[BUNDLE_ERRLEN];
};

static void
put_vis(const char *s)
{
	char v[4 * BUNDLE_PATH_MAX + 1];

	vis_text(v, sizeof(v), s, strlen(s), 0);
	fputs(v, stdout);
}

/* The MANIFEST comes before any image octet, so what is printed here
 * precedes the image's description. */
static int
on_manifest(void *arg, const struct bundle_manifest *m)
{
	(void)arg;
	if (quiet)
		return 0;
	printf("bundle guest: %s, image in members of %llu octets, %u "
	    "disk%s\n", m->guest, (unsigned long long)m->chunk, m->ndisks,
	    m->ndisks == 1 ? "" : "s");
	for (unsigned i = 0; i < m->ndisks; i++) {
		printf("disk: %s, %llu octets, from ", m->disk[i].device,
		    (unsigned long long)m->disk[i].size);
		put_vis(m->disk[i].path);
		putchar('\n');
	}
	fflush(stdout);
	return 0;
}

/* Once the image reader has stopped (at END, or at a fault it will
 * report), the rest of the bundle is still checked, its image
 * octets dropped. */
static int
on_image(void *arg, const void *p, size_t len)
{
	struct bctx *b = arg;

	if (b->gone)
		return 0;
	if (io_writeall(b->out, p, len) == -1) {
		if (errno != EPIPE)
			return -1;
		b->gone = 1;
	}
	return 0;
}

static void *
reader(void *arg)
{
	static const struct bundle_read_ops ops = {
		.manifest = on_manifest,
		.image = on_image,
	};
	struct bctx *b = arg;

	b->rc = bundle_read(b->fd, &ops, b, &b->st, b->msg, sizeof(b->msg));
	close(b->out);
	return NULL;
}

int
inspect_bundle(int fd, const char *path)
{
	struct bctx b;
	char msg[BUNDLE_ERRLEN];
	pthread_t t;
	int p[2], irc;

	memset(&b, 0, sizeof(b));
	/* A write to the image's pipe after its reader stopped is EPIPE,
	 * not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC) == -1)
		err(VMP_EX_FAIL, "pipe");
	io_pipe_grow(p[1]);
	b.fd = fd;
	b.out = p[1];
	if (!quiet)
		printf("bundle: %s, format vmpipe-bundle 1\n", path);
	if ((errno = pthread_create(&t, NULL, reader, &b)) != 0)
		err(VMP_EX_FAIL, "pthread_create");
	irc = inspect_image(p[0], "in the bundle", 1, msg, sizeof(msg));
	close(p[0]);
	pthread_join(t, NULL);
	/* The bundle's fault first: a cut or damaged member is what an
	 * image reader that ran dry would only have guessed at. */
	if (b.rc == -1)
		errx(VMP_EX_FAIL, "%s: %s", path, b.msg);
	if (irc == -1)
		errx(VMP_EX_FAIL, "%s: image: %s", path, msg);
	if (!quiet) {
		printf("bundle: %u members, %u of the image (%llu octets); "
		    "disks: %llu octets, %llu of them data; archive: %llu "
		    "octets\n", b.st.members, b.st.image_members,
		    (unsigned long long)b.st.image_octets,
		    (unsigned long long)b.st.disk_octets,
		    (unsigned long long)b.st.disk_data,
		    (unsigned long long)b.st.offset);
		printf("status: whole: every checksum and the END digest "
		    "match, and every member's digest matches SUMS\n");
	}
	return VMP_EX_OK;
}
