# timeout: 600
# A guest as administrators run them: two vCPUs, maxmem above memory
# (ballooned), a disk on a file and one on a phy: device, each with ext4
# that the guest writes a journal to every second and reads back from
# the disk (it reports a lost, stale or reordered write), and a vif on a
# bridge, with dom0 pinging it and holding a TCP connection to its echo
# server across every move.  Saved and restored (PVH), then shut down:
# both file systems check clean.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore

modprobe -a loop xen-blkback 2>/dev/null
bridge_up xenbr0 10.99.0.1/24
mkdir -p /srv/xen
rm -f /srv/xen/dev-a.img /srv/xen/dev-b.img
truncate -s 48M /srv/xen/dev-a.img /srv/xen/dev-b.img
mkfs.ext4 -q -F /srv/xen/dev-a.img || fail "mkfs a"
mkfs.ext4 -q -F /srv/xen/dev-b.img || fail "mkfs b"
loop=$(losetup -f --show /srv/xen/dev-b.img) || fail "losetup"
# This host's policy admits the guest's disks (vmpipe(7)): a prefix is a
# directory, the loop device's here.
mkdir -p /etc/vmpipe
printf 'disk-prefix /srv/xen\ndisk-prefix %s\nbridge xenbr0\n' \
    "$(dirname "$loop")" >/etc/vmpipe/recv.conf
trap 'rm -f /etc/vmpipe/recv.conf' EXIT

guest_cfg dev pvh | sed -e 's/^vcpus = .*/vcpus = 2/' \
    -e 's/^extra = "\(.*\)"/extra = "\1 vmpipe_disks=2 vmpipe_ip=10.99.0.2"/' \
    >/tmp/dev.cfg
cat >>/tmp/dev.cfg <<CFG
maxmem = 192
disk = [ "/srv/xen/dev-a.img,raw,xvda,w", "phy:$loop,xvdb,w" ]
vif = [ "bridge=xenbr0,mac=00:16:3e:00:99:02" ]
CFG
rm -f "$(console_log dev)"
xl create /tmp/dev.cfg || fail "xl create dev"
log=$(console_log dev)
i=0
until grep -q '^journal ok' "$log" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 120 ] || { tail -n 20 "$log"; fail "dev's journal never ran"; }
	sleep 1
done
grep -q 'net up 10.99.0.2' "$log" || { tail -n 20 "$log"; fail "dev's network is not up"; }
note "dev runs: $(xl list dev | tail -n 1)"

# dom0's side of the network: a ping every 0.2 s, and one TCP connection
# that sends a numbered line every 0.2 s to the guest's echo server.
busybox ping -i 0.2 10.99.0.2 >/tmp/ping.out 2>&1 &
pinger=$!
i=0
{ while [ "$i" -lt 400 ]; do echo "line $i"; i=$((i + 1)); sleep 0.2; done; } |
    busybox nc 10.99.0.2 7000 >/tmp/echo.out 2>&1 &
talker=$!
sleep 5
[ -s /tmp/echo.out ] || fail "no echo from the guest"

lines=$(console_lines dev)
vm-save -q -b xen -o /tmp/dev.vmi dev || fail "vm-save dev"
guest_gone dev || fail "dev still there after vm-save"
vm-restore -q /tmp/dev.vmi || fail "vm-restore dev"
rm -f /tmp/dev.vmi
i=0
until tail -n +$((lines + 1)) "$log" | grep -q '^journal ok'; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || { tail -n 20 "$log"; fail "the journal stopped after the restore"; }
	sleep 1
done
sleep 20
# SIGINT: busybox ping prints its summary.
kill -INT "$pinger" 2>/dev/null
wait "$pinger" 2>/dev/null
sent=$(grep -c 'line' /tmp/echo.out)
note "ping: $(tail -n 2 /tmp/ping.out | tr '\n' ' ')"
awk '/packets transmitted/ { printf "TABLE ping across vm-save + vm-restore: %d of %d lost (%.1f s at 0.2 s each)\n", $1 - $4, $1, ($1 - $4) * 0.2 }' /tmp/ping.out
note "TCP: $sent lines echoed so far, in order: $(awk '{ if ($2 != NR - 1) { print "no"; exit } } END { if (NR) print "yes" }' /tmp/echo.out)"
awk '{ if ($2 != NR - 1) exit 1 }' /tmp/echo.out || fail "the TCP connection lost or reordered lines"
grep 'BAD' "$log" && fail "the guest found a bad journal"

# A clean shutdown unmounts; both file systems check clean.
xl shutdown dev
i=0
until grep -q '^unmounted' "$log"; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || fail "dev did not unmount"
	sleep 1
done
kill "$talker" 2>/dev/null
# Its power-off ends it (the restore's monitor carries out on_poweroff).
wait_gone dev 60 || xl destroy dev
e2fsck -fn /srv/xen/dev-a.img >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck of the file disk"; }
e2fsck -fn "$loop" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck of the phy: disk"; }
note "e2fsck: both clean; journal lines: $(debugfs -R 'cat /journal' /srv/xen/dev-a.img 2>/dev/null | wc -l)"
losetup -d "$loop"
rm -f /srv/xen/dev-a.img /srv/xen/dev-b.img
