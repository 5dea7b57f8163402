/*
 * brestore.h: a guest restored from a bundle (vm-bundle(5)): its disks
 * put in place, then its image restored by the restore engine
 * (restore.h) with the configuration naming where the disks now are.
 *
 * The bundle is a file and is read twice.  First it is checked whole -
 * every member against the MANIFEST and SUMS - while its disks are
 * written beside their places as new files; only a whole bundle puts
 * them in place (by rename), and a cut or damaged one leaves nothing:
 * no disk, no guest, nothing overwritten.  Then its image is restored,
 * as any image; should that fail, the disks stay where they were put.
 */
#ifndef BRESTORE_H
#define BRESTORE_H

#include <stddef.h>

#include "restore.h"

struct brestore_opts {
	/* Where the disks go: this directory, each under its own file's
	 * name; NULL: the paths the bundle names. */
	const char	*disk_dir;
	/* A file already at a disk's place may be replaced; else that is
	 * refused (it may be the disk of a guest that runs). */
	int		 replace;
};

/*
 * Restore the bundle in the file fd with ro (restore_stream()'s options;
 * its disk paths are set here).  0, or -1 with why in err and res->code
 * set (RESTORE_BAD_INPUT for a bundle that is not whole).
 */
int	bundle_restore(int fd, const struct brestore_opts *bo,
	    struct restore_opts *ro, struct restore_result *res, char *err,
	    size_t errlen);

#endif /* BRESTORE_H */
