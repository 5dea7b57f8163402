/*
 * test_policy.c: the pre-copy policy, table-driven.  Each row is a
 * sequence of rounds (throughput, dirty frames, octets so far) under one
 * set of limits, and the decision expected after each of them.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define MB		1000000.0
#define MS		1000000ull
#define C		POLICY_CONTINUE
#define S		POLICY_STOP_AND_COPY
#define A		POLICY_ABORT
#define MAXR		8

struct step {
	uint64_t		dirty;
	double			throughput;	/* octets per second */
	uint64_t		total_bytes;
	enum policy_decision	want;
};

struct row {
	const char		*name;
	struct policy_limits	 lim;
	uint64_t		 fixed_ns;
	struct step		 steps[MAXR];
	unsigned		 nsteps;
	const char		*why;		/* of the last decision */
};

static const struct row rows[] = {
	{ "converges: the dirty set shrinks below the target",
	    { 30 * MS, 30, 0, 1 }, 2 * MS,
	    { { 20000, 100 * MB, 0, C }, { 5000, 100 * MB, 0, C },
	      { 400, 100 * MB, 0, S } }, 3,
	    "predicted pause within the downtime target" },
	{ "the first round may already be enough",
	    { 30 * MS, 30, 0, 1 }, 1 * MS, { { 10, 1000 * MB, 0, S } }, 1,
	    "predicted pause within the downtime target" },
	{ "the fixed cost counts: pages alone would fit, with it they don't",
	    { 30 * MS, 2, 0, 1 }, 29 * MS,
	    { { 1000, 1000 * MB, 0, C }, { 900, 1000 * MB, 0, S } }, 2,
	    "reached the maximum number of rounds" },
	{ "stall: two rounds without 5 % progress fall back to stop-and-copy",
	    { 30 * MS, 30, 0, 1 }, 1 * MS,
	    { { 50000, 100 * MB, 0, C }, { 49000, 100 * MB, 0, C },
	      { 48500, 100 * MB, 0, S } }, 3,
	    "not converging: the dirty set no longer shrinks" },
	{ "stall without fallback aborts",
	    { 30 * MS, 30, 0, 0 }, 1 * MS,
	    { { 50000, 100 * MB, 0, C }, { 50000, 100 * MB, 0, C },
	      { 50000, 100 * MB, 0, A } }, 3,
	    "not converging: the dirty set no longer shrinks" },
	{ "one slow round is not a stall",
	    { 30 * MS, 30, 0, 1 }, 1 * MS,
	    { { 50000, 100 * MB, 0, C }, { 49900, 100 * MB, 0, C },
	      { 20000, 100 * MB, 0, C }, { 19900, 100 * MB, 0, C },
	      { 10, 100 * MB, 0, S } }, 5,
	    "predicted pause within the downtime target" },
	{ "a dirty set that rises and falls about one level is a stall",
	    { 30 * MS, 30, 0, 1 }, 1 * MS,
	    { { 1918, 8 * MB, 0, C }, { 2598, 8 * MB, 0, C },
	      { 442, 8 * MB, 0, C }, { 236, 8 * MB, 0, C },
	      { 246, 8 * MB, 0, C }, { 88, 8 * MB, 0, C },
	      { 232, 8 * MB, 0, C }, { 126, 8 * MB, 0, S } }, 8,
	    "not converging: the dirty set no longer shrinks" },
	{ "max rounds",
	    { 1 * MS, 3, 0, 1 }, 0,
	    { { 90000, 100 * MB, 0, C }, { 60000, 100 * MB, 0, C },
	      { 30000, 100 * MB, 0, S } }, 3,
	    "reached the maximum number of rounds" },
	{ "max bytes",
	    { 1 * MS, 30, 300000000, 0 }, 0,
	    { { 90000, 100 * MB, 100000000, C },
	      { 60000, 100 * MB, 300000000, A } }, 2,
	    "reached the maximum of octets sent" },
	{ "bandwidth: a slow stream predicts a long pause",
	    { 30 * MS, 30, 0, 1 }, 1 * MS,
	    { { 1000, 1 * MB, 0, C }, { 500, 1 * MB, 0, C },
	      { 5, 1 * MB, 0, S } }, 3,
	    "predicted pause within the downtime target" },
	{ "the same dirty set fits at a fast stream",
	    { 30 * MS, 30, 0, 1 }, 1 * MS, { { 1000, 1000 * MB, 0, S } }, 1,
	    "predicted pause within the downtime target" },
	{ "nothing dirty, but the fixed cost alone is above the target",
	    { 1 * MS, 30, 0, 1 }, 5 * MS,
	    { { 100, 100 * MB, 0, C }, { 0, 100 * MB, 0, S } }, 2,
	    "nothing left to copy, but the fixed cost of the pause alone "
	    "exceeds the downtime target" },
	{ "nothing dirty, fixed cost above the target, no fallback",
	    { 1 * MS, 30, 0, 0 }, 5 * MS, { { 0, 100 * MB, 0, A } }, 1,
	    "nothing left to copy, but the fixed cost of the pause alone "
	    "exceeds the downtime target" },
	{ "no throughput measured yet: assume 1 GB/s",
	    { 30 * MS, 30, 0, 1 }, 0, { { 1000, 0, 0, S } }, 1,
	    "predicted pause within the downtime target" },
};

int
main(void)
{
	unsigned checks = 0, failures = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];
		struct policy_round r;
		struct policy_result res = { 0 };

		memset(&r, 0, sizeof(r));
		for (unsigned k = 0; k < t->nsteps; k++) {
			r.round = k;
			r.dirty_pages = t->steps[k].dirty;
			r.throughput = t->steps[k].throughput;
			r.total_bytes = t->steps[k].total_bytes;
			r.fixed_ns = t->fixed_ns;
			r.sent_pages = 1;
			r.elapsed_ns = MS;
			policy_default((void *)&t->lim, &r, &res);
			checks++;
			if (res.decision != t->steps[k].want) {
				failures++;
				fprintf(stderr, "FAIL %s: round %u: decision %d, "
				    "expected %d (%s)\n", t->name, k,
				    res.decision, t->steps[k].want, res.why);
				break;
			}
		}
		checks++;
		if (strcmp(res.why, t->why) != 0) {
			failures++;
			fprintf(stderr, "FAIL %s: why \"%s\", expected \"%s\"\n",
			    t->name, res.why, t->why);
		}
	}
	/* The prediction: dirty frames at the throughput, plus fixed cost. */
	{
		struct policy_limits l = { 30 * MS, 30, 0, 1 };
		struct policy_round r = { .dirty_pages = 25000,
		    .throughput = 100 * MB, .fixed_ns = 3 * MS };
		struct policy_result res;

		policy_decide(&l, &r, &res);
		checks++;
		/* Within a nanosecond: the division is in floating point. */
		if (res.predicted_ns + 1 < 25000 * 4096ull * 10 + 3 * MS ||
		    res.predicted_ns > 25000 * 4096ull * 10 + 3 * MS + 1) {
			failures++;
			fprintf(stderr, "FAIL prediction: %llu ns\n",
			    (unsigned long long)res.predicted_ns);
		}
	}
	printf("test_policy: %u checks, %u failures\n", checks, failures);
	return failures != 0;
}
