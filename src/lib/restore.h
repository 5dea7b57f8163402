/*
 * restore.h: restore a guest from an image stream as it arrives.
 * Shared by vm-restore and vm-recv.  The engine decides what its input
 * is (a vmpipe image, or a file written by `xl save'), so that every
 * program that restores accepts the same inputs.
 */
#ifndef RESTORE_H
#define RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "hv.h"

/* The preflight's verdict: what became of the guest's description. */
enum restore_code {
	RESTORE_ACCEPTED,	/* checked against this host; being made */
	RESTORE_REFUSED,	/* this host cannot or will not run it */
	RESTORE_BAD_INPUT,	/* not an image, or a damaged one */
	RESTORE_FAILED,		/* a failure of this host while making it */
};

struct restore_verdict {
	enum restore_code	 code;
	const char		*text;	/* why, for all but ACCEPTED */
	/* ACCEPTED: the name the guest is built under (a twin's is not
	 * the image's, restore_opts.twin). */
	const char		*name;
};

/* What the input was. */
enum restore_format {
	RESTORE_VMPIPE,		/* a vmpipe image (vm-image(5)) */
	RESTORE_XL,		/* a file of `xl save', restored by libxl */
};

struct restore_result {
	enum restore_format format;
	enum restore_code code;		/* of a failure: refused or not */
	struct hv_info	info;		/* the guest as restored */
	uint64_t	records;
	uint64_t	pages;		/* page records' frames applied */
	uint64_t	bytes;		/* stream octets read */
	uint64_t	resume_ns;	/* CLOCK_REALTIME when resumed */
};

struct restore_opts {
	const char	*name;		/* new name, or NULL to keep */
	int		 clone;		/* fresh UUID (and MACs): --as */
	int		 paused;	/* leave the guest paused */
	const char	*backend;	/* NULL: the image's */
	/* -C: an administrator's configuration file in place of the
	 * image's, for the same guest (hv.h's config_file()); NULL: none. */
	const char	*config_path;
	/*
	 * A bundle's disks put elsewhere (vm-restore of a bundle): disk i
	 * of the configuration (hv.h's config_disks) at disk_paths[i]; the
	 * new paths are the policy's to judge.  ndisk_paths 0: where the
	 * configuration names them.  Not with config_path.
	 */
	const char *const *disk_paths;
	unsigned	 ndisk_paths;
	/*
	 * Called once, when the guest's description (GUEST and CONFIG, or
	 * an xl file's header) has been judged, before any memory arrives:
	 * accepted, or refused, or a bad input, with the reason.  Also
	 * called with a failure that comes before any verdict.  May be NULL.
	 */
	void		(*preflight)(void *arg, const struct restore_verdict *);
	void		*arg;
	/*
	 * Called once the guest runs (or is committed, with paused), before
	 * restore_stream() releases its hold of the guest's memory, which
	 * for a large guest takes a while: the place for an acknowledgement
	 * that the far side waits on.  May be NULL.
	 */
	void		(*running)(void *arg, const struct restore_result *);
	/*
	 * A handover: called when END has checked and the guest is whole
	 * but neither committed nor resumed, so that it does not outlive
	 * this process.  0: go on (commit, resume); -1: destroy it, with
	 * the reason in why.  May be NULL (go on at once).
	 */
	int		(*prepared)(void *arg, const struct restore_result *,
			    char *why, size_t whylen);
	/*
	 * With prepared: a guest here that holds the image's name and UUID
	 * is taken for the source of a migration to this same host (where
	 * the backend can rename guests).  The copy is built beside it as
	 * NAME--incoming and takes NAME after prepared() returns, once the
	 * sender has renamed its paused source away (names.h, VMP_TWIN_*);
	 * a source still named NAME, or running, then, fails the restore.
	 */
	int		 twin;
	int		 progress;	/* progress line on stderr */
	/*
	 * The input is the image alone (a file, or a pipe its writer
	 * closes): octets after END make it not whole, as vm-inspect says,
	 * and the guest is not made.  Not for a peer's connection, which
	 * may stay open after END.
	 */
	int		 whole_input;
};


/*
 * Read an image from fd, create the guest, apply pages and state as they
 * come, and, when END checks, commit and (unless opts->paused) resume it.
 * An `xl save' file is handed to the Xen backend whole.  Returns 0, or -1
 * with a message in err and res->code set: then no guest is left behind.
 */
int	restore_stream(int fd, const struct restore_opts *opts,
	    struct restore_result *res, char *err, size_t errlen);

#endif /* RESTORE_H */
