#!/usr/bin/env bats
# The OCF resource agent (ocf/guest) driven as Pacemaker drives it, with
# two network-namespace hosts: start at A, monitor on both, migrate_to B
# (vm-migrate --live over ssh), migrate_from at B, stop; a migration B
# refuses fails with the guest running on at A; ocf-tester's run of the
# agent where resource-agents is installed.

load test_helper
load sshd/lib
bats_require_minimum_version 1.5.0

setup_file() {
	vmp_hosts_up
	vmp_sshd_start
}

teardown_file() {
	vmp_hosts_down
}

setup() {
	need_kvm
	vmp_test_setup
	AGENT=$VMP_TOP/ocf/guest
	export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=vm-g
	export OCF_RESKEY_guest=g OCF_RESKEY_bin_dir=$VMP_BIN
	export OCF_RESKEY_start_command="$VMP_BIN/vm-run -D -n g --vcpus 2 -m 64M $VMPIPE_GUEST"
	export OCF_RESKEY_host_map="nodea=$VMP_ADDR_A nodeb=$VMP_ADDR_B"
	export OCF_RESKEY_identity=$VMP_DIR/id OCF_RESKEY_known_hosts=$VMP_DIR/known_hosts
	export OCF_RESKEY_port=$VMP_SSH_PORT
	export OCF_RESKEY_recv_command="VMPIPE_RUNDIR=$VMP_RUN_B $VMP_BIN/vm-recv"
}

teardown() {
	vmp_test_teardown
}

# agent HOST ACTION [VAR=VALUE...]: the agent's exit status, as the
# cluster's local executor on that host would get it.
agent() {
	local h=$1 a=$2
	shift 2
	if [ "$h" = A ]; then
		inA env "$@" "$AGENT" "$a"
	else
		inB env "$@" "$AGENT" "$a"
	fi
}

@test "meta-data: valid XML naming every action; validate-all refuses what can't work" {
	run -0 "$AGENT" meta-data
	xmllint --noout - <<<"$output"
	for a in start stop monitor migrate_to migrate_from meta-data validate-all; do
		grep -q "<action name=\"$a\"" <<<"$output"
	done
	grep -q '<parameter name="guest" unique="1" required="1">' <<<"$output"
	run -0 "$AGENT" validate-all
	run -6 env OCF_RESKEY_guest='a b' "$AGENT" validate-all
	run -6 env OCF_RESKEY_start_command= "$AGENT" validate-all
	run -6 env OCF_RESKEY_backend=vmware "$AGENT" validate-all
	run -2 "$AGENT"
	run -3 "$AGENT" promote
}

@test "the cluster's calls: start at A, migrate_to B, migrate_from at B, stop; the guest goes on clean" {
	run -7 agent A monitor
	run -0 agent A start
	echo "$output"
	wait_hb g 3
	run -0 agent A monitor
	run -7 agent B monitor
	# A second start is a no-op.
	run -0 agent A start
	n=$(last_hb g)
	run -0 agent A migrate_to OCF_RESKEY_CRM_meta_migrate_target=nodeb
	echo "$output"
	run -0 agent B migrate_from OCF_RESKEY_CRM_meta_migrate_source=nodea
	run -7 agent A monitor
	run -0 agent B monitor
	# It went on at B from where it was at A.
	on_b wait_hb g $((n + 3))
	on_b assert_clean g
	first=$(grep -a '^vmpipe-guest: hb ' "$(on_b guest_log g)" | head -n 1 |
	    awk '{ print $3 }')
	[ "$first" -ge "$n" ]
	run -0 agent B stop
	run -7 agent B monitor
	# A stop of what is not there succeeds.
	run -0 agent B stop
	run -0 agent A stop
}

@test "migrate_to refused by B: the agent fails, the guest runs on at A, B has nothing" {
	on_b start_guest_hb g 1
	run -0 agent A start
	wait_hb g 3
	run -1 agent A migrate_to OCF_RESKEY_CRM_meta_migrate_target=nodeb
	echo "$output"
	[[ "$output" == *"g not migrated to nodeb (vm-migrate: 1): it runs here"* ]]
	run -0 agent A monitor
	n=$(last_hb g)
	wait_hb g $((n + 3))
	assert_clean g
	# B's own g (not the migrated one) is the only guest there.
	[ "$(ls "$VMP_RUN_B"/*.sock | wc -l)" -eq 1 ]
	run -0 agent A stop
}

@test "ocf-tester runs the agent through its checks" {
	command -v ocf-tester >/dev/null || skip "no ocf-tester (resource-agents) here"
	run ocf-tester -n vm-g -o guest=g -o bin_dir="$VMP_BIN" \
	    -o start_command="$OCF_RESKEY_start_command" "$AGENT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$AGENT passed all tests"* ]]
	! "$VMP_BIN/vm-ctl" info g >/dev/null 2>&1
}
