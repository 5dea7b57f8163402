# timeout: 500
# takes: 59
# Room for a guest as xl's autoballoon makes it: when Xen's free memory
# is too small, a restore takes the difference from dom0 (autoballoon
# "on" in xl.conf) and gives it back if the restore fails; with "off" it
# is refused, saying so.  A paused filler domain takes Xen's free memory.
. ./lib.sh
need_xen_backend vm-restore
free_mb() { xl info | awk '$1 == "free_memory" { print $3 }'; }
# dom0's memory target in KiB (until something sets one, its memory).
dom0_target() {
	t=$(xenstore-read /local/domain/0/memory/target 2>/dev/null)
	[ -n "$t" ] || t=$(($(xl list 0 | awk 'NR == 2 { print $3 }') * 1024))
	echo "$t"
}
cp /etc/xen/xl.conf /tmp/xl.conf.orig 2>/dev/null || : >/tmp/xl.conf.orig
# xl.conf as it was, whatever happens: the tests after this one use it.
trap 'cp /tmp/xl.conf.orig /etc/xen/xl.conf' EXIT
autoballoon() {
	grep -v '^autoballoon' /tmp/xl.conf.orig >/etc/xen/xl.conf
	echo "autoballoon=\"$1\"" >>/etc/xen/xl.conf
}
# fill NAME: a paused domain that leaves Xen about 32 MiB free.
fill() {
	cat >"/tmp/$1.cfg" <<CFG
name = "$1"
type = "pvh"
kernel = "/xen-test/vmlinuz"
memory = $(($(free_mb) - 48))
CFG
	# Not xl's autoballoon: it would make room from dom0.
	autoballoon off
	xl create -p "/tmp/$1.cfg" >/dev/null 2>&1 || fail "xl create -p $1"
	note "$1 made: Xen has $(free_mb) MiB free, dom0's target $(dom0_target) KiB"
	[ "$(free_mb)" -lt 100 ] || fail "$1 left $(free_mb) MiB free: room for the guest"
}

guest_up bal pvh
vm-save -q -b xen -o /tmp/bal.vmi bal || fail "vm-save bal"
size=$(wc -c </tmp/bal.vmi)
fill fill1

autoballoon off
vm-restore /tmp/bal.vmi 2>/tmp/err && fail "restored with no room and autoballoon off"
cat /tmp/err
grep -q 'not enough memory' /tmp/err || fail "the refusal does not say why"
guest_gone bal || fail "bal was made"

autoballoon on
t0=$(dom0_target)
vm-restore -q /tmp/bal.vmi || fail "vm-restore with autoballoon on"
n=$(last_tick bal)
wait_tick_above bal "$n" 60 || fail "bal does not run"
t1=$(dom0_target)
note "dom0's target: $t0 KiB before, $t1 KiB after"
[ "$t1" -lt "$t0" ] || fail "dom0 gave nothing"
xl destroy bal

# A restore that fails after dom0 gave: it gets it back.
fill fill2
autoballoon on
head -c $((size / 2)) /tmp/bal.vmi >/tmp/half.vmi
t0=$(dom0_target)
vm-restore -q /tmp/half.vmi 2>/tmp/err && fail "restored half an image"
cat /tmp/err
grep -q 'not enough memory' /tmp/err && fail "dom0 gave nothing for it"
guest_gone bal || fail "a half guest was left"
t1=$(dom0_target)
note "dom0's target: $t0 KiB before the failed restore, $t1 KiB after"
[ "$t1" -eq "$t0" ] || fail "dom0 did not get its memory back"
xl destroy fill1
xl destroy fill2
rm -f /tmp/bal.vmi /tmp/half.vmi
