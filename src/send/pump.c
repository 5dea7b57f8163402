/*
 * pump.c: the delivery protocol.  Forward the preamble, wait for the
 * destination's verdict, forward the rest while listening for an early
 * error, then wait for the ack.  Exit 0 means exactly one thing: the
 * destination said the guest runs there.
 */
#include <errno.h>
#include <err.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "exits.h"
#include "io.h"
#include "hold.h"
#include "names.h"
#include "send.h"
#include "sibling.h"
#include "vmi.h"
#include "xfer.h"

struct lines {
	char	buf[4 * XFER_LINE_MAX];
	size_t	len;
};

struct pump {
	struct xport		*xp;
	const struct send_opts	*o;
	struct lines		 lb;
	char			 line[XFER_LINE_MAX + 1];
	char			 name[VMI_NAME_MAX];	/* the image's */
	uint64_t		 bytes;
	/* The stream's last octets: did it end with END? */
	uint8_t			 tail[64];
	size_t			 tail_len;
	uint64_t		 zeros;		/* how many of them are 0 */
	int			 bundle;	/* a bundle, not an image */
};

/*
 * Take the next complete back-channel line, waiting up to timeout ms.
 * Returns its kind (XFER_NONE lines are shown and skipped), 0 when none
 * came in time, or -1 at end of the back channel or on error.
 */
static int
next_line(struct pump *p, int timeout)
{
	struct lines *lb = &p->lb;

	for (;;) {
		char *nl = memchr(lb->buf, '\n', lb->len);

		if (nl != NULL) {
			size_t n = nl - lb->buf;
			const char *rest;
			enum xfer_kind k;

			n = n > XFER_LINE_MAX ? XFER_LINE_MAX : n;
			memcpy(p->line, lb->buf, n);
			p->line[n] = '\0';
			lb->len -= nl + 1 - lb->buf;
			memmove(lb->buf, nl + 1, lb->len);
			if ((k = xfer_parse_line(p->line, &rest)) != XFER_NONE)
				return k;
			if (!p->o->quiet)
				fprintf(stderr, "vm-send: %s: %s\n",
				    p->o->host, p->line);
			continue;
		}
		if (lb->len == sizeof lb->buf)	/* a runaway line */
			lb->len = 0;
		ssize_t r = p->xp->ops->read(p->xp, lb->buf + lb->len,
		    sizeof lb->buf - lb->len, timeout);

		if (r == 0)
			return 0;
		if (r < 0)
			return -1;
		lb->len += r;
		timeout = 0;
	}
}

static const char *
rest_of(const char *line)
{
	const char *rest;

	xfer_parse_line(line, &rest);
	return rest;
}

/* The back channel ended, or said something other than what we wait
 * for: report it and return the exit status. */
static int
fail(struct pump *p, int k, const char *when)
{
	switch (k) {
	case XFER_REFUSED:
		warnx("%s refused the guest: %s", p->o->host,
		    rest_of(p->line));
		return VMP_EX_FAIL;
	case XFER_ERROR:
		warnx("%s failed %s: %s", p->o->host, when, rest_of(p->line));
		return VMP_EX_FAIL;
	case -1:
		warnx("connection to %s lost %s%s%s", p->o->host, when,
		    p->xp->err[0] ? ": " : "", p->xp->err);
		return VMP_EX_FAIL;
	case 0:
		warnx("no answer from %s within %d s %s", p->o->host,
		    send_deadline_s(p->o), when);
		return VMP_EX_FAIL;
	case -3:
		warnx("interrupted %s: nothing runs on %s", when, p->o->host);
		return VMP_EX_FAIL;
	default:
		warnx("%s: unexpected '%s' %s", p->o->host, p->line, when);
		return VMP_EX_FAIL;
	}
}


volatile sig_atomic_t send_interrupted;


/*
 * Wait for the next line up to ms (-1: for ever), in short slices so
 * that a signal is seen.  As next_line(), and -3 when interrupted.
 */
static int
wait_line(struct pump *p, int ms)
{
	uint64_t end = now_ns() + (uint64_t)(ms < 0 ? 0 : ms) * 1000000;

	for (;;) {
		int k, slice = 250;

		if (send_interrupted)
			return -3;
		if (ms >= 0) {
			int64_t left = (int64_t)(end - now_ns()) / 1000000;

			if (left <= 0)
				return 0;
			if (left < slice)
				slice = (int)left;
		}
		if ((k = next_line(p, slice)) != 0)
			return k;
	}
}

