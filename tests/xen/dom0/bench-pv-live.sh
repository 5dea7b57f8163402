# timeout: 1200
# xen: shadow
# bench/xen-side-by-side runs this (not a test: tests/xen/run runs it only
# by name), on the hypervisor with shadow paging (build-shadow): a live
# migration to this host of a PV guest that changes 2 x 16 MiB of its
# memory all along (vmpipe_mem), by xl and by vmpipe in turn, three
# rounds each: the time of the whole move, the octets vmpipe sent and the
# downtime as the guest saw it (its longest gap between two ticks, which
# are a second apart).  It fails only when a step fails or the guest's
# memory check does.
. ./lib.sh
need_xen_backend vm-precopy
need_xen_backend vm-recv

: >/tmp/rows
memcheck() {	# name
	if cat "$(console_log "$1")" "$(console_log "$1--incoming")" 2>/dev/null |
	    grep 'mem BAD'; then
		fail "$1's memory changed under it"
	fi
}
guest_cfg pvb pv | sed 's/^extra = "\(.*\)"$/extra = "\1 vmpipe_mem=16"/' \
    >/tmp/pvb.cfg
rm -f "$(console_log pvb)" "$(console_log pvb2)" "$(console_log pvb--incoming)"
xl create /tmp/pvb.cfg || fail "xl create pvb"
wait_tick_above pvb 4 120 || fail "pvb printed no ticks"
g=pvb
for r in 1 2 3; do
	at=$(last_tick $g)
	t0=$(ms)
	rm -f "$(console_log $g--incoming)"
	xl migrate -s '' $g 'xl migrate-receive' >/tmp/xl.out 2>&1 ||
		{ cat /tmp/xl.out; fail "xl migrate $g"; }
	t1=$(ms)
	wait_tick_above $g $((at + 4)) 60 || fail "$g stopped after xl migrate"
	echo "migrate xl $((t1 - t0)) - $(gap "$(console_log $g--incoming)")" \
	    >>/tmp/rows
	memcheck $g
	[ $g = pvb ] && to=pvb2 || to=pvb
	rm -f "$(console_log $to)"
	at=$(last_tick $g)
	t0=$(ms)
	vm-precopy -b xen $g 2>/tmp/pc.err | vm-recv -q --as $to >/tmp/recv.out ||
		{ cat /tmp/pc.err /tmp/recv.out; fail "vm-precopy $g | vm-recv"; }
	xl destroy $g
	t1=$(ms)
	tail -n 1 /tmp/pc.err
	octets=$(sed -n 's/.*), \([0-9][0-9]*\) octets .*/\1/p' /tmp/pc.err)
	wait_tick_above $to $((at + 4)) 60 || fail "$to stopped after its move"
	echo "migrate vmpipe $((t1 - t0)) ${octets:--} $(gap "$(console_log $to)")" \
	    >>/tmp/rows
	memcheck $to
	rm -f "$(console_log $g)" "$(console_log $g--incoming)"
	g=$to
done
xl destroy $g
{
	echo "side by side, PV guest live to this host (128 MiB, 32 MiB of it" \
	    "rewritten all along; shadow paging; one boot, xl and vmpipe in turn):"
	printf '%-8s %-7s %9s %11s %9s\n' step tool time octets downtime
	awk '{ printf "%-8s %-7s %6d ms %11s %6d ms\n", $1, $2, $3, $4, $5 }' \
	    /tmp/rows
} | sed 's/^/TABLE /'
echo ok
