# timeout: 900
# takes: 214
# A PVH guest as administrators run them (devices.inc): saved and
# restored, checkpointed, live-migrated to this same host.
TYPE=pvh MOVES=checkpoint
. ./devices.inc
