/*
 * bfeed.h: the feeder of a bundle's receive (bfeed.c says how it works).
 * The receive engine (receive.c) starts it and waits on its state.
 */
#ifndef BFEED_H
#define BFEED_H

#include <limits.h>
#include <pthread.h>

#include "bundle.h"
#include "vmi_format.h"
#include "xfer.h"

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

#endif /* BFEED_H */
