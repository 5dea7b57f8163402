# lib.sh: helpers for the tests that tests/xen/run runs in dom0.
# Sourced by every NN-*.sh; they run with /xen-test as the directory.

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "# $*"; }

# Log of guest NAME's console, written by xenconsoled.
consoles=/var/log/xen/console
console_log() { echo "$consoles/guest-$1.log"; }

# The highest "tick N" that guest NAME has printed, or -1.
# xl migrate to this host makes the guest's copy as NAME--incoming, and
# xenconsoled keeps logging under the name it first saw: both count.
last_tick() {
	ticks_in "$consoles/guest-$1.log" "$consoles/guest-$1--incoming.log"
}
# ticks_in LOG...: the highest "tick N" in the console logs LOG..., or -1.
# One awk, no pipe and no subshell: the tests ask this every second while
# they wait, on the one CPU that dom0 shares with the guests they wait for.
ticks_in() {
	local k=$#
	while [ "$k" -gt 0 ]; do	# keep the logs there are
		[ ! -f "$1" ] || set -- "$@" "$1"
		shift
		k=$((k - 1))
	done
	awk 'BEGIN { n = -1 } { sub(/\r$/, "") }
	    /^tick [0-9]+$/ { if ($2 + 0 > n) n = $2 + 0 } END { print n }' \
	    "$@" /dev/null
}
# gap LOG...: the longest pause the guest saw (its "gap MS ms" lines), or 0.
gap() {
	cat "$@" 2>/dev/null | tr -d '\r' |
	    awk '$1 == "gap" && $2 > g { g = $2 } END { print g + 0 }'
}

# The last "cpuid DIGEST" guest NAME printed (every fifth tick: a digest
# of what CPUID tells it), or "".
last_cpuid() {
	cat "$(console_log "$1")" 2>/dev/null | tr -d '\r' |
	    awk '$1 == "cpuid" { d = $2 } END { print d }'
}

# same_cpu NAME DIGEST LINES: the first CPUID digest guest NAME prints
# after line LINES of its console log (waited for) is DIGEST.
same_cpu() {	# name digest lines
	[ -n "$2" ] && [ "$2" != none ] || fail "$1 had no CPUID digest before"
	i=0 d=
	while [ -z "$d" ]; do
		d=$(tail -n +$(($3 + 1)) "$(console_log "$1")" | tr -d '\r' |
		    awk '$1 == "cpuid" { print $2; exit }')
		[ -n "$d" ] && break
		i=$((i + 1))
		[ "$i" -lt 30 ] || fail "$1 printed no CPUID digest after line $3"
		sleep 1
	done
	[ "$d" = "$2" ] || fail "$1's CPUID changed: $2 before, $d after"
	note "$1: CPUID digest $d before and after"
}

# Wait up to SECONDS for guest NAME to have printed a tick above N.
wait_tick_above() {	# name n seconds
	i=0
	while [ "$i" -lt "$3" ]; do
		# dom0's programs very rarely crash under the emulator; an
		# empty answer is a retry, not a failure.
		t=$(last_tick "$1")
		case $t in '' | *[!0-9-]*) t=-1 ;; esac
		[ "$t" -gt "$2" ] && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# Write an xl configuration for the test guest (type pvh, hvm or pv).
guest_cfg() {	# name type > file
	cat <<CFG
name = "$1"
type = "$2"
kernel = "/xen-test/vmlinuz"
ramdisk = "/xen-test/guest.cpio.gz"
extra = "console=hvc0 quiet"
memory = 128
vcpus = 1
on_crash = "preserve"
CFG
	# PVH and HVM under this emulator need the TSC passed through: its
	# SVM gives no next-instruction address for an intercepted RDTSCP,
	# and Xen can't emulate it without one.
	[ "$2" = pv ] || echo 'tsc_mode = "native"'
}

# Create guest NAME of TYPE and wait for it to tick.
guest_up() {	# name type
	guest_cfg "$1" "$2" >"/tmp/$1.cfg"
	rm -f "$(console_log "$1")"
	xl create "/tmp/$1.cfg" || fail "xl create $1 ($2)"
	wait_tick_above "$1" 0 120 || {
		tail -n 20 "$(console_log "$1")"
		fail "guest $1 printed no ticks in 120 s"
	}
}

guest_gone() { ! xl domid "$1" >/dev/null 2>&1; }

# bridge_up NAME [ADDR/LEN]: a bridge in dom0 for guests' vifs (made if
# missing), with dom0's address on it if given.
bridge_up() {
	modprobe -a bridge xen-netback 2>/dev/null
	ip link show "$1" >/dev/null 2>&1 ||
		{ ip link add "$1" type bridge && ip link set "$1" up; } ||
		fail "can't make bridge $1"
	[ -z "${2:-}" ] || ip addr show dev "$1" | grep -qF " ${2} " ||
		ip addr add "$2" dev "$1" || fail "can't put $2 on $1"
}

