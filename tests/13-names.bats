#!/usr/bin/env bats
# The one guest name rule (src/lib/names.c, vmpipe(7)): every program that
# takes a name refuses the same names in the same words, before it reads
# an image, locks a name or makes a guest.  None of this needs KVM: every
# refusal comes before a guest would be made.

load test_helper

setup() {
	vmpipe_setup
}

teardown() {
	vmpipe_teardown
}

# Nothing was made in the run directory.
assert_rundir_empty() {
	local left
	left=$(ls -A "$VMPIPE_RUNDIR")
	[ -z "$left" ] || { echo "left in the run directory: $left" >&2; return 1; }
}

@test "vm-run -n: refused with the rule's message and status 2, no file made" {
	run "$VMPIPE_BIN/vm-run" -D -n a@b -m 64M "$VMPIPE_GUEST"
	[ "$status" -eq 2 ]
	[ "$output" = "vm-run: $BAD_NAME_AT_B" ]
	run "$VMPIPE_BIN/vm-run" --incoming -D -n ../g
	[ "$status" -eq 2 ]
	[ "$output" = "vm-run: bad guest name \"../g\": expected a letter or digit first, found '.'" ]
	run "$VMPIPE_BIN/vm-run" -D -n 42 -m 64M "$VMPIPE_GUEST"
	[ "$status" -eq 2 ]
	[ "$output" = "vm-run: bad guest name \"42\": expected more than digits (digits alone are read as a Xen domain ID), found digits only" ]
	assert_rundir_empty
}

@test "vm-run: the default name, from the image's file name, obeys the rule too" {
	cp "$VMPIPE_GUEST" "$TEST_TMP/my guest.elf"
	run "$VMPIPE_BIN/vm-run" -D -m 64M "$TEST_TMP/my guest.elf"
	[ "$status" -eq 2 ]
	[ "$output" = "vm-run: bad guest name \"my guest\": expected letters, digits, '.', '_', '+' or '-', found ' ' at octet 3" ]
	assert_rundir_empty
}

@test "vm-restore -n, --name and --as: refused before the image is read" {
	for opt in -n --name --as; do
		run "$VMPIPE_BIN/vm-restore" $opt a@b \
		    "$VMPIPE_TOP/tests/vectors/plain.vmi"
		[ "$status" -eq 2 ]
		[ "$output" = "vm-restore: $BAD_NAME_AT_B" ]
	done
	# A control character is shown escaped, never sent to the terminal.
	run "$VMPIPE_BIN/vm-restore" --as "$(printf 'g\033[2J')" /dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "vm-restore: bad guest name \"g\\x1b[2J\": expected letters, digits, '.', '_', '+' or '-', found '\\x1b' at octet 2" ]
	assert_rundir_empty
}

@test "vm-recv --name and --as: refused up front, nothing locked" {
	for opt in --name --as; do
		run "$VMPIPE_BIN/vm-recv" $opt a@b \
		    <"$VMPIPE_TOP/tests/vectors/plain.vmi"
		[ "$status" -eq 2 ]
		[ "$output" = "vm-recv: $BAD_NAME_AT_B" ]
	done
	assert_rundir_empty
}

@test "vm-recv: an image whose own name breaks the rule is refused after its preamble, nothing locked" {
	run bash -c "'$VMPIPE_TOP/tests/sshd/mkimage' --mib 1 --name a@b 2>/dev/null |
	    '$VMPIPE_BIN/vm-recv'"
	[ "$status" -eq 1 ]
	[ "$output" = "vmpipe-recv: refused: record 0 (GUEST): $BAD_NAME_AT_B" ]
	assert_rundir_empty
	# A name that would leave the run directory is refused the same way.
	run bash -c "'$VMPIPE_TOP/tests/sshd/mkimage' --mib 1 --name ../../x 2>/dev/null |
	    '$VMPIPE_BIN/vm-recv'"
	[ "$status" -eq 1 ]
	[ "$output" = "vmpipe-recv: refused: record 0 (GUEST): bad guest name \"../../x\": expected a letter or digit first, found '.'" ]
	assert_rundir_empty
	[ ! -e "$TEST_TMP/x.recv.lock" ]
	# With --name too: the image itself breaks the rule of vm-image(5),
	# and the reader (whose check the scanner uses) refuses it as such.
	run bash -c "'$VMPIPE_TOP/tests/sshd/mkimage' --mib 1 --name a@b 2>/dev/null |
	    '$VMPIPE_BIN/vm-recv' --name g"
	[ "$status" -eq 1 ]
	[ "$output" = "vmpipe-recv: refused: record 0 (GUEST): $BAD_NAME_AT_B" ]
	assert_rundir_empty
}

@test "vm-send --name: refused before anything is sent" {
	run "$VMPIPE_BIN/vm-send" --name a@b 127.0.0.1 \
	    <"$VMPIPE_TOP/tests/vectors/plain.vmi"
	[ "$status" -eq 2 ]
	[ "$output" = "vm-send: $BAD_NAME_AT_B" ]
}

@test "vm-ctl: a KVM guest name that breaks the rule is not looked up in the run directory" {
	run "$VMPIPE_BIN/vm-ctl" -b kvm info ../../etc/passwd
	[ "$status" -eq 1 ]
	[ "$output" = "vm-ctl: bad guest name \"../../etc/passwd\": expected a letter or digit first, found '.'" ]
}

@test "vm-recv: a preamble too large to read before the lock, or a huge GUEST, is refused, nothing locked" {
	run bash -c "'$VMPIPE_TOP/tests/sshd/mkimage' --mib 1 --note-kib 1100 2>/dev/null |
	    '$VMPIPE_BIN/vm-recv'"
	[ "$status" -eq 1 ]
	[ "$output" = "vmpipe-recv: refused: the records before the guest's memory take more than 1048576 octets (the most a receive reads before it locks the guest's name)" ]
	assert_rundir_empty
	run bash -c "'$VMPIPE_TOP/tests/sshd/mkimage' --mib 1 --guest-pad 100000 2>/dev/null |
	    '$VMPIPE_BIN/vm-recv'"
	[ "$status" -eq 1 ]
	[ "$output" = "vmpipe-recv: refused: GUEST record of 100000 octets: expected at most 65536" ]
	assert_rundir_empty
}
