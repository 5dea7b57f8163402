# timeout: 900
# takes: 220
# A PV guest as administrators run them (devices.inc): saved and
# restored, checkpointed, migrated offline to this same host (no live
# copy on a Xen without shadow paging, vmpipe(7)).
TYPE=pv MOVES="checkpoint offline"
. ./devices.inc