# Wait up to SECONDS for guest NAME to be gone.
wait_gone() {	# name seconds
	i=0
	while [ "$i" -lt "$2" ]; do
		guest_gone "$1" && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# Skip unless bin/ was built with the Xen backend linked in.
need_xen_backend() {
	command -v "$1" >/dev/null || skip "no $1 in bin/"
	case $("$1" -b xen -o /dev/null vmpipe-no-such-guest 2>&1) in
	*"unknown backend"*) skip "bin/$1 was built without the Xen backend" ;;
	esac
}

# Lines in guest NAME's console log so far.  dom0's programs very rarely
# crash under the emulator: an empty answer is asked again.
console_lines() {	# name
	i=0 n=
	while [ -z "$n" ] && [ "$i" -lt 5 ]; do
		n=$(wc -l <"$(console_log "$1")" 2>/dev/null)
		i=$((i + 1))
	done
	echo "${n:-0}"
}

# uuid_of NAME: guest NAME's UUID, as xl list -v shows it.
uuid_of() { xl list -v "$1" | awk 'NR == 2 { print $7 }'; }

# moved_here NAME UUID OLD: guest NAME moved to this same host as xl
# moves it: a new domain (not OLD), the same UUID, and no NAME--migratedaway,
# NAME--incoming or hold left behind.
moved_here() {	# name uuid old-domid
	new=$(xl domid "$1") || fail "no $1 after the migration"
	[ "$new" != "$3" ] || fail "$1 is still domain $3"
	[ "$(uuid_of "$1")" = "$2" ] ||
		fail "$1's UUID changed: $2 before, $(uuid_of "$1") after"
	guest_gone "$1--migratedaway" || fail "the source $1--migratedaway was left"
	guest_gone "$1--incoming" || fail "a $1--incoming was left"
	ls /run/vmpipe/*.hold 2>/dev/null && fail "a hold was left behind"
	return 0
}

# Milliseconds since boot.
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# cut_copy NAME PROGRAM: PROGRAM (vm-save or vm-precopy) of guest NAME
# into a reader that goes away after 4 MB: it fails, saying so, and the
# guest runs on.
cut_copy() {	# name program
	n=$(last_tick "$1")
	"$2" -b xen "$1" 2>/tmp/err | head -c 4000000 >/dev/null
	cat /tmp/err
	grep -q 'failed: write: Broken pipe; the guest was resumed' /tmp/err ||
		fail "$2 did not say that it failed and resumed the guest"
	xl list "$1" >/dev/null || fail "$1 gone after a failed $2"
	wait_tick_above "$1" $((n + 2)) 60 || fail "$1 stopped after a failed $2"
}

# sshd_up: an sshd on 127.0.0.1:$port with key authentication, its files
# in $d (id, known_hosts for vm-send's -i and -K); sshd_down stops it.
sshd_up() {
	d=/tmp/ssh port=2222
	command -v /usr/sbin/sshd >/dev/null || skip "no sshd in dom0"
	rm -rf "$d"
	mkdir -p "$d" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C xen-host -f "$d/host_key" || fail "ssh-keygen"
	ssh-keygen -q -t ed25519 -N '' -C xen-client -f "$d/id" || fail "ssh-keygen"
	cp "$d/id.pub" "$d/authorized_keys"
	hk=$(cat "$d/host_key.pub")
	echo "[127.0.0.1]:$port ${hk% *}" >"$d/known_hosts"
	cat >"$d/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel ERROR
CFG
	/usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || fail "sshd"
	i=0
	until [ -s "$d/sshd.pid" ] || [ "$i" -ge 20 ]; do sleep 1; i=$((i + 1)); done
	ssh -F /dev/null -i "$d/id" -p $port -o BatchMode=yes \
	    -o UserKnownHostsFile="$d/known_hosts" root@127.0.0.1 true ||
		{ cat "$d/sshd.log"; fail "ssh to dom0's sshd"; }
}
sshd_down() { [ -n "${d:-}" ] && kill "$(cat "$d/sshd.pid" 2>/dev/null)" 2>/dev/null; }

# relocation_up: a relocation server (vm-recv -D --plain) on
# 127.0.0.1:8002, for moves to this host without ssh; relocation_down
# stops it (a test's EXIT trap too: it outlives the test's processes).
relocation_up() {
	vm-recv -D --pidfile /tmp/rs.pid --plain -H '^127\.' --listen 8002 ||
		fail "a relocation server on loopback"
}
relocation_down() {
	[ ! -s /tmp/rs.pid ] || kill "$(cat /tmp/rs.pid)" 2>/dev/null
	rm -f /tmp/rs.pid
}

# on HOST COMMAND...: run it as root on HOST of a two-host test, here if
# HOST is this one (as ssh would: one command line for sh).  A connection
# that fails (ssh's 255) is tried again: under the emulator a dom0 busy
# with a guest that just started or arrived has been seen to stall for
# over 20 s (a soft lockup in its log), and a connect to time out.
on() {
	h=$1
	shift
	[ "$h" != "$(hostname)" ] || { sh -c "$*"; return; }
	for try in 1 2 3; do
		ssh "$h" "$@" && return 0 || st=$?
		[ "$st" -eq 255 ] || return "$st"
		note "ssh $h failed (try $try): $(ip neigh show "$(getent hosts "$h" | cut -d" " -f1)")"
		sleep 2
	done
	return 255
}

# pair_up: on host a of a two-host test (tests/xen/run, "hosts: 2"; the
# hosts from tests/xen/dom0/pair-host): wait for host b's sshd, let each
# host's policy admit the bridge xenbr0 (vmpipe(7)), and start guest g
# there: PVH, 2 vCPUs, 128 of 192 MiB with 2 x 8 MiB of it rewritten and
# checked all along (vmpipe_mem), a vif on xenbr0 as 10.0.9.10.
pair_up() {
	[ "$(hostname)" = a ] || skip "not host a of two (tests/xen/run, hosts: 2)"
	i=0
	until ssh b true 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 150 ] || fail "host b never answered ssh"
		sleep 1
	done
	note "host b answers after $i s: $(ssh b 'xl info | grep ^xen_version')"
	for h in a b; do
		on "$h" 'mkdir -p /etc/vmpipe && echo "bridge xenbr0" >/etc/vmpipe/recv.conf'
	done
	guest_cfg g pvh | sed -e 's/^vcpus = .*/vcpus = 2/' \
	    -e 's/^extra = "\(.*\)"/extra = "\1 vmpipe_ip=10.0.9.10 vmpipe_mem=8"/' \
	    >/tmp/g.cfg
	cat >>/tmp/g.cfg <<CFG
maxmem = 192
vif = [ "bridge=xenbr0,mac=00:16:3e:00:09:0a" ]
CFG
	rm -f "$(console_log g)"
	xl create /tmp/g.cfg || fail "xl create g"
	wait_tick_above g 5 120 || { tail -n 20 "$(console_log g)"; fail "g printed no ticks"; }
	grep -q 'net up 10.0.9.10' "$(console_log g)" || fail "g's network is not up"
}

