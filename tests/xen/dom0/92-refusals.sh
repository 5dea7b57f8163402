# timeout: 400
# takes: 8
# What no save may touch is refused before the guest is paused, with the
# reason, and the guest is left as it was: here a guest with a vNUMA
# topology, which a stream does not carry (libxl refuses it too).  The
# refusal asks the hypervisor, not the guest: the guest is made paused
# (xl create -p; its boot would take a minute and a half here), must be
# the same domain and still paused after each refusal (not resumed,
# suspended or destroyed by it), and then runs when unpaused.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-precopy

# HVM: libxl 4.17 refuses PV guests with vNUMA and fails to build PVH
# ones (their ACPI tables).
guest_cfg numa hvm >/tmp/numa.cfg
echo 'vnuma = [ [ "pnode=0", "size=128", "vcpus=0", "vdistances=10" ] ]' \
    >>/tmp/numa.cfg
xl create -p /tmp/numa.cfg || fail "xl create -p of a vNUMA guest"
id=$(xl domid numa)
state() { xl list numa | awk 'NR == 2 { print $5 }'; }
st0=$(state)
note "numa made paused: domain $id, state $st0"
# as_it_was WHAT: numa is still domain $id, in the state it was made in.
as_it_was() {
	[ "$(xl domid numa 2>/dev/null)" = "$id" ] || fail "$1: numa is not domain $id any more"
	[ "$(state)" = "$st0" ] || fail "$1: numa is '$(state)', not '$st0' as it was"
}
for prog in vm-save vm-precopy; do
	"$prog" -b xen -o /tmp/numa.vmi numa 2>/tmp/err && fail "$prog saved a vNUMA guest"
	cat /tmp/err
	grep -qF 'has a vNUMA topology, which a saved stream does not carry' /tmp/err ||
		fail "$prog: the refusal does not say why"
	grep -qF 'the guest was not paused' /tmp/err || fail "$prog does not say it left the guest alone"
	as_it_was "$prog"
	[ ! -s /tmp/numa.vmi ] || fail "$prog wrote an image"
done
xl save numa /tmp/numa.xl >/tmp/xl.out 2>&1 && fail "xl saved it (so may we)"
grep -q vNUMA /tmp/xl.out && note "xl refuses it too: $(grep vNUMA /tmp/xl.out)"
as_it_was "xl save"
xl unpause numa || fail "xl unpause numa"
st=$(state)
note "unpaused: state $st"
case $st in *[pscd]*) fail "numa is '$st' when unpaused, not running" ;; esac
xl destroy numa
