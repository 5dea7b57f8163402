# takes: 1
# xl talks to the hypervisor, and dom0 is domain 0.
. ./lib.sh
xl info >/tmp/info || fail "xl info"
cat /tmp/info
grep -q '^xen_major *: 4$' /tmp/info || fail "xen_major is not 4"
grep -q '^xen_minor *: 17$' /tmp/info || fail "xen_minor is not 17"
grep -Eq '^virt_caps *:.*pvh? ' /tmp/info || grep -Eq '^virt_caps *:.*hvm' /tmp/info ||
	fail "virt_caps lacks hvm (needed for PVH guests)"
xl list | awk '$2 == 0 { found = 1 } END { exit !found }' ||
	fail "xl list shows no domain 0"
note "dom0 CPU: $(grep -m1 "^flags" /proc/cpuinfo)"
echo ok
