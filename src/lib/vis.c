/*
 * vis.c: text made safe to show (vis.h).  A terminal acts on more than
 * ESC: C1 controls (CSI is 0x9b) do as much on some, as a raw octet or
 * in UTF-8, so the test is on the decoded character.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vis.h"
#include "vmi.h"

size_t
vis_text(char *dst, size_t cap, const void *src, size_t len, int flags)
{
	const uint8_t *s = src;
	size_t o = 0, n;
	uint32_t c;

	for (size_t i = 0; i < len; i += n) {
		char e[4 * 4 + 1];
		size_t k = 0;

		n = vmi_utf8(s + i, len - i, &c);
		if (n == 0 || (c < 0x20 && !(c == '\t' && (flags & VIS_TAB))) ||
		    (c >= 0x7f && c <= 0x9f)) {
			n = n ? n : 1;
			for (size_t j = 0; j < n; j++)
				k += (size_t)snprintf(e + k, sizeof e - k,
				    "\\x%02x", s[i + j]);
		} else if (c == '\\') {
			memcpy(e, "\\\\", 2);
			k = 2;
		} else {
			memcpy(e, s + i, n);
			k = n;
		}
		if (o + k + 1 > cap)
			break;
		memcpy(dst + o, e, k);
		o += k;
	}
	dst[o] = '\0';
	return o;
}
