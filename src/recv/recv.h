/*
 * recv.h: vm-recv's parts: one receive (stdin mode, or one connection of
 * the relocation server) and the relocation server around it.
 */
#ifndef RECV_H
#define RECV_H

#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle.h"
#include "vmi_format.h"
#include "xfer.h"

struct recv_opts {
	const char	*name;		/* --name, or NULL: the image's */
	int		 clone;		/* --as: a fresh UUID (and MACs) */
	int		 paused;	/* --paused */
	int		 quiet;		/* -q: no progress line */
	int		 handover;	/* --handover: resume only on go */
	int		 timeout;	/* --timeout: s, each phase's deadline */
	const char	*status;	/* --status: ask about this name */
	const char	*config_path;	/* -C: the guest's configuration */
	char		 namebuf[VMI_NAME_MAX];	/* holds a parsed --name */
};

/*
 * Receive one image from in and restore it, speaking the back channel
 * (xfer.h) on out.  Returns the exit status: 0 only when the guest runs
 * (or, with paused, is ready paused).
 */
int	recv_stream(int in, int out, const struct recv_opts *);

/*
 * Answer a --status request for o->status on out: one line `status NAME
 * STATE' (xfer.h), or `error: ...' when no backend can be asked.  Returns
 * the exit status.
 */
int	recv_status(int out, const struct recv_opts *);
/* A request of a relocation server: the receive or the question. */
int	recv_serve(int in, int out, const struct recv_opts *);

/* bundle.c: the feeder of a bundle's receive (see there). */
enum {
	BFEED_FAILED = -1,	/* err says why; refused: a policy's no */
	BFEED_READING,		/* the MANIFEST is not in yet */
	BFEED_MANIFEST,		/* guest known, disks made: the image next */
	BFEED_IMAGE,		/* the image's first records scanned */
	BFEED_WHOLE,		/* all of it checked, the disks synced */
};
struct bfeed {
	int		 in, out;	/* the connection; the restore's pipe */
	const void	*pre;		/* octets already read from in */
	size_t		 prelen;
	int		 timeout_ms;	/* of silence from the sender */
	volatile int	 idle;		/* the sender went silent after it */
	/* Set by the feeder; read under mu once state says so. */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 state;
	int		 refused;
	char		 err[1024];
	char		 guest[VMI_NAME_MAX];
	unsigned	 ndisks;
	char		 path[BUNDLE_DISKS_MAX][PATH_MAX];
	const char	*paths[BUNDLE_DISKS_MAX];
	int		 fd[BUNDLE_DISKS_MAX];
	struct xfer_scan scan;		/* of the image's first records */
	size_t		 scanned;
	struct bundle_stats st;
};
/* Start the feeder on b (in, out, pre, prelen, timeout_ms set).  0 or
 * -1 with errno. */
int	bfeed_start(struct bfeed *);
/* Wait until the state is past past, or failed; returns the state. */
int	bfeed_wait(struct bfeed *, int past);
/* Remove the disks made (a receive that failed). */
void	bfeed_unmake(struct bfeed *);

/* guard.c: the guardian of one receive (see there). */
struct guard {
	int	fd;		/* our end of its pipe; -1: none */
	/* Set before guard_start(): files the receive made, removed with
	 * a guest that is not kept. */
	const char *const *disks;
	unsigned ndisks;
};
/* Fork the guardian of the guest name (backend VMI_BACKEND_*), holding
 * lockfd and removing lock should the receive die.  0 or -1. */
int	guard_start(struct guard *, const char *name, uint32_t backend,
	    const char *lock, int lockfd);
void	guard_made(struct guard *);	/* the guest exists now */
void	guard_twin(struct guard *);	/* it is built as NAME--incoming */
void	guard_go(struct guard *);	/* the sender said go */
void	guard_keep(struct guard *);	/* it runs: keep it whatever comes */
void	guard_done(struct guard *);	/* the receive's work is over */

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

#endif /* RECV_H */
