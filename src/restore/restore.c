/*
 * vm-restore: make a guest from a vmpipe image on stdin (or a file) and
 * resume it.  A restore that fails leaves no guest behind.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"
#include "restore.h"
#include "xen_stream.h"

#define EX_FAIL		1
#define EX_USAGE	2

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-restore [-Pq] [-b backend] "
	    "[-n name | --as name] [file]\n");
	exit(EX_USAGE);
}

/*
 * Does the input begin with xl's magic?  It is looked at without being
 * read, for the image reader: pread on a file, tee(2) into a scratch pipe
 * on a pipe, MSG_PEEK on a socket.  Anything else is taken as an image.
 */
static int
is_xl_file(int fd)
{
	char buf[XL_MAGIC_LEN];
	struct stat sb;
	ssize_t n = 0;
	int p[2];

	if (fstat(fd, &sb) == -1)
		return 0;
	if (S_ISREG(sb.st_mode))
		n = pread(fd, buf, sizeof(buf), lseek(fd, 0, SEEK_CUR));
	else if (S_ISSOCK(sb.st_mode))
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_WAITALL);
	else if (S_ISFIFO(sb.st_mode) && pipe2(p, O_CLOEXEC) == 0) {
		/* tee shows what the pipe holds now: wait for enough, or
		 * for a first octet that already tells. */
		for (int i = 0; i < 2000; i++) {
			n = tee(fd, p[1], sizeof(buf), 0);
			if (n > 0)
				n = read(p[0], buf, n);
			if (n <= 0 || (size_t)n >= sizeof(buf) ||
			    memcmp(buf, XL_MAGIC, n) != 0)
				break;
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
		close(p[0]);
		close(p[1]);
	}
	return n == XL_MAGIC_LEN && memcmp(buf, XL_MAGIC, n) == 0;
}

/* A file of `xl save': the Xen backend hands it to libxl as it is. */
static int
restore_xl(int fd, const struct restore_opts *o, struct restore_result *res,
    char *msg, size_t len)
{
	const struct hv_ops *ops = hv_by_id(VMI_BACKEND_XEN);

	memset(res, 0, sizeof(*res));
	if ((o->backend && strcmp(o->backend, "xen") != 0) || ops == NULL ||
	    ops->restore_native == NULL || !ops->probe()) {
		snprintf(msg, len, "an xl save file needs backend xen, which "
		    "%s", o->backend && strcmp(o->backend, "xen") != 0 ?
		    "was not asked for" : "this host does not run");
		return -1;
	}
	if (ops->restore_native(fd, o->name, o->clone, o->paused,
	    &res->info) == -1) {
		snprintf(msg, len, "%s", hv_strerror());
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "paused",	no_argument,		NULL, 'P' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "as",		required_argument,	NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	struct restore_opts o;
	struct restore_result res;
	char msg[512];
	const char *in = "-";
	uint64_t t0;
	int ch, fd, quiet = 0;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "b:n:Pq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			o.clone = 1;
			/* FALLTHROUGH */
		case 'n':
			if (strlen(optarg) >= VMI_NAME_MAX || !*optarg)
				errx(EX_USAGE, "name: expected 1 to %d "
				    "characters, found %zu", VMI_NAME_MAX - 1,
				    strlen(optarg));
			o.name = optarg;
			break;
		case 'b':
			o.backend = optarg;
			break;
		case 'P':
			o.paused = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		in = argv[0];
	fd = cli_open_in(in, EX_FAIL);
	/* A dying restore must still destroy its half-made guest. */
	signal(SIGPIPE, SIG_IGN);
	o.progress = !quiet;
	t0 = now_ns();
	if (is_xl_file(fd)) {
		if (restore_xl(fd, &o, &res, msg, sizeof(msg)) == -1)
			errx(EX_FAIL, "%s: %s; no guest was made", in, msg);
		if (!quiet)
			fprintf(stderr, "vm-restore: %s: xl save file in %.3f "
			    "s; guest %s\n", res.info.name,
			    (now_ns() - t0) / 1e9,
			    o.paused ? "paused" : "running");
		return 0;
	}
	if (restore_stream(fd, &o, &res, msg, sizeof(msg)) == -1)
		errx(EX_FAIL, "%s: %s; no guest was made", in, msg);
	if (!quiet)
		fprintf(stderr, "vm-restore: %s: %llu pages, %llu octets in "
		    "%.3f s (%.2f GB/s of guest memory); guest %s\n",
		    res.info.name, (unsigned long long)res.pages,
		    (unsigned long long)res.bytes, (now_ns() - t0) / 1e9,
		    res.info.mem_bytes / ((now_ns() - t0) / 1e9) / 1e9,
		    o.paused ? "paused" : "running");
	return 0;
}
