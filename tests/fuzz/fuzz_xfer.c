/*
 * fuzz_xfer: libFuzzer target for vm-send's preamble scanner and the
 * back-channel line parser, which read what a peer sends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "xfer.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xfer_scan sc;
	char line[XFER_LINE_MAX + 1];
	const char *rest;
	size_t off = 0, n;

	/* The scanner, fed in uneven pieces as a pipe would. */
	xfer_scan_init(&sc);
	while (off < size && !sc.done && !sc.failed) {
		size_t piece = 1 + (data[off] % 61);

		if (piece > size - off)
			piece = size - off;
		n = xfer_scan(&sc, data + off, piece);
		if (n > piece)
			abort();
		off += n;
		if (n < piece && !sc.done && !sc.failed)
			abort();
	}
	if (sc.failed && sc.err[0] == '\0')
		abort();
	if (memchr(sc.name, '\0', sizeof(sc.name)) == NULL)
		abort();
	/* A name the scanner gives out passes the name rule. */
	if (sc.name[0] != '\0' && vmp_name_check(sc.name, NULL, 0) != 0)
		abort();
	xfer_scan_free(&sc);

	/* The line parser, on the input as one line. */
	n = size < XFER_LINE_MAX ? size : XFER_LINE_MAX;
	memcpy(line, data, n);
	line[n] = '\0';
	rest = NULL;
	if (xfer_parse_line(line, &rest) != XFER_NONE &&
	    (rest == NULL || rest < line || rest > line + n))
		abort();
	return 0;
}
