# timeout: 1800
# bench/xen-side-by-side runs this (not a test: tests/xen/run runs it only
# by name).  The guest as administrators run it (devices-up.inc: two
# vCPUs, 128 of 192 MiB, two disks, a vif), saved and restored, then
# moved live to this host, by xl and by vmpipe in turn, dom0 pinging it
# every 0.2 s: each step's time, the image's octets, and the pings lost
# from the start of the save to the guest's first journal line after the
# restore (or across the migration), its downtime seen from the network.
# The like-for-like steps (save and restore; live with a local receive)
# take three rounds, the first tool alternating, and end with the median
# of each tool and of the rounds' own ratios: one move of this guest
# varies by a third from round to round.  The moves over ssh go once.
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
: >/tmp/devrows
# Each like-for-like step's line is kept, "step tool ms lost", for the
# medians (a file, not a pipe: fail must end this script, not a subshell).
keep() {	# step tool: from the TABLE line in /tmp/row
	cat /tmp/row
	awk -v s="$1" -v t="$2" '{ print s, t, s == "save+rest" ? $4 + $6 : $4,
	    $(NF - 1) }' /tmp/row >>/tmp/devrows
}
off_xl() {
	offline xl /tmp/dev.xl "xl save dev /tmp/dev.xl" \
	    "xl restore /tmp/dev.xl" >/tmp/row
	keep save+rest xl
}
off_vmpipe() {
	offline vmpipe /tmp/dev.vmi "vm-save -q -b xen -o /tmp/dev.vmi dev" \
	    "vm-restore -q -b xen /tmp/dev.vmi" >/tmp/row
	keep save+rest vmpipe
}
# xl's receiver keeps the copy as dev--incoming until the sender is gone,
# then renames it; ours does the same (vmpipe(7), HANDOVER).  xl's
# receive is a local pipe (-s ''); ours, like for like, a relocation
# server on loopback without ssh (--plain).
live_xl() {
	live xl xl migrate -s '' dev 'xl migrate-receive' >/tmp/row
	keep migrate xl
}
live_plain() {
	relocation_up
	sleep 1
	live vmpipe/p vm-migrate -l -r -b xen --plain dev 127.0.0.1:8002 \
	    >/tmp/row
	relocation_down
	keep migrate vmpipe
	tail -n 3 /tmp/step.out
}
r=0
while [ "$r" -lt 3 ]; do
	if [ $((r % 2)) = 0 ]; then
		off_xl; off_vmpipe; live_xl; live_plain
	else
		off_vmpipe; off_xl; live_plain; live_xl
	fi
	r=$((r + 1))
done
# Over ssh (ssh is the narrow part here, bench-ssh.sh), plain and with
# the stream compressed (-z 1, zstd level 1), once each.
live vmpipe vm-migrate -l -b xen -p $port -i "$d/id" -K "$d/known_hosts" \
    -e vm-recv dev root@127.0.0.1
tail -n 3 /tmp/step.out
live vmpipe/z1 vm-migrate -l -z 1 -b xen -p $port -i "$d/id" \
    -K "$d/known_hosts" -e vm-recv dev root@127.0.0.1
tail -n 3 /tmp/step.out
{
	echo "best and median of the three rounds (save+rest: the save's and" \
	    "the restore's time added):"
	printf '%-11s %-9s %11s %11s %11s %11s\n' step tool "best ms" \
	    "median ms" "best lost" "median lost"
	bench_medians /tmp/devrows 2
	echo "vmpipe/xl, round by round (time;pings lost), and their medians:"
	bench_paired /tmp/devrows 2
} | sed 's/^/TABLE /'
echo ok
