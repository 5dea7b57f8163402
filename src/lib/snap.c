/*
 * snap.c: disk snapshots for consistent checkpoints (see snap.h).
 *
 * A reflink is one ioctl, whatever the disk's size, so it is tried
 * first.  The copy walks the file's data extents with SEEK_DATA and
 * SEEK_HOLE and moves each with copy_file_range(), in steps small enough
 * to look at the clock between them: a limit on the pause is kept to
 * within one step, and a copy that outruns it leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "snap.h"
#include "snap_lvm.h"

#define STEP	(8u << 20)	/* octets a copy moves between clock reads */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The FICLONE ioctl: dst shares src's extents.  0 or -1 (errno). */
static int
ioctl_ficlone(int dst, int src)
{
	return ioctl(dst, FICLONE, src);
}

/* Errors that mean "this file system (or pair) has no reflink". */
static int
no_reflink(int e)
{
	return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL ||
	    e == ENOSYS;
}

const char *
snap_how_name(enum snap_how how)
{
	return how == SNAP_REFLINK ? "reflink" : how == SNAP_LVM ?
	    "lvm snapshot" : "copy";
}

int
snap_can_reflink(const char *src, const char *dir, char *err)
{
	char probe[PATH_MAX];
	int sfd, dfd, r, e;

	if ((size_t)snprintf(probe, sizeof(probe), "%s/.vmpipe-reflink.%ld",
	    dir, (long)getpid()) >= sizeof(probe)) {
		snprintf(err, SNAP_ERRLEN, "%s: path too long", dir);
		return -1;
	}
	if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, SNAP_ERRLEN, "can't open %s: %s", src,
		    strerror(errno));
		return -1;
	}
	dfd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dfd == -1) {
		snprintf(err, SNAP_ERRLEN, "can't create %.200s: %s", probe,
		    strerror(errno));
		close(sfd);
		return -1;
	}
	r = ioctl_ficlone(dfd, sfd);
	e = errno;
	close(dfd);
	close(sfd);
	unlink(probe);
	if (r == 0)
		return 1;
	snprintf(err, SNAP_ERRLEN, "no reflink from %s to %s: %s", src, dir,
	    strerror(e));
	return no_reflink(e) ? 0 : -1;
}

/*
 * Copy the data extents of sfd (size octets) to dfd, holes kept (dfd is
 * sized first), until deadline (ms since boot, 0 none).  0, -1 with
 * errno, or -2 when the deadline passed.
 */
static int
copy_extents(int sfd, int dfd, uint64_t size, uint64_t deadline,
    uint64_t *copied)
{
	off_t at = 0, end;

	if (ftruncate(dfd, (off_t)size) == -1)
		return -1;
	while ((uint64_t)at < size) {
		if ((at = lseek(sfd, at, SEEK_DATA)) == -1)
			return errno == ENXIO ? 0 : -1;	/* holes to the end */
		if ((end = lseek(sfd, at, SEEK_HOLE)) == -1)
			return -1;
		while (at < end) {
			size_t n = end - at < STEP ? (size_t)(end - at) : STEP;
			off_t in = at, out = at;
			ssize_t k;

			if (deadline != 0 && now_ms() > deadline)
				return -2;
			k = copy_file_range(sfd, &in, dfd, &out, n, 0);
			if (k == -1 && errno == EINTR)
				continue;
			if (k == -1)
				return -1;
			if (k == 0) {		/* the file shrank under us */
				errno = EIO;
				return -1;
			}
			at += k;
			*copied += k;
		}
	}
	return 0;
}

int
snap_holdable(const char *src)
{
	struct lvm_lv lv;
	struct stat st;

	return stat(src, &st) == 0 && (S_ISREG(st.st_mode) ||
	    lvm_volume(src, &lv) == 1);
}

/* A logical volume: a snapshot volume in its group. */
static int
take_lvm(const struct lvm_lv *lv, const char *src, uint64_t t0,
    struct snap *s, char *err)
{
	char name[64], path[160];
	int fd;

