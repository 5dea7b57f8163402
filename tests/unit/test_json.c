/*
 * test_json.c: unit tests of json.c: a document comes out exactly, every
 * string is escaped so that it parses and reads back as it went in (an
 * octet that is not UTF-8 as U+FFFD), and calls that would not make a
 * document make json_finish() fail.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vmi.h"
#include "check.h"

/* A writer onto a buffer of its own. */
struct out {
	char		*buf;
	size_t		 len;
	FILE		*f;
	struct json	 j;
};

static void
out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	if ((o->f = open_memstream(&o->buf, &o->len)) == NULL) {
		perror("open_memstream");
		exit(2);
	}
	json_init(&o->j, o->f);
}

/* json_finish()'s result; the text is in o->buf until out_free(). */
static int
out_close(struct out *o)
{
	int r = json_finish(&o->j);

	fclose(o->f);
	return r;
}

static void
out_free(struct out *o)
{
	free(o->buf);
}

/* The string that s (len octets) becomes, without its newline. */
static char *
json_of(const void *s, size_t len)
{
	struct out o;

	out_open(&o);
	json_strn(&o.j, s, len);
	if (out_close(&o) == -1) {
		out_free(&o);
		return NULL;
	}
	o.buf[strcspn(o.buf, "\n")] = '\0';
	return o.buf;
}

