/*
 * policy.c: the pre-copy policy.
 *
 * The final pause has to send every page still dirty, at the throughput
 * the stream has shown, plus a fixed cost (pausing, reading and sending
 * vCPU and device state, resuming on the far side) that was measured
 * before the copy began.  Stop as soon as that prediction meets the
 * target.  Otherwise keep going while rounds make progress; a dirty set
 * that stops shrinking (two rounds in a row without a new low) means the
 * guest dirties memory as fast as we send it, and more rounds would only
 * burn bandwidth: finish as an offline migration (or give up, when asked
 * to).
 */
#include "policy.h"

#define PAGE	4096.0

void
policy_decide(const struct policy_limits *l, struct policy_round *r,
    struct policy_result *res)
{
	double tp = r->throughput > 0 ? r->throughput : 1e9;
	uint64_t predicted = (uint64_t)(r->dirty_pages * PAGE / tp * 1e9) +
	    r->fixed_ns;

	res->predicted_ns = predicted;
	/*
	 * Progress is a dirty set 5 % under the smallest so far, not
	 * merely under the round before: a set that rises and falls about
	 * one level (a guest rewriting the same memory, rounds of varying
	 * length) is not shrinking, and would otherwise reset the count
	 * at every dip and run to the maximum number of rounds.
	 */
	if (r->round > 0 && r->dirty_pages * 20 > r->best_dirty * 19) {
		r->stalled++;
	} else {
		r->stalled = 0;
		r->best_dirty = r->dirty_pages;
	}

	if (predicted <= l->downtime_ns) {
		res->decision = POLICY_STOP_AND_COPY;
		res->why = "predicted pause within the downtime target";
		return;
	}
	/*
	 * Nothing left dirty, and still above the target: the pause is its
	 * fixed cost alone, which no further round can shorten.
	 */
	if (r->dirty_pages == 0) {
		res->why = "nothing left to copy, but the fixed cost of the "
		    "pause alone exceeds the downtime target";
		goto give_up;
	}
	if (r->stalled >= 2) {
		res->why = "not converging: the dirty set no longer shrinks";
		goto give_up;
	}
	if (r->round + 1 >= l->max_rounds) {
		res->why = "reached the maximum number of rounds";
		goto give_up;
	}
	if (l->max_bytes && r->total_bytes >= l->max_bytes) {
		res->why = "reached the maximum of octets sent";
		goto give_up;
	}
	res->decision = POLICY_CONTINUE;
	res->why = "predicted pause above the target";
	return;
give_up:
	res->decision = l->fallback ? POLICY_STOP_AND_COPY : POLICY_ABORT;
}

void
policy_default(void *limits, struct policy_round *r,
    struct policy_result *res)
{
	policy_decide(limits, r, res);
}
