/*
 * cli.h: what the programs' main()s share.  Unlike the rest of src/lib,
 * these helpers exit (with err(3) and the status given) on failure: they
 * stand in for code that would otherwise be repeated in every main().
 */
#ifndef CLI_H
#define CLI_H

#include <signal.h>

/* Open an image for reading or writing; "-" is stdin or stdout, which
 * must not be a terminal.  Exits with status ex on failure. */
int	cli_open_in(const char *path, int ex);
int	cli_open_out(const char *path, int ex);

/* SIGINT, SIGTERM and SIGHUP set *flag (so that the program stops
 * cleanly and resumes its guest); SIGPIPE is ignored (EPIPE instead). */
void	cli_catch_stop(volatile sig_atomic_t *flag);

/* A zstd level, 1 to 19.  Exits with status ex otherwise. */
int	cli_zlevel(const char *arg, int ex);

/* A -t deadline in seconds, 1 to 86400 (a day).  Exits with status ex
 * otherwise. */
int	cli_seconds(const char *arg, int ex);

#endif /* CLI_H */
