# test_helper.bash: shared by tests/*.bats.  Load with `load test_helper`.
#
# Environment:
#   VMPIPE_BIN     directory of the vm-* programs (default: the repo's bin/)
#   VMPIPE_GUEST   the test guest image (default: guest/guest.elf)
#   VMPIPE_STRICT  set to 1 to make every skip a failure (CI)
#   VMPIPE_TIME_SCALE  multiplies the helpers' waits (default 1; the
#                  emulated KVM machine of tests/kvm/run sets 4)
#
# Every test gets its own $TEST_TMP and its own run directory
# ($VMPIPE_RUNDIR, exported), and every guest still running there at the
# end of a test is destroyed.

VMPIPE_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${VMPIPE_BIN:=$VMPIPE_TOP/bin}"
: "${VMPIPE_GUEST:=$VMPIPE_TOP/guest/guest.elf}"
: "${VMPIPE_KVM_CLONE:=$VMPIPE_TOP/obj/tests/kvm-clone}"
: "${VMPIPE_TIME_SCALE:=1}"
export VMPIPE_BIN VMPIPE_GUEST VMPIPE_TIME_SCALE
# create() starts this vm-run for restored guests.
export VMPIPE_RUN="${VMPIPE_RUN:-$VMPIPE_BIN/vm-run}"

vmpipe_setup() {
	TEST_TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/vmpipe-test.XXXXXX")
	export TEST_TMP
	export VMPIPE_RUNDIR="$TEST_TMP/run"
	mkdir -p "$VMPIPE_RUNDIR"
}

