# timeout: 600
# takes: 154
# xen: shadow
# A PV guest copied live, on a Xen with shadow paging (build-shadow):
# vm-precopy's own rounds (its page tables rewritten as they are read,
# those the guest was changing read again), and through libxl's save,
# whose libxc picks the rounds.  The guest changes 2 x 16 MiB of its
# memory all along and checks it (vmpipe_mem): after a live copy
# restored, and after one piped into vm-recv beside it (libxl's way), it
# ticks on from where it was with its memory whole.
# A copy whose reader goes away leaves it running, and copied again; a
# move that the far side refuses (over ssh) leaves it running (resumed);
# a move by vm-migrate -l to this host keeps its name and UUID.
. ./lib.sh
need_xen_backend vm-precopy
need_xen_backend vm-restore
xl info | grep '^virt_caps' | grep -qw shadow ||
	fail "this Xen has no shadow paging: $(xl info | grep '^virt_caps')"

# mem_ok NAME LINES N: guest NAME says "mem ok" N times after line LINES
# of its console (waited for), and never "mem BAD".
mem_ok() {
	i=0
	while :; do
		tail -n +$(($2 + 1)) "$(console_log "$1")" | tr -d '\r' >/tmp/tail
		grep 'mem BAD' /tmp/tail && fail "$1's memory changed under it"
		[ "$(grep -c '^mem ok' /tmp/tail)" -lt "$3" ] || break
		i=$((i + 1))
		[ "$i" -lt 90 ] || { tail -n 5 /tmp/tail; fail "$1: no mem ok x $3"; }
		sleep 1
	done
	note "$1: $(grep '^mem ok' /tmp/tail | tail -n 1) after line $2"
}
# went_on NAME LAST LINES: NAME ticks on from just after tick LAST (its
# console log's lines after LINES), not from a new boot.
went_on() {
	wait_tick_above "$1" $(($2 + 2)) 60 || {
		tail -n 5 "$(console_log "$1")"; fail "$1 does not tick on from $2"; }
	tail -n +$(($3 + 1)) "$(console_log "$1")" | tr -d '\r' >/tmp/after
	grep -q 'guest up' /tmp/after && fail "$1 booted again"
	first=$(awk '/^tick [0-9]+$/ { print $2; exit }' /tmp/after)
	[ -n "$first" ] && [ "$first" -ge "$2" ] && [ "$first" -le $(($2 + 3)) ] ||
		fail "$1's first tick is '$first', expected just after $2"
}

guest_cfg pvl pv | sed 's/^extra = "\(.*\)"$/extra = "\1 vmpipe_mem=16"/' \
    >/tmp/pvl.cfg
grep -q vmpipe_mem /tmp/pvl.cfg || fail "no vmpipe_mem in the configuration"
rm -f "$(console_log pvl)" "$(console_log pvl2)"
xl create /tmp/pvl.cfg || fail "xl create pvl"
wait_tick_above pvl 2 120 || fail "pvl printed no ticks"
mem_ok pvl 0 1
cpu=$(last_cpuid pvl)

# 0. Through libxl's save an option that steers the rounds is refused:
#    libxc's save picks them.
VMPIPE_XEN_PV_SAVE=libxl vm-precopy -b xen --downtime 100 -o /tmp/pvl.vmi \
    pvl 2>/tmp/err && st=0 || st=$?
cat /tmp/err
[ "$st" -eq 2 ] || fail "--downtime with a PV guest: exit $st, not 2"
grep -q -- '--downtime does not apply' /tmp/err || fail "the refusal does not say why"
n=$(last_tick pvl)
wait_tick_above pvl $((n + 1)) 30 || fail "pvl stopped after the refusal"

# 1. Live into a file: rounds while it runs (steered: vm-precopy's own),
#    then vm-restore.
t0=$(ms)
vm-precopy -b xen --max-rounds 10 -o /tmp/pvl.vmi pvl 2>/tmp/err ||
	{ cat /tmp/err; fail "vm-precopy of a PV guest"; }
t1=$(ms)
before=$(last_tick pvl)
lines=$(console_lines pvl)
# vm-precopy leaves the source suspended, for vm-migrate to settle.
xl list pvl | awk 'NR == 2 { print $5 }' | grep -q s ||
	{ xl list pvl; fail "pvl is not left suspended by vm-precopy"; }
