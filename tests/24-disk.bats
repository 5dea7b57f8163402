#!/usr/bin/env bats
# A KVM guest with a disk (vm-run --disk): the test guest writes its
# blocks with a generation each and reads them back at random against
# what its memory says it wrote, so a disk that does not match its
# memory - lost, stale or newer writes - is an ERROR line of the guest's
# own.  Saved and restored, migrated live through a pipe, its disk check
# goes on clean; a checkpoint of memory alone, restored after the guest
# wrote on, is caught by that check (the damage a checkpoint that holds
# the disk too prevents); with the disk as it was at the checkpoint's
# instant it is clean.  A disk the destination's policy does not admit
# is refused before a guest is made.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	need_kvm
	vmpipe_setup
	DISK=$TEST_TMP/disks/g.img
	mkdir -p "$TEST_TMP/disks"
	truncate -s 4M "$DISK"
	printf 'disk-prefix %s/disks/\n' "$TEST_TMP" >"$TEST_TMP/recv.conf"
	export VMPIPE_RECV_CONF=$TEST_TMP/recv.conf
}

teardown() {
	vmpipe_teardown
}

ctl() { "$VMPIPE_BIN/vm-ctl" "$@"; }

@test "vm-run --disk: the guest writes and reads back its disk, clean" {
	start_guest_hb g 3 --disk "$DISK"
	grep -aq '^vmpipe-guest: disk 1024 blocks, 1024 checked$' "$(guest_log g)"
	wait_disk g 50
	disk_clean g
	# The writes reached the file: every block carries data.
	[ "$(tr -d '\0' <"$DISK" | head -c 4096 | wc -c)" -gt 0 ]
}

@test "vm-run --disk: a file that is not whole blocks is refused" {
	truncate -s 5000 "$TEST_TMP/odd.img"
	run -2 "$VMPIPE_BIN/vm-run" -D -n g -m 64M --disk "$TEST_TMP/odd.img" \
	    "$VMPIPE_GUEST"
	[[ "$output" == *"odd.img: 5000 octets, expected a whole number of 4096-octet blocks, at least one" ]]
}

@test "saved and restored, the guest's disk check goes on clean; the image names its disk" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" -q g -o "$TEST_TMP/g.vmi"
	run -0 "$VMPIPE_BIN/vm-restore" -q "$TEST_TMP/g.vmi"
	wait_disk g 100
	disk_clean g
	[ "$(grep -ac '^vmpipe-guest: start ' "$(guest_log g)")" -eq 1 ]
}

@test "live through a pipe: vm-precopy | vm-restore --as, the copy's disk check clean" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	# The copy takes the disk over; the source goes (vm-precopy's
	# default), as a migration between hosts sharing the disk would.
	"$VMPIPE_BIN/vm-precopy" -q g | "$VMPIPE_BIN/vm-restore" -q --as g2
	wait_disk g2 100
	disk_clean g2
}

@test "a checkpoint of memory alone, restored after the guest wrote on: its disk check reports the damage" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" -q --keep g -o "$TEST_TMP/ckpt.vmi"
	# The guest writes on (100 blocks a second), then stops.
	wait_disk g 300
	ctl destroy g
	run -0 "$VMPIPE_BIN/vm-restore" -q "$TEST_TMP/ckpt.vmi"
	wait_for "$(guest_log g)" 'ERROR disk block [0-9]+ want gen [0-9]+ got gen [0-9]+' 30
	[ "$(hb_field g disk-errors)" -gt 0 ] || wait_hb g $(( $(last_hb g) + 1 ))
	[ "$(hb_field g disk-errors)" -gt 0 ]
}

@test "a checkpoint with the disk as it was at its instant restores clean" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	# Memory and disk at one instant: paused for both.
	run -0 ctl pause g
	cp --sparse=always "$DISK" "$TEST_TMP/disks/g.at-ckpt"
	run -0 "$VMPIPE_BIN/vm-save" -q --keep g -o "$TEST_TMP/ckpt.vmi"
	run -0 ctl resume g
	wait_disk g 300
	ctl destroy g
	cp "$TEST_TMP/disks/g.at-ckpt" "$DISK"
	run -0 "$VMPIPE_BIN/vm-restore" -q "$TEST_TMP/ckpt.vmi"
	wait_disk g 300
	disk_clean g
}

