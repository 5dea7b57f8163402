/*
 * send.h: vm-send's transports and the delivery protocol on top of them.
 */
#ifndef SEND_H
#define SEND_H

#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

#include "xfer.h"

struct send_opts {
	const char	*host;		/* without user@ and :port */
	const char	*user;		/* NULL: from ssh config or $USER */
	int		 port;		/* 0: the transport's default */
	const char	*identity;	/* -i */
	const char	*known_hosts;	/* -K */
	const char	*ciphers;	/* -c */
	const char	*command;	/* -e, or "vm-recv" */
	const char	*name;		/* --name: passed on */
	int		 paused;	/* --paused: passed on */
	int		 relocation;	/* -r */
	int		 plain;		/* --plain */
	int		 quiet;		/* -q */
	int		 verbose;	/* -v */
	int		 timeout;	/* -t: s, each phase's deadline */
	const char	*hold;		/* --hold: fence this guest here */
	const char	*status;	/* --status: ask about this name */
};

/* Each wait's deadline, in seconds: -t, or the default. */
static inline int
send_deadline_s(const struct send_opts *o)
{
	return o->timeout > 0 ? o->timeout : XFER_GO_TIMEOUT;
}

/* Set by SIGINT, SIGTERM and SIGHUP; the pump decides what they mean. */
extern volatile sig_atomic_t send_interrupted;

/* The return value of xport_ops.read at the end of the back channel. */
#define XP_EOF		(-2)

struct xport;

struct xport_ops {
	/* Send all n octets, or -1 (message in xp->err). */
	int	(*write)(struct xport *, const void *, size_t n);
	/* Back-channel octets: wait up to timeout ms (-1 forever, 0 not at
	 * all).  Returns > 0, 0 when nothing came in time, XP_EOF, or -1. */
	ssize_t	(*read)(struct xport *, void *, size_t, int timeout);
	/* No more data from us; the back channel stays open.  0 or -1. */
	int	(*shutdown)(struct xport *);
	void	(*close)(struct xport *);
};

struct xport {
	const struct xport_ops	*ops;
	char			 err[512];
};

/* Connect; on failure NULL with a message in err.  The ssh one runs the
 * receive command in a session channel. */
struct xport	*xport_ssh_open(const struct send_opts *, const char *command,
		    char *err, size_t errlen);
struct xport	*xport_plain_open(const struct send_opts *, char *err,
		    size_t errlen);

/* Deliver the image on fd in over xp (preflight, stream, ack).  Returns
 * an exit status (VMP_EX_*, exits.h), having said why on stderr. */
int	send_stream(struct xport *xp, int in, const struct send_opts *);

/* Ask the far side about o->status and print its answer line on stdout.
 * 0 when it answered (whatever the state), else an exit status. */
int	send_status(struct xport *xp, const struct send_opts *);

#endif /* SEND_H */
