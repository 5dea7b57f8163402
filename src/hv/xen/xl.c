/*
 * xl.c: restoring a file written by `xl save'.
 *
 * Such a file is xl's header, its optional data (the guest's libxl
 * configuration as JSON), then libxl's migration stream (version 2),
 * which libxl reads itself (xen_stream.h has the layout).  So this is
 * what `xl restore' does, with the checks and the renaming of
 * vm-restore: no stream of ours is involved.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxl_utils.h>

#include "io.h"
#include "names.h"
#include "xen.h"

#define XL_OPT_MAX		(16u << 20)

/* The header and the configuration; *json is malloc'd. */
int
xen_xl_read_head(int fd, char **json, size_t *len)
{
	struct xl_header h;
	uint32_t clen;
	uint8_t *opt;
	ssize_t n;

	if ((n = io_readall(fd, &h, sizeof(h))) != sizeof(h)) {
		hv_seterr("xl save file: truncated header (%zd of %zu octets)",
		    n, sizeof(h));
		errno = EINVAL;
		return -1;
	}
	if (memcmp(h.magic, XL_MAGIC, sizeof(h.magic)) != 0 ||
	    h.byteorder != XL_BYTEORDER) {
		hv_seterr("not an xl save file of this byte order");
		errno = EINVAL;
		return -1;
	}
	if (h.mandatory & ~(XL_FLAG_JSON | XL_FLAG_STREAMV2)) {
		hv_seterr("xl save file: unknown mandatory flags %#x",
		    h.mandatory & ~(XL_FLAG_JSON | XL_FLAG_STREAMV2));
		errno = ENOTSUP;
		return -1;
	}
	if (!(h.mandatory & XL_FLAG_JSON) ||
	    !(h.mandatory & XL_FLAG_STREAMV2)) {
		hv_seterr("xl save file: written by an xl older than 4.7 (%s); "
		    "restore it with xl", !(h.mandatory & XL_FLAG_JSON) ?
		    "configuration not in JSON" : "stream version 1");
		errno = ENOTSUP;
		return -1;
	}
	if (h.optlen < 4 || h.optlen > XL_OPT_MAX) {
		hv_seterr("xl save file: optional data of %u octets: expected "
		    "4 to %u", h.optlen, XL_OPT_MAX);
		errno = EINVAL;
		return -1;
	}
	if ((opt = malloc(h.optlen)) == NULL)
		return -1;
	if ((n = io_readall(fd, opt, h.optlen)) != (ssize_t)h.optlen) {
		free(opt);
		hv_seterr("xl save file: truncated configuration");
		errno = EINVAL;
		return -1;
	}
	memcpy(&clen, opt, 4);
	if (clen == 0 || clen > h.optlen - 4) {
		free(opt);
		hv_seterr("xl save file: configuration of %u octets in %u of "
		    "optional data", clen, h.optlen);
		errno = EINVAL;
		return -1;
	}
	memmove(opt, opt + 4, clen);
	*json = (char *)opt;
	*len = clen;
	return 0;
}

/* The checks of vm-restore's preflight: name, UUID, what the
 * configuration asks of the host (unless it is the administrator's own,
 * local), memory. */
