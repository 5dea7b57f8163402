#!/usr/bin/env bats
# Refusals and failures.  vm-restore refuses cut, damaged, foreign and
# impossible images with a message naming what it expected and what it
# found, exits 1 and leaves no half-made guest.  vm-save that fails (the
# reader goes, the disk fills, a signal, a bad path) exits 1 and leaves
# the guest running, unharmed.

load test_helper
bats_require_minimum_version 1.5.0

# One 64 MiB image of a 2-vCPU guest for all the refusal tests, and a
# small program that writes crafted images through the codec.
setup_file() {
	[ -w /dev/kvm ] || return 0
	export FIX="$BATS_FILE_TMPDIR"
	export VMPIPE_RUNDIR="$FIX/run"
	mkdir -p "$VMPIPE_RUNDIR"
	"$VMPIPE_BIN/vm-run" -D -n src --vcpus 2 -m 64M "$VMPIPE_GUEST"
	wait_hb src 3
	"$VMPIPE_BIN/vm-save" -q src > "$FIX/src.vmi"
	"$VMPIPE_BIN/vm-inspect" -qv "$FIX/src.vmi" > "$FIX/src.records"
	mkimg_build "$FIX/mkimg"
}

teardown_file() {
	[ -n "${FIX:-}" ] || return 0
	VMPIPE_RUNDIR="$FIX/run" vmpipe_teardown_guests
}

# Destroy every guest left in $VMPIPE_RUNDIR.
vmpipe_teardown_guests() {
	local p pid
	for p in "$VMPIPE_RUNDIR"/*.pid; do
		[ -e "$p" ] || continue
		pid=$(cat "$p" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
		wait_pid_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

setup() {
	need_kvm
	vmpipe_setup
	IMG=$FIX/src.vmi
	MKIMG=$FIX/mkimg
}

teardown() {
	if [ -n "${SMALL:-}" ] && mountpoint -q "$SMALL"; then
		umount "$SMALL"
	fi
	vmpipe_teardown
}

# mkimg_build OUT: compile the crafted-image writer against the codec.
mkimg_build() {
	cat > "$1.c" <<'EOF'
/*
 * mkimg MEM NAME [KIND]: a minimal KVM image (GUEST, CONFIG, END) of a
 * 1-vCPU guest of MEM octets, with one odd record by KIND:
 *   mandatory  an unknown mandatory record (type 0x42) after CONFIG
 *   optional   an unknown optional record (type 0x80000042) after CONFIG
 *   frame      a PAGES record naming the frame just past the memory
 *   noconfig   GUEST, then a PAGES record, and no CONFIG
 *   cpu        a guest that used every CPUID feature bit there is
 *   xen        a Xen PVH guest
 */
#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "vmi.h"

int
main(int argc, char *argv[])
{
	static const uint8_t page[4096] = { 1 };
	const char *kind = argc > 3 ? argv[3] : "";
	struct vmi_guest g;
	struct vmi_writer *w;
	uint64_t cfg[8] = { 1, 2600000 };	/* version 1, TSC kHz */
	uint64_t mem;

	if (argc < 3 || parse_size(argv[1], &mem) == -1)
		errx(2, "usage: mkimg MEM NAME [KIND]");
	memset(&g, 0, sizeof(g));
	g.backend = VMI_BACKEND_KVM;
	g.arch = VMI_ARCH_X86_64;
	g.page_shift = 12;
	g.vcpus = 1;
	g.mem_bytes = mem;
	g.guest_type = VMI_GT_KVM;
	for (int i = 0; i < 16; i++)
		g.uuid[i] = 0xa0 + i;
	strncpy(g.name, argv[2], sizeof(g.name) - 1);
	if (strcmp(kind, "cpu") == 0)
		memset(g.cpu_features, 0xff, sizeof(g.cpu_features));
	if (strcmp(kind, "xen") == 0) {
		g.backend = VMI_BACKEND_XEN;
		g.guest_type = VMI_GT_XEN_PVH;
	}
	if ((w = vmi_writer_new(STDOUT_FILENO, NULL)) == NULL)
		err(1, "writer");
	if (vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g)) == -1)
		errx(1, "%s", vmi_writer_error(w));
	if (strcmp(kind, "noconfig") == 0) {
		if (vmi_write_page(w, 0, page, 1) == -1)
			errx(1, "%s", vmi_writer_error(w));
	} else if (vmi_write_buf(w, VMI_REC_CONFIG, cfg, sizeof(cfg)) == -1)
		errx(1, "%s", vmi_writer_error(w));
	if (strcmp(kind, "mandatory") == 0)
		vmi_write_buf(w, 0x42, "future\0\0", 8);
	else if (strcmp(kind, "optional") == 0)
		vmi_write_buf(w, 0x80000042, "future\0\0", 8);
	else if (strcmp(kind, "frame") == 0)
		vmi_write_page(w, mem >> 12, page, 1);
	if (vmi_write_end(w) == -1)
		errx(1, "%s", vmi_writer_error(w));
	vmi_writer_free(w);
	return 0;
}
EOF
	cc -O1 -std=gnu11 -D_GNU_SOURCE -pthread -I"$VMPIPE_TOP/src/lib" \
	    -I"$VMPIPE_TOP/src/proto" -I"$VMPIPE_TOP/src/hv" -o "$1" "$1.c" \
	    "$VMPIPE_TOP/obj/libvmpipe.a" -lzstd
}

