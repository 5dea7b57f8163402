# timeout: 600
# takes: 87
# A PV guest offline: its save holds a few records in dom0, not the
# guest; vm-save + vm-restore continue its counter (saved by vm-save
# itself, and through libxl's save); a save
# piped into vm-recv --as beside it (an offline migration on one host)
# leaves two guests counting on; xl restores vm-xlconv's output of it and
# vm-restore xl's save; a save whose reader goes away leaves it running;
# a cut image leaves no domain.  (Side by side with xl:
# bench/xen-side-by-side.)
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
guest_up pv5 pv
wait_tick_above pv5 2 60 || fail "no tick 3"

# The save streams libxl's stream as it comes: dom0 holds a few records
# of it, not the guest.  Watched: vm-save's peak resident size and dom0's
# shared memory (where a file in memory would be), against the guest's.
shmem() { awk '/^Shmem:/ { print $2 }' /proc/meminfo; }
kb=$(($(xl list pv5 | awk 'NR == 2 { print $3 }') * 1024))
s0=$(shmem) smax=0 hwm=0
vm-save -q --keep -b xen pv5 >/dev/null 2>/tmp/save.err &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	h=$(awk '/^VmHWM:/ { print $2 }' /proc/$pid/status 2>/dev/null)
	[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
	s=$(($(shmem) - s0))
	[ "$s" -gt "$smax" ] && smax=$s
	sleep 0.1
done
wait "$pid" || { cat /tmp/save.err; fail "vm-save --keep of pv5 to /dev/null"; }
echo "TABLE PV save of a $((kb / 1024)) MiB guest: vm-save peak RSS $((hwm / 1024)) MiB, dom0 shared memory +$((smax / 1024)) MiB"
[ "$hwm" -lt $((kb / 2)) ] || fail "vm-save held $hwm KiB of a $kb KiB guest"
[ "$smax" -lt $((kb / 4)) ] || fail "dom0's shared memory grew by $smax KiB during the save"
n=$(last_tick pv5)
wait_tick_above pv5 $((n + 1)) 60 || fail "pv5 stopped after vm-save --keep"
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

# Offline migration through a pipe, to a clone beside it, saved through
# libxl's save (the way of every live copy of a PV guest, and of a guest
# vm-save can't take itself): its image restores as vm-save's own does.
rm -f "$(console_log pv6)"
VMPIPE_XEN_PV_SAVE=libxl vm-save -b xen --keep pv5 |
    vm-recv --as pv6 >/tmp/recv.out ||
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
xl destroy pv5
rm -f /tmp/pv5.vmi /tmp/cut.vmi
echo ok
