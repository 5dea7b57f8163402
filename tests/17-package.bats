#!/usr/bin/env bats
# The Debian packages: `make deb' builds vmpipe, vmpipe-kvm and
# vmpipe-xen from a copy of this tree; lintian finds nothing to say; the
# packages unpacked into a throwaway root (dpkg -x) run from there; only
# vmpipe-xen needs Xen's libraries; the units pass systemd-analyze
# verify (that one needs no debhelper).  No guest is run here, and
# nothing is installed on this host.

load test_helper
bats_require_minimum_version 1.5.0

# The packages are built once for the file (about a minute).
setup_file() {
	DEB=$BATS_FILE_TMPDIR/deb
	export DEB
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	    return 0
	# No debug symbol packages: they are not looked at here.
	DEB_BUILD_OPTIONS=noddebs make -s -C "$BATS_TEST_DIRNAME/.." deb \
	    DEB_OUT="$DEB" >"$BATS_FILE_TMPDIR/make.log" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/make.log" >&3; return 1; }
}

setup() {
	vmpipe_setup
	ROOT=$TEST_TMP/root
	cd "$VMPIPE_TOP"
}

# Skip (or, with VMPIPE_STRICT=1, fail) where no package can be built.
need_debhelper() {
	if ! command -v dpkg-buildpackage >/dev/null ||
	    ! command -v dh >/dev/null; then
		[ "${VMPIPE_STRICT:-0}" = 1 ] && { echo "no debhelper" >&2; return 1; }
		skip "no dpkg-buildpackage or debhelper (scripts/deps pkg)"
	fi
}

teardown() {
	vmpipe_teardown
}

deb_of() { echo "$DEB/$1"_*_amd64.deb; }

# unpack PACKAGE...: into $ROOT.
unpack() {
	local p
	mkdir -p "$ROOT"
	for p in "$@"; do
		dpkg -x "$(deb_of "$p")" "$ROOT"
	done
}

# needs_xen FILE: does FILE link one of Xen's libraries?
needs_xen() {
	readelf -d "$1" | grep NEEDED | grep -q 'libxen'
}

@test "three packages, and each program in one of vmpipe and a backend package" {
	local p
	need_debhelper
	for p in vmpipe vmpipe-kvm vmpipe-xen; do
		[ -f "$(deb_of "$p")" ]
	done
	run -0 dpkg-deb -c "$(deb_of vmpipe)"
	for p in bin/vm-inspect bin/vm-send bin/vm-migrate bin/vm-xlconv \
	    sbin/vm-run sbin/vm-checkpoint; do
		[[ $output == *" ./usr/$p"* ]]
	done
	for p in vmpipe-kvm vmpipe-xen; do
		run -0 dpkg-deb -c "$(deb_of "$p")"
		[ "$(echo "$output" | grep -c '/usr/s*bin/vm-')" -eq 6 ]
	done
}

@test "lintian: nothing to say" {
	need_debhelper
	command -v lintian >/dev/null || skip "no lintian"
	# Informational and pedantic tags too: each is overridden, with
	# its reason, in debian/*.lintian-overrides.
	run lintian -I --pedantic --fail-on error,warning,info,pedantic \
	    "$DEB"/vmpipe_*_amd64.changes
	echo "$output"
	[ "$status" -eq 0 ]
	! echo "$output" | grep -q '^[EWIP]:'
}

@test "vmpipe and vmpipe-kvm need no Xen library; vmpipe-xen does" {
	local f
	need_debhelper
	unpack vmpipe vmpipe-kvm
	for f in "$ROOT"/usr/bin/vm-* "$ROOT"/usr/sbin/vm-*; do
		[ "$(head -c 4 "$f")" = $'\x7fELF' ] || continue
		if needs_xen "$f"; then
			echo "$f links libxen" >&2
			return 1
		fi
	done
	run -0 dpkg-deb -f "$(deb_of vmpipe-kvm)" Depends
	[[ $output != *libxen* ]]
	run -0 dpkg-deb -f "$(deb_of vmpipe)" Depends
	[[ $output != *libxen* ]]
	run -0 dpkg-deb -f "$(deb_of vmpipe-xen)" Depends
	[[ $output == *libxen* ]]
	dpkg -x "$(deb_of vmpipe-xen)" "$TEST_TMP/xen"
	needs_xen "$TEST_TMP/xen/usr/bin/vm-save"
}

@test "installed programs run: vm-inspect checks a vector, usage exits 2" {
	need_debhelper
	unpack vmpipe vmpipe-kvm
	run -0 "$ROOT/usr/bin/vm-inspect" tests/vectors/plain.vmi
	[ "$output" = "$(cat tests/vectors/plain.txt)" ]
	run -0 "$ROOT/usr/bin/vm-inspect" -q < tests/vectors/zstd.vmi
	run -2 "$ROOT/usr/bin/vm-inspect" -h
	[[ $output == *"usage: vm-inspect [-qv] [file]"* ]]
	run -2 "$ROOT/usr/bin/vm-save" -h
	[[ $output == *"usage: vm-save "* ]]
	run -2 "$ROOT/usr/sbin/vm-recv" -h
	run -2 "$ROOT/usr/sbin/vm-run" -h
	run -2 "$ROOT/usr/sbin/vm-checkpoint" -h
	[[ $output == *"usage: vm-checkpoint "* ]]
}

@test "configuration files are conffiles, units and completion are in place" {
	local f
	need_debhelper
	dpkg-deb -e "$(deb_of vmpipe)" "$TEST_TMP/ctl"
	for f in recv.conf vm-recv.conf checkpoint.conf; do
		grep -qx "/etc/vmpipe/$f" "$TEST_TMP/ctl/conffiles"
	done
	unpack vmpipe
	# Shipped commented out: the same as no file.
	! grep -v '^#' "$ROOT/etc/vmpipe/recv.conf" | grep -q .
	! grep -v '^#' "$ROOT/etc/vmpipe/vm-recv.conf" | grep -q .
	for f in vmpipe-recv.service vmpipe-checkpoint@.service \
	    vmpipe-checkpoint@.timer; do
		[ -f "$ROOT/lib/systemd/system/$f" ]
	done
	grep -q '^ExecStart=/usr/sbin/vm-recv ' \
	    "$ROOT/lib/systemd/system/vmpipe-recv.service"
	[ -f "$ROOT/usr/share/bash-completion/completions/vmpipe" ]
	[ -L "$ROOT/usr/share/bash-completion/completions/vm-save" ]
	bash -n "$ROOT/usr/share/bash-completion/completions/vmpipe"
	# The relocation server is enabled only where it was before (an
	# upgrade), never by an installation.
	grep -q "deb-systemd-helper debian-installed 'vmpipe-recv.service'" \
	    "$TEST_TMP/ctl/postinst"
	grep -q 'systemd-sysusers' "$TEST_TMP/ctl/postinst"
}

@test "systemd-analyze verify: the units, as make install puts them" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	local f b u=$TEST_TMP/units
	# As the package installs them, but from the tree: no debhelper.
	make -s install DESTDIR="$ROOT" PREFIX=/usr GUESTDIR=/usr/lib/vmpipe \
	    >/dev/null
	mkdir -p "$u"
	# Templates as an instance; programs where they were installed.
	for f in "$ROOT"/lib/systemd/system/*; do
		b=$(basename "$f")
		sed "s|/usr/sbin/|$ROOT/usr/sbin/|g" "$f" > "$u/${b/@./@web1.}"
	done
	[ "$(ls "$u" | wc -l)" -eq 3 ]
	MANPATH=$ROOT/usr/share/man run systemd-analyze verify "$u"/*
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
