/*
 * sibling.c: see sibling.h.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sibling.h"

const char *
vmp_sibling(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char self[PATH_MAX], *b = buf[next++ % 4];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(b, PATH_MAX, "%s/%s", dirname(self), name);
		if (access(b, X_OK) == 0)
			return b;
	}
	return name;
}

int
vmp_run_ctl(const char *backend, const char *const args[])
{
	const char *argv[10];
	int i = 0, st;
	pid_t pid;

	argv[i++] = vmp_sibling("vm-ctl");
	if (backend != NULL) {
		argv[i++] = "-b";
		argv[i++] = backend;
	}
	for (int k = 0; args[k] != NULL; k++) {
		if (i == 9) {
			errno = E2BIG;
			return -1;
		}
		argv[i++] = args[k];
	}
	argv[i] = NULL;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		/* Its report is for the operator, not our stdout's reader. */
		if (dup2(2, 1) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
