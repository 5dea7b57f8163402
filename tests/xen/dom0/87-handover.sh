# takes: 117
# The handover on Xen: vm-recv --handover builds the domain and holds it
# paused; only the sender's go resumes it.  No go (the stream ends, or
# the deadline passes) destroys it, and so does the receive's guardian
# when the receive is killed while it waits: no paused domain is left.
# timeout: 600
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-recv

guest_up ho pvh
vm-save -q --keep -b xen -o /tmp/ho.vmi ho || fail "vm-save --keep ho"
at=$(last_tick ho)

# 1. The stream ends after END without a go: the copy is destroyed, 1.
vm-recv -q --handover --as ho2 </tmp/ho.vmi >/tmp/out 2>&1 && st=0 || st=$?
cat /tmp/out
[ "$st" -eq 1 ] || fail "no go: vm-recv exited $st, not 1"
grep -q '^vmpipe-recv: prepared ho2$' /tmp/out || fail "no prepared line"
grep -q 'without a go' /tmp/out || fail "the error does not say why"
wait_gone ho2 20 || fail "ho2 was left behind without a go"

# 2. No go within the deadline (-t 5), the input held open (through a
#    fifo: a pipeline would wait for its writer's sleep to end).
rm -f /tmp/fifo
mkfifo /tmp/fifo
( cat /tmp/ho.vmi; sleep 30 ) >/tmp/fifo &
feeder=$!
vm-recv -q --handover -t 5 --as ho2 </tmp/fifo >/tmp/out 2>&1 && st=0 || st=$?
kill "$feeder" 2>/dev/null
cat /tmp/out
[ "$st" -eq 1 ] || fail "deadline: vm-recv exited $st, not 1"
grep -q 'no go from the sender within 5 s' /tmp/out ||
	fail "the error does not name the deadline"
wait_gone ho2 20 || fail "ho2 was left behind after the deadline"

# 3. Killed while it waits for the go: the guardian destroys the
#    paused domain and removes the lock.
# recv_prepared ARGS: a vm-recv --handover ARGS ($rpid) fed the image
# by a writer that holds its input open ($feeder), once it says
# prepared.
recv_prepared() {
	rm -f /tmp/fifo
	mkfifo /tmp/fifo
	vm-recv -q --handover "$@" </tmp/fifo >/tmp/out 2>&1 &
	rpid=$!
	( cat /tmp/ho.vmi; sleep 60 ) >/tmp/fifo &
	feeder=$!
	i=0
	until grep -q prepared /tmp/out; do
		i=$((i + 1))
		[ "$i" -lt 120 ] || fail "no prepared line in 120 s"
		sleep 1
	done
}
recv_prepared --as ho2
xl list ho2 | grep -q ho2 || fail "no paused ho2 while prepared"
state=$(xl list ho2 | awk 'NR == 2 { print $5 }')
case $state in *p*) ;; *) fail "ho2 is '$state', not paused, before go" ;; esac
kill -KILL "$rpid"
wait_gone ho2 30 || fail "the guardian left ho2 behind"
kill "$feeder" 2>/dev/null
ls /run/vmpipe/*.lock 2>/dev/null && fail "a lock file was left behind"

# 4. With the go, the copy resumes and continues from the image.
{ cat /tmp/ho.vmi; echo 'vmpipe-send: go'; } |
    vm-recv -q --handover --as ho2 >/tmp/out 2>&1 || { cat /tmp/out; fail "with go"; }
cat /tmp/out
grep -q '^vmpipe-recv: running ho2 ' /tmp/out || fail "no running line"
wait_tick_above ho2 $((at + 1)) 60 || fail "ho2 does not tick on"
tr -d '\r' <"$(console_log ho2)" | grep -q 'guest up' &&
	fail "ho2 booted instead of continuing"

# 5. The image's own guest still here (a migration to this same host):
#    the copy is built beside it as ho--incoming.  A go while the source
#    still holds the name (no sender renamed it) destroys the copy; so
#    does the guardian when the receive is killed while it waits - and
#    neither ever touches the source, which runs on.
{ cat /tmp/ho.vmi; echo 'vmpipe-send: go'; } |
    vm-recv -q --handover >/tmp/out 2>&1 && st=0 || st=$?
cat /tmp/out
[ "$st" -eq 1 ] || fail "twin, go without the rename: vm-recv exited $st, not 1"
grep -q '^vmpipe-recv: prepared ho--incoming$' /tmp/out || fail "no twin built"
grep -q 'the source still holds the name ho' /tmp/out || fail "the error does not say why"
wait_gone ho--incoming 20 || fail "ho--incoming was left behind"
recv_prepared
kill -KILL "$rpid"
wait_gone ho--incoming 30 || fail "the guardian left ho--incoming behind"
kill "$feeder" 2>/dev/null
n=$(last_tick ho)
wait_tick_above ho $((n + 1)) 60 || fail "the source ho stopped at tick $n"
note "twin: refused at the go and killed while prepared; the source ticks on"

# 6. vm-recv --status answers for Xen domains.
vm-recv --status ho2 | grep -qx 'vmpipe-recv: status ho2 running' ||
	fail "status of ho2"
xl pause ho
vm-recv --status ho | grep -qx 'vmpipe-recv: status ho paused' ||
	fail "status of paused ho"
vm-recv --status nosuch | grep -qx 'vmpipe-recv: status nosuch absent' ||
	fail "status of no guest"
xl destroy ho2
xl destroy ho
rm -f /tmp/ho.vmi /tmp/fifo
echo ok
