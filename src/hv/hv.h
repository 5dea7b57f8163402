/*
 * hv.h: the hypervisor backend interface.
 *
 * Every program reaches a hypervisor through one table of operations,
 * chosen once at start-up by hv_select().  KVM (guests run by vm-run) and
 * Xen (libxenctrl + libxl) implement it.  All hooks return 0 or a value
 * >= 0 on success and -1 on failure with errno set and, where it helps, a
 * message left by hv_seterr() for hv_strerror(); no hook ever exits or
 * prints.  A guest handle is owned by the caller from open/create until
 * close.
 */
#ifndef HV_H
#define HV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "vmi_format.h"

struct hv_guest;			/* backend private */

/* What describe() tells; also what the GUEST record carries. */
struct hv_info {
	uint32_t	backend;	/* VMI_BACKEND_* */
	uint32_t	arch;		/* VMI_ARCH_* */
	uint32_t	page_shift;
	uint32_t	vcpus;
	uint64_t	mem_bytes;
	uint32_t	guest_type;	/* VMI_GT_* */
	uint8_t		uuid[16];
	uint32_t	cpu_features[4];
	char		name[VMI_NAME_MAX];
	int		paused;		/* describe() only: is it paused now */
	long		id;		/* backend's numeric id (pid, domid) */
};

/* A disk of a guest, as a bundle carries it. */
struct hv_disk {
	char		device[16];	/* the guest's name for it: vda, xvda */
	char		path[PATH_MAX];	/* the host's file or device */
};

/* One piece of vCPU or platform state, as carried by VCPU/PLATFORM. */
struct hv_state {
	uint32_t	kind;		/* VMI_REC_VCPU or VMI_REC_PLATFORM */
	uint32_t	id;		/* vCPU number, 0 for platform */
	uint32_t	tag;		/* backend-defined */
	uint32_t	len;
	const void	*data;
};

typedef int (*hv_state_fn)(void *arg, const struct hv_state *);
typedef int (*hv_list_fn)(void *arg, const struct hv_info *);

struct hv_ops {
	const char	*name;		/* "kvm", "xen" */
	uint32_t	backend;	/* VMI_BACKEND_* */
	/*
	 * 1 if frames that map() returns stay mapped and unchanged while the
	 * guest is paused and the handle open (KVM: one shared mapping, and
	 * no device writes a paused guest's memory), so that a save may
	 * refer to them, hashed where they lie, and splice them into a pipe
	 * without a copy.  Not Xen: its device backends write a suspended
	 * guest's memory (netback's receive copies).
	 */
	int		stable_map;
	/*
	 * CPUID bits (1.ECX, 1.EDX, 7.EBX, 7.ECX, as in hv_info) that this
	 * backend gives a guest whatever the processor has, because it
	 * emulates them (KVM: x2APIC, the TSC deadline timer, TSC_ADJUST):
	 * a restore's preflight does not ask the processor for these.
	 */
	uint32_t	emulated_features[4];

	/* Is this backend usable on this host?  1 yes, 0 no; no errno. */
	int	(*probe)(void);

	/* Call fn for every guest this backend runs.  Stops early, and
	 * returns fn's value, when fn returns non-zero. */
	int	(*list)(hv_list_fn fn, void *arg);

	/* Open a running guest by name (or numeric id).  *out is owned by
	 * the caller until close(). */
	int	(*open)(const char *guest, struct hv_guest **out);

	/* Optional; NULL: every guest can be saved.  Asked by a save
	 * before it touches the guest: can this one be saved at all?  0,
	 * or -1 with the reason in the message (the guest untouched). */
	int	(*save_check)(struct hv_guest *);

	/* Fill *info with the guest's current description. */
	int	(*describe)(struct hv_guest *, struct hv_info *info);

	/* The opaque backend configuration that create() needs to rebuild
	 * the guest.  *buf is malloc'd and owned by the caller. */
	int	(*get_config)(struct hv_guest *, void **buf, size_t *len);

	/* Stop all vCPUs (pause) or let them run again (resume).  suspend()
	 * is the pause before the final copy of a save or migration: on Xen
	 * it asks the guest to suspend cooperatively; on KVM it is pause().
	 * resume() after suspend() undoes it (the guest carries on as if
	 * the save had never happened).  On KVM a pause is a lease: should
	 * the caller die before resume(), destroy() or close(), the guest
	 * runs again; close() with the guest still paused by this handle
	 * leaves it paused on purpose. */
	int	(*pause)(struct hv_guest *);
	int	(*suspend)(struct hv_guest *);
	int	(*resume)(struct hv_guest *);

	/* Dirty logging.  log_dirty_start() begins tracking writes with an
	 * empty log; dirty_fetch() copies the frames written since the last
	 * fetch (or the start) into bitmap, one bit per frame, bit i of
	 * word i/64, and clears the log; it returns the number of set bits.
	 * bitmap holds mem_bytes >> page_shift bits, rounded up to words. */
	int	(*log_dirty_start)(struct hv_guest *);
	int	(*log_dirty_stop)(struct hv_guest *);
	long	(*dirty_fetch)(struct hv_guest *, uint64_t *bitmap);

