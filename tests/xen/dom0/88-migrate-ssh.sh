# takes: 145
# vm-migrate and vm-send over ssh in dom0, to an sshd on loopback with key
# authentication.  Xen has one namespace of guests per host, so a
# migration to this same host meets its own source: vm-recv refuses the
# stream (the source, still running, holds the image's UUID), and
# vm-migrate's rule that no guest is lost must leave the guest running
# here, live and offline.  Then vm-migrate moves guests for real, to a
# receiver that restores them as clones (vm-recv --as): a PVH guest live,
# a PV guest offline; the source goes only once the copy runs, and the
# copy must continue the counter.
. ./lib.sh
need_xen_backend vm-precopy
need_xen_backend vm-restore
command -v /usr/sbin/sshd >/dev/null || skip "no sshd in dom0"

sshd_up

runs_on() {	# name what: still here and ticking
	n=$(last_tick "$1")
	wait_tick_above "$1" $((n + 1)) 60 || fail "$2: $1 stopped ticking at $n"
	xl list "$1" >/dev/null 2>&1 || fail "$2: $1 is gone"
}
migrate() {	# vm-recv-command vm-migrate-options...: to dom0's own sshd
	e=$1
	shift
	vm-migrate -b xen -p $port -i "$d/id" -K "$d/known_hosts" -e "$e" \
	    "$@" root@127.0.0.1
}
# moved FROM TO LAST: FROM is gone, TO ticks on from LAST.
moved() {
	guest_gone "$1" || fail "$1 still there after vm-migrate"
	wait_tick_above "$2" $(($3 + 2)) 60 || {
		tail -n 5 "$(console_log "$2")"; fail "$2 does not tick on from $3"; }
	first=$(tr -d '\r' <"$(console_log "$2")" |
	    awk '/^tick [0-9]+$/ { print $2; exit }')
	[ -n "$first" ] && [ "$first" -ge "$3" ] && [ "$first" -le $(($3 + 3)) ] ||
		fail "$2 started at tick '$first', expected just after $3"
	note "$1 stopped at $3, $2 ticks on from $first to $(last_tick "$2")"
}

guest_up ms pvh
wait_tick_above ms 2 60 || fail "no tick 3"

migrate 'vm-recv --name ms2' -l ms >/tmp/mig.out 2>&1
r=$?
cat /tmp/mig.out
[ "$r" -eq 1 ] || fail "vm-migrate -l to this host: exit $r, expected 1"
grep -q 'UUID' /tmp/mig.out || fail "vm-migrate -l: no word of the UUID"
guest_gone ms2 || fail "vm-migrate -l left a guest ms2"
runs_on ms "vm-migrate -l refused"
note "vm-migrate -l over ssh: refused by vm-recv, ms runs on"

migrate 'vm-recv --name ms2' ms >/tmp/mig.out 2>&1
r=$?
cat /tmp/mig.out
[ "$r" -eq 1 ] || fail "vm-migrate to this host: exit $r, expected 1"
runs_on ms "vm-migrate (offline) refused"
note "vm-migrate over ssh: refused by vm-recv, ms resumed and runs on"

# The moves.  The source is suspended from its last round on: its last
# tick is where the copy must go on from.
rm -f "$(console_log ms2)"
migrate 'vm-recv --as ms2' -l ms || { xl list; fail "vm-migrate -l ms"; }
moved ms ms2 "$(last_tick ms)"
xl destroy ms2

guest_up pm pv
wait_tick_above pm 2 60 || fail "no tick 3 of pm"
rm -f "$(console_log pm2)"
migrate 'vm-recv --as pm2' pm || { xl list; fail "vm-migrate pm (PV, offline)"; }
moved pm pm2 "$(last_tick pm)"
xl destroy pm2
sshd_down
echo ok
