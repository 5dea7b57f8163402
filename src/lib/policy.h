/*
 * policy.h: when to stop copying a running guest.  After every round the
 * pre-copy loop hands the round's figures to policy_decide(), which says
 * go on, stop and copy the rest with the guest paused, or give up.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdint.h>

enum policy_decision {
	POLICY_CONTINUE,
	POLICY_STOP_AND_COPY,
	POLICY_ABORT,
};

struct policy_limits {
	uint64_t	downtime_ns;	/* target for the final pause */
	unsigned	max_rounds;	/* live rounds at most */
	uint64_t	max_bytes;	/* octets sent before giving up */
	int		fallback;	/* non-convergence: 1 stop, 0 abort */
};

struct policy_round {
	unsigned	round;		/* the round just finished */
	uint64_t	sent_pages;	/* in that round */
	uint64_t	dirty_pages;	/* dirtied during it: next round's */
	uint64_t	elapsed_ns;	/* its duration */
	uint64_t	total_bytes;	/* octets sent so far, all rounds */
	double		throughput;	/* measured, octets per second */
	uint64_t	fixed_ns;	/* measured cost: pause, state, resume */
	uint64_t	best_dirty;	/* the smallest dirty_pages so far */
	unsigned	stalled;	/* rounds in a row without progress */
};

struct policy_result {
	enum policy_decision	decision;
	uint64_t		predicted_ns;	/* final pause if we stopped now */
	const char		*why;
};

void	policy_decide(const struct policy_limits *, struct policy_round *,
	    struct policy_result *);

/* policy_decide() in the shape of the save engine's policy callback:
 * arg is a const struct policy_limits *. */
void	policy_default(void *limits, struct policy_round *,
	    struct policy_result *);

#endif /* POLICY_H */
