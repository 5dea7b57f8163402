/*
 * ssh.c: the SSH transport (libssh client).  It runs the receive command
 * in a session channel, on an ordinary sshd or on a relocation server.
 * The server's host key must already be in known_hosts: an unknown or
 * changed key is refused, never learnt, because a migration hands the
 * whole guest to whoever answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libssh/libssh.h>

#include "io.h"
#include "send.h"
#include "xfer.h"

/*
 * Without -c, AES-GCM first: with AES instructions (every x86-64 server
 * of the last decade) it moves a stream faster than ChaCha20-Poly1305,
 * the usual first choice, and the cipher is what bounds a migration.
 */
#define DEFAULT_CIPHERS	"aes128-gcm@openssh.com,aes256-gcm@openssh.com," \
			"chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr"

struct sshx {
	struct xport	xp;
	ssh_session	s;
	ssh_channel	ch;
	long		wait_s;		/* -t: the longest a write waits */
};

static void
seterr(struct sshx *x, const char *what)
{
	snprintf(x->xp.err, sizeof x->xp.err, "%s: %s", what,
	    ssh_get_error(x->s));
}

/* Pass the remote command's stderr on to ours: its messages say why. */
static void
drain_stderr(struct sshx *x)
{
	char buf[4096];
	int n;

	while (ssh_channel_poll(x->ch, 1) > 0 &&
	    (n = ssh_channel_read_nonblocking(x->ch, buf, sizeof buf, 1)) > 0)
		(void)!write(2, buf, n);
}

/*
 * Every write has the deadline of -t (vm-send(1)).  libssh's blocking
 * write waits by the session's timeout, which is set to -t once the
 * session is up, but a flush that runs out of it is no error to libssh:
 * it keeps the octets and reports them written, and across a cut wire
 * it went on so, a timeout at a time, for minutes.  Octets still held
 * after a write are that timeout run out.
 */
static int
ssh_write(struct xport *xp, const void *buf, size_t n)
{
	struct sshx *x = (struct sshx *)xp;

	while (n > 0) {
		/* libssh takes a uint32_t count; keep each call modest. */
		uint32_t k = n > XFER_BUFSZ ? XFER_BUFSZ : n;
		int w = ssh_channel_write(x->ch, buf, k);

		if (w < 0) {	/* SSH_ERROR */
			seterr(x, "ssh channel write");
			return -1;
		}
		if (w == 0 || (ssh_get_status(x->s) & SSH_WRITE_PENDING)) {
			snprintf(x->xp.err, sizeof x->xp.err, "ssh channel "
			    "write: not sent within %ld s", x->wait_s);
			return -1;
		}
		buf = (const char *)buf + w;
		n -= w;
	}
	return 0;
}

static ssize_t
ssh_read(struct xport *xp, void *buf, size_t n, int timeout)
{
	struct sshx *x = (struct sshx *)xp;
	int left = timeout, r;

	for (;;) {
		/* Wait in slices so that stderr is passed on meanwhile. */
		int slice = left < 0 || left > 100 ? 100 : left;

		drain_stderr(x);
		r = ssh_channel_poll_timeout(x->ch, slice, 0);
		if (r == SSH_ERROR) {
			seterr(x, "ssh channel");
			return -1;
		}
		if (r == SSH_EOF) {
			drain_stderr(x);
			return XP_EOF;
		}
		if (r > 0)
			break;
		if (left >= 0 && (left -= slice) <= 0)
			return 0;
	}
	r = ssh_channel_read_nonblocking(x->ch, buf, n, 0);
	if (r == SSH_ERROR) {
		seterr(x, "ssh channel read");
		return -1;
	}
	if (r == 0 && ssh_channel_is_eof(x->ch))
		return XP_EOF;
	return r;
}

static int
ssh_shutdown(struct xport *xp)
{
	struct sshx *x = (struct sshx *)xp;

	if (ssh_channel_send_eof(x->ch) != SSH_OK) {
		seterr(x, "ssh channel eof");
		return -1;
	}
	return 0;
}

static void
ssh_xclose(struct xport *xp)
{
	struct sshx *x = (struct sshx *)xp;

	/*
	 * Goodbyes are not waited for: each would wait by libssh's own
	 * timeout on a connection that may be dead (a minute across a cut
	 * wire, after the write had already given up).  Whatever mattered
	 * was answered before we close.
	 */
	ssh_set_blocking(x->s, 0);
	if (x->ch != NULL) {
		ssh_channel_close(x->ch);
		(void)ssh_blocking_flush(x->s, 1000);
		ssh_channel_free(x->ch);
	}
	ssh_disconnect(x->s);
	ssh_free(x->s);
	free(x);
}

static const struct xport_ops ssh_ops = {
	.write = ssh_write,
	.read = ssh_read,
	.shutdown = ssh_shutdown,
	.close = ssh_xclose,
};

