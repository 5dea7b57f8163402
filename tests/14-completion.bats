#!/usr/bin/env bats
# bash completion (completion/vmpipe): every program's options as its
# usage() gives them, the arguments they name (files, directories,
# backends), and hosts from known_hosts.  The guests that `vm-ctl list`
# shows are completed in 11-ctl.bats, where a guest runs.

load test_helper

setup() {
	need_bash_completion
	vmpipe_setup
	export HOME="$TEST_TMP/home"
	mkdir -p "$HOME/.ssh"
}

teardown() {
	vmpipe_teardown
}

# The options in PROGRAM's usage(), found otherwise than the completion
# finds them: every word that starts with '-' after a blank, '[' or '|',
# a cluster of letters (-lqrv) as one option a letter.
usage_options() {
	"$1" -h 2>&1 | sed -n '/^usage: /,$p' |
	    grep -oE '(^|[][ |])--?[A-Za-z][-A-Za-z]*' | sed 's/^[][ |]//' |
	    while read -r o; do
		case $o in
		--*) echo "$o" ;;
		*) echo "${o#-}" | grep -o . | sed 's/^/-/' ;;
		esac
	    done | sort -u
}

@test "each program's options are completed from its usage()" {
	local p n=0
	for p in "$VMPIPE_BIN"/vm-*; do
		[ "$(basename "$p")" = vm-ctl ] && continue
		n=$((n + 1))
		diff -u <(usage_options "$p") <(complete_line "$p" -)
	done
	# Every program but vm-ctl (below), however many there are.
	[ "$n" -ge 9 ]
	# Spot checks, should both ways of reading the usage go wrong alike.
	run complete_line "$VMPIPE_BIN/vm-save" --
	[ "$output" = "$(printf '%s\n' --bundle --keep --max-pause --paused)" ]
	run complete_line "$VMPIPE_BIN/vm-migrate" --s
	[ "$output" = --settle ]
	complete_line "$VMPIPE_BIN/vm-send" - | grep -qx -- -K
	complete_line "$VMPIPE_BIN/vm-run" - | grep -qx -- --incoming
}

@test "vm-ctl: its verbs, then each verb's own options" {
	local c="$VMPIPE_BIN/vm-ctl"
	run complete_line "$c" ""
	[ "$output" = "$(printf '%s\n' console destroy info list pause rename resume)" ]
	run complete_line "$c" -b kvm p
	[ "$output" = pause ]
	# -b comes before the verb; after it, the verb's options alone.
	run complete_line "$c" -
	[ "$output" = -b ]
	run complete_line "$c" list -
	[ "$output" = --json ]
	run complete_line "$c" -b kvm info --
	[ "$output" = --json ]
	run complete_line "$c" resume -
	[ "$output" = --force ]
	run complete_line "$c" console -
	[ "$output" = -f ]
	run complete_line "$c" destroy -
	[ -z "$output" ]
}

@test "an option's argument is completed as its usage() names it" {
	mkdir "$TEST_TMP/w" "$TEST_TMP/w/dir1"
	touch "$TEST_TMP/w/file1" "$TEST_TMP/w/file2"
	cd "$TEST_TMP/w"
	run complete_line "$VMPIPE_BIN/vm-save" -b ""
	[ "$output" = "$(printf '%s\n' kvm xen)" ]
	run complete_line "$VMPIPE_BIN/vm-ctl" -b x
	[ "$output" = xen ]
	# "file": files (and directories to go into); "dir": directories.
	run complete_line "$VMPIPE_BIN/vm-save" -o fi
	[ "$output" = "$(printf '%s\n' file1 file2)" ]
	run complete_line "$VMPIPE_BIN/vm-migrate" -K ""
	[ "$output" = "$(printf '%s\n' dir1 file1 file2)" ]
	run complete_line "$VMPIPE_BIN/vm-recv" -d ""
	[ "$output" = dir1 ]
	# An argument that is a number or a name: nothing to offer.
	run complete_line "$VMPIPE_BIN/vm-save" -z ""
	[ -z "$output" ]
	# An operand that is a file: vm-inspect's, vm-restore's...
	run complete_line "$VMPIPE_BIN/vm-inspect" -q f
	[ "$output" = "$(printf '%s\n' file1 file2)" ]
	# ...counted past the options and their arguments.
	run complete_line "$VMPIPE_BIN/vm-restore" -C file1 -n x fi
	[ "$output" = "$(printf '%s\n' file1 file2)" ]
}

@test "hosts come from known_hosts, hashed entries left out" {
	cat > "$HOME/.ssh/known_hosts" <<-'EOF'
	hostb,10.1.0.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB
	|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAAC3
	[hostc]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC
	# a comment
	@cert-authority *.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID
	*.lan,!bad.lan ssh-rsa AAAAB3
	$(touch pwned) ssh-rsa AAAAB3
	EOF
	cd "$TEST_TMP"
	run complete_line "$VMPIPE_BIN/vm-send" ""
	[ "$output" = "$(printf '%s\n' 10.1.0.2 hostb hostc:2222)" ]
	run complete_line "$VMPIPE_BIN/vm-send" h
	[ "$output" = "$(printf '%s\n' hostb hostc:2222)" ]
	run complete_line "$VMPIPE_BIN/vm-send" -p 22 root@hostb
	[ "$output" = root@hostb ]
	# vm-migrate's host is its second operand: the first is a guest.
	run complete_line "$VMPIPE_BIN/vm-migrate" --live web1 1
	[ "$output" = 10.1.0.2 ]
	# -K names another file, as it does for the program.
	echo "hostk ssh-ed25519 AAAAC3" > "$TEST_TMP/kh"
	run complete_line "$VMPIPE_BIN/vm-send" -K "$TEST_TMP/kh" ""
	[ "$output" = hostk ]
	# No word of the file was run.
	[ ! -e "$TEST_TMP/pwned" ]
	# No known_hosts, no hosts; and no failure.
	rm "$HOME/.ssh/known_hosts"
	run complete_line "$VMPIPE_BIN/vm-send" ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "make install puts the completion under each program's name" {
	cd "$VMPIPE_TOP"
	# A make of its own, not a part of the make that runs the suites.
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -s install DESTDIR="$TEST_TMP/dest" PREFIX=/usr
	[ "$status" -eq 0 ]
	local d="$TEST_TMP/dest/usr/share/bash-completion/completions" p n=0
	cmp completion/vmpipe "$d/vmpipe"
	for p in "$VMPIPE_BIN"/vm-*; do
		n=$((n + 1))
		[ "$(readlink "$d/$(basename "$p")")" = vmpipe ]
	done
	[ "$n" -ge 10 ]
	# Each is registered by the file that bash-completion loads for it.
	for p in "$d"/vm-*; do
		bash --norc --noprofile -c '. "$0" && . "$1" &&
		    complete -p "${1##*/}"' "$BASH_COMPLETION" "$p" |
		    grep -q " -F _vmpipe $(basename "$p")\$"
	done
}
