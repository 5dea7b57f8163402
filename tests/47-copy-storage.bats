#!/usr/bin/env bats
# Migration without shared storage: vm-migrate --copy-storage-all carries
# the guest and its disk as a bundle (vm-bundle(5)) from host A to host B
# (network namespaces; each its own directory of disks).  B places the
# disk under its policy's disk-dir and restores the guest with it; the
# guest's own disk check - blocks read back against what its memory says
# it wrote - goes on clean there.  A's disk is left as it was; whatever
# fails, the guest runs on at A and B keeps nothing.

load test_helper
load sshd/lib
bats_require_minimum_version 1.5.0

setup_file() {
	vmp_hosts_up
	vmp_sshd_start
}

teardown_file() {
	vmp_hosts_down
}

setup() {
	need_kvm
	vmp_test_setup
	mkdir -p "$TEST_TMP/A/disks" "$TEST_TMP/B/disks/in"
	DISK=$TEST_TMP/A/disks/g.img
	truncate -s 4M "$DISK"
	printf 'disk-prefix %s/A/disks/\n' "$TEST_TMP" >"$TEST_TMP/A/recv.conf"
	export VMPIPE_RECV_CONF=$TEST_TMP/A/recv.conf
	CONF_B=$TEST_TMP/B/recv.conf
	printf 'disk-prefix %s/B/disks/\ndisk-dir %s/B/disks/in\n' \
	    "$TEST_TMP" "$TEST_TMP" >"$CONF_B"
}

teardown() {
	vmp_test_teardown
}

# vm-migrate from A to B's sshd; extra options first.
migrate() {
	inA "$VMP_BIN/vm-migrate" -p "$VMP_SSH_PORT" -i "$VMP_DIR/id" \
	    -K "$VMP_DIR/known_hosts" -e "VMPIPE_RUNDIR=$VMP_RUN_B \
VMPIPE_RECV_CONF=$CONF_B $VMP_BIN/vm-recv" "$@" "root@$VMP_ADDR_B"
}

# The receive on B: a vm-recv whose parent is not one (its guardian's
# is).
recv_pid() {
	local all p pp
	all=$(vmp_pids B vm-recv)
	for p in $all; do
		pp=$(ps -o ppid= -p "$p" | tr -d ' ')
		grep -qw "$pp" <<<"$all" || echo "$p"
	done | head -n 1
}

# The guest runs on at A, its disk check clean, and B has nothing of it.
runs_at_a() {
	wait_disk g 30
	disk_clean g
	[ -z "$(ls "$VMP_RUN_B"/*.sock 2>/dev/null)" ]
	[ -z "$(ls -A "$TEST_TMP/B/disks/in")" ]
}

@test "vm-migrate --copy-storage-all: the disk goes to B's disk-dir, the guest's disk check goes on clean there; A's disk is left" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 40
	run migrate --copy-storage-all g
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ vmpipe-recv:\ running\ g\ [0-9]+ ]]
	[ -f "$TEST_TMP/B/disks/in/g.img" ]
	# Gone from A, its disk still there.
	! "$VMP_BIN/vm-ctl" info g >/dev/null 2>&1
	[ -f "$DISK" ]
	cp "$DISK" "$TEST_TMP/a.after"
	# B's guest reads back blocks it wrote at A: they came with it.
	on_b wait_disk g 300
	on_b disk_clean g
	# It went on: it did not start again there.
	! grep -aq '^vmpipe-guest: start ' "$(on_b guest_log g)"
	# Nothing at B writes A's disk.
	cmp "$DISK" "$TEST_TMP/a.after"
}

@test "--copy-storage-all --live is refused, naming the offline way" {
	run -2 "$VMP_BIN/vm-migrate" --copy-storage-all --live g host
	[[ "$output" == *"--copy-storage-all can't be --live: the disks are copied with the guest paused.  Migrate offline with vm-migrate --copy-storage-all g host"* ]]
}

@test "B takes no disks (no disk-dir): refused, the guest runs on at A" {
	printf 'disk-prefix %s/B/disks/\n' "$TEST_TMP" >"$CONF_B"
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run migrate --copy-storage-all g
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused the guest: guest g brings 1 disk, and this host takes none: no disk-dir in $CONF_B"* ]]
	[[ "$output" == *"g: not migrated"*"the guest runs here"* ]]
	runs_at_a
}

@test "a file at the disk's place on B: refused, that file untouched, the guest runs on at A" {
	echo precious >"$TEST_TMP/B/disks/in/g.img"
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	run migrate --copy-storage-all g
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"disk vda: \"$TEST_TMP/B/disks/in/g.img\": expected no file there, found one"* ]]
	[ "$(cat "$TEST_TMP/B/disks/in/g.img")" = precious ]
	rm "$TEST_TMP/B/disks/in/g.img"
	runs_at_a
}

@test "B's vm-recv killed while the bundle comes: the guest runs on at A, B keeps no guest and no disk" {
	# A disk with data all through it: the bundle takes a while.
	truncate -s 32M "$DISK"
	head -c 32M /dev/urandom | dd of="$DISK" conv=notrunc bs=1M 2>/dev/null
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	migrate --copy-storage-all g >"$TEST_TMP/mig.out" 2>&1 &
	mig=$!
	# The guest is made paused at B before its disk comes in.
	for _ in $(seq 600); do
		[ -n "$(ls "$VMP_RUN_B"/*.sock 2>/dev/null)" ] && break
		sleep 0.1
	done
	rpid=$(recv_pid)
	[ -n "$rpid" ]
	kill -KILL "$rpid"
	st=0
	wait "$mig" || st=$?
	cat "$TEST_TMP/mig.out"
	[ "$st" -eq 1 ]
	# The guardian destroyed B's guest and removed its disk.
	for _ in $(seq 100); do
		[ -z "$(ls -A "$TEST_TMP/B/disks/in")" ] && break
		sleep 0.1
	done
	runs_at_a
}

@test "a bundle cut short on its way: refused, nothing kept at B, the guest runs on at A" {
	start_guest_hb g 3 --disk "$DISK"
	wait_disk g 20
	# The pipeline by hand, the bundle cut before its disk ends.
	run bash -c "set -o pipefail; \
	    '$VMP_BIN/vm-save' -q --bundle --paused g | head -c 3000000 | \
	    ip netns exec '$VMP_NSA' '$VMP_BIN/vm-send' -q -p '$VMP_SSH_PORT' \
	    -i '$VMP_DIR/id' -K '$VMP_DIR/known_hosts' --hold g \
	    -e 'VMPIPE_RUNDIR=$VMP_RUN_B VMPIPE_RECV_CONF=$CONF_B $VMP_BIN/vm-recv' \
	    root@$VMP_ADDR_B"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"the bundle ended without the end of its archive (two blocks of zeros): nothing runs on $VMP_ADDR_B"* ]]
	# vm-save, its reader gone, resumed the guest itself.
	runs_at_a
}
