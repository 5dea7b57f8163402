# timeout: 600
# takes: 108
# -C: the administrator's own configuration in place of the one a guest
# brings, as `xl restore CONFIG FILE' and `xl migrate -C'.  On the
# restore side (vm-restore, vm-recv) the file is used instead of the
# image's, is not the policy's to judge, and must describe the same
# guest; on the saving side (vm-save, vm-precopy) it goes into the image,
# and the destination judges it as any other.
. ./lib.sh
need_xen_backend vm-restore
ndom() { xl list | tail -n +2 | wc -l; }

mkdir -p /etc/vmpipe
rm -f /etc/vmpipe/recv.conf
bridge_up br-dmz

# The guest runs on br-dmz, which the policy (no recv.conf: xenbr0 only)
# refuses; plain.cfg is the same guest without a vif.
guest_cfg cfg pvh >/tmp/plain.cfg
cp /tmp/plain.cfg /tmp/dmz.cfg
echo 'vif = [ "bridge=br-dmz" ]' >>/tmp/dmz.cfg
rm -f "$(console_log cfg)"
xl create /tmp/dmz.cfg || fail "xl create cfg on br-dmz"
wait_tick_above cfg 0 120 || fail "cfg printed no ticks"
vm-save -q --keep -b xen -o /tmp/cfg.vmi cfg || fail "vm-save --keep cfg"
before=$(ndom)

vm-restore --as cfg2 /tmp/cfg.vmi 2>/tmp/err && fail "the policy let br-dmz by"
grep -qF 'vif bridge "br-dmz"' /tmp/err || { cat /tmp/err; fail "no refusal of br-dmz"; }

# restored_with HOW AS: the guest restored as AS runs on the file's
# configuration (no vif), and goes.
restored_with() {
	n=$(last_tick "$2")
	wait_tick_above "$2" "$n" 60 || fail "$1: $2 does not run"
	[ "$(xl network-list "$2" | tail -n +2 | wc -l)" -eq 0 ] ||
		fail "$1: $2 has a vif: the image's configuration was used"
	xl destroy "$2"
	note "$1: ran on the administrator's configuration"
}

vm-restore -C /tmp/plain.cfg --as cfg2 /tmp/cfg.vmi ||
	fail "vm-restore -C (xl format)"
restored_with "vm-restore -C plain.cfg" cfg2

# The same as libxl JSON, the form `xl create -n' prints.
xl create -n /tmp/plain.cfg 2>/dev/null | sed -n '/^{/,$p' >/tmp/plain.json
vm-restore -q -C /tmp/plain.json --as cfg2 /tmp/cfg.vmi ||
	fail "vm-restore -C (libxl JSON)"
restored_with "vm-restore -C plain.json" cfg2

vm-recv -q -C /tmp/plain.cfg --as cfg2 </tmp/cfg.vmi >/tmp/out 2>&1 ||
	{ cat /tmp/out; fail "vm-recv -C"; }
restored_with "vm-recv -C" cfg2

# An xl save file, as `xl restore CONFIG FILE'.
xl save -c cfg /tmp/cfg.xl >/dev/null 2>&1 || fail "xl save -c cfg"
vm-restore --as cfg2 /tmp/cfg.xl 2>/tmp/err && fail "the policy let br-dmz by (xl file)"
vm-restore -C /tmp/plain.cfg --as cfg2 /tmp/cfg.xl || fail "vm-restore -C of an xl file"
restored_with "vm-restore -C of an xl save file" cfg2
rm -f /tmp/cfg.xl

# A file that describes another guest is refused, before anything is
# made, naming the difference.
mismatch() {	# sed-expression text
	sed "$1" /tmp/plain.cfg >/tmp/other.cfg
	for how in restore recv; do
		case $how in
		restore) vm-restore -C /tmp/other.cfg --as cfg2 /tmp/cfg.vmi 2>/tmp/err ;;
		recv) vm-recv -q -C /tmp/other.cfg --as cfg2 </tmp/cfg.vmi >/tmp/err 2>&1 ;;
		esac && fail "$how -C with '$1': restored"
		grep -qF "$2" /tmp/err || { cat /tmp/err; fail "$how: no '$2'"; }
		guest_gone cfg2 || fail "$how: cfg2 was made ($1)"
		[ "$(ndom)" -eq "$before" ] || fail "$how: a domain left ($1)"
	done
	note "refused: $(head -n 1 /tmp/err)"
}
mismatch 's/^name = .*/name = "web"/' '/tmp/other.cfg describes guest "web", not "cfg"'
mismatch 's/^vcpus = .*/vcpus = 2/' '2 vCPUs (maxvcpus), the guest has 1'
mismatch 's/^memory = .*/memory = 256/' 'maxmem 256 MiB, the guest'"'"'s is 128 MiB'
mismatch 's/^memory = .*/memory 128/' \
    "xl can't read /tmp/other.cfg: /tmp/other.cfg:"

# The saving side: the file goes into the image (and a file that does not
# fit stops nothing).  Here the guest's own configuration is the plain one
# and the file asks for br-dmz: the destination refuses what it brings.
xl destroy cfg
rm -f "$(console_log cfg)"
xl create /tmp/plain.cfg || fail "xl create cfg"
wait_tick_above cfg 0 120 || fail "cfg printed no ticks"
vm-save -q --keep -b xen -C /tmp/dmz.cfg -o /tmp/cfg.vmi cfg ||
	fail "vm-save -C dmz.cfg"
vm-restore --as cfg2 /tmp/cfg.vmi 2>/tmp/err && fail "the file's br-dmz was let by"
grep -qF 'vif bridge "br-dmz"' /tmp/err ||
	{ cat /tmp/err; fail "the image does not carry the file's configuration"; }
vm-inspect /tmp/cfg.vmi >/dev/null || fail "vm-inspect of the image saved with -C"
sed 's/^name = .*/name = "web"/' /tmp/plain.cfg >/tmp/other.cfg
n=$(last_tick cfg)
vm-precopy -q -b xen -C /tmp/other.cfg -o /tmp/cfg.vmi cfg 2>/tmp/err &&
	fail "vm-precopy -C of another guest's file"
cat /tmp/err
grep -qF 'describes guest "web"' /tmp/err || fail "vm-precopy: no reason"
wait_tick_above cfg "$n" 60 || fail "cfg stopped after a refused -C"
xl destroy cfg
rm -f /tmp/cfg.vmi