static const struct {
	const char	*in;
	size_t		 len;
	const char	*want;
} escapes[] = {
	{ "web1", 4, "\"web1\"" },
	{ "", 0, "\"\"" },
	{ "a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"" },
	{ "\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"" },
	/* NUL, ESC, unit separator, DEL. */
	{ "a\0b\033c\037d\177", 8, "\"a\\u0000b\\u001bc\\u001fd\\u007f\"" },
	/* UTF-8 text is kept; U+0085 (a C1 control) and U+2028 are not. */
	{ "gr\303\274n \342\202\254", 9, "\"gr\303\274n \342\202\254\"" },
	{ "\302\205|\342\200\250", 6, "\"\\u0085|\\u2028\"" },
	/* A raw octet, a cut sequence, an overlong '/', a surrogate. */
	{ "\377", 1, "\"\\ufffd\"" },
	{ "a\303", 2, "\"a\\ufffd\"" },
	{ "\300\257", 2, "\"\\ufffd\\ufffd\"" },
	{ "\355\240\200", 3, "\"\\ufffd\\ufffd\\ufffd\"" },
};

/*
 * A reader of one JSON string literal, independent of the writer: the
 * octets it stands for into out (UTF-8), or -1 if it is not one: a raw
 * control character, an unknown escape, not UTF-8, or text after it.
 */
static long
read_literal(const char *p, uint8_t *out)
{
	const uint8_t *s = (const uint8_t *)p;
	size_t o = 0, n;
	uint32_t c;

	if (*s++ != '"')
		return -1;
	for (;;) {
		if (*s == '"')
			return s[1] == '\0' ? (long)o : -1;
		if (*s == '\0' || *s < 0x20)
			return -1;
		if (*s != '\\') {
			if ((n = vmi_utf8(s, strlen((const char *)s), &c)) == 0)
				return -1;
			memcpy(out + o, s, n);
			o += n;
			s += n;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (sscanf((const char *)s, "%4x", &c) != 1)
				return -1;
			s += 4;
			break;
		default:
			return -1;
		}
		/* Encode c as UTF-8 (the writer never splits a surrogate
		 * pair: none of its escapes is above U+FFFF). */
		if (c < 0x80)
			out[o++] = c;
		else if (c < 0x800) {
			out[o++] = 0xc0 | c >> 6;
			out[o++] = 0x80 | (c & 0x3f);
		} else {
			out[o++] = 0xe0 | c >> 12;
			out[o++] = 0x80 | (c >> 6 & 0x3f);
			out[o++] = 0x80 | (c & 0x3f);
		}
	}
}

/* What a string must read back as: its octets, each one that is not
 * part of UTF-8 replaced by U+FFFD. */
static size_t
expected(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0, n;
	uint32_t c;

	for (size_t i = 0; i < len; i += n) {
		if ((n = vmi_utf8(in + i, len - i, &c)) == 0) {
			memcpy(out + o, "\357\277\275", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(out + o, in + i, n);
			o += n;
		}
	}
	return o;
}

static void
test_escapes(void)
{
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		char *got = json_of(escapes[i].in, escapes[i].len);

		CHECK(got != NULL && strcmp(got, escapes[i].want) == 0,
		    "escape %zu: got %s, want %s", i, got ? got : "(failed)",
		    escapes[i].want);
		free(got);
	}
}

/* Random strings, mostly of the octets that matter: every one reads
 * back as it went in. */
static void
test_round_trip(void)
{
	static const uint8_t alphabet[] = "a\"\\/\n\0\037\177\200\277\302"
	    "\303\342\200\250\355\360\237\230\200\377";
	uint8_t in[64], want[3 * 64], back[6 * 64];
	unsigned seed = 14, bad = 0;

	for (int t = 0; t < 20000; t++) {
		size_t len = (size_t)(rand_r(&seed) % 24), wn;
		long n;
		char *got;

		for (size_t i = 0; i < len; i++)
			in[i] = rand_r(&seed) % 4 == 0 ?
			    (uint8_t)rand_r(&seed) :
			    alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		wn = expected(in, len, want);
		got = json_of(in, len);
		n = got ? read_literal(got, back) : -1;
		if (n < 0 || (size_t)n != wn || memcmp(back, want, wn) != 0)
			bad++;
		free(got);
	}
	CHECK(bad == 0, "round trip: %u of 20000 strings came back wrong",
	    bad);
}

static void
test_document(void)
{
	static const char want[] =
	    "[{\"name\":\"g\",\"id\":-1,\"paused\":true,\"memory_bytes\":"
	    "18446744073709551615,\"cpu\":[1,2],\"none\":null,\"empty\":{}},"
	    "[],false]\n";
	struct out o;

	out_open(&o);
	json_array(&o.j);
	json_object(&o.j);
	json_key(&o.j, "name");
	json_str(&o.j, "g");
	json_key(&o.j, "id");
	json_int(&o.j, -1);
	json_key(&o.j, "paused");
	json_bool(&o.j, 1);
	json_key(&o.j, "memory_bytes");
	json_uint(&o.j, UINT64_MAX);
	json_key(&o.j, "cpu");
	json_array(&o.j);
	json_uint(&o.j, 1);
	json_uint(&o.j, 2);
	json_end(&o.j);
	json_key(&o.j, "none");
	json_null(&o.j);
	json_key(&o.j, "empty");
	json_object(&o.j);
	json_end(&o.j);
	json_end(&o.j);
	json_array(&o.j);
	json_end(&o.j);
	json_bool(&o.j, 0);
	json_end(&o.j);
	CHECK(out_close(&o) == 0, "document: json_finish failed");
	CHECK(o.buf != NULL && strcmp(o.buf, want) == 0,
	    "document: got %s want %s", o.buf, want);
	out_free(&o);

	/* A scalar is a document too. */
	out_open(&o);
	json_uint(&o.j, 0);
	CHECK(out_close(&o) == 0 && strcmp(o.buf, "0\n") == 0,
	    "scalar: got %s", o.buf);
	out_free(&o);
}

/* Each sequence of calls that makes no document: json_finish() says so. */
enum { O, A, E, K, V };
static const struct {
	const char	*what;
	int		 calls[8];
	int		 n;
} misuses[] = {
	{ "nothing written", { 0 }, 0 },
	{ "a member without a name", { O, V, E }, 3 },
	{ "a name in an array", { A, K, V, E }, 4 },
	{ "a name at the top", { K, V }, 2 },
	{ "a name without a value", { O, K, E }, 3 },
	{ "two names in a row", { O, K, K, V, E }, 5 },
	{ "an end with nothing open", { V, E }, 2 },
	{ "two top-level values", { V, V }, 2 },
	{ "an object left open", { O, K, V }, 3 },
	{ "an array left open", { A, A, E }, 3 },
};

static void
test_misuse(void)
{
	for (size_t i = 0; i < sizeof(misuses) / sizeof(misuses[0]); i++) {
		struct out o;
		int r;

		out_open(&o);
		for (int c = 0; c < misuses[i].n; c++) {
			switch (misuses[i].calls[c]) {
			case O: json_object(&o.j); break;
			case A: json_array(&o.j); break;
			case E: json_end(&o.j); break;
			case K: json_key(&o.j, "k"); break;
			case V: json_uint(&o.j, 7); break;
			}
		}
		errno = 0;
		r = out_close(&o);
		CHECK(r == -1 && errno == EINVAL, "%s: json_finish gave %d "
		    "(errno %d), output %s", misuses[i].what, r, errno,
		    o.buf);
		out_free(&o);
	}

	/* Nesting deeper than JSON_DEPTH is refused, one level less is
	 * not. */
	for (int extra = 0; extra < 2; extra++) {
		struct out o;
		int r;

		out_open(&o);
		for (int d = 0; d < JSON_DEPTH + extra; d++)
			json_array(&o.j);
		for (int d = 0; d < JSON_DEPTH + extra; d++)
			json_end(&o.j);
		r = out_close(&o);
		CHECK(r == (extra ? -1 : 0), "depth %d: json_finish gave %d",
		    JSON_DEPTH + extra, r);
		out_free(&o);
	}
}

/* A stream that can't be written: json_finish() fails with its errno. */
static void
test_write_error(void)
{
	struct json j;
	FILE *f;

	if ((f = fopen("/dev/full", "w")) == NULL) {
		printf("test_json: no /dev/full, write error not tested\n");
		return;
	}
	json_init(&j, f);
	json_str(&j, "x");
	errno = 0;
	CHECK(json_finish(&j) == -1 && errno == ENOSPC,
	    "write error: errno %d, want ENOSPC", errno);
	fclose(f);
}

int
main(void)
{
	test_escapes();
	test_round_trip();
	test_document();
	test_misuse();
	test_write_error();
	printf("test_json: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
