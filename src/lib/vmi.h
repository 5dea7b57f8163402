/*
 * vmi.h: write and read vmpipe image streams (format: vmi_format.h,
 * vm-image(5)).
 *
 * Both sides work strictly in order on a pipe: no seeks, nothing known
 * in advance.  Errors are returned as -1 with a message kept in the
 * writer or reader (vmi_writer_error(), vmi_reader_error()) that names
 * the record, what was expected and what was found.
 */
#ifndef VMI_H
#define VMI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmi_format.h"

#define VMI_ERRLEN	256

const char	*vmi_type_name(uint32_t type);

/*
 * The reader's checks of the file header (the first n octets of a
 * stream, n <= its size) and of a GUEST record's body (record seq), for
 * code that looks at a stream before a reader does (the preamble
 * scanner, xfer.h): 0, or -1 with the reader's own message in err.
 */
int	vmi_check_file_header(const void *p, size_t n, char *err,
	    size_t errlen);
int	vmi_check_guest(uint64_t seq, const void *p, size_t len, char *err,
	    size_t errlen);

/*
 * Do the last n octets of a stream (tail) have the shape of a whole END
 * record, and with verify its checksum too?  1 if so, else 0.  For code
 * that forwards a stream without reading it (vm-send): whether its writer
 * finished it, or gave up.  The reader at the far end checks the record,
 * and its verdict decides what a stream that merely looks finished
 * becomes.
 */
int	vmi_tail_is_end(const void *tail, size_t n, int verify);

/*
 * Is the field of size octets at buf a guest name vm-image(5) allows:
 * NUL-terminated within the field, and a name by the one rule of
 * vmp_name_check() (names.h, vmpipe(7))?  Returns 1 if so; 0 if not,
 * with the reason, saying what was found, in why (if not NULL).
 */
int	vmi_name_ok(const char *buf, size_t size, char *why, size_t whylen);

/*
 * The length of the valid UTF-8 sequence at p (at most n octets), with
 * its code point in *cp; 0 if p does not start one.
 */
size_t	vmi_utf8(const void *p, size_t n, uint32_t *cp);

/* ---- writing ---- */

struct vmi_writer;

struct vmi_writer_opts {
	uint32_t	flags;		/* file header flags, VMI_HF_* */
	int		zlevel;		/* zstd level; 0 = no compression */
	int		threads;	/* compression threads; 0 = one per CPU */
	/*
	 * Stable pages may be spliced into a pipe rather than copied: the
	 * pipe then refers to them until the reader has read them, so the
	 * caller promises more than for stable pages alone: they stay
	 * unchanged (they may be unmapped) until vmi_write_end() returns,
	 * which waits until the reader has drained the pipe.
	 */
	int		splice;
};

/*
 * Start a stream on fd and write its file header.  Records are built by
 * the caller's thread, checksummed (and compressed) by worker threads and
 * written in order by an output thread, so a slow pipe does not stall
 * the caller until the queue of records is full.
 */
struct vmi_writer *vmi_writer_new(int fd, const struct vmi_writer_opts *);

/* One record from a list of body parts (copied; the caller keeps them). */
int	vmi_write(struct vmi_writer *, uint32_t type, const struct iovec *,
	    int iovcnt);
int	vmi_write_buf(struct vmi_writer *, uint32_t type, const void *,
	    size_t);

/*
 * Queue one page for the current PAGES record; records are cut at
 * VMI_PAGES_MAX frames.  data == NULL, or a page found all zero, is sent
 * as a zero page.  When stable is set the caller promises the page will
 * not change and stay mapped until vmi_writer_sync(), and the writer
 * sends it without a copy; otherwise (a running guest) it is copied at
 * once, so that its checksum and the octets sent always agree.
 */
int	vmi_write_page(struct vmi_writer *, uint64_t pfn, const void *data,
	    int stable);
/* Close the current PAGES record, if any. */
int	vmi_flush_pages(struct vmi_writer *);

