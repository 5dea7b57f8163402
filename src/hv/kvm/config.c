/*
 * config.c: the KVM backend's CONFIG record (kvm_proto.h, vm-image(5)):
 * the disk it names, read for a restore and a bundle, judged against the
 * destination's policy (admit.h), and rewritten when a bundle's disk is
 * put elsewhere.  Nothing here talks to vm-run.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "client.h"
#include "hv.h"
#include "kvm_proto.h"
#include "vis.h"

int
kvm_config_disk(const void *config, size_t len, char *disk, size_t size)
{
	struct kvmp_config c;

	disk[0] = '\0';
	if (config == NULL || len == 0)
		return 0;
	if (len < sizeof(c)) {
		hv_seterr("KVM configuration of %zu octets, want %zu at least",
		    len, sizeof(c));
		errno = EINVAL;
		return -1;
	}
	memcpy(&c, config, sizeof(c));
	if (c.version == KVMP_CONFIG_VERSION && len == sizeof(c))
		return 0;
	if (c.version != KVMP_CONFIG_DISK && c.version !=
	    KVMP_CONFIG_VERSION) {
		hv_seterr("KVM configuration version %u, want %u or %u",
		    c.version, KVMP_CONFIG_VERSION, KVMP_CONFIG_DISK);
		errno = EINVAL;
		return -1;
	}
	if (c.version == KVMP_CONFIG_VERSION || c.disk_len == 0 ||
	    c.disk_len >= size || len != sizeof(c) + c.disk_len) {
		hv_seterr("KVM configuration version %u: a disk path of %u "
		    "octets in %zu, want 1 to %zu after the %zu of the "
		    "structure (version 2 only)", c.version, c.disk_len, len,
		    size - 1, sizeof(c));
		errno = EINVAL;
		return -1;
	}
	memcpy(disk, (const char *)config + sizeof(c), c.disk_len);
	disk[c.disk_len] = '\0';
	if (strlen(disk) != c.disk_len || disk[0] != '/') {
		hv_seterr("KVM configuration: the disk path is not an "
		    "absolute path");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
kvm_config_disks(const void *config, size_t len, struct hv_disk *out,
    unsigned max)
{
	char disk[PATH_MAX];

	if (kvm_config_disk(config, len, disk, sizeof(disk)) == -1)
		return -1;
	if (disk[0] == '\0' || max == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	strcpy(out->device, "vda");
	memcpy(out->path, disk, strlen(disk) + 1);
	return 1;
}

int
kvm_config_move_disks(const void *config, size_t len,
    const char *const *path, unsigned n, void **out, size_t *outlen)
{
	char disk[PATH_MAX];
	struct kvmp_config c;
	size_t plen;
	char *buf;

	if (kvm_config_disk(config, len, disk, sizeof(disk)) == -1)
		return -1;
	if (disk[0] == '\0' || n != 1 || path[0] == NULL) {
		hv_seterr("the KVM guest has %s disk, %u %s given",
		    disk[0] ? "one" : "no", n, n == 1 ? "is" : "are");
		errno = EINVAL;
		return -1;
	}
	plen = strlen(path[0]);
	if (plen == 0 || plen >= PATH_MAX || path[0][0] != '/') {
		hv_seterr("a disk path must be absolute, and shorter than %d",
		    PATH_MAX);
		errno = EINVAL;
		return -1;
	}
	memcpy(&c, config, sizeof(c));
	c.disk_len = plen;
	if ((buf = malloc(sizeof(c) + plen)) == NULL)
		return -1;
	memcpy(buf, &c, sizeof(c));
	memcpy(buf + sizeof(c), path[0], plen);
	*out = buf;
	*outlen = sizeof(c) + plen;
	return 0;
}

int
kvm_admit(const struct hv_info *info, const void *config, size_t len,
    char *why, size_t whylen)
{
	char disk[PATH_MAX], shown[256];
	struct vmp_admit a;
	int ok;

	(void)info;
	if (kvm_config_disk(config, len, disk, sizeof(disk)) == -1) {
		snprintf(why, whylen, "%s", hv_strerror());
		return -1;
	}
	if (disk[0] == '\0')
		return 0;
	if (vmp_admit_load(&a, why, whylen) == -1)
		return -1;
	if (!(ok = vmp_admit_disk(&a, disk))) {
		vis_text(shown, sizeof(shown), disk, strlen(disk), 0);
		snprintf(why, whylen, "disk \"%s\": expected a path under a "
		    "disk-prefix of %s (%s)", shown, vmp_admit_path(),
		    a.ndisk ? "see there" : "none is set");
	}
	vmp_admit_free(&a);
	return ok ? 0 : -1;
}
