/*
 * hold.c: the fence of a migration's source (see hold.h).  A file, not a
 * process's state, so that it outlives whatever placed it: the point of
 * a fence is to stand when its owner has died.  It lives in the run
 * directory, like the guest's own files, and goes with the machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold.h"
#include "names.h"

int
vmp_hold_set(const char *guest, const char *host, char *why, size_t len)
{
	char path[4096], cur[256];
	int fd, n;

	if (vmp_runpath(path, sizeof path, NULL, guest, "hold") == -1) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	if (vmp_rundir_ready(NULL, why, len) == -1)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		if (errno == EEXIST && vmp_hold_get(guest, cur,
		    sizeof cur) == 1) {
			if (strcmp(cur, host) == 0)
				return 0;	/* this migration's, again */
			snprintf(why, len, "held already for a migration to "
			    "%s", cur);
			return -1;
		}
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* No fsync: the hold need outlive processes, not the machine (the
	 * paused guest it guards does not outlive it either), and the
	 * write is inside the guest's downtime. */
	n = dprintf(fd, "%s\n", host);
	if (n < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

int
vmp_hold_get(const char *guest, char *host, size_t len)
{
	char path[4096];
	ssize_t n;
	int fd;

	if (vmp_runpath(path, sizeof path, NULL, guest, "hold") == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, host, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	host[n] = '\0';
	host[strcspn(host, "\n")] = '\0';
	return 1;
}

int
vmp_hold_clear(const char *guest)
{
	char path[4096];

	if (vmp_runpath(path, sizeof path, NULL, guest, "hold") == -1)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}