vmpipe_teardown() {
	local p pid
	[ -n "${VMPIPE_RUNDIR:-}" ] || return 0
	for p in "$VMPIPE_RUNDIR"/*.pid; do
		[ -e "$p" ] || continue
		pid=$(cat "$p" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for p in "$VMPIPE_RUNDIR"/*.pid; do
		[ -e "$p" ] || continue
		pid=$(cat "$p" 2>/dev/null) || continue
		wait_pid_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	done
	rm -rf "$TEST_TMP"
}

# Skip (or, with VMPIPE_STRICT=1, fail) when KVM is not usable.
need_kvm() {
	if [ ! -w /dev/kvm ]; then
		[ "${VMPIPE_STRICT:-0}" = 1 ] && { echo "no /dev/kvm" >&2; return 1; }
		skip "no usable /dev/kvm"
	fi
}

# start_guest NAME [vm-run options...]: a daemonized 2-vCPU, 64 MiB guest.
start_guest() {
	local name=$1
	shift
	"$VMPIPE_BIN/vm-run" -D -n "$name" --vcpus 2 -m 64M "$@" "$VMPIPE_GUEST"
}

guest_log() { echo "$VMPIPE_RUNDIR/$1.log"; }
guest_pid() { cat "$VMPIPE_RUNDIR/$1.pid"; }

# The number of the last heartbeat in NAME's log, or 0.
last_hb() {
	local n
	n=$(grep -a '^vmpipe-guest: hb ' "$(guest_log "$1")" 2>/dev/null |
	    tail -n 1 | awk '{ print $3 }')
	echo "${n:-0}"
}

# A field (gen, verified, errors) of the last heartbeat.
hb_field() {
	grep -a '^vmpipe-guest: hb ' "$(guest_log "$1")" | tail -n 1 |
	    awk -v f="$2" '{ for (i = 4; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}

# wait_hb NAME N [SECONDS]: wait until heartbeat N has been printed.
wait_hb() {
	local name=$1 n=$2 t=$(( ${3:-20} * VMPIPE_TIME_SCALE )) i=0
	while [ "$(last_hb "$name")" -lt "$n" ]; do
		i=$((i + 1))
		if [ "$i" -gt $((t * 10)) ]; then
			echo "guest $name: no heartbeat $n in ${t}s" \
			    "(last $(last_hb "$name"))" >&2
			return 1
		fi
		sleep 0.1
	done
}

# start_guest_hb NAME N [vm-run options...]: start, then wait for N beats.
start_guest_hb() {
	local name=$1 n=$2
	shift 2
	start_guest "$name" "$@" && wait_hb "$name" "$n"
}

# wait_for FILE REGEX [SECONDS]: wait until a line of FILE matches.
wait_for() {
	local f=$1 re=$2 t=$(( ${3:-20} * VMPIPE_TIME_SCALE )) i=0
	until grep -aEq -- "$re" "$f" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $((t * 10)) ]; then
			echo "no line matching '$re' in $f after ${t}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# wait_pid_gone PID [SECONDS]: gone, or a zombie nobody reaped yet.
wait_pid_gone() {
	local pid=$1 t=$(( ${2:-10} * VMPIPE_TIME_SCALE )) i=0 st
	while [ -e "/proc/$pid" ]; do
		# The process may go between the test and the read.
		st=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" \
		    2>/dev/null || true)
		[ "$st" = Z ] && return 0
		i=$((i + 1))
		[ "$i" -gt $((t * 10)) ] && return 1
		sleep 0.1
	done
}

# assert_clean NAME: the guest's self-check found nothing wrong, and no
# vCPU of it stopped.
assert_clean() {
	local log
	log=$(guest_log "$1")
	if grep -a 'ERROR' "$log" >&2; then
		echo "guest $1 reported errors" >&2
		return 1
	fi
	if grep -a 'vm-run: vCPU .* stopped' "$log" >&2; then
		echo "guest $1 lost a vCPU" >&2
		return 1
	fi
	# A guest just restored under a new name has a log of its own with
	# no heartbeat yet: wait for its first, not fail for want of it.
	[ -n "$(hb_field "$1" errors)" ] || wait_hb "$1" 1 || return 1
	[ "$(hb_field "$1" errors)" = 0 ] || {
		echo "guest $1: last heartbeat counts errors" >&2
		return 1
	}
}

# What every program says of the guest name "a@b", after its own name:
# the one name rule (src/lib/names.c, vmpipe(7)).
BAD_NAME_AT_B="bad guest name \"a@b\": expected letters, digits, '.', '_', '+' or '-', found '@' at octet 2"

# Skip (or, with VMPIPE_STRICT=1, fail) without bash-completion's helpers.
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
need_bash_completion() {
	if [ ! -r "$BASH_COMPLETION" ]; then
		[ "${VMPIPE_STRICT:-0}" = 1 ] && { echo "no bash-completion" >&2; return 1; }
		skip "no bash-completion (scripts/deps test)"
	fi
}

# complete_line WORD...: what completion/vmpipe offers for the last WORD
# of a command line of these words, one a line, sorted, asked as bash
# asks it: the function that `complete -p` names for the command, in a
# fresh bash with bash-completion's helpers.
complete_line() {
	bash --norc --noprofile -c '
		. "$0" && . "$1" || exit 1
		shift
		spec=$(complete -p "${1##*/}") || exit 1
		f=${spec#*-F } f=${f%% *}
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
		COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" \
		    "${COMP_WORDS[COMP_CWORD - 1]}"
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
	    "$BASH_COMPLETION" "$VMPIPE_TOP/completion/vmpipe" "$@" | sort
}

# wait_field NAME FIELD N [SECONDS]: until FIELD of NAME's heartbeat has
# grown by N from its first value seen.  A log with no heartbeat yet (a
# guest just restored) is "not yet": an empty value must not end the wait.
wait_field() {
	local name=$1 f=$2 n=$3 t=$(( ${4:-30} * VMPIPE_TIME_SCALE )) v v0= i=0
	while :; do
		v=$(hb_field "$name" "$f")
		if [ -n "$v" ]; then
			[ -n "$v0" ] || v0=$v
			[ "$v" -lt $((v0 + n)) ] || return 0
		fi
		i=$((i + 1))
		if [ "$i" -gt $((t * 10)) ]; then
			echo "guest $name: $f ${v:-(no heartbeat)}, want" \
			    "$((${v0:-0} + n)) in ${t}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# wait_disk NAME N [SECONDS]: until guest NAME (vm-run --disk) has read
# back N more blocks.
wait_disk() { wait_field "$1" disk-verified "$2" "${3:-30}"; }

# disk_clean NAME: its disk check read blocks back and found nothing
# wrong.
disk_clean() {
	assert_clean "$1"
	[ "$(hb_field "$1" disk-errors)" = 0 ]
	! grep -a 'ERROR disk' "$(guest_log "$1")" >&2
}
