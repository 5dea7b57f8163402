/*
 * test_vis.c: unit tests of vis.c: what a terminal would act on is
 * shown escaped, text is shown as it is, and a small buffer cuts at a
 * whole character.
 */
#include <stdio.h>
#include <string.h>

#include "vis.h"
#include "check.h"

static const struct {
	const char	*in;
	size_t		 len;
	int		 flags;
	const char	*want;
} cases[] = {
	{ "tick 42", 7, 0, "tick 42" },
	/* ESC [ 2 J: clear the screen. */
	{ "\033[2J", 4, 0, "\\x1b[2J" },
	/* CR, BEL, backspace, NUL, DEL. */
	{ "a\rb\ac\bd\0e\177", 10, 0, "a\\x0db\\x07c\\x08d\\x00e\\x7f" },
	/* Tabs: kept on request. */
	{ "a\tb", 3, 0, "a\\x09b" },
	{ "a\tb", 3, VIS_TAB, "a\tb" },
	/* CSI as a raw octet (not UTF-8), and as UTF-8 (U+009B). */
	{ "\233" "2J", 3, 0, "\\x9b2J" },
	{ "\302\233" "2J", 4, 0, "\\xc2\\x9b2J" },
	/* UTF-8 text is text. */
	{ "gr\303\274\303\237e \342\202\254", 11, 0,
	  "gr\303\274\303\237e \342\202\254" },
	/* A cut or overlong sequence is octets. */
	{ "\303", 1, 0, "\\xc3" },
	{ "\300\257", 2, 0, "\\xc0\\xaf" },
	/* The escape character itself, so that "\x1b" in the text is not
	 * taken for an escaped ESC. */
	{ "\\x1b", 4, 0, "\\\\x1b" },
};

int
main(void)
{
	char out[64];
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = vis_text(out, sizeof(out), cases[i].in, cases[i].len,
		    cases[i].flags);
		CHECK(strcmp(out, cases[i].want) == 0 && n == strlen(out),
		    "case %zu: got \"%s\" (%zu), want \"%s\"", i, out, n,
		    cases[i].want);
	}
	/* Four escapes need 16 octets and the NUL: with 15, three fit. */
	n = vis_text(out, 15, "\033\033\033\033", 4, 0);
	CHECK(n == 12 && strcmp(out, "\\x1b\\x1b\\x1b") == 0,
	    "cut: got \"%s\" (%zu)", out, n);
	/* A UTF-8 character is never cut in two. */
	n = vis_text(out, 4, "ab\342\202\254", 5, 0);
	CHECK(n == 2 && strcmp(out, "ab") == 0, "cut UTF-8: got \"%s\"", out);
	/* Every octet escaped is the most it can take: 4 per octet. */
	{
		char in[256], big[4 * 256 + 1];

		for (int i = 0; i < 256; i++)
			in[i] = (char)i;
		n = vis_text(big, sizeof(big), in, sizeof(in), 0);
		CHECK(n < sizeof(big) && big[n] == '\0', "all octets: %zu", n);
		CHECK(memchr(big, '\033', n) == NULL &&
		    memchr(big, '\233', n) == NULL, "all octets: a control "
		    "character got through");
	}
	printf("test_vis: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
