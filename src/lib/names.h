/*
 * names.h: how a guest is named and found on this host.  The one rule for
 * guest names, the run directory and the paths of a guest's files in it,
 * and UUIDs.  Plain libc: nothing here prints or exits; failures are -1
 * with errno, and a message where a user needs one.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stddef.h>
#include <stdint.h>

/* The longest guest name, in octets: VMI_NAME_MAX less its NUL. */
#define VMP_NAME_MAX		63

/* The run directory when $VMPIPE_RUNDIR is unset or empty. */
#define VMP_RUNDIR_DEFAULT	"/run/vmpipe"

/* A formatted UUID and its NUL: 8-4-4-4-12 hexadecimal digits. */
#define VMP_UUID_STRLEN		37

/*
 * The one rule for a guest's name, wherever the name comes from (an
 * option, a receive request, an image's GUEST record, a backend): 1 to 63
 * octets of the letters A-Z and a-z, the digits and the characters '.',
 * '_', '+' and '-'; the first a letter or a digit; and not digits alone.
 * Such a name is a file name in the run directory with no quoting, a
 * single word in messages and shells, a Xen domain name that xl will not
 * take for a domain ID, and it fits the image's name field.
 *
 * Returns 0, or -1 with errno EINVAL and, if len > 0, a one-line message
 * in why: 'bad guest name "NAME": expected ..., found ...', the name with
 * its non-printable octets escaped as \xNN (and cut short when long).
 */
int	 vmp_name_check(const char *name, char *why, size_t len);

/* The run directory: $VMPIPE_RUNDIR if set and not empty, else the
 * default.  The string is the environment's or a constant. */
const char *vmp_rundir(void);

/*
 * Make the run directory dir (NULL: vmp_rundir()) if it is missing, and
 * check that it can be trusted with guests' sockets, locks and pid files:
 * a directory, not a symbolic link, owned by root or by us, and writable
 * by no one else.  Returns 0, or -1 with a message in why.
 */
int	 vmp_rundir_ready(const char *dir, char *why, size_t len);

/*
 * Put "DIR/NAME.SUFFIX", the path of one of a guest's files, in buf of
 * size len; dir NULL means vmp_rundir().  Returns 0, or -1 with errno
 * EINVAL (name fails vmp_name_check(), or suffix is empty or holds a
 * '/') or ENAMETOOLONG (the path does not fit in len).
 */
int	 vmp_runpath(char *buf, size_t len, const char *dir, const char *name,
	    const char *suffix);

/* A random (version 4, RFC 4122 variant) UUID.  0, or -1 with errno
 * from getrandom(2). */
int	 vmp_uuid_generate(uint8_t uuid[16]);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower case, NUL-terminated. */
void	 vmp_uuid_format(const uint8_t uuid[16], char out[VMP_UUID_STRLEN]);

/* Parse that form (either case), or 32 hex digits without dashes.
 * 0, or -1 with errno EINVAL; uuid is written only on success. */
int	 vmp_uuid_parse(const char *s, uint8_t uuid[16]);

/*
 * A migration to this same host (xl's names for it): the copy is built
 * beside its source, which holds the name, as NAME--incoming; before the
 * go the sender renames the paused source NAME--migratedaway, and the
 * copy takes NAME.  vmp_twin_name() writes name and suffix into buf:
 * 0, or -1 with errno EINVAL when the result is no good name (too long).
 */
#define VMP_TWIN_INCOMING	"--incoming"
#define VMP_TWIN_AWAY		"--migratedaway"
int	 vmp_twin_name(const char *name, const char *suffix, char *buf,
	    size_t len);

#endif /* NAMES_H */
