/*
 * server.c: the relocation server, as xend's relocation server was: it
 * listens on one address and port, admits peers by hosts-allow, and runs
 * each connection in its own process, so that several guests can arrive
 * at once and a failed receive never takes the server down.  Two streams
 * for one guest name are kept apart by the receive lock (receive.c).
 *
 * Until a connection has made an accepted request it is counted, as
 * sshd counts its unauthenticated connections: at most max-startups in
 * all and per-source-max-startups from one address, each with
 * login-grace-time seconds for everything before its request, the key
 * exchange included (startup.c).  Connections over a limit are closed
 * at once, so idle peers cannot hold the server's processes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "exits.h"
#include "io.h"
#include "recvd.h"
#include "xfer.h"

/* How long a plain connection may take to say what it wants. */
#define REQUEST_TIMEOUT_MS	10000

static int
listen_on(const struct server *s)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE,
	}, *res, *ai;
	char port[16];
	int fd = -1, one = 1, zero = 0, rc, saved = 0;

	snprintf(port, sizeof port, "%d", s->port);
	/* No address: one IPv6 socket that takes IPv4 too, else IPv4. */
	if (s->address == NULL)
		hints.ai_family = AF_INET6;
	rc = getaddrinfo(s->address, port, &hints, &res);
	if (rc != 0 && s->address == NULL) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(NULL, port, &hints, &res);
	}
	if (rc != 0) {
		slog(LOG_ERR, "%s: %s", s->address ? s->address : "*",
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6 && s->address == NULL)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			    sizeof zero);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 16) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		slog(LOG_ERR, "can't listen on %s port %d: %s",
		    s->address ? s->address : "*", s->port, strerror(saved));
	return fd;
}