@test "a disk outside the policy's disk-prefix is refused before a guest is made" {
	start_guest_hb g 3 --disk "$DISK"
	run -0 "$VMPIPE_BIN/vm-save" -q --keep g -o "$TEST_TMP/g.vmi"
	: >"$TEST_TMP/recv.conf"
	run -1 "$VMPIPE_BIN/vm-restore" -q --as g2 "$TEST_TMP/g.vmi"
	[[ "$output" == *"disk \"$DISK\": expected a path under a disk-prefix of $TEST_TMP/recv.conf (none is set)"* ]]
	! ctl info g2 >/dev/null 2>&1
	[ ! -e "$VMPIPE_RUNDIR/g2.sock" ]
	run -1 "$VMPIPE_BIN/vm-recv" -q --as g2 <"$TEST_TMP/g.vmi"
	[[ "$output" == *"expected a path under a disk-prefix"* ]]
	! ctl info g2 >/dev/null 2>&1
	disk_clean g
}

@test "two running guests never share a disk: a clone from an image is refused while its original runs, and the original paused can't be resumed while the clone runs" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" -q --keep g -o "$TEST_TMP/g.vmi"
	run -1 "$VMPIPE_BIN/vm-restore" -q --as g2 "$TEST_TMP/g.vmi"
	echo "$output"
	[[ "$output" == *"disk $DISK is in use by another running guest"* ]]
	! ctl info g2 >/dev/null 2>&1
	wait_disk g 30
	disk_clean g
	# Paused, the original lets go of it: the clone may run.
	run -0 ctl pause g
	run -0 "$VMPIPE_BIN/vm-restore" -q --as g2 "$TEST_TMP/g.vmi"
	wait_disk g2 30
	run -1 ctl resume g
	echo "$output"
	[[ "$output" == *"disk $DISK is in use by another running guest"* ]]
	ctl info g | grep -q paused
	wait_disk g2 30
	ctl destroy g2
	ctl destroy g
}

# Bundles (vm-bundle(5)): a guest and its disk in one archive.

@test "vm-save --bundle --keep: a checkpoint of memory and disk at one instant; restored over the disk that went on, the guest's check is clean" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" --bundle --keep g -o "$TEST_TMP/ckpt.tar"
	echo "$output"
	[[ "$output" == *"vm-save: disk vda: $DISK, 4194304 octets, held by copy in "*" ms (guest paused)"* ]]
	[ -z "$(ls -A "$TEST_TMP/disks" | grep -v '^g.img$')" ]
	run -0 tar tf "$TEST_TMP/ckpt.tar"
	# The image in 16 MiB members, then the disk, then the digests.
	[ "${lines[0]}" = MANIFEST ] && [ "${lines[1]}" = image.000000 ]
	[ "${lines[-2]}" = disk/vda ] && [ "${lines[-1]}" = SUMS ]
	run -0 "$VMPIPE_BIN/vm-inspect" -q "$TEST_TMP/ckpt.tar"
	wait_disk g 300
	ctl destroy g
	run -0 "$VMPIPE_BIN/vm-restore" -q --replace-disks "$TEST_TMP/ckpt.tar"
	wait_disk g 300
	disk_clean g
	[ -z "$(ls -A "$TEST_TMP/disks" | grep -v '^g.img$')" ]
}

@test "a bundle restored as a clone with --disk-dir: its own disk there, both guests clean, the original's disk untouched by it" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" -q --bundle --keep g -o "$TEST_TMP/ckpt.tar"
	mkdir "$TEST_TMP/disks/clones"
	run -0 "$VMPIPE_BIN/vm-restore" -q --as g2 --disk-dir "$TEST_TMP/disks/clones" \
	    "$TEST_TMP/ckpt.tar"
	[ -f "$TEST_TMP/disks/clones/g.img" ]
	wait_disk g2 200
	wait_disk g 200
	disk_clean g2
	disk_clean g
}

