/*
 * snap_lvm.c: an LVM logical volume held still at one instant, by a
 * snapshot volume (see snap.h): the one way to hold a disk that is a
 * device, since a device has no reflink and its copy has nowhere to go.
 *
 * A volume is known from sysfs first (a device-mapper device whose uuid
 * begins "LVM-"), so that no lvm tool runs for a device that is not one;
 * then lvs names its group and volume.  The snapshot is made with
 * lvcreate -s, as large as its origin (it never fills while the bundle
 * is read from it), or, of a thin volume, thin as well; it is removed
 * with lvremove once read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "snap.h"
#include "snap_lvm.h"

#define LVM_OUT	512

/* Run an lvm tool; its output (both streams) into out.  Its exit
 * status, or -1 when it could not run. */
static int
run(char *const argv[], char *out, size_t outlen)
{
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null == -1 || dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(127);
		/* Our descriptors are not its business. */
		setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < outlen &&
	    ((r = read(p[0], out + n, outlen - 1 - n)) > 0 ||
	    (r == -1 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	out[n] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line of out, trimmed, for a message. */
static const char *
first_line(char *out)
{
	char *s = out + strspn(out, " \t\n");

	s[strcspn(s, "\n")] = '\0';
	return s;
}

int
lvm_volume(const char *dev, struct lvm_lv *lv)
{
	char path[128], uuid[16] = "", out[LVM_OUT];
	struct stat st;
	FILE *f;

	memset(lv, 0, sizeof(*lv));
	if (stat(dev, &st) == -1 || !S_ISBLK(st.st_mode))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid",
	    major(st.st_rdev), minor(st.st_rdev));
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(uuid, sizeof(uuid), f) == NULL)
		uuid[0] = '\0';
	fclose(f);
	if (strncmp(uuid, "LVM-", 4) != 0)
		return 0;
	if (run((char *[]){ "lvs", "--noheadings", "-o",
	    "vg_name,lv_name,lv_attr", (char *)dev, NULL }, out,
	    sizeof(out)) != 0)
		return 0;
	if (sscanf(out, " %63s %63s %15s", lv->vg, lv->lv, lv->attr) != 3)
		return 0;
	return 1;
}

int
lvm_snapshot(const struct lvm_lv *lv, const char *name, char *path,
    size_t pathlen, char *err)
{
	char origin[130], out[LVM_OUT];
	/* A thin volume's snapshot is thin, and skipped at activation
	 * unless told otherwise. */
	int thin = lv->attr[0] == 'V';
	char *argv[] = { "lvcreate", "-q", "-s", "-n", (char *)name,
	    thin ? "--setactivationskip" : "-l",
	    thin ? "n" : "100%ORIGIN", origin, NULL };

	snprintf(origin, sizeof(origin), "%s/%s", lv->vg, lv->lv);
	if (run(argv, out, sizeof(out)) != 0) {
		snprintf(err, SNAP_ERRLEN, "lvcreate -s of %s: %s", origin,
		    first_line(out));
		return -1;
	}
	if ((size_t)snprintf(path, pathlen, "/dev/%s/%s", lv->vg, name) >=
	    pathlen || access(path, R_OK) == -1) {
		snprintf(err, SNAP_ERRLEN, "snapshot %s/%s made, but %s can't "
		    "be read", lv->vg, name, path);
		lvm_remove(path);
		return -1;
	}
	return 0;
}

int
lvm_remove(const char *path)
{
	char out[LVM_OUT];

	return run((char *[]){ "lvremove", "-q", "-f", (char *)path, NULL },
	    out, sizeof(out)) == 0 ? 0 : -1;
}
