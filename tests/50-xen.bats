#!/usr/bin/env bats
# Real Xen: tests/xen/run boots Xen 4.17 and a Debian dom0 under QEMU's
# emulator, runs every tests/xen/dom0/NN-*.sh there, and each is
# reported here as its own test.  The tests are cut in two parts, each
# run in boots of its own: both at once (tests/xen/run -j 2), or only
# part K of 2 when VMPIPE_XEN_PART=K/2 (make check runs the two parts as
# two of its jobs), the other part's tests then skipped here.  See
# tests/xen/run for what it needs (root, qemu-system-x86_64, debootstrap:
# scripts/deps xen) and how long it takes.  VMPIPE_SKIP_XEN=1 skips it
# all; VMPIPE_XEN_OUT keeps the console and the per-test logs in that
# directory.

load test_helper

setup_file() {
	local why=
	if [ "${VMPIPE_SKIP_XEN:-0}" = 1 ]; then
		why="VMPIPE_SKIP_XEN=1"
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		why="no qemu-system-x86_64 (scripts/deps xen)"
	elif ! command -v debootstrap >/dev/null; then
		why="no debootstrap (scripts/deps xen)"
	elif [ "$(id -u)" -ne 0 ]; then
		why="the Xen harness needs root (debootstrap, chroot)"
	fi
	if [ -n "$why" ]; then
		# VMPIPE_SKIP_XEN is a choice, the others a missing machine.
		if [ "${VMPIPE_STRICT:-0}" = 1 ] && [ "${VMPIPE_SKIP_XEN:-0}" != 1 ]; then
			echo "Xen: $why" >&2
			return 1
		fi
		skip "Xen: $why"
	fi
	XEN_OUT=${VMPIPE_XEN_OUT:-$BATS_FILE_TMPDIR/xen}
	export XEN_OUT
	mkdir -p "$XEN_OUT"
	# The harness's own status is in results; a failed test must not
	# fail setup_file, which would hide which one it was.
	local how="-j 2"
	[ -z "${VMPIPE_XEN_PART:-}" ] || how="-p $VMPIPE_XEN_PART"
	# shellcheck disable=SC2086
	"$BATS_TEST_DIRNAME/xen/run" $how -o "$XEN_OUT" \
	    >"$XEN_OUT/harness.log" 2>&1 || true
}

# xen_test NAME: pass when dom0 test NAME passed, skip when it skipped,
# and otherwise fail showing what it printed.  A test that passed only in
# its second boot (tests/xen/run retries a failure once) says so, with
# the end of its first run's log.
xen_test() {
	local r retry
	# Not in this part: its result is the other part's.
	if [ -f "$XEN_OUT/list" ] && ! grep -qx "$1" "$XEN_OUT/list"; then
		skip "in the other part of the Xen suite (VMPIPE_XEN_PART=$VMPIPE_XEN_PART)"
	fi
	read -r r retry <<<"$(awk -v n="$1" '$1 == n { print $2, $4 }' \
	    "$XEN_OUT/results" 2>/dev/null)"
	if [ "$retry" = retry ] && [ "$r" = pass ]; then
		{
			echo "# $1 passed on retry (in a fresh boot); first run:"
			tail -n 5 "$XEN_OUT/$1.try1.log" 2>/dev/null | sed 's/^/#   /'
		} >&3
	fi
	case $r in
	pass) return 0 ;;
	skip) skip "$(grep '^SKIP:' "$XEN_OUT/$1.log" | head -n 1)" ;;
	esac
	echo "dom0 test $1: ${r:-not run}${retry:+ (also on retry)}"
	[ ! -f "$XEN_OUT/$1.try1.log" ] || {
		echo "--- first run"; tail -n 20 "$XEN_OUT/$1.try1.log"; }
	[ ! -f "$XEN_OUT/$1.log" ] || {
		echo "--- last run"; tail -n 40 "$XEN_OUT/$1.log"; }
	echo "--- harness"
	tail -n 20 "$XEN_OUT/harness.log"
	return 1
}

