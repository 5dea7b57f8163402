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
#include "io.h"
#include "names.h"
#include "recv.h"
#include "restore.h"
#include "xfer.h"

struct feeder {
	int		 in, out;
	const char	*pre;		/* octets already read from in */
	size_t		 prelen;
};

struct verdict {
	int		 out;
	const char	*name;
	int		 refused;
	int		 acked;
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

/* The ack, sent the moment the guest runs: before the restore lets go
 * of the guest's memory, which for a large guest takes a while. */
static void
on_running(void *arg, const struct restore_result *res)
{
	struct verdict *v = arg;

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
 * Hold the receive lock for name in the run directory, so that a second
 * stream for the same guest is refused while this one runs.  The lock
 * goes with the process.  Returns 0, 1 when held elsewhere, -1 on error.
 */
static int
lock_name(const char *name, char *why, size_t len)
{
	const char *dir = vmp_rundir();
	char path[PATH_MAX];
	int fd;

	if (vmp_runpath(path, sizeof path, dir, name, "recv.lock") == -1) {
		snprintf(why, len, "can't lock guest %s: %s", name,
		    strerror(errno));
		return -1;
	}
	(void)mkdir(dir, 0755);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		snprintf(why, len, "can't open %.900s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(why, len, errno == EWOULDBLOCK ?
		    "a migration of guest %s to this host is already in "
		    "progress" : "can't lock %.900s", errno == EWOULDBLOCK ? name :
		    path);
		close(fd);
		return 1;
	}
	return 0;	/* fd stays open: the lock lives as long as we do */
}

int
recv_stream(int in, int out, const struct recv_opts *o)
{
	struct restore_opts ropts = {
		.name = o->name,
		.clone = o->clone,
		.paused = o->paused,
		.progress = !o->quiet,
		.preflight = on_preflight,
		.running = on_running,
	};
	struct restore_result res;
	struct verdict v = { .out = out };
	struct feeder f = { .in = in };
	struct xfer_scan scan;
	char *buf, emsg[1024];
	size_t have = 0;
	pthread_t th;
	int p[2], rc = VMP_EX_FAIL;

	if ((buf = malloc(XFER_BUFSZ)) == NULL) {
		say(out, "error: %s", strerror(errno));
		return VMP_EX_FAIL;
	}
	/* The preamble; what a sender sends before it waits for us. */
	xfer_scan_init(&scan);
	while (!scan.done && !scan.failed && have < XFER_BUFSZ) {
		ssize_t n = read(in, buf + have, XFER_BUFSZ - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		xfer_scan(&scan, buf + have, n);
		have += n;
	}
	/*
	 * A GUEST the reader refuses (a name that fails the name rule, for
	 * one) gets no lock file: the restore would refuse it with the same
	 * words.  Any other odd preamble is the restore's to judge and to
	 * name.
	 */
	if (scan.guest_err[0] != '\0') {
		say(out, "refused: %s", scan.guest_err);
		rc = VMP_EX_FAIL;
		goto out;
	}
	v.name = o->name ? o->name : scan.name[0] ? scan.name : "?";
	if (scan.done && (o->name || scan.name[0])) {
		int l = lock_name(v.name, emsg, sizeof emsg);

		if (l != 0) {
			say(out, "refused: %s", emsg);
			rc = VMP_EX_FAIL;
			goto out;
		}
	}

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
	ropts.arg = &v;
	if (restore_stream(p[0], &ropts, &res, emsg, sizeof emsg) == 0) {
		if (!v.acked)
			say(out, "running %s %" PRIu64, res.info.name,
			    res.resume_ns);
		rc = VMP_EX_OK;
	} else {
		if (!v.refused)
			say(out, "error: %s", emsg);
		rc = VMP_EX_FAIL;
	}
	/* The feeder may still be blocked on in: exit takes it along. */
	close(p[0]);
	return rc;
out:
	xfer_scan_free(&scan);
	free(buf);
	return rc;
}

/* Split a shell-quoted command into at most max words, in place. */
static int
split_words(char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		char *d;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return n;
		if (n == max)
			return -1;
		w[n++] = d = s;
		while (*s != '\0' && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				for (s++; *s != '\'' && *s != '\0'; )
					*d++ = *s++;
				if (*s++ == '\0')
					return -1;
			} else if (*s == '\\' && s[1] != '\0') {
				s++;
				*d++ = *s++;
			} else if (*s == '"' || *s == '$' || *s == '`') {
				return -1;	/* nothing a sender writes */
			} else
				*d++ = *s++;
		}
		if (*s != '\0')
			s++;
		*d = '\0';
	}
}

int
recv_parse_request(const char *cmd, struct recv_opts *o, char *why,
    size_t len)
{
	char copy[XFER_LINE_MAX + 1], *w[8], *base;
	int n;

	snprintf(why, len, "this server runs only "
	    "'vm-recv [--name name | --as name] [--paused] [-q]'");
	if (strlen(cmd) > XFER_LINE_MAX)
		return -1;
	strcpy(copy, cmd);
	if ((n = split_words(copy, w, 8)) < 1)
		return -1;
	base = strrchr(w[0], '/') ? strrchr(w[0], '/') + 1 : w[0];
	if (strcmp(base, "vm-recv") != 0)
		return -1;
	for (int i = 1; i < n; i++) {
		if (strcmp(w[i], "--paused") == 0)
			o->paused = 1;
		else if (strcmp(w[i], "-q") == 0)
			o->quiet = 1;
		else if ((strcmp(w[i], "--name") == 0 ||
		    strcmp(w[i], "--as") == 0) && i + 1 < n) {
			o->clone = strcmp(w[i], "--as") == 0;
			if (vmp_name_check(w[++i], why, len) == -1)
				return -1;
			snprintf(o->namebuf, sizeof o->namebuf, "%s", w[i]);
			o->name = o->namebuf;
		} else
			return -1;
	}
	return 0;
}