static int
check_host(libxl_domain_config *c, int local)
{
	char why[1024];
	libxl_dominfo *dom;
	uint64_t need, avail;
	uint32_t domid;
	int n, clash = 0;

	if (libxl_name_to_domid(xen_ctx, c->c_info.name, &domid) == 0) {
		hv_seterr("a guest named %s already runs here",
		    c->c_info.name);
		errno = EEXIST;
		return -1;
	}
	if ((dom = libxl_list_domain(xen_ctx, &n)) != NULL) {
		for (int i = 0; i < n && !clash; i++)
			clash = libxl_uuid_compare(&dom[i].uuid,
			    &c->c_info.uuid) == 0;
		libxl_dominfo_list_free(dom, n);
	}
	if (clash) {
		hv_seterr("a guest here already has the saved guest's UUID "
		    "(restore it with --as to make a clone)");
		errno = EEXIST;
		return -1;
	}
	if (!local && xen_config_admit(c, why, sizeof(why)) == -1) {
		hv_seterr("%s", why);
		errno = EPERM;
		return -1;
	}
	if (xen_mem_need(c, &need, &avail) == -1)
		return -1;
	if (need > avail) {
		hv_seterr("not enough memory: the guest needs %llu MiB, Xen has "
		    "%llu MiB free", (unsigned long long)(need >> 20),
		    (unsigned long long)(avail >> 20));
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
xen_restore_native(int fd, const char *name, int clone, int paused,
    const char *cfgpath, struct hv_info *info)
{
	libxl_domain_config c, f;
	uint64_t needkb, taken = 0;
	libxl_domain_restore_params p;
	uint32_t domid = INVALID_DOMID;
	uint8_t uuid[16];
	xc_domaininfo_t di;
	size_t len;
	char *json;
	int rc = -1;

	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	if (xen_xl_read_head(fd, &json, &len) == -1)
		return -1;
	libxl_domain_config_init(&c);
	libxl_domain_restore_params_init(&p);
	if (xen_config_parse(json, len, &c) == -1)
		goto out;
	if (cfgpath != NULL) {
		/* As `xl restore CONFIG FILE': the file's, for the saved. */
		libxl_domain_config_init(&f);
		if (xen_config_read(&c, cfgpath, &f) == -1) {
			libxl_domain_config_dispose(&f);
			goto out;
		}
		libxl_domain_config_dispose(&c);
		c = f;
	}
	if (clone) {
		if (vmp_uuid_generate(uuid) == -1) {
			hv_seterr("no random UUID: %s", strerror(errno));
			goto out;
		}
	}
	if (xen_config_identity(&c, name, clone ? uuid : NULL, clone) == -1 ||
	    check_host(&c, cfgpath != NULL) == -1)
		goto out;
	p.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
	p.stream_version = 2;
	if (xen_mem_need_kb(&c, &needkb) == -1 ||
	    xen_balloon_for(needkb, &taken) == -1)
		goto out;
	if (libxl_domain_create_restore(xen_ctx, &c, &domid, fd, -1, &p, NULL,
	    NULL) != 0) {
		xen_balloon_return(taken);
		hv_seterr("libxl could not restore the guest: %s",
		    xen_lastlog());
		/* libxl destroys what it built; this is for what it left. */
		if (domid != (uint32_t)INVALID_DOMID && domid != 0 &&
		    xen_dominfo(domid, &di) == 0)
			libxl_domain_destroy(xen_ctx, domid, NULL);
		errno = EIO;
		goto out;
	}
	if (!paused && libxl_domain_unpause(xen_ctx, domid, NULL) != 0) {
		hv_seterr("can't unpause domain %u: %s", domid, xen_lastlog());
		libxl_domain_destroy(xen_ctx, domid, NULL);
		xen_balloon_return(taken);
		errno = EIO;
		goto out;
	}
	(void)xen_supervise_domain(domid);
	memset(info, 0, sizeof(*info));
	info->backend = VMI_BACKEND_XEN;
	info->arch = VMI_ARCH_X86_64;
	info->page_shift = 12;
	info->vcpus = c.b_info.max_vcpus;
	info->mem_bytes = (uint64_t)c.b_info.max_memkb << 10;
	info->guest_type = c.c_info.type == LIBXL_DOMAIN_TYPE_PV ?
	    VMI_GT_XEN_PV : c.c_info.type == LIBXL_DOMAIN_TYPE_PVH ?
	    VMI_GT_XEN_PVH : VMI_GT_XEN_HVM;
	memcpy(info->uuid, libxl_uuid_bytearray(&c.c_info.uuid), 16);
	snprintf(info->name, sizeof(info->name), "%s", c.c_info.name);
	info->paused = paused;
	info->id = domid;
	rc = 0;
out:
	free(json);
	libxl_domain_restore_params_dispose(&p);
	libxl_domain_config_dispose(&c);
	return rc;
}
