/*
 * xen.h: the Xen backend's private interface, shared by its files.
 *
 * ops.c	the ops table, and nothing else
 * ctx.c	the shared handles (libxenctrl, foreign memory, libxl),
 *		the logger they report through, domain info
 * guest.c	finding guests, describing them, pausing, suspending,
 *		resuming, destroying
 * mem.c	mapping guest memory and log-dirty
 * put.c	the pages of a guest being restored
 * state.c	vCPU and platform state (HVM context, params, TSC)
 * create.c	making a guest for a restore through libxl
 * stream.c	the pipe that carries the restore's stream to libxl
 *		(the records are laid out by src/proto/xen_stream.c)
 * config.c	the guest's libxl configuration: parsing, a clone's
 *		identity, memory needed
 * xl.c		restoring a file of `xl save'
 * dm.c		an HVM guest's device model (QEMU): its state, its
 *		xenstore keys, its dirty log
 * pv.c		saving a PV guest through libxl's own save (a guest
 *		pvsave.c can't take)
 * pvstream.c	reading that save's stream (pv.h)
 * pvsave.c	a 64-bit PV guest's save by this backend itself
 * pvvcpu.c	its vCPUs' records
 *
 * PVH and HVM guests are saved by this backend itself, offline and live:
 * one HVM context holds every vCPU, and an HVM guest's QEMU state goes
 * with it.  A 64-bit PV guest is saved by this backend too (pvsave.c),
 * any other PV guest through libxenctrl's save (pv.c); live copies of PV
 * guests can't work with Debian's Xen, whose log-dirty of a PV guest
 * needs the shadow paging it is built without.
 */
#ifndef XEN_H
#define XEN_H

#include <pthread.h>
#include <sys/uio.h>
#include <stdint.h>

#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <libxl.h>

#include "hv.h"

#include "xen_stream.h"

struct hv_guest {
	uint32_t	 domid;
	uint32_t	 type;		/* VMI_GT_XEN_* */
	char		 name[VMI_NAME_MAX];
	int		 suspended;	/* by suspend(): resume() cancels it */
	int		 paused;	/* pauses made through this handle */
	int		 restored;	/* committed by a restore, not yet run */
	uint64_t	 ballooned_kb;	/* dom0 gave this for the guest */

	/* log-dirty */
	int		 logdirty;
	unsigned long	 npages;	/* frames covered by the bitmap */
	xc_hypercall_buffer_t dirty_hbuf;
	void		*dirty;		/* the hypercall buffer's pages */

	/* restore (create() until commit()) */
	int		 creating;	/* not yet committed */
	int		 sock;		/* our end of the pipe to libxl */
	struct xls	 out;		/* the stream written into it */
	int		 werr;		/* errno of a failed stream write */
	pthread_t	 thread;
	int		 thread_up;
	int		 lrc;		/* libxl's result */
	char		 lmsg[256];	/* and its last error */
	int		 peer;		/* libxl's end; -1 once it is done */
	libxl_domain_config config;
	int		 config_init;
	uint8_t		*ptype;		/* PV: page type per frame, or NULL */
	unsigned long	 nptype;
	struct xen_tail	*tail;		/* libxl records held for commit() */
	unsigned	 tail_n;	/* how many, */
	size_t		 tail_octets;	/* and their size */
	int		 dm_logdirty;	/* QEMU asked to log its writes */

	/* save of a PV guest: through libxl (pv.c) or our own (pvsave.c) */
	struct pv_copy	*pv;
	struct pv_own	*pvn;
};

/* ctx.c: the shared handles, opened on first use; -1 with a message on
 * failure. */
int		 xen_handles(void);
extern xc_interface		*xen_xch;
extern xenforeignmemory_handle	*xen_fmem;
extern libxl_ctx		*xen_ctx;

/* VMPIPE_DEBUG is set: log what libxl says, and each piece of state. */
extern int	 xen_debug;

/* The last error libxl or libxc logged in this thread, or "". */
const char	*xen_lastlog(void);

/* Fill a domaininfo for domid; -1 with ESRCH when there is none. */
int		 xen_dominfo(uint32_t domid, xc_domaininfo_t *di);
int		 xen_is_suspended(const xc_domaininfo_t *di);
/* Whether this Xen has shadow paging, which a PV guest's log-dirty
 * needs (Debian's has not). */
int		 xen_has_shadow(void);
/* p2m size in frames, the range that map() and dirty bitmaps cover. */
int		 xen_nr_pfns(uint32_t domid, unsigned long *n);

