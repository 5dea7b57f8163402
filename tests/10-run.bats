#!/usr/bin/env bats
# vm-run: starting guests, the guest's self-check, incoming guests, and
# moving a running guest into a fresh one through the KVM backend.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
}

teardown() {
	vmpipe_teardown
}

@test "a 2-vCPU guest starts and its heartbeat increases" {
	start_guest_hb g 5 -w hb=50
	log=$(guest_log g)
	grep -aq '^vmpipe-guest: start mem=64M vcpus=2 writers=2 ' "$log"
	wait_for "$log" '^vmpipe-guest: ready filled [0-9]+ pages in [0-9]+ ms$'
	a=$(last_hb g)
	wait_hb g $((a + 5))
	assert_clean g
}

@test "the socket is private and the pid file names the process" {
	start_guest g
	run stat -c %a "$VMPIPE_RUNDIR/g.sock"
	[ "$output" = 600 ]
	pid=$(guest_pid g)
	[ "$(cat /proc/$pid/comm)" = vm-run ]
}

@test "SIGTERM destroys the guest and removes its socket and pid file" {
	start_guest_hb g 1
	pid=$(guest_pid g)
	kill -TERM "$pid"
	wait_pid_gone "$pid"
	[ ! -e "$VMPIPE_RUNDIR/g.sock" ]
	[ ! -e "$VMPIPE_RUNDIR/g.pid" ]
}

@test "a second guest of the same name is refused with status 1" {
	start_guest g
	run start_guest g
	[ "$status" -eq 1 ]
	[[ "$output" == *"guest g already runs"* ]]
}

@test "bad usage exits 2" {
	run "$VMPIPE_BIN/vm-run" -m 3M -n x "$VMPIPE_GUEST"
	[ "$status" -eq 2 ]
	[[ "$output" == *"multiple of 2 MiB"* ]]
	run "$VMPIPE_BIN/vm-run" --incoming
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: vm-run"* ]]
}

@test "the self-check reports a corrupted page by its frame number" {
	# No rewrites (rate=0), so only the corruption can change the page.
	start_guest_hb g 2 -w rate=0,sweep=300
	# 64 MiB: journal 128 KiB at 4 MiB, data from 6 MiB = frame 0x600.
	"$VMPIPE_KVM_CLONE" corrupt g 0x605
	wait_for "$(guest_log g)" \
	    '^vmpipe-guest: ERROR pfn 0x605 want gen [0-9]+ got bad checksum$' 10
	wait_for "$(guest_log g)" 'hb [0-9]+ gen [0-9]+ verified [0-9]+ errors [1-9]'
}

@test "an incoming guest vanishes when its controller goes away" {
	run "$VMPIPE_KVM_CLONE" abandon inc 64
	[ "$status" -eq 0 ]
	[ "$output" = "created inc" ]
	for i in $(seq 50); do
		[ -e "$VMPIPE_RUNDIR/inc.sock" ] || break
		sleep 0.1
	done
	[ ! -e "$VMPIPE_RUNDIR/inc.sock" ]
	[ ! -e "$VMPIPE_RUNDIR/inc.pid" ]
	[ ! -e "$VMPIPE_RUNDIR/inc.log" ]
	run pgrep -f -- "--incoming.* -n inc "
	[ "$status" -ne 0 ]
}

@test "create refuses a name that already runs" {
	start_guest g
	run "$VMPIPE_KVM_CLONE" abandon g 64
	[ "$status" -eq 1 ]
	[[ "$output" == *"a guest named g already runs"* ]]
}

@test "state and memory moved into a fresh guest: heartbeats continue, self-check clean" {
	start_guest_hb src 5 -w sweep=500
	run "$VMPIPE_KVM_CLONE" clone src dst
	echo "$output"
	[ "$status" -eq 0 ]
	[ ! -e "$VMPIPE_RUNDIR/src.sock" ]
	last=$(last_hb src)
	wait_hb dst $((last + 20))
	# The same guest carried on: its next heartbeat, not a restart.
	first=$(grep -a '^vmpipe-guest: hb ' "$(guest_log dst)" | head -n 1 |
	    awk '{ print $3 }')
	[ "$first" -eq $((last + 1)) ]
	! grep -aq 'vmpipe-guest: start' "$(guest_log dst)"
	assert_clean dst
}
