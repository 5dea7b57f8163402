/*
 * mkvector: write one of the golden sample images to stdout.
 *   mkvector plain | live | zstd
 * tests/vectors/ holds their output; the tests check it byte for byte,
 * so that any change to the format shows up as a changed vector.
 */
#include <err.h>
#include <string.h>
#include <unistd.h>

#include "vmi.h"
#include "vmi_sample.h"

int
main(int argc, char *argv[])
{
	struct vmi_writer_opts o = { .threads = 1 };
	struct vmi_writer *w;
	int live = 0;

	if (argc != 2)
		errx(2, "usage: mkvector plain | live | zstd");
	if (strcmp(argv[1], "live") == 0) {
		live = 1;
		o.flags = VMI_HF_LIVE;
	} else if (strcmp(argv[1], "zstd") == 0)
		o.zlevel = 3;
	else if (strcmp(argv[1], "plain") != 0)
		errx(2, "unknown vector %s", argv[1]);
	if ((w = vmi_writer_new(STDOUT_FILENO, &o)) == NULL)
		err(1, "writer");
	if (sample_write(w, live) == -1)
		errx(1, "%s", vmi_writer_error(w));
	vmi_writer_free(w);
	return 0;
}
