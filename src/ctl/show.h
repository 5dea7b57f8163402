/*
 * show.h: how vm-ctl shows guests: list's table, info's "key: value"
 * lines, and both as JSON (--json; vm-ctl(8) names the keys).  One file
 * holds every form, so that they show the same fields the same way.
 */
#ifndef SHOW_H
#define SHOW_H

#include <stdio.h>

#include "hv.h"
#include "json.h"

void	show_list_header(void);
void	show_list_row(const struct hv_info *);
void	show_info(const char *backend, const struct hv_info *);

/*
 * A guest as a JSON object.  cpu: with its cpu_features, which
 * describe() gives and list() need not (Xen's list leaves them out).
 */
void	show_json(struct json *, const char *backend,
	    const struct hv_info *, int cpu);

/*
 * A JSON document made in memory and written to standard output only
 * once it is whole: a program that reads it never gets half of one, even
 * when the backend fails half-way through a list.
 */
struct show_doc {
	char		*buf;
	size_t		 len;
	FILE		*f;
	struct json	 j;
};

/* 0, or -1 with errno. */
int	show_doc_open(struct show_doc *);
int	show_doc_write(struct show_doc *);

#endif /* SHOW_H */
