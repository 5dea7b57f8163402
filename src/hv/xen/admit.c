/*
 * admit.c: what an arriving Xen guest's configuration may ask of this
 * host.  libxl does what the JSON says, as root in dom0: run a vif's or
 * a disk's script, start a device model of its choosing with arguments
 * of its choosing, run a bootloader, open host files and devices as
 * disks, firmware or serial ports, hand over PCI or USB devices.  So the
 * configuration a peer sends is checked against the destination's
 * policy (admit.h) before any of it is used, and every key that runs a
 * program or reaches the host outside the policy is refused, by name.
 */
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "xen.h"

/* Xen's hotplug scripts; a script named without a path runs from here. */
#define XEN_SCRIPT_DIR	"/etc/xen/scripts/"

/* A script of this host's own: none, a plain name, or one in
 * XEN_SCRIPT_DIR by its full path (what libxl writes back). */
static int
own_script(const char *s)
{
	if (s == NULL || *s == '\0')
		return 1;
	if (strncmp(s, XEN_SCRIPT_DIR, strlen(XEN_SCRIPT_DIR)) == 0)
		s += strlen(XEN_SCRIPT_DIR);
	if (*s == '.' || *s == '\0')
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == strlen(s);
}

static int
set(const char *s)
{
	return s != NULL && *s != '\0';
}

static int
list_set(libxl_string_list l)
{
	return l != NULL && l[0] != NULL;
}

/* Each refusal: "KEY VALUE: WHY". */
static int
no(char *why, size_t len, const char *key, const char *v, const char *what)
{
	snprintf(why, len, "the guest's configuration asks for %s%s%.200s%s: "
	    "%s", key, v ? " \"" : "", v ? v : "", v ? "\"" : "", what);
	return -1;
}

static int
check_build(const libxl_domain_build_info *b, char *why, size_t len)
{
	static const char dm[] = "a device model, its arguments and its "
	    "files are this host's to choose: not accepted from a peer";

	if (set(b->device_model))
		return no(why, len, "device_model_override", b->device_model,
		    dm);
	if (set(b->device_model_user))
		return no(why, len, "device_model_user",
		    b->device_model_user, dm);
	if (list_set(b->extra) || list_set(b->extra_pv) ||
	    list_set(b->extra_hvm))
		return no(why, len, "device_model_args", NULL, dm);
	if (set(b->stubdomain_kernel) || set(b->stubdomain_ramdisk))
		return no(why, len, "stubdomain_kernel", NULL, dm);
	if (set(b->bootloader) || list_set(b->bootloader_args))
		return no(why, len, "bootloader", b->bootloader, "a "
		    "bootloader runs on this host as root: not accepted from "
		    "a peer");
	if (b->num_ioports > 0 || b->num_iomem > 0 || b->num_irqs > 0)
		return no(why, len, b->num_ioports ? "ioports" :
		    b->num_iomem ? "iomem" : "irqs", NULL, "the host's "
		    "hardware is not given to an arriving guest");
	if (b->type == LIBXL_DOMAIN_TYPE_PV &&
	    (set(b->u.pv.bootloader) || list_set(b->u.pv.bootloader_args)))
		return no(why, len, "bootloader", b->u.pv.bootloader, "a "
		    "bootloader runs on this host as root: not accepted from "
		    "a peer");
	if (b->type == LIBXL_DOMAIN_TYPE_HVM) {
		const char *fw = set(b->u.hvm.system_firmware) ?
		    b->u.hvm.system_firmware : set(b->u.hvm.smbios_firmware) ?
		    b->u.hvm.smbios_firmware : set(b->u.hvm.acpi_firmware) ?
		    b->u.hvm.acpi_firmware : NULL;

		if (fw != NULL)
			return no(why, len, "firmware", fw, "host files are "
			    "not read into an arriving guest");
		if (set(b->u.hvm.serial) && strcmp(b->u.hvm.serial, "pty") &&
		    strcmp(b->u.hvm.serial, "none"))
			return no(why, len, "serial", b->u.hvm.serial,
			    "expected pty or none");
		for (int i = 0; b->u.hvm.serial_list &&
		    b->u.hvm.serial_list[i]; i++)
			if (strcmp(b->u.hvm.serial_list[i], "pty") &&
			    strcmp(b->u.hvm.serial_list[i], "none"))
				return no(why, len, "serial",
				    b->u.hvm.serial_list[i],
				    "expected pty or none");
		if (set(b->u.hvm.usbdevice) ||
		    list_set(b->u.hvm.usbdevice_list))
			return no(why, len, "usbdevice", b->u.hvm.usbdevice,
			    "the host's devices are not given to an arriving "
			    "guest");
	}
	if (b->type == LIBXL_DOMAIN_TYPE_PVH && set(b->u.pvh.pvshim_path))
		return no(why, len, "pvshim_path", b->u.pvh.pvshim_path,
		    "host files are not read into an arriving guest");
	return 0;
}

