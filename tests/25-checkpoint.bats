#!/usr/bin/env bats
# vm-checkpoint on a running KVM test guest: checkpoints kept up to KEEP,
# the oldest removed, each one whole; a save that fails (no such guest,
# a full or read-only directory) exits 1 and leaves every checkpoint as
# it was, with no temporary file behind; the guest runs on, clean.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	need_kvm
	vmpipe_setup
	CK=$TEST_TMP/ck
	# The configuration files of the test, not this host's.
	export VMPIPE_CONF_DIR=$TEST_TMP/etc
	mkdir -p "$VMPIPE_CONF_DIR/checkpoint"
	printf 'DIR=%s\nKEEP=2\n' "$CK" > "$VMPIPE_CONF_DIR/checkpoint.conf"
}

teardown() {
	mountpoint -q "$CK" 2>/dev/null && umount "$CK"
	vmpipe_teardown
}

# A checkpoint that hangs fails the test instead.
checkpoint() {
	timeout $((60 * VMPIPE_TIME_SCALE)) "$VMPIPE_BIN/vm-checkpoint" "$@"
}

# listing: the files of $CK, hidden ones included, one a line.
listing() {
	ls -A "$CK"
}

# checkpoints: the checkpoints of $CK, oldest first.
checkpoints() {
	ls "$CK" | grep -v '^\.'
}

# whole FILE: vm-inspect finds the checkpoint whole.
whole() {
	case $1 in
	*.zst) zstd -q -dc "$1" | "$VMPIPE_BIN/vm-inspect" -q ;;
	*) "$VMPIPE_BIN/vm-inspect" -q "$1" ;;
	esac
}

# runs_on NAME: the guest beats on and its memory check is clean.
runs_on() {
	wait_hb "$1" $(($(last_hb "$1") + 2)) 10
	assert_clean "$1"
}

@test "KEEP=2: three checkpoints leave the newest two, each whole" {
	local first second third f
	start_guest_hb g 2
	run -0 checkpoint g
	first=$(checkpoints)
	[[ $first =~ ^g\.[0-9]{8}T[0-9]{6}\.[0-9]{9}Z\.vmi$ ]]
	[[ $output == *"guest resumed"* ]]
	[[ $output == *"vm-checkpoint: g: $CK/$first"* ]]
	run -0 checkpoint -q g
	[ -z "$output" ]
	second=$(checkpoints | tail -n 1)
	[ "$(checkpoints | wc -l)" -eq 2 ]
	run -0 checkpoint g
	[[ $output == *"removed $CK/$first"* ]]
	third=$(checkpoints | tail -n 1)
	[ "$(checkpoints)" = "$(printf '%s\n%s' "$second" "$third")" ]
	# Nothing else: no temporary file, no lock file.
	[ "$(listing)" = "$(printf '%s\n%s' "$second" "$third")" ]
	for f in "$second" "$third"; do
		whole "$CK/$f"
		[ "$(stat -c %a "$CK/$f")" = 600 ]
	done
	[ "$(stat -c %a "$CK")" = 700 ]
	runs_on g
}

@test "a guest's own file: KEEP=1, compressed; other guests' checkpoints are not its own" {
	local f
	start_guest_hb g 2
	start_guest_hb g.1 2
	printf 'KEEP=1\nZSTD=yes\n' > "$VMPIPE_CONF_DIR/checkpoint/g.conf"
	checkpoint -q g.1
	checkpoint -q g
	checkpoint -q g
	# g keeps one, compressed; g.1's (KEEP=2 by default here) is not
	# taken for one of g's.
	[ "$(checkpoints | grep -c '^g\.1\.')" -eq 1 ]
	f=$(checkpoints | grep -v '^g\.1\.')
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	[[ $f == *.vmi.zst ]]
	whole "$CK/$f"
	runs_on g
}

@test "no such guest: exit 1, the checkpoints stay, nothing left behind" {
	local before f
	start_guest_hb g 2
	checkpoint -q g
	checkpoint -q g
	before=$(listing)
	# The guest's own name, once it is gone.
	"$VMPIPE_BIN/vm-ctl" destroy g
	run -1 checkpoint g
	[[ $output == *"vm-checkpoint: g: vm-save failed; no checkpoint removed"* ]]
	[ "$(listing)" = "$before" ]
	run -1 checkpoint nosuch
	[ "$(listing)" = "$before" ]
	for f in $(checkpoints); do
		whole "$CK/$f"
	done
}

@test "a full directory, then a read-only one: exit 1, the checkpoints stay" {
	local size before f
	start_guest_hb g 2
	# Room for two and a half checkpoints: the third, written before
	# the first goes, cannot fit.
	checkpoint -q -d "$TEST_TMP/probe" g
	size=$(stat -c %s "$TEST_TMP/probe"/g.*)
	mkdir -p "$CK"
	mount -t tmpfs -o size=$((size * 5 / 2 / 1024 + 64))k,mode=700 \
	    vmpipe-ck "$CK"
	checkpoint -q g
	checkpoint -q g
	before=$(listing)
	run -1 checkpoint g
	echo "$output"
	[[ $output == *"vm-save failed; no checkpoint removed"* ]]
	[ "$(listing)" = "$before" ]
	runs_on g

	mount -o remount,ro "$CK"
	run -1 checkpoint g
	echo "$output"
	[[ $output == *"can't write in $CK"* ]]
	[ "$(listing)" = "$before" ]
	for f in $(checkpoints); do
		whole "$CK/$f"
	done
	runs_on g
}

@test "the KVM-only build (vmpipe-kvm) saves, checks and restores" {
	local p
	for p in save restore ctl; do
		[ -x "$VMPIPE_BIN/kvm/vm-$p" ] || skip "no bin/kvm (make kvm-only)"
		! readelf -d "$VMPIPE_BIN/kvm/vm-$p" | grep -q 'NEEDED.*libxen'
	done
	start_guest_hb g 2
	"$VMPIPE_BIN/kvm/vm-save" -q --keep -o "$TEST_TMP/g.vmi" g
	"$VMPIPE_BIN/vm-inspect" -q "$TEST_TMP/g.vmi"
	"$VMPIPE_BIN/kvm/vm-restore" -q --as g2 "$TEST_TMP/g.vmi"
	run -0 "$VMPIPE_BIN/kvm/vm-ctl" info g2
	[[ $output == *"backend: kvm"* ]]
	runs_on g2
	runs_on g
}
