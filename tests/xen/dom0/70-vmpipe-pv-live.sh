# takes: 19
# A PV guest: a live pre-copy is refused with a message that says why,
# and the guest keeps running.
. ./lib.sh
need_xen_backend vm-precopy
guest_up pv7 pv
if vm-precopy -b xen -o /tmp/pv7.vmi pv7 2>/tmp/err; then
	fail "vm-precopy of a PV guest succeeded"
fi
cat /tmp/err
grep -q 'PV guest' /tmp/err || fail "the error does not name the PV guest"
# This Xen is built without shadow paging: the message says so.
xl info | grep '^virt_caps' | grep -qw shadow ||
	grep -q 'no shadow paging' /tmp/err || fail "the error does not say why"
n=$(last_tick pv7)
wait_tick_above pv7 $((n + 1)) 30 || fail "PV guest stopped after the refusal"
xl destroy pv7
echo ok
