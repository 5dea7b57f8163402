/*
 * sshd.c: one SSH connection to the relocation server (libssh server).
 *
 * Only public-key authentication against the server's authorized_keys
 * file is offered, and the only thing a peer may ask for is one session
 * channel whose exec request is a receive ("vm-recv [--name N] [--paused]",
 * parsed, never given to a shell).
 *
 * The connection is two processes, as OpenSSH's privilege separation
 * has it.  The net side speaks SSH with the peer, unprivileged
 * (privsep.c): the key exchange, the authentication, the requests and the
 * transport are parsed there.  The monitor, privileged, never reads the
 * peer: it takes one message from the net side, an authenticated peer's
 * request, parses it itself and runs the receive, whose input is the
 * channel's data and whose back-channel lines go out on the channel, each
 * through a pipe that the net side relays.
 *
 * Messages between the two, one per datagram (SOCK_SEQPACKET):
 *	net -> monitor	"request COMMAND"
 *	monitor -> net	"refused WHY", or "go" and, once the receive
 *			has ended, "status N"
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "exits.h"
#include "io.h"
#include "recvd.h"
#include "xfer.h"

#define AUTH_TIMEOUT_MS	30000
#define AUTHKEYS_MAX	(1u << 20)
#define MSG_MAX		(XFER_LINE_MAX + 16)

struct conn {
	const struct server	*srv;
	const char		*peer;
	ssh_session		 s;
	ssh_channel		 ch;
	int			 authed;
	int			 tries;
	char			*command;
	char			*authkeys;	/* the file, read before the drop */
	size_t			 authlen;
	/* relay */
	int			 out_fd;	/* the receive's back channel */
	int			 out_eof;
};

void *
sshd_bind_new(const struct server *srv)
{
	ssh_bind b = ssh_bind_new();
	ssh_key key;

	if (b == NULL) {
		slog(LOG_ERR, "can't make an ssh bind");
		return NULL;
	}
	if (ssh_pki_import_privkey_file(srv->hostkey, NULL, NULL, NULL,
	    &key) != SSH_OK) {
		slog(LOG_ERR, "can't load host key %s", srv->hostkey);
		ssh_bind_free(b);
		return NULL;
	}
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_IMPORT_KEY, key) < 0) {
		slog(LOG_ERR, "host key %s: %s", srv->hostkey,
		    ssh_get_error(b));
		ssh_key_free(key);
		ssh_bind_free(b);
		return NULL;
	}
	return b;
}

/*
 * Read the authorized keys file while it can be reached: the net side
 * reads nothing once it is unprivileged in its empty root.
 */
static int
load_authkeys(struct conn *c)
{
	struct stat st;
	FILE *f;

	if ((f = fopen(c->srv->authkeys, "re")) == NULL) {
		slog(LOG_ERR, "can't open %s: %s", c->srv->authkeys,
		    strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || st.st_size > AUTHKEYS_MAX ||
	    (c->authkeys = malloc(st.st_size + 1)) == NULL) {
		slog(LOG_ERR, "%s: expected at most %u octets", c->srv->authkeys,
		    AUTHKEYS_MAX);
		fclose(f);
		return -1;
	}
	c->authlen = fread(c->authkeys, 1, st.st_size, f);
	c->authkeys[c->authlen] = '\0';
	fclose(f);
	return 0;
}

/* Is key one of the lines of the authorized keys file?  Lines with
 * options (from=, command=, ...) are skipped: honouring only part of
 * them would grant more than their writer meant. */
static int
key_authorized(const struct conn *c, ssh_key key)
{
	const char *p = c->authkeys, *end = c->authkeys + c->authlen;
	int ok = 0;

	while (!ok && p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = (nl ? nl : end) - p;
		char line[16384], *save, *type, *b64;
		enum ssh_keytypes_e t;
		ssh_key k;

		if (n < sizeof line) {
			memcpy(line, p, n);
			line[n] = '\0';
			type = strtok_r(line, " \t\r", &save);
			b64 = strtok_r(NULL, " \t\r", &save);
			if (type != NULL && *type != '#' && b64 != NULL &&
			    (t = ssh_key_type_from_name(type)) !=
			    SSH_KEYTYPE_UNKNOWN &&
			    ssh_pki_import_pubkey_base64(b64, t, &k) == SSH_OK) {
				ok = ssh_key_cmp(k, key, SSH_KEY_CMP_PUBLIC) == 0;
				ssh_key_free(k);
			}
		}
		p += n + 1;
	}
	return ok;
}

static int
on_auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
    char state, void *arg)
{
	struct conn *c = arg;

	(void)s;
	if (state != SSH_PUBLICKEY_STATE_NONE &&
	    state != SSH_PUBLICKEY_STATE_VALID)
		goto deny;
	if (!key_authorized(c, key))
		goto deny;
	/* STATE_NONE only asks whether the key would do; VALID proves it. */
	if (state == SSH_PUBLICKEY_STATE_VALID) {
		c->authed = 1;
		slog(LOG_INFO, "%s: authenticated as %s", c->peer, user);
	}
	return SSH_AUTH_SUCCESS;
deny:
	c->tries++;
	return SSH_AUTH_DENIED;
}

