#!/usr/bin/env bats
# vm-inspect: the golden vectors, and images that are cut, damaged or not
# images at all, each refused with exit 1 and the reader's exact message.
# Also: every program's usage() line is its man page's SYNOPSIS, and the
# options that are checked or passed on before anything runs.
# No guest is run here.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	vmpipe_setup
	VEC=tests/vectors
	cd "$VMPIPE_TOP"
}

teardown() {
	vmpipe_teardown
}

inspect() {
	"$VMPIPE_BIN/vm-inspect" "$@"
}

# flip_bit FILE OFFSET [MASK]: xor one octet of FILE in place.
flip_bit() {
	local f=$1 off=$2 mask=${3:-1} b
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ mask)))" |
	    dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# cut_at OFFSET: the first OFFSET octets of plain.vmi, as $TEST_TMP/cut.vmi.
cut_at() {
	head -c "$1" "$VEC/plain.vmi" > "$TEST_TMP/cut.vmi"
}

# plain.vmi, from `vm-inspect -v`: file header 0..23, GUEST at 24, CONFIG
# at 184, NOTE at 248, PAGES at 296 (197128 body octets), VCPU at 197456
# and 197536, PLATFORM at 197616, END at 197672, 197720 octets in all.

@test "the golden vectors are whole and described exactly" {
	for v in plain live zstd; do
		run inspect "$VEC/$v.vmi"
		[ "$status" -eq 0 ]
		[ "$output" = "$(cat "$VEC/$v.txt")" ]
	done
}

@test "the description of the live vector names its rounds" {
	run inspect "$VEC/live.vmi"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "image: $VEC/live.vmi, format version 1, live stream" ]
	[[ "$output" == *$'\nround 1 (last, paused): 3 pages sent, 0 dirtied, 1.0 ms\n'* ]]
}

@test "an image is read from standard input as -" {
	run inspect < "$VEC/plain.vmi"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "image: -, format version 1" ]
	run inspect - < "$VEC/zstd.vmi"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "status: whole: every checksum and the END digest match" ]
}

@test "-v lists every record with its offset" {
	run inspect -qv "$VEC/plain.vmi"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "record 0 at 24: GUEST, 128 octets (128 raw)" ]
	[ "${lines[3]}" = "record 3 at 296: PAGES, 197128 octets (197128 raw)" ]
	[ "${lines[6]}" = "record 6 at 197616: PLATFORM, 20 octets (20 raw)" ]
	[ "${#lines[@]}" -eq 7 ]
}

@test "-q prints nothing for a whole image, only the error for a broken one" {
	run inspect -q "$VEC/plain.vmi"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	cut_at 100000
	run --separate-stderr inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "vm-inspect: $TEST_TMP/cut.vmi: record 3 (PAGES) at offset 296: stream ends after 99672 of 197128 body octets" ]
}

@test "an image cut in the middle of a PAGES record" {
	cut_at 100000
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: record 3 (PAGES) at offset 296: stream ends after 99672 of 197128 body octets" ]
}

@test "an image cut at a record boundary" {
	cut_at 197456
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: stream ended at offset 197456 after record 3 without an END record: the image is incomplete" ]
	# Without its END record, even every other record is not enough.
	cut_at 197672
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: stream ended at offset 197672 after record 6 without an END record: the image is incomplete" ]
}

@test "an image cut inside a record header" {
	cut_at 197466
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: record 4 at offset 197456: stream ends after 10 of 32 header octets" ]
}

@test "an image cut inside the END record" {
	cut_at 197710
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: record 7 (END) at offset 197672: stream ends after 6 of 16 body octets" ]
}

@test "an image cut inside the file header" {
	cut_at 10
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: truncated file header: expected 24 octets, found 10" ]
}

@test "a file header with no record after it names no record before it" {
	cut_at 24
	run inspect -q "$TEST_TMP/cut.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/cut.vmi: stream ended at offset 24, right after the file header: the image is empty" ]
	# There is no record -1.
	[[ "$output" != *"record -1"* ]]
}

