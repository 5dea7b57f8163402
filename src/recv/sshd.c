/*
 * sshd.c: one SSH connection to the relocation server (libssh server).
 *
 * Only public-key authentication against the server's authorized_keys
 * file is offered, and the only thing a peer may ask for is one session
 * channel whose exec request is a receive ("vm-recv [--name N] [--paused]",
 * parsed, never given to a shell).  The receive itself runs in a child
 * process fed through pipes, and this process relays: channel data to
 * the child's input, the child's back-channel lines to the channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "exits.h"
#include "io.h"
#include "recv.h"
#include "xfer.h"

#define AUTH_TIMEOUT_MS	30000

struct conn {
	const struct server	*srv;
	const char		*peer;
	ssh_session		 s;
	ssh_channel		 ch;
	int			 authed;
	int			 tries;
	char			*command;
	/* relay */
	int			 out_fd;	/* child's back channel */
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

/* Is key one of the lines of the authorized keys file?  Lines with
 * options (from=, command=, ...) are skipped: honouring only part of
 * them would grant more than their writer meant. */
static int
key_authorized(const struct server *srv, ssh_key key)
{
	char line[16384];
	int ok = 0;
	FILE *f;

	if ((f = fopen(srv->authkeys, "re")) == NULL) {
		slog(LOG_ERR, "can't open %s: %s", srv->authkeys,
		    strerror(errno));
		return 0;
	}
	while (!ok && fgets(line, sizeof line, f) != NULL) {
		char *save, *type = strtok_r(line, " \t\r\n", &save);
		char *b64 = strtok_r(NULL, " \t\r\n", &save);
		enum ssh_keytypes_e t;
		ssh_key k;

		if (type == NULL || *type == '#' || b64 == NULL)
			continue;
		if ((t = ssh_key_type_from_name(type)) == SSH_KEYTYPE_UNKNOWN)
			continue;
		if (ssh_pki_import_pubkey_base64(b64, t, &k) != SSH_OK)
			continue;
		ok = ssh_key_cmp(k, key, SSH_KEY_CMP_PUBLIC) == 0;
		ssh_key_free(k);
	}
	fclose(f);
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
	if (!key_authorized(c->srv, key))
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

/*
 * Relay until the child has said its last line.  Channel data is drained
 * from libssh's buffer after every poll: reading is what grows the SSH
 * window, so the sender runs exactly as fast as the restore eats.
 */
static int
relay(struct conn *c, ssh_event ev, pid_t pid, int in_fd)
{
	char *buf = malloc(XFER_BUFSZ);
	int st = 0, n, lost = 0;

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
			/* Nobody to relay to: wait for the child only. */
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
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : VMP_EX_FAIL;
	if (!lost) {
		ssh_channel_request_send_exit_status(c->ch, st);
		ssh_channel_send_eof(c->ch);
		ssh_channel_close(c->ch);
	}
	return st;
}

/* Start the receive in a child; the relay keeps the ends it needs. */
static int
start_receive(struct conn *c, const struct recv_opts *ro, int fd,
    pid_t *pid, int *in_fd)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	(void)fcntl(in[1], F_SETPIPE_SZ, XFER_BUFSZ);
	if ((*pid = fork()) < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (*pid == 0) {
		close(fd);
		close(in[1]);
		close(out[0]);
		_exit(recv_serve(in[0], out[1], ro));
	}
	close(in[0]);
	close(out[1]);
	*in_fd = in[1];
	c->out_fd = out[0];
	return 0;
}

int
sshd_serve(const struct server *srv, void *bind, int fd, const char *peer)
{
	struct conn c = { .srv = srv, .peer = peer, .out_fd = -1 };
	struct ssh_server_callbacks_struct cb = {
		.userdata = &c,
		.auth_pubkey_function = on_auth_pubkey,
		.channel_open_request_session_function = on_channel_open,
	};
	struct recv_opts ro = { .quiet = 1, .timeout = srv->timeout };
	ssh_event ev = NULL;
	char why[256];
	int rc = VMP_EX_FAIL, waited = 0, in_fd;
	pid_t pid;

	if ((c.s = ssh_new()) == NULL)
		return VMP_EX_FAIL;
	if (ssh_bind_accept_fd(bind, c.s, fd) != SSH_OK) {
		slog(LOG_ERR, "%s: %s", peer, ssh_get_error(bind));
		goto out;
	}
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
	if (recv_parse_request(c.command, &ro, why, sizeof why) < 0) {
		slog(LOG_NOTICE, "%s: refused '%s': %s", peer, c.command, why);
		char line[XFER_LINE_MAX];

		snprintf(line, sizeof line, "refused: %s", why);
		chan_say(&c, line);
		ssh_channel_request_send_exit_status(c.ch, VMP_EX_FAIL);
		ssh_channel_send_eof(c.ch);
		ssh_channel_close(c.ch);
		rc = VMP_EX_FAIL;
		goto out;
	}
	startup_done();
	if (start_receive(&c, &ro, fd, &pid, &in_fd) < 0) {
		snprintf(why, sizeof why, "error: %s", strerror(errno));
		chan_say(&c, why);
		goto out;
	}
	rc = relay(&c, ev, pid, in_fd);
	slog(LOG_INFO, "%s: receive ended with status %d", peer, rc);
out:
	if (c.out_fd >= 0)
		close(c.out_fd);
	if (ev != NULL)
		ssh_event_free(ev);
	free(c.command);
	ssh_disconnect(c.s);
	ssh_free(c.s);
	return rc;
}
