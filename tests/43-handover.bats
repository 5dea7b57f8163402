#!/usr/bin/env bats
# The handover: never two running copies.  A relay between vm-send and a
# --plain relocation server on B injects one fault at each step of the
# protocol (before END, after END, after `prepared', after `go', after
# `running'), and processes are killed at those steps.  Every case asserts
# at most one running copy while it lasts, exactly one once vm-migrate
# (or the documented settling) is done, a clean self-check, and nothing
# left behind: no hold, no receive lock, no paused guest.

load test_helper
load sshd/lib

RELAY_PORT=8003

setup_file() {
	vmp_hosts_up
	vmp_sshd_start
}

teardown_file() {
	vmp_hosts_down
}

setup() {
	need_kvm
	vmp_test_setup
	RELAY=
}

teardown() {
	[ -z "$RELAY" ] || kill "$RELAY" 2>/dev/null || true
	vmp_test_teardown
}


# relay_start ACTION [ARG [SECONDS]]: the faulty relay on B, in front of
# the relocation server.
relay_start() {
	inB "$VMP_TOP/tests/sshd/relay" "$VMP_ADDR_B:$RELAY_PORT" \
	    "$VMP_ADDR_B:$VMP_RELOC_PORT" "$TEST_TMP/relay.log" "$@" &
	wait_for "$TEST_TMP/relay.log" '^listening [0-9]+$' 10
	RELAY=$(sed -n 's/^listening //p' "$TEST_TMP/relay.log")
}

# vm-migrate from A through the relay; extra options first.
migrate() {
	inA "$VMP_BIN/vm-migrate" -r --plain -p "$RELAY_PORT" "$@" \
	    "$VMP_ADDR_B"
}

# state HOST NAME: running, paused or none.
state() {
	local out
	if [ "$1" = A ]; then
		out=$("$VMPIPE_BIN/vm-ctl" -b kvm info "$2" 2>/dev/null) || { echo none; return; }
	else
		out=$(on_b "$VMPIPE_BIN/vm-ctl" -b kvm info "$2" 2>/dev/null) || { echo none; return; }
	fi
	sed -n 's/^state: //p' <<<"$out"
}

