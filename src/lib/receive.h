/*
 * receive.h: the receive engine: one image (or bundle) read from a
 * stream and restored here, with the back channel (xfer.h) spoken to the
 * sender.  vm-recv runs it on its stdin; the relocation server (vm-recvd)
 * in each connection's process.
 */
#ifndef RECEIVE_H
#define RECEIVE_H

#include "vmi_format.h"

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

#endif /* RECEIVE_H */
