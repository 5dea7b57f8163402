/*
 * snap.h: a file-backed disk held still at one instant, for a checkpoint
 * that captures memory and disks together: while the guest is paused,
 * the disk is cloned by reflink (FICLONE: no data moves, so the pause
 * does not grow with the disk), or, where the file system cannot, copied
 * (holes kept) within a limit on the pause.  The snapshot is read after
 * the guest resumed, then removed.
 */
#ifndef SNAP_H
#define SNAP_H

#include <stdint.h>

enum snap_how {
	SNAP_REFLINK,		/* FICLONE: shares the extents, instant */
	SNAP_COPY,		/* data extents copied, holes kept */
	SNAP_LVM,		/* a snapshot volume of an LVM volume */
};

struct snap {
	char		*path;		/* the snapshot: a new file, or the
					   device of a new volume */
	enum snap_how	 how;
	uint64_t	 size;		/* octets (the disk's length) */
	uint64_t	 copied;	/* octets of data copied (COPY) */
	uint64_t	 ms;		/* what it took, guest paused */
};

#define SNAP_ERRLEN	256

/*
 * Can src be cloned by reflink to a file in dir?  Tried on a probe file
 * of dir that is removed again: a disk in use may be cloned, the clone
 * shares its extents copy-on-write.  1 yes, 0 no (why in err), -1 an
 * error (err).
 */
int	 snap_can_reflink(const char *src, const char *dir, char *err);

/*
 * Snapshot src into the new file dst (which must not exist): by reflink
 * where the file system can; otherwise by a copy, unless no_copy is set,
 * stopped and removed once it has run max_ms milliseconds (0: no limit),
 * for a checkpoint that must not hold its guest paused longer.  An LVM
 * logical volume is held by a snapshot volume beside it instead (dst is
 * not used; max_ms neither: it takes what lvcreate takes).  0 and *s
 * filled (s->path owned by s), or -1 with why in err and no dst left.
 */
int	 snap_take(const char *src, const char *dst, uint64_t max_ms,
	    int no_copy, struct snap *s, char *err);

/* Can src be held by snap_take(): a regular file, or an LVM logical
 * volume?  1 or 0. */
int	 snap_holdable(const char *src);

/* Remove the snapshot (its file, or its volume) and free s's path.  0,
 * or -1 (errno). */
int	 snap_drop(struct snap *s);

/* "reflink", "copy" or "lvm snapshot". */
const char *snap_how_name(enum snap_how);

#endif /* SNAP_H */
