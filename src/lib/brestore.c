/*
 * brestore.c: a bundle restored (see brestore.h).
 *
 * Pass one writes each disk into DEST.vmpipe-new.PID beside its place,
 * created exclusively, so that nothing that exists is touched before
 * the bundle has checked whole; pass two hands the image to the restore
 * engine through a pipe, from a thread, as it is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "admit.h"
#include "brestore.h"
#include "bundle.h"
#include "io.h"
#include "vis.h"

struct br {
	const struct brestore_opts *bo;
	unsigned	 ndisks;
	char		 dest[BUNDLE_DISKS_MAX][PATH_MAX];
	char		 tmp[BUNDLE_DISKS_MAX][PATH_MAX];
	int		 fd[BUNDLE_DISKS_MAX];
	char		 why[1024];
	/* pass two */
	int		 bfd, wfd, rc;
	char		 err[BUNDLE_ERRLEN];
};

/* Disk dev's place path refused: what was expected there. */
static int
refuse(struct br *b, const char *dev, const char *path, const char *what)
{
	char shown[256];

	vis_text(shown, sizeof(shown), path, strlen(path), 0);
	snprintf(b->why, sizeof(b->why), "disk %s: \"%s\": %s", dev, shown,
	    what);
	errno = EPERM;
	return -1;
}

/* The MANIFEST: each disk's place judged, and a new file beside it. */
static int
on_manifest(void *arg, const struct bundle_manifest *m)
{
	struct br *b = arg;
	struct vmp_admit a;
	struct stat st;

	if (vmp_admit_load(&a, b->why, sizeof(b->why)) == -1) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < m->ndisks; i++) {
		const struct bundle_disk *d = &m->disk[i];
		char base[PATH_MAX];
		int n;

		snprintf(base, sizeof(base), "%s", d->path);
		n = b->bo->disk_dir != NULL ?
		    snprintf(b->dest[i], PATH_MAX, "%s/%s", b->bo->disk_dir,
		    basename(base)) :
		    snprintf(b->dest[i], PATH_MAX, "%s", d->path);
		if (n >= PATH_MAX - 32) {
			vmp_admit_free(&a);
			return refuse(b, d->device, b->dest[i],
			    "expected a shorter path");
		}
		snprintf(b->tmp[i], PATH_MAX, "%s.vmpipe-new.%ld", b->dest[i],
		    (long)getpid());
		if (!vmp_admit_disk(&a, b->dest[i])) {
			char what[600];

			snprintf(what, sizeof(what), "expected a path under a "
			    "disk-prefix of %s (%s)", vmp_admit_path(),
			    a.ndisk ? "see there" : "none is set");
			vmp_admit_free(&a);
			return refuse(b, d->device, b->dest[i], what);
		}
		/* A device (a logical volume, say) is not replaced by a
		 * file, nor written in place before the bundle checks. */
		if (stat(b->dest[i], &st) == 0 && !S_ISREG(st.st_mode)) {
			vmp_admit_free(&a);
			return refuse(b, d->device, b->dest[i], "expected a "
			    "file or nothing there, found a device or "
			    "directory: a bundle's disk is put in place as a "
			    "file (--disk-dir gives it a place)");
		}
		if (!b->bo->replace && lstat(b->dest[i], &st) == 0) {
			vmp_admit_free(&a);
			return refuse(b, d->device, b->dest[i], "expected no "
			    "file there, found one (it may be a running "
			    "guest's disk; --replace-disks replaces it)");
		}
		b->fd[i] = open(b->tmp[i], O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (b->fd[i] == -1) {
			snprintf(b->why, sizeof(b->why), "disk %s: can't "
			    "create %s: %s", d->device, b->tmp[i],
			    strerror(errno));
			vmp_admit_free(&a);
			return -1;
		}
		b->ndisks = i + 1;
	}
	vmp_admit_free(&a);
	return 0;
}

static int
on_disk_open(void *arg, unsigned i, const struct bundle_disk *d)
{
	struct br *b = arg;

	(void)d;
	if (i >= b->ndisks) {
		errno = EINVAL;
		return -1;
	}
	return b->fd[i];
}

/* Pass two's thread: the image into the pipe to the restore engine. */
static int
on_image(void *arg, const void *p, size_t len)
{
	struct br *b = arg;

	return io_writeall(b->wfd, p, len);
}

static void *
pass_two(void *arg)
{
	static const struct bundle_read_ops ops = { .image = on_image };
	struct br *b = arg;

	b->rc = bundle_read(b->bfd, &ops, b, NULL, b->err, sizeof(b->err));
	close(b->wfd);
	return NULL;
}

static void
unmake(struct br *b)
{
	for (unsigned i = 0; i < b->ndisks; i++) {
		if (b->fd[i] != -1)
			close(b->fd[i]);
		b->fd[i] = -1;
		unlink(b->tmp[i]);
	}
}

int
bundle_restore(int fd, const struct brestore_opts *bo,
    struct restore_opts *ro, struct restore_result *res, char *err,
    size_t errlen)
{
	static const struct bundle_read_ops ops1 = {
		.manifest = on_manifest, .disk_open = on_disk_open,
	};
	struct br *b;
	const char *paths[BUNDLE_DISKS_MAX];
	pthread_t t;
	int p[2], r;

	memset(res, 0, sizeof(*res));
	res->code = RESTORE_BAD_INPUT;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		res->code = RESTORE_FAILED;
		return -1;
	}
	b->bo = bo;
	for (unsigned i = 0; i < BUNDLE_DISKS_MAX; i++)
		b->fd[i] = -1;
	if (bundle_read(fd, &ops1, b, NULL, b->err, sizeof(b->err)) == -1) {
		snprintf(err, errlen, "%s; no disk was put in place",
		    b->why[0] ? b->why : b->err);
		if (b->why[0])
			res->code = RESTORE_REFUSED;
		unmake(b);
		free(b);
		return -1;
	}
	/* Whole: the disks take their places. */
	for (unsigned i = 0; i < b->ndisks; i++) {
		if (fsync(b->fd[i]) == -1 || rename(b->tmp[i], b->dest[i]) ==
		    -1) {
			snprintf(err, errlen, "disk %s: %s", b->dest[i],
			    strerror(errno));
			res->code = RESTORE_FAILED;
			unmake(b);
			free(b);
			return -1;
		}
		close(b->fd[i]);
		b->fd[i] = -1;
		paths[i] = b->dest[i];
	}
	ro->disk_paths = paths;
	ro->ndisk_paths = b->ndisks;

	if (lseek(fd, 0, SEEK_SET) == -1 || pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "bundle: %s (a bundle is restored from "
		    "a file)", strerror(errno));
		res->code = RESTORE_FAILED;
		free(b);
		return -1;
	}
	b->bfd = fd;
	b->wfd = p[1];
	if ((errno = pthread_create(&t, NULL, pass_two, b)) != 0) {
		snprintf(err, errlen, "thread: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		res->code = RESTORE_FAILED;
		free(b);
		return -1;
	}
	r = restore_stream(p[0], ro, res, err, errlen);
	/* A restore that stopped reading: the thread's writes fail. */
	close(p[0]);
	pthread_join(t, NULL);
	if (r == 0 && b->rc == -1) {
		snprintf(err, errlen, "%s", b->err);
		r = -1;
	}
	ro->disk_paths = NULL;
	ro->ndisk_paths = 0;
	free(b);
	return r;
}
