# takes: 68
# vm-restore --as makes a clone beside the original: its own name, UUID
# and MAC address (Xen's 00:16:3e prefix), continuing from the image.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
# A vif needs netback and a bridge for its hotplug script.
modprobe -a bridge xen-netback 2>/dev/null
ip link show xenbr0 >/dev/null 2>&1 ||
	{ ip link add xenbr0 type bridge && ip link set xenbr0 up; } ||
	fail "can't make bridge xenbr0"

guest_cfg cl pvh >/tmp/cl.cfg
echo 'vif = [ "bridge=xenbr0" ]' >>/tmp/cl.cfg
rm -f "$(console_log cl)" "$(console_log cl2)"
xl create /tmp/cl.cfg || fail "xl create cl with a vif"
wait_tick_above cl 2 120 || fail "cl printed no tick 3"
mac() { xl network-list "$1" | awk 'NR == 2 { print $3 }'; }
mac0=$(mac cl)
note "cl: MAC $mac0, UUID $(uuid_of cl)"

vm-save -q --keep -b xen -o /tmp/cl.vmi cl || fail "vm-save --keep"
at=$(last_tick cl)
vm-restore -q --as cl2 /tmp/cl.vmi || fail "vm-restore --as cl2"
xl list cl >/dev/null && xl list cl2 || fail "not both guests run"
mac2=$(mac cl2)
note "cl2: MAC $mac2, UUID $(uuid_of cl2)"
[ -n "$mac2" ] || fail "cl2 has no vif"
[ "$mac2" != "$mac0" ] || fail "the clone has the original's MAC $mac0"
case $mac2 in 00:16:3e:*) ;; *) fail "clone MAC $mac2 lacks Xen's prefix" ;; esac
[ "$(uuid_of cl2)" != "$(uuid_of cl)" ] || fail "the clone has the original's UUID"
n=$(last_tick cl)
wait_tick_above cl $((n + 1)) 60 || fail "the original stopped"
wait_tick_above cl2 $((at + 1)) 60 || fail "the clone does not tick on"
tr -d '\r' <"$(console_log cl2)" | grep -q 'guest up' &&
	fail "the clone booted instead of continuing"
note "cl at $(last_tick cl), cl2 at $(last_tick cl2)"

# A second clone's MAC differs from both.
vm-restore -q --as cl3 /tmp/cl.vmi || fail "vm-restore --as cl3"
mac3=$(mac cl3)
[ "$mac3" != "$mac0" ] && [ "$mac3" != "$mac2" ] ||
	fail "cl3's MAC $mac3 repeats one of $mac0 $mac2"
# Plain restore beside the original is refused: same name and UUID.
vm-restore -q /tmp/cl.vmi 2>/tmp/err && fail "a second cl was made"
cat /tmp/err
grep -q 'already' /tmp/err || fail "the refusal does not say why"
xl destroy cl3
xl destroy cl2
xl destroy cl
rm -f /tmp/cl.vmi
echo ok
