/*
 * log.c: vm-recv's log lines, for the relocation server and each of its
 * connections (server.c, sshd.c): stderr in the foreground, syslog once
 * the server is a daemon.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "recvd.h"

int slog_syslog;

void
slog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (slog_syslog)
		vsyslog(prio, fmt, ap);
	else {
		char line[1024];

		vsnprintf(line, sizeof line, fmt, ap);
		fprintf(stderr, "vm-recv: %s\n", line);
	}
	va_end(ap);
}
