/*
 * vm-run: run one KVM guest, or wait for one to be restored into it, and
 * serve its control socket.  See vm-run(8).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exits.h"
#include "hv.h"
#include "names.h"
#include "opts.h"
#include "run.h"

#define DEFAULT_MEM	(256ull << 20)

static struct vm the_vm;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: vm-run [-DP] [--disk file] [--foreground] [--log log] "
	    "[--vcpus n]\n"
	    "              [-d dir] [-M backing] [-m size] [-n name] "
	    "[-u uuid]\n"
	    "              [-w param[,param ...]] image\n"
	    "       vm-run --incoming [-D] [--disk file] [--foreground] "
	    "[--log log]\n"
	    "              [--vcpus n] [-d dir] [-M backing] [-m size] "
	    "[-u uuid] -n name\n");
	exit(VMP_EX_USAGE);
}

static void
atexit_cleanup(void)
{
	vm_cleanup(&the_vm);
}

static void
set_paths(struct vm *vm, const char *dir, const char *log)
{
	char why[512];

	if (vmp_rundir_ready(dir, why, sizeof(why)) == -1)
		errx(VMP_EX_FAIL, "%s", why);
	if ((size_t)snprintf(vm->dir, sizeof(vm->dir), "%s", dir) >=
	    sizeof(vm->dir) ||
	    vmp_runpath(vm->sock_path, sizeof(vm->sock_path), dir, vm->name,
	    "sock") == -1 ||
	    vmp_runpath(vm->pid_path, sizeof(vm->pid_path), dir, vm->name,
	    "pid") == -1)
		errx(VMP_EX_FAIL, "%s: path too long", dir);
	if (log != NULL)
		snprintf(vm->log_path, sizeof(vm->log_path), "%s", log);
	else if (vmp_runpath(vm->log_path, sizeof(vm->log_path), dir, vm->name,
	    "log") == -1)
		errx(1, "%s: path too long", dir);
}

/*
 * -D: the parent waits until the child (which must create the VM itself,
 * as a KVM VM belongs to the process that made it) says its socket is
 * listening, so that "vm-run -D ... && vm-ctl info NAME" just works.
 */
static int
daemon_fork(void)
{
	int p[2], st;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) == -1)
		err(VMP_EX_FAIL, "pipe");
	if ((pid = fork()) == -1)
		err(VMP_EX_FAIL, "fork");
	if (pid == 0) {
		close(p[0]);
		return p[1];
	}
	close(p[1]);
	if (read(p[0], &c, 1) == 1 && c == 'R')
		_exit(VMP_EX_OK);
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		_exit(WEXITSTATUS(st) ? WEXITSTATUS(st) : 1);
	_exit(VMP_EX_FAIL);
}

