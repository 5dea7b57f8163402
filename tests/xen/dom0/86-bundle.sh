# takes: 142
# A Xen guest's disks travel with it in a bundle (vm-bundle(5)): a
# checkpoint (vm-save --bundle --keep) carries the octets of the instant
# of a file disk (held by a copy) and of an LVM logical volume (held by a
# snapshot volume, removed after); received through vm-recv by a "second
# host" (another directory, the disk-dir of its own recv.conf) the clone
# runs on with its configuration naming the disks there; a cut bundle
# leaves nothing; a restore never puts a file in a volume's place.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-recv
ndom() { xl list | tail -n +2 | wc -l; }
# A file disk needs a loop device and blkback.
modprobe -a loop xen-blkback 2>/dev/null
mkdir -p /srv/xen/a /srv/xen/b /etc/vmpipe
rm -f /srv/xen/a/* /srv/xen/b/*
# 16 MiB of data in a 64 MiB file: holes kept, data carried.
truncate -s 64M /srv/xen/a/bd.img
head -c 16M /dev/urandom | dd of=/srv/xen/a/bd.img bs=1M seek=8 conv=notrunc 2>/dev/null
cp --sparse=always /srv/xen/a/bd.img /tmp/bd.before
printf 'disk-prefix /srv/xen/a/\ndisk-prefix /dev/vmpt/\n' >/etc/vmpipe/recv.conf
# A volume group on a loop device, LVM without udev (none runs here).
modprobe -a dm-mod dm-snapshot 2>/dev/null
mkdir -p /tmp/lvm
printf '%s\n' 'devices { obtain_device_list_from_udev = 0 }' \
    'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }' \
    >/tmp/lvm/lvm.conf
export LVM_SYSTEM_DIR=/tmp/lvm
truncate -s 96M /srv/xen/a/pv.img
pv=$(losetup -f --show /srv/xen/a/pv.img) || fail "losetup"
trap 'rm -f /etc/vmpipe/recv.conf; vgremove -q -f vmpt >/dev/null 2>&1; losetup -d "$pv"' EXIT
pvcreate -q "$pv" && vgcreate -q vmpt "$pv" && lvcreate -q -L 24M -n lv0 vmpt ||
	fail "can't make volume vmpt/lv0"
head -c 4M /dev/urandom | dd of=/dev/vmpt/lv0 bs=1M seek=2 conv=notrunc 2>/dev/null
cp /dev/vmpt/lv0 /tmp/lv0.before

guest_cfg bd pvh >/tmp/bd.cfg
echo 'disk = [ "format=raw, vdev=xvda, access=rw, target=/srv/xen/a/bd.img", "phy:/dev/vmpt/lv0,xvdb,w" ]' >>/tmp/bd.cfg
rm -f "$(console_log bd)" "$(console_log bd2)"
xl create /tmp/bd.cfg || fail "xl create bd with a disk"
wait_tick_above bd 2 120 || fail "bd printed no tick 3"

# The checkpoint: the disk member is the file's octets.
vm-save --bundle --keep -b xen -o /tmp/bd.tar bd 2>/tmp/err || {
	cat /tmp/err; fail "vm-save --bundle --keep"; }
cat /tmp/err
grep -q "disk xvda: /srv/xen/a/bd.img, 67108864 octets, held by" /tmp/err ||
	fail "vm-save does not say how it held xvda"
vm-inspect -q /tmp/bd.tar || fail "vm-inspect refuses the bundle"
grep -q "disk xvdb: /dev/vmpt/lv0, 25165824 octets, held by lvm snapshot in" /tmp/err ||
	fail "vm-save does not say it held xvdb by an lvm snapshot"
tar tf /tmp/bd.tar | grep -qx disk/xvda || fail "no disk/xvda member"
tar xOf /tmp/bd.tar disk/xvda | cmp - /tmp/bd.before ||
	fail "disk/xvda differs from the disk"
tar xOf /tmp/bd.tar disk/xvdb | cmp - /tmp/lv0.before ||
	fail "disk/xvdb differs from the volume"
[ "$(lvs --noheadings -o lv_name vmpt | wc -l)" -eq 1 ] ||
	{ lvs vmpt; fail "the snapshot volume was left"; }
# Restored in place, a volume is never replaced by a file.
vm-restore -q --as bd4 --replace-disks /tmp/bd.tar 2>/tmp/err &&
	fail "a bundle's disk was put over a volume"
grep -q 'disk xvd.: "/dev/vmpt/lv0": expected a file or nothing there, found a device' /tmp/err ||
	{ cat /tmp/err; fail "the refusal does not say why"; }
[ -b "$(readlink -f /dev/vmpt/lv0)" ] || fail "the volume's node is gone"
xl list bd >/dev/null || fail "bd does not run on after --keep"

# The "second host": its own directory and policy.
printf 'disk-prefix /srv/xen/b/\ndisk-dir /srv/xen/b\n' >/tmp/rb.conf
at=$(last_tick bd)
VMPIPE_RECV_CONF=/tmp/rb.conf vm-recv -q --as bd2 </tmp/bd.tar >/tmp/out ||
	{ cat /tmp/out; fail "vm-recv --as bd2 of the bundle"; }
cat /tmp/out
grep -q '^vmpipe-recv: running bd2 ' /tmp/out || fail "no running line"
cmp /srv/xen/b/bd.img /tmp/bd.before || fail "the disk placed at b differs"
cmp /srv/xen/b/lv0 /tmp/lv0.before || fail "the volume placed at b differs"
xl list -l bd2 | grep -q '"pdev_path": "/srv/xen/b/lv0"' ||
	fail "bd2's configuration does not name its second disk at b"
xl list -l bd2 | grep -q '"pdev_path": "/srv/xen/b/bd.img"' ||
	fail "bd2's configuration does not name its disk at b"
xl list -l bd | grep -q '"pdev_path": "/srv/xen/a/bd.img"' ||
	fail "bd's configuration changed"
wait_tick_above bd2 $((at + 1)) 60 || fail "bd2 does not tick on"
tr -d '\r' <"$(console_log bd2)" | grep -q 'guest up' &&
	fail "bd2 booted instead of continuing"
xl destroy bd2
rm -f /srv/xen/b/bd.img /srv/xen/b/lv0

# A bundle cut inside its disk: refused, no domain, no file at b.
before=$(ndom)
size=$(stat -c %s /tmp/bd.tar)
head -c $((size - 4 * 1024 * 1024)) /tmp/bd.tar |
	VMPIPE_RECV_CONF=/tmp/rb.conf vm-recv -q --as bd3 >/tmp/out &&
	fail "vm-recv took a cut bundle"
cat /tmp/out
grep -q '^vmpipe-recv: error: ' /tmp/out || fail "no error line"
[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind"
[ -z "$(ls -A /srv/xen/b)" ] || fail "the cut bundle left a disk at b"

# Without a disk-dir the receive is refused before anything is made.
printf 'disk-prefix /srv/xen/b/\n' >/tmp/rb.conf
VMPIPE_RECV_CONF=/tmp/rb.conf vm-recv -q --as bd3 </tmp/bd.tar >/tmp/out &&
	fail "a host without disk-dir took the disks"
grep -q 'refused: guest bd brings 2 disks, and this host takes none' /tmp/out ||
	{ cat /tmp/out; fail "the refusal does not say why"; }
[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind"

xl destroy bd
rm -f /tmp/bd.tar /tmp/bd.before /tmp/lv0.before /srv/xen/a/bd.img
echo ok
