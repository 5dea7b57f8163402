# Side by side with xl, on one PVH guest in one boot: save, restore and a
# live migration to this host, each timed, with the images' sizes.  A
# check of speed, not of correctness (the other tests do that): it fails
# only when one of the steps fails.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
need_xen_backend vm-precopy

ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
row() {
	printf '%-10s %-8s %7s ms %12s\n' "$1" "$2" "$3" "$4" >>/tmp/table
	note "$1 by $2: $3 ms, $4 octets"
}
# size of a file, or the octets a summary in it names, or "-"
size() {
	[ -f "$1" ] || { echo -; return; }
	case $1 in
	*.err) sed -n 's/.* \([0-9][0-9]*\) octets .*/\1/p' "$1" | tail -n 1 ;;
	*) wc -c <"$1" | tr -d ' ' ;;
	esac
}
# run "what" "who" command...: time the command into the table
timed() {
	what=$1 who=$2 file=$3; shift 3
	t0=$(ms)
	"$@" >/tmp/step.out 2>&1 || { cat /tmp/step.out; fail "$who $what: $*"; }
	t1=$(ms)
	sed 's/^/  /' /tmp/step.out | tail -n 3
	row "$what" "$who" $((t1 - t0)) "$(size "$file")"
}
ticks_on() {	# name: wait for the guest to tick on
	n=$(last_tick "$1")
	wait_tick_above "$1" $((n + 1)) 60 || {
		xl list; tail -n 5 "$(console_log "$1")"
		fail "$1 does not tick on from $n"
	}
}

: >/tmp/table
guest_up sbs pvh
wait_tick_above sbs 2 60 || fail "no tick 3"

# Offline save and restore: xl, then ours, on the same guest.
timed save xl /tmp/sbs.xl xl save sbs /tmp/sbs.xl
sleep 3
timed restore xl - xl restore /tmp/sbs.xl
ticks_on sbs
timed save vmpipe /tmp/sbs.vmi vm-save -q -b xen -o /tmp/sbs.vmi sbs
sleep 3
timed restore vmpipe - vm-restore -q -b xen /tmp/sbs.vmi
ticks_on sbs
rm -f /tmp/sbs.xl /tmp/sbs.vmi

# Live migration to this host.  xl's receiver renames its copy once the
# sender has gone; ours restores a clone beside the original, which then
# goes.
timed migrate xl - xl migrate -s '' sbs 'xl migrate-receive'
ticks_on sbs
# vm-recv would refuse the stream here: the original, still running,
# holds its UUID.  So the receiver is vm-restore --as, which vm-recv runs
# in turn on another host.
rm -f /tmp/pc.err
timed migrate vmpipe /tmp/pc.err sh -c 'vm-precopy -b xen sbs 2>/tmp/pc.err |
    vm-restore -q -b xen --as sbs2 && xl destroy sbs; r=$?
    tail -n 2 /tmp/pc.err; exit $r'
ticks_on sbs2
xl destroy sbs2

{
	echo "side by side (PVH guest, 128 MiB, one boot):"
	printf '%-10s %-8s %10s %12s\n' step tool time octets
	cat /tmp/table
} | tee /tmp/sbs.table | sed 's/^/TABLE /'
echo ok
