# xl save and xl restore a PVH guest: it continues where it was, it does not
# start again.
. ./lib.sh
guest_up pvh2 pvh
wait_tick_above pvh2 2 60 || fail "no tick 3"
log=/var/log/xen/console/guest-pvh2.log
t0=$(date +%s)
xl save pvh2 /tmp/pvh2.save || fail "xl save"
t1=$(date +%s)
before=$(last_tick pvh2)
lines=$(wc -l <"$log")
guest_gone pvh2 || fail "pvh2 still running after xl save"
note "saved at tick $before in $((t1 - t0)) s: $(ls -l /tmp/pvh2.save)"
sleep 3
t0=$(date +%s)
xl restore /tmp/pvh2.save || fail "xl restore"
t1=$(date +%s)
note "restored in $((t1 - t0)) s"
wait_tick_above pvh2 $((before + 2)) 60 || {
	tail -n 5 "$log"; fail "counter did not pass $before after restore"; }
# Only what the restored guest printed: it must hold no boot and no tick 0,
# and its first tick must follow the last one before the save.
tail -n +$((lines + 1)) "$log" | tr -d '\r' >/tmp/after
grep -q 'guest up' /tmp/after && fail "guest booted again after restore"
grep -qx 'tick 0' /tmp/after && fail "counter restarted after restore"
first=$(awk '/^tick [0-9]+$/ { print $2; exit }' /tmp/after)
note "after restore: first tick $first, last $(last_tick pvh2)"
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 3)) ] ||
	fail "first tick after restore is '$first', expected just after $before"
xl destroy pvh2
rm -f /tmp/pvh2.save
echo ok