/*
 * The migration is in doubt: the far side may run the guest or not.
 * The source stays paused (and held); say which hosts and how to settle.
 */
static int
doubt(struct pump *p, const char *what, int after_go)
{
	const char *g = p->name[0] ? p->name : "GUEST";

	warnx("%s: %s: the migration of %s is in doubt: it may run on %s "
	    "now%s; the copy here stays paused.  Settle it with: "
	    "vm-migrate --settle %s%s %s", p->o->host, what, g, p->o->host,
	    after_go ? "" : " (no go was said)", p->o->relocation ?
	    (p->o->plain ? "-r --plain " : "-r ") : "", g, p->o->host);
	return VMP_EX_INDOUBT;
}

/*
 * Fence the source: mark the paused guest held for this migration, so
 * that no `vm-ctl resume' starts it while the far side may run it.  A
 * copy prepared as NAME--incoming is its twin on this same host
 * (names.h): the source lets go of the name, as xl's does, by a rename
 * to NAME--migratedaway that takes the hold with it; *twin says so.
 */
static int
hold_source(const struct send_opts *o, const char *prepared, int *twin)
{
	char why[512], in[VMI_NAME_MAX], away[VMI_NAME_MAX];

	*twin = 0;
	if (vmp_hold_set(o->hold, o->host, why, sizeof why) < 0) {
		warnx("can't fence %s here: %s; no go was said to %s", o->hold,
		    why, o->host);
		return -1;
	}
	if (vmp_twin_name(o->hold, VMP_TWIN_INCOMING, in, sizeof in) == -1 ||
	    strcmp(prepared, in) != 0)
		return 0;
	if (vmp_twin_name(o->hold, VMP_TWIN_AWAY, away, sizeof away) == -1 ||
	    vmp_run_ctl(NULL, (const char *[]){ "rename", o->hold, away,
	    NULL }) == -1) {
		warnx("%s prepared %s beside it here, but %s could not be "
		    "renamed %s; no go was said", o->host, in, o->hold, away);
		if (vmp_hold_clear(o->hold) < 0)
			warn("%s: can't release its hold", o->hold);
		return -1;
	}
	*twin = 1;
	return 0;
}

/* The far side destroyed its copy: the source takes its name back and
 * the fence has nothing left to guard. */
static void
release_source(const struct send_opts *o, int twin)
{
	char away[VMI_NAME_MAX];

	if (twin && (vmp_twin_name(o->hold, VMP_TWIN_AWAY, away,
	    sizeof away) == -1 || vmp_run_ctl(NULL, (const char *[]){
	    "rename", away, o->hold, NULL }) == -1)) {
		warnx("%s is still named %s: rename it back with vm-ctl "
		    "rename %s %s", o->hold, away, away, o->hold);
		if (vmp_hold_clear(away) < 0)
			warn("%s: can't release its hold", away);
		return;
	}
	if (vmp_hold_clear(o->hold) < 0)
		warn("%s: can't release its hold", o->hold);
}


/* Remember the last octets forwarded. */
static void
keep_tail(struct pump *p, const char *buf, size_t n)
{
	size_t cap = sizeof p->tail, z = 0;

	/* A bundle ends in blocks of zeros: count the last run (of a
	 * bundle only: an image's guest pages need no second look). */
	if (p->bundle) {
		while (z < n && buf[n - 1 - z] == 0)
			z++;
		p->zeros = z == n ? p->zeros + n : z;
	}
	if (n >= cap) {
		memcpy(p->tail, buf + n - cap, cap);
		p->tail_len = cap;
		return;
	}
	if (p->tail_len + n > cap) {
		size_t drop = p->tail_len + n - cap;

		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
	}
	memcpy(p->tail + p->tail_len, buf, n);
	p->tail_len += n;
}

/*
 * Read what the input has now, up to n, blocking only for the first
 * octets: big writes keep the cipher busy, but nothing is held back
 * waiting for more (the last records of a live migration are urgent).
 */
