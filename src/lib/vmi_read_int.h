/*
 * vmi_read_int.h: the reader's state, shared by its two halves and by
 * nothing else.  vmi_read.c fetches raw records into the ring (in the
 * read-ahead thread, if there is one); vmi_check.c checks them in the
 * caller's thread (vmi_next()).  Not installed: vmi.h is the reader's
 * face, and struct vmi_reader stays opaque there.
 */
#ifndef VMI_READ_INT_H
#define VMI_READ_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "hash.h"
#include "vmi.h"
#include "vmi_pool.h"

/*
 * Two raw records: one being checked and applied, the next being read.
 * More would only lengthen the queue a live migration's final pause must
 * wait for.
 */
#define NRING	2

struct raw {
	int			 state;		/* 0 empty, 1 full */
	struct vmi_record_header hdr;
	uint64_t		 offset;
	size_t			 got;		/* octets read of hdr+body */
	int			 eof;		/* stream ended here */
	int			 error;		/* errno of a failed read */
	struct vmi_buf		*mem;		/* body and padding, if read */
	const uint8_t		*body;		/* in mem, or in the file map */
};

struct vmi_reader {
	int			 fd;
	uint32_t		 hflags;
	/*
	 * A regular file is mapped rather than read: its records are
	 * checked and applied where they lie, without a copy.  stream is
	 * the stream's first octet, stream_len its length.
	 */
	void			*map;
	size_t			 map_len;
	const uint8_t		*stream;
	uint64_t		 stream_len;
	uint64_t		 offset;	/* where the next fetch reads */
	struct raw		 ring[NRING];
	struct vmi_pool		 pool;		/* what ring[] reads into */
	uint64_t		 head;		/* next to fetch */
	uint64_t		 tail;		/* next to hand out */
	int			 held;		/* tail-1 is still in use */
	int			 fetch_done;	/* END fetched, or eof/error */

	int			 threaded;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;

	uint8_t			*dbuf;		/* decompressed body */
	ZSTD_DCtx		*z;
	struct hash_state	 digest;
	uint64_t		 seq;		/* expected next sequence */
	struct vmi_guest	 guest;
	int			 have_guest;
	int			 have_config;
	int			 ended;
	int64_t			 last_round;
	int			 last_round_final;
	uint64_t		 last_round_seq;
	/*
	 * Frames sent so far, one bit each, for an image without the LIVE
	 * flag, where each frame comes at most once: at most 32 MiB, for
	 * the largest guest (1 TiB).
	 */
	uint64_t		*seen;
	char			 err[VMI_ERRLEN];
};

/*
 * The next raw record, fetched but not judged; the one handed out before
 * is released (it may be read over).  NULL once nothing more will come:
 * after the END record, the end of the stream, a failed read or a length
 * past the limit, which the record handed out last shows.  vmi_next() is
 * its one caller.
 */
struct raw	*vmi_next_raw(struct vmi_reader *);

#endif /* VMI_READ_INT_H */