static int
on_exec(ssh_session s, ssh_channel ch, const char *command, void *arg)
{
	struct conn *c = arg;

	(void)s;
	(void)ch;
	if (c->command != NULL)
		return SSH_ERROR;
	c->command = strdup(command);
	return c->command ? SSH_OK : SSH_ERROR;
}

static int
on_subsystem(ssh_session s, ssh_channel ch, const char *name, void *arg)
{
	if (strcmp(name, "vm-recv") != 0)
		return SSH_ERROR;
	return on_exec(s, ch, name, arg);
}

static struct ssh_channel_callbacks_struct chan_cb = {
	.channel_exec_request_function = on_exec,
	.channel_subsystem_request_function = on_subsystem,
};

static ssh_channel
on_channel_open(ssh_session s, void *arg)
{
	struct conn *c = arg;

	if (!c->authed || c->ch != NULL)
		return NULL;
	if ((c->ch = ssh_channel_new(s)) == NULL)
		return NULL;
	chan_cb.userdata = c;
	ssh_callbacks_init(&chan_cb);
	ssh_set_channel_callbacks(c->ch, &chan_cb);
	return c->ch;
}

/* Write one line on the channel (a refusal made here, not by a child). */
static void
chan_say(struct conn *c, const char *msg)
{
	char line[XFER_LINE_MAX + 2];
	int n = snprintf(line, sizeof line, XFER_PREFIX "%s\n", msg);

	ssh_channel_write(c->ch, line, n);
}

static int
on_child_out(socket_t fd, int revents, void *arg)
{
	struct conn *c = arg;
	char buf[4096];
	ssize_t n;

	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = read(fd, buf, sizeof buf);
	if (n > 0)
		ssh_channel_write(c->ch, buf, n);
	else if (n == 0 || errno != EINTR)
		c->out_eof = 1;
	return 0;
}

