/*
 * emit.h: writing a guest into a stream: its description, its memory
 * (all of it, or the frames of a dirty bitmap) and its state.  The save
 * engine's lower half, used by save.c alone: programs call save_guest().
 */
#ifndef EMIT_H
#define EMIT_H

#include <signal.h>
#include <stdint.h>

#include "hv.h"
#include "progress.h"
#include "vmi.h"

struct emit {
	const struct hv_ops	*ops;
	struct hv_guest		*g;
	struct hv_info		 info;
	uint64_t		 npages;
	struct vmi_writer	*w;
	struct progress		*pr;
	struct progress_info	 pi;
	double			 share_base;	/* of the whole job, before */
	double			 share_span;	/* this call's part of it */
	volatile sig_atomic_t	*stop;	/* set by a signal: give up */
	uint64_t		 bw;	/* octets per second at most; 0 = no cap */
	uint64_t		 bw_t0;	/* when the cap started counting */
	uint64_t		 bw_sent; /* page octets since then */
	void			*cfg;	/* to write, or NULL: the guest's */
	size_t			 cfglen;
	char			 err[VMI_ERRLEN];
};

/* GUEST, CONFIG and a NOTE naming the writer and the time. */
int	emit_guest(struct emit *, const char *program);

/*
 * Every frame (bitmap == NULL) or the frames set in bitmap.  stable: the
 * guest is paused, pages may be sent without a copy.  Counts into *sent.
 */
int	emit_pages(struct emit *, const uint64_t *bitmap, int stable,
	    uint64_t *sent);

/*
 * The frames of the backend's next round, in its order (own_rounds() of
 * hv.h): until map_next() says the round is over.  Counts into *sent.
 */
int	emit_round(struct emit *, int stable, uint64_t *sent);

/* Every VCPU and PLATFORM record.  The guest must be paused. */
int	emit_state(struct emit *);

/* Bits set in a bitmap of n bits. */
uint64_t	bitmap_count(const uint64_t *bitmap, uint64_t n);

#endif /* EMIT_H */
