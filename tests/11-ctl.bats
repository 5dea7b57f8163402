#!/usr/bin/env bats
# vm-ctl on KVM guests: list, info, pause, resume, destroy, console, and
# who may use a guest's control socket.

load test_helper

setup() {
	need_kvm
	vmpipe_setup
}

teardown() {
	vmpipe_teardown
}

ctl() {
	"$VMPIPE_BIN/vm-ctl" -b kvm "$@"
}

@test "usage prints the synopsis and exits 2" {
	run "$VMPIPE_BIN/vm-ctl"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "usage: vm-ctl [-b backend] list [--json]" ]
	[ "${lines[1]}" = "       vm-ctl [-b backend] info [--json] guest" ]
	[ "${lines[5]}" = "       vm-ctl [-b backend] rename guest name" ]
	[ "${lines[6]}" = "       vm-ctl [-b backend] console [-f] guest" ]
	run "$VMPIPE_BIN/vm-ctl" info
	[ "$status" -eq 2 ]
	# Only Xen guests take another name (a migration to this same host).
	run ctl rename g h
	[ "$status" -eq 1 ]
	[[ "$output" == *"backend kvm can't rename guests"* ]]
	run ctl rename g 'bad/name'
	[ "$status" -eq 2 ]
}

@test "list and info describe a running guest" {
	start_guest g -u 0f0e0d0c-0b0a-0908-0706-050403020100
	run ctl list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == NAME* ]]
	[[ "${lines[1]}" =~ ^g\ +$(guest_pid g)\ +running\ +2\ +64\ 0f0e0d0c-0b0a-0908-0706-050403020100$ ]]
	run ctl info g
	[ "$status" -eq 0 ]
	[[ "$output" == *"name: g"* ]]
	[[ "$output" == *"backend: kvm"* ]]
	[[ "$output" == *"vcpus: 2"* ]]
	[[ "$output" == *"memory: 67108864"* ]]
	[[ "$output" == *"state: running"* ]]
}

# json PYTHON: run PYTHON with the JSON document of stdin as d, parsed
# strictly: no NaN or Infinity, no raw control character in a string.
json() {
	python3 -c '
import json, os, sys
def refuse(c):
    raise ValueError("not JSON: " + c)
d = json.loads(sys.stdin.read(), parse_constant=refuse)
exec(sys.argv[1])' "$1"
}

# What the table of list and the lines of info say, made from the JSON.
LIST_AS_TABLE='
for g in d:
    print("%-20s %8d %-8s %5d %8d %s" % (g["name"], g["id"], g["state"],
        g["vcpus"], g["memory_bytes"] >> 20, g["uuid"]))'
INFO_AS_LINES='
print("name: %s\nuuid: %s\nbackend: %s\nid: %d\nstate: %s\nvcpus: %d\n"
    "memory: %d\ncpu-features: %08x %08x %08x %08x" % ((d["name"], d["uuid"],
    d["backend"], d["id"], d["state"], d["vcpus"], d["memory_bytes"]) +
    tuple(d["cpu_features"])))'
# The keys of vm-ctl(8), in its order, and their types.
JSON_KEYS='
keys = ["name", "uuid", "backend", "id", "state", "paused", "vcpus",
    "memory_bytes"]
types = [str, str, str, int, str, bool, int, int]
def check(g, more=[], moretypes=[]):
    assert list(g) == keys + more, list(g)
    for k, t in zip(keys + more, types + moretypes):
        assert type(g[k]) is t, (k, g[k])
    assert g["paused"] == (g["state"] == "paused"), g'