restore() { "$VMPIPE_BIN/vm-restore" "$@"; }
save()    { "$VMPIPE_BIN/vm-save" "$@"; }
ctl()     { "$VMPIPE_BIN/vm-ctl" "$@"; }

state() {
	ctl info "$1" | awk '$1 == "state:" { print $2 }'
}

# len_of N: the stored body length of record N of the fixture image.
len_of() {
	awk -v n="$1" '$1 == "record" && $2 == n { print $6 }' "$FIX/src.records"
}

# offset_of N: where record N of the fixture image starts.
offset_of() {
	awk -v n="$1" '$1 == "record" && $2 == n { sub(":", "", $4); print $4 }' \
	    "$FIX/src.records"
}

# no_half_guest NAME: within 5 s no guest NAME is listed, no vm-run of
# this run directory is left, and no socket or pid file of NAME.
no_half_guest() {
	local name=$1 i
	for i in $(seq 50); do
		if ! ctl list | awk 'NR > 1 { print $1 }' | grep -qx "$name" &&
		    ! pgrep -f -- "-d $VMPIPE_RUNDIR -n $name " > /dev/null &&
		    [ ! -e "$VMPIPE_RUNDIR/$name.sock" ] &&
		    [ ! -e "$VMPIPE_RUNDIR/$name.pid" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "a half-made guest $name is left:" >&2
	ctl list >&2
	pgrep -af -- "-d $VMPIPE_RUNDIR" >&2
	ls -l "$VMPIPE_RUNDIR" >&2
	return 1
}

# refused NAME WHY [OPTION...]: vm-restore [OPTION...] of stdin exits 1
# with "vm-restore: -: WHY; no guest was made", and leaves no guest NAME
# behind ("-": no check).
refused() {
	local name=$1 why=$2
	shift 2
	run restore -q "$@"
	[ "$status" -eq 1 ] || { echo "status $status: $output" >&2; return 1; }
	[ "$output" = "vm-restore: -: $why; no guest was made" ] || {
		echo "got:  $output" >&2
		echo "want: vm-restore: -: $why; no guest was made" >&2
		return 1
	}
	[ "$name" = - ] || no_half_guest "$name"
}

# The reader's own words for a cut or damaged file, from vm-inspect.
reader_says() {
	run "$VMPIPE_BIN/vm-inspect" -q "$1"
	[ "$status" -eq 1 ]
	echo "${output#vm-inspect: $1: }"
}

# unharmed NAME: the guest runs, its heartbeat goes on, no errors.
unharmed() {
	[ "$(state "$1")" = running ]
	wait_hb "$1" $(( $(last_hb "$1") + 3 )) 10
	assert_clean "$1"
}

@test "restore: an image cut in the middle of a PAGES record" {
	off=$(( $(offset_of 8) + 100000 ))
	head -c "$off" "$IMG" > "$TEST_TMP/cut.vmi"
	why=$(reader_says "$TEST_TMP/cut.vmi")
	[ "$why" = "record 8 (PAGES) at offset $(offset_of 8): stream ends after $((100000 - 32)) of $(len_of 8) body octets" ]
	refused src "$why" < "$TEST_TMP/cut.vmi"
}

@test "restore: an image cut at a record boundary" {
	off=$(offset_of 10)
	head -c "$off" "$IMG" > "$TEST_TMP/cut.vmi"
	refused src "stream ended at offset $off after record 9 without an END record: the image is incomplete" < "$TEST_TMP/cut.vmi"
}

@test "restore: an image cut just before its END record" {
	last=$(awk 'END { print $2 }' "$FIX/src.records")
	off=$(( $(stat -c %s "$IMG") - 48 ))
	head -c "$off" "$IMG" > "$TEST_TMP/cut.vmi"
	refused src "stream ended at offset $off after record $last without an END record: the image is incomplete" < "$TEST_TMP/cut.vmi"
}

@test "restore: a flipped bit in page data" {
	cp "$IMG" "$TEST_TMP/flip.vmi"
	off=$(( $(offset_of 12) + 32 + 8 + 8192 + 5000 ))
	b=$(od -An -tu1 -j "$off" -N1 "$IMG" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 0x10)))" |
	    dd of="$TEST_TMP/flip.vmi" bs=1 seek="$off" conv=notrunc status=none
	run "$VMPIPE_BIN/vm-inspect" -q "$TEST_TMP/flip.vmi"
	[[ "$output" =~ ": record 12 at offset $(offset_of 12): checksum mismatch: expected "[0-9a-f]{16}", found "[0-9a-f]{16}": the record is damaged"$ ]]
	refused src "${output#vm-inspect: $TEST_TMP/flip.vmi: }" < "$TEST_TMP/flip.vmi"
}

