/*
 * xl-setcfg JSON < file.xl > file.xl: an `xl save' file with its guest
 * configuration replaced by the file JSON (libxl's JSON, as `xl create
 * -n' prints it), laid out as xl writes it: the header, the optional
 * data (the configuration's length, then the configuration with its NUL),
 * then the migration stream as it was.  What `xl save -c' with another
 * configuration file writes, without saving the guest again (which costs
 * seconds under the emulator, each time).
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "xen_stream.h"

#define XL_OPT_LIMIT	(1u << 20)	/* a test guest's configuration is a few KiB */

int
main(int argc, char *argv[])
{
	struct xl_header h;
	char buf[1 << 16], *json;
	struct xls out = { .fd = STDOUT_FILENO };
	size_t jlen = 0;
	ssize_t n;
	FILE *f;

	if (argc != 2)
		errx(2, "usage: xl-setcfg JSON < file.xl > file.xl");
	if ((f = fopen(argv[1], "r")) == NULL)
		err(1, "%s", argv[1]);
	if ((json = malloc(XL_OPT_LIMIT)) == NULL)
		err(1, "malloc");
	jlen = fread(json, 1, XL_OPT_LIMIT - 1, f);
	if (ferror(f) || !feof(f) || jlen == 0)
		errx(1, "%s: empty, unreadable or over %u octets", argv[1],
		    XL_OPT_LIMIT - 1);
	fclose(f);

	if (io_readall(STDIN_FILENO, &h, sizeof(h)) != sizeof(h) ||
	    memcmp(h.magic, XL_MAGIC, XL_MAGIC_LEN) != 0)
		errx(1, "stdin: not an xl save file");
	/* The old optional data, skipped. */
	for (uint32_t left = h.optlen; left > 0; left -= n)
		if ((n = read(STDIN_FILENO, buf, left < sizeof(buf) ?
		    left : sizeof(buf))) <= 0)
			errx(1, "stdin: truncated optional data");
	if (xls_xl_header(&out, json, jlen) == -1)
		err(1, "write");
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		if (io_writeall(STDOUT_FILENO, buf, n) == -1)
			err(1, "write");
	if (n == -1)
		err(1, "read");
	return 0;
}
