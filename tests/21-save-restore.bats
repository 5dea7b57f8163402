#!/usr/bin/env bats
# vm-save and vm-restore on running KVM test guests: the restored guest
# continues where it was saved (its heartbeat goes on, it is not started
# again), and its own full memory check finds nothing wrong.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	need_kvm
	vmpipe_setup
	IMG=$TEST_TMP/g.vmi
	# A second host, as far as the KVM backend can tell.
	RUN2=$TEST_TMP/run2
	mkdir -p "$RUN2"
}

teardown() {
	VMPIPE_RUNDIR=$RUN2 vmpipe_guests_kill
	vmpipe_teardown
}

# Destroy every guest of $VMPIPE_RUNDIR (vmpipe_teardown does the same
# for the test's own run directory).
vmpipe_guests_kill() {
	local p pid
	for p in "$VMPIPE_RUNDIR"/*.pid; do
		[ -e "$p" ] || continue
		pid=$(cat "$p" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
		wait_pid_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

save()    { "$VMPIPE_BIN/vm-save" "$@"; }
restore() { "$VMPIPE_BIN/vm-restore" "$@"; }
ctl()     { "$VMPIPE_BIN/vm-ctl" "$@"; }

# state NAME: running or paused, as vm-ctl info says.
state() {
	ctl info "$1" | awk '$1 == "state:" { print $2 }'
}

# footprint NAME: the pages the guest writes and verifies.
footprint() {
	grep -a '^vmpipe-guest: start ' "$(guest_log "$1")" | head -n 1 |
	    sed 's/.* pages=\([0-9]*\) .*/\1/'
}

# hb_increasing NAME: every heartbeat in the log is above the one before:
# the guest never started again.
hb_increasing() {
	grep -a '^vmpipe-guest: hb ' "$(guest_log "$1")" | awk '
	    $3 <= prev { print "heartbeat " $3 " after " prev; bad = 1 }
	    { prev = $3 }
	    END { exit bad }' >&2
}

# wait_verified NAME N [SECONDS]: until the guest has verified N more
# pages than it had when called.
wait_verified() { wait_field "$1" verified "$2" "${3:-20}"; }

# mark NAME: lines in NAME's log so far (0 if it has none): what comes
# after them was written by the restored guest.
mark() {
	cat "$(guest_log "$1")" 2>/dev/null | wc -l
}

# continues NAME BEFORE MARK [SLACK]: NAME runs again, the first heartbeat after
# line MARK of its log is the one after BEFORE (it was not started again,
# nor sent back in time), and a whole verify sweep after the restore is
# clean.
continues() {
	local name=$1 before=$2 from=$3 slack=${4:-2} first pages
	wait_hb "$name" $((before + 3)) 10
	first=$(tail -n +$((from + 1)) "$(guest_log "$name")" |
	    grep -a '^vmpipe-guest: hb ' | head -n 1 | awk '{ print $3 }')
	if [ -z "$first" ] || [ "$first" -le "$before" ] ||
	    [ "$first" -gt $((before + slack)) ]; then
		echo "guest $name: first heartbeat after the restore is" \
		    "'$first', want $((before + 1))" >&2
		return 1
	fi
	hb_increasing "$name"
	[ "$(grep -ac '^vmpipe-guest: start ' "$(guest_log "$name")")" -le 1 ]
	pages=$(footprint "$name")
	[ -n "$pages" ] || pages=$(( $(ctl info "$name" |
	    awk '$1 == "memory:" { print $2 }') / 4096 ))
	wait_verified "$name" "$pages" 20
	assert_clean "$name"
}

# gone NAME: no guest, socket or pid file of that name is left.
gone() {
	! ctl info "$1" > /dev/null 2>&1 &&
	    [ ! -e "$VMPIPE_RUNDIR/$1.sock" ] && [ ! -e "$VMPIPE_RUNDIR/$1.pid" ]
}

@test "a saved and restored 2-vCPU guest continues where it was" {
	start_guest_hb g 5
	save g > "$IMG" 2> "$TEST_TMP/err"
	stderr=$(cat "$TEST_TMP/err")
	[[ "$stderr" =~ ^"vm-save: g: 16384 pages ("[0-9]+" zero), "[0-9]+" octets in "[0-9.]+" s ("[0-9.]+" GB/s of guest memory), paused "[0-9.]+" s; guest destroyed"$ ]]
	before=$(last_hb g) m=$(mark g)
	gone g
	run "$VMPIPE_BIN/vm-inspect" -q "$IMG"
	[ "$status" -eq 0 ]

	run restore < "$IMG"
	[ "$status" -eq 0 ]
	[[ "$output" == "vm-restore: g: 16384 pages, "*"; guest running" ]]
	[ "$(state g)" = running ]
	continues g "$before" "$m"
}

@test "saved twice: a restored guest saves and restores again" {
	start_guest_hb g 3
	save -q g > "$IMG"
	restore -q "$IMG"
	wait_hb g $(( $(last_hb g) + 2 ))
	save -q g > "$TEST_TMP/second.vmi"
	before=$(last_hb g) m=$(mark g)
	restore -q "$TEST_TMP/second.vmi"
	continues g "$before" "$m"
}

