/*
 * fuzz_bundle: libFuzzer target for the bundle reader (vm-bundle(5)).
 * Any input must be either read whole or refused with a message; never
 * a crash, a leak or undefined behaviour.  The disks go to a file, as a
 * restore would write them, to exercise the sparse writes as well.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bundle.h"

static int	disk_fd = -1;

/* Disks past 1 MiB are refused, as a restore refuses what its host
 * can't hold: a sparse disk's holes are hashed as zeros, so a bundle
 * could otherwise ask for hours of hashing. */
static int
on_manifest(void *arg, const struct bundle_manifest *m)
{
	(void)arg;
	for (unsigned i = 0; i < m->ndisks; i++)
		if (m->disk[i].size > (1u << 20))
			return -1;
	return 0;
}

static int
on_image(void *arg, const void *p, size_t len)
{
	(void)arg;
	(void)p;
	(void)len;
	return 0;
}

static int
on_disk_open(void *arg, unsigned i, const struct bundle_disk *d)
{
	(void)arg;
	/* Half of the disks to the file, the others to no one. */
	(void)d;
	if (i % 2 == 1)
		return -1;
	return disk_fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bundle_read_ops ops = {
		.manifest = on_manifest,
		.image = on_image,
		.disk_open = on_disk_open,
	};
	char msg[BUNDLE_ERRLEN];
	int fd = memfd_create("fuzz", 0);

	if (disk_fd == -1 && (disk_fd = memfd_create("disk", 0)) == -1)
		abort();
	if (fd == -1)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	msg[0] = '\0';
	if (bundle_read(fd, &ops, NULL, NULL, msg, sizeof(msg)) == -1 &&
	    msg[0] == '\0')
		abort();	/* a refusal always says why */
	close(fd);
	return 0;
}
