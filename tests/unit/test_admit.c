/*
 * test_admit.c: unit tests of admit.c: the destination's policy file and
 * the checks of a peer's disk paths and bridges against it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "check.h"

static char path[] = "/tmp/test_admit.XXXXXX";

static int
load(const char *text, struct vmp_admit *a, char *why, size_t len)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	return vmp_admit_load(a, why, len);
}

int
main(void)
{
	struct vmp_admit a;
	char why[512];
	int fd = mkstemp(path);

	close(fd);
	setenv("VMPIPE_RECV_CONF", path, 1);
	CHECK(strcmp(vmp_admit_path(), path) == 0, "path %s",
	    vmp_admit_path());

	CHECK(load("# a policy\ndisk-prefix /srv/xen  # images\n"
	    "disk-prefix /dev/vg0/\nbridge xenbr0\n\n", &a, why,
	    sizeof(why)) == 0, "load: %s", why);
	CHECK(a.ndisk == 2 && a.nbridge == 1, "%d disks %d bridges", a.ndisk,
	    a.nbridge);
	CHECK(vmp_admit_disk(&a, "/srv/xen/web.img"), "under a prefix");
	CHECK(vmp_admit_disk(&a, "/dev/vg0/web"), "a device under a prefix");
	CHECK(!vmp_admit_disk(&a, "/srv/xenfoo/web.img"), "prefix ends at /");
	CHECK(!vmp_admit_disk(&a, "/srv/xen/../../etc/shadow"), "..");
	CHECK(!vmp_admit_disk(&a, "/srv/xen/./x/../y"), ". and ..");
	CHECK(!vmp_admit_disk(&a, "/srv/xen/.."), "trailing ..");
	CHECK(vmp_admit_disk(&a, "/srv/xen/..img"), "a name starting ..");
	CHECK(!vmp_admit_disk(&a, "srv/xen/web.img"), "relative");
	CHECK(!vmp_admit_disk(&a, "/etc/shadow"), "outside");
	CHECK(!vmp_admit_disk(&a, NULL), "none");
	CHECK(vmp_admit_bridge(&a, "xenbr0"), "listed bridge");
	CHECK(!vmp_admit_bridge(&a, "xenbr1"), "other bridge");
	CHECK(!vmp_admit_bridge(&a, NULL), "no bridge");
	vmp_admit_free(&a);

	CHECK(load("disk-prefix relative/\n", &a, why, sizeof(why)) == -1 &&
	    strstr(why, ":1: bad line: expected 'disk-prefix /absolute/path',"
	    " 'disk-dir /absolute/path' (once) or 'bridge name' (at most 64 "
	    "of each), found 'disk-prefix relative/'") != NULL,
	    "relative prefix: %s", why);
	/* Where a bundle's disks go: one absolute directory. */
	CHECK(load("disk-prefix /srv/xen/\ndisk-dir /srv/xen/in\n", &a, why,
	    sizeof(why)) == 0 && a.disk_dir != NULL &&
	    strcmp(a.disk_dir, "/srv/xen/in") == 0, "disk-dir: %s", why);
	vmp_admit_free(&a);
	CHECK(a.disk_dir == NULL, "disk-dir freed");
	CHECK(load("disk-dir /a\ndisk-dir /b\n", &a, why, sizeof(why)) == -1 &&
	    strstr(why, ":2: bad line") != NULL, "two disk-dirs: %s", why);
	CHECK(load("disk-dir in\n", &a, why, sizeof(why)) == -1,
	    "a relative disk-dir");
	CHECK(load("disk-dir /srv/../etc\n", &a, why, sizeof(why)) == -1,
	    "a dotted disk-dir");
	CHECK(load("bridge xenbr0\ndisk-prefix /srv/../etc\n", &a, why,
	    sizeof(why)) == -1 && strstr(why, ":2: bad line") != NULL,
	    "dotted prefix: %s", why);
	CHECK(load("disks /srv\n", &a, why, sizeof(why)) == -1,
	    "unknown key");
	CHECK(a.ndisk == 0 && a.nbridge == 0, "emptied after a bad file");

	unlink(path);
	CHECK(vmp_admit_load(&a, why, sizeof(why)) == 0 && a.ndisk == 0 &&
	    a.nbridge == 0, "a missing file is the empty policy");
	CHECK(!vmp_admit_disk(&a, "/srv/xen/web.img"), "empty: no disks");
	printf("test_admit: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
