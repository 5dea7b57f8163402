/*
 * cli.c: helpers for the programs' main()s.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

int
cli_open_in(const char *path, int ex)
{
	int fd;

	if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO))
		errx(ex, "refusing to read an image from a terminal");
	if ((fd = io_open_in(path)) == -1)
		err(ex, "can't open %s", path);
	return fd;
}

int
cli_open_out(const char *path, int ex)
{
	int fd;

	if (strcmp(path, "-") == 0 && isatty(STDOUT_FILENO))
		errx(ex, "refusing to write an image to a terminal");
	if ((fd = io_open_out(path)) == -1)
		err(ex, "can't open %s", path);
	return fd;
}

static volatile sig_atomic_t *stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	*stop_flag = 1;
}

void
cli_catch_stop(volatile sig_atomic_t *flag)
{
	struct sigaction sa;

	stop_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
cli_zlevel(const char *arg, int ex)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || v < 1 || v > 19)
		errx(ex, "compression level: expected 1 to 19, found %s", arg);
	return (int)v;
}

int
cli_seconds(const char *arg, int ex)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < 1 || v > 86400)
		errx(ex, "bad timeout '%s': 1 to 86400 seconds", arg);
	return (int)v;
}
