# takes: 3
# The project's programs, built on the host, run in dom0.
. ./lib.sh
set -- /usr/local/bin/vm-*
[ -e "$1" ] || skip "no programs in bin/ (build with make first)"
for p; do
	out=$("$p" -h 2>&1); rc=$?
	# Usage errors are fine; a missing library or a crash is not.
	case $out in *"error while loading shared libraries"*)
		fail "$p: $out" ;;
	esac
	[ "$rc" -lt 128 ] || fail "$p died of a signal ($rc)"
	note "$(basename "$p") runs (exit $rc)"
done
if [ -x /usr/local/bin/vm-inspect ]; then
	img=$(ls vectors/*.vmi 2>/dev/null | head -n 1)
	if [ -n "$img" ]; then
		vm-inspect "$img" || fail "vm-inspect $img"
	fi
fi
echo ok
