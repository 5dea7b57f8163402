# timeout: 600
# takes: 240
# A checkpoint of memory and disk at one instant (vm-save --bundle --keep)
# of a guest with ext4 on a file disk, which it journals to every second,
# reading the last line back from the disk (caches dropped) against what
# its memory says it wrote: restored after the guest wrote on, over the
# disk that went on, its journal goes on in order and e2fsck finds the
# file system clean after a shutdown.  (A checkpoint of memory alone
# restored the same way is not caught by this guest: its journal stays in
# one block and the guest's cached inode hides the lines that went on.
# The KVM test guest, which reads raw blocks, catches it: 24-disk.bats.)
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
modprobe -a loop xen-blkback 2>/dev/null
mkdir -p /srv/xen /etc/vmpipe
rm -f /srv/xen/ck.img
truncate -s 48M /srv/xen/ck.img
mkfs.ext4 -q -F /srv/xen/ck.img || fail "mkfs"
printf 'disk-prefix /srv/xen/\n' >/etc/vmpipe/recv.conf
trap 'rm -f /etc/vmpipe/recv.conf' EXIT
log=$(console_log ck)
# after LINES PATTERN WHAT [SECONDS]: PATTERN in the log after line LINES.
after() {
	i=0
	until tail -n +$(($1 + 1)) "$log" 2>/dev/null | grep -q "$2"; do
		i=$((i + 1))
		[ "$i" -lt "${4:-90}" ] || { tail -n 20 "$log"; fail "$3"; }
		sleep 1
	done
}

guest_cfg ck pvh | sed -e 's/^extra = "\(.*\)"/extra = "\1 vmpipe_disks=1"/' >/tmp/ck.cfg
echo 'disk = [ "/srv/xen/ck.img,raw,xvda,w" ]' >>/tmp/ck.cfg
rm -f "$log"
xl create /tmp/ck.cfg || fail "xl create ck"
after 0 '^journal ok' "ck's journal never ran" 120

vm-save --bundle --keep -b xen -o /tmp/ck.tar ck 2>/tmp/err ||
	{ cat /tmp/err; fail "vm-save --bundle --keep"; }
cat /tmp/err
# The guest writes on past it.
n=$(console_lines ck)
after "$n" '^journal ok' "the journal stopped after the checkpoints"
sleep 5
xl destroy ck

# The bundle over the disk that went on: the journal goes on in order.
n=$(console_lines ck)
vm-restore -q --replace-disks /tmp/ck.tar || fail "vm-restore of the bundle"
after "$n" '^journal ok' "the journal stopped after the bundle's restore"
sleep 5
tail -n +$((n + 1)) "$log" | grep BAD && fail "the guest found its journal BAD after the bundle's restore"
note "restored from the bundle: $(tail -n +$((n + 1)) "$log" | grep -c '^journal ok') journal checks ok"
# A clean shutdown unmounts; the file system checks clean.
xl shutdown ck
after "$n" '^unmounted' "ck did not unmount" 60
wait_gone ck 60 || xl destroy ck
e2fsck -fn /srv/xen/ck.img >/tmp/fsck.out 2>&1 ||
	{ cat /tmp/fsck.out; fail "e2fsck after the bundle's restore"; }
note "e2fsck: clean"

rm -f /tmp/ck.tar /srv/xen/ck.img
echo ok