xl destroy pvl
vm-inspect /tmp/pvl.vmi >/tmp/insp || { cat /tmp/insp; fail "vm-inspect"; }
grep -E '^(round|pages|status)|live|type' /tmp/insp
grep -q 'live stream' /tmp/insp || fail "not a live stream"
grep -q 'type pv,' /tmp/insp || fail "not a PV guest's image"
rounds=$(grep -c '^round' /tmp/insp)
[ "$rounds" -ge 2 ] || fail "$rounds rounds: a live copy has 2 or more"
note "live copy in $((t1 - t0)) ms, $rounds rounds, $(stat -c %s /tmp/pvl.vmi) octets"
vm-restore -b xen /tmp/pvl.vmi || fail "vm-restore of the live copy"
went_on pvl "$before" "$lines"
mem_ok pvl "$lines" 2
same_cpu pvl "$cpu" "$lines"
rm -f /tmp/pvl.vmi

# 2. A reader that goes away after 8 MiB: the copy fails, the guest runs
#    on, its memory whole; log-dirty is off again, for a next copy works.
lines=$(console_lines pvl)
vm-precopy -b xen pvl 2>/tmp/err | head -c 8388608 >/dev/null
cat /tmp/err
grep -q . /tmp/err || fail "vm-precopy said nothing of its reader gone"
n=$(last_tick pvl)
wait_tick_above pvl $((n + 2)) 60 || fail "pvl stopped after a failed copy"
mem_ok pvl "$lines" 1

# 3. Live through a pipe into vm-recv, beside it (a new UUID), through
#    libxl's save: the copy goes on from the source's last tick.
lines=$(console_lines pvl)
VMPIPE_XEN_PV_SAVE=libxl vm-precopy -b xen pvl 2>/tmp/err |
    vm-recv --as pvl2 >/tmp/recv.out 2>&1 ||
	{ cat /tmp/err /tmp/recv.out; fail "vm-precopy | vm-recv --as pvl2"; }
cat /tmp/recv.out
at=$(last_tick pvl)
xl destroy pvl
went_on pvl2 "$at" 0
mem_ok pvl2 0 2

# 4. vm-migrate -l to this host over ssh: vm-recv refuses the stream (the
#    source, suspended, holds the UUID), and vm-migrate resumes the
#    source from its suspend: it runs on, its memory whole.
sshd_up
lines=$(console_lines pvl2)
vm-migrate -l -b xen -p $port -i "$d/id" -K "$d/known_hosts" \
    -e 'vm-recv --name pvl3' pvl2 root@127.0.0.1 >/tmp/mig.out 2>&1 && r=0 || r=$?
cat /tmp/mig.out
[ "$r" -eq 1 ] || fail "vm-migrate -l of a PV guest to this host: exit $r, not 1"
grep -q UUID /tmp/mig.out || fail "vm-migrate -l: no word of the UUID"
guest_gone pvl3 || fail "vm-migrate -l left a guest pvl3"
n=$(last_tick pvl2)
wait_tick_above pvl2 $((n + 2)) 60 || fail "pvl2 stopped after the refused move"
mem_ok pvl2 "$lines" 1

sshd_down

# 5. vm-migrate -l to this host, keeping name and UUID as xl does: the
#    copy is built as pvl2--incoming, the source renamed
#    pvl2--migratedaway before the go and destroyed once the copy runs.
#    To a relocation server on loopback (--plain): ssh, 4.'s way, moves
#    2 to 5 MB/s in this dom0 (bench-ssh.sh).
relocation_up
trap relocation_down EXIT
uuid=$(uuid_of pvl2)
old=$(xl domid pvl2)
rm -f "$(console_log pvl2--incoming)"
t0=$(ms)
vm-migrate -l -r -b xen --plain pvl2 127.0.0.1:8002 >/tmp/mig.out 2>&1 ||
	{ cat /tmp/mig.out; xl list; fail "vm-migrate -l pvl2 to this host"; }
note "PV live migration to this host: $(($(ms) - t0)) ms"
cat /tmp/mig.out
# The source's last tick: its own log (xenconsoled's name for it stays
# pvl2 after the rename).
at=$(tr -d '\r' <"$(console_log pvl2)" |
    awk 'BEGIN { n = -1 } /^tick [0-9]+$/ { n = $2 } END { print n }')
moved_here pvl2 "$uuid" "$old"
# xenconsoled logs the copy under the name it was built with.
went_on pvl2--incoming "$at" 0
mem_ok pvl2--incoming 0 2
same_cpu pvl2--incoming "$cpu" 0
xl destroy pvl2
echo ok
