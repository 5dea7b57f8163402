#!/usr/bin/env bats
# vm-inspect on bundles (vm-bundle(5)): a whole one is described and
# passes, from a file and from a pipe; one cut short or with an octet
# changed in a member is refused with exit 1 and a message that names
# the member.  Bundles are made by tests/unit/mkbundle.bin from the
# golden vector and a sparse disk.  No guest is run here.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	vmpipe_setup
	cd "$VMPIPE_TOP"
	make -s tests/unit/mkbundle.bin
	# A 64 MiB disk with two runs of data, the rest holes.
	truncate -s 64M "$TEST_TMP/vda"
	printf 'DISKDATA-%04d....' $(seq 1 256) |
	    dd of="$TEST_TMP/vda" bs=1M seek=1 conv=notrunc status=none
	printf 'LASTDATA' |
	    dd of="$TEST_TMP/vda" bs=1M seek=40 conv=notrunc status=none
	B="$TEST_TMP/web1.tar"
	tests/unit/mkbundle.bin -c 65536 web1 tests/vectors/plain.vmi \
	    "vda=$TEST_TMP/vda" > "$B"
}

teardown() {
	vmpipe_teardown
}

inspect() {
	"$VMPIPE_BIN/vm-inspect" "$@"
}

# offset_of STRING: where STRING first is in the bundle.
offset_of() {
	grep -obUaF "$1" "$B" | head -n 1 | cut -d: -f1
}

