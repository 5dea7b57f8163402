/*
 * larchive.c: see larchive.h.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "larchive.h"

struct larchive la;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failed[256];

static void
load(void)
{
	void *h = dlopen(LARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(failed, sizeof failed, "%s", dlerror());
		return;
	}
	/* A table half filled is never used: failed says so. */
#define LARCHIVE_SYM(f)							\
	if ((*(void **)&la.f = dlsym(h, #f)) == NULL) {			\
		snprintf(failed, sizeof failed, "%s: no %s",		\
		    LARCHIVE_SONAME, #f);				\
		return;							\
	}
	LARCHIVE_FNS(LARCHIVE_SYM)
#undef LARCHIVE_SYM
}

int
larchive_load(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (failed[0] == '\0')
		return 0;
	snprintf(err, errlen, "bundle: can't load libarchive, which bundles "
	    "need: %s", failed);
	return -1;
}
