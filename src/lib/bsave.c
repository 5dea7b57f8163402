/*
 * bsave.c: a guest and its disks saved as one bundle (see bsave.h).
 *
 * The save engine writes the image into a pipe, and a thread moves it
 * into the bundle's image members as it comes: the engine needs no
 * change to write into a bundle, and nothing is staged but the bundle
 * writer's one chunk.
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

#include "bsave.h"
#include "bundle.h"
#include "io.h"

struct bs {
	const struct hv_ops	*ops;
	struct hv_guest		*g;
	const struct bsave_opts	*bo;
	struct bsave_result	*br;
	struct bundle_writer	*w;
	int			 rfd;		/* the image pipe's reader */
	int			 pump_rc;
	int			 keep;		/* a checkpoint: disks held */
};

static void *
pump(void *arg)
{
	struct bs *b = arg;

	b->pump_rc = bundle_pump_image(b->w, b->rfd);
	/* Whatever happened, the engine must not block on a full pipe. */
	close(b->rfd);
	b->rfd = -1;
	return NULL;
}

static void
drop_snaps(struct bsave_result *br)
{
	for (unsigned i = 0; i < br->ndisks; i++)
		if (br->snap[i].path != NULL)
			(void)snap_drop(&br->snap[i]);
}

/*
 * The guest is suspended: each disk held at this instant, beside itself
 * (a reflink needs the same file system), or none at all.
 */
static int
snap_all(void *arg, char *why, size_t len)
{
	struct bs *b = arg;
	char err[SNAP_ERRLEN], dir[PATH_MAX], base[PATH_MAX], dst[PATH_MAX];

	for (unsigned i = 0; i < b->br->ndisks; i++) {
		const char *src = b->br->disk[i].path;

		snprintf(dir, sizeof(dir), "%s", src);
		snprintf(base, sizeof(base), "%s", src);
		if ((size_t)snprintf(dst, sizeof(dst), "%s/.%s.vmpipe-snap.%ld",
		    dirname(dir), basename(base), (long)getpid()) >=
		    sizeof(dst) ||
		    snap_take(src, dst, b->bo->max_pause_ms, b->bo->no_copy,
		    &b->br->snap[i], err) == -1) {
			snprintf(why, len, "disk %s: %s", b->br->disk[i].device,
			    err);
			drop_snaps(b->br);
			return -1;
		}
	}
	return 0;
}

