#!/usr/bin/env bats
# vm-precopy: live copies of a running guest, the policy's decisions, and
# failures that must leave the source guest running.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
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

on_b() { VMPIPE_RUNDIR=$B "$@"; }

# The guest on host B continues where A stopped, its self-check clean,
# through at least one full verify sweep of its memory.
assert_continues_on_b() {
	local name=$1 last=$2 first h0 v0
	on_b wait_hb "$name" $((last + 10))
	first=$(grep -a '^vmpipe-guest: hb ' "$(on_b guest_log "$name")" |
	    head -n 1 | awk '{ print $3 }')
	[ "$first" -gt "$last" ] || {
		echo "heartbeat restarted: $first after $last" >&2; return 1; }
	# The count and its heartbeat from one line: a slow shell must not
	# shorten the window the sweep is measured over.
	read -r h0 v0 < <(grep -a '^vmpipe-guest: hb ' \
	    "$(on_b guest_log "$name")" | tail -n 1 | awk '{ for (i = 4; i < NF;
	    i += 2) if ($i == "verified") print $3, $(i + 1) }')
	on_b wait_hb "$name" $((h0 + 30))
	[ "$(on_b hb_field "$name" verified)" -gt $((v0 + 16384)) ] || {
		echo "verified $(on_b hb_field "$name" verified) by heartbeat" \
		    "$(on_b last_hb "$name"), $v0 at $h0" >&2; return 1; }
	on_b assert_clean "$name"
}

@test "a live copy is an image: the guest ends paused and restores clean" {
	start_guest_hb g 5 -w rate=2000
	"$VMPIPE_BIN/vm-precopy" -q g > "$TEST_TMP/img"
	run "$VMPIPE_BIN/vm-ctl" info g
	[[ "$output" == *paused* ]]
	run "$VMPIPE_BIN/vm-inspect" "$TEST_TMP/img"
	[ "$status" -eq 0 ]
	[[ "$output" == *"live stream"* ]]
	[[ "$output" == *"round 0: 16384 pages sent"* ]]
	[[ "$output" == *"(last, paused)"* ]]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	on_b "$VMPIPE_BIN/vm-restore" -q "$TEST_TMP/img"
	assert_continues_on_b g "$last"
}

@test "live migration through a pipe: the guest carries on at the far end" {
	start_guest_hb g 5 -w rate=5000
	"$VMPIPE_BIN/vm-precopy" -q g | on_b "$VMPIPE_BIN/vm-restore" -q
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_continues_on_b g "$last"
}

@test "live to this host: vm-precopy g | vm-recv --as g2 runs a clone with its own UUID" {
	start_guest_hb g 5 -w rate=5000
	u1=$("$VMPIPE_BIN/vm-ctl" info g | awk '$1 == "uuid:" { print $2 }')
	run bash -c '"$VMPIPE_BIN/vm-precopy" -q g | "$VMPIPE_BIN/vm-recv" -q --as g2; echo "status ${PIPESTATUS[*]}"'
	[ "${lines[-1]}" = "status 0 0" ]
	[[ "$output" == *"vmpipe-recv: running g2 "* ]]
	u2=$("$VMPIPE_BIN/vm-ctl" info g2 | awk '$1 == "uuid:" { print $2 }')
	[ -n "$u2" ] && [ "$u1" != "$u2" ]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	wait_hb g2 $((last + 3))
	assert_clean g2
}

@test "four vCPUs all writing, compressed stream, short downtime target" {
	start_guest_hb g 5 --vcpus 4 -w rate=4000
	"$VMPIPE_BIN/vm-precopy" -q -z 1 --downtime 10 g |
	    on_b "$VMPIPE_BIN/vm-restore" -q
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_continues_on_b g "$last"
}