static void
daemon_ready(struct vm *vm, int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (setsid() == -1)
		err(VMP_EX_FAIL, "setsid");
	if (null == -1)
		err(VMP_EX_FAIL, "/dev/null");
	dup2(null, 0);
	dup2(null, 1);
	/* Later complaints go to the guest's log, where one looks. */
	dup2(vm->logfd >= 0 ? vm->logfd : null, 2);
	close(null);
	if (write(fd, "R", 1) != 1)
		_exit(VMP_EX_FAIL);
	close(fd);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "ctl-fd",	required_argument,	NULL, 'F' },
		{ "disk",	required_argument,	NULL, 'k' },
		{ "foreground",	no_argument,		NULL, 'f' },
		{ "incoming",	no_argument,		NULL, 'i' },
		{ "log",	required_argument,	NULL, 'l' },
		{ "vcpus",	required_argument,	NULL, 'c' },
		{ "workload",	required_argument,	NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct vm *vm = &the_vm;
	struct kvmg_params wl;
	const char *dir = NULL, *log = NULL, *name = NULL, *image = NULL;
	const char *disk = NULL;
	int ch, daemonize = 0, paused = 0, ctlfd = -1, readyfd = -1, lfd;
	uint64_t mem = DEFAULT_MEM;
	unsigned vcpus = 2;
	int have_uuid = 0;
	char why[256];
	sigset_t set;

	workload_defaults(&wl);
	vm->backing = MEM_AUTO;
	vm->logfd = -1;
	vm->pidfd = -1;
	vm->disk_fd = -1;
	while ((ch = getopt_long(argc, argv, "DM:Pd:m:n:u:w:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			daemonize = 1;
			break;
		case 'F':
			ctlfd = atoi(optarg);
			if (ctlfd < 3 || fcntl(ctlfd, F_SETFD, FD_CLOEXEC) == -1)
				errx(VMP_EX_USAGE, "--ctl-fd: %s is not an "
				    "open descriptor", optarg);
			break;
		case 'M':
			if (strcmp(optarg, "auto") == 0)
				vm->backing = MEM_AUTO;
			else if (strcmp(optarg, "4k") == 0)
				vm->backing = MEM_4K;
			else if (strcmp(optarg, "thp") == 0)
				vm->backing = MEM_THP;
			else if (strcmp(optarg, "hugetlb") == 0)
				vm->backing = MEM_HUGETLB;
			else
				errx(VMP_EX_USAGE,
				    "-M: want auto, 4k, thp or hugetlb");
			break;
		case 'P':
			paused = 1;
			break;
		case 'c':
			vcpus = (unsigned)atoi(optarg);
			if (vcpus < 1 || vcpus > KVMG_MAX_VCPUS)
				errx(VMP_EX_USAGE, "--vcpus: 1 to %d vCPUs",
				    KVMG_MAX_VCPUS);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'f':
			vm->foreground = 1;
			break;
		case 'i':
			vm->incoming = 1;
			break;
		case 'k':
			disk = optarg;
			break;
		case 'l':
			log = optarg;
			break;
		case 'm':
			mem = size_opt(optarg, "-m");
			break;
		case 'n':
			name = optarg;
			break;
		case 'u':
			if (vmp_uuid_parse(optarg, vm->uuid) == -1)
				errx(VMP_EX_USAGE, "-u: bad UUID '%s'", optarg);
			have_uuid = 1;
			break;
		case 'w':
			parse_workload(optarg, &wl);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (vm->incoming ? argc != 0 || name == NULL : argc != 1)
		usage();
	if (!vm->incoming)
		image = argv[0];
	if (ctlfd >= 0 && !vm->incoming)
		errx(VMP_EX_USAGE, "--ctl-fd needs --incoming");
	if (name == NULL) {
		char *b = strdup(image), *dot;

		name = basename(b);
		if ((dot = strrchr(name, '.')) != NULL && dot != name)
			*dot = '\0';
	}
	if (vmp_name_check(name, why, sizeof(why)) == -1)
		errx(VMP_EX_USAGE, "%s", why);
	if (mem < KVMG_MIN_MEM || mem > KVMG_MAX_MEM || mem % (2 << 20))
		errx(VMP_EX_USAGE, "-m: memory must be a multiple of 2 MiB "
		    "from %llu MiB to %llu GiB",
		    (unsigned long long)KVMG_MIN_MEM >> 20,
		    (unsigned long long)KVMG_MAX_MEM >> 30);
	if (wl.writers == ~0u)
		wl.writers = vcpus;
	if (wl.writers > vcpus)
		errx(VMP_EX_USAGE, "writers=%u but only %u vCPUs",
		    wl.writers, vcpus);
	if (disk != NULL) {
		disk_open(vm, disk);
		wl.disk_blocks = vm->disk_blocks;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->mem_bytes = mem;
	vm->nvcpus = vcpus;
	if (!have_uuid && vmp_uuid_generate(vm->uuid) == -1)
		err(1, "getrandom");
	if (dir == NULL)
		dir = vmp_rundir();
	set_paths(vm, dir, log);

	if (daemonize)
		readyfd = daemon_fork();

	/* Signals are read from a signalfd; the kick is unblocked per vCPU. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		pthread_condattr_t ca;

		pthread_mutex_init(&vm->lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&vm->wake, &ca);
		pthread_cond_init(&vm->ack, NULL);
	}

	lfd = ctl_listen(vm);
	atexit(atexit_cleanup);
	mem_create(vm);
	vm_create(vm);
	if (!vm->incoming) {
		wl.tsc_khz = vm->tsc_khz;
		boot_image(vm, image, &wl);
		if (conlog_open(vm) == -1)
			err(VMP_EX_FAIL, "%s", vm->log_path);
		vmlog(vm, "guest %s started: %u vCPUs, %llu MiB (%s memory), "
		    "pid %ld", vm->name, vm->nvcpus,
		    (unsigned long long)(vm->mem_bytes >> 20),
		    mem_backing_name(vm->backing), (long)getpid());
	}
	vcpu_start_all(vm);
	/* A guest that starts paused is paused for good, not on a lease. */
	if (!vm->incoming && !paused) {
		if (vm_resume(vm) == -1)
			errx(VMP_EX_FAIL, "guest %s: %s", vm->name,
			    hv_strerror());
	} else
		vm->held = 1;
	if (readyfd >= 0)
		daemon_ready(vm, readyfd);
	ctl_serve(vm, lfd, ctlfd);
	return 0;
}
