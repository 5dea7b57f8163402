/*
 * hv.c: choosing a backend, and the per-thread failure message that
 * hooks leave for hv_strerror().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

/*
 * The backends live in rooms of their own (src/hv/kvm, src/hv/xen), and
 * a program links only those it may open guests with (the Makefile's
 * HV_<program>); Xen's is left out where libxen is not installed.  Weak
 * references let this file link either way: a table not linked in is
 * NULL here.  In the order hv_select() probes them.
 */
extern const struct hv_ops hv_xen_ops __attribute__((weak));
extern const struct hv_ops hv_kvm_ops __attribute__((weak));

static const struct hv_ops *
backend(unsigned i)
{
	switch (i) {
	case 0:
		return &hv_xen_ops;	/* NULL when not linked in */
	case 1:
		return &hv_kvm_ops;
	}
	return NULL;
}

#define NBACKENDS	2

static __thread char	errbuf[512];
static __thread int	errset;

void
hv_seterr(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	errset = 1;
	errno = e;
}

/* Backends call this as a hook starts, so no stale message survives. */
void
hv_clearerr(void)
{
	errset = 0;
}

const char *
hv_strerror(void)
{
	return errset ? errbuf : strerror(errno);
}

const struct hv_ops *
hv_by_id(uint32_t id)
{
	unsigned i;

	for (i = 0; i < NBACKENDS; i++) {
		const struct hv_ops *o = backend(i);

		if (o != NULL && o->backend == id)
			return o;
	}
	errno = ENOENT;
	return NULL;
}

const struct hv_ops *
hv_select(const char *name)
{
	unsigned i;

	if (name == NULL || *name == '\0')
		name = getenv("VMPIPE_BACKEND");
	if (name != NULL && *name == '\0')
		name = NULL;
	for (i = 0; i < NBACKENDS; i++) {
		const struct hv_ops *o = backend(i);

		if (o == NULL)
			continue;
		if (name != NULL) {
			if (strcmp(o->name, name) == 0)
				return o;
		} else if (o->probe()) {
			return o;
		}
	}
	if (name != NULL) {
		hv_seterr("unknown backend '%s'", name);
		errno = ENOENT;
	} else {
		hv_seterr("no usable hypervisor backend on this host");
		errno = ENODEV;
	}
	return NULL;
}
