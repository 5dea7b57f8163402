/*
 * savable.c: what a save refuses before it touches the guest - the
 * guests libxl refuses to save, and those whose state is not all in the
 * stream - so that the refusal comes while the guest still runs, with
 * the reason, and not as a failure halfway.
 */
#include <errno.h>
#include <string.h>

#include "xen.h"

int
xen_save_check(struct hv_guest *g)
{
	libxl_domain_config *c;
	libxl_device_pci *pci;
	unsigned int nodes = 0, ranges = 0, vcpus = 0;
	int n = 0;

	hv_clearerr();
	/*
	 * vNUMA: the stream does not carry the node layout (libxl refuses
	 * any, even an empty one).  Asked with no room for the answer, Xen
	 * says ENOBUFS where there is one, EOPNOTSUPP where there is none.
	 */
	if (xc_domain_getvnuma(xen_xch, g->domid, &nodes, &ranges, &vcpus,
	    NULL, NULL, NULL) != -1 || errno != EOPNOTSUPP) {
		hv_seterr("domain %u has a vNUMA topology, which a saved "
		    "stream does not carry (libxl refuses it too)", g->domid);
		errno = ENOTSUP;
		return -1;
	}
	/* A passed-through device's state is the device's own. */
	if ((pci = libxl_device_pci_list(xen_ctx, g->domid, &n)) != NULL) {
		hv_seterr("domain %u has PCI device %04x:%02x:%02x.%u passed "
		    "through, whose state no save can carry: detach it first "
		    "(xl pci-detach)", g->domid, pci[0].domain, pci[0].bus,
		    pci[0].dev, pci[0].func);
		libxl_device_pci_list_free(pci, n);
		errno = ENOTSUP;
		return -1;
	}
	/* Kept for get_config(), which the save asks next: reading it costs
	 * libxl a walk of xenstore, 100-430 ms under the emulator. */
	c = &g->config;
	if (!g->config_init) {
		libxl_domain_config_init(c);
		if (libxl_retrieve_domain_configuration(xen_ctx, g->domid, c,
		    NULL) != 0) {
			libxl_domain_config_dispose(c);
			hv_seterr("can't read domain %u's configuration: %s",
			    g->domid, xen_lastlog());
			errno = EIO;
			return -1;
		}
		g->config_init = 1;
	}
	if (!libxl_defbool_is_default(c->b_info.device_model_stubdomain) &&
	    libxl_defbool_val(c->b_info.device_model_stubdomain)) {
		hv_seterr("domain %u's device model runs in a stub domain, "
		    "whose state vmpipe does not save", g->domid);
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}
