/*
 * restore.h: restore a guest from an image stream as it arrives.
 * Shared by vm-restore and vm-recv.
 */
#ifndef RESTORE_H
#define RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "hv.h"

struct restore_result {
	struct hv_info	info;		/* the guest as restored */
	uint64_t	records;
	uint64_t	pages;		/* page records' frames applied */
	uint64_t	bytes;		/* stream octets read */
	uint64_t	resume_ns;	/* CLOCK_REALTIME when resumed */
};

struct restore_opts {
	const char	*name;		/* new name, or NULL to keep */
	int		 clone;		/* fresh UUID (and MACs): --as */
	int		 paused;	/* leave the guest paused */
	const char	*backend;	/* NULL: the image's */
	/*
	 * Called once the GUEST and CONFIG records have been read and
	 * checked against this host, before any memory arrives: ok = 1,
	 * msg = NULL; or the guest was refused: ok = 0 and msg says why.
	 * May be NULL.
	 */
	void		(*preflight)(void *arg, int ok, const char *msg);
	void		*arg;
	/*
	 * Called once the guest runs (or is committed, with paused), before
	 * restore_stream() releases its hold of the guest's memory, which
	 * for a large guest takes a while: the place for an acknowledgement
	 * that the far side waits on.  May be NULL.
	 */
	void		(*running)(void *arg, const struct restore_result *);
	int		 progress;	/* progress line on stderr */
};


/*
 * Read an image from fd, create the guest, apply pages and state as they
 * come, and, when END checks, commit and (unless opts->paused) resume it.
 * Returns 0, or -1 with a message in err: then no guest is left behind.
 */
int	restore_stream(int fd, const struct restore_opts *opts,
	    struct restore_result *res, char *err, size_t errlen);

#endif /* RESTORE_H */