# Sample both hosts while pid runs: never two running copies.
watch_copies() {
	local pid=$1 a b
	: >"$TEST_TMP/samples"
	while kill -0 "$pid" 2>/dev/null; do
		a=$(state A g) b=$(state B g)
		echo "$a $b" >>"$TEST_TMP/samples"
		if [ "$a" = running ] && [ "$b" = running ]; then
			echo "two running copies" >&2
			cat "$TEST_TMP/samples" "$TEST_TMP/relay.log" >&2
			sleep 1; cat "$TEST_TMP/mig.out" >&2
			grep -av "hb\|mem ok" "$VMP_RUN_A/g.log" "$VMP_RUN_B/g.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# The receive on B: a process of the relocation server (vm-recvd, which
# vm-recv --listen runs) that is neither the server nor the guardian of
# another (whose parent is a receive).
recv_pid() {
	local all srv p pp
	all=$(vmp_pids B vm-recvd)
	srv=$(cat "$VMP_DIR/reloc.pid" 2>/dev/null || true)
	for p in $all; do
		[ "$p" = "$srv" ] && continue
		pp=$(ps -o ppid= -p "$p" | tr -d ' ')
		[ "$pp" != "$srv" ] && grep -qw "$pp" <<<"$all" && continue
		echo "$p"
	done | head -n 1
}

# Nothing left behind on either host but the one guest.
assert_tidy() {
	[ ! -e "$VMP_RUN_A/g.hold" ]
	[ -z "$(ls "$VMP_RUN_B"/*.lock "$VMP_RUN_A"/*.lock 2>/dev/null)" ]
	[ "$(state A g)" != paused ]
	[ "$(state B g)" != paused ]
}

assert_at_a() {
	local n
	[ "$(state A g)" = running ]
	[ "$(state B g)" = none ]
	n=$(last_hb g)
	wait_hb g $((n + 3))
	assert_clean g
	assert_tidy
}

assert_at_b() {
	local last=$1 first
	[ "$(state A g)" = none ]
	[ "$(state B g)" = running ]
	on_b wait_hb g $((last + 3))
	first=$(grep -a '^vmpipe-guest: hb ' "$(on_b guest_log g)" |
	    head -n 1 | awk '{ print $3 }')
	[ "$first" -gt "$last" ]
	on_b assert_clean g
	assert_tidy
}

# bg_migrate [vm-migrate options]: through the relay, in the background,
# in a session (and so a process group) of its own; MIG is its pid.
bg_migrate() {
	setsid -w ip netns exec "$VMP_NSA" env HOME="$VMP_DIR/home" \
	    VMPIPE_RUNDIR="$VMP_RUN_A" "$VMP_BIN/vm-migrate" -r --plain \
	    -p "$RELAY_PORT" "$@" g "$VMP_ADDR_B" >"$TEST_TMP/mig.out" 2>&1 &
	MIG=$!
}

finish_migrate() {
	watch_copies "$MIG"
	wait "$MIG" && MST=0 || MST=$?
	cat "$TEST_TMP/mig.out" >&2
}

@test "handover: the normal path says prepared, go, running" {
	vmp_reloc_start --plain
	relay_start pass
	start_guest_hb g 3
	bg_migrate
	finish_migrate
	[ "$MST" -eq 0 ]
	grep -q '^down: vmpipe-recv: prepared g$' "$TEST_TMP/relay.log"
	grep -q '^down: vmpipe-recv: running g ' "$TEST_TMP/relay.log"
	assert_at_b 0
}

@test "running withheld, Ctrl-C to vm-migrate's group: in doubt, settled: runs at B only" {
	vmp_reloc_start --plain
	relay_start hold-down running
	start_guest_hb g 3
	bg_migrate
	wait_for "$TEST_TMP/relay.log" '^held: vmpipe-recv: running' 30
	last=$(last_hb g)
	sleep 2
	# Ctrl-C: SIGINT to every process of vm-migrate's group.
	mp=$(vmp_pids A vm-migrate)
	[ -n "$mp" ] || { cat "$TEST_TMP/mig.out" "$TEST_TMP/relay.log" >&2; false; }
	pg=$(ps -o pgid= -p "$mp" | tr -d ' ')
	[ -n "$pg" ] && [ "$pg" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]
	kill -INT -- -"$pg"
	finish_migrate
	[ "$MST" -eq 0 ]
	grep -q 'in doubt' "$TEST_TMP/mig.out"
	grep -q 'settled: runs on' "$TEST_TMP/mig.out"
	assert_at_b "$last"
}

@test "connection cut before the go: the guest runs on at A" {
	vmp_reloc_start --plain
	relay_start cut-go
	start_guest_hb g 3
	bg_migrate
	finish_migrate
	[ "$MST" -eq 1 ]
	grep -q 'go seen: cut before it' "$TEST_TMP/relay.log"
	assert_at_a
}

@test "connection cut after the go: the guest runs at B only" {
	vmp_reloc_start --plain
	relay_start cut-after-go
	start_guest_hb g 3
	bg_migrate
	finish_migrate
	[ "$MST" -eq 0 ]
	grep -q 'settled: runs on' "$TEST_TMP/mig.out"
	assert_at_b 0
}

@test "prepared lost (connection cut): the guest runs on at A" {
	vmp_reloc_start --plain
	relay_start cut-down prepared
	start_guest_hb g 3
	bg_migrate
	finish_migrate
	[ "$MST" -eq 1 ]
	assert_at_a
}

@test "prepared withheld past the deadline (-t 3): the guest runs on at A" {
	vmp_reloc_start --plain
	relay_start hold-down prepared
	start_guest_hb g 3
	bg_migrate -t 3
	finish_migrate
	[ "$MST" -eq 1 ]
	grep -q 'no word within the deadline' "$TEST_TMP/mig.out"
	assert_at_a
}

@test "running late past the deadline: in doubt, settled: runs at B only" {
	vmp_reloc_start --plain
	relay_start delay-down running 6
	start_guest_hb g 3
	bg_migrate -t 3
	finish_migrate
	[ "$MST" -eq 0 ]
	grep -q 'no answer within the deadline after go' "$TEST_TMP/mig.out"
	assert_at_b 0
}

@test "SIGKILL to vm-send after END: asked, the guest runs on at A" {
	vmp_reloc_start --plain
	relay_start hold-down prepared
	start_guest_hb g 3
	bg_migrate
	wait_for "$TEST_TMP/relay.log" '^held: vmpipe-recv: prepared' 30
	kill -KILL $(vmp_pids A vm-send)
	finish_migrate
	[ "$MST" -eq 1 ]
	assert_at_a
}

@test "SIGKILL to the receive at B after prepared: its guardian cleans up, the guest runs on at A" {
	vmp_reloc_start --plain
	relay_start hold-down prepared
	start_guest_hb g 3
	bg_migrate
	wait_for "$TEST_TMP/relay.log" '^held: vmpipe-recv: prepared' 30
	rpid=$(recv_pid)
	[ -n "$rpid" ]
	kill -KILL "$rpid"
	finish_migrate
	[ "$MST" -eq 1 ]
	assert_at_a
}

@test "a pipe into vm-recv, SIGKILLed as the last octets arrive: the documented settling leaves one copy" {
	start_guest_hb g 3
	for d in 0 0.002 0.005 0.02 0.1; do
		"$VMPIPE_BIN/vm-save" -q --paused g >"$TEST_TMP/img"
		last=$(last_hb g)
		rm -f "$TEST_TMP/fifo"
		mkfifo "$TEST_TMP/fifo"
		on_b "$VMPIPE_BIN/vm-recv" -q <"$TEST_TMP/fifo" >/dev/null 2>&1 &
		rpid=$!
		cat "$TEST_TMP/img" >"$TEST_TMP/fifo"
		sleep "$d"
		kill -KILL "$rpid" 2>/dev/null || true
		wait "$rpid" && st=0 || st=$?
		# vm-precopy(1)'s idiom: 0 moved, 1 nothing there, else ask.
		case $st in
		0) answer=running ;;
		1) answer=absent ;;
		*) for i in $(seq 20); do
			answer=$(on_b "$VMPIPE_BIN/vm-recv" --status g |
			    awk '{ print $4 }')
			[ "$answer" != receiving ] && break
			sleep 0.2
		   done ;;
		esac
		echo "delay $d: status $st, B says $answer" >&2
		[ "$answer" = running ] || [ "$answer" = absent ]
		if [ "$answer" = running ]; then
			"$VMPIPE_BIN/vm-ctl" destroy g
			[ "$(state B g)" = running ]
			# Back to A for the next round, the same way.
			on_b "$VMPIPE_BIN/vm-save" -q g | "$VMPIPE_BIN/vm-restore" -q
		else
			"$VMPIPE_BIN/vm-ctl" resume g
		fi
		[ "$(state A g)" = running ]
		[ "$(state B g)" = none ]
		wait_hb g $((last + 2))
		assert_clean g
		assert_tidy
	done
}

