/*
 * ctx.c: what the Xen backend's files share: the handles to libxenctrl,
 * foreign memory and libxl, opened once on first use, the logger they
 * report through, and small questions about a domain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

xc_interface		*xen_xch;
xenforeignmemory_handle	*xen_fmem;
libxl_ctx		*xen_ctx;

/*
 * libxl and libxc report through a logger.  Hooks never print, so this one
 * keeps the last error for the hook's message instead.
 */
static __thread char	lastlog[256];
int			xen_debug;

static void
log_vmessage(struct xentoollog_logger *l, xentoollog_level level,
    int errnoval, const char *context, const char *fmt, va_list ap)
{
	char msg[200];

	(void)l;
	if (level < XTL_ERROR && !xen_debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* VMPIPE_DEBUG: everything libxl and libxc say, as they say it. */
	if (xen_debug && level >= XTL_DEBUG)
		fprintf(stderr, "xen: %s%s%s\n", context ? context : "",
		    context ? ": " : "", msg);
	if (level < XTL_ERROR)
		return;
	if (errnoval > 0)
		snprintf(lastlog, sizeof(lastlog), "%s%s%s: %s",
		    context ? context : "", context ? ": " : "", msg,
		    strerror(errnoval));
	else
		snprintf(lastlog, sizeof(lastlog), "%s%s%s",
		    context ? context : "", context ? ": " : "", msg);
}

static void
log_progress(struct xentoollog_logger *l, const char *context,
    const char *doing, int percent, unsigned long done, unsigned long total)
{
	(void)l; (void)context; (void)doing; (void)percent; (void)done;
	(void)total;
}

static void
log_destroy(struct xentoollog_logger *l)
{
	(void)l;
}

static xentoollog_logger logger = { log_vmessage, log_progress, log_destroy };

const char *
xen_lastlog(void)
{
	return lastlog;
}

int
xen_handles(void)
{
	lastlog[0] = '\0';
	xen_debug = getenv("VMPIPE_DEBUG") != NULL;
	if (xen_xch == NULL &&
	    (xen_xch = xc_interface_open(&logger, &logger, 0)) == NULL) {
		hv_seterr("can't open the Xen control interface: %s",
		    strerror(errno));
		return -1;
	}
	if (xen_fmem == NULL &&
	    (xen_fmem = xenforeignmemory_open(&logger, 0)) == NULL) {
		hv_seterr("can't open Xen foreign memory: %s", strerror(errno));
		return -1;
	}
	if (xen_ctx == NULL &&
	    libxl_ctx_alloc(&xen_ctx, LIBXL_VERSION, 0, &logger) != 0) {
		xen_ctx = NULL;
		hv_seterr("can't open libxl: %s", xen_lastlog());
		errno = EIO;
		return -1;
	}
	return 0;
}

int
xen_dominfo(uint32_t domid, xc_domaininfo_t *di)
{
	if (xc_domain_getinfolist(xen_xch, domid, 1, di) != 1 ||
	    di->domain != domid) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/* Whether a domain's flags say it has shut down to be suspended. */
int
xen_is_suspended(const xc_domaininfo_t *di)
{
	return (di->flags & XEN_DOMINF_shutdown) &&
	    (di->flags >> XEN_DOMINF_shutdownshift & XEN_DOMINF_shutdownmask) ==
	    SHUTDOWN_suspend;
}

int
xen_has_shadow(void)
{
	xc_physinfo_t pi = { 0 };

	return xc_physinfo(xen_xch, &pi) == 0 &&
	    (pi.capabilities & XEN_SYSCTL_PHYSCAP_shadow);
}

int
xen_nr_pfns(uint32_t domid, unsigned long *n)
{
	xen_pfn_t p;

	if (xc_domain_nr_gpfns(xen_xch, domid, &p) < 0) {
		hv_seterr("can't read the guest's p2m size: %s",
		    strerror(errno));
		return -1;
	}
	*n = p;
	return 0;
}
