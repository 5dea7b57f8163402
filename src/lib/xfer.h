/*
 * xfer.h: what vm-send, vm-recv and vm-migrate share about moving an
 * image stream to another host.
 *
 * The receiving side talks back with one line per event, on its stdout
 * (stdin mode) or on the connection (relocation server):
 *
 *	vmpipe-recv: ready NAME			preflight passed: send memory
 *	vmpipe-recv: refused: REASON		preflight failed: nothing made
 *	vmpipe-recv: prepared NAME		handover: built, held paused
 *	vmpipe-recv: running NAME RESUME_NS	the ack: the guest runs here
 *	vmpipe-recv: error: MESSAGE		the restore failed: nothing left
 *	vmpipe-recv: status NAME STATE		answer to --status
 *
 * The sender forwards only the preamble (file header and records up to
 * and including GUEST and CONFIG) before it has read `ready', so no guest
 * memory crosses the wire before the destination has agreed to take it.
 *
 * In a handover (vm-recv --handover) the receiver does not resume on END:
 * it says `prepared' and waits for one line from the sender, after END on
 * the stream itself,
 *
 *	vmpipe-send: go				resume it; the source is fenced
 *
 * and anything else, or the end of the stream, or no line within the
 * deadline, destroys the prepared guest.  See vmpipe(7), HANDOVER.
 */
#ifndef XFER_H
#define XFER_H

#include <stddef.h>
#include <stdint.h>

#include "vmi_format.h"

#define XFER_PREFIX		"vmpipe-recv: "
#define XFER_GO			"vmpipe-send: go\n"
#define XFER_GO_TIMEOUT		60	/* s: default of every deadline */
#define XFER_LINE_MAX		1024	/* longest back-channel line */
#define XFER_RELOC_PORT		8002	/* as xend-relocation-port */
#define XFER_BUFSZ		(1u << 20)	/* data copy size, and the
						   preamble's most */
/* The largest GUEST record a receive takes (the struct is ~150 octets). */
#define XFER_GUEST_MAX		(64u << 10)

enum xfer_kind {
	XFER_NONE = 0,		/* not a back-channel line */
	XFER_READY,
	XFER_REFUSED,
	XFER_RUNNING,
	XFER_ERROR,
	XFER_PREPARED,
	XFER_STATUS,
};

/* What --status says of a guest name on the receiving host. */
#define XFER_ST_RUNNING		"running"	/* a guest runs under it */
#define XFER_ST_PAUSED		"paused"	/* a guest, paused */
#define XFER_ST_RECEIVING	"receiving"	/* a receive holds its lock */
#define XFER_ST_ABSENT		"absent"	/* none of these */

/*
 * Classify one line (without its newline).  *rest points into line at
 * what follows the keyword (the name, the reason or the message).
 */
enum xfer_kind	xfer_parse_line(const char *line, const char **rest);

/*
 * The preamble scanner.  Fed the stream from its first octet, it stops
 * after the record that completes the pair GUEST + CONFIG and records
 * the guest's name on the way.  The file header and GUEST are judged by
 * the reader's own checks (vmi.h), so a refusal here has the words the
 * restore would use.  It also stops, without error, at the first record
 * that is neither of those nor optional, so a malformed stream is left
 * for the restore to reject with its own message.
 */
struct xfer_scan {
	int		done;		/* preamble complete */
	int		failed;		/* err holds why */
	int		vmpipe;		/* it began with vmpipe's magic */
	char		name[VMI_NAME_MAX];	/* from GUEST; "" if none, or
					   if the GUEST is refused */
	char		guest_err[256];	/* then the reader's words */
	uint64_t	mem_bytes;	/* from GUEST */
	uint32_t	backend;	/* from GUEST: VMI_BACKEND_* */
	char		err[256];
	/* private */
	uint64_t	off;		/* octets consumed */
	uint64_t	seq, nrec;	/* the current record's number, count */
	uint64_t	rec_end;	/* end of the current record */
	int		seen;		/* bit 0 GUEST, bit 1 CONFIG */
	uint32_t	cur_type, cur_flags, cur_len;
	uint8_t		hdr[32];	/* file or record header being read */
	unsigned	hdr_len;
	uint8_t		*body;		/* GUEST body being read */
	uint32_t	body_len;
};

void	xfer_scan_init(struct xfer_scan *);
/* Consume up to n octets; returns how many were part of the preamble
 * (fewer than n only once done is set, or on failure). */
size_t	xfer_scan(struct xfer_scan *, const void *buf, size_t n);
void	xfer_scan_free(struct xfer_scan *);

/*
 * Split "[ADDR:]PORT" or "HOST[:PORT]" (IPv6 in brackets).  *host is
 * malloc'd (NULL when absent); *port keeps its value when absent.
 * Returns 0 or -1 with errno = EINVAL.
 */
int	xfer_split_hostport(const char *s, int host_first, char **host,
	    int *port);

#endif /* XFER_H */
