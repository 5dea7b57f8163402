#!/usr/bin/env bats
# Disk snapshots for consistent checkpoints (src/lib/snap.c): on a file
# system with reflink (an xfs on a loop device, made here) a snapshot is
# a reflink - instant, its bytes the disk's at that instant, a later
# write not reaching it; where there is none it is a copy with the holes
# kept, refused when no copy is allowed or when it outruns the pause
# limit, leaving no file.  The checks are tests/unit/test_snap.c's; this
# file gives them the two kinds of file system.  Needs root (mount) and
# mkfs.xfs (scripts/deps test); no KVM.

load test_helper

setup_file() {
	local why=
	if [ "$(id -u)" -ne 0 ]; then
		why="mounting an xfs needs root"
	elif ! command -v mkfs.xfs >/dev/null; then
		why="no mkfs.xfs (scripts/deps test)"
	fi
	if [ -n "$why" ]; then
		[ "${VMPIPE_STRICT:-0}" = 1 ] && { echo "$why" >&2; return 1; }
		skip "$why"
	fi
	make -s -C "$VMPIPE_TOP" tests/unit/test_snap.bin >&2
	XFS=$BATS_FILE_TMPDIR/xfs
	mkdir -p "$XFS"
	truncate -s 512M "$BATS_FILE_TMPDIR/xfs.img"
	mkfs.xfs -q -m reflink=1 "$BATS_FILE_TMPDIR/xfs.img"
	mount -o loop "$BATS_FILE_TMPDIR/xfs.img" "$XFS"
	export XFS
}

teardown_file() {
	[ -z "${XFS:-}" ] || umount "$XFS" 2>/dev/null || true
}

@test "snapshot on xfs with reflink: a reflink; the disk's bytes at that instant; later writes don't reach it" {
	run "$VMPIPE_TOP/tests/unit/test_snap.bin" "$XFS"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"test_snap (reflink): "*" 0 failures"* ]]
}

@test "snapshot without reflink: a copy, holes kept; refused without copy or over the pause limit, no file left" {
	TMPDIR=$BATS_TEST_TMPDIR run "$VMPIPE_TOP/tests/unit/test_snap.bin"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "test_snap: "*" 0 failures" ]]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
}

@test "no snapshot left on the xfs" {
	[ -z "$(ls -A "$XFS")" ]
}
