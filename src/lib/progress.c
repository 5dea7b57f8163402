/*
 * progress.c: progress reports.  The share shown never decreases: a live
 * copy's later rounds are fitted into what remains of the bar rather than
 * starting again from zero.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "progress.h"

void
progress_init(struct progress *p, const char *what, int quiet, int json_fd)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->tty = !quiet && isatty(STDERR_FILENO);
	p->json_fd = json_fd;
	p->start_ns = now_ns();
}

void
progress_clear(struct progress *p)
{
	if (p->dirty_line) {
		fprintf(stderr, "\r\033[K");
		p->dirty_line = 0;
	}
}

void
progress_update(struct progress *p, const struct progress_info *i, int force)
{
	uint64_t t = now_ns();
	double secs = (t - p->start_ns) / 1e9, rate, eta;
	char rnd[32] = "";

	if (!p->tty || (!force && t - p->last_ns < 100000000))
		return;
	p->last_ns = t;
	if (i->share > p->shown)
		p->shown = i->share > 1 ? 1 : i->share;
	rate = secs > 0 ? i->bytes / secs / 1e6 : 0;
	eta = p->shown > 0.001 ? secs / p->shown - secs : 0;
	if (i->round >= 0)
		snprintf(rnd, sizeof(rnd), "round %d, ", i->round);
	fprintf(stderr, "\r\033[K%s: %s%5.1f%%, %llu/%llu pages, %.0f MB/s",
	    p->what, rnd, 100 * p->shown, (unsigned long long)i->done,
	    (unsigned long long)i->total, rate);
	if (i->round >= 0)
		fprintf(stderr, ", dirty %.0f pages/s", i->dirty_rate);
	fprintf(stderr, ", ETA %.1fs", eta);
	p->dirty_line = 1;
}

void
progress_json(struct progress *p, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (p->json_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* A reader that went away must not stop the migration. */
	(void)io_writeall(p->json_fd, buf, n);
}
