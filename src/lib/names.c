/*
 * names.c: the guest name rule, the run directory and UUIDs (names.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"

/* The longest quoted name in a message, its NUL included. */
#define QUOTE_MAX	72

/*
 * s for a message: printable ASCII as it is ('"' and '\' escaped), any
 * other octet as \xNN, cut short with "..." where it would not fit in
 * out (of size len, at least 4).
 */
static void
quote(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = *s;
		char e[5];
		size_t k;

		if (c == '"' || c == '\\')
			snprintf(e, sizeof e, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			snprintf(e, sizeof e, "\\x%02x", c);
		else {
			e[0] = c;
			e[1] = '\0';
		}
		k = strlen(e);
		/* Room for this, then "..." and the NUL if more follows. */
		if (o + k + (s[1] != '\0' ? 4 : 1) > len) {
			memcpy(out + o, "...", 4);
			return;
		}
		memcpy(out + o, e, k);
		o += k;
	}
	out[o] = '\0';
}

/* One octet for a message: 'c', or '\xNN' when not printable. */
static void
quote_char(char out[8], unsigned char c)
{
	if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
		snprintf(out, 8, "'\\x%02x'", c);
	else
		snprintf(out, 8, "'%c'", c);
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
bad(char *why, size_t len, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bad(char *why, size_t len, const char *name, const char *fmt, ...)
{
	char q[QUOTE_MAX], tail[128];
	va_list ap;

	if (len > 0) {
		quote(q, sizeof q, name);
		va_start(ap, fmt);
		vsnprintf(tail, sizeof tail, fmt, ap);
		va_end(ap);
		snprintf(why, len, "bad guest name \"%s\": %s", q, tail);
	}
	errno = EINVAL;
	return -1;
}

int
vmp_name_check(const char *name, char *why, size_t len)
{
	size_t n, i, digits = 0;
	char c[8];

	if (name == NULL || *name == '\0')
		return bad(why, len, "", "expected 1 to %d octets, found none",
		    VMP_NAME_MAX);
	n = strnlen(name, VMP_NAME_MAX + 1);
	if (n > VMP_NAME_MAX)
		return bad(why, len, name, "expected at most %d octets, "
		    "found %zu", VMP_NAME_MAX, strlen(name));
	if (!is_alnum(name[0])) {
		quote_char(c, name[0]);
		return bad(why, len, name, "expected a letter or digit "
		    "first, found %s", c);
	}
	for (i = 0; i < n; i++) {
		unsigned char o = name[i];

		if (o >= '0' && o <= '9')
			digits++;
		else if (!is_alnum(o) && strchr("._+-", o) == NULL) {
			quote_char(c, o);
			return bad(why, len, name, "expected letters, digits, "
			    "'.', '_', '+' or '-', found %s at octet %zu", c,
			    i + 1);
		}
	}
	if (digits == n)
		return bad(why, len, name, "expected more than digits (digits "
		    "alone are read as a Xen domain ID), found digits only");
	if (len > 0)
		why[0] = '\0';
	return 0;
}

const char *
vmp_rundir(void)
{
	const char *d = getenv("VMPIPE_RUNDIR");

	return d != NULL && *d != '\0' ? d : VMP_RUNDIR_DEFAULT;
}

int
vmp_rundir_ready(const char *dir, char *why, size_t len)
{
	struct stat sb;

	if (dir == NULL)
		dir = vmp_rundir();
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(why, len, "can't make run directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(dir, &sb) == -1) {
		snprintf(why, len, "run directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(why, len, "run directory %s: expected a directory, "
		    "found %s", dir, S_ISLNK(sb.st_mode) ? "a symbolic link" :
		    "something else");
		errno = ENOTDIR;
		return -1;
	}
	if ((sb.st_uid != 0 && sb.st_uid != geteuid()) ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		char who[32] = "";

		if (geteuid() != 0)
			snprintf(who, sizeof(who), " or uid %lu",
			    (unsigned long)geteuid());
		snprintf(why, len, "run directory %s: expected one owned by "
		    "root%s and writable by no one else, found owner uid %lu, "
		    "mode %04o", dir, who, (unsigned long)sb.st_uid,
		    (unsigned)(sb.st_mode & 07777));
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
vmp_runpath(char *buf, size_t len, const char *dir, const char *name,
    const char *suffix)
{
	int n;

	if (vmp_name_check(name, NULL, 0) == -1 || suffix == NULL ||
	    *suffix == '\0' || strchr(suffix, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (dir == NULL)
		dir = vmp_rundir();
	n = snprintf(buf, len, "%s/%s.%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
vmp_uuid_generate(uint8_t uuid[16])
{
	ssize_t n;

	/* 16 octets come whole from getrandom(2) once it is seeded. */
	while ((n = getrandom(uuid, 16, 0)) == -1 && errno == EINTR)
		;
	if (n != 16) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	return 0;
}

void
vmp_uuid_format(const uint8_t u[16], char out[VMP_UUID_STRLEN])
{
	snprintf(out, VMP_UUID_STRLEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
	    u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
	    u[14], u[15]);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
vmp_uuid_parse(const char *s, uint8_t uuid[16])
{
	uint8_t u[16];
	size_t len = strlen(s), i, k = 0;
	int dashed = len == 36;

	if (len != 36 && len != 32)
		goto bad;
	for (i = 0; i < len; i++) {
		int d;

		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				goto bad;
			continue;
		}
		if ((d = hexval(s[i])) < 0)
			goto bad;
		if (k % 2 == 0)
			u[k / 2] = d << 4;
		else
			u[k / 2] |= d;
		k++;
	}
	memcpy(uuid, u, 16);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
vmp_twin_name(const char *name, const char *suffix, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", name, suffix);

	if (n < 0 || (size_t)n >= len ||
	    vmp_name_check(buf, NULL, 0) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
