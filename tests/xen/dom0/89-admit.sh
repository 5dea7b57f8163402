# timeout: 600
# takes: 125
# What an arriving guest's configuration may ask of this host: a key
# that runs a program or reaches the host is refused by name, in the
# preflight, before a domain is made - through vm-restore and vm-recv of
# an xl save file and of a vmpipe image.  Disks and bridges are the
# policy file's to admit.  Most configurations are put into a copy of
# one `xl save -c' file, where xl puts the file it is given (xl-setcfg),
# so the guest need not have the devices it claims; the image's is a real
# guest's.
. ./lib.sh
need_xen_backend vm-restore
ndom() { xl list | tail -n +2 | wc -l; }

mkdir -p /etc/vmpipe
rm -f /etc/vmpipe/recv.conf
guest_up adm pvh
before=$(ndom)

# refused_by_both FILE AS TEXT WHAT: vm-restore and vm-recv of FILE as
# guest AS each refuse it saying TEXT, and leave no domain.
refused_by_both() {
	for how in restore recv; do
		case $how in
		restore) vm-restore --as "$2" "$1" 2>/tmp/err ;;
		recv) vm-recv -q --as "$2" <"$1" >/tmp/err 2>&1 ;;
		esac && fail "$how: restored: $4"
		grep -qF "$3" /tmp/err ||
		    { cat /tmp/err; fail "$how: the refusal of $4 does not say: $3"; }
		guest_gone "$2" || fail "$how: $2 was made: $4"
		[ "$(ndom)" -eq "$before" ] || fail "$how: a domain was left behind ($4)"
	done
	head -n 1 /tmp/err
}

# One checkpoint of adm by xl; xl_with LINE makes /tmp/adm.xl of it, its
# configuration having LINE too: what `xl save -c adm FILE CFG' writes
# (xl-setcfg), without saving adm again for each case.
xl save -c adm /tmp/adm0.xl >/tmp/xl.out 2>&1 || { cat /tmp/xl.out; fail "xl save -c adm"; }
xl_with() {
	guest_cfg adm pvh >/tmp/adm-x.cfg
	echo "$1" >>/tmp/adm-x.cfg
	xl create -n /tmp/adm-x.cfg 2>/tmp/xl.out | sed -n '/^{/,$p' >/tmp/adm-x.json
	[ -s /tmp/adm-x.json ] || { cat /tmp/xl.out; fail "xl create -n with: $1"; }
	xl-setcfg /tmp/adm-x.json </tmp/adm0.xl >/tmp/adm.xl ||
		fail "xl-setcfg with: $1"
}

# refused LINE TEXT: a save of adm whose configuration has LINE too is
# refused with TEXT by each way in, and leaves no domain.
refused() {
	xl_with "$1"
	note "refused: $1"
	refused_by_both /tmp/adm.xl adm2 "$2" "'$1'"
}

refused 'disk = [ "/etc/shadow,raw,xvda,w" ]' \
    'disk xvda target "/etc/shadow": expected a path under a disk-prefix of /etc/vmpipe/recv.conf (none is set)'
refused 'vif = [ "bridge=xenbr0,script=/tmp/evil" ]' \
    'vif script "/tmp/evil": expected none, or a script of /etc/xen/scripts/ by name'
refused 'vif = [ "bridge=br-dmz" ]' \
    'vif bridge "br-dmz": expected xenbr0 (/etc/vmpipe/recv.conf names no bridge)'
refused 'device_model_args = [ "-evil" ]' 'device_model_args: a device model'
refused 'p9 = [ "tag=h,path=/etc,security_model=none" ]' 'p9 "/etc": the host'

# The policy admits the disk under its prefix, and refuses a way out.
printf 'disk-prefix /srv/xen\nbridge xenbr0\n' >/etc/vmpipe/recv.conf
refused 'disk = [ "/srv/xen/../../etc/shadow,raw,xvda,w" ]' \
    'disk xvda target "/srv/xen/../../etc/shadow": expected a path under a disk-prefix of /etc/vmpipe/recv.conf (see there)'
# Under the prefix the policy lets it by; libxl then fails on the
# missing file, and no domain is left either.
xl_with 'disk = [ "/srv/xen/missing.img,raw,xvda,w" ]'
vm-restore --as adm2 /tmp/adm.xl 2>/tmp/err && fail "restored a guest whose disk is missing"
cat /tmp/err
grep -q 'asks for' /tmp/err && fail "a disk under the prefix was refused by the policy"
guest_gone adm2 || fail "adm2 was made with a missing disk"
[ "$(ndom)" -eq "$before" ] || fail "a domain was left behind (missing disk)"
rm -f /etc/vmpipe/recv.conf

# A vmpipe image of a guest on a bridge the policy does not list.
bridge_up br-dmz
guest_cfg dmz pvh >/tmp/dmz.cfg
echo 'vif = [ "bridge=br-dmz" ]' >>/tmp/dmz.cfg
xl create /tmp/dmz.cfg || fail "xl create dmz with a vif on br-dmz"
vm-save -q --keep -b xen -o /tmp/dmz.vmi dmz || fail "vm-save --keep dmz"
before=$(ndom)
refused_by_both /tmp/dmz.vmi dmz2 \
    'vif bridge "br-dmz": expected xenbr0 (/etc/vmpipe/recv.conf names no bridge)' \
    "an image on br-dmz"
echo 'bridge br-dmz' >/etc/vmpipe/recv.conf
vm-restore --as dmz2 /tmp/dmz.vmi || fail "the policy's bridge was refused"
n=$(last_tick dmz2)
wait_tick_above dmz2 "$n" 60 || fail "dmz2 does not run"
xl destroy dmz2
xl destroy dmz
rm -f /etc/vmpipe/recv.conf

# A guest that asks nothing of the host still restores, and runs.
vm-restore --as adm2 /tmp/adm0.xl || fail "a plain guest was refused"
n=$(last_tick adm2)
wait_tick_above adm2 "$n" 60 || fail "adm2 does not run"
xl destroy adm2
xl destroy adm
