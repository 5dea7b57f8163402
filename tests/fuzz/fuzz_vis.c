/*
 * fuzz_vis: libFuzzer target for vis_text(), which shows a guest's
 * console and an image's text: whatever the input, the output holds no
 * control character (C0 but for tab with VIS_TAB, DEL, C1 raw or in
 * UTF-8), is valid UTF-8, and fits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vis.h"
#include "vmi.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap, n, k;
	uint32_t c;
	char *out;
	int flags;

	if (size < 2)
		return 0;
	flags = data[0] & VIS_TAB;
	/* A cap from the input too, so that cutting is tried. */
	cap = 5 + data[1] % 64 * ((size - 2) / 16 + 1);
	data += 2;
	size -= 2;
	if ((out = malloc(cap)) == NULL)
		return 0;
	n = vis_text(out, cap, data, size, flags);
	if (n >= cap || out[n] != '\0' || strlen(out) != n)
		abort();
	for (size_t i = 0; i < n; i += k) {
		k = vmi_utf8(out + i, n - i, &c);
		if (k == 0 || (c < 0x20 && !(c == '\t' && flags)) ||
		    (c >= 0x7f && c <= 0x9f))
			abort();
	}
	/* With room for all of it, nothing is dropped: 4 per octet. */
	if (cap > 4 * size && n < size)
		abort();
	free(out);
	return 0;
}
