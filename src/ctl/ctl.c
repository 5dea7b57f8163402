/*
 * vm-ctl: list, inspect, pause, resume and destroy guests, and show
 * their consoles, through any backend.  See vm-ctl(8).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "hv.h"
#include "hold.h"
#include "names.h"
#include "show.h"

static const struct hv_ops *ops;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: vm-ctl [-b backend] list [--json]\n"
	    "       vm-ctl [-b backend] info [--json] guest\n"
	    "       vm-ctl [-b backend] pause guest\n"
	    "       vm-ctl [-b backend] resume [--force] guest\n"
	    "       vm-ctl [-b backend] destroy guest\n"
	    "       vm-ctl [-b backend] rename guest name\n"
	    "       vm-ctl [-b backend] console [-f] guest\n");
	exit(VMP_EX_USAGE);
}

/*
 * The one option of list and info, --json: 1 if given.  argc and argv
 * then start at the verb's operands.
 */
static int
json_opt(int *argc, char ***argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, json = 0;

	optind = 1;
	while ((ch = getopt_long(*argc, *argv, "", longopts, NULL)) != -1) {
		if (ch != 'J')
			usage();
		json = 1;
	}
	*argc -= optind;
	*argv += optind;
	return json;
}

static int
list_row(void *arg, const struct hv_info *i)
{
	(void)arg;
	show_list_row(i);
	return 0;
}

static int
list_json(void *arg, const struct hv_info *i)
{
	show_json(arg, ops->name, i, 0);
	return 0;
}

static int
cmd_list(int argc, char *argv[])
{
	struct show_doc d;
	int json = json_opt(&argc, &argv);

	if (argc != 0)
		usage();
	if (!json) {
		show_list_header();
		if (ops->list(list_row, NULL) != 0)
			errx(VMP_EX_FAIL, "list: %s", hv_strerror());
		return 0;
	}
	if (show_doc_open(&d) == -1)
		err(VMP_EX_FAIL, "list");
	json_array(&d.j);
	if (ops->list(list_json, &d.j) != 0)
		errx(VMP_EX_FAIL, "list: %s", hv_strerror());
	json_end(&d.j);
	if (show_doc_write(&d) == -1)
		err(VMP_EX_FAIL, "list: can't write its JSON");
	return 0;
}

static struct hv_guest *
open_guest(const char *name)
{
	struct hv_guest *g;

	if (ops->open(name, &g) == -1)
		errx(VMP_EX_FAIL, "%s", hv_strerror());
	return g;
}

static int
cmd_info(int argc, char *argv[])
{
	struct hv_guest *g;
	struct hv_info i;
	struct show_doc d;
	int json = json_opt(&argc, &argv);

	if (argc != 1)
		usage();
	g = open_guest(argv[0]);
	if (ops->describe(g, &i) == -1)
		errx(VMP_EX_FAIL, "%s: %s", argv[0], hv_strerror());
	ops->close(g);
	if (!json) {
		show_info(ops->name, &i);
		return 0;
	}
	if (show_doc_open(&d) == -1)
		err(VMP_EX_FAIL, "info %s", argv[0]);
	show_json(&d.j, ops->name, &i, 1);
	if (show_doc_write(&d) == -1)
		err(VMP_EX_FAIL, "info %s: can't write its JSON", argv[0]);
	return 0;
}

static int
cmd_simple(int argc, char *argv[])
{
	struct hv_guest *g;
	char host[256];
	int ch, r, force = 0;
	const char *verb = argv[0];

	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'F' || strcmp(verb, "resume") != 0)
			usage();
		force = 1;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	/* A fenced source: the far side of a migration may run it. */
	if (strcmp(verb, "resume") == 0 && !force &&
	    vmp_hold_get(argv[0], host, sizeof host) == 1)
		errx(VMP_EX_INDOUBT, "%s is held: its migration to %s is in "
		    "doubt and the guest may run there.  Settle it with "
		    "vm-migrate --settle %s %s, or, knowing it does not run "
		    "there, vm-ctl resume --force %s", argv[0], host, argv[0], host,
		    argv[0]);
	g = open_guest(argv[0]);
	if (strcmp(verb, "pause") == 0)
		r = ops->pause(g);
	else if (strcmp(verb, "resume") == 0)
		r = ops->resume(g);
	else
		r = ops->destroy(g);
	if (r == -1)
		errx(VMP_EX_FAIL, "%s %s: %s", verb, argv[0], hv_strerror());
	ops->close(g);
	/* Resumed by hand, or gone: the fence has nothing left to guard. */
	if (strcmp(verb, "pause") != 0 && vmp_hold_clear(argv[0]) == -1)
		warn("%s: can't remove its hold", argv[0]);
	return 0;
}

/* A held guest's hold goes with it: the fence is of the guest, not of
 * the name (vm-send renames a source that a copy on this same host
 * replaces, names.h). */
static int
cmd_rename(int argc, char *argv[])
{
	struct hv_guest *g;
	char host[256], why[512];
	int held;

	if (argc != 3)
		usage();
	if (vmp_name_check(argv[2], why, sizeof why) == -1)
		errx(VMP_EX_USAGE, "%s", why);
	if (ops->rename == NULL)
		errx(VMP_EX_FAIL, "backend %s can't rename guests", ops->name);
	g = open_guest(argv[1]);
	if ((held = vmp_hold_get(argv[1], host, sizeof host)) == 1 &&
	    vmp_hold_set(argv[2], host, why, sizeof why) == -1)
		errx(VMP_EX_FAIL, "rename %s: its hold can't move to %s: %s",
		    argv[1], argv[2], why);
	if (ops->rename(g, argv[2]) == -1) {
		if (held == 1)
			(void)vmp_hold_clear(argv[2]);
		errx(VMP_EX_FAIL, "rename %s: %s", argv[1], hv_strerror());
	}
	ops->close(g);
	if (held == 1 && vmp_hold_clear(argv[1]) == -1)
		warn("%s: can't remove its old hold", argv[1]);
	return 0;
}

static int
cmd_console(int argc, char *argv[])
{
	struct hv_guest *g;
	int ch, follow = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "f")) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	g = open_guest(argv[0]);
	if (ops->console(g, STDOUT_FILENO, follow) == -1)
		errx(VMP_EX_FAIL, "console %s: %s", argv[0], hv_strerror());
	ops->close(g);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *backend = NULL;
	int ch;

	/* "+": options stop at the command, which has its own. */
	while ((ch = getopt(argc, argv, "+b:")) != -1) {
		switch (ch) {
		case 'b':
			backend = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if ((ops = hv_select(backend)) == NULL)
		errx(VMP_EX_FAIL, "%s", hv_strerror());

	if (strcmp(argv[0], "list") == 0)
		return cmd_list(argc, argv);
	if (strcmp(argv[0], "info") == 0)
		return cmd_info(argc, argv);
	if (strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") == 0 ||
	    strcmp(argv[0], "destroy") == 0)
		return cmd_simple(argc, argv);
	if (strcmp(argv[0], "console") == 0)
		return cmd_console(argc, argv);
	if (strcmp(argv[0], "rename") == 0)
		return cmd_rename(argc, argv);
	usage();
}