@test "restore: octets after END: refused as vm-inspect refuses it" {
	local off
	off=$(stat -c %s "$IMG")
	{ cat "$IMG"; printf x; } > "$TEST_TMP/long.vmi"
	run "$VMPIPE_BIN/vm-inspect" -q "$TEST_TMP/long.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/long.vmi: data after the END record at offset $off" ]
	refused src "data after the END record at offset $off" < "$TEST_TMP/long.vmi"
	cat "$TEST_TMP/long.vmi" | refused src "data after the END record at offset $off"
}

@test "restore: a foreign file is named, and refused" {
	not='not a vmpipe image: expected magic 89 56 4d 50 49 50 45 0a ("\x89VMPIPE\n"), found'
	# xl's own save files are restored on Xen; elsewhere they are named.
	printf 'Xen saved domain, xl format\n \0 \r\0\0\0\0\0\0\0\0' |
	    refused src "preflight: an xl save file needs backend xen, which this host does not run"
	zstd -q -1 -c "$IMG" | refused src "$not zstd-compressed data (decompress it first: zstd -dc)"
	refused src "$not an empty stream" < /dev/null
	refused src "$not an ELF executable" < "$VMPIPE_BIN/vm-restore"
}

@test "restore: more memory than the host has (VMPIPE_MEM_AVAILABLE)" {
	VMPIPE_MEM_AVAILABLE=1M refused src "preflight: not enough memory: the guest needs 64 MiB, this host has 1 MiB available" < "$IMG"
	VMPIPE_MEM_AVAILABLE=63M refused src "preflight: not enough memory: the guest needs 64 MiB, this host has 63 MiB available" < "$IMG"
	# Just enough is enough.
	VMPIPE_MEM_AVAILABLE=64M run -0 restore -q "$IMG"
	wait_hb src $(( $(last_hb src) + 2 )) 10
}

