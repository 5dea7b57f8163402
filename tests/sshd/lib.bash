# tests/sshd/lib.bash: two "hosts" on one machine for the transport tests.
#
# Host A (the source) and host B (the destination) are network namespaces
# joined by a veth pair, 10.77.0.1 and 10.77.0.2, each with its own run
# directory.  B runs a real sshd on a custom port with a host key made for
# this run and one authorized test key.  Load from a .bats file, call
# vmp_hosts_up in setup_file and vmp_hosts_down in teardown_file.

VMP_TOP=${VMP_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export VMP_TOP
export VMP_BIN=${VMP_BIN:-${VMPIPE_BIN:-$VMP_TOP/bin}}
export VMP_ADDR_A=10.77.0.1
export VMP_ADDR_B=10.77.0.2
export VMP_SSH_PORT=${VMP_SSH_PORT:-2222}
export VMP_RELOC_PORT=${VMP_RELOC_PORT:-8002}

vmp_hosts_up() {
	export VMP_DIR
	VMP_DIR=$(mktemp -d "${BATS_RUN_TMPDIR:-/tmp}/vmphosts.XXXXXX")
	export VMP_NSA=vmpA-$$ VMP_NSB=vmpB-$$
	export VMP_RUN_A=$VMP_DIR/runA VMP_RUN_B=$VMP_DIR/runB
	mkdir -p "$VMP_RUN_A" "$VMP_RUN_B"
	ip netns add "$VMP_NSA"
	ip netns add "$VMP_NSB"
	ip link add "vmpa$$" netns "$VMP_NSA" type veth peer \
	    name "vmpb$$" netns "$VMP_NSB"
	ip -n "$VMP_NSA" addr add "$VMP_ADDR_A/24" dev "vmpa$$"
	ip -n "$VMP_NSB" addr add "$VMP_ADDR_B/24" dev "vmpb$$"
	ip -n "$VMP_NSA" link set lo up
	ip -n "$VMP_NSB" link set lo up
	ip -n "$VMP_NSA" link set "vmpa$$" up
	ip -n "$VMP_NSB" link set "vmpb$$" up

	# Keys: B's host key, the client's key (authorized on B).
	ssh-keygen -q -t ed25519 -N '' -C vmp-host -f "$VMP_DIR/host_key"
	ssh-keygen -q -t ed25519 -N '' -C vmp-client -f "$VMP_DIR/id"
	cp "$VMP_DIR/id.pub" "$VMP_DIR/authorized_keys"
	local hk
	hk=$(cat "$VMP_DIR/host_key.pub")
	{
		echo "$VMP_ADDR_B ${hk% *}"
		echo "[$VMP_ADDR_B]:$VMP_SSH_PORT ${hk% *}"
		echo "[$VMP_ADDR_B]:$VMP_RELOC_PORT ${hk% *}"
	} >"$VMP_DIR/known_hosts"
	: >"$VMP_DIR/empty_known_hosts"
	# A home with no ssh configuration, so nothing of the machine's leaks in.
	mkdir -p "$VMP_DIR/home"
}

vmp_hosts_down() {
	vmp_sshd_stop
	[ -n "${VMP_NSA:-}" ] && ip netns pids "$VMP_NSA" 2>/dev/null | xargs -r kill 2>/dev/null
	[ -n "${VMP_NSB:-}" ] && ip netns pids "$VMP_NSB" 2>/dev/null | xargs -r kill 2>/dev/null
	sleep 0.2
	[ -n "${VMP_NSA:-}" ] && ip netns pids "$VMP_NSA" 2>/dev/null | xargs -r kill -9 2>/dev/null
	[ -n "${VMP_NSB:-}" ] && ip netns pids "$VMP_NSB" 2>/dev/null | xargs -r kill -9 2>/dev/null
	[ -n "${VMP_NSA:-}" ] && ip netns del "$VMP_NSA" 2>/dev/null
	[ -n "${VMP_NSB:-}" ] && ip netns del "$VMP_NSB" 2>/dev/null
	[ -n "${VMP_DIR:-}" ] && rm -rf "$VMP_DIR"
	return 0
}

# Give this test its own run directories for A and B (under $1).
vmp_rundirs() {
	export VMP_RUN_A=$1/A VMP_RUN_B=$1/B
	mkdir -p "$VMP_RUN_A" "$VMP_RUN_B"
}

# Kill what a test left running on B (guests, receivers).
vmp_clean_b() {
	local p
	for p in "$VMP_RUN_B"/*.pid; do
		[ -e "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null
	done
	return 0
}

# Processes called $2 in namespace $1 ("A" or "B").
vmp_pids() {
	local ns p
	[ "$1" = A ] && ns=$VMP_NSA || ns=$VMP_NSB
	for p in $(ip netns pids "$ns"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"
	done
	return 0
}

# A test's own run directories for A and B, A's the default, and what
# it leaves on B (a relocation server, guests, receives) gone after it.
vmp_test_setup() {
	vmpipe_setup
	vmp_rundirs "$TEST_TMP"
	export VMPIPE_RUNDIR=$VMP_RUN_A
}

vmp_test_teardown() {
	vmp_reloc_stop
	vmp_clean_b
	vmpipe_teardown
}

# Run a command with host B's run directory (on this network).
on_b() { VMPIPE_RUNDIR=$VMP_RUN_B "$@"; }

# Run a command on host A or B (its own network and run directory).
inA() { ip netns exec "$VMP_NSA" env HOME="$VMP_DIR/home" VMPIPE_RUNDIR="$VMP_RUN_A" "$@"; }
inB() { ip netns exec "$VMP_NSB" env HOME="$VMP_DIR/home" VMPIPE_RUNDIR="$VMP_RUN_B" "$@"; }

# Wait until something listens on host B's TCP port $1.
vmp_wait_port() {
	local i
	for i in $(seq 100); do
		ip netns exec "$VMP_NSB" ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# B's sshd.  Debian's bash reads ~/.bashrc for a command sshd starts
# when it is the first shell (SHLVL unset), and root's ~/.bashrc is this
# machine's, not the test's: on one it ran `pyenv init', whose rehash
# rewrites hundreds of files under a lock it waits up to 60 s for.  In the
# emulated machines, two at a time sharing the host's /root, that cost
# seconds to minutes before each vm-recv started (vm-send's "no answer
# within 60 s").  SHLVL=1 makes bash a nested shell, which reads none.
vmp_sshd_start() {
	mkdir -p /run/sshd
	cat >"$VMP_DIR/sshd_config" <<-CFG
	Port $VMP_SSH_PORT
	ListenAddress $VMP_ADDR_B
	HostKey $VMP_DIR/host_key
	AuthorizedKeysFile $VMP_DIR/authorized_keys
	PidFile $VMP_DIR/sshd.pid
	UsePAM no
	StrictModes no
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	LogLevel ERROR
	SetEnv SHLVL=1
	CFG
	ip netns exec "$VMP_NSB" /usr/sbin/sshd -D -e -f "$VMP_DIR/sshd_config" \
	    2>>"$VMP_DIR/sshd.log" &
	echo $! >"$VMP_DIR/sshd.bgpid"
	vmp_wait_port "$VMP_SSH_PORT"
}

vmp_sshd_stop() {
	[ -f "${VMP_DIR:-/nonexistent}/sshd.bgpid" ] || return 0
	kill "$(cat "$VMP_DIR/sshd.bgpid")" 2>/dev/null
	rm -f "$VMP_DIR/sshd.bgpid"
}

# vm-send from A to B's sshd, running B's vm-recv with B's run directory.
vmp_send() {
	inA "$VMP_BIN/vm-send" -p "$VMP_SSH_PORT" -i "$VMP_DIR/id" \
	    -K "$VMP_DIR/known_hosts" --user root \
	    -e "VMPIPE_RUNDIR=$VMP_RUN_B $VMP_BIN/vm-recv" "$@" "$VMP_ADDR_B"
}

# OpenSSH's own client from A to B, for comparisons.
vmp_ssh() {
	inA ssh -F /dev/null -i "$VMP_DIR/id" -p "$VMP_SSH_PORT" \
	    -o UserKnownHostsFile="$VMP_DIR/known_hosts" \
	    -o StrictHostKeyChecking=yes -o BatchMode=yes \
	    "root@$VMP_ADDR_B" "$@"
}

# A relocation server on B, in the foreground of a background job.
# Extra arguments go to vm-recv.
vmp_reloc_start() {
	rm -f "$VMP_DIR/reloc.pid"
	inB "$VMP_BIN/vm-recv" -k "$VMP_DIR/host_key" \
	    -a "$VMP_DIR/authorized_keys" --pidfile "$VMP_DIR/reloc.pid" "$@" \
	    --listen "$VMP_ADDR_B:$VMP_RELOC_PORT" 2>>"$VMP_DIR/reloc.log" &
	vmp_wait_port "$VMP_RELOC_PORT"
}

vmp_reloc_stop() {
	local i
	[ -f "${VMP_DIR:-/nonexistent}/reloc.pid" ] || return 0
	kill "$(cat "$VMP_DIR/reloc.pid")" 2>/dev/null
	rm -f "$VMP_DIR/reloc.pid"
	for i in $(seq 50); do
		ip netns exec "$VMP_NSB" ss -Htln "sport = :$VMP_RELOC_PORT" |
		    grep -q . || return 0
		sleep 0.05
	done
}

# For `run bash -c "... | vmp_send"'.
export -f inA inB vmp_send vmp_ssh
