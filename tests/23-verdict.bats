#!/usr/bin/env bats
# One verdict on an image: every crafted image that breaks a rule of
# vm-image(5) is refused by vm-inspect and by vm-restore with the same
# reason (the reader's), and vm-restore leaves no guest behind.  The
# images are written octet by octet by tests/unit/mkbad.c.

load test_helper
bats_require_minimum_version 1.5.0

setup_file() {
	export MKBAD="$BATS_FILE_TMPDIR/mkbad"
	cc -O1 -std=gnu11 -D_GNU_SOURCE -pthread -I"$VMPIPE_TOP/src/lib" \
	    -I"$VMPIPE_TOP/src/hv" -I"$VMPIPE_TOP/tests/unit" -o "$MKBAD" \
	    "$VMPIPE_TOP/tests/unit/mkbad.c" "$VMPIPE_TOP/obj/libvmpipe.a" \
	    -lzstd
}

setup() {
	vmpipe_setup
}

teardown() {
	vmpipe_teardown
}

# no_guest NAME: no guest NAME is listed, and nothing of it is left in
# the run directory.
no_guest() {
	local name=$1 i
	for i in $(seq 50); do
		if ! "$VMPIPE_BIN/vm-ctl" list | awk 'NR > 1 { print $1 }' |
		    grep -qx -- "$name" &&
		    [ -z "$(ls -A "$VMPIPE_RUNDIR")" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "guest $name left behind:" >&2
	ls -l "$VMPIPE_RUNDIR" >&2
	return 1
}

# both_refuse KIND WHY [early]: mkbad's image KIND (of a guest named
# after it) is refused by vm-inspect with WHY, and by vm-restore with the
# same WHY, from a file and from a pipe, and no guest is left.  An image
# refused before its CONFIG record (early) never reaches the backend, so
# vm-restore is tried even without KVM; the others need it.
both_refuse() {
	local kind=$1 why=$2 img="$TEST_TMP/$1.vmi" name="v-$1"
	"$MKBAD" "$kind" "$name" > "$img"
	run "$VMPIPE_BIN/vm-inspect" -q "$img"
	[ "$status" -eq 1 ] || { echo "inspect: status $status" >&2; return 1; }
	[ "$output" = "vm-inspect: $img: $why" ] || {
		echo "inspect got:  $output" >&2
		echo "inspect want: vm-inspect: $img: $why" >&2
		return 1
	}
	[ "${3:-}" = early ] || need_kvm
	run "$VMPIPE_BIN/vm-restore" -q "$img"
	[ "$status" -eq 1 ] || { echo "restore: status $status" >&2; return 1; }
	[ "$output" = "vm-restore: $img: $why; no guest was made" ] || {
		echo "restore got:  $output" >&2
		echo "restore want: vm-restore: $img: $why; no guest was made" >&2
		return 1
	}
	no_guest "$name"
	run "$VMPIPE_BIN/vm-restore" -q < "$img"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-restore: -: $why; no guest was made" ] || {
		echo "restore - got:  $output" >&2
		return 1
	}
	no_guest "$name"
}

@test "a ROUND record in an image without the LIVE flag" {
	both_refuse round-offline "record 3 (ROUND): expected no ROUND record in an image without the LIVE file flag, found one"
}

@test "a frame sent twice in an image without the LIVE flag" {
	both_refuse frame-twice "record 4 (PAGES): frame word 0: expected each frame at most once in an image without the LIVE file flag, found frame 0x1 again"
}

@test "a state record after the last ROUND of a live stream" {
	both_refuse state-after-last "record 6 (VCPU): expected END after the ROUND record with the LAST flag (record 5), found VCPU"
}

@test "a PAGES record after the last ROUND of a live stream" {
	both_refuse pages-after-last "record 6 (PAGES): expected END after the ROUND record with the LAST flag (record 5), found PAGES"
}

@test "a live stream that ends without a last ROUND" {
	both_refuse no-last-round "record 5 (END): expected a ROUND record with the LAST flag before END in a live stream, found none with it"
}

@test "an image without CONFIG: vm-inspect does not call it whole" {
	both_refuse no-config "record 1 (PAGES): expected the CONFIG record first" early
	both_refuse no-config-end "record 2 (END): no CONFIG record in the image" early
}

@test "an XSAVE of 4088 octets" {
	both_refuse xsave-4088 "record 2 (VCPU): state of tag 0x5: expected 4096 octets, found 4088"
}

@test "guest names vm-image(5) does not allow" {
	local want="record 0 (GUEST): bad guest name"
	both_refuse name-empty "$want \"\": expected 1 to 63 octets, found none" early
	both_refuse name-slash "$want \"../etc\": expected a letter or digit first, found '.'" early
	both_refuse name-esc "$want \"\\x1b[2Jx\": expected a letter or digit first, found '\\x1b'" early
	both_refuse name-utf8 "$want \"caf\\xe9\": expected letters, digits, '.', '_', '+' or '-', found '\\xe9' at octet 4" early
	both_refuse name-at "$want \"a@b\": expected letters, digits, '.', '_', '+' or '-', found '@' at octet 2" early
}

@test "an END record with the ZSTD flag" {
	both_refuse end-zstd "record 2 (END): flags: expected 0 (END is never compressed), found 0x1"
}

@test "a compressed body of two zstd frames, or with a skippable frame" {
	both_refuse zstd-two "record 1 (CONFIG): zstd frame content size: expected 64 (the raw length), found 32" early
	both_refuse zstd-skippable "record 1 (CONFIG): expected one zstd frame, found a skippable frame" early
}

@test "a cut in the padding is not counted as body" {
	both_refuse cut-padding "record 2 (NOTE) at offset 280: stream ends after the 4 body octets and 2 of 4 padding octets"
}
