# timeout: 1200
# bench/xen-side-by-side runs this (not a test: tests/xen/run runs it only
# by name).  The guest as administrators run it (devices-up.inc: two
# vCPUs, 128 of 192 MiB, two disks, a vif), saved and restored, then
# moved live to this host, by xl and by vmpipe in turn, dom0 pinging it
# every 0.2 s: each step's time, the image's octets, and the pings lost
# from the start of the save to the guest's first journal line after the
# restore (or across the migration), its downtime seen from the network.
. ./lib.sh
. ./devices-up.inc
sshd_up
size() { [ -f "$1" ] && wc -c <"$1" | tr -d ' ' || echo -; }
ping_on() {
	busybox ping -i 0.2 10.99.0.2 >/tmp/ping.out 2>&1 &
	pinger=$!
	sleep 2
	lines=$(console_lines dev)
	rm -f "$(console_log dev--incoming)"
}
ping_off() {	# what who: wait for the guest's journal, then the pings lost
	journal_after "$lines" "$2 $1"
	sleep 2
	kill -INT "$pinger"; wait "$pinger" 2>/dev/null
	awk '/packets transmitted/ { print $1 - $4 }' /tmp/ping.out
}
step() {	# command...: its time in ms
	t0=$(ms)
	"$@" >/tmp/step.out 2>&1 || { cat /tmp/step.out; fail "$*"; }
	echo $(($(ms) - t0))
}
offline() {	# who file save-command restore-command (each one string)
	who=$1 file=$2
	ping_on
	ts=$(step sh -c "$3")
	oct=$(size "$file")
	tr=$(step sh -c "$4")
	lost=$(ping_off save+restore "$who")
	rm -f "$file"
	printf 'TABLE %-8s %-7s %6d ms %6d ms %11s %5s lost\n' save+rest "$who" \
	    "$ts" "$tr" "$oct" "$lost"
}
live() {	# who command...
	who=$1; shift
	ping_on
	t=$(step "$@")
	lost=$(ping_off migrate "$who")
	printf 'TABLE %-8s %-7s %6d ms %9s %11s %5s lost\n' migrate "$who" "$t" \
	    - "$(sed -n 's/.* \([0-9][0-9]*\) octets .*/\1/p' /tmp/step.out | tail -n 1)" "$lost"
}
echo "TABLE the guest of devices-up.inc (PVH, 2 vCPUs, 128 of 192 MiB, two disks, a vif; pings every 0.2 s):"
printf 'TABLE %-8s %-7s %9s %9s %11s %10s\n' step tool time time2 octets pings
offline xl /tmp/dev.xl "xl save dev /tmp/dev.xl" "xl restore /tmp/dev.xl"
offline vmpipe /tmp/dev.vmi "vm-save -q -b xen -o /tmp/dev.vmi dev" \
    "vm-restore -q -b xen /tmp/dev.vmi"
# xl's receiver keeps the copy as dev--incoming until the sender is gone,
# then renames it; ours does the same (vmpipe(7), HANDOVER).
live xl xl migrate -s '' dev 'xl migrate-receive'
live vmpipe vm-migrate -l -b xen -p $port -i "$d/id" -K "$d/known_hosts" \
    -e vm-recv dev root@127.0.0.1
tail -n 3 /tmp/step.out
# ssh is the narrow part here (bench-ssh.sh): the same over ssh with the
# stream compressed (-z 1, zstd level 1).
who=vmpipe/z1
live "$who" vm-migrate -l -z 1 -b xen -p $port -i "$d/id" -K "$d/known_hosts" \
    -e vm-recv dev root@127.0.0.1
tail -n 3 /tmp/step.out
# xl's receive above is a local pipe (-s ''), ours went through ssh, which
# this emulator's cores pay dearly for: the same move again through a
# relocation server on loopback without ssh (--plain), like for like.
relocation_up
sleep 1
who=vmpipe/p
live "$who" vm-migrate -l -r -b xen --plain dev 127.0.0.1:8002
tail -n 3 /tmp/step.out
relocation_down
echo ok
