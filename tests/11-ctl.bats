#!/usr/bin/env bats
# vm-ctl on KVM guests: list, info, pause, resume, destroy, console, and
# who may use a guest's control socket.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
}

teardown() {
	vmpipe_teardown
}

ctl() {
	"$VMPIPE_BIN/vm-ctl" -b kvm "$@"
}

@test "usage prints the synopsis and exits 2" {
	run "$VMPIPE_BIN/vm-ctl"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "usage: vm-ctl [-b backend] list [--json]" ]
	[ "${lines[1]}" = "       vm-ctl [-b backend] info [--json] guest" ]
	[ "${lines[5]}" = "       vm-ctl [-b backend] rename guest name" ]
	[ "${lines[6]}" = "       vm-ctl [-b backend] console [-f] guest" ]
	run "$VMPIPE_BIN/vm-ctl" info
	[ "$status" -eq 2 ]
	# Only Xen guests take another name (a migration to this same host).
	run ctl rename g h
	[ "$status" -eq 1 ]
	[[ "$output" == *"backend kvm can't rename guests"* ]]
	run ctl rename g 'bad/name'
	[ "$status" -eq 2 ]
}

@test "list and info describe a running guest" {
	start_guest g -u 0f0e0d0c-0b0a-0908-0706-050403020100
	run ctl list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == NAME* ]]
	[[ "${lines[1]}" =~ ^g\ +$(guest_pid g)\ +running\ +2\ +64\ 0f0e0d0c-0b0a-0908-0706-050403020100$ ]]
	run ctl info g
	[ "$status" -eq 0 ]
	[[ "$output" == *"name: g"* ]]
	[[ "$output" == *"backend: kvm"* ]]
	[[ "$output" == *"vcpus: 2"* ]]
	[[ "$output" == *"memory: 67108864"* ]]
	[[ "$output" == *"state: running"* ]]
}

@test "an unknown guest is a failure with a message" {
	run ctl info nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == "vm-ctl: no KVM guest named nosuch"* ]]
}

@test "pause stops the heartbeat and resume continues it" {
	start_guest_hb g 3 -w hb=50
	run ctl pause g
	[ "$status" -eq 0 ]
	[[ "$(ctl info g)" == *"state: paused"* ]]
	a=$(last_hb g)
	sleep 0.6
	[ "$(last_hb g)" -eq "$a" ]
	run ctl resume g
	[ "$status" -eq 0 ]
	wait_hb g $((a + 3))
	# Continued, not restarted.
	[ "$(grep -ac 'vmpipe-guest: start' "$(guest_log g)")" -eq 1 ]
	assert_clean g
}

@test "destroy removes the guest: process, socket and pid file" {
	start_guest_hb g 1
	pid=$(guest_pid g)
	run ctl destroy g
	[ "$status" -eq 0 ]
	[ ! -e "$VMPIPE_RUNDIR/g.sock" ]
	[ ! -e "$VMPIPE_RUNDIR/g.pid" ]
	wait_pid_gone "$pid"
	run ctl info g
	[ "$status" -eq 1 ]
}

@test "console prints the guest's log; -f follows it until the guest goes" {
	start_guest_hb g 2
	run ctl console g
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "vm-run: guest g started: 2 vCPUs, 64 MiB"* ]]
	[[ "$output" == *"vmpipe-guest: hb 2 gen "* ]]
	ctl console -f g > "$TEST_TMP/follow" &
	fpid=$!
	a=$(last_hb g)
	wait_hb g $((a + 3))
	ctl destroy g
	wait "$fpid"
	grep -aq "vmpipe-guest: hb $((a + 3)) " "$TEST_TMP/follow"
}

@test "a user other than the owner is refused" {
	start_guest g
	chmod 755 "$TEST_TMP" "$VMPIPE_RUNDIR"
	# The socket's mode keeps others out...
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$VMPIPE_BIN/vm-ctl" -b kvm info g
	[ "$status" -eq 1 ]
	[[ "$output" == *"Permission denied"* ]]
	# ...and so does vm-run's check of the peer, should the mode change.
	chmod 666 "$VMPIPE_RUNDIR/g.sock"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$VMPIPE_BIN/vm-ctl" -b kvm info g
	[ "$status" -eq 1 ]
	[[ "$output" == *"permission denied: not the guest's owner"* ]]
	run ctl info g
	[ "$status" -eq 0 ]
}

@test "info answers at once while the vCPUs run without exiting" {
	# rate=max and a 30 s heartbeat keep both vCPUs inside KVM_RUN: an
	# info that waited for them to leave would take seconds; one that
	# does not answers in milliseconds (tenths under an emulator).
	start_guest g -w rate=max,hb=30000
	wait_for "$(guest_log g)" '^vmpipe-guest: ready filled' 20
	for i in 1 2 3; do
		s=$(date +%s%N)
		run ctl info g
		[ "$status" -eq 0 ]
		[[ "$output" == *"state: running"* ]]
		[ $(( ($(date +%s%N) - s) / 1000000 )) -lt 5000 ]
	done
}