	/* Optional: a live copy whose rounds the backend's own save picks
	 * (Xen PV: libxenctrl's live save decides which frames each round
	 * sends and when to suspend the guest, and only its stream has the
	 * page tables rewritten for another host).  own_rounds() says
	 * whether this guest's live copy is such; then log_dirty_start()
	 * has that save begun already (by get_early_state()), dirty_fetch()
	 * is not called, and for each round round_next() says whether the
	 * guest is suspended by now (1: the round to come is the last, and
	 * suspend() then only confirms it) or still runs (0), and
	 * map_next() maps the round's next frames in the order that save
	 * sends them, their numbers into pfn (at most max), *n 0 once the
	 * round is over.  Its handle is unmap()'s. */
	int	(*own_rounds)(struct hv_guest *);
	/* Optional: whether map() and map_next() of this guest give pages
	 * of the backend's own memory (Xen PV: the record of libxl's stream
	 * being read), which nothing changes before unmap(): they may go
	 * into the image by reference, without a copy of ours. */
	int	(*map_own)(struct hv_guest *);
	int	(*round_next)(struct hv_guest *);
	int	(*map_next)(struct hv_guest *, uint64_t *pfn, unsigned max,
		    unsigned *n, void **ptr, void **handle);

	/* Map n frames of guest memory.  ptr[i] is set to the frame's
	 * address, or NULL for a frame that does not exist (a hole, which
	 * save skips).  writable for restore (of a backend without
	 * put_pages()).  Returns an opaque handle for
	 * unmap(), which may be NULL when nothing needs releasing.  The
	 * mapping stays valid until unmap() or close(). */
	int	(*map)(struct hv_guest *, const uint64_t *pfn, unsigned n,
		    int writable, void **ptr, void **handle);
	void	(*unmap)(struct hv_guest *, void *handle);
	/* Optional.  State that the pages of the last map() need before
	 * them in an image (Xen PV: which of them are page tables, which a
	 * restore must know when their pages come), given to fn as
	 * get_state() gives its pieces; asked after map(), before the pages
	 * are written. */
	int	(*page_state)(struct hv_guest *, hv_state_fn fn, void *arg);

	/* Emit every piece of vCPU and platform state needed to continue
	 * the guest, in the order set_state() must see it.  The guest must
	 * be paused.  Data passed to fn is valid only during the call. */
	int	(*get_state)(struct hv_guest *, hv_state_fn fn, void *arg);

	/* Optional; NULL means none.  State that a restore needs before
	 * any page (Xen PV: the guest's width, its p2m frames and which
	 * frames are page tables), emitted right after the configuration.
	 * Called after suspend() by an offline save; a backend that has no
	 * such state while the guest runs fails here for a live copy. */
	int	(*get_early_state)(struct hv_guest *, hv_state_fn fn,
		    void *arg);

	/* Restore side.  create() makes a new guest from a description and
	 * configuration, paused, with zeroed memory, ready for map() (or
	 * put_pages()) and set_state(); a guest so made that is closed before commit() is
	 * destroyed, so a failed restore leaves nothing behind.  commit()
	 * makes it an ordinary guest, still paused. */
	int	(*create)(const struct hv_info *, const void *config,
		    size_t len, struct hv_guest **out);
	/* Optional.  Write n frames of a guest that create() made: data[i]
	 * is a frame's 4096 octets, or NULL for a frame that is zero and
	 * was never written (fresh memory is zero).  stable: the data stays
	 * unchanged until commit() or close() returns, or, with
	 * put_taken(), until the guest has taken it, so the backend may
	 * refer to it rather than copy it.  Where a backend has it, restore
	 * uses it instead of map(), a copy and unmap(). */
	int	(*put_pages)(struct hv_guest *, const uint64_t *pfn,
		    unsigned n, const void *const *data, int stable);
	/* Optional, with put_pages().  *put: the octets put_pages() has
	 * passed on so far; *taken: how many of them the guest has taken.
	 * Data put as stable may change once *taken has reached what *put
	 * was when its put_pages() returned.  0, or -1 when that can't be
	 * known (nothing put may change then). */
	int	(*put_taken)(struct hv_guest *, uint64_t *put,
		    uint64_t *taken);
	/* set_state() may apply a piece at once or queue it until commit()
	 * (KVM sends all of them in one request); a bad piece may therefore
	 * be reported by commit(). */
	int	(*set_state)(struct hv_guest *, const struct hv_state *);
	int	(*commit)(struct hv_guest *);

	/* Destroy the guest now.  The handle must still be closed. */
	int	(*destroy)(struct hv_guest *);

	/* Copy the guest's console output so far, then (follow != 0) as it
	 * comes, to fd. */
	int	(*console)(struct hv_guest *, int fd, int follow);

