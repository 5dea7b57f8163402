/*
 * mkbundle: write a bundle (vm-bundle(5)) to stdout from an image file
 * and disk files, for the tests.
 *   mkbundle [-c chunk] guest image [device=path ...]
 */
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"

int
main(int argc, char *argv[])
{
	struct bundle_manifest m;
	struct bundle_writer *w;
	char ebuf[BUNDLE_ERRLEN], dev[BUNDLE_DEVICE_MAX + 1], *eq;
	struct stat st;
	int ch, fd;

	memset(&m, 0, sizeof(m));
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c')
			errx(2, "usage: mkbundle [-c chunk] guest image "
			    "[device=path ...]");
		m.chunk = strtoull(optarg, NULL, 0);
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 2 > BUNDLE_DISKS_MAX)
		errx(2, "usage: mkbundle [-c chunk] guest image "
		    "[device=path ...]");
	snprintf(m.guest, sizeof(m.guest), "%s", argv[0]);
	for (int i = 2; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL ||
		    (size_t)(eq - argv[i]) > BUNDLE_DEVICE_MAX)
			errx(2, "%s: expected device=path", argv[i]);
		snprintf(dev, sizeof(dev), "%.*s", (int)(eq - argv[i]),
		    argv[i]);
		if (stat(eq + 1, &st) == -1)
			err(1, "%s", eq + 1);
		if (bundle_disk_set(&m.disk[m.ndisks++], dev,
		    (uint64_t)st.st_size, eq + 1, ebuf, sizeof(ebuf)) == -1)
			errx(1, "%s", ebuf);
	}
	if ((w = bundle_writer_new(STDOUT_FILENO, &m, ebuf, sizeof(ebuf))) ==
	    NULL)
		errx(1, "%s", ebuf);
	if ((fd = open(argv[1], O_RDONLY)) == -1)
		err(1, "%s", argv[1]);
	if (bundle_pump_image(w, fd) == -1)
		errx(1, "%s", bundle_writer_error(w));
	close(fd);
	for (unsigned i = 0; i < m.ndisks; i++) {
		if ((fd = open(m.disk[i].path, O_RDONLY)) == -1)
			err(1, "%s", m.disk[i].path);
		if (bundle_add_disk(w, m.disk[i].device, fd) == -1)
			errx(1, "%s", bundle_writer_error(w));
		close(fd);
	}
	if (bundle_writer_close(w) == -1)
		errx(1, "%s", bundle_writer_error(w));
	bundle_writer_free(w);
	return 0;
}
