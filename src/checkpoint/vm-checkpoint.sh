#!/bin/sh
# vm-checkpoint: one checkpoint of a running guest, kept with its
# predecessors up to a count (vm-checkpoint(8)).  vm-save --keep writes
# it to a hidden temporary name in the directory, vm-inspect checks it,
# and only a whole one is renamed into place; then the oldest beyond
# KEEP go.  A failure at any step removes the temporary file and
# nothing else.
#
# Exit status: 0 written and kept; 1 failed, nothing removed; 2 bad
# usage or configuration; 3 vm-save left the guest paused.
set -u
# Names sort as bytes, whatever the caller's locale.
LC_ALL=C
export LC_ALL

prog=vm-checkpoint
conf_dir=${VMPIPE_CONF_DIR:-/etc/vmpipe}

usage() {
	echo "usage: vm-checkpoint [-bqz] [-c config] [-d dir] [-k keep] guest" >&2
	exit 2
}

die() {
	echo "$prog: $2" >&2
	exit "$1"
}

say() {
	[ "$quiet" = 1 ] || echo "$prog: $*" >&2
}

# yes or no, as a configuration value or an option gives it.
yesno() {
	case $2 in
	yes | true | 1) echo yes ;;
	no | false | 0 | '') echo no ;;
	*) die 2 "$1: expected yes or no, found '$2'" ;;
	esac
}

# read_conf FILE: KEY=value lines; '#' starts a comment.  The file is
# read, never run.
read_conf() {
	ln=0
	while IFS= read -r line || [ -n "$line" ]; do
		ln=$((ln + 1))
		line=${line%%#*}
		# Trim blanks on both sides.
		line=$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		[ -n "$line" ] || continue
		case $line in
		*=*) ;;
		*) die 2 "$1:$ln: bad line: expected KEY=value, found '$line'" ;;
		esac
		k=${line%%=*}
		v=${line#*=}
		# A value may be quoted as a shell would.
		case $v in
		\"*\") v=${v#\"}; v=${v%\"} ;;
		\'*\') v=${v#\'}; v=${v%\'} ;;
		esac
		case $k in
		DIR) c_dir=$v ;;
		KEEP) c_keep=$v ;;
		BUNDLE) c_bundle=$(yesno "$1:$ln: BUNDLE" "$v") || exit 2 ;;
		ZSTD) c_zstd=$(yesno "$1:$ln: ZSTD" "$v") || exit 2 ;;
		*) die 2 "$1:$ln: unknown key '$k': expected DIR, KEEP, BUNDLE or ZSTD" ;;
		esac
	done < "$1"
}

quiet=0 o_bundle='' o_zstd='' o_dir='' o_keep='' o_conf=''
while getopts bc:d:k:qz opt; do
	case $opt in
	b) o_bundle=yes ;;
	c) o_conf=$OPTARG ;;
	d) o_dir=$OPTARG ;;
	k) o_keep=$OPTARG ;;
	q) quiet=1 ;;
	z) o_zstd=yes ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
guest=$1

# The guest's name makes file names: the one name rule of vmpipe(7).
case $guest in
*[!A-Za-z0-9._+-]* | [!A-Za-z0-9]* | '')
	die 2 "bad guest name \"$guest\": expected 1 to 63 letters, digits, '.', '_', '+' or '-', the first a letter or digit" ;;