@test "xen: dom0 comes up and xl info shows Xen 4.17 with HVM support" {
	xen_test 10-xl-info
}

@test "xen: the project's programs run in dom0 (vm-inspect reads a vector)" {
	xen_test 40-vmpipe-programs
}

@test "xen: every dom0 test is reported here and none ran unlisted" {
	local t n
	for t in "$BATS_TEST_DIRNAME"/xen/dom0/[0-9]*.sh; do
		n=$(basename "$t" .sh)
		grep -q "xen_test $n\$" "$BATS_TEST_FILENAME" ||
			{ echo "dom0 test $n has no @test in 50-xen.bats"; return 1; }
	done
	grep -q . "$XEN_OUT/results" || { tail -n 20 "$XEN_OUT/harness.log"; return 1; }
}

@test "xen: vm-save + vm-restore of a PVH guest continues its counter" {
	xen_test 50-vmpipe-save-restore
}

# show_table NAME: the timings a dom0 test printed, for whoever reads
# the run, here and in the results directory.
show_table() {
	sed -n 's/^TABLE //p' "$XEN_OUT/$1.log" |
	    tee "$XEN_OUT/$1.table" | sed 's/^/# /' >&3
}

@test "xen: an HVM guest: vm-save/vm-restore, vm-precopy | vm-recv --as, xl interop, a restricted device model (dm_restrict); a failed live copy leaves it running" {
	xen_test 52-vmpipe-hvm
}

@test "xen: a PV guest offline, saved by vm-save itself and through libxl's save: vm-save/vm-restore, vm-save | vm-recv --as, xl interop; failed saves and cut images" {
	xen_test 55-vmpipe-pv
	show_table 55-vmpipe-pv
}

@test "xen: vm-precopy (log-dirty rounds) + vm-restore of a PVH guest" {
	xen_test 60-vmpipe-precopy
}

@test "xen: on Debian's Xen (no shadow paging) a live copy of a PV guest is refused, saying why; it runs on" {
	xen_test 70-vmpipe-pv-live
}

@test "xen (shadow paging): a PV guest live, in vm-precopy's own rounds and through libxl's save: restored and piped into vm-recv, it ticks on with its memory whole; a reader gone or a refused move leaves it running" {
	xen_test 71-pv-live
}

@test "xen: vm-migrate over ssh to dom0 itself is refused, the guest runs on; vm-migrate to vm-recv --as moves PVH live and PV offline" {
	xen_test 88-migrate-ssh
}

@test "xen: vm-restore takes xl save files; xl restore takes vm-xlconv's output" {
	xen_test 80-xl-interop
}

@test "xen: vm-restore --as clones a guest with a fresh UUID and MAC" {
	xen_test 85-clone
}

@test "xen: a guest's file disk and LVM volume travel in a bundle: checkpointed at one instant, received elsewhere by vm-recv, a cut bundle leaves nothing" {
	xen_test 86-bundle
}

@test "xen: handover: a domain held paused until the go; no go, a deadline or a killed receive leaves none" {
	xen_test 87-handover
}

@test "xen: a configuration that runs programs or reaches the host is refused by name; disks and bridges by the policy" {
	xen_test 89-admit
}

@test "xen: cut saves leave the guest running; bad images leave no domain" {
	xen_test 95-bad-input
}

@test "xen: -C puts the administrator's configuration in place of the guest's, for the same guest only" {
	xen_test 91-config
}

@test "xen: a vNUMA guest is refused before it is paused, and is left as it was" {
	xen_test 92-refusals
}

@test "xen: a restored guest is watched: it reboots into a new domain, a power-off ends it, a crash is kept" {
	xen_test 93-monitor
}

@test "xen: with too little free memory a restore balloons dom0 down (autoballoon), and gives it back when it fails" {
	xen_test 96-balloon
}

@test "xen: a PVH guest with two vCPUs, ballooned memory, a file and a phy: disk and a vif is saved and restored, checkpointed and live-migrated to this host keeping its name and UUID: its journals, CPUID, ping and one TCP connection go on, its file systems check clean" {
	xen_test 97-devices
	show_table 97-devices
}
