# timeout: 600
# A PV guest offline: vm-save + vm-restore continue its counter; a save
# piped into vm-recv --as beside it (an offline migration on one host)
# leaves two guests counting on; xl restores vm-xlconv's output of it and
# vm-restore xl's save; a save whose reader goes away leaves it running;
# a cut image leaves no domain.  Last, one round of save and restore by xl
# and by vmpipe, timed.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
guest_up pv5 pv
wait_tick_above pv5 2 60 || fail "no tick 3"
vm-save -b xen -o /tmp/pv5.vmi pv5 || fail "vm-save of a PV guest"
before=$(last_tick pv5)
lines=$(console_lines pv5)
guest_gone pv5 || fail "pv5 still there after vm-save"
vm-inspect /tmp/pv5.vmi | grep -q 'backend xen, type pv,' ||
	{ vm-inspect /tmp/pv5.vmi; fail "the image does not say type pv"; }
vm-restore -b xen /tmp/pv5.vmi || fail "vm-restore of a PV guest"
wait_tick_above pv5 $((before + 2)) 60 || {
	tail -n 5 "$(console_log pv5)"; fail "counter did not pass $before"; }
tail -n +$((lines + 1)) "$(console_log pv5)" | tr -d '\r' >/tmp/after
grep -q 'guest up' /tmp/after && fail "pv5 booted again after vm-restore"
first=$(awk '/^tick [0-9]+$/ { print $2; exit }' /tmp/after)
note "after restore: first tick $first, saved at $before"
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 3)) ] ||
	fail "first tick after restore is '$first', expected just after $before"

# Offline migration through a pipe, to a clone beside it.
rm -f "$(console_log pv6)"
vm-save -b xen --keep pv5 | vm-recv --as pv6 >/tmp/recv.out ||
	{ cat /tmp/recv.out; fail "vm-save --keep | vm-recv --as"; }
at=$(last_tick pv5)
wait_tick_above pv6 $((at + 1)) 60 || fail "pv6 does not count on from $at"
n=$(last_tick pv5)
wait_tick_above pv5 $((n + 1)) 60 || fail "pv5 stopped after vm-save --keep"

# xl restore takes vm-xlconv's output of a PV image, vm-restore xl's save.
vm-save -q -b xen -o /tmp/pv6.vmi pv6 || fail "vm-save pv6"
at=$(last_tick pv6)
vm-xlconv -o /tmp/pv6.xl /tmp/pv6.vmi || fail "vm-xlconv of a PV image"
# dom0's /tmp is memory: keep only the image in use.
rm -f /tmp/pv6.vmi
xl restore /tmp/pv6.xl || fail "xl restore of vm-xlconv's output"
wait_tick_above pv6 $((at + 2)) 60 || fail "pv6 does not count on after xl restore"
xl save pv6 /tmp/pv6.xl >/dev/null 2>&1 || fail "xl save pv6"
at=$(last_tick pv6)
vm-restore /tmp/pv6.xl || fail "vm-restore of xl's save of a PV guest"
wait_tick_above pv6 $((at + 2)) 60 || fail "pv6 does not count on after vm-restore"
xl destroy pv6
rm -f /tmp/pv6.vmi /tmp/pv6.xl

# A save whose reader goes away: the guest runs on.
cut_copy pv5 vm-save

# A cut image: refused, and no domain left.
size=$(wc -c </tmp/pv5.vmi)
head -c $((size / 2)) /tmp/pv5.vmi >/tmp/cut.vmi
vm-restore -b xen --as pv7 /tmp/cut.vmi 2>/tmp/err && fail "a cut image restored"
cat /tmp/err
grep -q ': stream ends after [0-9]* of [0-9]* body octets; no guest was made$' \
    /tmp/err || fail "a cut image: not the message expected"
guest_gone pv7 || fail "a cut image left domain pv7"
# The same guest saved and restored by xl and by vmpipe, timed.
side_by_side pv5 PV
xl destroy pv5
rm -f /tmp/pv5.vmi /tmp/cut.vmi
echo ok
