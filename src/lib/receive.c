/*
 * receive.c: one receive.  The image's preamble is read here first, so
 * that the guest's name is known before the restore starts: it names the
 * `ready' line and the lock that keeps two streams for one guest from
 * racing on this host.  A feeder thread then passes the preamble and the
 * rest of the input through a pipe to restore_stream(), splicing where
 * the kernel allows, so the extra hop costs no copy in user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exits.h"
#include "hv.h"
#include "io.h"
#include "bfeed.h"
#include "guard.h"
#include "names.h"
#include "receive.h"
#include "restore.h"
#include "xfer.h"

struct feeder {
	int		 in, out;
	const char	*pre;		/* octets already read from in */
	size_t		 prelen;
	int		 timeout_ms;	/* of silence from the sender */
	volatile int	 idle;		/* it ended the input for silence */
};

struct verdict {
	int		 out;		/* the back channel */
	int		 in;		/* the restore's input: the go line */
	const char	*name;
	int		 refused;
	int		 acked;
	int		 handover;
	int		 timeout_ms;
	int		 prepared;	/* said `prepared' */
	volatile int	*idle;		/* the feeder's: the sender went silent */
	struct guard	*guard;
	struct bfeed	*bundle;	/* a bundle's feeder, or NULL */
};

static void __attribute__((format(printf, 2, 3)))
say(int out, const char *fmt, ...)
{
	char line[XFER_LINE_MAX + 2];
	va_list ap;
	int n;

	n = snprintf(line, sizeof line - 1, "%s", XFER_PREFIX);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - 1 - n, fmt, ap);
	va_end(ap);
	if (n > XFER_LINE_MAX)
		n = XFER_LINE_MAX;
	/* One line, one write: never a torn line on the back channel. */
	for (char *p = line; p < line + n; p++)
		if (*p == '\n')
			*p = ' ';
	line[n++] = '\n';
	(void)io_writeall(out, line, n);
}

static void
on_preflight(void *arg, const struct restore_verdict *rv)
{
	struct verdict *v = arg;

	switch (rv->code) {
	case RESTORE_ACCEPTED:
		/* Built beside its source under another name (a migration
		 * to this host): the guardian must tell the two apart. */
		if (rv->name != NULL && strcmp(rv->name, v->name) != 0)
			guard_twin(v->guard);
		guard_made(v->guard);
		say(v->out, "ready %s", v->name);
		return;
	case RESTORE_REFUSED:
	case RESTORE_BAD_INPUT:
		say(v->out, "refused: %s", rv->text);
		break;
	case RESTORE_FAILED:
		say(v->out, "error: %s", rv->text);
		break;
	}
	v->refused = 1;
}

/*
 * The handover's middle: the guest is whole and paused, not committed,
 * so it dies with us.  Say so, and wait for the sender's go, which comes
 * on the stream after END.  Anything else is a no.
 */
