/*
 * guest.c: the Xen backend's hooks that find, describe, pause, suspend,
 * resume and destroy guests.  libxenctrl does the hypervisor calls,
 * libxl the toolstack's work (configuration, cooperative suspend).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxl_utils.h>

#include "xen.h"

/* Xen is usable when this is dom0 with the privcmd driver loaded. */
int
xen_probe(void)
{
	char buf[64] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");

	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "control_d") != NULL;
}

/* PVH and HVM are both HVM to Xen; libxl's configuration tells them apart. */
static uint32_t
guest_type(uint32_t domid, const xc_domaininfo_t *di)
{
	libxl_domain_config c;
	uint32_t t = VMI_GT_XEN_PV;

	if (!(di->flags & XEN_DOMINF_hvm_guest))
		return VMI_GT_XEN_PV;
	t = VMI_GT_XEN_HVM;
	libxl_domain_config_init(&c);
	if (libxl_retrieve_domain_configuration(xen_ctx, domid, &c, NULL) == 0 &&
	    c.c_info.type == LIBXL_DOMAIN_TYPE_PVH)
		t = VMI_GT_XEN_PVH;
	libxl_domain_config_dispose(&c);
	return t;
}

/* type: the guest's VMI_GT_XEN_*, known to the caller, or 0 to find out
 * (from libxl's configuration: slow). */
static int
fill_info(uint32_t domid, uint32_t type, struct hv_info *info)
{
	xc_domaininfo_t di;
	unsigned long n;
	char *name;

	if (xen_dominfo(domid, &di) == -1) {
		hv_seterr("no Xen domain %u", domid);
		return -1;
	}
	memset(info, 0, sizeof(*info));
	info->backend = VMI_BACKEND_XEN;
	info->arch = VMI_ARCH_X86_64;
	info->page_shift = 12;
	info->vcpus = di.max_vcpu_id + 1;
	/* The frame range, holes and special pages included: what save
	 * walks and what a restore must be able to place. */
	if (xen_nr_pfns(domid, &n) == -1) {
		if (di.flags & XEN_DOMINF_hvm_guest)
			return -1;
		n = 0;
	}
	/* A PV guest's frames run to its p2m's end, which its kernel sets
	 * (often just above its pages); before it has set one, its pages. */
	if (!(di.flags & XEN_DOMINF_hvm_guest) && n < di.max_pages)
		n = di.max_pages;
	info->mem_bytes = (uint64_t)n << 12;
	info->guest_type = type ? type : guest_type(domid, &di);
	memcpy(info->uuid, di.handle, sizeof(info->uuid));
	if ((name = libxl_domid_to_name(xen_ctx, domid)) != NULL) {
		snprintf(info->name, sizeof(info->name), "%s", name);
		free(name);
	}
	info->paused = (di.flags & XEN_DOMINF_paused) ||
	    (di.flags & XEN_DOMINF_shutdown);
	info->id = domid;
	return 0;
}

int
xen_list(hv_list_fn fn, void *arg)
{
	xc_domaininfo_t di[64];
	uint32_t next = 1;
	int n, r;

	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	while ((n = xc_domain_getinfolist(xen_xch, next, 64, di)) > 0) {
		for (int i = 0; i < n; i++) {
			struct hv_info info;

			next = di[i].domain + 1;
			if (di[i].flags & XEN_DOMINF_dying)
				continue;
			if (fill_info(di[i].domain, 0, &info) == -1)
				continue;
			if ((r = fn(arg, &info)) != 0)
				return r;
		}
	}
	return 0;
}

