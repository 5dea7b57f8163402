# timeout: 2400
# bench/xen-side-by-side runs this (not a test: tests/xen/run runs it only
# by name).  Side by side with xl, in one boot: save and restore of a
# PVH, an HVM and a PV guest, and a live migration to this host of the
# PVH guest, each timed, with the images' sizes, xl and vmpipe taking
# turns over five rounds (one timing under the emulator varies by up
# to half from run to run, and three rounds left a row's median a third
# off).  The table gives the best and the median of each step, and the
# median of the rounds' own ratios (vmpipe's time over xl's in the same
# round), which a boot's drift moves least; the live moves alternate
# which tool goes first.
# (bench-devices.sh: the guest as administrators run it.)
# It fails only when a step fails.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
need_xen_backend vm-precopy
rounds=5

# size of a file, or the octets a summary in it names, or "-"
size() {
	[ -f "$1" ] || { echo -; return; }
	case $1 in
	*.err) sed -n 's/.* \([0-9][0-9]*\) octets .*/\1/p' "$1" | tail -n 1 ;;
	*) wc -c <"$1" | tr -d ' ' ;;
	esac
}
# timed what who file command...: time the command, a row in /tmp/rows
timed() {
	what=$1 who=$2 file=$3; shift 3
	t0=$(ms)
	"$@" >/tmp/step.out 2>&1 || { cat /tmp/step.out; fail "$who $what: $*"; }
	t1=$(ms)
	sed 's/^/  /' /tmp/step.out | tail -n 3
	echo "$what $who $((t1 - t0)) $(size "$file")" >>/tmp/rows
	note "$what by $who: $((t1 - t0)) ms, $(size "$file") octets"
}
ticks_on() {	# name: wait for the guest to tick on
	n=$(last_tick "$1")
	wait_tick_above "$1" $((n + 1)) 60 || {
		xl list; tail -n 5 "$(console_log "$1")"
		fail "$1 does not tick on from $n"
	}
}

: >/tmp/rows
guest_up sbs pvh
wait_tick_above sbs 2 60 || fail "no tick 3"

# offline NAME TYPE: save and restore, xl's and ours in turn on the same
# guest, $rounds rounds.  The pause lets Xen scrub the memory the saved
# guest gave back.
offline() {	# name type
	r=0
	while [ "$r" -lt "$rounds" ]; do
		timed "$2-save" xl /tmp/sbs.xl xl save "$1" /tmp/sbs.xl
		sleep 3
		timed "$2-restore" xl - xl restore /tmp/sbs.xl
		ticks_on "$1"
		timed "$2-save" vmpipe /tmp/sbs.vmi vm-save -q -b xen -o /tmp/sbs.vmi "$1"
		sleep 3
		timed "$2-restore" vmpipe - vm-restore -q -b xen /tmp/sbs.vmi
		ticks_on "$1"
		rm -f /tmp/sbs.xl /tmp/sbs.vmi
		r=$((r + 1))
	done
}
offline sbs pvh

# Live migration to this host.  xl's receiver renames its copy once the
# sender has gone.  vm-recv would refuse our stream here, the original
# still running with its UUID, so it restores a clone (--as) and the
# guest changes name each time.  Each move starts 3 s after the last, as
# in the offline rounds, and the first of a round alternates: the early
# moves of a boot ran slower, whichever tool made them (bench-pv-live.sh).
g=sbs
live_xl() {
	sleep 3
	timed pvh-live xl - xl migrate -s '' $g 'xl migrate-receive'
	ticks_on $g
}
live_vmpipe() {
	[ $g = sbs ] && to=sbs2 || to=sbs
	rm -f /tmp/pc.err
	sleep 3
	timed pvh-live vmpipe /tmp/pc.err sh -c "vm-precopy -b xen $g 2>/tmp/pc.err |
	    vm-recv -q --as $to >/tmp/recv.out && xl destroy $g; r=\$?
	    tail -n 2 /tmp/pc.err; exit \$r"
	g=$to
	ticks_on $g
}
r=0
while [ "$r" -lt "$rounds" ]; do
	if [ $((r % 2)) = 0 ]; then
		live_xl
		live_vmpipe
	else
		live_vmpipe
		live_xl
	fi
	r=$((r + 1))
done
xl destroy $g

# The same rounds of the other types.
guest_up hvm6 hvm
wait_tick_above hvm6 2 90 || fail "no tick 3 of hvm6"
offline hvm6 hvm
xl destroy hvm6
guest_up pv5 pv
wait_tick_above pv5 2 90 || fail "no tick 3 of pv5"
offline pv5 pv
xl destroy pv5

# Best and median of each step's times; the octets of its last run.
{
	echo "side by side (128 MiB guests, one boot; best and median of" \
	    "$rounds rounds, xl and vmpipe in turn):"
	printf '%-11s %-9s %11s %11s %11s %11s\n' step tool "best ms" \
	    "median ms" "best octets" "median"
	bench_medians /tmp/rows 2
	echo "vmpipe/xl, round by round (and their median):"
	bench_paired /tmp/rows 1
} | sed 's/^/TABLE /'

echo ok
