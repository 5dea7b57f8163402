# timeout: 400
# takes: 63
# What no save may touch is refused before the guest is paused, with the
# reason, and the guest runs on: here a guest with a vNUMA topology, which
# a stream does not carry (libxl refuses it too).
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-precopy

# HVM: libxl 4.17 refuses PV guests with vNUMA and fails to build PVH
# ones (their ACPI tables).
guest_cfg numa hvm >/tmp/numa.cfg
echo 'vnuma = [ [ "pnode=0", "size=128", "vcpus=0", "vdistances=10" ] ]' \
    >>/tmp/numa.cfg
rm -f "$(console_log numa)"
xl create /tmp/numa.cfg || fail "xl create of a vNUMA guest"
wait_tick_above numa 0 180 || fail "numa printed no ticks"
for prog in vm-save vm-precopy; do
	n=$(last_tick numa)
	"$prog" -b xen -o /tmp/numa.vmi numa 2>/tmp/err && fail "$prog saved a vNUMA guest"
	cat /tmp/err
	grep -qF 'has a vNUMA topology, which a saved stream does not carry' /tmp/err ||
		fail "$prog: the refusal does not say why"
	grep -qF 'the guest was not paused' /tmp/err || fail "$prog does not say it left the guest alone"
	wait_tick_above numa "$n" 60 || fail "numa stopped after $prog refused it"
	[ ! -s /tmp/numa.vmi ] || fail "$prog wrote an image"
done
xl save numa /tmp/numa.xl >/tmp/xl.out 2>&1 && fail "xl saved it (so may we)"
grep -q vNUMA /tmp/xl.out && note "xl refuses it too: $(grep vNUMA /tmp/xl.out)"
xl destroy numa