int
xen_open(const char *guest, struct hv_guest **out)
{
	struct hv_guest *g;
	uint32_t domid;
	xc_domaininfo_t di;
	char *end;
	unsigned long v;

	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	v = strtoul(guest, &end, 10);
	if (*guest != '\0' && *end == '\0')
		domid = v;
	else if (libxl_name_to_domid(xen_ctx, guest, &domid) != 0) {
		hv_seterr("no Xen guest named '%s'", guest);
		errno = ENOENT;
		return -1;
	}
	if (domid == 0) {
		hv_seterr("domain 0 can't be saved");
		errno = EINVAL;
		return -1;
	}
	if (xen_dominfo(domid, &di) == -1) {
		hv_seterr("no Xen domain %u", domid);
		return -1;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->domid = domid;
	g->sock = -1;
	g->type = guest_type(domid, &di);
	snprintf(g->name, sizeof(g->name), "%s", guest);
	*out = g;
	return 0;
}

int
xen_describe(struct hv_guest *g, struct hv_info *info)
{
	hv_clearerr();
	if (fill_info(g->domid, g->type, info) == -1)
		return -1;
	/* For the GUEST record of a save (list() has no use for it); left
	 * zero if unknown: a restore's preflight then asks nothing. */
	(void)xen_cpu_features(g->domid, info->cpu_features);
	return 0;
}

/* The configuration libxl would rebuild the guest from, as its JSON. */
int
xen_get_config(struct hv_guest *g, void **buf, size_t *len)
{
	libxl_domain_config c;
	char *json;
	int rc;

	hv_clearerr();
	/* What save_check() read a moment ago, taken once. */
	if (g->config_init && !g->creating) {
		c = g->config;
		g->config_init = 0;
		rc = 0;
	} else {
		libxl_domain_config_init(&c);
		rc = libxl_retrieve_domain_configuration(xen_ctx, g->domid,
		    &c, NULL);
	}
	if (rc != 0) {
		libxl_domain_config_dispose(&c);
		hv_seterr("can't read domain %u's configuration: %s", g->domid,
		    xen_lastlog());
		errno = EIO;
		return -1;
	}
	json = libxl_domain_config_to_json(xen_ctx, &c);
	libxl_domain_config_dispose(&c);
	if (json == NULL) {
		hv_seterr("can't write domain %u's configuration as JSON",
		    g->domid);
		errno = ENOMEM;
		return -1;
	}
	*buf = json;
	*len = strlen(json);
	return 0;
}

int
xen_pause(struct hv_guest *g)
{
	hv_clearerr();
	if (xc_domain_pause(xen_xch, g->domid) == -1) {
		hv_seterr("can't pause domain %u: %s", g->domid,
		    strerror(errno));
		return -1;
	}
	g->paused++;
	return 0;
}

/*
 * A cooperative suspend: the guest's kernel quiesces its devices and
 * drivers and calls SCHEDOP_shutdown(suspend), so that wherever it is
 * continued its PV drivers reconnect.  libxl does the xenstore dance.
 */
int
xen_suspend(struct hv_guest *g)
{
	int own;

	hv_clearerr();
	/* A PV guest that pvsave.c does not save: libxl's own save, which
	 * suspends it too (pv.c). */
	own = g->type != VMI_GT_XEN_PV || (g->pv == NULL &&
	    (g->pvn != NULL || xen_pvn_able(g)));
	if (!own) {
		if (xen_pv_suspend(g) == -1)
			return -1;
		g->suspended = 1;
		return 0;
	}
	/* For HVM, libxl has QEMU write its device state to a file once
	 * the guest is suspended (dm.c reads it). */
	if (libxl_domain_suspend_only(xen_ctx, g->domid, NULL) != 0) {
		hv_seterr("can't suspend domain %u: %s", g->domid,
		    xen_lastlog());
		errno = EIO;
		return -1;
	}
	g->suspended = 1;
	/* pvsave.c's PV guest offline: its p2m is found now (a live copy
	 * found it as it began). */
	if (g->type == VMI_GT_XEN_PV && g->pvn == NULL)
		return xen_pvn_begin(g);
	return 0;
}

/*
 * A resume with nothing of its own to undo (vm-ctl resume) resumes what
 * the domain is in: a suspend or a pause made by another process, such
 * as vm-save --paused for vm-migrate, whose far side refused the guest.
 */
static void
adopt_state(struct hv_guest *g)
{
	xc_domaininfo_t di;

	if (xen_dominfo(g->domid, &di) == -1)
		return;
	if (xen_is_suspended(&di))
		g->suspended = 1;
	if (di.flags & XEN_DOMINF_paused)
		g->paused = 1;
}

int
xen_resume(struct hv_guest *g)
{
	hv_clearerr();
	/* A live PV save that did not finish ends first, and may have
	 * suspended the guest by then. */
	if (xen_pv_live(g) && !g->suspended)
		xen_pv_free(g);
	if (!g->suspended && g->paused == 0)
		adopt_state(g);
	if (g->suspended) {
		/* A PV save that did not finish ends first: libxl's save
		 * and its resume of the same domain must not overlap. */
		xen_pv_free(g);
		/* suspend_cancel: the guest's suspend call returns 1 and it
		 * carries on with the same devices. */
		if (libxl_domain_resume(xen_ctx, g->domid, 1, NULL) != 0) {
			hv_seterr("can't resume domain %u: %s", g->domid,
			    xen_lastlog());
			errno = EIO;
			return -1;
		}
		g->suspended = 0;
		xen_pv_free(g);
		xen_dm_forget(g);
	}
	/*
	 * A domain a restore made is let run as libxl lets its own: an HVM
	 * guest's QEMU is told to continue first, over the QMP socket that
	 * libxl keeps (the only way in with dm_restrict).
	 */
	if (g->restored && g->paused > 0) {
		if (libxl_domain_unpause(xen_ctx, g->domid, NULL) != 0) {
			hv_seterr("can't unpause domain %u: %s", g->domid,
			    xen_lastlog());
			errno = EIO;
			return -1;
		}
		g->paused--;
		g->restored = 0;
	}
	while (g->paused > 0) {
		if (xc_domain_unpause(xen_xch, g->domid) == -1) {
			hv_seterr("can't unpause domain %u: %s", g->domid,
			    strerror(errno));
			return -1;
		}
		g->paused--;
	}
	return 0;
}

int
xen_destroy(struct hv_guest *g)
{
	hv_clearerr();
	xen_pv_free(g);
	if (libxl_domain_destroy(xen_ctx, g->domid, NULL) != 0) {
		hv_seterr("can't destroy domain %u: %s", g->domid,
		    xen_lastlog());
		errno = EIO;
		return -1;
	}
	g->creating = 0;
	if (g->suspended)
		xen_dm_forget(g);
	g->suspended = g->paused = 0;
	g->logdirty = g->dm_logdirty = 0;
	xen_pv_free(g);
	return 0;
}

/* xl's rename: the domain's name in xenstore, checked free by libxl. */
int
xen_rename(struct hv_guest *g, const char *name)
{
	/* The name it was opened by, which libxl checks it still has: not
	 * a domain ID (names are never digits alone). */
	const char *old = g->name[strspn(g->name, "0123456789")] != '\0' ?
	    g->name : NULL;

	hv_clearerr();
	if (libxl_domain_rename(xen_ctx, g->domid, old, name) != 0) {
		hv_seterr("can't rename domain %u (%s) to %s: %s", g->domid,
		    g->name, name, xen_lastlog());
		errno = EIO;
		return -1;
	}
	snprintf(g->name, sizeof(g->name), "%s", name);
	return 0;
}

int
xen_console(struct hv_guest *g, int fd, int follow)
{
	(void)fd;
	(void)follow;
	hv_seterr("domain %u: read the console with xl console", g->domid);
	errno = ENOTSUP;
	return -1;
}

void
xen_close(struct hv_guest *g)
{
	if (g == NULL)
		return;
	if (g->creating)
		xen_create_abort(g);
	if (g->logdirty)
		xen_log_dirty_stop(g);
	/* Left suspended on purpose (vm-save --paused): whoever resumes
	 * it resumes QEMU, which needs no file for that. */
	if (g->suspended)
		xen_dm_forget(g);
	xen_pv_free(g);
	if (g->config_init)
		libxl_domain_config_dispose(&g->config);
	free(g);
}
