/*
 * json.c: the JSON writer (json.h).  Every value passes through
 * value_begin(), which knows from the innermost container whether a comma
 * or a key must come first; misuse is remembered, not printed around, and
 * json_finish() reports it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "vmi.h"

void
json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* May a value come here?  Puts the comma before an array's next item. */
static int
value_begin(struct json *j)
{
	int d = j->depth - 1;

	if (j->misuse)
		return -1;
	if (d < 0) {
		if (j->done)
			j->misuse = 1;	/* a second top-level value */
	} else if (j->kind[d] == '{') {
		if (!j->keyed[d])
			j->misuse = 1;	/* a member without a name */
		j->keyed[d] = 0;
	} else if (j->items[d]++)
		fputc(',', j->f);
	return j->misuse ? -1 : 0;
}

static void
value_end(struct json *j)
{
	if (j->depth == 0)
		j->done = 1;
}

static void
open_container(struct json *j, char kind)
{
	if (value_begin(j) == -1)
		return;
	if (j->depth == JSON_DEPTH) {
		j->misuse = 1;
		return;
	}
	j->kind[j->depth] = kind;
	j->items[j->depth] = 0;
	j->keyed[j->depth] = 0;
	j->depth++;
	fputc(kind, j->f);
}

void
json_object(struct json *j)
{
	open_container(j, '{');
}

void
json_array(struct json *j)
{
	open_container(j, '[');
}

void
json_end(struct json *j)
{
	int d = j->depth - 1;

	if (j->misuse)
		return;
	if (d < 0 || j->keyed[d]) {
		j->misuse = 1;	/* nothing open, or a name without a value */
		return;
	}
	fputc(j->kind[d] == '{' ? '}' : ']', j->f);
	j->depth--;
	value_end(j);
}

static void
put_string(FILE *f, const uint8_t *s, size_t len)
{
	uint32_t c;
	size_t n;

	fputc('"', f);
	for (size_t i = 0; i < len; i += n) {
		n = vmi_utf8(s + i, len - i, &c);
		if (n == 0) {
			/* Not UTF-8: one octet stands for U+FFFD. */
			fputs("\\ufffd", f);
			n = 1;
		} else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (int)c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\b')
			fputs("\\b", f);
		else if (c == '\f')
			fputs("\\f", f);
		else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
		    c == 0x2028 || c == 0x2029)
			fprintf(f, "\\u%04" PRIx32, c);
		else
			fwrite(s + i, 1, n, f);
	}
	fputc('"', f);
}

void
json_key(struct json *j, const char *key)
{
	int d = j->depth - 1;

	if (j->misuse)
		return;
	if (d < 0 || j->kind[d] != '{' || j->keyed[d]) {
		j->misuse = 1;
		return;
	}
	if (j->items[d]++)
		fputc(',', j->f);
	put_string(j->f, (const uint8_t *)key, strlen(key));
	fputc(':', j->f);
	j->keyed[d] = 1;
}

void
json_strn(struct json *j, const void *s, size_t len)
{
	if (value_begin(j) == -1)
		return;
	put_string(j->f, s, len);
	value_end(j);
}

void
json_str(struct json *j, const char *s)
{
	json_strn(j, s, strlen(s));
}

void
json_uint(struct json *j, uint64_t v)
{
	if (value_begin(j) == -1)
		return;
	fprintf(j->f, "%" PRIu64, v);
	value_end(j);
}

void
json_int(struct json *j, int64_t v)
{
	if (value_begin(j) == -1)
		return;
	fprintf(j->f, "%" PRId64, v);
	value_end(j);
}

void
json_bool(struct json *j, int v)
{
	if (value_begin(j) == -1)
		return;
	fputs(v ? "true" : "false", j->f);
	value_end(j);
}

void
json_null(struct json *j)
{
	if (value_begin(j) == -1)
		return;
	fputs("null", j->f);
	value_end(j);
}

int
json_finish(struct json *j)
{
	if (j->misuse || j->depth != 0 || !j->done) {
		errno = EINVAL;
		return -1;
	}
	fputc('\n', j->f);
	errno = 0;
	if (fflush(j->f) == EOF || ferror(j->f)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
