/*
 * save.h: the save engine, beside the restore engine (restore.h).
 *
 * save_guest() writes one open guest into an image stream: GUEST and
 * CONFIG, its memory in rounds, its state and END.  An offline save is
 * one round with the guest suspended from the start; a live save
 * (opts->policy set) copies memory while the guest runs, round after
 * round of the frames its dirty log names, asking the policy after each
 * round whether to go on, stop and copy, or give up.
 *
 * The never-lose-a-guest rules live here and nowhere else: whatever
 * fails, the guest is resumed; only a save that wrote a whole image
 * (END out, and synced for a file) ends with opts->then, and a guest that
 * cannot be resumed is reported as left paused, never silently lost.
 */
#ifndef SAVE_H
#define SAVE_H

#include <signal.h>
#include <stdint.h>

#include "hv.h"
#include "policy.h"
#include "progress.h"
#include "vmi.h"

/* What becomes of the guest once its image is whole. */
enum save_then {
	SAVE_DESTROY,		/* vm-save: the image is the guest now */
	SAVE_RESUME,		/* a checkpoint: the guest runs on */
	SAVE_LEAVE_PAUSED,	/* the caller decides (a migration) */
};

/* Where the guest is when save_guest() returns. */
enum save_outcome {
	SAVE_RUNNING,		/* running (resumed, or never paused) */
	SAVE_PAUSED,		/* paused: by request, or not resumable */
	SAVE_DESTROYED,
};

/* A live round's figures, as the policy saw them, for reports. */
struct save_round {
	unsigned		 round;
	uint64_t		 pages;		/* frames sent in it */
	uint64_t		 dirty;		/* frames dirtied during it */
	uint64_t		 bytes;		/* stream octets so far */
	uint64_t		 elapsed_ns;
	double			 throughput;	/* octets per second */
	double			 dirty_rate;	/* frames per second */
	struct policy_result	 decision;
};

typedef void (*save_policy_fn)(void *arg, struct policy_round *,
    struct policy_result *);

struct save_opts {
	const char		*program;	/* named in the NOTE record */
	enum save_then		 then;
	int			 zlevel;	/* zstd level; 0 none */
	int			 threads;	/* compression threads */
	int			 sync;		/* fsync fd before then */
	int			 yield;		/* the rest is cleanup: yield_cpu() */
	uint64_t		 bandwidth;	/* octets/s of pages; 0 no cap */
	/* -C: an administrator's configuration file to write in place of
	 * the guest's (hv.h's config_file()); NULL: the guest's own. */
	const char		*config_path;
	/*
	 * Live when set: called after every round with its figures (and
	 * the measured fixed cost of a pause); its decision ends the
	 * rounds.  policy_default() with a struct policy_limits is the
	 * project's policy.  NULL: offline, one round, guest suspended.
	 */
	save_policy_fn		 policy;
	void			*policy_arg;
	/* Set by a signal handler: give up (and resume the guest). */
	volatile sig_atomic_t	*stop;
	struct progress		*pr;		/* may be NULL */
	/*
	 * May be NULL: called once the guest is suspended, before the rest
	 * of its memory and its state are read (offline at the start, live
	 * before the final round) - the place to take what must be of the
	 * same instant, a checkpoint's disks.  0 goes on; -1 fails the save
	 * with why, and the guest is resumed.
	 */
	int			(*suspended)(void *arg, char *why,
				    size_t whylen);
	void			*suspended_arg;
	/* Live only, may be NULL: told every round's figures. */
	void			(*on_round)(void *arg,
				    const struct save_round *);
	void			*arg;
};

struct save_result {
	enum save_outcome	 outcome;
	struct hv_info		 info;		/* the guest, as described */
	struct vmi_wstats	 ws;		/* the stream written */
	unsigned		 rounds;	/* live: rounds, final included */
	uint64_t		 round_pages[64]; /* frames of the first 64 */
	uint64_t		 total_ns;	/* the whole save */
	uint64_t		 pause_ns;	/* suspended until END was out */
	uint64_t		 pause_wall_ns;	/* CLOCK_REALTIME of the suspend */
	struct policy_result	 last;		/* live: the final decision */
	int			 aborted;	/* the policy said give up */
	int			 touched;	/* paused, or logged, at all */
	int			 then_failed;	/* whole, but then failed */
	char			 err[VMI_ERRLEN];
};

/*
 * Save the open guest g of backend ops into fd.  Returns 0 when the image
 * is whole (res->then_failed tells whether opts->then could be carried
 * out, with the reason in res->err), or -1 when it is not: res->err says
 * why, res->aborted whether the policy gave up, and res->outcome is
 * SAVE_RUNNING unless the guest could not be resumed (SAVE_PAUSED).
 * Never exits, never prints but through opts->pr; g stays open.
 */
int	save_guest(const struct hv_ops *ops, struct hv_guest *g, int fd,
	    const struct save_opts *opts, struct save_result *res);

#endif /* SAVE_H */
