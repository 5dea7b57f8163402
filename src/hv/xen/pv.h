/*
 * pv.h: a PV guest's save as libxl writes it (pvstream.c reads
 * it, pv.c makes the backend's hooks of it).
 */
#ifndef XEN_PV_H
#define XEN_PV_H

#include <stddef.h>
#include <stdint.h>

#define PV_MAP_MAX		1024		/* frames a map() at most */
#define PV_NO_PAGE		UINT64_MAX

/* A record of the stream other than a page's, kept whole. */
struct pv_rec {
	uint32_t	 tag;
	uint32_t	 len;
	int		 early;
	uint8_t		*body;
};

/* The stream read: its records, and each frame's type and place. */
struct pv_copy {
	unsigned long	 npfn;
	uint64_t	*off;		/* per frame: its page in the file */
	uint8_t		*type;		/* per frame: PFINFO >> 28, 0xff none */
	struct pv_rec	*rec;
	size_t		 nrec, arec;
	int		 pages_seen;
	uint8_t		*buf;		/* map()'s pages, PV_MAP_MAX of them */

	/* the reader */
	int		 fd;
	uint64_t	 pos;
	char		 err[200];
};

/* An index for npfn frames; NULL with errno. */
struct pv_copy	*xen_pv_copy_new(unsigned long npfn);
/* Read the file fd (which the index owns from then on) to libxl's END:
 * NULL, or why it stopped. */
const char	*xen_pv_read(struct pv_copy *, int fd);
void		 xen_pv_copy_free(struct pv_copy *);

#endif /* XEN_PV_H */
