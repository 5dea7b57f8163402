/*
 * pv.h: a PV guest's save as libxl writes it (pvstream.c reads
 * it, pv.c makes the backend's hooks of it).
 */
#ifndef XEN_PV_H
#define XEN_PV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PV_MAP_MAX		1024		/* frames a map() at most */

/* A record of the stream other than a page's, kept whole. */
struct pv_rec {
	uint32_t	 tag;
	uint32_t	 len;
	int		 early;
	uint8_t		*body;
};

/*
 * The stream, read in order as libxl writes it: never more of its pages
 * at once than one PAGE_DATA record (1024 frames) and one map().
 */
struct pv_copy {
	unsigned long	 npfn;
	struct pv_rec	*rec;		/* every record but the pages */
	size_t		 nrec, arec;
	int		 fd;		/* the stream */
	int		 state;		/* where the reader is (pvstream.c) */
	uint64_t	 pos;		/* octets read */

	/* the PAGE_DATA record being taken: its frame words, the next to
	 * take, its pages with data and the next of those */
	uint64_t	 w[PV_MAP_MAX];
	uint32_t	 nw, at, dat;
	uint8_t		*data;
	uint64_t	 next;		/* no frame below it may be asked for */

	/* a live save's rounds, taken as they come (xen_pv_take_next):
	 * the last frame of this round, and whether it is over (a record
	 * began again at a lower frame); once the guest is suspended the
	 * rest of the pages are one round */
	int		 live;
	int		 rstarted, rover, rfinal;
	uint64_t	 rlast;

	/* the last map(): where its pages go when it spans two PAGE_DATA
	 * records, and those that are page tables as frame words
	 * (pfn | type << 60) */
	uint8_t		*buf;
	uint64_t	 tables[PV_MAP_MAX];
	unsigned	 ntables;
	char		 err[200];

	/* the writer: libxl's save, in a thread of its own (pv.c) */
	pthread_t	 thread;
	int		 thread_up;
	int		 wfd;
	int		 rc;
	uint32_t	 domid;
};

/* A reader for a guest of npfn frames; NULL with errno. */
struct pv_copy	*xen_pv_copy_new(unsigned long npfn);
/* Read fd (which the reader owns from then on) to the first page: the
 * headers and the early records.  NULL, or why it stopped. */
const char	*xen_pv_open(struct pv_copy *, int fd);
/* The frames pfn[0..n), ascending and above those asked before, as the
 * stream gives them: ptr[i] their data (in data or buf, valid to the next
 * call), or NULL for a frame with none (or none in the stream); their
 * page-table types in tables.  0, or -1 with why in err. */
int		 xen_pv_take(struct pv_copy *, const uint64_t *pfn, unsigned n,
		    void **ptr);
/*
 * A live save's next frames with data, in the stream's order, up to max
 * and never past one PAGE_DATA record (ptr[i] point into it, valid to the
 * next call): *n 0 once the round is over.  0, or -1 with why in err.
 */
int		 xen_pv_take_next(struct pv_copy *, uint64_t *pfn, unsigned max,
		    unsigned *n, void **ptr);
/* Begin the next round; final: the guest is suspended, so the rest of
 * the pages are the last round, whatever their order.  1 when pages are
 * left, 0 when the stream is past them, -1 when it went bad. */
int		 xen_pv_round_begin(struct pv_copy *, int final);
/* Read the rest, to libxl's END: the late records.  NULL, or why. */
const char	*xen_pv_finish(struct pv_copy *);
/* Free it, closing fd (pv.c first stops its writer). */
void		 xen_pv_copy_free(struct pv_copy *);

#endif /* XEN_PV_H */
