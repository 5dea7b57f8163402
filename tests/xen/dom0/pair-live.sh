# hosts: 2
# timeout: 900
# takes: 310
# Two hosts, two machines joined by a wire: a PVH guest with 2 vCPUs,
# ballooned memory (128 of 192 MiB) that it rewrites and checks all along
# (vmpipe_mem), and a vif on each host's bridge, with pings from host a's
# dom0 across every move.  It moves live from a to b with vm-migrate over
# ssh, and back from b to a; each time the copy keeps its name and UUID,
# ticks on from where the source stopped with its memory whole and the
# same CPUID digest, answers pings where it now runs, and the source host
# keeps nothing.  Then the wire is cut in the middle of a live move: the
# guest runs on at a, and b, once its deadline has passed, keeps no guest
# and no receive.
. ./lib.sh
need_xen_backend vm-precopy
need_xen_backend vm-recv
# log_on HOST NAME: the path of guest NAME's console log as host HOST has
# it now (b's is copied here).
log_on() {
	if [ "$1" = a ]; then
		console_log "$2"
	else
		on b cat "$(console_log "$2")" >/tmp/b-"$2".log 2>/tmp/b-err ||
			{ cat /tmp/b-err; on b ls -l /var/log/xen/console; } >&2
		echo /tmp/b-"$2".log
	fi
}
# runs_at HOST LAST LINES: the guest ticks at HOST past LAST, beginning
# just after it, after line LINES of its console log there; it says
# "mem ok" twice there and never "mem BAD", and its CPUID digest is $cpu.
runs_at() {
	i=0
	while :; do
		l=$(log_on "$1" g)
		tail -n +$(($3 + 1)) "$l" | tr -d '\r' >/tmp/after
		grep 'mem BAD' /tmp/after && fail "g's memory changed under it at $1"
		[ "$(grep -c '^mem ok' /tmp/after)" -ge 2 ] &&
		    [ "$(ticks_in /tmp/after)" -gt $(($2 + 2)) ] &&
		    grep -q '^cpuid ' /tmp/after && break
		i=$((i + 1))
		[ "$i" -lt 60 ] || { tail -n 8 /tmp/after; fail "g does not run on at $1"; }
		sleep 2
	done
	grep -q 'guest up' /tmp/after && fail "g booted again at $1"
	first=$(awk '/^tick [0-9]+$/ { print $2; exit }' /tmp/after)
	[ "$first" -ge "$2" ] && [ "$first" -le $(($2 + 3)) ] ||
		fail "g's first tick at $1 is $first, expected just after $2"
	d=$(awk '$1 == "cpuid" { print $2; exit }' /tmp/after)
	[ "$d" = "$cpu" ] || fail "g's CPUID changed: $cpu before, $d at $1"
	note "g runs at $1: ticks from $first, $(grep '^mem ok' /tmp/after | tail -n 1), CPUID $d"
}
# nothing_at HOST: no g, no g--incoming, no hold and no receive lock there.
nothing_at() {
	on "$1" 'for n in g g--incoming g--migratedaway; do
		xl list "$n" 2>/dev/null | tail -n +2; done
	    ls /run/vmpipe/*.hold /run/vmpipe/*.lock 2>/dev/null; true' >/tmp/left
	[ ! -s /tmp/left ] || { cat /tmp/left; fail "host $1 kept the above"; }
}
pinger=
trap 'kill $pinger 2>/dev/null' EXIT
ping_start() { busybox ping -i 0.2 10.0.9.10 >/tmp/ping.out 2>&1 & pinger=$!; }
ping_stop() {	# what
	kill -INT "$pinger" 2>/dev/null
	wait "$pinger" 2>/dev/null
	pinger=
	awk -v w="$1" '/packets transmitted/ { printf "TABLE pings across %s: %d of %d lost (%.1f s at 0.2 s each)\n", w, $1 - $4, $1, ($1 - $4) * 0.2 }' /tmp/ping.out
}
# pings_reach HOST: the guest answers pings from a's dom0, wherever it runs.
pings_reach() {
	busybox ping -c 3 -W 5 10.0.9.10 >/tmp/p3 2>&1 ||
		{ cat /tmp/p3; fail "g at $1 does not answer pings"; }
}

pair_up
i=0
until [ -n "$(last_cpuid g)" ] && grep -q '^mem ok' "$(console_log g)"; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || fail "g printed no CPUID digest or mem ok"
	sleep 1
done
cpu=$(last_cpuid g)
uuid=$(uuid_of g)
pings_reach a
note "g runs at a: $(xl list g | tail -n 1), UUID $uuid"

# 1. a to b, live, over ssh.
ping_start
t0=$(ms)
vm-migrate -b xen -l -v g b >/tmp/mig.out 2>&1 && st=0 || st=$?
t1=$(ms)
cat /tmp/mig.out
[ "$st" -eq 0 ] || fail "vm-migrate -l g b: exit $st"
last=$(last_tick g)
guest_gone g || fail "g still at a after the move"
[ "$(on b xl list -v g | awk 'NR == 2 { print $7 }')" = "$uuid" ] ||
	fail "g's UUID at b is not $uuid"
runs_at b "$last" 0
pings_reach b
ping_stop "the live move from a to b"
nothing_at a
echo "TABLE live move a to b: $((t1 - t0)) ms"

# 2. b to a, live, vm-migrate run at b.
lines=$(console_lines g)
ping_start
t0=$(ms)
on b vm-migrate -b xen -l -v g a >/tmp/mig.out 2>&1 && st=0 || st=$?
t1=$(ms)
cat /tmp/mig.out
[ "$st" -eq 0 ] || fail "vm-migrate -l g a (at b): exit $st"
l=$(log_on b g)
last=$(ticks_in "$l")
[ "$last" -ge 0 ] || { tail -n 5 "$l"; fail "no tick in b's log of g"; }
[ "$(uuid_of g)" = "$uuid" ] || fail "g's UUID back at a is not $uuid"
runs_at a "$last" "$lines"
pings_reach a
ping_stop "the live move from b to a"
nothing_at b
echo "TABLE live move b to a: $((t1 - t0)) ms"

# 3. The wire cut in the middle of a live move: a's end of it goes down
# a few seconds after b's receive has begun (it holds the guest's receive
# lock), and comes back only once vm-migrate has given up.  The guest runs
# on at a; b's receive gives up after its own deadline of silence and
# destroys what it made.
lines=$(console_lines g)
last=$(last_tick g)
vm-migrate -b xen -l -v -t 20 g b >/tmp/mig.out 2>&1 &
mig=$!
i=0
until on b test -e /run/vmpipe/g.recv.lock 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || { kill "$mig"; cat /tmp/mig.out; fail "b never began to receive"; }
	sleep 1
done
sleep 3
ip link set eth0 down
t0=$(ms)
wait "$mig" && st=0 || st=$?
t1=$(ms)
ip link set eth0 up
cat /tmp/mig.out
[ "$st" -ne 0 ] || fail "vm-migrate across a cut wire: exit 0"
note "vm-migrate gave up $((t1 - t0)) ms after the cut, exit $st"
runs_at a "$last" "$lines"
# b's receive has a deadline of silence (vm-recv(8)).
i=0
until timeout 60 ssh b 'for n in g g--incoming; do xl list "$n" 2>/dev/null | tail -n +2; done
    ls /run/vmpipe/*.lock 2>/dev/null; true' >/tmp/left 2>&1 && [ ! -s /tmp/left ]; do
	i=$((i + 1))
	[ "$i" -lt 30 ] || {
		cat /tmp/left
		timeout 60 ssh b 'ps -eo pid,etime,stat,wchan:20,args | grep -v "\[" ;
		    xl list; tail -n 20 /var/log/xen/*.log' 2>&1
		fail "b kept the above after the cut"; }
	note "b: $(tr '\n' ' ' </tmp/left)"
	sleep 4
done
note "b kept nothing $((($(ms) - t1) / 1000)) s after the wire came back"
ls /run/vmpipe/*.hold /run/vmpipe/*.lock 2>/dev/null && fail "a hold or a lock was left at a"
guest_gone g--migratedaway && guest_gone g--incoming || fail "a twin of g was left at a"
pings_reach a
xl destroy g
echo ok
