# timeout: 900
# A guest as administrators run them: two vCPUs, maxmem above memory
# (ballooned), a disk on a file and one on a phy: device, each with ext4
# that the guest writes a journal to every second and reads back from
# the disk (it reports a lost, stale or reordered write), and a vif on a
# bridge, with dom0 pinging it and holding one TCP connection to its echo
# server across every move.  Saved and restored (PVH); checkpointed
# (vm-save --keep: the image carries the CPU policy); live-migrated to
# this same host keeping its name and UUID, as xl does (the copy is
# built as dev--incoming, the source renamed dev--migratedaway before
# the go); then shut down: both file systems check clean.
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
talker= pinger=
# The background talkers hold the test's output open: they go with it.
trap 'kill $talker $pinger 2>/dev/null; sshd_down; rm -f /etc/vmpipe/recv.conf' EXIT

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

# dom0's side of the network: one TCP connection that sends a numbered
# line every 0.2 s to the guest's echo server for the whole test, and a
# ping every 0.2 s around each move.
i=0
{ while [ "$i" -lt 1500 ]; do echo "line $i"; i=$((i + 1)); sleep 0.2; done; } |
    busybox nc 10.99.0.2 7000 >/tmp/echo.out 2>&1 &
talker=$!
sleep 5
[ -s /tmp/echo.out ] || fail "no echo from the guest"
cpu=$(last_cpuid dev)

ping_start() { busybox ping -i 0.2 10.99.0.2 >/tmp/ping.out 2>&1 & pinger=$!; }
ping_stop() {	# what: the loss as a TABLE line
	# SIGINT: busybox ping prints its summary.
	kill -INT "$pinger" 2>/dev/null
	wait "$pinger" 2>/dev/null
	awk -v w="$1" '/packets transmitted/ { printf "TABLE ping across %s: %d of %d lost (%.1f s at 0.2 s each)\n", w, $1 - $4, $1, ($1 - $4) * 0.2 }' /tmp/ping.out
}
# journal_on LOG LINES WHAT: the guest reports a good journal after line
# LINES of LOG.
journal_on() {
	i=0
	until tail -n +$(($2 + 1)) "$1" 2>/dev/null | grep -q '^journal ok'; do
		i=$((i + 1))
		[ "$i" -lt 60 ] || { tail -n 20 "$1"; fail "the journal stopped after $3"; }
		sleep 1
	done
}
# echoed WHAT: the TCP connection carried every line, in order, and goes on.
echoed() {
	n=$(grep -c 'line' /tmp/echo.out)
	sleep 3
	awk '{ if ($2 != NR - 1) exit 1 }' /tmp/echo.out ||
		fail "the TCP connection lost or reordered lines after $1"
	[ "$(grep -c 'line' /tmp/echo.out)" -gt "$n" ] ||
		fail "the TCP connection stopped after $1"
	note "TCP after $1: $(grep -c 'line' /tmp/echo.out) lines echoed, in order"
}

# 1. Saved and restored.
ping_start
lines=$(console_lines dev)
vm-save -q -b xen -o /tmp/dev.vmi dev || fail "vm-save dev"
guest_gone dev || fail "dev still there after vm-save"
vm-restore -q /tmp/dev.vmi || fail "vm-restore dev"
rm -f /tmp/dev.vmi
journal_on "$log" "$lines" "the restore"
same_cpu dev "$cpu" "$lines"
sleep 10
ping_stop "vm-save + vm-restore"
echoed "the restore"
grep 'BAD' "$log" && fail "the guest found a bad journal"

# 2. A checkpoint: the guest goes on; the image carries its CPU policy
#    as libxc's records.
ping_start
lines=$(console_lines dev)
t0=$(ms)
vm-save -q --keep -b xen -o /tmp/dev.vmi dev || fail "vm-save --keep dev"
note "checkpoint of dev: $(($(ms) - t0)) ms, $(stat -c %s /tmp/dev.vmi) octets"
vm-inspect /tmp/dev.vmi >/tmp/inspect.out || { cat /tmp/inspect.out; fail "vm-inspect of the checkpoint"; }
grep '^platform:' /tmp/inspect.out
grep '^platform:.* X86_CPUID_POLICY' /tmp/inspect.out >/dev/null &&
    grep '^platform:.* X86_MSR_POLICY' /tmp/inspect.out >/dev/null ||
	fail "the checkpoint carries no CPUID and MSR policy"
rm -f /tmp/dev.vmi
journal_on "$log" "$lines" "the checkpoint"
sleep 5
ping_stop "vm-save --keep (checkpoint)"
echoed "the checkpoint"

# 3. Live, to this same host, keeping name and UUID: over ssh, by
#    vm-migrate and a plain vm-recv.
sshd_up
uuid=$(xl list -v dev | awk 'NR == 2 { print $7 }')
old=$(xl domid dev)
rm -f "$(console_log dev--incoming)"
ping_start
t0=$(ms)
vm-migrate -l -b xen -p $port -i "$d/id" -K "$d/known_hosts" -e vm-recv \
    dev root@127.0.0.1 >/tmp/mig.out 2>&1 || { cat /tmp/mig.out; xl list; fail "vm-migrate -l dev to this host"; }
note "live migration to this host: $(($(ms) - t0)) ms"
cat /tmp/mig.out
new=$(xl domid dev) || fail "no dev after the migration"
[ "$new" != "$old" ] || fail "dev is still domain $old"
[ "$(xl list -v dev | awk 'NR == 2 { print $7 }')" = "$uuid" ] ||
	fail "dev's UUID changed: $uuid before, $(xl list -v dev | awk 'NR == 2 { print $7 }') after"
guest_gone dev--migratedaway || fail "the source dev--migratedaway was left"
guest_gone dev--incoming || fail "a dev--incoming was left"
ls /run/vmpipe/*.hold 2>/dev/null && fail "a hold was left behind"
# xenconsoled logs the copy under the name it was built with.
log=$(console_log dev--incoming)
journal_on "$log" 0 "the live migration"
same_cpu dev--incoming "$cpu" 0
sleep 5
ping_stop "vm-migrate -l to this host"
echoed "the live migration"
grep 'BAD' "$log" && fail "the guest found a bad journal"
sshd_down

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