@test "vm-ctl resume refuses a held guest; --force and destroy release it" {
	start_guest_hb g 2
	"$VMPIPE_BIN/vm-ctl" pause g
	echo "10.77.0.2" >"$VMP_RUN_A/g.hold"
	run "$VMPIPE_BIN/vm-ctl" resume g
	[ "$status" -eq 4 ]
	[[ "$output" == *"held: its migration to 10.77.0.2 is in doubt"* ]]
	[[ "$output" == *"vm-migrate --settle g 10.77.0.2"* ]]
	[ "$(state A g)" = paused ]
	run "$VMPIPE_BIN/vm-ctl" resume --force g
	[ "$status" -eq 0 ]
	[ ! -e "$VMP_RUN_A/g.hold" ]
	[ "$(state A g)" = running ]
}

@test "vm-recv --status answers running, paused, absent" {
	start_guest_hb g 2
	run "$VMPIPE_BIN/vm-recv" --status g
	[ "$status" -eq 0 ]
	[ "$output" = "vmpipe-recv: status g running" ]
	"$VMPIPE_BIN/vm-ctl" pause g
	run "$VMPIPE_BIN/vm-recv" --status g
	[ "$output" = "vmpipe-recv: status g paused" ]
	run "$VMPIPE_BIN/vm-recv" --status nosuch
	[ "$status" -eq 0 ]
	[ "$output" = "vmpipe-recv: status nosuch absent" ]
	run "$VMPIPE_BIN/vm-recv" --status 'a/b'
	[ "$status" -eq 2 ]
}

