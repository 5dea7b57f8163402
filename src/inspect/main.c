/*
 * vm-inspect: describe a vmpipe image or bundle and check that it is
 * whole, without restoring anything.  Options, then the image (image.c)
 * or the bundle (bundle.c).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bundle.h"
#include "cli.h"
#include "exits.h"
#include "inspect.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-inspect [-qv] [file]\n");
	exit(VMP_EX_USAGE);
}

int
main(int argc, char *argv[])
{
	char msg[BUNDLE_ERRLEN];
	const char *path = "-";
	int ch, fd, bundle;

	while ((ch = getopt(argc, argv, "qv")) != -1) {
		switch (ch) {
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		path = argv[0];
	fd = cli_open_in(path, VMP_EX_FAIL);
	if ((fd = sniff_bundle(fd, &bundle)) == -1)
		err(VMP_EX_FAIL, "%s", path);
	if (bundle)
		return inspect_bundle(fd, path);
	if (inspect_image(fd, path, 0, msg, sizeof(msg)) == -1)
		errx(VMP_EX_FAIL, "%s: %s", path, msg);
	return VMP_EX_OK;
}
