/*
 * cli_guest.h: what the main()s of programs that open a guest share.
 * Like cli.h, it exits (err(3), with the status given) on failure.  A file
 * of its own, so that programs that open no guest link no backend.
 */
#ifndef CLI_GUEST_H
#define CLI_GUEST_H

#include "hv.h"

/*
 * The backend (by name, or the host's own for NULL) and the running
 * guest named name, opened.  Exits with status ex when either is missing.
 */
const struct hv_ops	*cli_open_guest(const char *backend,
			    const char *name, struct hv_guest **g, int ex);

#endif /* CLI_GUEST_H */