	snprintf(name, sizeof(name), "%.32s-vmpipe-snap-%ld", lv->lv,
	    (long)getpid());
	if (lvm_snapshot(lv, name, path, sizeof(path), err) == -1)
		return -1;
	s->how = SNAP_LVM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (s->size = (uint64_t)lseek(fd, 0, SEEK_END)) == (uint64_t)-1 ||
	    (s->path = strdup(path)) == NULL) {
		snprintf(err, SNAP_ERRLEN, "snapshot %s of %s: %s", path, src,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		lvm_remove(path);
		return -1;
	}
	close(fd);
	s->ms = now_ms() - t0;
	return 0;
}

int
snap_take(const char *src, const char *dst, uint64_t max_ms, int no_copy,
    struct snap *s, char *err)
{
	struct stat st;
	struct lvm_lv lv;
	uint64_t t0 = now_ms();
	int sfd, dfd = -1, r;

	memset(s, 0, sizeof(*s));
	if (lvm_volume(src, &lv) == 1)
		return take_lvm(&lv, src, t0, s, err);
	if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, SNAP_ERRLEN, "can't open %s: %s", src,
		    strerror(errno));
		return -1;
	}
	if (fstat(sfd, &st) == -1) {
		snprintf(err, SNAP_ERRLEN, "%s: %s", src, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, SNAP_ERRLEN, "%s: neither a regular file nor "
		    "an LVM logical volume", src);
		goto fail;
	}
	s->size = st.st_size;
	dfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dfd == -1) {
		snprintf(err, SNAP_ERRLEN, "can't create %s: %s", dst,
		    strerror(errno));
		goto fail;
	}
	if (ioctl_ficlone(dfd, sfd) == 0) {
		s->how = SNAP_REFLINK;
	} else if (!no_reflink(errno)) {
		snprintf(err, SNAP_ERRLEN, "reflink of %s to %s: %s", src, dst,
		    strerror(errno));
		goto fail_dst;
	} else if (no_copy) {
		snprintf(err, SNAP_ERRLEN, "%s can't be cloned by reflink "
		    "to %s (%s), and a copy was not allowed", src, dst,
		    strerror(errno));
		goto fail_dst;
	} else {
		s->how = SNAP_COPY;
		r = copy_extents(sfd, dfd, s->size,
		    max_ms ? t0 + max_ms : 0, &s->copied);
		if (r == -2) {
			snprintf(err, SNAP_ERRLEN, "copying %s (no reflink "
			    "here) took more than the pause allowed, %llu "
			    "ms, with %llu of %llu octets done", src,
			    (unsigned long long)max_ms,
			    (unsigned long long)s->copied,
			    (unsigned long long)s->size);
			goto fail_dst;
		}
		if (r == -1) {
			snprintf(err, SNAP_ERRLEN, "copying %s to %s: %s", src,
			    dst, strerror(errno));
			goto fail_dst;
		}
	}
	/* No fsync: the snapshot lives only until it has been read, and a
	 * flush would lengthen the pause by the whole copy's write-back. */
	if (close(dfd) == -1) {
		dfd = -1;
		snprintf(err, SNAP_ERRLEN, "%s: %s", dst, strerror(errno));
		goto fail_dst;
	}
	close(sfd);
	if ((s->path = strdup(dst)) == NULL) {
		unlink(dst);
		snprintf(err, SNAP_ERRLEN, "out of memory");
		return -1;
	}
	s->ms = now_ms() - t0;
	return 0;
fail_dst:
	if (dfd != -1)
		close(dfd);
	unlink(dst);
fail:
	close(sfd);
	return -1;
}

int
snap_drop(struct snap *s)
{
	int r = 0;

	if (s->path != NULL && s->how == SNAP_LVM)
		r = lvm_remove(s->path);
	else if (s->path != NULL && unlink(s->path) == -1 && errno != ENOENT)
		r = -1;
	free(s->path);
	s->path = NULL;
	return r;
}