@test "--progress-fd writes one JSON line a round and a final one" {
	start_guest_hb g 3 -w rate=3000
	"$VMPIPE_BIN/vm-precopy" -q --progress-fd 3 g 3> "$TEST_TMP/p.json" \
	    > /dev/null
	head -n 1 "$TEST_TMP/p.json" |
	    grep -q '^{"event":"round","round":0,"pages":16384,'
	tail -n 1 "$TEST_TMP/p.json" | grep -q '^{"event":"done","rounds":'
	rounds=$(grep -c '"event":"round"' "$TEST_TMP/p.json")
	tail -n 1 "$TEST_TMP/p.json" | grep -q "\"rounds\":$((rounds + 1)),"
	"$VMPIPE_BIN/vm-ctl" resume g
}

@test "a guest dirtying faster than --bandwidth: the policy stops and the copy completes" {
	start_guest_hb g 3 -w rate=max
	run "$VMPIPE_BIN/vm-precopy" --bandwidth 40M --max-rounds 8 \
	    --progress-fd 3 -o "$TEST_TMP/img" g 3> "$TEST_TMP/p.json"
	[ "$status" -eq 0 ]
	rounds=$(grep -c '"event":"round"' "$TEST_TMP/p.json")
	[ "$rounds" -le 8 ]
	grep -Eq '"reason":"(not converging|reached the maximum)' \
	    "$TEST_TMP/p.json"
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	on_b "$VMPIPE_BIN/vm-restore" -q "$TEST_TMP/img"
	assert_continues_on_b g "$last"
}

@test "--no-fallback gives up on a guest that does not converge and resumes it" {
	start_guest_hb g 3 -w rate=max
	run "$VMPIPE_BIN/vm-precopy" --no-fallback --bandwidth 40M \
	    --max-rounds 4 -o /dev/null g
	[ "$status" -eq 5 ]
	[[ "$output" == *"--no-fallback was given; the guest was resumed"* ]]
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
}

@test "the reader going away mid-stream leaves the guest running" {
	start_guest_hb g 3 -w rate=2000
	run sh -c "'$VMPIPE_BIN/vm-precopy' g | head -c 5000000 > /dev/null"
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
	run "$VMPIPE_BIN/vm-ctl" info g
	[[ "$output" == *running* ]]
}

@test "SIGTERM mid-copy resumes the guest" {
	start_guest_hb g 3 -m 256M -w rate=2000
	"$VMPIPE_BIN/vm-precopy" --bandwidth 50M g > /dev/null 2> "$TEST_TMP/err" &
	pid=$!
	sleep 0.5
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 1 ]
	grep -q "interrupted by a signal; the guest was resumed" "$TEST_TMP/err"
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
}

@test "bad options are refused with the usage" {
	run "$VMPIPE_BIN/vm-precopy" --downtime x g
	[ "$status" -eq 2 ]
	[[ "$output" == *"downtime: expected milliseconds, found x"* ]]
	run "$VMPIPE_BIN/vm-precopy"
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: vm-precopy"* ]]
	run "$VMPIPE_BIN/vm-precopy" nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"guest nosuch:"* ]]
}

@test "on a terminal, the progress line shows rounds and never runs backwards" {
	start_guest_hb g 3 -m 128M -w rate=20000
	script -qfc "'$VMPIPE_BIN/vm-precopy' --bandwidth 100M g > /dev/null" \
	    "$TEST_TMP/tty" > /dev/null
	tr '\r' '\n' < "$TEST_TMP/tty" |
	    grep -o 'round [0-9]*, *[0-9.]*%' > "$TEST_TMP/shares"
	[ "$(wc -l < "$TEST_TMP/shares")" -ge 5 ]
	grep -q '^round 1,' "$TEST_TMP/shares"
	awk '{ s = $3 + 0; if (s < last) { print "backwards: " last " -> " s; bad = 1 }
	    last = s } END { exit bad }' "$TEST_TMP/shares"
	grep -q 'vm-precopy: g: [0-9]* rounds (pages: ' "$TEST_TMP/tty"
	"$VMPIPE_BIN/vm-ctl" resume g
}
