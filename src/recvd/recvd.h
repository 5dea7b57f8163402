/*
 * recvd.h: vm-recvd's parts, the relocation server: its settings, the
 * listener, each connection's process (plain or SSH, privilege
 * separated), and the request that names the receive engine's options
 * (receive.h).
 */
#ifndef RECVD_H
#define RECVD_H

#include <limits.h>
#include <regex.h>
#include <sys/types.h>

#include "receive.h"

/*
 * Parse a receive request: the command of an SSH exec request, or the
 * first line of a plain connection ("vm-recv [--name N] [--paused] [-q]",
 * words quoted as a POSIX shell would).  0, or -1 with a reason in why.
 */
int	recv_parse_request(const char *cmd, struct recv_opts *,
	    char *why, size_t len);

/* The relocation server's settings: options, then the config file. */
struct server {
	char		*address;	/* NULL: every address */
	int		 port;
	char		*hosts_allow;	/* space-separated regexes */
	char		*hostkey;
	char		*authkeys;
	char		*pidfile;
	int		 plain;
	int		 daemon;
	int		 quiet;
	int		 timeout;	/* -t: each receive's deadlines, s */
	int		 max_startups;	/* unauthenticated connections */
	int		 per_source;	/* the same, from one address */
	int		 grace;		/* s from accept to a request */
	const char	*guest_config;	/* -C: every guest's configuration */
	/* privsep.c: the unprivileged side's user ((uid_t)-1: none) and
	 * its root directory */
	uid_t		 sep_uid;
	gid_t		 sep_gid;
	char		 sep_dir[PATH_MAX];
	/* compiled hosts_allow: address patterns, then name patterns */
	regex_t		*allow;
	int		 nallow;
	int		 naddr;		/* allow[0 .. naddr-1]: addresses */
};

/* The bounds' defaults, sshd's MaxStartups, PerSourceMaxStartups and
 * LoginGraceTime (OpenSSH's are 10, none and 120 s). */
#define SERVER_MAX_STARTUPS	10
#define SERVER_PER_SOURCE	3
#define SERVER_GRACE		30

/* startup.c: a connection's end of the server's count (see there). */
void	startup_begin(int fd, int grace);  /* in the child, first */
void	startup_done(void);	/* a request was accepted */

/* Read `key value' lines from path into unset fields of s.  0 or -1
 * (message printed). */
int	server_config(struct server *s, const char *path);
/* Compile s->hosts_allow.  0 or -1 (message printed). */
int	server_compile_allow(struct server *s);
/* Has hosts-allow patterns for names (then the peer's name is looked up)? */
int	server_allow_names(const struct server *s);
/* May the peer connect?  addr is its numeric address; name its
 * forward-confirmed name, or NULL. */
int	server_allowed(const struct server *s, const char *addr,
	    const char *name);

/* privsep.c: find the unprivileged side's user and make its empty root
 * (rundir/empty), before serving; drop to them in a connection's child.
 * 0 or -1 (logged). */
int	privsep_prepare(struct server *s);
int	privsep_drop(const struct server *s);

/* Listen and serve until killed.  Returns an exit status. */
int	server_run(struct server *s);

/* One SSH connection (fd, already accepted and allowed).  Runs in the
 * connection's own process; returns its exit status. */
int	sshd_serve(const struct server *s, void *bind, int fd,
	    const char *peer);
/* Load the host key into a new libssh bind, once, before forking. */
void	*sshd_bind_new(const struct server *s);

/* log.c: log a line: stderr in the foreground, syslog when daemonized. */
void	slog(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
extern int slog_syslog;

#endif /* RECVD_H */
