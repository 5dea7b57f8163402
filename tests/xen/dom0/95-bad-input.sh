# takes: 50
# Failures on Xen: a save or live copy cut short leaves the guest running;
# a truncated image leaves no domain behind; an image of a KVM guest is
# refused saying so; so is a guest that needs a CPU feature this host
# lacks.
. ./lib.sh
need_xen_backend vm-save
need_xen_backend vm-precopy
need_xen_backend vm-restore
ndom() { xl list | tail -n +2 | wc -l; }
runs_on() {	# name what
	n=$(last_tick "$1")
	wait_tick_above "$1" $((n + 1)) 60 || fail "$2: the guest stopped"
	xl list "$1" >/dev/null || fail "$2: the guest is gone"
}

guest_up bad pvh
wait_tick_above bad 2 60 || fail "no tick 3"

vm-save -b xen bad 2>/tmp/err | head -c 1M >/dev/null
cat /tmp/err
grep -q 'resumed' /tmp/err || fail "vm-save cut short does not say it resumed"
runs_on bad "vm-save | head"

vm-precopy -b xen bad 2>/tmp/err | head -c 1M >/dev/null
cat /tmp/err
runs_on bad "vm-precopy | head"

vm-save -q --keep -b xen -o /tmp/bad.vmi bad || fail "vm-save --keep"
runs_on bad "vm-save --keep"
size=$(wc -c </tmp/bad.vmi)
before=$(ndom)
head -c $((size / 2)) /tmp/bad.vmi >/tmp/half.vmi
vm-restore --as bad2 /tmp/half.vmi 2>/tmp/err; r=$?
[ "$r" -eq 1 ] || fail "a truncated image: vm-restore exit $r, expected 1"
cat /tmp/err
grep -q 'no guest was made' /tmp/err || fail "the error does not say no guest was made"
sleep 2
xl list
[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind"
guest_gone bad2 || fail "bad2 was left behind"

# The END record is damaged: everything arrived but the check fails.
head -c $((size - 8)) /tmp/bad.vmi >/tmp/cut.vmi
vm-restore --as bad3 /tmp/cut.vmi 2>/tmp/err; r=$?
[ "$r" -eq 1 ] || fail "an image without END: vm-restore exit $r, expected 1"
cat /tmp/err
sleep 2
[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind (no END)"

kvm=
for v in vectors/*.vmi; do
	vm-inspect "$v" 2>/dev/null | grep -q 'backend kvm' && { kvm=$v; break; }
done
if [ -n "$kvm" ]; then
	vm-restore "$kvm" 2>/tmp/err && fail "a KVM image restored on Xen"
	cat /tmp/err
	grep -q 'kvm' /tmp/err || fail "the refusal does not name kvm"
	[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind (KVM)"
else
	note "no KVM image among the vectors"
fi
# A guest that used a CPU feature Xen can't give here (AVX-512F, CPUID
# 7.EBX bit 16: not in the emulator's CPU) is refused before anything is
# made, naming the bits; the same image as it was is not.
vmi-setcpu 0 0 10000 0 </tmp/bad.vmi >/tmp/cpu.vmi || fail "vmi-setcpu"
vm-restore --as bad4 /tmp/cpu.vmi 2>/tmp/err && fail "restored a guest that needs AVX-512F"
cat /tmp/err
grep -qF 'preflight: CPU features: the guest has 00000000 00000000 00010000 00000000 (CPUID 1.ECX 1.EDX 7.EBX 7.ECX) that this host lacks' /tmp/err ||
	fail "the refusal does not name the feature"
guest_gone bad4 || fail "bad4 was made"
[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind (CPU)"
vmi-setcpu 0 0 0 0 </tmp/bad.vmi >/tmp/cpu.vmi || fail "vmi-setcpu"
vm-restore --as bad4 /tmp/cpu.vmi 2>/tmp/err && xl destroy bad4
grep -q 'CPU features' /tmp/err && { cat /tmp/err; fail "the guest's own CPU features were refused"; }
xl destroy bad
rm -f /tmp/bad.vmi /tmp/half.vmi /tmp/cut.vmi /tmp/cpu.vmi
echo ok
