/*
 * spawn.c: create() for KVM: start "vm-run --incoming" as a daemon
 * for the restored guest, connected to us by a socketpair it inherits,
 * so that it knows its controller from birth: if we go away before
 * commit(), it sees the connection close and leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "kvm_guest_abi.h"
#include "meminfo.h"
#include "names.h"

/*
 * $VMPIPE_RUN if set (an explicit choice wins), else vm-run next to this
 * program, else "vm-run" on PATH.
 */
static void
find_vm_run(char *buf, size_t len)
{
	const char *env = getenv("VMPIPE_RUN");
	char self[PATH_MAX];
	ssize_t n;

	if (env != NULL && *env != '\0') {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		const char *dir = dirname(self);	/* in place, once */

		snprintf(buf, len, "%s/vm-run", dir);
		if (access(buf, X_OK) == 0)
			return;
		/* Installed: programs in PREFIX/bin, vm-run in PREFIX/sbin. */
		snprintf(buf, len, "%s/../sbin/vm-run", dir);
		if (access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, "vm-run");
}

/* Is a guest of this name alive (its socket answers)? */
static int
name_taken(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (vmp_runpath(sa.sun_path, sizeof(sa.sun_path), NULL, name,
	    "sock") == -1)
		return 0;	/* vm-run says why */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return r;
}

/*
 * Whether a vm-run holds the name's lock (vm-run(8), Files): after a
 * failed start this tells "the name is taken" from other failures, which
 * vm-run's exit status (1 for both) does not.
 */
static int
name_locked(const char *name)
{
	char path[PATH_MAX];
	int fd, r;

	if (vmp_runpath(path, sizeof(path), NULL, name, "pid") == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	r = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return r;
}

static int
check(const struct hv_info *in)
{
	uint64_t avail;
	char why[256];

	if (in->backend != VMI_BACKEND_KVM || in->arch != VMI_ARCH_X86_64 ||
	    in->page_shift != 12) {
		hv_seterr("image is not of an x86-64 KVM guest (backend %u, "
		    "arch %u, page shift %u)", in->backend, in->arch,
		    in->page_shift);
		errno = EINVAL;
		return -1;
	}
	if (in->vcpus < 1 || in->vcpus > KVMG_MAX_VCPUS ||
	    in->mem_bytes < KVMG_MIN_MEM || in->mem_bytes > KVMG_MAX_MEM ||
	    in->mem_bytes % (2u << 20)) {
		hv_seterr("guest %s: %u vCPUs and %llu MiB: vm-run takes 1 to "
		    "%u vCPUs and 16 MiB to %llu GiB in 2 MiB steps", in->name,
		    in->vcpus, (unsigned long long)(in->mem_bytes >> 20),
		    KVMG_MAX_VCPUS, (unsigned long long)(KVMG_MAX_MEM >> 30));
		errno = EINVAL;
		return -1;
	}
	if (vmp_name_check(in->name, why, sizeof(why)) == -1) {
		hv_seterr("%s", why);
		return -1;
	}
	if (name_taken(in->name)) {
		hv_seterr("a guest named %s already runs", in->name);
		errno = EEXIST;
		return -1;
	}
	avail = meminfo_available();
	if (avail && in->mem_bytes > avail) {
		hv_seterr("guest %s needs %llu MiB, the host has %llu MiB "
		    "available", in->name,
		    (unsigned long long)(in->mem_bytes >> 20),
		    (unsigned long long)(avail >> 20));
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void
child(const char *prog, const struct hv_info *in, const char *disk, int ctl,
    int errw)
{
	char mem[32], vcpus[16], uuid[VMP_UUID_STRLEN], *argv[18];
	int null, i = 0;

	/* dup2() onto itself would keep close-on-exec: clear it by hand. */
	if (ctl == 3 ? fcntl(3, F_SETFD, 0) == -1 : dup2(ctl, 3) != 3)
		_exit(127);
	if (errw == 2 ? fcntl(2, F_SETFD, 0) == -1 : dup2(errw, 2) != 2)
		_exit(127);
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	snprintf(mem, sizeof(mem), "%lluK",
	    (unsigned long long)(in->mem_bytes >> 10));
	snprintf(vcpus, sizeof(vcpus), "%u", in->vcpus);
	vmp_uuid_format(in->uuid, uuid);
	argv[i++] = "vm-run";
	argv[i++] = "--incoming";
	argv[i++] = "-D";
	argv[i++] = "--ctl-fd=3";
	argv[i++] = "-d";
	argv[i++] = (char *)vmp_rundir();
	argv[i++] = "-n";
	argv[i++] = (char *)in->name;
	argv[i++] = "-u";
	argv[i++] = uuid;
	argv[i++] = "-m";
	argv[i++] = mem;
	argv[i++] = "--vcpus";
	argv[i++] = vcpus;
	if (disk[0] != '\0') {
		argv[i++] = "--disk";
		argv[i++] = (char *)disk;
	}
	argv[i] = NULL;
	execvp(prog, argv);
	dprintf(2, "vm-run: cannot run %s: %s\n", prog, strerror(errno));
	_exit(127);
}

int
kvm_spawn_incoming(const struct hv_info *in, const void *config, size_t len,
    struct hv_guest **out)
{
	char prog[PATH_MAX], msg[1024], disk[PATH_MAX];
	struct hv_guest *g = NULL;
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, st, e;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	hv_clearerr();
	if (check(in) == -1)
		return -1;
	/* The disk was judged by admit(), in the restore's preflight. */
	if (kvm_config_disk(config, len, disk, sizeof(disk)) == -1)
		return -1;
	find_vm_run(prog, sizeof(prog));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(ep, O_CLOEXEC) == -1)
		goto fail;
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0)
		child(prog, in, disk, sv[1], ep[1]);
	close(sv[1]);
	close(ep[1]);
	sv[1] = ep[1] = -1;
	/*
	 * vm-run -D exits once its socket listens; its daemon then drops
	 * the stderr we gave it.  So EOF here means "ready or failed".
	 */
	while (got < sizeof(msg) - 1 &&
	    (n = read(ep[0], msg + got, sizeof(msg) - 1 - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += n;
	}
	msg[got] = '\0';
	while (got > 0 && msg[got - 1] == '\n')
		msg[--got] = '\0';
	close(ep[0]);
	ep[0] = -1;
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		const char *last = strrchr(msg, '\n');

		hv_seterr("%s", got ? (last ? last + 1 : msg) :
		    "vm-run failed");
		errno = name_locked(in->name) ? EEXIST : EIO;
		goto fail_keep;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto fail;
	snprintf(g->name, sizeof(g->name), "%s", in->name);
	g->sock = sv[0];
	sv[0] = -1;
	g->created = 1;
	g->mem_bytes = in->mem_bytes;
	g->vcpus = in->vcpus;
	if (kvmc_hello(g) == -1)
		goto fail_keep;
	*out = g;
	return 0;
fail:
	hv_seterr("starting vm-run for %s: %s", in->name, strerror(errno));
fail_keep:
	e = errno;
	kvmc_free(g);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	errno = e;
	return -1;
}