/* The peer's numeric address, IPv4 shown as such even on an IPv6 socket. */
static void
peer_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in6 *a6 = (const void *)ss;

	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, len);
	else if (getnameinfo((const void *)ss, sizeof *ss, buf, len, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(buf, len, "?");
}

/*
 * Close a plain connection so that our last line reaches the peer: a
 * socket closed with unread input is reset, and a reset can overtake
 * the line.  So stop sending, and read until the peer closes (briefly).
 */
static void
linger_close(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char sink[65536];
	uint64_t end = now_ns() + 2000000000ull;

	shutdown(fd, SHUT_WR);
	while (now_ns() < end && poll(&pfd, 1, 100) >= 0)
		if ((pfd.revents & POLLIN) && read(fd, sink, sizeof sink) <= 0)
			break;
	close(fd);
}

/* Plain TCP: one request line, then the stream; lines go back on it. */
static int
serve_plain(const struct server *s, int fd, const char *peer)
{
	struct recv_opts ro = { .quiet = 1, .timeout = s->timeout,
	    .config_path = s->guest_config };
	char line[XFER_LINE_MAX + 1], why[256];
	size_t n = 0;
	int rc;

	/* Byte by byte: nothing after the newline may be taken from the
	 * stream, which the receive reads from this same socket.  The
	 * request comes at once or not at all. */
	while (n < XFER_LINE_MAX) {
		ssize_t r;

		if (io_wait_readable(fd, REQUEST_TIMEOUT_MS) == 0) {
			slog(LOG_NOTICE, "%s: no request within %d s", peer,
			    REQUEST_TIMEOUT_MS / 1000);
			return VMP_EX_FAIL;
		}
		r = read(fd, line + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VMP_EX_FAIL;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (recv_parse_request(line, &ro, why, sizeof why) < 0) {
		dprintf(fd, XFER_PREFIX "refused: %s\n", why);
		slog(LOG_NOTICE, "%s: refused '%s': %s", peer, line, why);
		linger_close(fd);
		return VMP_EX_FAIL;
	}
	startup_done();
	rc = recv_serve(fd, fd, &ro);
	linger_close(fd);
	slog(LOG_INFO, "%s: receive ended with status %d", peer, rc);
	return rc;
}

/*
 * The peer's name in name, if its address has one that resolves back to
 * that address; else NULL.  A reverse name alone is whatever the owner
 * of the address's reverse zone says.
 */
static const char *
confirmed_name(const struct sockaddr_storage *ss, const char *addr,
    char *name, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int ok = 0;

	if (getnameinfo((const void *)ss, sizeof *ss, name, len, NULL, 0,
	    NI_NAMEREQD) != 0)
		return NULL;
	if (getaddrinfo(name, NULL, &hints, &res) == 0) {
		for (ai = res; ai != NULL && !ok; ai = ai->ai_next) {
			struct sockaddr_storage a = { 0 };
			char buf[INET6_ADDRSTRLEN];

			if (ai->ai_addrlen > sizeof a)
				continue;
			memcpy(&a, ai->ai_addr, ai->ai_addrlen);
			peer_addr(&a, buf, sizeof buf);
			ok = strcmp(buf, addr) == 0;
		}
		freeaddrinfo(res);
	}
	if (!ok) {
		slog(LOG_NOTICE, "%s: its name %s does not resolve back to it: "
		    "not used", addr, name);
		return NULL;
	}
	return name;
}

static void
serve_one(struct server *s, void *bind, int fd,
    const struct sockaddr_storage *ss, const char *addr)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	char name[NI_MAXHOST];
	const char *rname = NULL;

	/* This process waits for its own children. */
	sigaction(SIGCHLD, &sa, NULL);
	if (server_allow_names(s))
		rname = confirmed_name(ss, addr, name, sizeof name);
	if (!server_allowed(s, addr, rname)) {
		slog(LOG_WARNING, "%s%s%s%s: refused: not in hosts-allow",
		    addr, rname ? " (" : "", rname ? rname : "",
		    rname ? ")" : "");
		if (s->plain) {
			dprintf(fd, XFER_PREFIX "refused: host %s is not "
			    "allowed to migrate guests here\n", addr);
			linger_close(fd);
		}
		_exit(VMP_EX_FAIL);
	}
	slog(LOG_INFO, "%s: connected", addr);
	io_keepalive(fd);
	_exit(s->plain ? serve_plain(s, fd, addr) :
	    sshd_serve(s, bind, fd, addr));
}

static int
write_pidfile(const char *path, pid_t pid)
{
	char buf[32];
	int fd, n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || io_writeall(fd, buf, n) < 0) {
		slog(LOG_ERR, "can't write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
daemonize(const struct server *s)
{
	pid_t pid = fork();
	int null;

	if (pid < 0) {
		slog(LOG_ERR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		/* The pid file is there when the starter gets control. */
		_exit(s->pidfile && write_pidfile(s->pidfile, pid) < 0 ?
		    VMP_EX_FAIL : 0);
	}
	setsid();
	if (chdir("/") < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	openlog("vm-recv", LOG_PID, LOG_DAEMON);
	slog_syslog = 1;
	return 0;
}

/*
 * The connections that have not yet made an accepted request: pfd[i].fd
 * is our end of connection i's pipe (-1: a free slot), addr[i] its peer.
 */
typedef char startup_addr[INET6_ADDRSTRLEN];

/* Free the slots whose connection got through (or died): poll said so. */
static void
startup_reap(const struct server *s, struct pollfd *pfd)
{
	for (int i = 0; i < s->max_startups; i++)
		if (pfd[i].fd >= 0 && pfd[i].revents != 0) {
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
}

/* May one more connection from addr start?  If not, say which limit
 * stops it in why. */
static int
startup_room(const struct server *s, const struct pollfd *pfd,
    const startup_addr *sa, const char *addr, char *why, size_t len)
{
	int total = 0, same = 0;

	for (int i = 0; i < s->max_startups; i++)
		if (pfd[i].fd >= 0) {
			total++;
			same += strcmp(sa[i], addr) == 0;
		}
	if (total >= s->max_startups)
		snprintf(why, len, "%d connections are waiting to be "
		    "authenticated (max-startups %d)", total,
		    s->max_startups);
	else if (same >= s->per_source)
		snprintf(why, len, "%d connections from it are waiting to "
		    "be authenticated (per-source-max-startups %d)", same,
		    s->per_source);
	else
		return 1;
	return 0;
}

int
server_run(struct server *s)
{
	struct sigaction sa = { .sa_handler = SIG_DFL, .sa_flags =
	    SA_NOCLDWAIT };
	startup_addr *peer;
	struct pollfd *pfd;
	void *bind = NULL;
	int lfd;

	if (s->max_startups == 0)
		s->max_startups = SERVER_MAX_STARTUPS;
	if (s->per_source == 0)
		s->per_source = SERVER_PER_SOURCE;
	if (s->grace == 0)
		s->grace = SERVER_GRACE;
	/* pfd[max_startups] is the listening socket. */
	if ((peer = calloc(s->max_startups, sizeof *peer)) == NULL ||
	    (pfd = calloc(s->max_startups + 1, sizeof *pfd)) == NULL) {
		slog(LOG_ERR, "%s", strerror(errno));
		return VMP_EX_FAIL;
	}
	for (int i = 0; i < s->max_startups; i++) {
		pfd[i].fd = -1;
		pfd[i].events = POLLIN;
	}

	if (!s->plain && ((bind = sshd_bind_new(s)) == NULL ||
	    privsep_prepare(s) == -1))
		return VMP_EX_FAIL;
	if ((lfd = listen_on(s)) < 0)
		return VMP_EX_FAIL;
	if (s->daemon && daemonize(s) < 0)
		return VMP_EX_FAIL;
	if (!s->daemon && s->pidfile && write_pidfile(s->pidfile,
	    getpid()) < 0)
		return VMP_EX_FAIL;
	/* Connections are reaped by the kernel; each waits for its own. */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	slog(LOG_INFO, "listening on %s port %d (%s)",
	    s->address ? s->address : "*", s->port,
	    s->plain ? "plain TCP" : "ssh");

	pfd[s->max_startups].fd = lfd;
	pfd[s->max_startups].events = POLLIN;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char addr[INET6_ADDRSTRLEN], why[160];
		int fd, slot, sp[2];
		pid_t pid;

		/* Wait for a connection, freeing slots as they come free. */
		if (poll(pfd, (nfds_t)s->max_startups + 1, -1) < 0)
			continue;
		startup_reap(s, pfd);
		if (!(pfd[s->max_startups].revents & POLLIN))
			continue;
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EAGAIN)
				slog(LOG_ERR, "accept: %s", strerror(errno));
			continue;
		}
		peer_addr(&ss, addr, sizeof addr);
		if (!startup_room(s, pfd, peer, addr, why, sizeof why)) {
			slog(LOG_WARNING, "%s: refused: %s", addr, why);
			close(fd);
			continue;
		}
		for (slot = 0; pfd[slot].fd >= 0; slot++)
			;
		if (pipe2(sp, O_CLOEXEC) < 0) {
			slog(LOG_ERR, "pipe: %s", strerror(errno));
			close(fd);
			continue;
		}
		if ((pid = fork()) < 0)
			slog(LOG_ERR, "fork: %s", strerror(errno));
		else if (pid == 0) {
			close(lfd);
			close(sp[0]);
			for (int i = 0; i < s->max_startups; i++)
				if (pfd[i].fd >= 0)
					close(pfd[i].fd);
			startup_begin(sp[1], s->grace);
			serve_one(s, bind, fd, &ss, addr);
		}
		close(sp[1]);
		if (pid < 0)
			close(sp[0]);
		else {
			pfd[slot].fd = sp[0];
			snprintf(peer[slot], sizeof peer[slot], "%s", addr);
		}
		close(fd);
	}
}
