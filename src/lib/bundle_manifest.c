/*
 * bundle_manifest.c: the MANIFEST of a bundle, written and parsed
 * (vm-bundle(5)).  The parser takes any octets at all: a MANIFEST comes
 * from a bundle, and a bundle may come from anywhere.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "names.h"
#include "vis.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

int
bundle_device_check(const char *dev)
{
	size_t n = strlen(dev);

	if (n == 0 || n > BUNDLE_DEVICE_MAX || dev[0] < 'a' || dev[0] > 'z')
		return -1;
	for (size_t i = 1; i < n; i++)
		if (!(dev[i] >= 'a' && dev[i] <= 'z') &&
		    !(dev[i] >= '0' && dev[i] <= '9'))
			return -1;
	return 0;
}

/* A path is kept only as a note of where the disk was: it must be
 * absolute and printable, so that it is one field of one line. */
static int
path_check(const char *p, size_t n)
{
	if (n == 0 || n > BUNDLE_PATH_MAX || p[0] != '/')
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return -1;
	return 0;
}

int
bundle_disk_set(struct bundle_disk *d, const char *device, uint64_t size,
    const char *path, char *err, size_t errlen)
{
	char v[4 * 64 + 1];

	memset(d, 0, sizeof(*d));
	if (bundle_device_check(device) == -1) {
		vis_text(v, sizeof(v), device, strnlen(device, 64), 0);
		return fail(err, errlen, "bad device name \"%s\": expected a "
		    "lower-case letter, then letters and digits, at most %d "
		    "octets", v, BUNDLE_DEVICE_MAX);
	}
	if (size == 0 || size > INT64_MAX)
		return fail(err, errlen, "disk %s: bad size %llu", device,
		    (unsigned long long)size);
	if (path_check(path, strlen(path)) == -1) {
		vis_text(v, sizeof(v), path, strnlen(path, 64), 0);
		return fail(err, errlen, "disk %s: bad path \"%s\": expected "
		    "an absolute path of printable octets, at most %d",
		    device, v, BUNDLE_PATH_MAX);
	}
	snprintf(d->member, sizeof(d->member), BUNDLE_DISK_PREFIX "%s",
	    device);
	snprintf(d->device, sizeof(d->device), "%s", device);
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->size = size;
	return 0;
}

int
bundle_manifest_format(const struct bundle_manifest *m, char **out,
    size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &cap)) == NULL)
		return fail(err, errlen, "MANIFEST: %s", strerror(errno));
	fprintf(f, "%s\n%s %s\n%s %llu\n", BUNDLE_FORMAT_LINE,
	    BUNDLE_KW_GUEST, m->guest, BUNDLE_KW_CHUNK,
	    (unsigned long long)m->chunk);
	for (unsigned i = 0; i < m->ndisks; i++)
		fprintf(f, "%s %s %s %llu %s\n", BUNDLE_KW_DISK,
		    m->disk[i].member, m->disk[i].device,
		    (unsigned long long)m->disk[i].size, m->disk[i].path);
	if (fclose(f) != 0) {
		free(buf);
		return fail(err, errlen, "MANIFEST: %s", strerror(errno));
	}
	*out = buf;
	*len = cap;
	return 0;
}

/* A decimal number as a bundle writes one: digits only, no leading
 * zero, no overflow past INT64_MAX. */
static int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		return -1;
	*out = v;
	return 0;
}

/* Split off the next space-separated field of [*p, end): 0, or -1 if
 * there is none (an empty field, two spaces, is none either). */
static int
field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *s = *p, *sp;

	if (s >= end)
		return -1;
	sp = memchr(s, ' ', (size_t)(end - s));
	*f = s;
	*n = (size_t)((sp != NULL ? sp : end) - s);
	*p = sp != NULL ? sp + 1 : end;
	/* A space must be followed by another field. */
	return *n == 0 || (sp != NULL && *p == end) ? -1 : 0;
}

static int
keyword(const char **p, const char *end, const char *kw)
{
	size_t k = strlen(kw);

	if ((size_t)(end - *p) <= k || memcmp(*p, kw, k) != 0 ||
	    (*p)[k] != ' ')
		return -1;
	*p += k + 1;
	return 0;
}

