/*
 * snap_lvm.h: LVM logical volumes for snap.c (see snap_lvm.c).  Each
 * returns -1 with a message in err (SNAP_ERRLEN) where it has one.
 */
#ifndef SNAP_LVM_H
#define SNAP_LVM_H

#include <stddef.h>

struct lvm_lv {
	char	vg[64];
	char	lv[64];
	char	attr[16];	/* lv_attr: 'V' first for a thin volume */
};

/* Is dev a logical volume?  1 (and *lv filled) or 0. */
int	lvm_volume(const char *dev, struct lvm_lv *lv);
/* Snapshot lv as volume name of its group; its device path into path. */
int	lvm_snapshot(const struct lvm_lv *lv, const char *name, char *path,
	    size_t pathlen, char *err);
/* Remove the volume at path (a snapshot made here).  0 or -1. */
int	lvm_remove(const char *path);

#endif /* SNAP_LVM_H */
