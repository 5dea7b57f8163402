/*
 * admit.h: what a guest arriving on this host may bring that reaches
 * the host itself: the destination's policy file (recv.conf(5) lines in
 * vmpipe(7)), read by the backends that check a guest's configuration.
 *
 *	# /etc/vmpipe/recv.conf
 *	disk-prefix /var/lib/xen/images/
 *	disk-dir /var/lib/xen/images/incoming
 *	bridge xenbr0
 *
 * A missing file is the empty policy: no host disk is admitted, and no
 * bridge but the backend's default (Xen's xenbr0).  Plain libc: nothing here prints.
 */
#ifndef ADMIT_H
#define ADMIT_H

#include <stddef.h>

#define VMP_ADMIT_PATH	"/etc/vmpipe/recv.conf"
#define VMP_ADMIT_MAX	64	/* entries of each kind */

struct vmp_admit {
	char	*disk_prefix[VMP_ADMIT_MAX];	/* each ends in '/' */
	int	 ndisk;
	/* Where the disks of a guest that brings them (a bundle) are put;
	 * NULL: this host takes none.  Under a disk prefix to be of use. */
	char	*disk_dir;
	char	*bridge[VMP_ADMIT_MAX];
	int	 nbridge;
};

/* The policy file: $VMPIPE_RECV_CONF if set, else VMP_ADMIT_PATH. */
const char *vmp_admit_path(void);

/* Read the policy file into a (zeroed first).  0, or -1 with a message
 * naming the file and line in why. */
int	vmp_admit_load(struct vmp_admit *a, char *why, size_t len);
void	vmp_admit_free(struct vmp_admit *a);

/* Is path a host file or device under one of the disk prefixes, with no
 * "." or ".." component (which could lead out of it)? */
int	vmp_admit_disk(const struct vmp_admit *a, const char *path);
/* Is br one of the bridges? */
int	vmp_admit_bridge(const struct vmp_admit *a, const char *br);

#endif /* ADMIT_H */