# flip_at OFFSET: xor one octet of the bundle in place.
flip_at() {
	local b
	b=$(od -An -tu1 -j "$1" -N1 "$B" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" |
	    dd of="$B" bs=1 seek="$1" conv=notrunc status=none
}

@test "a whole bundle: its guest, its disk, its image, whole" {
	run -0 inspect "$B"
	[ "${lines[0]}" = "bundle: $B, format vmpipe-bundle 1" ]
	[ "${lines[1]}" = "bundle guest: web1, image in members of 65536 octets, 1 disk" ]
	[ "${lines[2]}" = "disk: vda, 67108864 octets, from $TEST_TMP/vda" ]
	[ "${lines[3]}" = "image: in the bundle, format version 1" ]
	# The image is described as vm-inspect describes the vector.
	diff <(sed -n '2,/^records:/p' tests/vectors/plain.txt) \
	    <(printf '%s\n' "${lines[@]:4:9}")
	# Data as the file system holds it: in whole blocks of 4096.
	[[ "${lines[-2]}" == "bundle: 7 members, 4 of the image (197720 octets); disks: 67108864 octets, 12288 of them data; archive: "* ]]
	[ "${lines[-1]}" = "status: whole: every checksum and the END digest match, and every member's digest matches SUMS" ]
}

@test "a bundle through a pipe, quiet" {
	run -0 --separate-stderr sh -c "cat '$B' | '$VMPIPE_BIN/vm-inspect' -q"
	[ -z "$output" ] && [ -z "$stderr" ]
	run -0 sh -c "cat '$B' | '$VMPIPE_BIN/vm-inspect' -"
	[ "${lines[-1]}" = "status: whole: every checksum and the END digest match, and every member's digest matches SUMS" ]
}

@test "libarchive is loaded for a bundle only: without it, images check and a bundle is refused saying why" {
	local lib p
	for p in vm-inspect vm-save vm-restore vm-recv; do
		if readelf -d "$VMPIPE_BIN/$p" | grep NEEDED |
		    grep -q libarchive; then
			echo "$p links libarchive" >&2
			return 1
		fi
	done
	lib=$(PATH=$PATH:/usr/sbin:/sbin ldconfig -p |
	    awk '/libarchive\.so\.13 .*x86-64/ { print $NF; exit }')
	lib=$(readlink -f "$lib")
	[ -f "$lib" ]
	unshare -m true 2>/dev/null || skip "no mount namespace here"
	# The library made unreadable in a namespace of the test's own.
	run -0 unshare -m sh -c "mount --bind /dev/null '$lib' &&
	    '$VMPIPE_BIN/vm-inspect' -q tests/vectors/plain.vmi && echo image ok"
	[ "$output" = "image ok" ]
	run -1 --separate-stderr unshare -m sh -c "mount --bind /dev/null '$lib' &&
	    '$VMPIPE_BIN/vm-inspect' -q '$B'"
	[[ $stderr == "vm-inspect: $B: bundle: can't load libarchive, which bundles need: "*libarchive.so.13* ]]
}

@test "GNU tar and bsdtar list the bundle" {
	run -0 tar tf "$B"
	[ "$output" = "$(printf '%s\n' MANIFEST image.000000 image.000001 \
	    image.000002 image.000003 disk/vda SUMS)" ]
	run -0 bsdtar tf "$B"
	[ "${lines[5]}" = "disk/vda" ]
}

@test "a bundle cut in the image, in the disk, in SUMS or in its end is refused" {
	local n off d=$(offset_of DISKDATA-0100)
	n=$(stat -c %s "$B")
	cp "$B" "$TEST_TMP/whole.tar"
	head -c 100000 "$TEST_TMP/whole.tar" > "$B"
	run -1 --separate-stderr inspect -q "$B"
	[[ "$stderr" == "vm-inspect: $B: image.000001: after "*" of 65536 octets: Truncated tar archive" ]]
	head -c "$d" "$TEST_TMP/whole.tar" > "$B"
	run -1 --separate-stderr inspect -q "$B"
	[[ "$stderr" == "vm-inspect: $B: disk/vda: after "*" of 67108864 octets: Truncated tar archive" ]]
	head -c $((n - 1)) "$TEST_TMP/whole.tar" > "$B"
	run -1 --separate-stderr inspect -q "$B"
	[ "$stderr" = "vm-inspect: $B: the archive ends after SUMS without its end (two blocks of zeros): cut short" ]
	for off in 512 1024 70000 $((n - 1536)) $((n - 1024)); do
		head -c "$off" "$TEST_TMP/whole.tar" > "$B"
		run -1 inspect -q "$B"
		run -1 sh -c "cat '$B' | '$VMPIPE_BIN/vm-inspect' -q"
	done
}

@test "an octet changed in the disk, in the image or in SUMS is refused" {
	cp "$B" "$TEST_TMP/whole.tar"
	flip_at $(( $(offset_of DISKDATA-0100) + 3 ))
	run -1 --separate-stderr inspect "$B"
	[[ "$stderr" == "vm-inspect: $B: disk/vda: digest mismatch: SUMS says xxh3-64:"*", the member's data has xxh3-64:"* ]]
	[ "${lines[-1]}" != "status: whole: every checksum and the END digest match, and every member's digest matches SUMS" ]

	cp "$TEST_TMP/whole.tar" "$B"
	flip_at $(( $(offset_of LASTDATA) + 1 ))
	run -1 --separate-stderr inspect -q "$B"
	[[ "$stderr" == "vm-inspect: $B: disk/vda: digest mismatch: "* ]]

	# In the image: the bundle's digest says so before the image's
	# own checksum is heard of.
	cp "$TEST_TMP/whole.tar" "$B"
	flip_at $(( $(offset_of 'sample image') + 2 ))
	run -1 --separate-stderr inspect -q "$B"
	[[ "$stderr" == "vm-inspect: $B: image.000000: digest mismatch: "* ]]

	cp "$TEST_TMP/whole.tar" "$B"
	flip_at $(( $(offset_of 'xxh3-64:') + 8 ))
	run -1 --separate-stderr inspect -q "$B"
	[[ "$stderr" == "vm-inspect: $B: MANIFEST: digest mismatch: "* ]]
}

@test "a tar archive that is not a bundle is refused" {
	mkdir "$TEST_TMP/d"
	echo hello > "$TEST_TMP/d/MANIFEST"
	tar -cf "$B" -C "$TEST_TMP/d" MANIFEST
	run -1 --separate-stderr inspect -q "$B"
	[ "$stderr" = "vm-inspect: $B: MANIFEST line 1: expected \"vmpipe-bundle 1\", found \"hello\"" ]
	tar -cf "$B" -C "$TEST_TMP" vda
	run -1 --separate-stderr inspect -q "$B"
	[ "$stderr" = "vm-inspect: $B: member 1: expected MANIFEST, found \"vda\"" ]
}

@test "vm-recv: a bundle whose image is not a vmpipe image is refused before anything is made" {
	head -c 200000 /dev/urandom >"$TEST_TMP/junk"
	tests/unit/mkbundle.bin web1 "$TEST_TMP/junk" >"$TEST_TMP/junk.tar"
	run -1 env VMPIPE_RUNDIR="$TEST_TMP/run" "$VMPIPE_BIN/vm-recv" -q \
	    <"$TEST_TMP/junk.tar"
	echo "$output"
	[ "$output" = "vmpipe-recv: refused: the bundle's image is not a vmpipe image (vm-image(5))" ]
	[ -z "$(ls -A "$TEST_TMP/run" 2>/dev/null)" ]
}