/* Is the server's key the one known_hosts holds for it? */
static int
check_host_key(ssh_session s, const struct send_opts *o, char *err,
    size_t errlen)
{
	enum ssh_known_hosts_e k = ssh_session_is_known_server(s);
	const char *file = o->known_hosts ? o->known_hosts : "known_hosts";
	char *fp = NULL;
	unsigned char *hash = NULL;
	size_t hlen;
	ssh_key key;

	if (k == SSH_KNOWN_HOSTS_OK)
		return 0;
	if (ssh_get_server_publickey(s, &key) == SSH_OK) {
		if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256,
		    &hash, &hlen) == 0)
			fp = ssh_get_fingerprint_hash(
			    SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
		ssh_clean_pubkey_hash(&hash);
		ssh_key_free(key);
	}
	switch (k) {
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		snprintf(err, errlen, "host key for %s has CHANGED "
		    "(now %s): refusing to send a guest to it; if the change "
		    "is expected, fix %s", o->host, fp ? fp : "?", file);
		break;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		snprintf(err, errlen, "host key for %s is not known "
		    "(%s): add it to %s first", o->host, fp ? fp : "?", file);
		break;
	default:
		snprintf(err, errlen, "can't check the host key of %s: %s",
		    o->host, ssh_get_error(s));
		break;
	}
	ssh_string_free_char(fp);
	return -1;
}

static int
authenticate(ssh_session s, const struct send_opts *o, char *err,
    size_t errlen)
{
	int rc;

	if (o->identity != NULL) {
		ssh_key key;

		if (ssh_pki_import_privkey_file(o->identity, NULL, NULL, NULL,
		    &key) != SSH_OK) {
			snprintf(err, errlen, "can't load identity %s",
			    o->identity);
			return -1;
		}
		rc = ssh_userauth_publickey(s, NULL, key);
		ssh_key_free(key);
	} else
		rc = ssh_userauth_publickey_auto(s, NULL, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		snprintf(err, errlen, "authentication: %s", ssh_get_error(s));
	else
		snprintf(err, errlen, "permission denied (publickey) "
		    "at %s", o->host);
	return -1;
}

static int
set_options(ssh_session s, const struct send_opts *o)
{
	int port = o->port ? o->port : o->relocation ? XFER_RELOC_PORT : 0;
	long timeout = 30;

	if (ssh_options_set(s, SSH_OPTIONS_HOST, o->host) < 0 ||
	    ssh_options_parse_config(s, NULL) < 0)
		return -1;
	/* Options given here win over the ssh configuration. */
	if (port && ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0)
		return -1;
	if (o->user && ssh_options_set(s, SSH_OPTIONS_USER, o->user) < 0)
		return -1;
	if (o->known_hosts && ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS,
	    o->known_hosts) < 0)
		return -1;
	if (ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, o->ciphers ?
	    o->ciphers : DEFAULT_CIPHERS) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, o->ciphers ?
	    o->ciphers : DEFAULT_CIPHERS) < 0)
		return -1;
	if (ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) < 0)
		return -1;
	return 0;
}

struct xport *
xport_ssh_open(const struct send_opts *o, const char *command, char *err,
    size_t errlen)
{
	struct sshx *x;

	if ((x = calloc(1, sizeof *x)) == NULL ||
	    (x->s = ssh_new()) == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		free(x);
		return NULL;
	}
	x->xp.ops = &ssh_ops;
	x->wait_s = send_deadline_s(o);
	if (set_options(x->s, o) < 0) {
		snprintf(err, errlen, "ssh options: %s", ssh_get_error(x->s));
		goto fail;
	}
	if (ssh_connect(x->s) != SSH_OK) {
		snprintf(err, errlen, "can't connect to %s: %s", o->host,
		    ssh_get_error(x->s));
		goto fail;
	}
	io_keepalive(ssh_get_fd(x->s));
	if (check_host_key(x->s, o, err, errlen) < 0 ||
	    authenticate(x->s, o, err, errlen) < 0)
		goto fail;
	if ((x->ch = ssh_channel_new(x->s)) == NULL ||
	    ssh_channel_open_session(x->ch) != SSH_OK ||
	    ssh_channel_request_exec(x->ch, command) != SSH_OK) {
		snprintf(err, errlen, "can't run '%s' on %s: %s", command,
		    o->host, ssh_get_error(x->s));
		goto fail;
	}
	/*
	 * From here on, each wait of a write has the deadline of -t: libssh's
	 * own waits by the session's timeout, and the socket's send(), which
	 * libssh makes on a blocking socket and which waited across a cut
	 * wire for as long as TCP keeps trying (some 15 minutes).
	 */
	struct timeval tv = { .tv_sec = x->wait_s };

	if (ssh_options_set(x->s, SSH_OPTIONS_TIMEOUT, &x->wait_s) < 0) {
		snprintf(err, errlen, "ssh options: %s", ssh_get_error(x->s));
		goto fail;
	}
	if (setsockopt(ssh_get_fd(x->s), SOL_SOCKET, SO_SNDTIMEO, &tv,
	    sizeof tv) < 0) {
		snprintf(err, errlen, "SO_SNDTIMEO: %s", strerror(errno));
		goto fail;
	}
	return &x->xp;
fail:
	ssh_xclose(&x->xp);
	return NULL;
}
