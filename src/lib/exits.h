/*
 * exits.h: the one table of exit statuses that every vmpipe program uses.
 * vmpipe(7) and each man page's EXIT STATUS say the same.  The codes keep
 * apart what an administrator must act on differently: a failure that
 * changed nothing, one that left a guest paused, and one whose outcome is
 * not known here.
 */
#ifndef EXITS_H
#define EXITS_H

#define VMP_EX_OK	0	/* done */
#define VMP_EX_FAIL	1	/* failed or refused; nothing changed: the
				   guest runs where it ran, no guest was made */
#define VMP_EX_USAGE	2	/* bad usage; nothing was done */
#define VMP_EX_PAUSED	3	/* a guest is left paused here: it could not
				   be resumed, or (vm-migrate) it runs at the
				   destination and the copy here could not be
				   destroyed */
#define VMP_EX_INDOUBT	4	/* the outcome is not known here: the guest
				   may run at the destination; the source is
				   held paused until it is settled */
#define VMP_EX_NOCONV	5	/* a live copy did not converge and was told
				   not to fall back (--no-fallback); nothing
				   changed, the guest runs */

#endif /* EXITS_H */