static int
disk_line(struct bundle_manifest *m, const char *s, const char *end,
    char *why, size_t whylen)
{
	struct bundle_disk *d = &m->disk[m->ndisks];
	const char *f, *mem;
	char dev[BUNDLE_DEVICE_MAX + 1], path[BUNDLE_PATH_MAX + 1];
	size_t n, nmem;
	uint64_t size;

	if (keyword(&s, end, BUNDLE_KW_DISK) == -1 ||
	    field(&s, end, &mem, &nmem) == -1)
		return fail(why, whylen, "expected \"disk MEMBER DEVICE OCTETS "
		    "PATH\"");
	if (field(&s, end, &f, &n) == -1 || n > BUNDLE_DEVICE_MAX)
		return fail(why, whylen, "expected a device name");
	memcpy(dev, f, n);
	dev[n] = '\0';
	if (memchr(f, '\0', n) != NULL || bundle_device_check(dev) == -1)
		return fail(why, whylen, "bad device name");
	if (nmem != strlen(BUNDLE_DISK_PREFIX) + n ||
	    memcmp(mem, BUNDLE_DISK_PREFIX, strlen(BUNDLE_DISK_PREFIX)) != 0 ||
	    memcmp(mem + strlen(BUNDLE_DISK_PREFIX), dev, n) != 0)
		return fail(why, whylen, "expected member " BUNDLE_DISK_PREFIX
		    "%s for device %s", dev, dev);
	if (field(&s, end, &f, &n) == -1 || parse_u64(f, n, &size) == -1 ||
	    size == 0)
		return fail(why, whylen, "expected a size in octets, a decimal "
		    "number from 1 to %lld", (long long)INT64_MAX);
	/* The path is the rest of the line: it may hold spaces. */
	n = (size_t)(end - s);
	if (memchr(s, '\0', n) != NULL || path_check(s, n) == -1)
		return fail(why, whylen, "expected an absolute path of "
		    "printable octets, at most %d", BUNDLE_PATH_MAX);
	memcpy(path, s, n);
	path[n] = '\0';
	for (unsigned i = 0; i < m->ndisks; i++)
		if (strcmp(m->disk[i].device, dev) == 0)
			return fail(why, whylen, "device %s twice", dev);
	return bundle_disk_set(d, dev, size, path, why, whylen);
}

int
bundle_manifest_parse(struct bundle_manifest *m, const char *text,
    size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl, *f, *s;
	char why[256], v[4 * 80 + 1];
	unsigned line;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (len == 0 || text[len - 1] != '\n')
		return fail(err, errlen, "MANIFEST: expected lines ended by a "
		    "line feed, found %s", len ? "an unended last line" :
		    "no text");
	for (line = 1; p < end; line++, p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		s = p;
		why[0] = '\0';
		if (line == 1) {
			if ((size_t)(nl - p) != strlen(BUNDLE_FORMAT_LINE) ||
			    memcmp(p, BUNDLE_FORMAT_LINE, (size_t)(nl - p)))
				snprintf(why, sizeof(why), "expected \"%s\"",
				    BUNDLE_FORMAT_LINE);
		} else if (line == 2) {
			if (keyword(&s, nl, BUNDLE_KW_GUEST) == -1 ||
			    (n = (size_t)(nl - s)) > VMP_NAME_MAX ||
			    memchr(s, '\0', n) != NULL)
				snprintf(why, sizeof(why), "expected \"guest "
				    "NAME\"");
			else {
				memcpy(m->guest, s, n);
				m->guest[n] = '\0';
				if (vmp_name_check(m->guest, why,
				    sizeof(why)) == 0)
					why[0] = '\0';
			}
		} else if (line == 3) {
			if (keyword(&s, nl, BUNDLE_KW_CHUNK) == -1 ||
			    field(&s, nl, &f, &n) == -1 ||
			    parse_u64(f, n, &m->chunk) == -1 || s != nl ||
			    m->chunk < BUNDLE_CHUNK_MIN ||
			    m->chunk > BUNDLE_CHUNK_MAX ||
			    m->chunk % BUNDLE_CHUNK_MIN != 0)
				snprintf(why, sizeof(why), "expected \"chunk "
				    "OCTETS\", a multiple of %d from %d to %u",
				    BUNDLE_CHUNK_MIN, BUNDLE_CHUNK_MIN,
				    BUNDLE_CHUNK_MAX);
		} else if (m->ndisks == BUNDLE_DISKS_MAX)
			snprintf(why, sizeof(why), "more than %d disks",
			    BUNDLE_DISKS_MAX);
		else if (disk_line(m, p, nl, why, sizeof(why)) == 0)
			m->ndisks++;
		if (why[0] != '\0') {
			vis_text(v, sizeof(v), p, (size_t)(nl - p) < 80 ?
			    (size_t)(nl - p) : 80, 0);
			return fail(err, errlen, "MANIFEST line %u: %s, found "
			    "\"%s\"", line, why, v);
		}
	}
	if (line <= 3)
		return fail(err, errlen, "MANIFEST: expected at least 3 lines "
		    "(format, guest, chunk), found %u", line - 1);
	return 0;
}

int
bundle_sniff(const void *block, size_t len)
{
	return len >= 262 && memcmp((const char *)block + 257, "ustar", 5) == 0;
}