@test "a bundle's disk is never put over a file without --replace-disks; nothing is made" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" -q --bundle --keep g -o "$TEST_TMP/ckpt.tar"
	run -1 "$VMPIPE_BIN/vm-restore" -q --as g2 "$TEST_TMP/ckpt.tar"
	[[ "$output" == *"disk vda: \"$DISK\": expected no file there, found one (it may be a running guest's disk; --replace-disks replaces it); no disk was put in place"* ]]
	! ctl info g2 >/dev/null 2>&1
	[ -z "$(ls -A "$TEST_TMP/disks" | grep -v '^g.img$')" ]
	wait_disk g 50
	disk_clean g
}

@test "a bundle cut short or damaged in its disk is refused: no disk put in place, nothing overwritten, no guest" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -0 "$VMPIPE_BIN/vm-save" -q --bundle g -o "$TEST_TMP/b.tar"
	gone_g=$(ctl info g >/dev/null 2>&1 && echo no || echo yes)
	[ "$gone_g" = yes ]
	cp "$DISK" "$TEST_TMP/disk.before"
	size=$(stat -c %s "$TEST_TMP/b.tar")
	head -c $((size - 3000)) "$TEST_TMP/b.tar" >"$TEST_TMP/cut.tar"
	run -1 "$VMPIPE_BIN/vm-restore" -q --replace-disks "$TEST_TMP/cut.tar"
	[[ "$output" == *"no disk was put in place; no guest was made" ]]
	cmp "$DISK" "$TEST_TMP/disk.before"
	# One octet of the disk member's data flipped (the last 4 MiB
	# before SUMS hold the disk's blocks).
	cp "$TEST_TMP/b.tar" "$TEST_TMP/bad.tar"
	off=$((size - 1024 * 1024))
	printf '\x5a' | dd of="$TEST_TMP/bad.tar" bs=1 seek=$off conv=notrunc 2>/dev/null
	run -1 "$VMPIPE_BIN/vm-restore" -q --replace-disks "$TEST_TMP/bad.tar"
	echo "$output"
	[[ "$output" == *"no disk was put in place; no guest was made" ]]
	cmp "$DISK" "$TEST_TMP/disk.before"
	! ctl info g >/dev/null 2>&1
	[ -z "$(ls -A "$TEST_TMP/disks" | grep -v '^g.img$')" ]
	# The whole bundle restores the guest it moved.
	run -0 "$VMPIPE_BIN/vm-restore" -q --replace-disks "$TEST_TMP/b.tar"
	wait_disk g 200
	disk_clean g
}

@test "--max-pause 0 where the disk has no reflink: the checkpoint is refused, the guest runs on, no snapshot is left" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run -1 "$VMPIPE_BIN/vm-save" -q --bundle --keep --max-pause 0 g -o "$TEST_TMP/ckpt.tar"
	[[ "$output" == *"disk vda: $DISK can't be cloned by reflink to "*"and a copy was not allowed"*"the guest was resumed"* ]]
	[ "$(ctl info g | awk '$1 == "state:" { print $2 }')" = running ]
	[ -z "$(ls -A "$TEST_TMP/disks" | grep -v '^g.img$')" ]
	wait_disk g 50
	disk_clean g
}

@test "a checkpoint of a guest whose disk is a device but not a logical volume is refused before it is paused: it can't be held" {
	LOOP=$(losetup -f --show "$DISK")
	start_guest_hb g 3 --disk "$LOOP"
	wait_disk g 20
	run -1 "$VMPIPE_BIN/vm-save" -q --bundle --keep g -o "$TEST_TMP/ckpt.tar"
	echo "$output"
	[[ "$output" == *"disk vda: $LOOP is neither a file nor an LVM logical volume: a checkpoint holds only those at its instant (by reflink or copy, by a snapshot volume); save it without --keep, the guest paused while the disk is read"* ]]
	[ "$(ctl info g | awk '$1 == "state:" { print $2 }')" = running ]
	[ -z "$(ls -A /dev | grep vmpipe-snap)" ]
	# Without --keep the device is read with the guest paused.
	run -0 "$VMPIPE_BIN/vm-save" -q --bundle g -o "$TEST_TMP/b.tar"
	run -0 "$VMPIPE_BIN/vm-inspect" -q "$TEST_TMP/b.tar"
	ctl destroy g 2>/dev/null || true
	losetup -d "$LOOP"
}
