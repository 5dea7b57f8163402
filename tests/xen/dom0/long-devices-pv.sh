# timeout: 900
# takes: 183
# xen: shadow
# A PV guest as administrators run them (devices.inc): saved and
# restored, checkpointed, live-migrated to this same host.  A PV guest's
# live copy needs log-dirty, which Xen gives PV guests only with shadow
# paging (vmpipe(7)): this runs on tests/xen/build-shadow's hypervisor.
TYPE=pv MOVES=checkpoint
. ./devices.inc