/* One message of the other side, NUL-terminated; 0 at its end. */
static ssize_t
msg_recv(int fd, char *buf, size_t len)
{
	ssize_t n;

	while ((n = recv(fd, buf, len - 1, 0)) < 0 && errno == EINTR)
		;
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void
msg_send(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
msg_send(int fd, const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof buf)
		n = sizeof buf - 1;
	(void)send(fd, buf, n, MSG_NOSIGNAL);
}

/*
 * Relay until the receive has said its last line, then pass on its exit
 * status, which the monitor sends.  Channel data is drained from
 * libssh's buffer after every poll: reading is what grows the SSH window,
 * so the sender runs exactly as fast as the restore eats.
 */
static int
relay(struct conn *c, ssh_event ev, int in_fd, int ctl)
{
	char *buf = malloc(XFER_BUFSZ), msg[MSG_MAX];
	int st = VMP_EX_FAIL, n, lost = 0;

	if (buf == NULL)
		return VMP_EX_FAIL;
	ssh_event_add_fd(ev, c->out_fd, POLLIN, on_child_out, c);
	while (!c->out_eof) {
		while (in_fd >= 0 && (n = ssh_channel_read_nonblocking(c->ch,
		    buf, XFER_BUFSZ, 0)) > 0) {
			/* EPIPE: the restore stopped reading; its line
			 * says why.  Drop the rest of the input. */
			if (io_writeall(in_fd, buf, n) < 0) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (in_fd >= 0 && (n == SSH_ERROR || ssh_channel_is_eof(c->ch) ||
		    !ssh_channel_is_open(c->ch))) {
			/* Sender done, or gone: the restore sees the end of
			 * its input and decides (a cut stream is refused). */
			lost = n == SSH_ERROR || !ssh_channel_is_open(c->ch);
			close(in_fd);
			in_fd = -1;
		}
		if (lost) {
			/* Nobody to relay to: wait for the receive only. */
			char sink[4096];

			while (read(c->out_fd, sink, sizeof sink) > 0)
				;
			break;
		}
		if (ssh_event_dopoll(ev, -1) == SSH_ERROR && in_fd < 0)
			lost = 1;
	}
	ssh_event_remove_fd(ev, c->out_fd);
	if (in_fd >= 0)
		close(in_fd);
	free(buf);
	if (msg_recv(ctl, msg, sizeof msg) > 0 &&
	    sscanf(msg, "status %d", &n) == 1)
		st = n;
	if (!lost) {
		ssh_channel_request_send_exit_status(c->ch, st);
		ssh_channel_send_eof(c->ch);
		ssh_channel_close(c->ch);
	}
	return st;
}

/*
 * The net side: unprivileged from before the peer's first octet is read
 * to the end.  in_fd takes the channel's data to the receive, out_fd
 * brings its lines; ctl is the monitor.
 */
static int
net_serve(const struct server *srv, void *bind, int fd, const char *peer,
    int in_fd, int out_fd, int ctl)
{
	struct conn c = { .srv = srv, .peer = peer, .out_fd = out_fd };
	struct ssh_server_callbacks_struct cb = {
		.userdata = &c,
		.auth_pubkey_function = on_auth_pubkey,
		.channel_open_request_session_function = on_channel_open,
	};
	ssh_event ev = NULL;
	char msg[MSG_MAX];
	int rc = VMP_EX_FAIL, waited = 0;

	if (load_authkeys(&c) == -1 || (c.s = ssh_new()) == NULL)
		return VMP_EX_FAIL;
	/* Binds the session to the socket; reads nothing of the peer. */
	if (ssh_bind_accept_fd(bind, c.s, fd) != SSH_OK) {
		slog(LOG_ERR, "%s: %s", peer, ssh_get_error(bind));
		goto out;
	}
	if (privsep_drop(srv) == -1)
		goto out;
	ssh_set_auth_methods(c.s, SSH_AUTH_METHOD_PUBLICKEY);
	ssh_callbacks_init(&cb);
	ssh_set_server_callbacks(c.s, &cb);
	if (ssh_handle_key_exchange(c.s) != SSH_OK) {
		slog(LOG_NOTICE, "%s: key exchange: %s", peer,
		    ssh_get_error(c.s));
		goto out;
	}
	if ((ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(ev, c.s) != SSH_OK)
		goto out;
	while (c.command == NULL) {
		if (c.tries >= 6 || waited >= AUTH_TIMEOUT_MS ||
		    (ssh_get_status(c.s) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
			slog(LOG_NOTICE, "%s: %s", peer, c.authed ?
			    "no receive request" : "not authenticated");
			goto out;
		}
		if (ssh_event_dopoll(ev, 100) == SSH_ERROR) {
			slog(LOG_NOTICE, "%s: %s", peer, ssh_get_error(c.s));
			goto out;
		}
		waited += 100;
	}
	/* The monitor parses the request and says whether it goes. */
	msg_send(ctl, "request %.*s", XFER_LINE_MAX + 1, c.command);
	if (msg_recv(ctl, msg, sizeof msg) <= 0)
		goto out;
	if (strcmp(msg, "go") != 0) {
		chan_say(&c, msg);
		ssh_channel_request_send_exit_status(c.ch, VMP_EX_FAIL);
		ssh_channel_send_eof(c.ch);
		ssh_channel_close(c.ch);
		goto out;
	}
	rc = relay(&c, ev, in_fd, ctl);
	in_fd = -1;
out:
	if (in_fd >= 0)
		close(in_fd);
	if (ev != NULL)
		ssh_event_free(ev);
	free(c.command);
	free(c.authkeys);
	ssh_disconnect(c.s);
	ssh_free(c.s);
	return rc;
}

/*
 * The monitor: waits for the net side's one request, within the login
 * grace time (startup.c), and runs the receive of an accepted one.
 */
static int
monitor(const struct server *srv, const char *peer, pid_t net, int in_fd,
    int out_fd, int ctl)
{
	struct recv_opts ro = { .quiet = 1, .timeout = srv->timeout,
	    .config_path = srv->guest_config };
	char msg[MSG_MAX], why[256];
	int rc = VMP_EX_FAIL, st;

	if (msg_recv(ctl, msg, sizeof msg) <= 0)
		goto out;		/* the net side said why */
	if (strncmp(msg, "request ", 8) != 0) {
		slog(LOG_ERR, "%s: the net side sent no request", peer);
		kill(net, SIGKILL);
		goto out;
	}
	if (recv_parse_request(msg + 8, &ro, why, sizeof why) < 0) {
		slog(LOG_NOTICE, "%s: refused '%s': %s", peer, msg + 8, why);
		msg_send(ctl, "refused: %s", why);
		goto out;
	}
	startup_done();
	msg_send(ctl, "go");
	rc = recv_serve(in_fd, out_fd, &ro);
	close(out_fd);
	out_fd = -1;
	msg_send(ctl, "status %d", rc);
	slog(LOG_INFO, "%s: receive ended with status %d", peer, rc);
out:
	close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	close(ctl);
	while (waitpid(net, &st, 0) < 0 && errno == EINTR)
		;
	return rc;
}

int
sshd_serve(const struct server *srv, void *bind, int fd, const char *peer)
{
	int in[2], out[2], ctl[2];
	pid_t net;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		slog(LOG_ERR, "%s: %s", peer, strerror(errno));
		return VMP_EX_FAIL;
	}
	(void)fcntl(in[1], F_SETPIPE_SZ, XFER_BUFSZ);
	if ((net = fork()) < 0) {
		slog(LOG_ERR, "%s: fork: %s", peer, strerror(errno));
		return VMP_EX_FAIL;
	}
	if (net == 0) {
		close(in[0]);
		close(out[1]);
		close(ctl[0]);
		/* The monitor's copy keeps this connection counted. */
		startup_done();
		_exit(net_serve(srv, bind, fd, peer, in[1], out[0], ctl[1]));
	}
	/* The peer's socket is the net side's alone. */
	close(fd);
	close(in[1]);
	close(out[0]);
	close(ctl[1]);
	return monitor(srv, peer, net, in[0], out[1], ctl[0]);
}