	/* Release the handle (and the guest, if created and not committed).
	 * A pause made through this handle and not undone stays. */
	void	(*close)(struct hv_guest *);

	/* Optional; NULL means this host's MemAvailable and mem_bytes.
	 * Asked by a restore's preflight, before create(): *need is what
	 * the guest that info and config describe takes from the host
	 * (its populated memory and overheads, which can be far less than
	 * mem_bytes, the frame range its pages may use), *avail what the
	 * host can give a new guest now.  Both in octets. */
	int	(*mem_free)(const struct hv_info *, const void *config,
		    size_t len, uint64_t *need, uint64_t *avail);

	/* Optional; NULL: what this host's CPUID says.  The CPU features a
	 * guest like info may have here: CPUID 1.ECX, 1.EDX, 7.0.EBX,
	 * 7.0.ECX, as the GUEST record's cpu_features.  Asked by a
	 * restore's preflight. */
	int	(*cpu_max)(const struct hv_info *, uint32_t out[4]);

	/* Optional; NULL: the configuration reaches nothing of the host.
	 * Asked by a restore's preflight, before create(): may the guest's
	 * configuration be used on this host (the policy of admit.h)?  0,
	 * or -1 with the refused key and why in why. */
	int	(*admit)(const struct hv_info *, const void *config,
		    size_t len, char *why, size_t whylen);

	/* Optional; NULL: this backend reads no configuration files.  The
	 * configuration of an administrator's file at path (Xen: xl's
	 * format or libxl JSON), in the form get_config() gives, to use in
	 * place of config, the guest's own: -C of vm-save and vm-restore.
	 * The file must describe the same guest (name, type, vCPUs,
	 * memory); -1 with the difference, or the file's fault, in the
	 * message.  *out is malloc'd and the caller's. */
	int	(*config_file)(const void *config, size_t len,
		    const char *path, void **out, size_t *outlen);

	/* Optional; NULL: the guest needs no one to watch it (KVM: vm-run
	 * is its process).  Called once a restore has committed the guest
	 * (and resumed it): keep it as the hypervisor's own tools keep
	 * theirs (Xen: a monitor that honours on_poweroff, on_reboot,
	 * on_crash, as xl's does).  0, or -1 with a message; the guest
	 * stays.  restore_native() does the same for what it makes. */
	int	(*supervise)(struct hv_guest *);

	/* Optional; NULL: no migration to this same host keeps the guest's
	 * name and UUID (names.h, VMP_TWIN_*).  Give the guest another
	 * name, which no other guest may hold: 0, or -1 with a message. */
	int	(*rename)(struct hv_guest *, const char *name);

	/* Optional.  Restore a guest from the hypervisor's own save format
	 * (Xen: a file written by `xl save'), read from fd from its first
	 * octet: as name (NULL: the saved name), with a fresh UUID and MAC
	 * addresses when clone, left paused when paused, with the
	 * configuration of the file at cfgpath (as config_file()) unless
	 * that is NULL.  Like create()
	 * and commit() it leaves no guest behind when it fails, and it
	 * checks what a preflight checks first.  *info describes the guest
	 * made. */
	int	(*restore_native)(int fd, const char *name, int clone,
		    int paused, const char *cfgpath, struct hv_info *info);

	/* Optional; NULL: this backend lists no disks, and no bundle
	 * (vm-bundle(5)) carries its guests' disks.  The configuration's
	 * writable file or device disks, at most max into out: how many,
	 * or -1 with a message. */
	int	(*config_disks)(const void *config, size_t len,
		    struct hv_disk *out, unsigned max);

	/* Optional, with config_disks.  The configuration with disk i's
	 * path (in config_disks()'s order) replaced by path[i], for a
	 * restore that puts a bundle's disks elsewhere; *out is malloc'd
	 * and the caller's.  0, or -1 with a message. */
	int	(*config_move_disks)(const void *config, size_t len,
		    const char *const *path, unsigned n, void **out,
		    size_t *outlen);
};

extern const struct hv_ops hv_kvm_ops;
extern const struct hv_ops hv_xen_ops;

/*
 * Pick a backend: by name ("kvm", "xen"), or, for name == NULL, from
 * $VMPIPE_BACKEND or else the first whose probe() succeeds (Xen in a dom0,
 * then KVM).  Returns NULL with errno = ENOENT/ENODEV when none fits.
 */
const struct hv_ops *hv_select(const char *name);
const struct hv_ops *hv_by_id(uint32_t backend);

/* A message for the last failure of a hook in this thread, or
 * strerror(errno) when the hook left none. */
void		 hv_seterr(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
const char	*hv_strerror(void);
/* Forget the last message.  Hooks (and vm-run's requests) call it as they
 * start, so that hv_strerror() never describes a failure by an older
 * one's message. */
void		 hv_clearerr(void);

#endif /* HV_H */
