/*
 * xfer.c: the back-channel lines and the preamble scanner shared by
 * vm-send, vm-recv and vm-migrate (see xfer.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "vmi.h"
#include "xfer.h"

#define FILE_HDR	((unsigned)sizeof(struct vmi_file_header))
#define REC_HDR		((unsigned)sizeof(struct vmi_record_header))
/* A sane preamble is two small records; these bound a hostile one. */
#define SCAN_MAX_OCTETS	(64ull << 20)

enum xfer_kind
xfer_parse_line(const char *line, const char **rest)
{
	static const struct {
		const char	*word;
		enum xfer_kind	 kind;
	} words[] = {
		{ "ready ", XFER_READY },
		{ "refused: ", XFER_REFUSED },
		{ "running ", XFER_RUNNING },
		{ "error: ", XFER_ERROR },
		{ "prepared ", XFER_PREPARED },
		{ "status ", XFER_STATUS },
	};
	size_t plen = strlen(XFER_PREFIX);

	*rest = line;
	if (strncmp(line, XFER_PREFIX, plen) != 0)
		return XFER_NONE;
	line += plen;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		size_t wlen = strlen(words[i].word);

		if (strncmp(line, words[i].word, wlen) == 0) {
			*rest = line + wlen;
			return words[i].kind;
		}
	}
	return XFER_NONE;
}

void
xfer_scan_init(struct xfer_scan *s)
{
	memset(s, 0, sizeof *s);
}

void
xfer_scan_free(struct xfer_scan *s)
{
	free(s->body);
	s->body = NULL;
}

static uint32_t
le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
scan_fail(struct xfer_scan *s, const char *msg)
{
	snprintf(s->err, sizeof s->err, "%s", msg);
	s->failed = 1;
	return -1;
}

/*
 * A whole GUEST body is in: the reader's own check of it, and then the
 * name and the size.  A GUEST the reader would refuse ends the scan,
 * with the reader's message in guest_err: a receiver can refuse it at
 * once, before it locks or makes anything.
 */
static int
scan_guest(struct xfer_scan *s)
{
	struct vmi_guest g;
	const void *src = s->body;
	size_t len = s->body_len;

	if (s->cur_flags & VMI_RF_ZSTD) {
		size_t n = ZSTD_decompress(&g, sizeof g, s->body, s->body_len);

		if (ZSTD_isError(n))
			return scan_fail(s, "GUEST record: bad zstd frame");
		src = &g;
		len = n;
	}
	if (vmi_check_guest(s->seq, src, len, s->guest_err,
	    sizeof s->guest_err) == -1) {
		s->done = 1;
		return 0;
	}
	memcpy(&g, src, sizeof g);
	memcpy(s->name, g.name, sizeof s->name);
	s->mem_bytes = g.mem_bytes;
	s->backend = g.backend;
	return 0;
}

/* The current record's body is complete. */
static int
scan_body_done(struct xfer_scan *s)
{
	if (s->cur_type == VMI_REC_GUEST) {
		if (scan_guest(s) < 0)
			return -1;
		s->seen |= 1;
	} else if (s->cur_type == VMI_REC_CONFIG)
		s->seen |= 2;
	if (s->seen == 3)
		s->done = 1;
	return 0;
}

/* A record header is complete: decide what to do with its body. */
static int
scan_record(struct xfer_scan *s)
{
	uint32_t type = le32(s->hdr);

	s->cur_type = type;
	s->cur_flags = le32(s->hdr + 4);
	s->cur_len = le32(s->hdr + 8);
	if (s->cur_len > VMI_MAX_BODY)
		return scan_fail(s, "record longer than the format allows");
	if (type != VMI_REC_GUEST && type != VMI_REC_CONFIG &&
	    !(type & VMI_REC_OPTIONAL)) {
		/* Not preamble: let the restore say what is wrong. */
		s->done = 1;
		return 0;
	}
	s->rec_end = s->off + ((s->cur_len + 7ull) & ~7ull);
	if (type == VMI_REC_GUEST) {
		/* Its body is read whole here, before any other check. */
		if (s->cur_len > XFER_GUEST_MAX) {
			char m[128];

			snprintf(m, sizeof m, "GUEST record of %u octets: "
			    "expected at most %u", s->cur_len, XFER_GUEST_MAX);
			return scan_fail(s, m);
		}
		free(s->body);
		s->body_len = 0;
		if ((s->body = malloc(s->cur_len ? s->cur_len : 1)) == NULL)
			return scan_fail(s, "out of memory");
	}
	if (s->rec_end == s->off)
		return scan_body_done(s);
	return 0;
}

size_t
xfer_scan(struct xfer_scan *s, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	size_t used = 0;

	while (used < n && !s->done && !s->failed) {
		if (s->off >= SCAN_MAX_OCTETS) {
			scan_fail(s, "no GUEST and CONFIG records near the "
			    "start of the stream");
			break;
		}
		if (s->off < s->rec_end) {
			/* Inside a body: take what is there. */
			uint64_t want = s->rec_end - s->off;
			size_t k = want < n - used ? want : n - used;

			if (s->cur_type == VMI_REC_GUEST &&
			    s->body_len < s->cur_len) {
				size_t c = s->cur_len - s->body_len;

				c = c < k ? c : k;
				memcpy(s->body + s->body_len, p + used, c);
				s->body_len += c;
			}
			used += k;
			s->off += k;
			if (s->off == s->rec_end && scan_body_done(s) < 0)
				break;
			continue;
		}
		/* Reading a header: the file's first, then records'. */
		unsigned need = s->off < FILE_HDR ? FILE_HDR : REC_HDR;
		size_t k = need - s->hdr_len;

		k = k < n - used ? k : n - used;
		memcpy(s->hdr + s->hdr_len, p + used, k);
		s->hdr_len += k;
		used += k;
		s->off += k;
		if (s->hdr_len < need)
			continue;
		s->hdr_len = 0;
		if (need == FILE_HDR) {
			s->vmpipe = memcmp(s->hdr, VMI_MAGIC,
			    VMI_MAGIC_LEN) == 0;
			/* The reader's check, and its words. */
			if (vmi_check_file_header(s->hdr, FILE_HDR, s->err,
			    sizeof s->err) == -1) {
				s->failed = 1;
				break;
			}
			s->rec_end = s->off;
			continue;
		}
		s->seq = s->nrec++;
		if (scan_record(s) < 0)
			break;
	}
	return used;
}

static int
parse_port(const char *s, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535) {
		errno = EINVAL;
		return -1;
	}
	*port = v;
	return 0;
}

int
xfer_split_hostport(const char *s, int host_first, char **host, int *port)
{
	const char *colon, *h = s;
	size_t hlen;

	*host = NULL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			errno = EINVAL;
			return -1;
		}
		h = s + 1;
		hlen = close - h;
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		/* Several colons and no brackets: a bare IPv6 address. */
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL;
		if (colon == NULL && !host_first) {
			/* "[ADDR:]PORT" with no colon is a port alone. */
			return parse_port(s, port);
		}
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (colon != NULL && parse_port(colon + 1, port) < 0)
		return -1;
	if (hlen > 0 && (*host = strndup(h, hlen)) == NULL)
		return -1;
	return 0;
}
