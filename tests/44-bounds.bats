#!/usr/bin/env bats
# The relocation server's bounds, on a network of its own (no guest
# needed): connections that have not made their request are counted in
# all and per source address and are given a grace time, the key exchange
# included; hosts-allow matches addresses as addresses and names only when
# they resolve back.  The network namespace has its own /etc/hosts
# (ip netns exec mounts /etc/netns/NS/hosts over it).

load test_helper

PORT=8200

setup_file() {
	export NS=vmpT-$$
	export D
	D=$(mktemp -d "${BATS_RUN_TMPDIR:-/tmp}/bounds.XXXXXX")
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	mkdir -p "/etc/netns/$NS"
	cat >"/etc/netns/$NS/hosts" <<-EOF
	127.0.0.1 localhost
	127.0.0.6 10.1.66.6.attacker.example
	127.0.0.7 good.example
	127.0.0.8 good.example.attacker.net
	EOF
	ssh-keygen -q -t ed25519 -N '' -f "$D/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$D/id"
	cp "$D/id.pub" "$D/authorized_keys"
}

teardown_file() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "/etc/netns/$NS" "$D"
}

setup() {
	vmpipe_setup
	: >"$TEST_TMP/conf"
}

teardown() {
	[ ! -f "$TEST_TMP/srv.pid" ] || kill "$(cat "$TEST_TMP/srv.pid")" 2>/dev/null
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	vmpipe_teardown
}

# srv [vm-recv options]: a relocation server on 127.0.0.1 in the namespace,
# with the settings in $TEST_TMP/conf; its log in $TEST_TMP/srv.log.
srv() {
	local i
	ip netns exec "$NS" "$VMPIPE_BIN/vm-recv" -F "$TEST_TMP/conf" \
	    -d "$VMPIPE_RUNDIR" --pidfile "$TEST_TMP/srv.pid" "$@" \
	    --listen "127.0.0.1:$PORT" 2>>"$TEST_TMP/srv.log" &
	for i in $(seq 100); do
		ip netns exec "$NS" ss -Htln "sport = :$PORT" | grep -q . &&
		    return 0
		sleep 0.05
	done
	cat "$TEST_TMP/srv.log" >&2
	return 1
}

conns() {
	ip netns exec "$NS" "$VMPIPE_TOP/tests/sshd/conns" "$@"
}

# The answer of a plain server to a status request from address $1.
ask() {
	conns ask "$1" "127.0.0.1:$PORT" "vm-recv --status g"
}

# Was the request of the last `run ask' (or --status) served?  The answer
# is the status, or, where no backend runs here, that none can be asked.
served() {
	[[ "$output" =~ ^vmpipe-recv:\ (status\ g\ absent|error:\ no\ backend\ here\ to\ ask\ about\ guest\ g)$ ]] || {
		echo "not served: $output"
		cat "$TEST_TMP/srv.log"
		false
	}
}

@test "per source: 40 idle connections from one address hold 3 places, another address is served" {
	srv --plain
	conns hold 127.0.0.2 "127.0.0.1:$PORT" 40 4 >"$TEST_TMP/held" &
	pid=$!
	sleep $((2 * VMPIPE_TIME_SCALE))
	run ask 127.0.0.3
	served
	wait "$pid"
	[ "$(cat "$TEST_TMP/held")" = "held 3 closed 37" ]
	grep -q "127.0.0.2: refused: 3 connections from it are waiting to be authenticated (per-source-max-startups 3)" \
	    "$TEST_TMP/srv.log"
	# Once they are gone, the address is served again.
	run ask 127.0.0.2
	served
}

@test "in all: ten waiting connections, the eleventh is closed at once" {
	srv --plain
	pids=
	for i in $(seq 10 19); do
		conns hold "127.0.0.$i" "127.0.0.1:$PORT" 1 5 >/dev/null &
		pids="$pids $!"
	done
	sleep $((2 * VMPIPE_TIME_SCALE))
	run conns closed-within 127.0.0.20 "127.0.0.1:$PORT" 3
	[ "$output" != open ]
	awk -v t="$output" 'BEGIN { exit !(t < 1) }'
	grep -q "127.0.0.20: refused: 10 connections are waiting to be authenticated (max-startups 10)" \
	    "$TEST_TMP/srv.log"
	wait $pids
	run ask 127.0.0.20
	served
}

@test "max-startups and per-source-max-startups come from the config file" {
	printf 'max-startups 2\nper-source-max-startups 1\n' >"$TEST_TMP/conf"
	srv --plain
	run conns hold 127.0.0.2 "127.0.0.1:$PORT" 3 1
	[ "$output" = "held 1 closed 2" ]
	run conns hold 127.0.0.3 "127.0.0.1:$PORT" 2 1
	[ "$output" = "held 1 closed 1" ]
}

