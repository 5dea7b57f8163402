/*
 * bfeed.c: a receive of a bundle (vm-bundle(5)): a guest that brings
 * its disks, for a migration without shared storage.
 *
 * The bundle is read once, as it comes, by a feeder thread: the MANIFEST
 * first, whose disks are placed under the policy's disk-dir (recv.conf)
 * as new files, created exclusively and made their size at once, so that
 * the guest can be made with them; then the image, passed through a pipe
 * to the restore engine, which makes the guest paused; then each disk,
 * written into its file while that guest stays paused; then SUMS.  Only
 * a bundle that checked whole (and whose disks are on stable storage)
 * lets the receive say `prepared', or resume anything: until then the
 * disks are data of a guest that does not run.
 *
 * The receive (receive.c) waits on the feeder's state; the feeder knows
 * nothing of the back channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "bundle.h"
#include "io.h"
#include "bfeed.h"
#include "vis.h"
#include "xfer.h"

static void
set_state(struct bfeed *b, int state)
{
	pthread_mutex_lock(&b->mu);
	b->state = state;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static int
refuse(struct bfeed *b, const char *fmt, const char *dev, const char *path,
    const char *what)
{
	char shown[256];

	vis_text(shown, sizeof shown, path, strlen(path), 0);
	snprintf(b->err, sizeof b->err, fmt, dev, shown, what);
	b->refused = 1;
	errno = EPERM;
	return -1;
}

/* The MANIFEST: the guest's name, and a new file for each disk. */
static int
on_manifest(void *arg, const struct bundle_manifest *m)
{
	struct bfeed *b = arg;
	struct vmp_admit a;
	int rc = -1;

	snprintf(b->guest, sizeof b->guest, "%s", m->guest);
	if (vmp_admit_load(&a, b->err, sizeof b->err) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (m->ndisks > 0 && a.disk_dir == NULL) {
		snprintf(b->err, sizeof b->err, "guest %s brings %u disk%s, "
		    "and this host takes none: no disk-dir in %s",
		    m->guest, m->ndisks, m->ndisks == 1 ? "" : "s",
		    vmp_admit_path());
		b->refused = 1;
		goto out;
	}
	for (unsigned i = 0; i < m->ndisks; i++) {
		const struct bundle_disk *d = &m->disk[i];
		char base[BUNDLE_PATH_MAX + 1];

		snprintf(base, sizeof base, "%s", d->path);
		if ((size_t)snprintf(b->path[i], sizeof b->path[i], "%s/%s",
		    a.disk_dir, basename(base)) >= sizeof b->path[i]) {
			refuse(b, "disk %s: \"%s\": %s", d->device, d->path,
			    "expected a shorter name");
			goto out;
		}
		if (!vmp_admit_disk(&a, b->path[i])) {
			refuse(b, "disk %s: \"%s\": expected a place under a "
			    "disk-prefix of %s (the disk-dir is not under one)",
			    d->device, b->path[i], vmp_admit_path());
			goto out;
		}
		/* Never over a file that is there: it may be the disk of a
		 * guest of this host. */
		b->fd[i] = open(b->path[i], O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (b->fd[i] == -1) {
			if (errno == EEXIST)
				refuse(b, "disk %s: \"%s\": %s", d->device,
				    b->path[i], "expected no file there, found "
				    "one (a disk of a guest of this host?)");
			else
				snprintf(b->err, sizeof b->err, "disk %s: "
				    "can't create %s: %s", d->device,
				    b->path[i], strerror(errno));
			goto out;
		}
		b->ndisks = i + 1;
		b->paths[i] = b->path[i];
		if (ftruncate(b->fd[i], (off_t)d->size) == -1) {
			snprintf(b->err, sizeof b->err, "disk %s: can't make "
			    "%s %llu octets: %s", d->device, b->path[i],
			    (unsigned long long)d->size, strerror(errno));
			goto out;
		}
	}
	rc = 0;
	set_state(b, BFEED_MANIFEST);
out:
	vmp_admit_free(&a);
	if (rc == -1 && errno == 0)
		errno = EPERM;
	return rc;
}

/* The image's octets, into the restore's pipe.  Its first records are
 * scanned on the way, as a receive scans an image's: the backend they
 * name is the guardian's to know before the restore makes the guest. */
static int
on_image(void *arg, const void *p, size_t len)
{
	struct bfeed *b = arg;

	if (b->state == BFEED_MANIFEST) {
		b->scanned += xfer_scan(&b->scan, p, len);
		if (b->scan.done || b->scan.failed ||
		    b->scanned >= XFER_BUFSZ)
			set_state(b, BFEED_IMAGE);
	}
	return io_writeall(b->out, p, len);
}

static int
on_disk_open(void *arg, unsigned i, const struct bundle_disk *d)
{
	struct bfeed *b = arg;

	(void)d;
	if (i >= b->ndisks) {
		errno = EINVAL;
		return -1;
	}
	return b->fd[i];
}

/* What follows the bundle (a handover's go), passed on as it comes;
 * zeros before it are a tar writer's blocking, the archive's. */
static void
pass_rest(struct bfeed *b)
{
	char buf[512];
	int lead = 1;

	for (;;) {
		ssize_t n, i = 0;

		if (io_wait_readable(b->in, b->timeout_ms) == 0) {
			b->idle = 1;
			return;
		}
		if ((n = read(b->in, buf, sizeof buf)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		while (lead && i < n && buf[i] == '\0')
			i++;
		lead = lead && i == n;
		if (io_writeall(b->out, buf + i, n - i) < 0)
			return;
	}
}

static void *
feed(void *arg)
{
	static const struct bundle_read_ops ops = {
		.manifest = on_manifest,
		.image = on_image,
		.disk_open = on_disk_open,
	};
	struct bfeed *b = arg;
	struct bundle_source src = {
		.fd = b->in, .pre = b->pre, .prelen = b->prelen,
		.timeout_ms = b->timeout_ms, .stop_at_end = 1,
	};
	char err[BUNDLE_ERRLEN];
	int ok;

	xfer_scan_init(&b->scan);
	ok = bundle_read_from(&src, &ops, b, &b->st, err, sizeof err) == 0;
	if (!ok && b->err[0] == '\0')
		snprintf(b->err, sizeof b->err, "%s", err);
	/* The disks are to outlive a crash of this host once the source
	 * may be destroyed. */
	for (unsigned i = 0; i < b->ndisks; i++) {
		if (ok && fsync(b->fd[i]) == -1) {
			snprintf(b->err, sizeof b->err, "disk %s: %s",
			    b->path[i], strerror(errno));
			ok = 0;
		}
		close(b->fd[i]);
		b->fd[i] = -1;
	}
	set_state(b, ok ? BFEED_WHOLE : BFEED_FAILED);
	if (ok)
		pass_rest(b);
	close(b->out);
	return NULL;
}

int
bfeed_start(struct bfeed *b)
{
	pthread_t th;

	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	for (unsigned i = 0; i < BUNDLE_DISKS_MAX; i++)
		b->fd[i] = -1;
	if ((errno = pthread_create(&th, NULL, feed, b)) != 0)
		return -1;
	pthread_detach(th);
	return 0;
}

int
bfeed_wait(struct bfeed *b, int past)
{
	int st;

	pthread_mutex_lock(&b->mu);
	while (b->state <= past && b->state != BFEED_FAILED)
		pthread_cond_wait(&b->cv, &b->mu);
	st = b->state;
	pthread_mutex_unlock(&b->mu);
	return st;
}

void
bfeed_unmake(struct bfeed *b)
{
	/* Created exclusively by this receive: nobody else's. */
	for (unsigned i = 0; i < b->ndisks; i++)
		(void)unlink(b->path[i]);
}
