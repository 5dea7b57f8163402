/*
 * cli_guest.c: open the guest a program was asked to work on.
 */
#include <err.h>

#include "cli_guest.h"

const struct hv_ops *
cli_open_guest(const char *backend, const char *name, struct hv_guest **g,
    int ex)
{
	const struct hv_ops *ops;

	if ((ops = hv_select(backend)) == NULL)
		errx(ex, "no usable backend%s%s", backend ? " " : "",
		    backend ? backend : "");
	if (ops->open(name, g) == -1)
		errx(ex, "guest %s: %s", name, hv_strerror());
	return ops;
}
