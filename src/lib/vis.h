/*
 * vis.h: text from elsewhere - a guest's console, an image's NOTE - made
 * safe to show on a terminal.
 */
#ifndef VIS_H
#define VIS_H

#include <stddef.h>

#define VIS_TAB		0x1	/* keep tabs as they are */

/*
 * Put len octets of src into dst (of size cap, at least 5) as text: every
 * control character (C0, DEL, C1, as a raw octet or as UTF-8) and every
 * octet that is not part of UTF-8 as \xNN, octet by octet, '\' as "\\",
 * the rest as it is.  At most 4 * len + 1 octets; what does not fit is cut
 * at a whole character.  dst is NUL-terminated; returns its length.
 */
size_t	vis_text(char *dst, size_t cap, const void *src, size_t len,
	    int flags);

#endif /* VIS_H */