@test "a flipped bit in page data fails that record's checksum" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	flip_bit "$TEST_TMP/flip.vmi" 50000 4
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-inspect: $TEST_TMP/flip.vmi: record 3 at offset 296: checksum mismatch: expected "[0-9a-f]{16}", found "[0-9a-f]{16}": the record is damaged"$ ]]
}

@test "a flipped bit in a record header fails that record's checksum" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	# The low octet of record 4's sequence number (4 becomes 5).
	flip_bit "$TEST_TMP/flip.vmi" $((197456 + 16)) 1
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-inspect: $TEST_TMP/flip.vmi: record 4 at offset 197456: checksum mismatch: expected "[0-9a-f]{16}", found "[0-9a-f]{16}": the record is damaged"$ ]]
}

@test "a flipped bit in the END record's digest" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	flip_bit "$TEST_TMP/flip.vmi" $((197672 + 32 + 8)) 0x80
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-inspect: $TEST_TMP/flip.vmi: record 7 at offset 197672: checksum mismatch: expected "[0-9a-f]{16}", found "[0-9a-f]{16}": the record is damaged"$ ]]
}

@test "a flipped bit in the file header's check" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	flip_bit "$TEST_TMP/flip.vmi" 20 1
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-inspect: $TEST_TMP/flip.vmi: file header: checksum mismatch: expected "[0-9a-f]{8}", found "[0-9a-f]{8}$ ]]
}

@test "a flipped bit in the file header's flags" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	flip_bit "$TEST_TMP/flip.vmi" 12 2
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-inspect: $TEST_TMP/flip.vmi: file header: checksum mismatch: expected "[0-9a-f]{8}", found "[0-9a-f]{8}$ ]]
}

@test "a version field of 0 is reported as damage" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	flip_bit "$TEST_TMP/flip.vmi" 8 1
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/flip.vmi: file header: expected version 1, found 0 (damaged: the header's checksum does not match either)" ]
}

@test "a flipped bit in the magic: not an image" {
	cp "$VEC/plain.vmi" "$TEST_TMP/flip.vmi"
	flip_bit "$TEST_TMP/flip.vmi" 1 1
	run inspect -q "$TEST_TMP/flip.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/flip.vmi: not a vmpipe image: expected magic 89 56 4d 50 49 50 45 0a (\"\\x89VMPIPE\\n\"), found unknown data" ]
}

@test "octets after the END record" {
	{ cat "$VEC/plain.vmi"; printf x; } > "$TEST_TMP/long.vmi"
	run inspect -q "$TEST_TMP/long.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/long.vmi: data after the END record at offset 197720" ]
}

@test "two images one after the other are not one image" {
	cat "$VEC/plain.vmi" "$VEC/plain.vmi" > "$TEST_TMP/two.vmi"
	run inspect -q "$TEST_TMP/two.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/two.vmi: data after the END record at offset 197720" ]
}

# The first words of every foreign-file message.
NOT="not a vmpipe image: expected magic 89 56 4d 50 49 50 45 0a (\"\\x89VMPIPE\\n\"), found"

@test "an xl save file is named as one" {
	printf 'Xen saved domain, xl format\n \0 \r\0\0\0\0\0\0\0\0' > "$TEST_TMP/xl.save"
	run inspect "$TEST_TMP/xl.save"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/xl.save: $NOT an xl save file (Xen)" ]
}

