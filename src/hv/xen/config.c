/*
 * config.c: a guest's libxl configuration on the restore side.  The
 * JSON that an image (or an xl save file) carries is parsed here, given
 * the name and identity the restore asks for, and sized for the
 * preflight's memory check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "names.h"
#include "xen.h"

int
xen_config_parse(const void *json, size_t len, libxl_domain_config *c)
{
	char *s;
	int rc;

	/* The JSON may or may not end in a NUL (xl's does). */
	while (len > 0 && ((const char *)json)[len - 1] == '\0')
		len--;
	if ((s = malloc(len + 1)) == NULL)
		return -1;
	memcpy(s, json, len);
	s[len] = '\0';
	rc = libxl_domain_config_from_json(xen_ctx, c, s);
	free(s);
	if (rc != 0) {
		hv_seterr("the guest's Xen configuration is not libxl JSON: %s",
		    xen_lastlog());
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Is mac already some running guest's, or another vif's of c? */
static int
mac_taken(const libxl_mac mac, const libxl_domain_config *c, int self)
{
	libxl_dominfo *dom;
	int ndom, taken = 0;

	for (int i = 0; i < c->num_nics; i++)
		if (i != self && memcmp(c->nics[i].mac, mac, 6) == 0)
			return 1;
	if ((dom = libxl_list_domain(xen_ctx, &ndom)) == NULL)
		return 0;
	for (int d = 0; d < ndom && !taken; d++) {
		libxl_device_nic *nic;
		int n;

		nic = libxl_device_nic_list(xen_ctx, dom[d].domid, &n);
		for (int i = 0; i < n && !taken; i++)
			taken = memcmp(nic[i].mac, mac, 6) == 0;
		if (nic)
			libxl_device_nic_list_free(nic, n);
	}
	libxl_dominfo_list_free(dom, ndom);
	return taken;
}

/*
 * A clone runs beside its original, on the same bridges: two vifs with one
 * MAC would steal each other's frames.  Each vif gets Xen's own prefix
 * (00:16:3e, as libxl gives a vif without one) and three random octets
 * that no running guest's vif has.
 */
static int
fresh_macs(libxl_domain_config *c)
{
	for (int i = 0; i < c->num_nics; i++) {
		uint8_t *mac = c->nics[i].mac;
		int tries = 0;

		do {
			if (++tries > 64) {
				hv_seterr("no free MAC address for vif %d", i);
				errno = EADDRINUSE;
				return -1;
			}
			if (getrandom(mac + 3, 3, 0) != 3) {
				hv_seterr("no random MAC address: %s",
				    strerror(errno));
				return -1;
			}
			mac[0] = 0x00;
			mac[1] = 0x16;
			mac[2] = 0x3e;
		} while (mac_taken(mac, c, i));
	}
	return 0;
}

int
xen_config_identity(libxl_domain_config *c, const char *name,
    const uint8_t uuid[16], int clone)
{
	char why[256];

	if (name != NULL && vmp_name_check(name, why, sizeof(why)) == -1) {
		hv_seterr("%s", why);
		return -1;
	}
	if (name != NULL) {
		free(c->c_info.name);
		if ((c->c_info.name = strdup(name)) == NULL)
			return -1;
	}
	if (uuid != NULL)
		memcpy(libxl_uuid_bytearray(&c->c_info.uuid), uuid, 16);
	return clone ? fresh_macs(c) : 0;
}

/*
 * What libxl itself checks before it builds a guest (xl's freemem()): the
 * guest's memory target plus its overheads (page tables, video RAM),
 * against the hypervisor's free pages, claims deducted.  Dom0's own
 * MemAvailable says nothing of either, and the image's mem_bytes is the
 * guest's frame range (up to the special pages below 4 GiB), not what it
 * populates.
 */
int
xen_mem_need(const libxl_domain_config *c, uint64_t *need, uint64_t *avail)
{
	uint64_t needkb, freekb;

	if (xen_mem_need_kb(c, &needkb) == -1)
		return -1;
	if (libxl_get_free_memory(xen_ctx, &freekb) != 0) {
		hv_seterr("can't read Xen's free memory: %s", xen_lastlog());
		errno = EIO;
		return -1;
	}
	*need = needkb << 10;
	/* What dom0 would give, where it gives (balloon.c). */
	if (xen_autoballoon())
		freekb += xen_dom0_spare_kb();
	*avail = freekb << 10;
	return 0;
}

/* What libxl reckons the guest of c takes, in KiB; c is not touched. */
int
xen_mem_need_kb(const libxl_domain_config *c, uint64_t *needkb)
{
	libxl_domain_config copy;
	int rc;

	libxl_domain_config_init(&copy);
	libxl_domain_config_copy(xen_ctx, &copy, c);
	rc = libxl_domain_need_memory(xen_ctx, &copy, INVALID_DOMID, needkb);
	libxl_domain_config_dispose(&copy);
	if (rc != 0) {
		hv_seterr("libxl can't size the guest's memory: %s",
		    xen_lastlog());
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
xen_mem_free(const struct hv_info *info, const void *config, size_t len,
    uint64_t *need, uint64_t *avail)
{
	libxl_domain_config c;
	int rc;

	(void)info;
	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	libxl_domain_config_init(&c);
	rc = xen_config_parse(config, len, &c);
	if (rc == 0)
		rc = xen_mem_need(&c, need, avail);
	libxl_domain_config_dispose(&c);
	return rc;
}
