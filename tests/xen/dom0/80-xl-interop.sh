# takes: 80
# Interoperability with xl: vm-restore and vm-recv take a file of `xl
# save' (from a file and from a pipe), and `xl restore' takes an image of vm-save once
# vm-xlconv has converted it.  Each time the guest continues its counter.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-restore
command -v vm-xlconv >/dev/null || fail "no vm-xlconv in bin/"

# The guest ticks on past BEFORE and printed neither a boot nor tick 0
# after console line LINES.
continued() {	# name before lines what
	wait_tick_above "$1" $(($2 + 2)) 60 || {
		tail -n 5 "$(console_log "$1")"
		fail "$4: the counter did not pass $2"
	}
	tail -n +$(($3 + 1)) "$(console_log "$1")" | tr -d '\r' >/tmp/after
	grep -q 'guest up' /tmp/after && fail "$4: the guest booted again"
	grep -qx 'tick 0' /tmp/after && fail "$4: the counter restarted"
	note "$4: ticks on from $2 to $(last_tick "$1")"
}
mark() { before=$(last_tick "$1"); lines=$(console_lines "$1"); }

guest_up xi pvh
wait_tick_above xi 2 60 || fail "no tick 3"

xl save xi /tmp/xi.xl >/dev/null 2>&1 || fail "xl save"
mark xi
sleep 3
vm-restore /tmp/xi.xl || fail "vm-restore of an xl save file"
continued xi "$before" "$lines" "xl save, vm-restore"

xl save xi /tmp/xi.xl >/dev/null 2>&1 || fail "xl save (2)"
mark xi
cat /tmp/xi.xl | vm-restore -q || fail "vm-restore of an xl save file from a pipe"
continued xi "$before" "$lines" "xl save, cat | vm-restore"

# vm-recv takes what vm-restore takes: the restore engine decides.
xl save xi /tmp/xi.xl >/dev/null 2>&1 || fail "xl save (3)"
mark xi
cat /tmp/xi.xl | vm-recv -q >/tmp/recv.out ||
	fail "vm-recv of an xl save file: $(cat /tmp/recv.out)"
grep -q '^vmpipe-recv: running xi ' /tmp/recv.out ||
	fail "vm-recv of an xl save file said: $(cat /tmp/recv.out)"
continued xi "$before" "$lines" "xl save, cat | vm-recv"
rm -f /tmp/xi.xl /tmp/recv.out

vm-save -q -b xen -o /tmp/xi.vmi xi || fail "vm-save"
mark xi
vm-xlconv -o /tmp/xi.xl /tmp/xi.vmi || fail "vm-xlconv"
note "image $(wc -c </tmp/xi.vmi) octets, xl file $(wc -c </tmp/xi.xl)"
sleep 3
xl restore /tmp/xi.xl || fail "xl restore of a converted image"
continued xi "$before" "$lines" "vm-save, vm-xlconv, xl restore"
rm -f /tmp/xi.vmi /tmp/xi.xl

# A live image converts too: pages sent again replace earlier ones.
vm-precopy -q -b xen -o /tmp/xi.vmi xi || fail "vm-precopy"
xl destroy xi
mark xi
vm-xlconv </tmp/xi.vmi >/tmp/xi.xl || fail "vm-xlconv of a live image"
xl restore /tmp/xi.xl || fail "xl restore of a converted live image"
continued xi "$before" "$lines" "vm-precopy, vm-xlconv, xl restore"
xl destroy xi
rm -f /tmp/xi.vmi /tmp/xi.xl
echo ok