@test "list --json and info --json say what the table says, as numbers" {
	[ "$(ctl list --json)" = "[]" ]
	start_guest g -u 0f0e0d0c-0b0a-0908-0706-050403020100
	start_guest h --vcpus 1 -m 32M
	ctl list --json > "$TEST_TMP/list.json"
	json "$LIST_AS_TABLE" < "$TEST_TMP/list.json" | sort > "$TEST_TMP/got"
	ctl list | tail -n +2 | sort > "$TEST_TMP/want"
	diff -u "$TEST_TMP/want" "$TEST_TMP/got"
	# ...and what the guests are: as started, running, of these vm-runs.
	G=$(guest_pid g) H=$(guest_pid h) json "$JSON_KEYS"'
assert len(d) == 2, d
check(d[0]); check(d[1])
uuid = {g["name"]: g["uuid"] for g in d}
want = {
    "g": ["0f0e0d0c-0b0a-0908-0706-050403020100", "kvm",
        int(os.environ["G"]), "running", False, 2, 64 << 20],
    "h": [uuid["h"], "kvm", int(os.environ["H"]), "running", False, 1,
        32 << 20]}
got = {g["name"]: [g[k] for k in keys[1:]] for g in d}
assert got == want, got' < "$TEST_TMP/list.json"
	for n in g h; do
		ctl info --json "$n" > "$TEST_TMP/info.json"
		json "$INFO_AS_LINES" < "$TEST_TMP/info.json" > "$TEST_TMP/got"
		ctl info "$n" > "$TEST_TMP/want"
		diff -u "$TEST_TMP/want" "$TEST_TMP/got"
		json "$JSON_KEYS"'
check(d, ["cpu_features"], [list])
f = d["cpu_features"]
assert len(f) == 4 and f != [0, 0, 0, 0], f
assert all(type(x) is int and 0 <= x < 1 << 32 for x in f), f' \
		    < "$TEST_TMP/info.json"
	done
	# One document, one line.
	[ "$(wc -l < "$TEST_TMP/info.json")" -eq 1 ]
}

@test "--json follows a pause and a resume" {
	start_guest_hb g 1
	start_guest_hb h 1
	paused_of() {
		ctl list --json | json '
print(" ".join(sorted("%s=%s" % (g["name"], g["paused"]) for g in d)))'
	}
	[ "$(paused_of)" = "g=False h=False" ]
	ctl pause h
	[ "$(paused_of)" = "g=False h=True" ]
	ctl info --json h | json 'assert d["paused"] is True and d["state"] == "paused", d'
	ctl info --json g | json 'assert d["paused"] is False and d["state"] == "running", d'
	# The table agrees, and so does the guest: no heartbeat while paused.
	[[ "$(ctl info h)" == *"state: paused"* ]]
	a=$(last_hb h)
	sleep 0.6
	[ "$(last_hb h)" -eq "$a" ]
	# vm-ctl(8)'s example: the paused guests by name.
	[ "$(ctl list --json | jq -r '.[] | select(.paused) | .name')" = h ]
	ctl resume h
	[ "$(paused_of)" = "g=False h=False" ]
	[ -z "$(ctl list --json | jq -r '.[] | select(.paused) | .name')" ]
	wait_hb h $((a + 2))
	assert_clean h
}

@test "an unknown guest is a failure with a message" {
	run ctl info nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == "vm-ctl: no KVM guest named nosuch"* ]]
	# With --json too, and no document on standard output.
	run ctl info --json nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == "vm-ctl: no KVM guest named nosuch"* ]]
	[ -z "$(ctl info --json nosuch 2> /dev/null)" ]
}

@test "pause stops the heartbeat and resume continues it" {
	start_guest_hb g 3 -w hb=50
	run ctl pause g
	[ "$status" -eq 0 ]
	[[ "$(ctl info g)" == *"state: paused"* ]]
	a=$(last_hb g)
	sleep 0.6
	[ "$(last_hb g)" -eq "$a" ]
	run ctl resume g
	[ "$status" -eq 0 ]
	wait_hb g $((a + 3))
	# Continued, not restarted.
	[ "$(grep -ac 'vmpipe-guest: start' "$(guest_log g)")" -eq 1 ]
	assert_clean g
}