/* Wait until every record so far has been written (or failed). */
int	vmi_writer_sync(struct vmi_writer *);

/* Write the END record and wait for everything to be out. */
int	vmi_write_end(struct vmi_writer *);

/* Octets written so far, records so far, page counts. */
struct vmi_wstats {
	uint64_t	bytes;		/* octets on the wire */
	uint64_t	raw_bytes;	/* octets before compression */
	uint64_t	records;
	uint64_t	pages;		/* frames, zero or not */
	uint64_t	zero_pages;
};
void	vmi_writer_stats(struct vmi_writer *, struct vmi_wstats *);

const char *vmi_writer_error(struct vmi_writer *);
/* Stop the threads and free; a stream without END is left incomplete. */
void	vmi_writer_free(struct vmi_writer *);

/* ---- reading ---- */

struct vmi_reader;

struct vmi_record {
	uint32_t	type;
	uint32_t	flags;		/* as stored */
	uint64_t	seq;
	uint64_t	offset;		/* of the record header in the stream */
	uint32_t	stored;		/* body octets on the wire */
	const void	*body;		/* decompressed; valid until next */
	uint32_t	len;
};

/*
 * Read and check the file header.  readahead != 0 starts a thread that
 * reads the next records from fd while the caller works on this one.
 */
struct vmi_reader *vmi_reader_new(int fd, int readahead, char *err,
	    size_t errlen);

/*
 * The next record, checked (checksum, sequence, flags, lengths, the body
 * of every known type, and the order of records: every rule of
 * vm-image(5) that is about the image and not about the host reading
 * it).  Returns 1 with *rec filled, 0 after a good END record, -1 on
 * error.  So the reader's verdict is the one verdict on an image: what
 * vm-inspect calls whole, vm-restore takes (unless this host cannot run
 * the guest), and both refuse the rest with the reader's message.
 * Unknown optional records are returned too, with their type; callers
 * skip what they do not know.
 */
int	vmi_next(struct vmi_reader *, struct vmi_record *rec);

uint32_t	vmi_reader_flags(struct vmi_reader *);
uint64_t	vmi_reader_offset(struct vmi_reader *);
const struct vmi_guest *vmi_reader_guest(struct vmi_reader *);
const char	*vmi_reader_error(struct vmi_reader *);
/* 1 if rec's body lies in the mapped image file, unchanged (and mapped)
 * until vmi_reader_free(): a regular file, the record not compressed. */
int	vmi_record_stable(const struct vmi_reader *, const struct vmi_record *);
/*
 * A record read from a pipe or socket lies in the reader's buffer, which
 * the reader reads a later record into.  vmi_record_lend() takes that
 * buffer out of the reader, so that rec's body stays as it is, and
 * mapped, until vmi_loan_return() or vmi_reader_free(): for a restore
 * that passes the pages on by reference (vmsplice) and learns later when
 * they have been taken.  rec must be the record just handed out by
 * vmi_next().  NULL when the body is not the reader's to lend (a mapped
 * file: stable already; a decompressed body).
 */
struct vmi_loan;
struct vmi_loan	*vmi_record_lend(struct vmi_reader *,
		    const struct vmi_record *rec);
void	vmi_loan_return(struct vmi_reader *, struct vmi_loan *);
/* 1 if the stream has octets after END (reads ahead to find out). */
int	vmi_reader_trailing(struct vmi_reader *);
void	vmi_reader_free(struct vmi_reader *);

/* Views of checked bodies (lengths already validated by vmi_next). */
struct vmi_pages_view {
	uint32_t	count;
	const uint64_t	*pfn;		/* count words */
	const uint8_t	*data;		/* pages with data, in order */
};
void	vmi_pages_view(const struct vmi_record *, struct vmi_pages_view *);

/* Guess what a stream that is not ours is, from its first octets. */
const char *vmi_sniff(const void *p, size_t len);

#endif /* VMI_H */
