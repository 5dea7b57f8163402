/*
 * create.c: making a guest for a restore.
 *
 * libxl builds the domain from its configuration and wires up what a
 * guest needs around it: xenstore entries, the console, the devices, the
 * grant table seeds.  It does so while reading a migration stream, so
 * create() starts libxl_domain_create_restore() on a thread with one end
 * of a pipe, and the hooks write that stream on the other end:
 *
 *   libxl header, LIBXC_CONTEXT
 *     libxc image header, domain header (HVM), STATIC_DATA_END
 *     PAGE_DATA ...            from put_pages()
 *     TSC_INFO, HVM_CONTEXT, HVM_PARAMS   from set_state()
 *     END                                  from commit()
 *   EMULATOR_XENSTORE_DATA, EMULATOR_CONTEXT (HVM: set_state(), held)
 *   END
 *
 * A PV guest's stream has the PV domain header, and its early pieces
 * (X86_PV_INFO ... STATIC_DATA_END, X86_PV_P2M_FRAMES) come from
 * set_state() before its pages, as they came out of libxc's save.
 *
 * libxc populates each frame as it arrives, fresh rings replace the
 * console and xenstore pages, and the guest, which was suspended
 * cooperatively, reconnects its drivers when it runs again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "xen.h"

static void *
restore_thread(void *arg)
{
	struct hv_guest *g = arg;
	libxl_domain_restore_params p;
	uint32_t domid = INVALID_DOMID;

	libxl_domain_restore_params_init(&p);
	p.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
	p.stream_version = 2;
	g->lrc = libxl_domain_create_restore(xen_ctx, &g->config, &domid,
	    g->peer, -1, &p, NULL, NULL);
	g->domid = domid;
	if (g->lrc != 0)
		snprintf(g->lmsg, sizeof(g->lmsg), "%s", xen_lastlog());
	libxl_domain_restore_params_dispose(&p);
	/* Writes fail from here on rather than wait for a reader. */
	close(g->peer);
	__atomic_store_n(&g->peer, -1, __ATOMIC_RELEASE);
	return NULL;
}

/* The stream's headers, up to the first page (for PV: up to its early
 * pieces). */
static int
write_headers(struct hv_guest *g)
{
	int v = xc_version(xen_xch, XENVER_version, NULL);

	return xls_headers(&g->out, g->type == VMI_GT_XEN_PV ?
	    XSR_DOMAIN_X86_PV : XSR_DOMAIN_X86_HVM, (uint32_t)v);
}

int
xen_create(const struct hv_info *info, const void *config, size_t len,
    struct hv_guest **out)
{
	struct hv_guest *g;
	int sv[2], rc, clone;

	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	if (info->guest_type != VMI_GT_XEN_PVH &&
	    info->guest_type != VMI_GT_XEN_HVM &&
	    info->guest_type != VMI_GT_XEN_PV) {
		hv_seterr("guest type %u is not a Xen guest's",
		    info->guest_type);
		errno = EINVAL;
		return -1;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	if (info->guest_type == VMI_GT_XEN_PV) {
		g->nptype = info->mem_bytes >> 12;
		if ((g->ptype = calloc(g->nptype, 1)) == NULL) {
			free(g);
			return -1;
		}
	}
	libxl_domain_config_init(&g->config);
	g->config_init = 1;
	g->sock = g->peer = -1;
	g->type = info->guest_type;
	g->domid = INVALID_DOMID;
	if (xen_config_parse(config, len, &g->config) == -1)
		goto fail;
	if ((g->config.c_info.type == LIBXL_DOMAIN_TYPE_PV) !=
	    (g->type == VMI_GT_XEN_PV) ||
	    (g->config.c_info.type == LIBXL_DOMAIN_TYPE_PVH) !=
	    (g->type == VMI_GT_XEN_PVH)) {
		hv_seterr("the configuration is of a %s guest, the image of "
		    "a %s one", libxl_domain_type_to_string(
		    g->config.c_info.type), g->type == VMI_GT_XEN_PV ? "pv" :
		    g->type == VMI_GT_XEN_HVM ? "hvm" : "pvh");
		errno = EINVAL;
		goto fail;
	}
	/* A UUID other than the configuration's is a clone's (vm-restore
	 * --as): its vifs need MACs of their own too. */
	clone = memcmp(libxl_uuid_bytearray(&g->config.c_info.uuid),
	    info->uuid, 16) != 0;
	if (xen_config_identity(&g->config, info->name, info->uuid,
	    clone) == -1)
		goto fail;
	snprintf(g->name, sizeof(g->name), "%s", info->name);
	/* Room for it, from dom0 if it must, as xl makes room. */
	{
		uint64_t needkb;

		if (xen_mem_need_kb(&g->config, &needkb) == -1 ||
		    xen_balloon_for(needkb, &g->ballooned_kb) == -1)
			goto fail;
	}

	/*
	 * A pipe, not a socket: stable pages go in by vmsplice(), and the
	 * one copy of them is libxc's read (put.c).  1 MiB deep: libxc
	 * takes the pages in bursts, and each wait for it is a switch
	 * between threads.
	 */
	if (pipe2(sv, O_CLOEXEC) == -1)
		goto fail;
	g->peer = sv[0];
	xen_stream_open(g, sv[1]);
	(void)fcntl(g->sock, F_SETPIPE_SZ, XEN_PIPE_SIZE);
	g->creating = 1;
	if ((rc = pthread_create(&g->thread, NULL, restore_thread, g)) != 0) {
		close(g->peer);
		g->peer = -1;
		errno = rc;
		goto fail;
	}
	g->thread_up = 1;
	if (write_headers(g) == -1) {
		hv_seterr("libxl refused the restore: %s", xen_stream_why(g));
		goto fail;
	}
	*out = g;
	return 0;
fail:
	rc = errno;
	xen_create_abort(g);
	libxl_domain_config_dispose(&g->config);
	free(g->ptype);
	free(g);
	errno = rc;
	return -1;
}

static void
finish(struct hv_guest *g)
{
	xen_stream_close(g);
	xen_tail_free(g);
	free(g->ptype);
	g->ptype = NULL;
}

int
xen_commit(struct hv_guest *g)
{
	hv_clearerr();
	/* libxc's END, libxl's own records, then its END. */
	if (xls_end_libxc(&g->out) == 0 && xen_tail_write(g) == 0)
		(void)xls_end(&g->out);
	finish(g);
	if (g->lrc != 0 || g->werr != 0) {
		hv_seterr("libxl could not restore the guest: %s",
		    g->lmsg[0] ? g->lmsg : strerror(g->werr ? g->werr : EIO));
		errno = EIO;
		return -1;
	}
	g->creating = 0;
	/* Domains are born paused: resume() lets it run, through libxl. */
	g->paused = 1;
	g->restored = 1;
	return 0;
}

/* A guest closed before commit() goes: libxl tears down what it built
 * when its stream ends early; anything left is destroyed here. */
void
xen_create_abort(struct hv_guest *g)
{
	xc_domaininfo_t di;

	finish(g);
	if (g->domid != (uint32_t)INVALID_DOMID && g->domid != 0 &&
	    xen_dominfo(g->domid, &di) == 0)
		libxl_domain_destroy(xen_ctx, g->domid, NULL);
	g->creating = 0;
	/* What dom0 gave for a guest that was not made goes back. */
	xen_balloon_return(g->ballooned_kb);
	g->ballooned_kb = 0;
}