@test "a zstd-compressed image is named, with the way to read it" {
	zstd -q -c "$VEC/plain.vmi" > "$TEST_TMP/plain.vmi.zst"
	run inspect "$TEST_TMP/plain.vmi.zst"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/plain.vmi.zst: $NOT zstd-compressed data (decompress it first: zstd -dc)" ]
	# ... and that way works.
	run sh -c "zstd -dc '$TEST_TMP/plain.vmi.zst' | '$VMPIPE_BIN/vm-inspect' -q"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "an empty file" {
	: > "$TEST_TMP/empty"
	run inspect "$TEST_TMP/empty"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/empty: $NOT an empty stream" ]
	run inspect < /dev/null
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: -: $NOT an empty stream" ]
}

@test "an ELF executable" {
	run inspect "$VMPIPE_GUEST"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $VMPIPE_GUEST: $NOT an ELF executable" ]
}

@test "text" {
	echo "hello, world, this is not an image" > "$TEST_TMP/text"
	run inspect "$TEST_TMP/text"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/text: $NOT unknown data" ]
}

@test "a missing file exits 1, bad usage 2" {
	run inspect "$TEST_TMP/nonexistent"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: can't open $TEST_TMP/nonexistent: No such file or directory" ]
	run inspect -x
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "usage: vm-inspect [-qv] [file]" ]
	run inspect a b
	[ "$status" -eq 2 ]
	[ "$output" = "usage: vm-inspect [-qv] [file]" ]
}

# synopsis_of PAGE: the SYNOPSIS section as rendered, whitespace collapsed.
synopsis_of() {
	mandoc -Tascii "$1" | col -bx |
	    awk '/^[A-Z][A-Z ]*$/ { s = ($0 == "SYNOPSIS"); next } s' |
	    tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//'
}

# usage_of PROGRAM: what usage() prints, without "usage:", collapsed.
usage_of() {
	"$1" --no-such-option-exists 2>&1 < /dev/null |
	    sed -n '/^usage: /,$p' | sed '1s/^usage: //' |
	    tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//'
}

@test "every program's usage() is its man page's SYNOPSIS" {
	local n=0 bad=0 p m want got
	for p in "$VMPIPE_BIN"/vm-*; do
		m=$(ls "$VMPIPE_TOP"/man/"$(basename "$p")".[1-8] 2>/dev/null |
		    head -n 1)
		[ -n "$m" ] || continue
		n=$((n + 1))
		want=$(synopsis_of "$m")
		got=$(usage_of "$p")
		if [ "$want" != "$got" ]; then
			echo "$(basename "$p"): usage() and $(basename "$m") differ:" >&2
			echo "  usage:    $got" >&2
			echo "  SYNOPSIS: $want" >&2
			bad=$((bad + 1))
		fi
	done
	echo "$n programs with a man page" >&2
	[ "$n" -ge 3 ]
	[ "$bad" -eq 0 ]
}

@test "control characters of a NOTE are printed escaped" {
	local mk="$TEST_TMP/mkbad"
	cc -O1 -std=gnu11 -D_GNU_SOURCE -pthread -Isrc/lib -Isrc/hv \
	    -Itests/unit -o "$mk" tests/unit/mkbad.c obj/libvmpipe.a -lzstd
	"$mk" note-esc n > "$TEST_TMP/n.vmi"
	run -0 inspect "$TEST_TMP/n.vmi"
	[[ "$output" == *$'\nnote: saved \\x1b[31mred\\x1b[0m\\x07\\\\\n'* ]]
	[[ "$output" != *$'\e'* ]]
	[[ "$output" != *$'\a'* ]]
}

@test "a -t that is not 1 to 86400 whole seconds is bad usage, before anything is done" {
	local p t a
	for t in 10x 0 86401 ''; do
		for p in "vm-recv" "vm-recvd" "vm-send h" "vm-migrate g h"; do
			read -ra a <<<"$p"
			run -2 --separate-stderr "$VMPIPE_BIN/${a[0]}" -t "$t" \
			    "${a[@]:1}"
			[ "$stderr" = "${a[0]}: bad timeout '$t': 1 to 86400 seconds" ]
			[ -z "$output" ]
		done
	done
}

@test "vm-recv --listen hands the server its arguments whole" {
	# The server must get the options vm-recv parsed, not what is left
	# after them: a -k it cannot read is named, not the default key.
	run -1 --separate-stderr "$VMPIPE_BIN/vm-recv" -k "$TEST_TMP/no-key" \
	    -d "$TEST_TMP/run" --listen 127.0.0.1:1
	[ "$stderr" = "vm-recv: can't load host key $TEST_TMP/no-key" ]
}