/* guest.c: the hooks of ops.c's table that find and handle guests. */
int	xen_probe(void);
int	xen_list(hv_list_fn, void *);
int	xen_open(const char *, struct hv_guest **);
int	xen_describe(struct hv_guest *, struct hv_info *);
int	xen_get_config(struct hv_guest *, void **, size_t *);
int	xen_pause(struct hv_guest *);
int	xen_suspend(struct hv_guest *);
int	xen_resume(struct hv_guest *);
int	xen_destroy(struct hv_guest *);
int	xen_rename(struct hv_guest *, const char *);
int	xen_console(struct hv_guest *, int, int);
void	xen_close(struct hv_guest *);

/* mem.c */
int	xen_map(struct hv_guest *, const uint64_t *, unsigned, int, void **,
	    void **);
void	xen_unmap(struct hv_guest *, void *);
int	xen_log_dirty_start(struct hv_guest *);
int	xen_log_dirty_stop(struct hv_guest *);
long	xen_dirty_fetch(struct hv_guest *, uint64_t *);

/* put.c: the pages of a guest being restored. */
int	xen_put_pages(struct hv_guest *, const uint64_t *, unsigned,
	    const void *const *, int);


/* state.c */
int	xen_get_state(struct hv_guest *, hv_state_fn, void *);
int	xen_set_state(struct hv_guest *, const struct hv_state *);

/* create.c */
int	xen_create(const struct hv_info *, const void *, size_t,
	    struct hv_guest **);
int	xen_commit(struct hv_guest *);
void	xen_create_abort(struct hv_guest *);

/* config.c */
/* Parse libxl JSON (NUL-terminated or not) into c, which the caller
 * has initialised and disposes of. */
/* disks.c: the disks a bundle carries (hv.h's config_disks). */
int	xen_config_disks(const void *config, size_t len, struct hv_disk *out,
	    unsigned max);
int	xen_config_move_disks(const void *config, size_t len,
	    const char *const *path, unsigned n, void **out, size_t *outlen);
int	xen_config_parse(const void *json, size_t len, libxl_domain_config *c);
/* Rename (name != NULL; a name that fails vmp_name_check() is refused
 * with its message), set the UUID (uuid != NULL), and for a clone give
 * every vif a fresh MAC that no running guest has. */
int	xen_config_identity(libxl_domain_config *, const char *name,
	    const uint8_t uuid[16], int clone);
/* What the guest needs and what Xen has free (with what dom0 would give,
 * where it gives), in octets; what it needs in KiB, c untouched. */
int	xen_mem_need(const libxl_domain_config *, uint64_t *need,
	    uint64_t *avail);
int	xen_mem_need_kb(const libxl_domain_config *c, uint64_t *needkb);
/* balloon.c: xl.conf's autoballoon (1 or 0); what dom0 can spare, KiB;
 * make need_kb free, dom0 giving the rest (*taken_kb), or -1; give it
 * back. */
int	 xen_autoballoon(void);
uint64_t xen_dom0_spare_kb(void);
int	 xen_balloon_for(uint64_t need_kb, uint64_t *taken_kb);
void	 xen_balloon_return(uint64_t taken_kb);
/* admit.c: may this configuration be used here (admit.h's policy)?  0,
 * or -1 with the refused key in why. */
int	xen_config_admit(const libxl_domain_config *, char *why, size_t len);
int	xen_admit(const struct hv_info *, const void *, size_t, char *why,
	    size_t len);
int	xen_mem_free(const struct hv_info *, const void *, size_t,
	    uint64_t *, uint64_t *);
/* cpu.c: a guest's CPU policy (see there).  Its feature words, as the
 * GUEST record's; those Xen can give a guest like info; its early pieces
 * (HVM, PVH). */
int	xen_cpu_features(uint32_t domid, uint32_t out[4]);
int	xen_cpu_max(const struct hv_info *, uint32_t out[4]);
int	xen_cpu_state(struct hv_guest *, hv_state_fn, void *);
/* monitor.c: start the monitor of a restored guest (see there). */
int	xen_supervise(struct hv_guest *);
int	xen_supervise_domain(uint32_t domid);
/* savable.c: 0, or -1 for a guest no save may touch (vNUMA, PCI
 * passthrough, a stub domain device model), with the reason. */
int	xen_save_check(struct hv_guest *);
/* cfgfile.c: the configuration of an administrator's file at path (xl's
 * format or libxl JSON) into c, which the caller has initialised; it
 * must describe the guest own describes (name, type, vCPUs, memory). */
int	xen_config_read(const libxl_domain_config *own, const char *path,
	    libxl_domain_config *c);