@test "restore: a crafted 1 TiB guest is refused before anything is made" {
	"$MKIMG" 1T huge > "$TEST_TMP/huge.vmi"
	run -0 "$VMPIPE_BIN/vm-inspect" "$TEST_TMP/huge.vmi"
	[[ "$output" == *"1 vCPU, memory 1073741824 KiB (268435456 pages of 4096 octets)"* ]]
	avail=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
	run restore -q "$TEST_TMP/huge.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-restore: $TEST_TMP/huge.vmi: preflight: not enough memory: the guest needs 1048576 MiB, this host has "[0-9]+" MiB available; no guest was made"$ ]]
	got=$(echo "$output" | sed 's/.* this host has \([0-9]*\) MiB.*/\1/')
	[ $((got - avail)) -lt 512 ] && [ $((avail - got)) -lt 512 ]
	no_half_guest huge
}

@test "restore: a guest that used CPU features this host lacks" {
	"$MKIMG" 64M cpuhog cpu > "$TEST_TMP/cpu.vmi"
	run restore -q "$TEST_TMP/cpu.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" =~ "preflight: CPU features: the guest has "[0-9a-f]{8}" "[0-9a-f]{8}" "[0-9a-f]{8}" "[0-9a-f]{8}" (CPUID 1.ECX 1.EDX 7.EBX 7.ECX) that this host lacks; no guest was made" ]]
	no_half_guest cpuhog
}

@test "restore: an image of a backend this host does not run" {
	[ ! -e /proc/xen/privcmd ] || skip "this host runs Xen"
	"$MKIMG" 64M xenguest xen > "$TEST_TMP/xen.vmi"
	run restore -q "$TEST_TMP/xen.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-restore: $TEST_TMP/xen.vmi: preflight: the image needs backend xen, which this host does not run; no guest was made" ]
	no_half_guest xenguest
}

@test "restore: a name that already runs here" {
	start_guest_hb src 2
	refused - "preflight: a guest named src already runs here" < "$IMG"
	# The guest of that name was not touched.
	unharmed src
}

@test "restore: the UUID of a guest that runs here, under another name" {
	start_guest_hb g 2
	save -q --keep g > "$TEST_TMP/g.vmi"
	run restore -q --name g2 "$TEST_TMP/g.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-restore: $TEST_TMP/g.vmi: preflight: guest g here already has the image's UUID; no guest was made" ]
	no_half_guest g2
	unharmed g
}

@test "restore: an image without CONFIG, or with a frame past memory" {
	"$MKIMG" 64M src noconfig | refused src "record 1 (PAGES): expected the CONFIG record first"
	"$MKIMG" 64M src frame > "$TEST_TMP/frame.vmi"
	refused src "record 2 (PAGES): frame word 0: expected a frame below 0x4000, found 0x4000" < "$TEST_TMP/frame.vmi"
}

@test "an unknown mandatory record is refused; an unknown optional one skipped" {
	"$MKIMG" 64M future mandatory > "$TEST_TMP/m.vmi"
	run "$VMPIPE_BIN/vm-inspect" -q "$TEST_TMP/m.vmi"
	[ "$status" -eq 1 ]
	[ "$output" = "vm-inspect: $TEST_TMP/m.vmi: record 2 at offset 280: unknown mandatory record type 0x42: this image needs a newer vmpipe" ]
	refused future "record 2 at offset 280: unknown mandatory record type 0x42: this image needs a newer vmpipe" < "$TEST_TMP/m.vmi"

	"$MKIMG" 64M future optional > "$TEST_TMP/o.vmi"
	run -0 "$VMPIPE_BIN/vm-inspect" "$TEST_TMP/o.vmi"
	[[ "$output" == *$'\nrecord 2: skipped unknown optional record type 0x80000042\n'* ]]
	[ "${lines[-1]}" = "status: whole: every checksum and the END digest match" ]
}

@test "restore -C: the kvm backend reads no configuration files" {
	printf 'name = "src"\n' > "$TEST_TMP/src.cfg"
	refused src2 "preflight: backend kvm reads no configuration files (-C)" \
	    < "$IMG" -C "$TEST_TMP/src.cfg" --name src2
}

# ---- vm-save failures: the source guest must keep running. ----

@test "save -C: the kvm backend reads no configuration files; the guest runs on" {
	printf 'name = "g"\n' > "$TEST_TMP/g.cfg"
	start_guest_hb g 2
	run save -q -C "$TEST_TMP/g.cfg" -o "$TEST_TMP/g.vmi" g
	[ "$status" -eq 1 ]
	[[ "$output" == "vm-save: guest g: save failed: backend kvm reads no configuration files (-C)"* ]]
	unharmed g
}

