# timeout: 900
# A PV guest as administrators run them (devices.inc): saved and
# restored, migrated offline to this same host (a PV guest has no live
# copy on a Xen without shadow paging, vmpipe(7)).
TYPE=pv MOVES=offline
. ./devices.inc
