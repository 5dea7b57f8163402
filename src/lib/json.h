/*
 * json.h: a small writer of JSON (RFC 8259), for what a program prints
 * for other programs to read (vm-ctl --json).  Values go to a stdio
 * stream as they come; the writer puts the commas and keeps count of the
 * nesting, so that a caller can't write a document that does not parse:
 * a value where a key belongs, a key outside an object, a container left
 * open or closed twice all make json_finish() fail.  Strings are written
 * as valid UTF-8 whatever they hold (see json_str()).
 */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH	16		/* containers open at once, at most */

struct json {
	FILE		*f;
	int		 depth;		/* containers open now */
	int		 misuse;	/* the calls did not make a document */
	int		 done;		/* the top-level value is complete */
	char		 kind[JSON_DEPTH];	/* '{' or '[' */
	unsigned char	 items[JSON_DEPTH];	/* a value written in it */
	unsigned char	 keyed[JSON_DEPTH];	/* a key waits for its value */
};

void	json_init(struct json *, FILE *f);

/* Open an object or an array, as a value; json_end() closes the
 * innermost one. */
void	json_object(struct json *);
void	json_array(struct json *);
void	json_end(struct json *);

/* The next member's name; only in an object, before each value. */
void	json_key(struct json *, const char *key);

/*
 * A string: '"', '\', the C0 controls, DEL and the C1 controls escaped
 * (\n, \t, ... or \u00XX), U+2028 and U+2029 as \u2028 and \u2029 (a
 * line end to JavaScript's older parsers); every octet that is not part
 * of valid UTF-8 as U+FFFD, the replacement character, so that the
 * output is always UTF-8.  json_strn() takes len octets, NULs included.
 */
void	json_str(struct json *, const char *s);
void	json_strn(struct json *, const void *s, size_t len);

void	json_uint(struct json *, uint64_t v);
void	json_int(struct json *, int64_t v);
void	json_bool(struct json *, int v);
void	json_null(struct json *);

/* End the document with a newline and flush it: 0, or -1 with errno
 * EINVAL when the calls did not make exactly one whole value, or the
 * stream's own errno when it could not be written. */
int	json_finish(struct json *);

#endif /* JSON_H */
