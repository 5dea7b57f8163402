# timeout: 900
# takes: 166
# An HVM guest (QEMU's emulated devices beside it): vm-save + vm-restore,
# a live vm-precopy | vm-recv --as beside it, and xl's restore of
# vm-xlconv's output and vm-restore of xl's save, each time continuing its
# counter with a device model of its own; a live copy whose reader gives
# up leaves it running; the last two with a restricted device model
# (dm_restrict), and vm-save + vm-restore of it.  (Side by side with xl:
# bench/xen-side-by-side.)
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
need_xen_backend vm-precopy
dm_of() { pgrep -f "xen-qemu-system-i386 -xen-domid $(xl domid "$1") " >/dev/null; }
# continues NAME BEFORE LINES: guest NAME ticks past BEFORE, never from 0
continues() {
	wait_tick_above "$1" $(($2 + 2)) 120 || {
		tail -n 5 "$(console_log "$1")"
		fail "$1's counter did not pass $2"; }
	tail -n +$(($3 + 1)) "$(console_log "$1")" | tr -d '\r' >/tmp/after
	grep -q 'guest up' /tmp/after && fail "$1 booted again"
	first=$(awk '/^tick [0-9]+$/ { print $2; exit }' /tmp/after)
	note "$1: first tick $first after $2"
	[ -n "$first" ] && [ "$first" -ge "$2" ] && [ "$first" -le $(($2 + 5)) ] ||
		fail "$1's first tick is '$first', expected just after $2"
}

guest_up hvm5 hvm
wait_tick_above hvm5 2 60 || fail "no tick 3"
dm_of hvm5 || fail "no QEMU for hvm5"
cpu=$(last_cpuid hvm5)

# Offline.
vm-save -b xen -o /tmp/hvm5.vmi hvm5 || fail "vm-save of an HVM guest"
before=$(last_tick hvm5)
lines=$(console_lines hvm5)
guest_gone hvm5 || fail "hvm5 still there after vm-save"
[ ! -e /var/lib/xen/qemu-save.* ] 2>/dev/null || ls /var/lib/xen
vm-inspect /tmp/hvm5.vmi | grep -q 'backend xen, type hvm' ||
	{ vm-inspect /tmp/hvm5.vmi; fail "the image does not say type hvm"; }
vm-restore -b xen /tmp/hvm5.vmi || fail "vm-restore of an HVM guest"
# dom0's /tmp is memory: keep only the image in use.
rm -f /tmp/hvm5.vmi
dm_of hvm5 || fail "no QEMU for the restored hvm5"
continues hvm5 "$before" "$lines"
same_cpu hvm5 "$cpu" "$lines"

# A live copy whose reader goes away: the guest and its QEMU run on.
cut_copy hvm5 vm-precopy
dm_of hvm5 || fail "hvm5's QEMU gone after a failed live copy"

# Live to this host (vm-recv refuses a guest whose UUID runs here; --as
# gives the copy its own).
rm -f "$(console_log hvm6)"
vm-precopy -b xen hvm5 2>/tmp/pc.err | vm-recv --as hvm6 >/tmp/recv.out ||
	{ cat /tmp/pc.err /tmp/recv.out; fail "vm-precopy | vm-recv --as"; }
at=$(last_tick hvm5)
tail -n 3 /tmp/pc.err
grep -q 'running hvm6' /tmp/recv.out || { cat /tmp/recv.out; fail "no ack"; }
xl destroy hvm5
dm_of hvm6 || fail "no QEMU for hvm6"
continues hvm6 "$at" 0

# From here on the device model is restricted (dm_restrict: QEMU as its
# own user, in a chroot, with only its domain's privileges; xl restore is
# given a configuration that asks for it): a restore tells it to
# continue through libxl's QMP socket, and it runs as that user each
# time.
grep -q '^xen-qemuuser-shared:' /etc/passwd ||
	echo 'xen-qemuuser-shared:x:990:990::/:/usr/sbin/nologin' >>/etc/passwd
grep -q '^xen-qemuuser-shared:' /etc/group ||
	echo 'xen-qemuuser-shared:x:990:' >>/etc/group
restricted() {	# name what
	u=$(ps -o user= -p "$(pgrep -f "xen-domid $(xl domid "$1") ")" 2>/dev/null)
	note "$2: QEMU runs as ${u:-nobody found}"
	[ -n "$u" ] && [ "$u" != root ] || fail "$2: the restricted QEMU runs as '$u'"
}
guest_cfg hvm6 hvm >/tmp/hvm6r.cfg
echo 'dm_restrict = 1' >>/tmp/hvm6r.cfg

# xl restore takes vm-xlconv's output of an HVM image ...
vm-save -q -b xen -o /tmp/hvm6.vmi hvm6 || fail "vm-save hvm6"
before=$(last_tick hvm6)
lines=$(console_lines hvm6)
vm-xlconv -o /tmp/hvm6.xl /tmp/hvm6.vmi || fail "vm-xlconv of an HVM image"
rm -f /tmp/hvm6.vmi
xl restore /tmp/hvm6r.cfg /tmp/hvm6.xl || fail "xl restore of vm-xlconv's output"
dm_of hvm6 || fail "no QEMU for hvm6 after xl restore"
continues hvm6 "$before" "$lines"
restricted hvm6 "xl restore"
# vm-xlconv wrote the image's CPU policy for libxc.
same_cpu hvm6 "$cpu" "$lines"
# ... and vm-restore takes xl's save of it.
xl save hvm6 /tmp/hvm6.xl >/dev/null 2>&1 || fail "xl save hvm6"
before=$(last_tick hvm6)
lines=$(console_lines hvm6)
vm-restore /tmp/hvm6.xl || fail "vm-restore of xl's save of an HVM guest"
rm -f /tmp/hvm6.xl
continues hvm6 "$before" "$lines"
restricted hvm6 "vm-restore of xl's save"
# ... and vm-save and vm-restore of it.
vm-save -q -b xen -o /tmp/hvm6.vmi hvm6 || fail "vm-save with dm_restrict"
before=$(last_tick hvm6)
lines=$(console_lines hvm6)
vm-restore -q -b xen /tmp/hvm6.vmi || fail "vm-restore with dm_restrict"
continues hvm6 "$before" "$lines"
restricted hvm6 "vm-save and vm-restore"
xl destroy hvm6
rm -f /tmp/hvm5.vmi /tmp/hvm6.vmi /tmp/hvm6.xl
echo ok