static int
on_prepared(void *arg, const struct restore_result *res, char *why,
    size_t len)
{
	struct verdict *v = arg;
	char line[XFER_LINE_MAX + 1];
	size_t n = 0;
	uint64_t end;

	/* A bundle's disks come after its image: nothing is prepared, nor
	 * resumed, before all of it has checked.  The feeder's own
	 * deadline of silence bounds the wait. */
	if (v->bundle != NULL && bfeed_wait(v->bundle, BFEED_IMAGE) !=
	    BFEED_WHOLE) {
		snprintf(why, len, "%s", v->bundle->idle ? "no data from the "
		    "sender in time" : v->bundle->err);
		return -1;
	}
	if (!v->handover)
		return 0;
	say(v->out, "prepared %s", res->info.name);
	v->prepared = 1;
	end = now_ns() + (uint64_t)v->timeout_ms * 1000000;
	while (n < sizeof line - 1) {
		int64_t left = (int64_t)(end - now_ns()) / 1000000;
		ssize_t r;

		if (left <= 0 || io_wait_readable(v->in, (int)left) == 0) {
			snprintf(why, len, "no go from the sender within %d s",
			    v->timeout_ms / 1000);
			return -1;
		}
		r = read(v->in, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* The feeder ends the input when the sender is
			 * silent: that is the same deadline passing. */
			if (*v->idle)
				snprintf(why, len, "no go from the sender "
				    "within %d s", v->timeout_ms / 1000);
			else
				snprintf(why, len, "the sender ended the "
				    "stream without a go");
			return -1;
		}
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (n + 1 == sizeof(XFER_GO) - 1 &&
	    memcmp(line, XFER_GO, n) == 0) {
		/* A twin may take its source's name from here on. */
		guard_go(v->guard);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (line[i] < ' ' || line[i] > '~')
			line[i] = '?';
	snprintf(why, len, "the sender said '%.80s', not go", line);
	return -1;
}

/* The ack, sent the moment the guest runs: before the restore lets go
 * of the guest's memory, which for a large guest takes a while.  The
 * guardian lets go first: killed between the two, the guest runs and
 * the sender, in doubt, finds it running here. */
static void
on_running(void *arg, const struct restore_result *res)
{
	struct verdict *v = arg;

	guard_keep(v->guard);
	say(v->out, "running %s %" PRIu64, res->info.name, res->resume_ns);
	v->acked = 1;
}

static void *
feed(void *arg)
{
	struct feeder *f = arg;
	struct stat st;
	/*
	 * Splice only from a pipe.  From a socket, splice() waits for data
	 * holding the lock of the pipe it fills, and the restore reading
	 * that pipe would wait with it, on octets already in the pipe.
	 */
	int can_splice = fstat(f->in, &st) == 0 && S_ISFIFO(st.st_mode);
	char *buf = NULL;

	if (io_writeall(f->out, f->pre, f->prelen) < 0)
		goto out;
	for (;;) {
		ssize_t n;

		/* A sender that goes silent is not waited for for ever. */
		if (io_wait_readable(f->in, f->timeout_ms) == 0) {
			f->idle = 1;
			break;
		}
		if (can_splice) {
			n = splice(f->in, NULL, f->out, NULL, XFER_BUFSZ,
			    SPLICE_F_MOVE | SPLICE_F_MORE);
			if (n < 0 && errno == EINVAL) {
				can_splice = 0;
				continue;
			}
		} else {
			if (buf == NULL && (buf = malloc(XFER_BUFSZ)) == NULL)
				break;
			n = read(f->in, buf, XFER_BUFSZ);
			if (n > 0 && io_writeall(f->out, buf, n) < 0)
				break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
out:
	/* End of input, or the restore stopped reading: either way the
	 * restore sees the end of its pipe. */
	free(buf);
	close(f->out);
	return NULL;
}

/*
 * Take the receive lock for name in the run directory, so that a second
 * stream for the same guest is refused while this one runs.  The lock
 * goes with the process (and its guardian); the file is removed by
 * whoever holds the lock last, so a lock taken on a file that has just
 * been removed is taken again on the new one.  Returns the locked fd,
 * -2 when held elsewhere, -1 on error; the path is left in path.
 */
static int
lock_name(const char *name, char *path, size_t plen, char *why, size_t len)
{
	const char *dir = vmp_rundir();

	if (vmp_runpath(path, plen, dir, name, "recv.lock") == -1) {
		snprintf(why, len, "can't lock guest %s: %s", name,
		    strerror(errno));
		return -1;
	}
	if (vmp_rundir_ready(dir, why, len) == -1)
		return -1;
	for (int tries = 0; tries < 10; tries++) {
		struct stat a, b;
		/* Not through a planted link; 0600: no one else can hold
		 * the lock and block the guest's migrations. */
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);

		if (fd < 0) {
			snprintf(why, len, "can't open %.900s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			snprintf(why, len, errno == EWOULDBLOCK ?
			    "a migration of guest %s to this host is already "
			    "in progress" : "can't lock %.900s",
			    errno == EWOULDBLOCK ? name : path);
			close(fd);
			return errno == EWOULDBLOCK ? -2 : -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	snprintf(why, len, "can't lock guest %s: its lock file keeps "
	    "changing", name);
	return -1;
}

/* Read the preamble into buf (at most cap octets), all of it within the
 * deadline: a sender that trickles it holds a process no longer than one
 * that sends nothing.  Returns the octets read; *idle set when the
 * deadline passed. */
static size_t
read_preamble(int in, char *buf, size_t cap, struct xfer_scan *scan,
    int timeout_ms, int *idle)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	size_t have = 0;

	while (!scan->done && !scan->failed && have < cap) {
		uint64_t now = now_ns();
		ssize_t n;

		if (now >= end || io_wait_readable(in,
		    (int)((end - now + 999999) / 1000000)) == 0) {
			*idle = 1;
			break;
		}
		n = read(in, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		xfer_scan(scan, buf + have, n);
		have += n;
	}
	return have;
}

/* Read on until buf holds want octets, the input ends or the deadline
 * passes; returns the octets added. */
static size_t
read_upto(int in, char *buf, size_t have, size_t want, int timeout_ms)
{
	size_t got = 0;

	while (have + got < want && io_wait_readable(in, timeout_ms) > 0) {
		ssize_t n = read(in, buf + have + got, want - have - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/*
 * A bundle: start its feeder on pipe end wfd and wait until it knows the
 * guest and has scanned the image's first records (or failed, said on
 * out).  Fills in what the receive needs from it.  0 or -1.
 */
static int
start_bundle(struct bfeed *bf, int in, int out, int wfd, const char *buf,
    size_t have, int tmo, const struct recv_opts *o, struct verdict *v,
    struct restore_opts *ro, struct xfer_scan *scan)
{
	bf->in = in;
	bf->out = wfd;
	bf->pre = buf;
	bf->prelen = have;
	bf->timeout_ms = tmo;
	if (bfeed_start(bf) == -1) {
		say(out, "error: thread: %s", strerror(errno));
		close(wfd);
		return -1;
	}
	if (bfeed_wait(bf, BFEED_MANIFEST) == BFEED_FAILED) {
		if (bf->idle || bf->err[0] == '\0')
			say(out, "error: no bundle from the sender in time");
		else
			say(out, "%s: %s", bf->refused ? "refused" : "error",
			    bf->err);
		return -1;
	}
	/* The guest is made under the MANIFEST's name (or --name), the one
	 * locked here, whatever its image says. */
	v->bundle = bf;
	v->name = o->name ? o->name : bf->guest;
	ro->name = v->name;
	ro->disk_paths = bf->paths;
	ro->ndisk_paths = bf->ndisks;
	*scan = bf->scan;
	scan->body = NULL;	/* the feeder's */
	snprintf(scan->name, sizeof scan->name, "%s", v->name);
	return 0;
}

int
recv_stream(int in, int out, const struct recv_opts *o)
{
	struct restore_opts ropts = {
		.name = o->name,
		.clone = o->clone,
		.paused = o->paused,
		.config_path = o->config_path,
		.progress = !o->quiet,
		.preflight = on_preflight,
		.prepared = on_prepared,
		.running = on_running,
		/* Only a handover's go can say that the source let go. */
		.twin = o->handover,
	};
	int tmo = (o->timeout > 0 ? o->timeout : XFER_GO_TIMEOUT) * 1000;
	struct guard guard = { .fd = -1 };
	struct restore_result res;
	struct verdict v = { .out = out, .handover = o->handover,
	    .timeout_ms = tmo, .guard = &guard };
	struct feeder f = { .in = in, .timeout_ms = tmo };
	struct xfer_scan scan;
	struct bfeed *bf = NULL;
	char *buf, emsg[1024], lock[PATH_MAX] = "";
	size_t have, scanned;
	pthread_t th;
	int p[2] = { -1, -1 }, idle = 0, lockfd = -1, rc = VMP_EX_FAIL;

	if ((buf = malloc(XFER_BUFSZ)) == NULL) {
		say(out, "error: %s", strerror(errno));
		return VMP_EX_FAIL;
	}
	/* The preamble; what a sender sends before it waits for us. */
	xfer_scan_init(&scan);
	have = read_preamble(in, buf, XFER_BUFSZ, &scan, tmo, &idle);
	/* Not an image: a bundle, a guest with its disks, is a tar
	 * archive, known by its first block. */
	if (!scan.vmpipe && !idle && have < 512)
		have += read_upto(in, buf, have, 512, tmo);
	if (!scan.vmpipe && bundle_sniff(buf, have)) {
		if ((bf = calloc(1, sizeof *bf)) == NULL ||
		    pipe2(p, O_CLOEXEC) < 0) {
			say(out, "error: %s", strerror(errno));
			goto out;
		}
		(void)fcntl(p[1], F_SETPIPE_SZ, XFER_BUFSZ);
		xfer_scan_free(&scan);
		if (start_bundle(bf, in, out, p[1], buf, have, tmo, o, &v,
		    &ropts, &scan) == -1)
			goto out;
		/* Only a vmpipe image stops at prepared until its disks are
		 * in (an xl file is restored whole by libxl, and resumed). */
		if (!scan.vmpipe) {
			say(out, "refused: the bundle's image is not a vmpipe "
			    "image (vm-image(5))");
			goto out;
		}
	}
	scanned = bf != NULL ? bf->scanned : have;
	if (idle) {
		say(out, "error: no image from the sender within %d s",
		    tmo / 1000);
		goto out;
	}
	/*
	 * A GUEST the reader refuses (a name that fails the name rule, for
	 * one) gets no lock file: the restore would refuse it with the same
	 * words.  Any other odd preamble is the restore's to judge and to
	 * name.
	 */
	if (scan.guest_err[0] != '\0') {
		say(out, "refused: %s", scan.guest_err);
		goto out;
	}
	/* A vmpipe preamble the scanner can't finish would go unlocked.
	 * (Anything else, an xl save file for one, is the restore's to
	 * recognise.) */
	if (scan.vmpipe && scan.failed) {
		say(out, "refused: %s", scan.err);
		goto out;
	}
	if (scan.vmpipe && !scan.done && scanned >= XFER_BUFSZ) {
		say(out, "refused: the records before the guest's memory take "
		    "more than %u octets (the most a receive reads before it "
		    "locks the guest's name)", XFER_BUFSZ);
		goto out;
	}
	v.name = o->name ? o->name : scan.name[0] ? scan.name : "?";
	if ((scan.done || bf != NULL) && (o->name || scan.name[0])) {
		lockfd = lock_name(v.name, lock, sizeof lock, emsg,
		    sizeof emsg);
		if (lockfd < 0) {
			lock[0] = '\0';
			say(out, "refused: %s", emsg);
			goto out;
		}
		/* Only a guest with a name, a lock and a backend can be
		 * guarded. */
		if (bf != NULL) {
			guard.disks = bf->paths;
			guard.ndisks = bf->ndisks;
		}
		if (scan.done && guard_start(&guard, v.name, scan.backend, lock,
		    lockfd) < 0) {
			say(out, "error: can't start the guardian: %s",
			    strerror(errno));
			goto out;
		}
	}

	if (bf != NULL)
		goto restore;
	if (pipe2(p, O_CLOEXEC) < 0) {
		say(out, "error: pipe: %s", strerror(errno));
		goto out;
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, XFER_BUFSZ);
	f.out = p[1];
	f.pre = buf;
	f.prelen = have;
	if ((errno = pthread_create(&th, NULL, feed, &f)) != 0) {
		say(out, "error: thread: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		goto out;
	}
	pthread_detach(th);
restore:
	ropts.arg = &v;
	v.in = p[0];
	v.idle = bf != NULL ? &bf->idle : &f.idle;
	if (restore_stream(p[0], &ropts, &res, emsg, sizeof emsg) == 0) {
		if (!v.acked) {
			guard_keep(&guard);
			say(out, "running %s %" PRIu64, res.info.name,
			    res.resume_ns);
		}
		rc = VMP_EX_OK;
	} else {
		if (*v.idle && !v.prepared)
			snprintf(emsg, sizeof emsg, "no data from the sender "
			    "for %d s: the guest being made was destroyed",
			    tmo / 1000);
		if (!v.refused)
			say(out, "error: %s", emsg);
		rc = VMP_EX_FAIL;
	}
	/* The feeder may still be blocked on in: exit takes it along. */
	close(p[0]);
	p[0] = -1;
	buf = NULL;	/* the feeder may still read it */
out:
	if (bf != NULL) {
		/* Disks of a guest that does not run here are nobody's. */
		if (rc != VMP_EX_OK)
			bfeed_unmake(bf);
		if (p[0] >= 0)
			close(p[0]);
		buf = NULL;	/* the feeder's, as bf is */
	}
	/* Removed while still held: a waiting receive takes the next. */
	if (lock[0] != '\0')
		(void)unlink(lock);
	guard_done(&guard);
	xfer_scan_free(&scan);
	free(buf);
	return rc;
}

int
recv_serve(int in, int out, const struct recv_opts *o)
{
	return o->status != NULL ? recv_status(out, o) :
	    recv_stream(in, out, o);
}

int
recv_status(int out, const struct recv_opts *o)
{
	const struct hv_ops *ops = hv_select(NULL);
	const char *st = XFER_ST_ABSENT;
	char path[PATH_MAX];
	struct hv_guest *g;
	int fd;

	/* A receive in progress holds the lock. */
	if (vmp_runpath(path, sizeof path, vmp_rundir(), o->status,
	    "recv.lock") == 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		int busy = flock(fd, LOCK_SH | LOCK_NB) < 0 &&
		    errno == EWOULDBLOCK;

		close(fd);
		if (busy) {
			say(out, "status %s %s", o->status, XFER_ST_RECEIVING);
			return VMP_EX_OK;
		}
	}
	if (ops == NULL) {
		say(out, "error: no backend here to ask about guest %s",
		    o->status);
		return VMP_EX_FAIL;
	}
	if (ops->open(o->status, &g) == 0) {
		struct hv_info info;

		if (ops->describe(g, &info) == -1) {
			say(out, "error: guest %s: %s", o->status,
			    hv_strerror());
			ops->close(g);
			return VMP_EX_FAIL;
		}
		st = info.paused ? XFER_ST_PAUSED : XFER_ST_RUNNING;
		ops->close(g);
	} else if (errno != ENOENT) {
		say(out, "error: guest %s: %s", o->status, hv_strerror());
		return VMP_EX_FAIL;
	}
	say(out, "status %s %s", o->status, st);
	return VMP_EX_OK;
}