static ssize_t
read_some(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (got > 0 && poll(&pfd, 1, 0) <= 0)
			break;
		r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return got > 0 ? (ssize_t)got : -1;
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

static void
say_ready(const struct pump *p)
{
	if (!p->o->quiet)
		fprintf(stderr, "vm-send: %s ready for %s\n", p->o->host,
		    rest_of(p->line));
}

int
send_stream(struct xport *xp, int in, const struct send_opts *o)
{
	struct pump p = { .xp = xp, .o = o };
	struct xfer_scan scan;
	uint64_t t0 = now_ns();
	int tmo = send_deadline_s(o) * 1000;
	char *buf;
	size_t have = 0, off = 0;
	int k, early = 0, twin = 0, bundle, rc = VMP_EX_FAIL;
	ssize_t first;

	if ((buf = malloc(XFER_BUFSZ)) == NULL)
		err(VMP_EX_FAIL, NULL);
	/* A bigger pipe lets the producer run ahead of the cipher. */
	(void)fcntl(in, F_SETPIPE_SZ, XFER_BUFSZ);

	/*
	 * 0. A bundle (vm-bundle(5): a guest with its disks) is a tar
	 * archive, known by its first block.  It has no preamble to wait
	 * on a verdict with: it goes whole, the far side's refusal stops
	 * it, and its end is the end of the input.
	 */
	xfer_scan_init(&scan);
	if ((first = io_readall(in, buf, 512)) < 0) {
		warn("can't read the image");
		goto out;
	}
	have = (size_t)first;
	if ((p.bundle = bundle = bundle_sniff(buf, have)) != 0) {
		snprintf(p.name, sizeof p.name, "%s", o->name ? o->name :
		    o->hold ? o->hold : "");
		goto rest;
	}

	/* 1. The preamble, and not one octet more. */
	while (!scan.done) {
		ssize_t r = have > 0 ? (ssize_t)have :
		    read_some(in, buf, XFER_BUFSZ);
		size_t used;

		if (r < 0) {
			warn("can't read the image");
			goto out;
		}
		if (r == 0) {
			warnx("the image ended before its GUEST and CONFIG "
			    "records");
			goto out;
		}
		used = xfer_scan(&scan, buf, r);
		if (scan.failed) {
			warnx("stdin: %s", scan.err);
			goto out;
		}
		if (xp->ops->write(xp, buf, used) < 0) {
			warnx("%s: %s", o->host, xp->err);
			goto out;
		}
		p.bytes += used;
		keep_tail(&p, buf, used);
		have = r;
		off = used;
		if (!scan.done)
			have = off = 0;
	}

	/* 2. The destination's verdict. */
	memcpy(p.name, o->name ? o->name : scan.name, sizeof p.name);
	p.name[sizeof p.name - 1] = '\0';
	k = wait_line(&p, tmo);
	if (k != XFER_READY) {
		rc = fail(&p, k, "before the transfer");
		goto out;
	}
	say_ready(&p);

	/* 3. The rest, watching for an early word from the far side. */
rest:
	for (;;) {
		if (off < have) {
			if (xp->ops->write(xp, buf + off, have - off) < 0) {
				/* Its last words say more than our error; without
				 * them the connection is lost, and said so. */
				k = next_line(&p, 2000);
				rc = fail(&p, k > 0 ? k : -1, "during the transfer");
				goto out;
			}
			p.bytes += have - off;
			keep_tail(&p, buf + off, have - off);
			off = have;
			/*
			 * END is out: the handover starts now, not when the
			 * writer gets round to closing its end (vm-precopy
			 * lets go of the guest's memory first), which would
			 * all be downtime.
			 */
			if (!bundle && vmi_tail_is_end(p.tail, p.tail_len, 1))
				break;
		}
		k = next_line(&p, 0);
		if (k == XFER_RUNNING)	/* a receiver without handover */
			goto ack;
		/*
		 * The far side found the END record and says prepared
		 * before the writer has closed our input: what has gone is
		 * a whole image, whatever comes after it.
		 */
		if (k == XFER_PREPARED && !bundle &&
		    vmi_tail_is_end(p.tail, p.tail_len, 0)) {
			early = k;
			break;
		}
		if (k == XFER_READY && bundle) {
			say_ready(&p);
			continue;
		}
		if (k != 0) {
			rc = fail(&p, k, "during the transfer");
			goto out;
		}
		if (send_interrupted) {
			warnx("interrupted during the transfer: nothing runs "
			    "on %s", o->host);
			goto out;
		}
		ssize_t r = read_some(in, buf, XFER_BUFSZ);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn("can't read the image");
			goto out;
		}
		if (r == 0)
			break;
		have = r;
		off = 0;
	}

	/*
	 * An image its writer gave up on (a live copy that did not
	 * converge, a save that failed) has no END: the far side cannot
	 * make a guest of it, whatever it says now.
	 */
	if (bundle && (p.bytes % 512 != 0 || p.zeros < 1024)) {
		(void)xp->ops->shutdown(xp);
		warnx("the bundle ended without the end of its archive (two "
		    "blocks of zeros): nothing runs on %s", o->host);
		if ((k = wait_line(&p, 2000)) == XFER_ERROR ||
		    k == XFER_REFUSED)
			(void)fail(&p, k, "on the cut bundle");
		goto out;
	}
	if (!bundle && !vmi_tail_is_end(p.tail, p.tail_len, 0)) {
		(void)xp->ops->shutdown(xp);
		warnx("the image ended without its END record: nothing runs "
		    "on %s", o->host);
		/* Its own words, if it has any, say more. */
		if ((k = wait_line(&p, 2000)) == XFER_ERROR)
			(void)fail(&p, k, "on the cut image");
		goto out;
	}

	/*
	 * 4. The handover.  END is out: from here on, a lost connection or
	 * a signal leaves the sender unsure of what the far side did, and
	 * only an answer from it may decide.
	 */
	/* A bundle's disks are checked and synced there before it says
	 * prepared: the deadline is for each word, and ready may come
	 * first. */
	if ((k = early) == 0)
		while ((k = wait_line(&p, tmo)) == XFER_READY && bundle)
			say_ready(&p);
	if (k == XFER_RUNNING)	/* a receiver without handover */
		goto ack;
	if (k != XFER_PREPARED) {
		if (k == 0 || k == -1 || k == -3) {
			rc = doubt(&p, k == 0 ? "no word within the deadline "
			    "after the end of the stream" : k == -3 ?
			    "interrupted after the end of the stream" :
			    "connection lost after the end of the stream", 0);
			goto out;
		}
		rc = fail(&p, k, "at the end of the transfer");
		goto out;
	}
	if (o->hold != NULL && hold_source(o, rest_of(p.line), &twin) < 0)
		goto out;	/* no go: the far side destroys its copy */
	if (o->verbose)
		fprintf(stderr, "vm-send: %s prepared %s; %s, go\n", o->host,
		    rest_of(p.line), o->hold ? "source held" : "no hold");
	if (xp->ops->write(xp, XFER_GO, strlen(XFER_GO)) < 0) {
		/* Whether the go got out, only the far side knows. */
		char what[sizeof xp->err + 64];

		snprintf(what, sizeof what, "connection lost while saying go "
		    "(%s)", xp->err);
		rc = doubt(&p, what, 1);
		goto out;
	}
	(void)xp->ops->shutdown(xp);
	k = wait_line(&p, tmo);
	if (k != XFER_RUNNING) {
		if (k == XFER_ERROR || k == XFER_REFUSED) {
			/* It says what it did: the copy there is gone, and
			 * the fence guards nothing. */
			rc = fail(&p, k, "after go");
			if (o->hold != NULL)
				release_source(o, twin);
			goto out;
		}
		rc = doubt(&p, k == 0 ? "no answer within the deadline after "
		    "go" : k == -3 ? "interrupted after go" :
		    "connection lost after go", 1);
		goto out;
	}
ack:
	printf("%s\n", p.line);
	if (fflush(stdout) == EOF)
		warn("stdout");
	if (o->verbose) {
		double sec = (now_ns() - t0) / 1e9;

		fprintf(stderr, "vm-send: %llu octets in %.3f s (%.1f MB/s)\n",
		    (unsigned long long)p.bytes, sec, p.bytes / sec / 1e6);
	}
	rc = VMP_EX_OK;
out:
	xfer_scan_free(&scan);
	free(buf);
	return rc;
}

int
send_status(struct xport *xp, const struct send_opts *o)
{
	struct pump p = { .xp = xp, .o = o };
	int tmo = send_deadline_s(o) * 1000;
	int k = wait_line(&p, tmo);

	if (k != XFER_STATUS)
		return fail(&p, k, "answering --status");
	printf("%s\n", p.line);
	if (fflush(stdout) == EOF) {
		warn("stdout");
		return VMP_EX_FAIL;
	}
	return VMP_EX_OK;
}
