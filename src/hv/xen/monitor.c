/*
 * monitor.c: what becomes of a restored guest when it shuts down.
 *
 * A domain that `xl create' or `xl restore' makes has xl's monitor
 * process, which carries out the configuration's on_poweroff, on_reboot,
 * on_crash, on_watchdog and on_soft_reset: without one, a guest that
 * reboots stays down.  A guest vmpipe restores gets this monitor: a
 * process of its own, detached from the program that restored it (whose
 * standard output may be a sender's back channel), that waits for the
 * domain's shutdown through libxl and does what the configuration says,
 * as xl does; it follows a restarted guest to its new domain and ends
 * with the domain.  A suspend is a save's: the monitor waits for the
 * domain to run again or to go.
 *
 * It logs to /var/log/xen/vmpipe-NAME.log, as xl to xl-NAME.log, and is
 * named vmpipe-monitor in ps(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxl_utils.h>

#include "xen.h"

/* libxl says INVALID_DOMID as an int. */
#define NO_DOMAIN	((uint32_t)INVALID_DOMID)

#define LOG_DIR		"/var/log/xen"
#define DUMP_DIR	"/var/lib/xen/dump"

static FILE	*mlog;

static void
mnote(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
mnote(const char *fmt, ...)
{
	char when[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	if (mlog == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(mlog, "%s [%ld] ", when, (long)getpid());
	va_start(ap, fmt);
	vfprintf(mlog, fmt, ap);
	va_end(ap);
	fputc('\n', mlog);
	fflush(mlog);
}

static libxl_action_on_shutdown
action_for(const libxl_domain_config *c, libxl_shutdown_reason r)
{
	switch (r) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF:
		return c->on_poweroff;
	case LIBXL_SHUTDOWN_REASON_REBOOT:
		return c->on_reboot;
	case LIBXL_SHUTDOWN_REASON_CRASH:
		return c->on_crash;
	case LIBXL_SHUTDOWN_REASON_WATCHDOG:
		return c->on_watchdog;
	case LIBXL_SHUTDOWN_REASON_SOFT_RESET:
		return c->on_soft_reset;
	default:
		/* An unknown reason: as xl, a destroy. */
		return LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	}
}

/* Is the domain still there, and is it shut down (suspended)? */
static int
dom_state(libxl_ctx *ctx, uint32_t domid, int *shutdown)
{
	libxl_dominfo di;
	int rc;

	libxl_dominfo_init(&di);
	rc = libxl_domain_info(ctx, &di, domid);
	*shutdown = rc == 0 && di.shutdown;
	libxl_dominfo_dispose(&di);
	return rc == 0;
}

static void
core_dump(libxl_ctx *ctx, uint32_t domid, const char *name)
{
	char path[512];
	time_t now = time(NULL);

	mkdir(DUMP_DIR, 0700);
	snprintf(path, sizeof(path), DUMP_DIR "/%s-%lld.core", name,
	    (long long)now);
	if (libxl_domain_core_dump(ctx, domid, path, NULL) == 0)
		mnote("core dump in %s", path);
	else
		mnote("core dump to %s failed", path);
}

/*
 * Make the guest anew from c, as xl's restart does, and let it run.
 * Returns its domain, or NO_DOMAIN.
 */
static uint32_t
restart(libxl_ctx *ctx, libxl_domain_config *c)
{
	uint32_t domid = NO_DOMAIN;

	if (libxl_domain_create_new(ctx, c, &domid, NULL, NULL) != 0) {
		mnote("can't start %s again", c->c_info.name);
		return NO_DOMAIN;
	}
	if (libxl_domain_unpause(ctx, domid, NULL) != 0) {
		mnote("can't unpause domain %u", domid);
		libxl_domain_destroy(ctx, domid, NULL);
		return NO_DOMAIN;
	}
	return domid;
}

/*
 * Carry out what c says for the shutdown of domid for reason r.  Returns
 * the domain to watch next, or NO_DOMAIN when the watch is over.
 */
static uint32_t
carry_out(libxl_ctx *ctx, uint32_t domid, libxl_domain_config *c,
    libxl_shutdown_reason r)
{
	libxl_action_on_shutdown a = action_for(c, r);
	const char *name = c->c_info.name;
	uint32_t next = NO_DOMAIN;

	mnote("domain %u (%s) shut down: %s; %s", domid, name,
	    libxl_shutdown_reason_to_string(r) ?
	    libxl_shutdown_reason_to_string(r) : "?",
	    libxl_action_on_shutdown_to_string(a));
	switch (a) {
	case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE:
		return NO_DOMAIN;
	case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY:
	case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART:
		core_dump(ctx, domid, name);
		break;
	case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET:
		if (libxl_domain_soft_reset(ctx, c, domid, NULL, NULL) == 0 &&
		    libxl_domain_unpause(ctx, domid, NULL) == 0) {
			mnote("domain %u soft reset", domid);
			return domid;
		}
		mnote("soft reset of domain %u failed: destroyed", domid);
		libxl_domain_destroy(ctx, domid, NULL);
		return NO_DOMAIN;
	case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME: {
		/* The old one stays, under a new name, for a look. */
		char old[128];

		snprintf(old, sizeof(old), "%s-%lld", name,
		    (long long)time(NULL));
		if (libxl_domain_rename(ctx, domid, name, old) != 0) {
			mnote("can't rename domain %u", domid);
			return NO_DOMAIN;
		}
		goto start;
	}
	default:
		break;
	}
	if (libxl_domain_destroy(ctx, domid, NULL) != 0)
		mnote("can't destroy domain %u", domid);
	if (a != LIBXL_ACTION_ON_SHUTDOWN_RESTART &&
	    a != LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART)
		return NO_DOMAIN;
start:
	if ((next = restart(ctx, c)) != NO_DOMAIN)
		mnote("%s runs again as domain %u", name, next);
	return next;
}

/* The monitor's life: returns when the watch is over. */
static void
watch(libxl_ctx *ctx, uint32_t domid)
{
	libxl_evgen_domain_death *dw = NULL;

	while (domid != NO_DOMAIN) {
		libxl_domain_config c;
		libxl_event *ev = NULL;
		libxl_shutdown_reason r;
		int down;

		if (dw == NULL &&
		    libxl_evenable_domain_death(ctx, domid, 0, &dw) != 0) {
			mnote("can't watch domain %u", domid);
			return;
		}
		if (libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
		    NULL) != 0)
			return;
		if (ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH) {
			mnote("domain %u is gone", domid);
			libxl_event_free(ctx, ev);
			return;
		}
		if (ev->type != LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) {
			libxl_event_free(ctx, ev);
			continue;
		}
		r = ev->u.domain_shutdown.shutdown_reason;
		libxl_event_free(ctx, ev);
		/* libxl reports one shutdown per watch: a new one after. */
		libxl_evdisable_domain_death(ctx, dw);
		dw = NULL;
		if (r == LIBXL_SHUTDOWN_REASON_SUSPEND) {
			/* A save's: it resumes the domain or it goes. */
			while (dom_state(ctx, domid, &down) && down)
				sleep(1);
			if (!dom_state(ctx, domid, &down)) {
				mnote("domain %u was saved and is gone", domid);
				return;
			}
			continue;
		}
		libxl_domain_config_init(&c);
		if (libxl_retrieve_domain_configuration(ctx, domid, &c,
		    NULL) != 0) {
			mnote("can't read domain %u's configuration: left as "
			    "it is", domid);
			libxl_domain_config_dispose(&c);
			return;
		}
		domid = carry_out(ctx, domid, &c, r);
		libxl_domain_config_dispose(&c);
	}
}

/*
 * Start the monitor of domain domid: forked once, into a session of its
 * own; its descriptors are /dev/null and its log.  Not waited for: this
 * runs just after the guest's unpause, when dom0's CPU is the guest's
 * and its restore's (a fork costs most in a PV dom0, where each page
 * table is pinned by the hypervisor), and the monitor outlives its
 * parent anyway, which exits soon after.  Until then an early end of the
 * monitor is a zombie that the parent's exit clears.
 */
int
xen_supervise_domain(uint32_t domid)
{
	char *name;
	pid_t pid;

	if ((name = libxl_domid_to_name(xen_ctx, domid)) == NULL) {
		hv_seterr("domain %u has no name to watch it by", domid);
		return -1;
	}

	if ((pid = fork()) == -1) {
		hv_seterr("can't start the guest's monitor: %s",
		    strerror(errno));
		free(name);
		return -1;
	}
	if (pid == 0) {
		xentoollog_logger_stdiostream *lg;
		libxl_ctx *ctx = NULL;
		char path[256];
		int null;

		/* The restorer's libxl is not this process's. */
		if (xen_ctx != NULL)
			libxl_postfork_child_noexec(xen_ctx);
		if (setsid() == -1)
			_exit(1);
		prctl(PR_SET_NAME, "vmpipe-monitor");
		signal(SIGPIPE, SIG_IGN);
		if ((null = open("/dev/null", O_RDWR)) == -1)
			_exit(1);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close_range(3, ~0u, 0);
		if (chdir("/") == -1)
			_exit(1);
		snprintf(path, sizeof(path), LOG_DIR "/vmpipe-%s.log", name);
		mlog = fopen(path, "ae");
		lg = xtl_createlogger_stdiostream(mlog ? mlog : stderr,
		    XTL_ERROR, 0);
		if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0,
		    (xentoollog_logger *)lg) != 0) {
			mnote("can't open libxl");
			_exit(1);
		}
		mnote("watching domain %u (%s)", domid, name);
		watch(ctx, domid);
		mnote("done");
		libxl_ctx_free(ctx);
		_exit(0);
	}
	free(name);
	return 0;
}

int
xen_supervise(struct hv_guest *g)
{
	hv_clearerr();
	return xen_supervise_domain(g->domid);
}
