# timeout: 900
# takes: 420
# An HVM guest as administrators run them (devices.inc), its disks and
# vif seen through the PV drivers beside QEMU's: saved and restored,
# checkpointed,
# live-migrated to this same host.
TYPE=hvm MOVES=checkpoint
. ./devices.inc
