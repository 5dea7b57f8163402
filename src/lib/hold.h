/*
 * hold.h: the fence of a migration's source.  Once the far side of a
 * handover has said `prepared', the sender marks the source guest, paused
 * here, as held for that migration: a file NAME.hold in the run directory
 * that names the destination.  While it is there `vm-ctl resume' refuses
 * the guest (the far side may run it), and only the settling of the
 * migration, or an administrator's `vm-ctl resume --force', removes it.
 * Destroying the guest removes it too.  Plain libc, like names.h.
 */
#ifndef HOLD_H
#define HOLD_H

#include <stddef.h>

/* Hold guest for a migration to host.  0, or -1 with a message in why
 * (held already for another migration is an error). */
int	vmp_hold_set(const char *guest, const char *host, char *why,
	    size_t len);

/* Is guest held?  1 with the destination in host (size len), 0 when not,
 * -1 with errno on error. */
int	vmp_hold_get(const char *guest, char *host, size_t len);

/* Release guest: 0, also when it was not held; -1 with errno. */
int	vmp_hold_clear(const char *guest);

#endif /* HOLD_H */