@test "save -C of a guest someone paused: refused, and left paused" {
	printf 'name = "g"\n' > "$TEST_TMP/g.cfg"
	start_guest_hb g 2
	ctl pause g
	for how in vm-save vm-precopy "vm-save --bundle"; do
		# shellcheck disable=SC2086
		run $VMPIPE_BIN/$how -q -C "$TEST_TMP/g.cfg" -o "$TEST_TMP/g.out" g
		[ "$status" -eq 1 ]
		[[ "$output" == *"backend kvm reads no configuration files (-C); the guest was not paused" ]]
		[ "$(state g)" = paused ]
	done
	a=$(last_hb g)
	sleep 0.6
	[ "$(last_hb g)" -eq "$a" ]
	ctl resume g
	unharmed g
}

@test "save: the reader goes away" {
	start_guest_hb g 2 -m 128M
	run bash -c '"$VMPIPE_BIN/vm-save" g | head -c 1M > /dev/null; echo "status ${PIPESTATUS[0]}"'
	[ "${lines[-1]}" = "status 1" ]
	[[ "${lines[0]}" =~ ^"vm-save: guest g: save failed: write: "(.*: )?"Broken pipe; the guest was resumed"$ ]]
	unharmed g
	# The failed save left nothing in the way of the next one.
	save -q --keep g | "$VMPIPE_BIN/vm-inspect" -q
}

@test "save: the disk fills up" {
	SMALL=$TEST_TMP/small
	mkdir -p "$SMALL"
	mount -t tmpfs -o size=8M tmpfs "$SMALL"
	start_guest_hb g 2
	run save -q -o "$SMALL/g.vmi" g
	[ "$status" -eq 1 ]
	[[ "$output" =~ ^"vm-save: guest g: save failed: write: "(.*: )?"No space left on device; the guest was resumed"$ ]]
	unharmed g
	# What was written is known to be incomplete.
	run "$VMPIPE_BIN/vm-inspect" -q "$SMALL/g.vmi"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the image is incomplete" || "$output" == *"stream ends after"* ]]
}

# save_killed SIG: vm-save into a reader that waits a second, SIG sent
# while the save is under way.
save_killed() {
	mkfifo "$TEST_TMP/fifo"
	(sleep 1; cat > /dev/null) < "$TEST_TMP/fifo" &
	reader=$!
	"$VMPIPE_BIN/vm-save" g > "$TEST_TMP/fifo" 2> "$TEST_TMP/err" &
	saver=$!
	sleep 0.3
	[ "$(state g)" = paused ]
	kill -"$1" "$saver"
	st=0
	wait "$saver" || st=$?
	wait "$reader" || true
	[ "$st" -eq 1 ]
	[ "$(cat "$TEST_TMP/err")" = "vm-save: guest g: save failed: interrupted by a signal; the guest was resumed" ]
}

@test "save: SIGTERM during the save" {
	start_guest_hb g 2 -m 256M
	save_killed TERM
	unharmed g
}

@test "save: SIGINT during the save" {
	start_guest_hb g 2 -m 256M
	save_killed INT
	unharmed g
}

@test "save: an output path that cannot be opened" {
	start_guest_hb g 2
	run save -o /nonexistent/dir/x g
	[ "$status" -eq 1 ]
	[ "$output" = "vm-save: can't open /nonexistent/dir/x: No such file or directory" ]
	unharmed g
}

@test "save: no such guest, and bad usage" {
	run save nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "vm-save: guest nosuch: no KVM guest named nosuch ($VMPIPE_RUNDIR/nosuch.sock)" ]
	run save -z 20 g
	[ "$status" -eq 2 ]
	[ "$output" = "vm-save: compression level: expected 1 to 19, found 20" ]
	run save
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: vm-save "* ]]
	run restore -n "" x
	[ "$status" -eq 2 ]
	[ "$output" = "vm-restore: bad guest name \"\": expected 1 to 63 octets, found none" ]
}
