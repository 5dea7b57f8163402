# timeout: 400
# takes: 77
# A restored guest is watched as xl watches the guests it makes: it
# reboots into a new domain (on_reboot "restart"), goes at a power-off
# (on_poweroff "destroy"), stays to be looked at after a crash (on_crash
# "preserve", the test guests' setting).  The shutdowns come from the
# guest's kernel, asked by xl sysrq.
. ./lib.sh
need_xen_backend vm-restore

mon_log() { echo "/var/log/xen/vmpipe-$1.log"; }
# boots NAME: how many times guest NAME's console says it came up.
boots() { tr -d '\r' <"$(console_log "$1")" | grep -c 'guest up'; }

# xen_legacy_crash: the guest's kernel tells Xen of a panic at once, as
# a crash.
guest_cfg mon pvh |
    sed 's/^extra = "\(.*\)"/extra = "\1 xen_legacy_crash"/' >/tmp/mon.cfg
rm -f "$(console_log mon)"
xl create /tmp/mon.cfg || fail "xl create mon"
wait_tick_above mon 0 120 || fail "mon printed no ticks"
vm-save -q -b xen -o /tmp/mon.vmi mon || fail "vm-save mon"
rm -f "$(mon_log mon)"
vm-restore -q /tmp/mon.vmi || fail "vm-restore mon"
rm -f /tmp/mon.vmi
n=$(last_tick mon)
wait_tick_above mon "$n" 60 || fail "mon does not run after the restore"
id=$(xl domid mon)
b=$(boots mon)

# Reboot: a new domain, booted afresh, under the same name and UUID.
uuid=$(xl list -v mon | awk 'NR == 2 { print $3 }')
xl sysrq mon b || fail "xl sysrq b"
i=0
while [ "$(xl domid mon 2>/dev/null)" = "$id" ] || ! xl domid mon >/dev/null 2>&1; do
	i=$((i + 1)); [ "$i" -lt 60 ] || { cat "$(mon_log mon)"; fail "mon was not restarted"; }
	sleep 1
done
note "rebooted: domain $id -> $(xl domid mon)"
i=0
until [ "$(boots mon)" -gt "$b" ]; do
	i=$((i + 1)); [ "$i" -lt 120 ] || fail "mon did not boot again"
	sleep 1
done
[ "$(xl list -v mon | awk 'NR == 2 { print $3 }')" = "$uuid" ] ||
	fail "the restarted guest has another UUID"
grep -q 'runs again as domain' "$(mon_log mon)" || { cat "$(mon_log mon)"; fail "no log of the restart"; }
cat "$(mon_log mon)"

# The monitor follows it: a crash now is preserved, as configured.
wait_tick_above mon 1 120 || fail "the rebooted mon does not tick"
xl sysrq mon c
i=0
until xl list mon 2>/dev/null | awk 'NR == 2 { exit $5 !~ /c/ }'; do
	i=$((i + 1)); [ "$i" -lt 60 ] || { xl list; fail "mon did not crash"; }
	sleep 1
done
sleep 3
xl list mon >/dev/null 2>&1 || fail "a crashed guest was not preserved"
grep -q 'crash; preserve' "$(mon_log mon)" || { cat "$(mon_log mon)"; fail "no log of the crash"; }
xl destroy mon

# A power-off ends the guest (the restore of an xl save file is watched
# too).  PV: its kernel powers off through Xen (a PVH one looks for ACPI).
guest_up off pv
xl save off /tmp/off.xl >/dev/null 2>&1 || fail "xl save off"
vm-restore -q /tmp/off.xl || fail "vm-restore of an xl save file"
rm -f /tmp/off.xl
n=$(last_tick off)
wait_tick_above off "$n" 60 || fail "off does not run after the restore"
xl sysrq off o
wait_gone off 60 || { cat "$(mon_log off)"; fail "off was not destroyed at its power-off"; }
grep -q 'poweroff; destroy' "$(mon_log off)" || { cat "$(mon_log off)"; fail "no log of the power-off"; }
sleep 2
pgrep -x vmpipe-monitor >/dev/null && { ps ax; fail "a monitor outlived its guest"; }
true
