# timeout: 600
# takes: 75
# An HVM guest whose QEMU runs restricted (dm_restrict: its own user, a
# chroot, only its domain's privileges) is saved and restored, and runs
# on: its restored QEMU is told to continue through libxl's QMP socket.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
grep -q '^xen-qemuuser-shared:' /etc/passwd ||
	echo 'xen-qemuuser-shared:x:990:990::/:/usr/sbin/nologin' >>/etc/passwd
grep -q '^xen-qemuuser-shared:' /etc/group ||
	echo 'xen-qemuuser-shared:x:990:' >>/etc/group
dm_user() { ps -o user= -p "$(pgrep -f "xen-domid $(xl domid "$1") ")" 2>/dev/null; }

guest_cfg dmr hvm >/tmp/dmr.cfg
echo 'dm_restrict = 1' >>/tmp/dmr.cfg
rm -f "$(console_log dmr)"
xl create /tmp/dmr.cfg || fail "xl create with dm_restrict"
wait_tick_above dmr 2 180 || fail "dmr printed no ticks"
note "QEMU runs as: $(dm_user dmr)"
[ "$(dm_user dmr)" != root ] || fail "QEMU runs as root"
vm-save -q -b xen -o /tmp/dmr.vmi dmr || fail "vm-save"
before=$(last_tick dmr)
vm-restore -q -b xen /tmp/dmr.vmi || fail "vm-restore"
rm -f /tmp/dmr.vmi
wait_tick_above dmr $((before + 3)) 120 || fail "dmr does not run on after the restore"
note "restored QEMU runs as: $(dm_user dmr)"
[ "$(dm_user dmr)" != root ] || fail "the restored QEMU runs as root"
xl destroy dmr
