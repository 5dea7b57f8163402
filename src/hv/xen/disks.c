/*
 * disks.c: a Xen guest's disks as a bundle carries them (vm-bundle(5)):
 * listed from its libxl configuration, and the configuration rewritten
 * with the places a restore put them.
 *
 * A bundle carries what is the guest's own and written by it: a disk
 * with a target, writable, not a CD-ROM.  It carries the target's octets
 * as they are (a raw file, or a qcow2 file whole), so the format stays
 * what the configuration says.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

static int
carried(const libxl_device_disk *d)
{
	return d->pdev_path != NULL && d->pdev_path[0] != '\0' &&
	    !d->is_cdrom && d->readwrite;
}

/* The configuration in json, parsed into c (disposed of by the caller
 * either way). */
static int
parse(const void *json, size_t len, libxl_domain_config *c)
{
	libxl_domain_config_init(c);
	if (xen_handles() == -1)
		return -1;
	return xen_config_parse(json, len, c);
}

int
xen_config_disks(const void *config, size_t len, struct hv_disk *out,
    unsigned max)
{
	libxl_domain_config c;
	unsigned n = 0;
	int rc = -1;

	hv_clearerr();
	if (parse(config, len, &c) == -1)
		goto out;
	for (int i = 0; i < c.num_disks; i++) {
		const libxl_device_disk *d = &c.disks[i];

		if (!carried(d))
			continue;
		if (n == max) {
			hv_seterr("the guest has more than %u disks", max);
			errno = E2BIG;
			goto out;
		}
		if (d->vdev == NULL ||
		    strlen(d->vdev) >= sizeof(out[n].device) ||
		    strlen(d->pdev_path) >= sizeof(out[n].path)) {
			hv_seterr("disk %.20s: a name or path too long to "
			    "carry", d->vdev ? d->vdev : "?");
			errno = ENAMETOOLONG;
			goto out;
		}
		memset(&out[n], 0, sizeof(out[n]));
		strcpy(out[n].device, d->vdev);
		strcpy(out[n].path, d->pdev_path);
		n++;
	}
	rc = (int)n;
out:
	libxl_domain_config_dispose(&c);
	return rc;
}

int
xen_config_move_disks(const void *config, size_t len,
    const char *const *path, unsigned n, void **out, size_t *outlen)
{
	libxl_domain_config c;
	unsigned k = 0;
	char *json;
	int rc = -1;

	hv_clearerr();
	if (parse(config, len, &c) == -1)
		goto out;
	for (int i = 0; i < c.num_disks; i++)
		k += carried(&c.disks[i]);
	if (k != n) {
		hv_seterr("the guest has %u disk%s to place, %u %s given", k,
		    k == 1 ? "" : "s", n, n == 1 ? "is" : "are");
		errno = EINVAL;
		goto out;
	}
	k = 0;
	for (int i = 0; i < c.num_disks; i++) {
		libxl_device_disk *d = &c.disks[i];
		char *p;

		if (!carried(d))
			continue;
		if (path[k] == NULL || path[k][0] != '/') {
			hv_seterr("disk %.20s: the new place must be an "
			    "absolute path", d->vdev ? d->vdev : "?");
			errno = EINVAL;
			goto out;
		}
		if ((p = strdup(path[k++])) == NULL)
			goto out;
		free(d->pdev_path);
		d->pdev_path = p;
	}
	if ((json = libxl_domain_config_to_json(xen_ctx, &c)) == NULL) {
		hv_seterr("can't write the configuration as JSON");
		errno = ENOMEM;
		goto out;
	}
	*out = json;
	*outlen = strlen(json);
	rc = 0;
out:
	libxl_domain_config_dispose(&c);
	return rc;
}
