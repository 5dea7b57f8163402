#!/usr/bin/env bats
# Live migrations back and forth between two hosts (run directories), the
# guest writing all the while; after every one the guest must carry on
# where it stopped with its self-check clean.  Twenty in `make check',
# VMPIPE_PINGPONG of them (200) in `make check-long'.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
	A=$VMPIPE_RUNDIR
	B=$TEST_TMP/hostB
	mkdir -p "$B"
}

teardown() {
	local p
	for p in "$B"/*.pid; do
		[ -e "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null
	done
	vmpipe_teardown
}

# migrate FROM TO: live-migrate guest g through a pipe, as the idiom in
# vm-migrate(1) does: destroy the source only on the far side's ack.
migrate() {
	local from=$1 to=$2 ack
	local st=0
	ack=$(VMPIPE_RUNDIR=$from "$VMPIPE_BIN/vm-precopy" -q --downtime 20 g |
	    VMPIPE_RUNDIR=$to "$VMPIPE_BIN/vm-recv" -q) || st=$?
	# vmpipe(7): resume the source only when nothing runs there.
	if [ "$st" -ne 0 ]; then
		echo "migration $from -> $to failed ($st): $ack" >&2
		[ "$st" -eq 1 ] && VMPIPE_RUNDIR=$from "$VMPIPE_BIN/vm-ctl" resume g
		return 1
	fi
	[[ "$ack" == *"vmpipe-recv: running g "* ]]
	VMPIPE_RUNDIR=$from "$VMPIPE_BIN/vm-ctl" destroy g
}

@test "ping-pong live migrations (20, or VMPIPE_PINGPONG), each with a clean self-check" {
	start_guest_hb g 3 -w rate=3000
	here=$A there=$B
	for i in $(seq 1 "${VMPIPE_PINGPONG:-20}"); do
		log=$(VMPIPE_RUNDIR=$there guest_log g)
		n0=$(cat "$log" 2>/dev/null | wc -l)
		migrate "$here" "$there"
		last=$(grep -a '^vmpipe-guest: hb ' "$(VMPIPE_RUNDIR=$here guest_log g)" |
		    tail -n 1 | awk '{ print $3 }')
		# The far side goes on from the heartbeat after the last one
		# here (its log is appended to: look at the new lines only),
		# and its self-check stays clean.
		VMPIPE_RUNDIR=$there wait_hb g $((last + 3))
		first=$(tail -n +$((n0 + 1)) "$log" | grep -a '^vmpipe-guest: hb ' |
		    head -n 1 | awk '{ print $3 }')
		[ "$first" -eq $((last + 1)) ] || {
			echo "migration $i: first heartbeat $first after $last" >&2
			return 1
		}
		VMPIPE_RUNDIR=$there assert_clean g
		echo "# migration $i: heartbeat $last, then $first on the far side" >&3
		t=$here here=$there there=$t
	done
	# A final full verify sweep of the guest's memory, clean.
	v=$(VMPIPE_RUNDIR=$here hb_field g verified)
	VMPIPE_RUNDIR=$here wait_hb g $(( $(VMPIPE_RUNDIR=$here last_hb g) + 25 ))
	[ "$(VMPIPE_RUNDIR=$here hb_field g verified)" -gt $((v + 16384)) ]
	VMPIPE_RUNDIR=$here assert_clean g
}
