/*
 * balloon.c: making room for a guest by ballooning dom0 down, as xl's
 * autoballoon does (xl's freemem()).
 *
 * Where dom0 was given most of the host's memory (no dom0_mem= on Xen's
 * command line), Xen's free memory is small and a new guest's memory
 * must come out of dom0.  /etc/xen/xl.conf says whether that is done:
 * autoballoon "on", "off", or "auto" (the default: on unless Xen's
 * command line fixes dom0's memory).  The memory taken from dom0 for a
 * restore that then fails is given back.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

#define XL_CONF		"/etc/xen/xl.conf"
/* What dom0 keeps at least (libxl's LIBXL_MIN_DOM0_MEM is 128 MiB). */
#define DOM0_FLOOR_KB	(256u << 10)
/* How long dom0's balloon driver and Xen's scrubbing may take. */
#define WAIT_SECONDS	30

/* xl.conf's autoballoon: 1 on, 0 off, -1 auto (or not set). */
static int
conf_autoballoon(void)
{
	char line[512];
	int v = -1;
	FILE *f;

	if ((f = fopen(XL_CONF, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *q;

		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "autoballoon", 11) != 0)
			continue;
		p += 11;
		while (isspace((unsigned char)*p))
			p++;
		if (*p++ != '=')
			continue;
		while (isspace((unsigned char)*p) || *p == '"' || *p == '\'')
			p++;
		for (q = p; isalnum((unsigned char)*q); q++)
			;
		*q = '\0';
		if (strcmp(p, "on") == 0 || strcmp(p, "1") == 0)
			v = 1;
		else if (strcmp(p, "off") == 0 || strcmp(p, "0") == 0)
			v = 0;
		else
			v = -1;
	}
	fclose(f);
	return v;
}

int
xen_autoballoon(void)
{
	xen_commandline_t cmd;
	int v = conf_autoballoon();

	if (v != -1)
		return v;
	/* "auto", as xl: off when dom0's memory is fixed at boot. */
	memset(cmd, 0, sizeof(cmd));
	if (xc_version(xen_xch, XENVER_commandline, &cmd) < 0)
		return 0;
	cmd[sizeof(cmd) - 1] = '\0';
	return strstr(cmd, "dom0_mem=") == NULL;
}

/* What dom0 could give a guest now, in KiB. */
uint64_t
xen_dom0_spare_kb(void)
{
	libxl_dominfo d;
	uint64_t spare = 0;

	libxl_dominfo_init(&d);
	if (libxl_domain_info(xen_ctx, &d, 0) == 0 &&
	    d.current_memkb > DOM0_FLOOR_KB)
		spare = d.current_memkb - DOM0_FLOOR_KB;
	libxl_dominfo_dispose(&d);
	return spare;
}

/*
 * Make need_kb of Xen's memory free for a new guest: nothing to do if it
 * is, else dom0 gives the difference (autoballoon on).  *taken_kb says
 * how much dom0 gave, for xen_balloon_return().
 */
int
xen_balloon_for(uint64_t need_kb, uint64_t *taken_kb)
{
	uint64_t free_kb;
	int32_t delta;

	*taken_kb = 0;
	if (libxl_get_free_memory(xen_ctx, &free_kb) != 0) {
		hv_seterr("can't read Xen's free memory: %s", xen_lastlog());
		return -1;
	}
	if (free_kb >= need_kb)
		return 0;
	if (!xen_autoballoon()) {
		hv_seterr("not enough memory: the guest needs %llu MiB, Xen "
		    "has %llu MiB free (autoballoon is off in " XL_CONF ")",
		    (unsigned long long)(need_kb >> 10),
		    (unsigned long long)(free_kb >> 10));
		errno = ENOMEM;
		return -1;
	}
	if (need_kb - free_kb > xen_dom0_spare_kb()) {
		hv_seterr("not enough memory: the guest needs %llu MiB, Xen "
		    "has %llu MiB free and dom0 can give %llu MiB",
		    (unsigned long long)(need_kb >> 10),
		    (unsigned long long)(free_kb >> 10),
		    (unsigned long long)(xen_dom0_spare_kb() >> 10));
		errno = ENOMEM;
		return -1;
	}
	delta = (int32_t)(need_kb - free_kb);
	if (libxl_set_memory_target(xen_ctx, 0, -delta, 1, 0) != 0) {
		hv_seterr("can't balloon dom0 down by %d MiB: %s", delta >> 10,
		    xen_lastlog());
		return -1;
	}
	*taken_kb = (uint64_t)delta;
	if (libxl_wait_for_memory_target(xen_ctx, 0, WAIT_SECONDS) != 0 ||
	    libxl_wait_for_free_memory(xen_ctx, INVALID_DOMID, need_kb,
	    WAIT_SECONDS) != 0) {
		hv_seterr("dom0 did not give %d MiB within %d s", delta >> 10,
		    WAIT_SECONDS);
		xen_balloon_return(*taken_kb);
		*taken_kb = 0;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Give dom0 back what it gave for a guest that was not made. */
void
xen_balloon_return(uint64_t taken_kb)
{
	if (taken_kb > 0)
		(void)libxl_set_memory_target(xen_ctx, 0, (int32_t)taken_kb, 1,
		    0);
}