# The benches' tables.  ROWS: a file of lines "step tool v1 ... vN", one a
# round, the rounds of each step in the order they ran, xl's tool named
# "xl".  mawk is dom0's awk: no function of gawk's alone.
#
# Their awk's functions: sort A[1..N] in place; the median of A[1..N],
# sorted (the two middle ones' mean for an even count).
bench_awk='
function sort(a, n,  i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
}
function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
'

# bench_medians ROWS N: "step tool" with the best and the median of each
# of the N values over the rounds.
bench_medians() {
	awk -v nc="$2" "$bench_awk"'
	{ k = $1 " " $2; if (!(k in n)) order[++m] = k; n[k]++
	  for (c = 1; c <= nc; c++) v[k, c, n[k]] = $(c + 2) }
	END { for (i = 1; i <= m; i++) { k = order[i]; split(k, w, " ")
		line = sprintf("%-11s %-9s", w[1], w[2])
		for (c = 1; c <= nc; c++) {
			for (a = 1; a <= n[k]; a++) s[a] = v[k, c, a]
			sort(s, n[k])
			line = line sprintf(" %11d %11d", s[1], med(s, n[k])) }
		print line } }' "$1"
}

# bench_paired ROWS N: each step's ratios, the other tool's over xl's,
# round by round (the j-th round of each tool is the same round: the boot
# drifts, and one round's two moves drift alike), of each of the N values
# joined by ";", and their medians.  A value of xl's that is 0 gives 0.
bench_paired() {
	awk -v nc="$2" "$bench_awk"'
	{ k = $1; if (!(k in seen)) { seen[k] = 1; order[++m] = k }
	  if ($2 == "xl") { j = ++nx[k]; for (c = 1; c <= nc; c++) x[k, c, j] = $(c + 2) }
	  else { j = ++nv[k]; for (c = 1; c <= nc; c++) v[k, c, j] = $(c + 2) } }
	END { for (i = 1; i <= m; i++) { k = order[i]; n = nx[k] < nv[k] ? nx[k] : nv[k]
		for (c = 1; c <= nc; c++) for (j = 1; j <= n; j++)
			r[c, j] = x[k, c, j] > 0 ? v[k, c, j] / x[k, c, j] : 0
		line = sprintf("%-11s", k); meds = ""
		for (j = 1; j <= n; j++) { f = ""
			for (c = 1; c <= nc; c++)
				f = f (c > 1 ? ";" : "") sprintf("%.2f", r[c, j])
			line = line " " f }
		for (c = 1; c <= nc; c++) {
			for (j = 1; j <= n; j++) s[j] = r[c, j]
			sort(s, n)
			meds = meds (c > 1 ? ";" : "") sprintf("%.2f", n ? med(s, n) : 0) }
		print line "  median " meds } }' "$1"
}