int	xen_config_file(const void *, size_t, const char *, void **,
	    size_t *);

/* stream.c: the pipe to libxl's restore.  xen_stream_open() makes fd
 * (our end) g->sock and g->out, the writer into it. */
void	xen_stream_open(struct hv_guest *, int fd);
/* Write one migration-stream record (header, body, padding) to libxl. */
int	xen_stream_record(struct hv_guest *, uint32_t type,
	    const void *a, size_t alen, const void *b, size_t blen);
/* Write iov[0..n) (at most IOV_MAX) to libxl's stream, all of it.  The
 * splice variant hands over the pages by reference: they must not change
 * until libxl has read them (put.c). */
int	xen_stream_iov(struct hv_guest *, struct iovec *iov, int n);
int	xen_stream_splice(struct hv_guest *, struct iovec *iov, int n);
/* The ops table's put_taken(): what libxl has read of what was written. */
int	xen_put_taken(struct hv_guest *, uint64_t *put, uint64_t *taken);
/* After a failed write: why libxl stopped reading (waits for it). */
const char *xen_stream_why(struct hv_guest *);
/* Close our end, and wait for libxl's reader to be done. */
void	xen_stream_close(struct hv_guest *);
/* The pipe's size. */
#define XEN_PIPE_SIZE	(1 << 20)

/* pv.c */
int	xen_pv_suspend(struct hv_guest *);
int	xen_pv_map(struct hv_guest *, const uint64_t *, unsigned, void **,
	    void **);
int	xen_pv_early_state(struct hv_guest *, hv_state_fn, void *);
int	xen_pv_page_state(struct hv_guest *, hv_state_fn, void *);
int	xen_pv_state(struct hv_guest *, hv_state_fn, void *);
void	xen_pv_free(struct hv_guest *);
/* -1 with the reason a PV guest can't be copied live. */
int	xen_pv_no_live(struct hv_guest *);
int	xen_pv_own_rounds(struct hv_guest *);
int	xen_pv_map_own(struct hv_guest *);
/* Whether a live save of the guest is under way. */
int	xen_pv_live(struct hv_guest *);
int	xen_pv_round_next(struct hv_guest *);
int	xen_pv_map_next(struct hv_guest *, uint64_t *, unsigned, unsigned *,
	    void **, void **);

/* pvsave.c: can this PV guest be saved by pvsave.c (1, or 0)?  Once it
 * is suspended, or as its live copy begins: begin (find its p2m); map(),
 * unmap() and
 * page_state() of its frames; its early pieces (X86_PV_INFO before the
 * CPU policy, P2M_FRAMES after it), its state after TSC_INFO; free. */
int	xen_pvn_able(struct hv_guest *);
int	xen_pvn_begin(struct hv_guest *);
int	xen_pvn_map(struct hv_guest *, const uint64_t *, unsigned, void **,
	    void **);
void	xen_pvn_unmap(struct hv_guest *);
int	xen_pvn_page_state(struct hv_guest *, hv_state_fn, void *);
int	xen_pvn_info(struct hv_guest *, hv_state_fn, void *);
int	xen_pvn_p2m_frames(struct hv_guest *, hv_state_fn, void *);
int	xen_pvn_state(struct hv_guest *, hv_state_fn, void *);
/* A machine frame as the guest's own (0), or -1 (not the guest's). */
int	xen_pvn_to_pfn(struct hv_guest *, uint64_t *frame);
/* pvvcpu.c: the vCPUs' records of pvsave.c's save (after its state). */
int	xen_pvn_vcpus(struct hv_guest *, hv_state_fn, void *);
/* A live copy: the frames to send again, or the p2m moved (-1). */
int	xen_pvn_dirty(struct hv_guest *, uint64_t *bitmap, unsigned long);
void	xen_pvn_free(struct hv_guest *);

/* dm.c */
int	xen_dm_state(struct hv_guest *, hv_state_fn, void *);
void	xen_dm_forget(struct hv_guest *);
int	xen_dm_logdirty(struct hv_guest *, int on);

/* state.c */
int	xen_early_state(struct hv_guest *, hv_state_fn, void *);
void	xen_tail_free(struct hv_guest *);
int	xen_tail_write(struct hv_guest *);

/* xl.c */
int	xen_restore_native(int, const char *, int, int, const char *,
	    struct hv_info *);
/* xl's header and the configuration it holds (*json malloc'd, *len
 * octets with the NUL), read from fd up to libxl's stream. */
int	xen_xl_read_head(int fd, char **json, size_t *len);

#endif /* XEN_H */
