#!/usr/bin/env bats
# vm-run's bounds.  Its control socket serves every client from one
# loop: half a frame holds up no one and is dropped after its deadline, a
# bad frame drops only its sender, and descriptors a client passes are
# closed.  The guest's log is bounded in rate and size.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
}

teardown() {
	vmpipe_teardown
}

ctlpeer() {
	"$VMPIPE_TOP/tests/sshd/ctlpeer" "$@"
}

nfds() {
	ls "/proc/$(guest_pid g)/fd" | wc -l
}

# Wait (5 s at most) for vm-run to have N descriptors open again.
nfds_back() {
	local i
	for i in $(seq $((50 * VMPIPE_TIME_SCALE))); do
		[ "$(nfds)" -eq "$1" ] && return 0
		sleep 0.1
	done
	echo "vm-run has $(nfds) descriptors open, expected $1" >&2
	ls -l "/proc/$(guest_pid g)/fd" >&2
	return 1
}

@test "half a frame holds up no one, and is dropped after 5 s" {
	start_guest_hb g 2
	ctlpeer half "$VMPIPE_RUNDIR/g.sock" $((20 * VMPIPE_TIME_SCALE)) \
	    >"$TEST_TMP/half" &
	pid=$!
	sleep 1
	# Served at once while the other client sits on half a header.
	run timeout 3 "$VMPIPE_BIN/vm-ctl" -b kvm info g
	[ "$status" -eq 0 ]
	[[ "$output" == *"state: running"* ]]
	wait "$pid"
	t=$(cat "$TEST_TMP/half")
	[ "$t" != open ]
	awk -v t="$t" 'BEGIN { exit !(t >= 4 && t < 9) }'
	grep -q "a client sent half a frame and nothing more for 5000 ms: dropped" \
	    "$(guest_log g)"
	assert_clean g
}

@test "descriptors passed along with a frame are closed, and a truncated control message is refused" {
	start_guest_hb g 2
	before=$(nfds)
	run ctlpeer fds "$VMPIPE_RUNDIR/g.sock" 2
	[ "$output" = "status 0" ]
	nfds_back "$before"
	# More than a frame may carry: the control message is cut short.
	run ctlpeer fds "$VMPIPE_RUNDIR/g.sock" 40
	[ "$output" = closed ]
	nfds_back "$before"
	assert_clean g
}

@test "a bad frame drops only its sender" {
	start_guest_hb g 2
	run ctlpeer garbage "$VMPIPE_RUNDIR/g.sock"
	[ "$output" = closed ]
	run "$VMPIPE_BIN/vm-ctl" -b kvm info g
	[ "$status" -eq 0 ]
	assert_clean g
}

@test "the console log is bounded: lines over the rate are dropped and counted, a full log moves to .log.1" {
	VMPIPE_LOG_MAX=16K VMPIPE_LOG_RATE=4K start_guest_hb g 3 -w hb=5
	log=$(guest_log g)
	for i in $(seq $((30 * VMPIPE_TIME_SCALE))); do
		[ -f "$log.1" ] && grep -q "lines dropped" "$log" "$log.1" && break
		sleep 1
	done
	[ -f "$log.1" ]
	[ "$(stat -c %s "$log.1")" -le 16384 ]
	[ "$(stat -c %s "$log")" -le 16384 ]
	grep -hq "^vm-run: console: [0-9]* lines dropped (over 4096 octets a second)$" \
	    "$log" "$log.1"
	# The guest itself never noticed.
	assert_clean g
}
