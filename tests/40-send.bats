#!/usr/bin/env bats
# vm-send and vm-recv over a real sshd between two network namespaces:
# offline and live migrations of the test guest, the preflight protocol,
# refusals, host keys, and streams cut or failed half-way.

load test_helper
load sshd/lib

setup_file() {
	vmp_hosts_up
	vmp_sshd_start
}

teardown_file() {
	vmp_hosts_down
}

setup() {
	vmp_test_setup
}

teardown() {
	vmp_test_teardown
}

fake() { echo "$VMP_TOP/tests/sshd/fake-recv"; }

# The guest on B carries on from where A stopped, its self-check clean.
assert_moved() {
	local name=$1 last=$2 first
	on_b wait_hb "$name" $((last + 5))
	first=$(grep -a '^vmpipe-guest: hb ' "$(on_b guest_log "$name")" |
	    head -n 1 | awk '{ print $3 }')
	[ "$first" -gt "$last" ] || {
		echo "heartbeat restarted: $first after $last" >&2; return 1; }
	on_b assert_clean "$name"
}

# The guest on A still runs: new heartbeats, clean.
assert_runs_here() {
	local n
	n=$(last_hb "$1")
	wait_hb "$1" $((n + 3))
	assert_clean "$1"
}

@test "transport: only the preamble crosses before the destination answers" {
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' --mib 4 | vmp_send \
	    -e 'timeout 1 cat > $TEST_TMP/pre; echo \"vmpipe-recv: refused: testing\"; :'"
	[ "$status" -eq 1 ]
	[[ "$output" == *"10.77.0.2 refused the guest: testing"* ]]
	# File header 24, GUEST 32 + 128, CONFIG 32 + 8: and nothing more.
	[ "$(stat -c %s "$TEST_TMP/pre")" -eq 224 ]
}

@test "transport: the ack is printed on stdout, exit 0" {
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' --mib 8 --name t1 |
	    vmp_send -q -e '$(fake)' 2>/dev/null"
	[ "$status" -eq 0 ]
	[ "$output" = "vmpipe-recv: running t1 0" ]
}

@test "transport: a receiver failing half-way is reported, exit 1" {
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' --mib 8 |
	    vmp_send -e '$(fake) --fail-after 3000000'"
	[ "$status" -eq 1 ]
	[[ "$output" == *"failed during the transfer: failing on purpose"* ]]
}

@test "transport: an unknown host key is refused before anything is sent" {
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' | inA '$VMP_BIN/vm-send' \
	    -p $VMP_SSH_PORT -i '$VMP_DIR/id' -K '$VMP_DIR/empty_known_hosts' \
	    --user root -e '$(fake)' $VMP_ADDR_B"
	[ "$status" -eq 1 ]
	[[ "$output" == *"host key for 10.77.0.2 is not known (SHA256:"* ]]
}

@test "transport: a changed host key is refused" {
	ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/other"
	echo "[$VMP_ADDR_B]:$VMP_SSH_PORT $(cut -d' ' -f1,2 "$TEST_TMP/other.pub")" \
	    >"$TEST_TMP/kh"
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' | inA '$VMP_BIN/vm-send' \
	    -p $VMP_SSH_PORT -i '$VMP_DIR/id' -K '$TEST_TMP/kh' --user root \
	    -e '$(fake)' $VMP_ADDR_B"
	[ "$status" -eq 1 ]
	[[ "$output" == *"host key for 10.77.0.2 has CHANGED"* ]]
}

@test "transport: a key the server does not know is refused" {
	ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/stranger"
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' | inA '$VMP_BIN/vm-send' \
	    -p $VMP_SSH_PORT -i '$TEST_TMP/stranger' -K '$VMP_DIR/known_hosts' \
	    --user root -e '$(fake)' $VMP_ADDR_B"
	[ "$status" -eq 1 ]
	[[ "$output" == *"permission denied (publickey) at 10.77.0.2"* ]]
}

@test "offline migration over ssh: the guest carries on at B" {
	need_kvm
	start_guest_hb g 3
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | vmp_send"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^vmpipe-recv:\ running\ g\ [0-9]+$ ]]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_moved g "$last"
}

@test "live migration over ssh: the guest carries on at B" {
	need_kvm
	start_guest_hb g 3 -w rate=3000
	run bash -c "'$VMPIPE_BIN/vm-precopy' -q g | vmp_send -q"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^vmpipe-recv:\ running\ g\ [0-9]+$ ]]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_moved g "$last"
}

@test "refused: a guest of that name already runs at B" {
	need_kvm
	on_b start_guest_hb g 1
	start_guest_hb g 2
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | vmp_send"
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"refused the guest: a guest named g already runs here"* ]]
	# vm-save saw the broken pipe and resumed the guest itself.
	assert_runs_here g
}

@test "refused: not enough memory at B (capped by VMPIPE_MEM_AVAILABLE)" {
	need_kvm
	start_guest_hb g 2
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | vmp_send \
	    -e 'VMPIPE_MEM_AVAILABLE=32M VMPIPE_RUNDIR=$VMP_RUN_B $VMP_BIN/vm-recv'"
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"refused the guest: not enough memory"* ]]
	assert_runs_here g
	[ -z "$(ls "$VMP_RUN_B"/*.sock 2>/dev/null)" ]
}

@test "a stream cut half-way restores nothing at B and fails" {
	need_kvm
	start_guest_hb g 2
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | head -c 3000000 |
	    vmp_send"
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"10.77.0.2 failed"* ]]
	[ -z "$(ls "$VMP_RUN_B"/*.sock 2>/dev/null)" ]
	"$VMPIPE_BIN/vm-ctl" resume g
	assert_runs_here g
}

@test "refused: an image whose name breaks the name rule, before anything is locked at B" {
	run bash -c "'$VMP_TOP/tests/sshd/mkimage' --mib 1 --name a@b \
	    2>/dev/null | vmp_send"
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"10.77.0.2 refused the guest: record 0 (GUEST): $BAD_NAME_AT_B"* ]]
	[ -z "$(ls -A "$VMP_RUN_B")" ]
}

@test "usage matches the man pages' SYNOPSIS" {
	run "$VMP_BIN/vm-send"
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: vm-send "* ]]
	run "$VMP_BIN/vm-recv" -x
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: vm-recv "* ]]
}
