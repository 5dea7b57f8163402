# takes: 39
# A live pre-copy of a PVH guest with log-dirty, then vm-restore.
. ./lib.sh
need_xen_backend vm-precopy
need_xen_backend vm-restore
guest_up pvh6 pvh
wait_tick_above pvh6 2 60 || fail "no tick 3"
cpu=$(last_cpuid pvh6)
log=/var/log/xen/console/guest-pvh6.log
t0=$(date +%s)
vm-precopy -b xen -o /tmp/pvh6.vmi pvh6 || fail "vm-precopy"
t1=$(date +%s)
before=$(last_tick pvh6)
lines=$(wc -l <"$log")
note "pre-copied at tick $before in $((t1 - t0)) s: $(ls -l /tmp/pvh6.vmi)"
vm-inspect /tmp/pvh6.vmi | grep -E '^(round|pages|status)' ||
	fail "vm-inspect"
vm-inspect /tmp/pvh6.vmi | grep -q 'live stream' || fail "not a live stream"
guest_gone pvh6 || xl destroy pvh6
vm-restore -b xen /tmp/pvh6.vmi || fail "vm-restore"
wait_tick_above pvh6 $((before + 2)) 60 || {
	tail -n 5 "$log"; fail "counter did not pass $before after restore"; }
tail -n +$((lines + 1)) "$log" | tr -d '\r' >/tmp/after
grep -qx 'tick 0' /tmp/after && fail "counter restarted after restore"
note "after restore: last tick $(last_tick pvh6)"
same_cpu pvh6 "$cpu" "$lines"
xl destroy pvh6
rm -f /tmp/pvh6.vmi
echo ok
