/*
 * bsave.h: a guest saved as a bundle (vm-bundle(5)): its image and its
 * disks in one stream, around the save engine (save.h).
 *
 * A checkpoint (SAVE_RESUME) takes the disks at the instant memory is
 * taken: while the guest is suspended each disk is snapshotted (snap.h:
 * a reflink, or a copy within max_pause_ms), the guest resumes once its
 * image is out, and the snapshots follow it into the bundle and are
 * removed.  Otherwise (SAVE_DESTROY, SAVE_LEAVE_PAUSED) the disks follow
 * from their own files while the guest stays paused, and the guest is
 * destroyed only once the bundle is whole: whatever fails, it is resumed.
 */
#ifndef BSAVE_H
#define BSAVE_H

#include <stdint.h>

#include "hv.h"
#include "save.h"
#include "snap.h"

#define BSAVE_DISKS	8

struct bsave_opts {
	uint64_t	 max_pause_ms;	/* a copy snapshot's limit; 0 none */
	int		 no_copy;	/* reflink or nothing */
};

struct bsave_result {
	unsigned	 ndisks;
	struct hv_disk	 disk[BSAVE_DISKS];
	struct snap	 snap[BSAVE_DISKS];	/* checkpoints: how, how long */
	uint64_t	 octets;		/* the bundle's */
};

/*
 * Save g (of ops) with its disks as a bundle on fd, as save_guest()
 * does an image (its result in res; -1 and res->err, the guest resumed,
 * when the bundle is not whole).  so->then as for save_guest().
 */
int	bundle_save(const struct hv_ops *ops, struct hv_guest *g, int fd,
	    const struct save_opts *so, const struct bsave_opts *bo,
	    struct save_result *res, struct bsave_result *br);

#endif /* BSAVE_H */