esac
[ ${#guest} -le 63 ] || die 2 "bad guest name \"$guest\": longer than 63"

c_dir=/var/lib/vmpipe/checkpoint c_keep=3 c_bundle=no c_zstd=no
if [ -n "$o_conf" ]; then
	[ -r "$o_conf" ] || die 2 "can't read $o_conf"
	read_conf "$o_conf"
else
	for f in "$conf_dir/checkpoint.conf" "$conf_dir/checkpoint/$guest.conf"; do
		[ ! -e "$f" ] || read_conf "$f"
	done
fi
dir=${o_dir:-$c_dir}
keep=${o_keep:-$c_keep}
bundle=${o_bundle:-$c_bundle}
zstd=${o_zstd:-$c_zstd}
case $keep in
'' | *[!0-9]* | 0*) die 2 "bad keep '$keep': expected a count of 1 or more" ;;
esac
case $dir in
/*) ;;
*) die 2 "bad directory '$dir': expected an absolute path" ;;
esac

# The programs beside this one (the build tree's bin/, or an installed
# sbin beside its bin), else those on PATH.
here=$(dirname "$0")
find_prog() {
	for p in "$here/$1" "$here/../bin/$1"; do
		[ -x "$p" ] && { echo "$p"; return; }
	done
	echo "$1"
}
vm_save=$(find_prog vm-save)
vm_inspect=$(find_prog vm-inspect)
if [ "$zstd" = yes ]; then
	command -v zstd >/dev/null || die 1 "ZSTD=yes, but there is no zstd"
fi

# Checkpoints hold a guest's memory: nobody else reads them.
umask 077
mkdir -p "$dir" || die 1 "can't make $dir"

# access(2) says so for a read-only file system too, even to root.
[ -w "$dir" ] || die 1 "can't write in $dir"

# One checkpoint at a time in a directory (a lock on the directory
# itself, so that no lock file is left behind): the saves do not compete
# for its disk, and a temporary file of this guest's is one that a run
# that was killed left, safe to remove.
exec 9<"$dir"
if ! flock -n 9; then
	say "waiting for another checkpoint in $dir"
	flock 9 || die 1 "can't lock $dir"
fi
rm -f "$dir/.$guest".*.tmp "$dir/.$guest".*.tmp.rc

ext=vmi
[ "$bundle" = yes ] && ext=tar
[ "$zstd" = yes ] && ext=$ext.zst
# UTC to the nanosecond: names sort as the checkpoints were made.
stamp=$(date -u +%Y%m%dT%H%M%S.%NZ)
final=$dir/$guest.$stamp.$ext
tmp=$dir/.$guest.$stamp.$ext.tmp
trap 'rm -f "$tmp" "$tmp.rc"' EXIT
trap 'exit 1' HUP INT TERM

# The lock (fd 9) is this script's: no program it runs holds it.
set -- --keep
[ "$quiet" = 1 ] && set -- "$@" -q
[ "$bundle" = yes ] && set -- "$@" --bundle
if [ "$zstd" = yes ]; then
	# No pipefail in sh: vm-save's status comes back through a file.
	{ "$vm_save" "$@" "$guest" 9<&-; echo $? > "$tmp.rc"; } |
	    zstd -q -T0 -c > "$tmp" 9<&-
	zrc=$?
	rc=$(cat "$tmp.rc" 2>/dev/null || echo 1)
	[ "$rc" -ne 0 ] || [ "$zrc" -eq 0 ] || rc=1
	[ "$rc" -ne 0 ] || sync "$tmp" || rc=1
else
	# vm-save -o flushes the file itself.
	"$vm_save" "$@" -o "$tmp" "$guest" 9<&-
	rc=$?
fi
case $rc in
0) ;;
3) die 3 "$guest: vm-save failed and left the guest paused; no checkpoint removed" ;;
*) die 1 "$guest: vm-save failed; no checkpoint removed" ;;
esac

if [ "$zstd" = yes ]; then
	zstd -q -dc "$tmp" 9<&- | "$vm_inspect" -q 9<&-
else
	"$vm_inspect" -q "$tmp" 9<&-
fi || die 1 "$guest: the new checkpoint is not whole (vm-inspect); no checkpoint removed"

mv -f "$tmp" "$final" || die 1 "can't rename $tmp to $final"
sync "$dir" 2>/dev/null || true
say "$guest: $final"

# Retention: this guest's checkpoints, all but the newest KEEP
# removed.  Their names hold the time they were made, so the glob lists
# them oldest first.  The new one, just checked, is the newest and
# always stays.
d8='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
t6='[0-9][0-9][0-9][0-9][0-9][0-9]'
is_checkpoint() {
	# shellcheck disable=SC2254
	case ${1#"$dir/$guest".} in
	${d8}T${t6}.${t6}[0-9][0-9][0-9]Z.vmi | ${d8}T${t6}.${t6}[0-9][0-9][0-9]Z.vmi.zst | \
	${d8}T${t6}.${t6}[0-9][0-9][0-9]Z.tar | ${d8}T${t6}.${t6}[0-9][0-9][0-9]Z.tar.zst)
		return 0 ;;
	esac
	return 1
}
n=0
for f in "$dir/$guest".*; do
	! is_checkpoint "$f" || n=$((n + 1))
done
for f in "$dir/$guest".*; do
	if [ "$n" -le "$keep" ] || [ "$f" = "$final" ]; then break; fi
	is_checkpoint "$f" || continue
	rm -f "$f" || die 1 "can't remove $f"
	say "$guest: removed $f"
	n=$((n - 1))
done
exit 0
