/*
 * vm-save: pause a guest and write all of it to stdout as a vmpipe image;
 * then destroy it, or with --keep resume it (a checkpoint), or with
 * --paused leave it paused for the caller (vm-migrate).  Whatever fails,
 * the guest is resumed: a failed save never costs a running guest.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "emit.h"
#include "io.h"

#define EX_FAIL		1	/* save failed; the guest runs */
#define EX_USAGE	2
#define EX_LOST		3	/* save failed and the guest could not be
				   resumed: it is paused */

static volatile sig_atomic_t stop;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vm-save [-q] [--keep | --paused] "
	    "[-b backend] [-j threads] [-o file] [-z level] guest\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "keep",	no_argument,		NULL, 'k' },
		{ "paused",	no_argument,		NULL, 'P' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "output",	required_argument,	NULL, 'o' },
		{ "compress",	required_argument,	NULL, 'z' },
		{ "threads",	required_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct vmi_writer_opts wo = { .flags = 0 };
	const char *backend = NULL, *out = "-";
	enum { DESTROY, KEEP, PAUSED } then = DESTROY;
	struct progress pr;
	struct emit e;
	struct vmi_wstats ws;
	uint64_t t0, t1, sent;
	int ch, fd, quiet = 0;
	const char *errstr = NULL;

	while ((ch = getopt_long(argc, argv, "b:j:ko:Pqz:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			backend = optarg;
			break;
		case 'j':
			wo.threads = atoi(optarg);
			break;
		case 'k':
			then = KEEP;
			break;
		case 'o':
			out = optarg;
			break;
		case 'P':
			then = PAUSED;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'z':
			wo.zlevel = cli_zlevel(optarg, EX_USAGE);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	memset(&e, 0, sizeof(e));
	if ((e.ops = hv_select(backend)) == NULL)
		errx(EX_FAIL, "no usable backend%s%s", backend ? " " : "",
		    backend ? backend : "");
	/* The guest first: a missing guest must not truncate the output. */
	if (e.ops->open(argv[0], &e.g) == -1)
		errx(EX_FAIL, "guest %s: %s", argv[0], hv_strerror());
	fd = cli_open_out(out, EX_FAIL);
	/*
	 * KVM memory is one shared mapping that stays put while the guest
	 * is paused: its pages can be spliced into a pipe without a copy.
	 */
	wo.splice = e.ops->backend == VMI_BACKEND_KVM;

	/* Signals stop the save cleanly, so that the guest is resumed. */
	cli_catch_stop(&stop);
	e.stop = &stop;

	progress_init(&pr, "vm-save", quiet, -1);
	e.pr = &pr;
	e.pi.round = -1;
	e.share_span = 1;
	t0 = now_ns();
	if ((e.w = vmi_writer_new(fd, &wo)) == NULL) {
		e.ops->close(e.g);
		err(EX_FAIL, "%s: can't start the image", out);
	}
	/* The pause counts from the suspend: on Xen a PV guest is saved
	 * whole within it (libxl's own save), stopped from its start. */
	t1 = now_ns();
	if (e.ops->suspend(e.g) == -1) {
		errstr = "pause";
		snprintf(e.err, sizeof(e.err), "%s", hv_strerror());
		goto fail;
	}
	if (emit_guest(&e, "vm-save") == -1 ||
	    (e.pi.total = e.npages, e.pi.mem_pages = e.npages,
	    emit_pages(&e, NULL, 1, &sent)) == -1 ||
	    emit_state(&e) == -1)
		goto fail;
	if (stop) {
		snprintf(e.err, sizeof(e.err), "interrupted by a signal");
		goto fail;
	}
	if (vmi_write_end(e.w) == -1) {
		snprintf(e.err, sizeof(e.err), "%s",
		    vmi_writer_error(e.w));
		goto fail;
	}
	if (fd != STDOUT_FILENO && fsync(fd) == -1 && errno != EINVAL) {
		snprintf(e.err, sizeof(e.err), "fsync %s: %s", out,
		    strerror(errno));
		goto fail;
	}
	progress_clear(&pr);
	vmi_writer_stats(e.w, &ws);
	if (then == DESTROY && e.ops->destroy(e.g) == -1)
		warnx("guest %s saved but not destroyed: %s", e.info.name,
		    hv_strerror());
	else if (then == KEEP && e.ops->resume(e.g) == -1)
		warnx("guest %s saved but not resumed: %s", e.info.name,
		    hv_strerror());
	if (!quiet)
		fprintf(stderr, "vm-save: %s: %llu pages (%llu zero), %llu "
		    "octets in %.3f s (%.2f GB/s of guest memory), paused "
		    "%.3f s; guest %s\n", e.info.name,
		    (unsigned long long)ws.pages,
		    (unsigned long long)ws.zero_pages,
		    (unsigned long long)ws.bytes, (now_ns() - t0) / 1e9,
		    e.info.mem_bytes / ((now_ns() - t0) / 1e9) / 1e9,
		    (now_ns() - t1) / 1e9, then == DESTROY ? "destroyed" :
		    then == KEEP ? "resumed" : "left paused");
	vmi_writer_free(e.w);
	e.ops->close(e.g);
	return 0;

fail:
	progress_clear(&pr);
	vmi_writer_free(e.w);
	if (e.ops->resume(e.g) == -1) {
		warnx("guest %s: save failed: %s", argv[0], e.err);
		errx(EX_LOST, "guest %s could not be resumed: %s; it is "
		    "paused", argv[0], hv_strerror());
	}
	e.ops->close(e.g);
	errx(EX_FAIL, "guest %s: save failed%s%s: %s; the guest was resumed",
	    argv[0], errstr ? " to " : "", errstr ? errstr : "", e.err);
}
