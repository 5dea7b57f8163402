# takes: 38
# vm-save and vm-restore a PVH guest through the Xen backend: the image
# reads back, and the restored guest continues its counter.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
guest_up pvh5 pvh
wait_tick_above pvh5 2 60 || fail "no tick 3"
cpu=$(last_cpuid pvh5)
log=/var/log/xen/console/guest-pvh5.log
t0=$(date +%s)
vm-save -b xen -o /tmp/pvh5.vmi pvh5 || fail "vm-save"
t1=$(date +%s)
before=$(last_tick pvh5)
lines=$(wc -l <"$log")
note "saved at tick $before in $((t1 - t0)) s: $(ls -l /tmp/pvh5.vmi)"
guest_gone pvh5 || fail "pvh5 still there after vm-save"
vm-inspect /tmp/pvh5.vmi || fail "vm-inspect"
vm-inspect /tmp/pvh5.vmi | grep -q 'backend xen, type pvh' ||
	fail "the image does not say backend xen, type pvh"
t0=$(date +%s)
vm-restore -b xen /tmp/pvh5.vmi || fail "vm-restore"
t1=$(date +%s)
note "restored in $((t1 - t0)) s"
xl list pvh5 || fail "no pvh5 after vm-restore"
wait_tick_above pvh5 $((before + 2)) 60 || {
	tail -n 5 "$log"; fail "counter did not pass $before after vm-restore"; }
tail -n +$((lines + 1)) "$log" | tr -d '\r' >/tmp/after
grep -q 'guest up' /tmp/after && fail "guest booted again after vm-restore"
grep -qx 'tick 0' /tmp/after && fail "counter restarted after vm-restore"
first=$(awk '/^tick [0-9]+$/ { print $2; exit }' /tmp/after)
note "after restore: first tick $first, last $(last_tick pvh5)"
# What CPUID tells it is what it was told before (the image's policy).
same_cpu pvh5 "$cpu" "$lines"
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 3)) ] ||
	fail "first tick after restore is '$first', expected just after $before"
# The restored guest is an ordinary one: xl can save it again.
xl save pvh5 /tmp/pvh5.xl >/dev/null 2>&1 || fail "xl save of the restored guest"
rm -f /tmp/pvh5.vmi /tmp/pvh5.xl
echo ok
