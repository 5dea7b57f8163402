#!/usr/bin/env bats
# The files a guest has on this host: a run directory that others can
# write to is refused, no planted link is followed, locks and pid files
# are the owner's alone and gone after a failed receive, and a client
# talks only to a vm-run of root or its own user.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
	echo untouched >"$TEST_TMP/victim"
}

teardown() {
	vmpipe_teardown
}

victim_untouched() {
	[ "$(cat "$TEST_TMP/victim")" = untouched ]
}

@test "a run directory writable by others is refused by vm-run and vm-recv" {
	chmod 0777 "$VMPIPE_RUNDIR"
	run start_guest g
	[ "$status" -eq 1 ]
	[[ "$output" == *"run directory $VMPIPE_RUNDIR: expected one owned by root and writable by no one else, found owner uid 0, mode 0777"* ]]
	[ ! -e "$VMPIPE_RUNDIR/g.pid" ]
	run "$VMPIPE_BIN/vm-recv" <"$VMPIPE_TOP/tests/vectors/plain.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused: run directory $VMPIPE_RUNDIR: expected one owned by root"* ]]
	[ -z "$(ls "$VMPIPE_RUNDIR")" ]
}

@test "vm-run follows no link planted as its pid file" {
	ln -s "$TEST_TMP/victim" "$VMPIPE_RUNDIR/g.pid"
	run start_guest g
	[ "$status" -eq 1 ]
	[[ "$output" == *"g.pid: Too many levels of symbolic links"* ]]
	victim_untouched
}

@test "pid and receive lock files are 0600, and a failed receive leaves no lock" {
	start_guest_hb g 2
	[ "$(stat -c %a "$VMPIPE_RUNDIR/g.pid")" = 600 ]
	# Cut short: the receive fails, and its lock goes with it.
	run bash -c "'$VMPIPE_BIN/vm-save' -q --keep g | head -c 100000 |
	    '$VMPIPE_BIN/vm-recv' -q --as g2"
	[ "$status" -eq 1 ]
	[ ! -e "$VMPIPE_RUNDIR/g2.recv.lock" ]
	[ ! -e "$VMPIPE_RUNDIR/g2.pid" ]
	# Whole: the clone runs, and no lock is left either.
	run bash -c "'$VMPIPE_BIN/vm-save' -q --keep g |
	    '$VMPIPE_BIN/vm-recv' -q --as g2"
	[ "$status" -eq 0 ]
	[ ! -e "$VMPIPE_RUNDIR/g2.recv.lock" ]
	[ "$(stat -c %a "$VMPIPE_RUNDIR/g2.pid")" = 600 ]
	assert_clean g2
	assert_clean g
}

@test "a receive follows no link planted as its lock file" {
	start_guest_hb g 2
	ln -s "$TEST_TMP/victim" "$VMPIPE_RUNDIR/g2.recv.lock"
	run bash -c "'$VMPIPE_BIN/vm-save' -q --keep g |
	    '$VMPIPE_BIN/vm-recv' -q --as g2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"g2.recv.lock: Too many levels of symbolic links"* ]]
	victim_untouched
	[ ! -e "$VMPIPE_RUNDIR/g2.pid" ]
	assert_clean g
}

@test "vm-ctl talks to no socket another user serves" {
	# A socket bound by nobody, where a guest's would be: in a run
	# directory nobody can reach (this test's own is root's alone).
	d=$(mktemp -d /tmp/vmpipe-peer.XXXXXX)
	chmod 0777 "$d"
	# Debian's python3 (scripts/deps): one under root's home, first on
	# some PATHs, is out of nobody's reach.
	setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
time.sleep(60)' "$d/g.sock" &
	srv=$!
	for i in $(seq 100); do
		[ -S "$d/g.sock" ] && break
		sleep 0.1
	done
	chmod 0755 "$d"
	VMPIPE_RUNDIR=$d run "$VMPIPE_BIN/vm-ctl" -b kvm info g
	kill "$srv" 2>/dev/null || true
	rm -rf "$d"
	[ "$status" -ne 0 ]
	[[ "$output" == *"g.sock: expected a vm-run of root behind it, found uid $(id -u nobody): not used"* ]]
}
