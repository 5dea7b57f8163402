#!/usr/bin/env bats
# vm-recv --listen, the relocation server: ssh with public keys or plain
# TCP, hosts-allow, its config file, one stream per guest name, and that
# it keeps serving after a failed receive.

load test_helper
load sshd/lib

setup_file() {
	vmp_hosts_up
}

teardown_file() {
	vmp_hosts_down
}

setup() {
	need_kvm
	vmp_test_setup
}

teardown() {
	vmp_test_teardown
}


# vm-send -r from A to the relocation server on B.
rsend() {
	inA "$VMP_BIN/vm-send" -r -i "$VMP_DIR/id" -K "$VMP_DIR/known_hosts" \
	    "$@" "$VMP_ADDR_B:$VMP_RELOC_PORT"
}
export -f rsend

assert_moved() {
	local name=$1 last=$2 first
	on_b wait_hb "$name" $((last + 5))
	first=$(grep -a '^vmpipe-guest: hb ' "$(on_b guest_log "$name")" |
	    head -n 1 | awk '{ print $3 }')
	[ "$first" -gt "$last" ]
	on_b assert_clean "$name"
}

assert_runs_here() {
	local n
	n=$(last_hb "$1")
	wait_hb "$1" $((n + 3))
	assert_clean "$1"
}

@test "offline migration to the relocation server over ssh" {
	vmp_reloc_start
	start_guest_hb g 3
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | rsend"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^vmpipe-recv:\ running\ g\ [0-9]+$ ]]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_moved g "$last"
	grep -q "$VMP_ADDR_A: authenticated as root" "$VMP_DIR/reloc.log"
}

@test "live migration to a --plain relocation server" {
	vmp_reloc_start --plain
	start_guest_hb g 3 -w rate=3000
	run bash -c "'$VMPIPE_BIN/vm-precopy' -q g | rsend -q --plain"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^vmpipe-recv:\ running\ g\ [0-9]+$ ]]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_moved g "$last"
}

@test "hosts-allow refuses a peer that does not match" {
	vmp_reloc_start -H '^10\.99\. ^elsewhere$'
	start_guest_hb g 2
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | rsend"
	[ "$status" -ne 0 ]
	grep -q "$VMP_ADDR_A: refused: not in hosts-allow" "$VMP_DIR/reloc.log"
	assert_runs_here g
	[ -z "$(ls "$VMP_RUN_B"/*.sock 2>/dev/null)" ]
}

@test "hosts-allow, plain: the refusal is said on the connection" {
	vmp_reloc_start --plain -H '^10\.99\.'
	start_guest_hb g 2
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | rsend --plain"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused the guest: host 10.77.0.1 is not allowed"* ]]
	assert_runs_here g
}

@test "config file: address, port, hosts-allow, keys; a matching peer gets in" {
	cat >"$TEST_TMP/reloc.conf" <<-CFG
	# as xend-config.sxp's relocation settings
	address $VMP_ADDR_B
	port 8003
	hosts-allow ^10\.77\.0\.1$
	hostkey $VMP_DIR/host_key
	authorized-keys $VMP_DIR/authorized_keys
	CFG
	echo "[$VMP_ADDR_B]:8003 $(cut -d' ' -f1,2 "$VMP_DIR/host_key.pub")" \
	    >>"$VMP_DIR/known_hosts"
	inB "$VMP_BIN/vm-recv" -D --pidfile "$TEST_TMP/reloc.pid" \
	    -F "$TEST_TMP/reloc.conf"
	vmp_wait_port 8003
	start_guest_hb g 3
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | inA '$VMP_BIN/vm-send' \
	    -q -r -i '$VMP_DIR/id' -K '$VMP_DIR/known_hosts' -p 8003 $VMP_ADDR_B"
	kill "$(cat "$TEST_TMP/reloc.pid")"
	[ "$status" -eq 0 ]
	last=$(last_hb g)
	"$VMPIPE_BIN/vm-ctl" destroy g
	assert_moved g "$last"
}

@test "a key not in authorized-keys is refused" {
	vmp_reloc_start
	ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/stranger"
	start_guest_hb g 2
	run bash -c "'$VMPIPE_BIN/vm-save' -q --paused g | rsend -i '$TEST_TMP/stranger'"
	[ "$status" -eq 1 ]
	[[ "$output" == *"permission denied (publickey)"* ]]
	assert_runs_here g
}

@test "one stream per guest name; the server keeps serving after failures" {
	vmp_reloc_start --plain
	start_guest_hb g 3
	"$VMPIPE_BIN/vm-save" -q --keep g >"$TEST_TMP/img"
	# A first stream that stalls after 2 MB holds the name...
	( (head -c 2000000 "$TEST_TMP/img"; sleep 3) |
	    rsend --plain >"$TEST_TMP/first.out" 2>&1 ) &
	first=$!
	wait_for "$TEST_TMP/first.out" "ready for g"
	# ...so a second one for the same guest is refused at once.
	run rsend --plain <"$TEST_TMP/img"
	[ "$status" -eq 1 ]
	[[ "$output" == *"a migration of guest g to this host is already in progress"* ]]
	wait "$first" || true
	grep -q "10.77.0.2 failed" "$TEST_TMP/first.out"
	# Neither left a guest behind, and the server still takes the next.
	[ -z "$(ls "$VMP_RUN_B"/*.sock 2>/dev/null)" ]
	run rsend -q --plain <"$TEST_TMP/img"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^vmpipe-recv:\ running\ g\ [0-9]+$ ]]
}

@test "the server refuses a request that is not a receive" {
	vmp_reloc_start
	run inA ssh -F /dev/null -i "$VMP_DIR/id" -p "$VMP_RELOC_PORT" \
	    -o UserKnownHostsFile="$VMP_DIR/known_hosts" -o BatchMode=yes \
	    "root@$VMP_ADDR_B" 'cat /etc/shadow'
	[ "$status" -ne 0 ]
	[[ "$output" == *"refused: this server runs only 'vm-recv"* ]]
}

@test "the server refuses a request whose name breaks the name rule" {
	vmp_reloc_start
	run inA ssh -F /dev/null -i "$VMP_DIR/id" -p "$VMP_RELOC_PORT" \
	    -o UserKnownHostsFile="$VMP_DIR/known_hosts" -o BatchMode=yes \
	    "root@$VMP_ADDR_B" 'vm-recv --name a@b'
	[ "$status" -ne 0 ]
	[[ "$output" == *"refused: $BAD_NAME_AT_B"* ]]
	[ -z "$(ls "$VMP_RUN_B"/*.lock 2>/dev/null)" ]
}

@test "hosts-allow patterns that would make the regex compiler explode are refused" {
	run timeout 10 "$VMPIPE_BIN/vm-recv" --plain --listen 127.0.0.1:18002 \
	    -H '^10\. a+++++++++b'
	[ "$status" -eq 2 ]
	[ "$output" = "vm-recv: hosts-allow 'a+++++++++b': too complex: expected at most 255 characters and 8 repetitions, none repeated" ]
}