@test "vm-migrate --settle: asks B, destroys or resumes A" {
	vmp_reloc_start --plain
	relay_start pass
	start_guest_hb g 2
	"$VMPIPE_BIN/vm-ctl" pause g
	echo "$VMP_ADDR_B" >"$VMP_RUN_A/g.hold"
	# B has no g: A's copy is resumed.
	run migrate --settle g
	[ "$status" -eq 1 ]
	[[ "$output" == *"settled: not on"* ]]
	assert_at_a
}

@test "over ssh: vm-send killed mid-stream: vm-migrate asks B rather than guess, and resumes A" {
	start_guest_hb g 3
	inA "$VMP_BIN/vm-migrate" -p "$VMP_SSH_PORT" -i "$VMP_DIR/id" \
	    -K "$VMP_DIR/known_hosts" \
	    -e "VMPIPE_RUNDIR=$VMP_RUN_B $VMP_BIN/vm-recv" g "root@$VMP_ADDR_B" \
	    >"$TEST_TMP/mig.out" 2>&1 &
	MIG=$!
	wait_for "$TEST_TMP/mig.out" "ready for g"
	kill -KILL $(vmp_pids A vm-send)
	finish_migrate
	# A sender killed by a signal says nothing: vm-migrate asks.
	grep -q 'asking' "$TEST_TMP/mig.out"
	[ "$MST" -eq 1 ]
	assert_at_a
}

@test "over ssh: a held source and a guest paused at B: --settle will not guess (4); both stay paused" {
	start_guest_hb g 3
	"$VMPIPE_BIN/vm-save" -q --paused g | on_b "$VMPIPE_BIN/vm-restore" -q --paused
	echo "$VMP_ADDR_B" >"$VMP_RUN_A/g.hold"
	run inA "$VMP_BIN/vm-migrate" --settle -t 20 -p "$VMP_SSH_PORT" \
	    -i "$VMP_DIR/id" -K "$VMP_DIR/known_hosts" \
	    -e "VMPIPE_RUNDIR=$VMP_RUN_B $VMP_BIN/vm-recv" g "root@$VMP_ADDR_B"
	echo "$output" >&2
	[ "$status" -eq 4 ]
	[[ "$output" == *"paused on root@$VMP_ADDR_B"* ]]
	[ "$(state A g)" = paused ]
	[ "$(state B g)" = paused ]
	[ -e "$VMP_RUN_A/g.hold" ]
	# The administrator decides: B's copy goes on, A's goes.
	on_b "$VMPIPE_BIN/vm-ctl" resume g
	run inA "$VMP_BIN/vm-migrate" --settle -p "$VMP_SSH_PORT" \
	    -i "$VMP_DIR/id" -K "$VMP_DIR/known_hosts" \
	    -e "VMPIPE_RUNDIR=$VMP_RUN_B $VMP_BIN/vm-recv" g "root@$VMP_ADDR_B"
	[ "$status" -eq 0 ]
	assert_at_b 0
}
