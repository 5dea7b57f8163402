# hosts: 2
# timeout: 1800
# bench/xen-side-by-side runs this (not a test: tests/xen/run runs it only
# by name), on two hosts joined by a wire (tests/xen/run, "hosts: 2"):
# live migration of a PVH guest (2 vCPUs, 128 of 192 MiB, 2 x 8 MiB of it
# rewritten all along, a vif on each host's bridge) from host a to host b
# and back, by xl (xl migrate, over OpenSSH as xl does it) and by vmpipe
# (vm-migrate -l, over libssh), in turn, three rounds each.  Both tools
# cross the same wire with ssh: the like-for-like row that a move to the
# same host could not give.  For each move: its time, the pings from a's
# dom0 that it lost (0.2 s apart), and the downtime the guest saw (its
# longest gap between two ticks).  It fails only when a move fails or the
# guest's memory check does.
. ./lib.sh
need_xen_backend vm-precopy
need_xen_backend vm-recv
pair_up

pinger=
trap 'kill $pinger 2>/dev/null' EXIT
# move TOOL FROM TO: one live move of g, run at FROM; a row in /tmp/rows.
move() {
	# The guest's console log at TO, fresh: xl's copy logs as
	# g--incoming (its name while it is built), vmpipe's as g.
	on "$3" "rm -f $(console_log g) $(console_log g--incoming)"
	busybox ping -i 0.2 10.0.9.10 >/tmp/ping.out 2>&1 &
	pinger=$!
	sleep 2
	t0=$(ms)
	if [ "$1" = xl ]; then
		on "$2" xl migrate g "$3" >/tmp/mv.out 2>&1 || st=$?
	else
		on "$2" vm-migrate -b xen -l g "$3" >/tmp/mv.out 2>&1 || st=$?
	fi
	t1=$(ms)
	[ "${st:-0}" -eq 0 ] || { cat /tmp/mv.out; fail "$1 from $2 to $3: exit $st"; }
	sleep 3
	kill -INT "$pinger"
	wait "$pinger" 2>/dev/null
	pinger=
	lost=$(awk '/packets transmitted/ { print $1 - $4 }' /tmp/ping.out)
	on "$3" "cat $(console_log g) $(console_log g--incoming) 2>/dev/null" |
	    tr -d '\r' >/tmp/to.log
	grep 'mem BAD' /tmp/to.log && fail "g's memory changed under it ($1, $2 to $3)"
	grep -q '^tick ' /tmp/to.log || fail "g does not tick at $3 ($1)"
	gap=$(gap /tmp/to.log)
	echo "$2-$3 $1 $((t1 - t0)) ${lost:--} $gap" >>/tmp/rows
	note "$1 from $2 to $3: $((t1 - t0)) ms, ${lost:--} pings lost," \
	    "longest tick gap $gap ms"
}

: >/tmp/rows
for r in 1 2 3; do
	move xl a b
	move xl b a
	move vmpipe a b
	move vmpipe b a
done
xl destroy g
{
	echo "side by side across two hosts, a PVH guest live over ssh (2 vCPUs," \
	    "128 of 192 MiB, 16 MiB rewritten all along, a vif; three rounds):"
	printf '%-6s %-7s %9s %12s %10s\n' move tool time 'pings lost' downtime
	awk '{ printf "%-6s %-7s %6d ms %12s %7d ms\n", $1, $2, $3, $4, $5 }' \
	    /tmp/rows
	# For each way and tool, the median move by its time (with that
	# move's pings and downtime), and vmpipe's time over xl's.
	for m in a-b b-a; do
		x=$(awk -v m=$m '$1 == m && $2 == "xl"' /tmp/rows | sort -k3,3n | sed -n 2p)
		y=$(awk -v m=$m '$1 == m && $2 == "vmpipe"' /tmp/rows | sort -k3,3n | sed -n 2p)
		echo "$x $y" | awk '{ printf "median %s: xl %d ms, vmpipe %d ms (%.2fx); pings lost %s / %s; downtime %d / %d ms\n", $1, $3, $8, $3 ? $8 / $3 : 0, $4, $9, $5, $10 }'
	done
} | sed 's/^/TABLE /'
echo ok