/* The disks and their sizes, into the manifest. */
static int
manifest(struct bs *b, struct bundle_manifest *m, char *err, size_t len)
{
	struct hv_info info;
	void *cfg = NULL;
	size_t cfglen = 0;
	int n;

	memset(m, 0, sizeof(*m));
	if (b->ops->config_disks == NULL) {
		snprintf(err, len, "backend %s lists no disks: its guests are "
		    "saved as images, not bundles", b->ops->name);
		return -1;
	}
	if (b->ops->describe(b->g, &info) == -1 ||
	    b->ops->get_config(b->g, &cfg, &cfglen) == -1) {
		snprintf(err, len, "%s", hv_strerror());
		return -1;
	}
	n = b->ops->config_disks(cfg, cfglen, b->br->disk, BSAVE_DISKS);
	free(cfg);
	if (n == -1) {
		snprintf(err, len, "%s", hv_strerror());
		return -1;
	}
	b->br->ndisks = n;
	snprintf(m->guest, sizeof(m->guest), "%s", info.name);
	m->ndisks = n;
	for (int i = 0; i < n; i++) {
		const struct hv_disk *d = &b->br->disk[i];
		struct stat st;
		int fd;
		off_t size;

		if ((fd = open(d->path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(fd, &st) == -1) {
			snprintf(err, len, "disk %s: %s: %s", d->device,
			    d->path, strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		size = S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) :
		    st.st_size;
		close(fd);
		/* A device other than a logical volume can't be held: its
		 * copy would land in /dev.  Said before the guest is paused. */
		if (b->keep && !snap_holdable(d->path)) {
			snprintf(err, len, "disk %s: %s is neither a file nor "
			    "an LVM logical volume: a checkpoint holds only "
			    "those at its instant (by reflink or copy, by a "
			    "snapshot volume); save it without --keep, the "
			    "guest paused while the disk is read", d->device,
			    d->path);
			return -1;
		}
		if (bundle_disk_set(&m->disk[i], d->device, (uint64_t)size,
		    d->path, err, len) == -1)
			return -1;
	}
	return 0;
}

/* The disks into the bundle: the snapshots, or the disks themselves. */
static int
add_disks(struct bs *b, int keep, char *err, size_t len)
{
	for (unsigned i = 0; i < b->br->ndisks; i++) {
		const char *p = keep ? b->br->snap[i].path : b->br->disk[i].path;
		int fd = open(p, O_RDONLY | O_CLOEXEC);

		if (fd == -1) {
			snprintf(err, len, "disk %s: %s: %s",
			    b->br->disk[i].device, p, strerror(errno));
			return -1;
		}
		if (bundle_add_disk(b->w, b->br->disk[i].device, fd) == -1) {
			close(fd);
			snprintf(err, len, "%s", bundle_writer_error(b->w));
			return -1;
		}
		close(fd);
		if (keep)
			(void)snap_drop(&b->br->snap[i]);
	}
	return 0;
}

/* After the image: the disks, SUMS, and the file on disk. */
static int
finish(struct bs *b, int keep, int fd, int sync, char *err, size_t len)
{
	if (add_disks(b, keep, err, len) == -1)
		return -1;
	if (bundle_writer_close(b->w) == -1) {
		snprintf(err, len, "%s", bundle_writer_error(b->w));
		return -1;
	}
	if (sync && fsync(fd) == -1) {
		snprintf(err, len, "fsync: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
bundle_save(const struct hv_ops *ops, struct hv_guest *g, int fd,
    const struct save_opts *so, const struct bsave_opts *bo,
    struct save_result *res, struct bsave_result *br)
{
	int keep = so->then == SAVE_RESUME, p[2], r;
	struct bs b = { .ops = ops, .g = g, .bo = bo, .br = br, .rfd = -1,
	    .keep = keep };
	struct bundle_manifest m;
	struct save_opts o = *so;
	char err[BUNDLE_ERRLEN];
	pthread_t t;

	memset(br, 0, sizeof(*br));
	memset(res, 0, sizeof(*res));
	res->outcome = SAVE_RUNNING;
	if (manifest(&b, &m, err, sizeof(err)) == -1 ||
	    (b.w = bundle_writer_new(fd, &m, err, sizeof(err))) == NULL) {
		snprintf(res->err, sizeof(res->err), "%.*s",
		    (int)sizeof(res->err) - 1, err);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(res->err, sizeof(res->err), "pipe: %s",
		    strerror(errno));
		bundle_writer_free(b.w);
		return -1;
	}
	io_pipe_grow(p[1]);
	b.rfd = p[0];
	if ((errno = pthread_create(&t, NULL, pump, &b)) != 0) {
		snprintf(res->err, sizeof(res->err), "thread: %s",
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		bundle_writer_free(b.w);
		return -1;
	}
	o.sync = 0;
	if (!keep)
		o.then = SAVE_LEAVE_PAUSED;	/* destroyed once all is out */
	else {
		o.suspended = snap_all;
		o.suspended_arg = &b;
	}
	r = save_guest(ops, g, p[1], &o, res);
	close(p[1]);
	pthread_join(t, NULL);
	if (r == 0 && b.pump_rc == -1) {
		snprintf(res->err, sizeof(res->err), "%s",
		    bundle_writer_error(b.w));
		r = -1;
	}
	if (r == 0 && finish(&b, keep, fd, so->sync, err, sizeof(err)) == -1) {
		snprintf(res->err, sizeof(res->err), "%.*s",
		    (int)sizeof(res->err) - 1, err);
		r = -1;
	}
	br->octets = bundle_writer_offset(b.w);
	bundle_writer_free(b.w);
	drop_snaps(br);
	if (keep)
		return r;		/* the engine resumed the guest */
	/* The guest is still paused: resumed on failure, else as asked.
	 * (res->touched is the engine's: a save refused before it began
	 * never paused the guest, and says so.) */
	if (r == -1 || res->outcome != SAVE_PAUSED) {
		if (res->outcome == SAVE_PAUSED && ops->resume(g) == 0)
			res->outcome = SAVE_RUNNING;
		return -1;
	}
	if (so->then == SAVE_DESTROY) {
		if (ops->destroy(g) == 0) {
			res->outcome = SAVE_DESTROYED;
		} else {
			res->then_failed = 1;
			snprintf(res->err, sizeof(res->err), "%s",
			    hv_strerror());
		}
	}
	return 0;
}