@test "login-grace-time ends a plain connection that never finishes its request" {
	echo "login-grace-time 2" >"$TEST_TMP/conf"
	srv --plain
	run conns closed-within 127.0.0.2 "127.0.0.1:$PORT" 20 "vm-recv --sta"
	[ "$output" != open ]
	awk -v t="$output" 'BEGIN { exit !(t >= 1.5 && t < 9) }'
}

@test "login-grace-time covers the ssh key exchange" {
	echo "login-grace-time 2" >"$TEST_TMP/conf"
	srv -k "$D/host_key" -a "$D/authorized_keys"
	run conns closed-within 127.0.0.2 "127.0.0.1:$PORT" 30 \
	    "SSH-2.0-stalled"$'\r\n'
	[ "$output" != open ]
	awk -v t="$output" 'BEGIN { exit !(t >= 1.5 && t < 9) }'
}

@test "an ssh peer that authenticates and asks is served within the bounds" {
	printf 'max-startups 1\nlogin-grace-time 5\n' >"$TEST_TMP/conf"
	srv -k "$D/host_key" -a "$D/authorized_keys"
	hk=$(cat "$D/host_key.pub")
	echo "[127.0.0.1]:$PORT ${hk% *}" >"$TEST_TMP/known_hosts"
	for i in 1 2; do
		# The second gets in too: the first's place is free again.
		run ip netns exec "$NS" "$VMPIPE_BIN/vm-send" -r -i "$D/id" \
		    -K "$TEST_TMP/known_hosts" --status g "127.0.0.1:$PORT"
		[[ "$output" == "vmpipe-recv: status g absent" ||
		    "$output" == *": no backend here to ask about guest g" ]]
	done
	[ "$(grep -c ': authenticated as root$' "$TEST_TMP/srv.log")" -eq 2 ]
}

@test "privilege separation: the ssh side of a connection is unprivileged, in an empty root" {
	srv -k "$D/host_key" -a "$D/authorized_keys"
	# A peer that has started the key exchange and stalls.
	conns hold 127.0.0.2 "127.0.0.1:$PORT" 1 4 "SSH-2.0-stalled"$'\r\n' &
	local held=$! pids= p n=0
	for _ in $(seq 50); do
		pids=$(ip netns exec "$NS" ss -Htnp state established \
		    "sport = :$PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
		[ -z "$pids" ] || break
		sleep 0.1
	done
	[ -n "$pids" ]
	# Every process that holds the peer's socket: another user than
	# root (real, effective, saved and file system ids), the server's
	# empty directory as its root, no new privileges.
	for p in $pids; do
		n=$((n + 1))
		awk '/^Uid:|^Gid:/ { for (i = 2; i <= 5; i++) if ($i == 0) exit 1 }' \
		    "/proc/$p/status"
		grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$p/status"
		[ "$(readlink "/proc/$p/root")" = "$VMPIPE_RUNDIR/empty" ]
		[ -z "$(ls -A "/proc/$p/root/")" ]
		# Its parent, the monitor, is root and holds no socket of the peer.
		local mon
		mon=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status")
		awk '/^Uid:/ { exit $2 != 0 }' "/proc/$mon/status"
	done
	[ "$n" -eq 1 ]
	wait "$held"
}

@test "bad bounds in the config file are refused with the line" {
	echo "max-startups 0" >"$TEST_TMP/conf"
	run "$VMPIPE_BIN/vm-recv" --plain -F "$TEST_TMP/conf" --listen 127.0.0.1:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"conf:1: bad line: max-startups 0"* ]]
	echo "login-grace-time soon" >"$TEST_TMP/conf"
	run "$VMPIPE_BIN/vm-recv" --plain -F "$TEST_TMP/conf" --listen 127.0.0.1:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad line: login-grace-time soon"* ]]
}

@test "hosts-allow: an address pattern never matches a name that looks like an address" {
	srv --plain -H '^10\.1\.'
	run ask 127.0.0.6
	[ "$output" = "vmpipe-recv: refused: host 127.0.0.6 is not allowed to migrate guests here" ]
}

@test "hosts-allow: a name pattern matches a confirmed name, and only the whole of it" {
	srv --plain -H 'good\.example'
	run ask 127.0.0.7
	served
	run ask 127.0.0.8
	[ "$output" = "vmpipe-recv: refused: host 127.0.0.8 is not allowed to migrate guests here" ]
	run ask 127.0.0.3
	[[ "$output" == *"refused: host 127.0.0.3 is not allowed"* ]]
}

@test "hosts-allow: address patterns still admit their subnet by prefix" {
	srv --plain -H '^127\.0\.0\.[23]$ ^bad\.example$'
	run ask 127.0.0.3
	served
	run ask 127.0.0.4
	[[ "$output" == *"refused: host 127.0.0.4"* ]]
}