@test "--keep: the guest runs on, and the image restores on another host" {
	start_guest_hb g 3
	s0=$(last_hb g)
	run -0 save -q --keep g -o "$IMG"
	saved=$(last_hb g)
	[ "$(state g)" = running ]
	wait_hb g $((saved + 5)) 10
	assert_clean g

	VMPIPE_RUNDIR=$RUN2 run -0 restore -q --name other "$IMG"
	[ -S "$RUN2/other.sock" ]
	[ ! -e "$VMPIPE_RUNDIR/other.sock" ]
	VMPIPE_RUNDIR=$RUN2 continues other "$s0" 0 $((saved - s0 + 2))
	# Both run: the original has its own heartbeat, still clean.
	[ "$(state g)" = running ]
	assert_clean g
}

@test "--paused: the guest is left paused, and resumes" {
	start_guest_hb g 3
	run -0 save -q --paused g -o "$IMG"
	[ "$(state g)" = paused ]
	a=$(last_hb g)
	sleep 0.5
	[ "$(last_hb g)" -le $((a + 1)) ]
	run -0 "$VMPIPE_BIN/vm-inspect" -q "$IMG"
	run -0 ctl resume g
	[ "$(state g)" = running ]
	wait_hb g $((a + 3)) 10
	assert_clean g
}

@test "a 4-vCPU guest continues after save and restore" {
	start_guest_hb g 3 --vcpus 4 -m 128M
	grep -aq '^vmpipe-guest: start mem=128M vcpus=4 writers=4 ' "$(guest_log g)"
	save -q g > "$IMG"
	before=$(last_hb g) m=$(mark g)
	run -0 "$VMPIPE_BIN/vm-inspect" "$IMG"
	[[ "$output" == *"4 vCPUs, memory 131072 KiB"* ]]
	run -0 restore -q "$IMG"
	[ "$(ctl info g | awk '$1 == "vcpus:" { print $2 }')" = 4 ]
	continues g "$before" "$m"
}

@test "vm-restore --paused, then vm-ctl resume" {
	start_guest_hb g 3
	save -q g > "$IMG"
	before=$(last_hb g) m=$(mark g)
	run -0 restore --paused "$IMG"
	[[ "$output" == *"; guest paused" ]]
	[ "$(state g)" = paused ]
	sleep 0.5
	[ "$(last_hb g)" -eq "$before" ]
	run -0 ctl resume g
	continues g "$before" "$m"
}

@test "vm-save -z 3: a compressed image restores" {
	start_guest_hb g 3
	run -0 save -q -z 3 g -o "$IMG"
	before=$(last_hb g) m=$(mark g)
	run -0 "$VMPIPE_BIN/vm-inspect" "$IMG"
	n=$(echo "$output" | sed -n 's/^records: [0-9]* + END, \([0-9]*\) compressed.*/\1/p')
	[ "$n" -gt 0 ]
	run -0 restore -q "$IMG"
	continues g "$before" "$m"
}

@test "a checkpoint compressed as a whole restores through zstd -dc" {
	start_guest_hb g 3
	save -q --keep g | zstd -q -1 > "$IMG.zst"
	[ "$(state g)" = running ]
	run -0 ctl destroy g
	before=$(grep -a '^vmpipe-guest: hb ' "$(guest_log g)" | tail -n 1 |
	    awk '{ print $3 }')
	zstd -dc "$IMG.zst" | restore -q
	# The checkpoint was taken before the last heartbeats: the guest
	# goes on from the checkpoint, a little behind the destroyed one.
	wait_hb g $((before + 2)) 10
	assert_clean g
}

@test "vm-save -o file writes nothing to standard output" {
	start_guest_hb g 3
	run --separate-stderr save -o "$IMG" g
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == "vm-save: g: "*"; guest destroyed" ]]
	before=$(last_hb g) m=$(mark g)
	[ "$(stat -c %s "$IMG")" -gt $((50 << 20)) ]
	run -0 restore -q "$IMG"
	continues g "$before" "$m"
}

@test "piped straight on one host: a second guest with the same UUID is refused, the source runs on" {
	# Renaming is not enough beside the original: its UUID is taken
	# (--as gives a fresh one).  The save fails, so the source resumes.
	start_guest_hb g 3
	run bash -c '"$VMPIPE_BIN/vm-save" -q g | "$VMPIPE_BIN/vm-restore" -q --name g2; echo "status ${PIPESTATUS[*]}"'
	[ "${lines[-1]}" = "status 1 1" ]
	[[ "$output" == *"vm-restore: -: preflight: guest g here already has the image's UUID; no guest was made"* ]]
	[[ "$output" == *"the guest was resumed"* ]]
	[ "$(state g)" = running ]
	[ ! -e "$VMPIPE_RUNDIR/g2.sock" ]
	a=$(last_hb g)
	wait_hb g $((a + 3))
	assert_clean g
}

@test "piped straight as a clone: vm-save --keep g | vm-restore --as g2" {
	start_guest_hb g 3
	s0=$(last_hb g)
	run bash -c '"$VMPIPE_BIN/vm-save" -q --keep g | "$VMPIPE_BIN/vm-restore" -q --as g2; echo "status ${PIPESTATUS[*]}"'
	[ "${lines[-1]}" = "status 0 0" ]
	[ "$(state g)" = running ]
	u1=$(ctl info g | awk '$1 == "uuid:" { print $2 }')
	u2=$(ctl info g2 | awk '$1 == "uuid:" { print $2 }')
	[ -n "$u2" ] && [ "$u1" != "$u2" ]
	continues g2 "$s0" 0 $(( $(last_hb g) - s0 + 2 ))
	assert_clean g
}
