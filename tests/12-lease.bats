#!/usr/bin/env bats
# Pauses are leases of the connection that asked for them: a saver killed
# mid-save costs no guest, while vm-ctl pause and vm-save --paused hand
# their pause over on purpose.  Dirty logging ends with its connection.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
}

teardown() {
	[ -z "${LINGER:-}" ] || reap $LINGER
	vmpipe_teardown
}

ctl() {
	"$VMPIPE_BIN/vm-ctl" -b kvm "$@"
}

state() {
	ctl info "$1" | awk '$1 == "state:" { print $2 }'
}

# wait_state NAME paused|running [SECONDS]
wait_state() {
	local i=0
	until [ "$(state "$1")" = "$2" ]; do
		i=$((i + 1))
		if [ "$i" -gt $((${3:-10} * 10)) ]; then
			echo "guest $1 is $(state "$1"), not $2" >&2
			return 1
		fi
		sleep 0.1
	done
}

# reap PID...: SIGKILL, and wait so that the shell reports nothing.
reap() {
	kill -KILL "$@" 2>/dev/null || true
	wait "$@" 2>/dev/null || true
}

# linger NAME pause|log|both: a client that does that, then waits to be
# killed; its pid is appended to $LINGER.
linger() {
	"$VMPIPE_KVM_CLONE" linger "$1" "$2" > "$TEST_TMP/linger.$$" 3>&- &
	LINGER="${LINGER:-} $!"
	wait_for "$TEST_TMP/linger.$$" '^ready$' 10
	rm -f "$TEST_TMP/linger.$$"
}

# still_paused NAME: paused, and no heartbeat for half a second.
still_paused() {
	local a
	[ "$(state "$1")" = paused ]
	a=$(last_hb "$1")
	sleep 0.5
	[ "$(last_hb "$1")" -eq "$a" ]
}

@test "a saver killed with SIGKILL mid-save leaves the guest running" {
	start_guest_hb g 3 -w hb=50
	# A pipe nobody reads: vm-save pauses the guest, then blocks in write.
	mkfifo "$TEST_TMP/pipe"
	exec 4<>"$TEST_TMP/pipe"
	"$VMPIPE_BIN/vm-save" -q g > "$TEST_TMP/pipe" 3>&- 4>&- &
	pid=$!
	wait_state g paused
	a=$(last_hb g)
	sleep 0.3
	[ "$(last_hb g)" -eq "$a" ]
	kill -KILL "$pid"
	wait "$pid" || true
	exec 4<&-
	wait_state g running
	wait_hb g $((a + 3))
	grep -aq 'vm-run: guest g resumed: the connection that paused it closed' \
	    "$(guest_log g)"
	assert_clean g
}

@test "vm-ctl pause outlives vm-ctl; resume continues the guest" {
	start_guest_hb g 3 -w hb=50
	run ctl pause g
	[ "$status" -eq 0 ]
	still_paused g
	run ctl resume g
	[ "$status" -eq 0 ]
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
}

@test "vm-save --paused leaves the guest paused, and it resumes cleanly" {
	start_guest_hb g 3 -w hb=50
	run "$VMPIPE_BIN/vm-save" -q --paused -o "$TEST_TMP/img" g
	[ "$status" -eq 0 ]
	still_paused g
	ctl resume g
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
}

@test "vm-save --keep and a failed save leave the guest running" {
	start_guest_hb g 3 -w hb=50
	run "$VMPIPE_BIN/vm-save" -q --keep -o "$TEST_TMP/img" g
	[ "$status" -eq 0 ]
	[ "$(state g)" = running ]
	# A reader that goes away at once: the save fails, the guest runs.
	run bash -c '"$VMPIPE_BIN/vm-save" -q g | true'
	[ "$(state g)" = running ]
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
}

@test "a killed client's dirty logging stops and its pause ends" {
	start_guest_hb g 3 -w hb=50
	linger g both
	[ "$("$VMPIPE_KVM_CLONE" logging g)" = on ]
	[ "$(state g)" = paused ]
	a=$(last_hb g)
	reap $LINGER
	wait_state g running
	[ "$("$VMPIPE_KVM_CLONE" logging g)" = off ]
	wait_hb g $((a + 3))
	grep -aq 'vm-run: guest g: dirty logging stopped' "$(guest_log g)"
	assert_clean g
}

@test "a guest stays paused while any connection still holds a pause" {
	start_guest_hb g 3 -w hb=50
	linger g pause
	first=$LINGER
	linger g pause
	second=${LINGER#"$first"}
	reap $first
	still_paused g
	reap $second
	wait_state g running
}

@test "a held pause is not ended by a later client's death" {
	start_guest_hb g 3 -w hb=50
	ctl pause g
	linger g pause
	reap $LINGER
	still_paused g
	ctl resume g
	wait_state g running
}

@test "a guest started paused is not resumed by a passing client" {
	start_guest g -P
	linger g pause
	reap $LINGER
	still_paused g
}
