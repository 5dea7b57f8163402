/*
 * cfgfile.c: an administrator's configuration file in place of the one a
 * guest brings (-C, as `xl restore CONFIG FILE' and `xl migrate -C').
 *
 * The file is xl's format or libxl JSON.  xl's format is read by xl
 * itself (`xl create -n' prints the libxl configuration it would build
 * and builds nothing): the one parser that gives every key exactly the
 * meaning `xl create' gives it.  The file must describe the same guest as
 * the configuration it replaces - name, type, vCPUs, memory - for the
 * memory and state of the image are that guest's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "xen.h"

#define CFG_MAX		(1u << 20)	/* a configuration is a few KiB */
#define XL_DEADLINE_MS	30000

extern char **environ;

static int
read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		hv_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CFG_MAX) {
		hv_seterr("%s: expected a regular file of at most %u octets",
		    path, CFG_MAX);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((*buf = malloc(st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	n = io_readall(fd, *buf, st.st_size);
	close(fd);
	if (n != st.st_size) {
		hv_seterr("%s: short read", path);
		free(*buf);
		errno = EIO;
		return -1;
	}
	(*buf)[n] = '\0';
	*len = n;
	return 0;
}

/*
 * Which of xl's lines in err says why: the last that names the file
 * ("FILE:LINE: config parsing error near ..."), else the last.
 */
static const char *
xl_says(char *err, const char *path)
{
	char *line, *save, *named = NULL, *last = NULL;
	size_t plen = strlen(path);

	for (line = strtok_r(err, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		last = line;
		if (strncmp(line, path, plen) == 0 && line[plen] == ':')
			named = line;
	}
	return named ? named : last ? last : "it failed";
}

/*
 * Run `xl create -n path' and keep what it prints: the JSON on stdout,
 * the last line of stderr for a failure's message.  xl gets a deadline:
 * it reads nothing but the file, and a hung one must not hold a restore.
 */
static int
xl_dryrun(const char *path, char **json, size_t *len)
{
	char *argv[] = { "xl", "create", "-n", (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	char *out = NULL, err[1024] = "";
	size_t have = 0, ehave = 0;
	int o[2], e[2], st, rc = -1, open_fds = 2;
	uint64_t deadline = now_ns() + XL_DEADLINE_MS * 1000000ull;
	pid_t pid;

	if (pipe2(o, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(e, O_CLOEXEC) == -1) {
		close(o[0]);
		close(o[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	errno = posix_spawnp(&pid, "xl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	close(e[1]);
	if (errno != 0) {
		hv_seterr("can't run xl to read %s: %s", path, strerror(errno));
		close(o[0]);
		close(e[0]);
		return -1;
	}
	if ((out = malloc(CFG_MAX + 1)) == NULL)
		goto kill;
	while (open_fds > 0) {
		struct pollfd p[2] = { { o[0], POLLIN, 0 }, { e[0], POLLIN, 0 } };
		int64_t left = (int64_t)(deadline - now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0) {
			hv_seterr("xl did not read %s within %d s", path,
			    XL_DEADLINE_MS / 1000);
			goto kill;
		}
		if (poll(p, 2, left) == -1 && errno != EINTR)
			goto kill;
		if (p[0].fd >= 0 && p[0].revents) {
			if (have == CFG_MAX) {
				hv_seterr("xl printed more than %u octets for "
				    "%s", CFG_MAX, path);
				goto kill;
			}
			n = read(o[0], out + have, CFG_MAX - have);
			if (n > 0)
				have += n;
			else if (n == 0 || errno != EINTR) {
				close(o[0]);
				o[0] = -1;
				open_fds--;
			}
		}
		if (e[0] >= 0 && p[1].revents) {
			char tmp[512];

			n = read(e[0], tmp, sizeof(tmp));
			if (n > 0) {
				/* Keep the tail: xl's last words say why. */
				if (ehave + n >= sizeof(err)) {
					memmove(err, err + ehave / 2,
					    ehave - ehave / 2);
					ehave -= ehave / 2;
				}
				if ((size_t)n >= sizeof(err) - ehave)
					n = sizeof(err) - ehave - 1;
				memcpy(err + ehave, tmp, n);
				ehave += n;
				err[ehave] = '\0';
			} else if (n == 0 || errno != EINTR) {
				close(e[0]);
				e[0] = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		hv_seterr("xl can't read %s: %s", path, xl_says(err, path));
		errno = EINVAL;
		goto out;
	}
	out[have] = '\0';
	*json = out;
	*len = have;
	out = NULL;
	rc = 0;
	goto out;
kill:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
out:
	if (o[0] >= 0)
		close(o[0]);
	if (e[0] >= 0)
		close(e[0]);
	free(out);
	return rc;
}

/*
 * Where the JSON object in s begins: its first octet after white space
 * (a file), or the first line that opens an object (xl's output, where a
 * remark like "got a tsc mode string" may come first).  NULL: none.
 */
static const char *
json_start(const char *s, size_t len, int any_line)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	if (i < len && s[i] == '{')
		return s + i;
	for (; any_line && i < len; i++)
		if (i > 0 && s[i] == '{' && s[i - 1] == '\n')
			return s + i;
	return NULL;
}

/* The same guest?  The image's memory and vCPU state are its. */
static int
same_guest(const libxl_domain_config *own, const libxl_domain_config *file,
    const char *path)
{
	if (own->c_info.name == NULL || file->c_info.name == NULL ||
	    strcmp(own->c_info.name, file->c_info.name) != 0) {
		hv_seterr("%s describes guest \"%s\", not \"%s\"",
		    path, file->c_info.name ? file->c_info.name : "",
		    own->c_info.name ? own->c_info.name : "");
		return -1;
	}
	if (own->c_info.type != file->c_info.type) {
		hv_seterr("%s: type %s, the guest is of type %s", path,
		    libxl_domain_type_to_string(file->c_info.type),
		    libxl_domain_type_to_string(own->c_info.type));
		return -1;
	}
	if (own->b_info.max_vcpus != file->b_info.max_vcpus) {
		hv_seterr("%s: %d vCPUs (maxvcpus), the guest has %d", path,
		    file->b_info.max_vcpus, own->b_info.max_vcpus);
		return -1;
	}
	if (own->b_info.max_memkb != file->b_info.max_memkb) {
		hv_seterr("%s: maxmem %llu MiB, the guest's is %llu MiB", path,
		    (unsigned long long)file->b_info.max_memkb >> 10,
		    (unsigned long long)own->b_info.max_memkb >> 10);
		return -1;
	}
	return 0;
}

int
xen_config_read(const libxl_domain_config *own, const char *path,
    libxl_domain_config *c)
{
	const char *json;
	char *text, *xl = NULL;
	size_t len;
	int rc = -1;

	if (read_file(path, &text, &len) == -1)
		return -1;
	json = json_start(text, len, 0);
	if (json == NULL) {
		if (xl_dryrun(path, &xl, &len) == -1)
			goto out;
		if ((json = json_start(xl, len, 1)) == NULL) {
			hv_seterr("xl printed no configuration for %s", path);
			errno = EINVAL;
			goto out;
		}
	}
	if (xen_config_parse(json, strlen(json), c) == -1) {
		hv_seterr("%s: %s", path, hv_strerror());
		goto out;
	}
	if ((rc = same_guest(own, c, path)) == 0)
		/* The guest keeps its identity; xl makes up a UUID for a
		 * file that names none. */
		memcpy(libxl_uuid_bytearray(&c->c_info.uuid),
		    libxl_uuid_bytearray((libxl_uuid *)&own->c_info.uuid), 16);
out:
	free(text);
	free(xl);
	return rc;
}

int
xen_config_file(const void *own, size_t ownlen, const char *path,
    void **out, size_t *outlen)
{
	libxl_domain_config o, c;
	char *json;
	int rc = -1;

	hv_clearerr();
	if (xen_handles() == -1)
		return -1;
	libxl_domain_config_init(&o);
	libxl_domain_config_init(&c);
	if (xen_config_parse(own, ownlen, &o) == -1 ||
	    xen_config_read(&o, path, &c) == -1)
		goto out;
	if ((json = libxl_domain_config_to_json(xen_ctx, &c)) == NULL) {
		hv_seterr("%s: libxl can't write it as JSON", path);
		goto out;
	}
	*out = json;
	*outlen = strlen(json) + 1;
	rc = 0;
out:
	libxl_domain_config_dispose(&o);
	libxl_domain_config_dispose(&c);
	return rc;
}