static int
check_disks(const libxl_domain_config *c, const struct vmp_admit *a,
    char *why, size_t len)
{
	char key[64];

	for (int i = 0; i < c->num_disks; i++) {
		const libxl_device_disk *d = &c->disks[i];

		snprintf(key, sizeof(key), "disk %.20s script",
		    d->vdev ? d->vdev : "?");
		if (!own_script(d->script))
			return no(why, len, key, d->script, "expected none, "
			    "or a script of " XEN_SCRIPT_DIR " by name");
		if (d->backend_domid != 0 || set(d->backend_domname))
			return no(why, len, "disk backend",
			    d->backend_domname, "expected dom0");
		/* An empty CD-ROM drive reaches nothing. */
		if (!set(d->pdev_path))
			continue;
		snprintf(key, sizeof(key), "disk %.20s target",
		    d->vdev ? d->vdev : "?");
		if (!vmp_admit_disk(a, d->pdev_path)) {
			char what[512];

			snprintf(what, sizeof(what), "expected a path under "
			    "a disk-prefix of %s (%s)", vmp_admit_path(),
			    a->ndisk ? "see there" : "none is set");
			return no(why, len, key, d->pdev_path, what);
		}
	}
	return 0;
}

static int
check_nics(const libxl_domain_config *c, const struct vmp_admit *a,
    char *why, size_t len)
{
	for (int i = 0; i < c->num_nics; i++) {
		const libxl_device_nic *n = &c->nics[i];
		const char *br;

		if (!own_script(n->script))
			return no(why, len, "vif script", n->script,
			    "expected none, or a script of " XEN_SCRIPT_DIR
			    " by name");
		if (n->backend_domid != 0 || set(n->backend_domname))
			return no(why, len, "vif backend",
			    n->backend_domname, "expected dom0");
		/* libxl's default bridge, xenbr0, is the one a policy that
		 * names none admits. */
		br = set(n->bridge) ? n->bridge : "xenbr0";
		if (a->nbridge > 0 ? !vmp_admit_bridge(a, br) :
		    strcmp(br, "xenbr0") != 0) {
			char what[512];

			if (a->nbridge > 0)
				snprintf(what, sizeof(what), "expected a "
				    "bridge of %s", vmp_admit_path());
			else
				snprintf(what, sizeof(what), "expected xenbr0 "
				    "(%s names no bridge)", vmp_admit_path());
			return no(why, len, "vif bridge", br, what);
		}
	}
	return 0;
}

/* Devices that reach the host, refused whatever the policy says. */
static int
check_devices(const libxl_domain_config *c, char *why, size_t len)
{
	static const char host[] = "the host's devices and files are not "
	    "given to an arriving guest";

	if (c->num_pcidevs > 0)
		return no(why, len, "pci", NULL, host);
	if (c->num_usbdevs > 0)
		return no(why, len, "usbdev", NULL, host);
	if (c->num_dtdevs > 0)
		return no(why, len, "dtdev", NULL, host);
	if (c->num_rdms > 0)
		return no(why, len, "rdm", NULL, host);
	if (c->num_p9s > 0)
		return no(why, len, "p9", c->p9s[0].path, host);
	if (c->num_vtpms > 0)
		return no(why, len, "vtpm", NULL, host);
	if (c->num_pvcallsifs > 0)
		return no(why, len, "pvcalls", NULL, host);
	for (int i = 0; i < c->num_channels; i++)
		if (c->channels[i].connection ==
		    LIBXL_CHANNEL_CONNECTION_SOCKET)
			return no(why, len, "channel socket",
			    c->channels[i].u.socket.path, host);
	return 0;
}

int
xen_config_admit(const libxl_domain_config *c, char *why, size_t len)
{
	struct vmp_admit a;
	int rc;

	if (vmp_admit_load(&a, why, len) == -1)
		return -1;
	rc = check_build(&c->b_info, why, len);
	if (rc == 0)
		rc = check_devices(c, why, len);
	if (rc == 0)
		rc = check_disks(c, &a, why, len);
	if (rc == 0)
		rc = check_nics(c, &a, why, len);
	vmp_admit_free(&a);
	return rc;
}

int
xen_admit(const struct hv_info *info, const void *config, size_t len,
    char *why, size_t wlen)
{
	libxl_domain_config c;
	int rc;

	(void)info;
	hv_clearerr();
	if (xen_handles() == -1) {
		snprintf(why, wlen, "%s", hv_strerror());
		return -1;
	}
	libxl_domain_config_init(&c);
	rc = xen_config_parse(config, len, &c);
	if (rc == -1)
		snprintf(why, wlen, "%s", hv_strerror());
	else
		rc = xen_config_admit(&c, why, wlen);
	libxl_domain_config_dispose(&c);
	return rc;
}