@test "destroy removes the guest: process, socket and pid file" {
	start_guest_hb g 1
	pid=$(guest_pid g)
	run ctl destroy g
	[ "$status" -eq 0 ]
	[ ! -e "$VMPIPE_RUNDIR/g.sock" ]
	[ ! -e "$VMPIPE_RUNDIR/g.pid" ]
	wait_pid_gone "$pid"
	run ctl info g
	[ "$status" -eq 1 ]
}

@test "console prints the guest's log; -f follows it until the guest goes" {
	start_guest_hb g 2
	run ctl console g
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "vm-run: guest g started: 2 vCPUs, 64 MiB"* ]]
	[[ "$output" == *"vmpipe-guest: hb 2 gen "* ]]
	ctl console -f g > "$TEST_TMP/follow" &
	fpid=$!
	a=$(last_hb g)
	wait_hb g $((a + 3))
	ctl destroy g
	wait "$fpid"
	grep -aq "vmpipe-guest: hb $((a + 3)) " "$TEST_TMP/follow"
}

@test "a user other than the owner is refused" {
	start_guest g
	chmod 755 "$TEST_TMP" "$VMPIPE_RUNDIR"
	# The socket's mode keeps others out...
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$VMPIPE_BIN/vm-ctl" -b kvm info g
	[ "$status" -eq 1 ]
	[[ "$output" == *"Permission denied"* ]]
	# ...and so does vm-run's check of the peer, should the mode change.
	chmod 666 "$VMPIPE_RUNDIR/g.sock"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$VMPIPE_BIN/vm-ctl" -b kvm info g
	[ "$status" -eq 1 ]
	[[ "$output" == *"permission denied: not the guest's owner"* ]]
	run ctl info g
	[ "$status" -eq 0 ]
}

@test "info answers at once while the vCPUs run without exiting" {
	# rate=max and a 30 s heartbeat keep both vCPUs inside KVM_RUN: an
	# info that waited for them to leave would take seconds; one that
	# does not answers in milliseconds (tenths under an emulator).
	start_guest g -w rate=max,hb=30000
	wait_for "$(guest_log g)" '^vmpipe-guest: ready filled' 20
	for i in 1 2 3; do
		s=$(date +%s%N)
		run ctl info g
		[ "$status" -eq 0 ]
		[[ "$output" == *"state: running"* ]]
		[ $(( ($(date +%s%N) - s) / 1000000 )) -lt 5000 ]
	done
}

@test "bash completion offers the guests that vm-ctl list shows" {
	need_bash_completion
	start_guest g
	start_guest h
	start_guest web1
	ctl pause h
	local all names
	all=$(printf '%s\n' g h web1)
	names=$(ctl list | awk 'NR > 1 { print $1 }' | sort)
	[ "$names" = "$all" ]
	# The guest operand of vm-save, vm-precopy, vm-migrate, vm-send --hold.
	for p in vm-save vm-precopy vm-migrate; do
		run complete_line "$VMPIPE_BIN/$p" ""
		[ "$output" = "$names" ]
	done
	run complete_line "$VMPIPE_BIN/vm-save" --keep -b kvm w
	[ "$output" = web1 ]
	run complete_line "$VMPIPE_BIN/vm-send" --hold ""
	[ "$output" = "$names" ]
	# vm-ctl's verbs: pause a running guest, resume a paused one.
	run complete_line "$VMPIPE_BIN/vm-ctl" -b kvm info ""
	[ "$output" = "$names" ]
	run complete_line "$VMPIPE_BIN/vm-ctl" pause ""
	[ "$output" = "$(printf '%s\n' g web1)" ]
	run complete_line "$VMPIPE_BIN/vm-ctl" resume --force ""
	[ "$output" = h ]
	run complete_line "$VMPIPE_BIN/vm-ctl" list ""
	[ -z "$output" ]
	# A guest that goes is no longer offered.
	ctl destroy web1
	run complete_line "$VMPIPE_BIN/vm-ctl" destroy ""
	[ "$output" = "$(printf '%s\n' g h)" ]
}
