/*
 * admit.c: the destination's policy file for what an arriving guest may
 * bring (see admit.h).  The file is the administrator's; the paths and
 * names checked against it are a peer's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "conf.h"

const char *
vmp_admit_path(void)
{
	const char *p = getenv("VMPIPE_RECV_CONF");

	return p != NULL && *p != '\0' ? p : VMP_ADMIT_PATH;
}

void
vmp_admit_free(struct vmp_admit *a)
{
	for (int i = 0; i < a->ndisk; i++)
		free(a->disk_prefix[i]);
	free(a->disk_dir);
	for (int i = 0; i < a->nbridge; i++)
		free(a->bridge[i]);
	memset(a, 0, sizeof(*a));
}

static int
add(char **list, int *n, const char *v, int slash)
{
	size_t len = strlen(v);

	if (*n >= VMP_ADMIT_MAX)
		return -1;
	/* A prefix ends in '/': "/srv/xen" must not admit "/srv/xenfoo". */
	if ((list[*n] = malloc(len + 2)) == NULL)
		return -1;
	memcpy(list[*n], v, len + 1);
	if (slash && (len == 0 || v[len - 1] != '/'))
		strcpy(list[*n] + len, "/");
	(*n)++;
	return 0;
}

/* Does path have a "." or ".." component? */
static int
dotted(const char *path)
{
	for (const char *c = path; *c != '\0'; c++)
		if (c[0] == '.' && (c == path || c[-1] == '/') &&
		    (c[1] == '\0' || c[1] == '/' ||
		    (c[1] == '.' && (c[2] == '\0' || c[2] == '/'))))
			return 1;
	return 0;
}

int
vmp_admit_load(struct vmp_admit *a, char *why, size_t len)
{
	const char *path = vmp_admit_path();
	char line[1024];
	int lineno = 0, rc = 0;
	FILE *f;

	memset(a, 0, sizeof(*a));
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, len, "can't read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *key, *v;

		lineno++;
		if (!conf_split(line, &key, &v))
			continue;
		if (!strcmp(key, "disk-prefix") && *v == '/' && !dotted(v))
			rc = add(a->disk_prefix, &a->ndisk, v, 1);
		else if (!strcmp(key, "disk-dir") && *v == '/' &&
		    !dotted(v) && a->disk_dir == NULL)
			rc = (a->disk_dir = strdup(v)) == NULL ? -1 : 0;
		else if (!strcmp(key, "bridge") && *v != '\0' &&
		    !strpbrk(v, " \t/"))
			rc = add(a->bridge, &a->nbridge, v, 0);
		else
			rc = -1;
		if (rc == -1)
			snprintf(why, len, "%s:%d: bad line: expected "
			    "'disk-prefix /absolute/path', 'disk-dir "
			    "/absolute/path' (once) or 'bridge name' (at "
			    "most %d of each), found '%.100s%s%.100s'", path,
			    lineno, VMP_ADMIT_MAX, key, *v ? " " : "", v);
	}
	fclose(f);
	if (rc == -1)
		vmp_admit_free(a);
	return rc;
}

int
vmp_admit_disk(const struct vmp_admit *a, const char *path)
{
	if (path == NULL || *path != '/' || dotted(path))
		return 0;
	for (int i = 0; i < a->ndisk; i++)
		if (strncmp(path, a->disk_prefix[i],
		    strlen(a->disk_prefix[i])) == 0)
			return 1;
	return 0;
}

int
vmp_admit_bridge(const struct vmp_admit *a, const char *br)
{
	for (int i = 0; br != NULL && i < a->nbridge; i++)
		if (strcmp(br, a->bridge[i]) == 0)
			return 1;
	return 0;
}
