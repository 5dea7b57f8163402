/*
 * conlog.c: the guest's log, NAME.log: the console lines the guest
 * writes and vm-run's own messages.  A guest decides how much it writes,
 * so the log is bounded: lines beyond a rate are dropped (and counted,
 * once a second), control characters are written escaped so that showing
 * the log shows text, and a log past its size is moved to NAME.log.1
 * (replacing the one before) and begun again.
 *
 * The bounds: $VMPIPE_LOG_MAX octets (default 8 MiB; a size as -m takes
 * it) and $VMPIPE_LOG_RATE octets a second of console text (default
 * 64 KiB, with a second's worth as burst).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "run.h"
#include "vis.h"

#define LOG_MAX_DEFAULT		(8ull << 20)
#define LOG_RATE_DEFAULT	(64ull << 10)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t
env_size(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	uint64_t n;

	if (v == NULL || *v == '\0' || parse_size(v, &n) == -1 || n < 1024)
		return def;
	return n;
}

int
conlog_open(struct vm *vm)
{
	struct stat sb;

	vm->logfd = open(vm->log_path, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (vm->logfd == -1)
		return -1;
	vm->log.max = env_size("VMPIPE_LOG_MAX", LOG_MAX_DEFAULT);
	vm->log.rate = env_size("VMPIPE_LOG_RATE", LOG_RATE_DEFAULT);
	vm->log.tokens = vm->log.rate;
	vm->log.last_ns = now_ns();
	vm->log.size = fstat(vm->logfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return vm->logfd;
}

/* Move the full log aside and begin a new one, on the same descriptor. */
static void
rotate(struct vm *vm)
{
	char old[PATH_MAX + 2];
	int fd;

	if (snprintf(old, sizeof(old), "%s.1", vm->log_path) >=
	    (int)sizeof(old) || rename(vm->log_path, old) == -1)
		return;
	fd = open(vm->log_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd == -1)
		return;
	dup3(fd, vm->logfd, O_CLOEXEC);
	/* A daemon's complaints go to the log too (main.c). */
	if (!vm->foreground)
		dup2(fd, 2);
	close(fd);
	vm->log.size = 0;
}

/* Write n octets of buf to the log; log_lock held. */
static void
put(struct vm *vm, const char *buf, size_t n)
{
	if (vm->log.size + n > vm->log.max)
		rotate(vm);
	if (write(vm->logfd, buf, n) > 0)
		vm->log.size += n;
}

void
vmlog(struct vm *vm, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "vm-run: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (vm->logfd >= 0) {
		pthread_mutex_lock(&log_lock);
		put(vm, buf, n);
		pthread_mutex_unlock(&log_lock);
	}
	if (vm->logfd < 0 || vm->foreground)
		(void)!write(2, buf, n);
}

void
conlog_line(struct vm *vm, const char *text, size_t len)
{
	char buf[4 * KVMG_LINE_MAX + 2];
	uint64_t now = now_ns(), dropped = 0;
	double cost;
	size_t n = 0;

	if (vm->logfd < 0)
		return;
	/* One line, escaped: what a terminal would act on as \xNN. */
	n = vis_text(buf, sizeof(buf) - 1, text,
	    len < KVMG_LINE_MAX ? len : KVMG_LINE_MAX, VIS_TAB);
	buf[n++] = '\n';
	cost = (double)n;

	pthread_mutex_lock(&log_lock);
	vm->log.tokens += (double)(now - vm->log.last_ns) / 1e9 *
	    (double)vm->log.rate;
	if (vm->log.tokens > (double)vm->log.rate)
		vm->log.tokens = (double)vm->log.rate;
	vm->log.last_ns = now;
	if (vm->log.dropped > 0 && now - vm->log.report_ns >= 1000000000ull) {
		dropped = vm->log.dropped;
		vm->log.dropped = 0;
	}
	if (vm->log.tokens < cost) {
		if (vm->log.dropped++ == 0 && dropped == 0)
			vm->log.report_ns = now;
	} else {
		vm->log.tokens -= cost;
		/* One write per line: lines of several vCPUs never mix. */
		put(vm, buf, n);
	}
	pthread_mutex_unlock(&log_lock);
	if (dropped > 0)
		vmlog(vm, "console: %llu lines dropped (over %llu octets a "
		    "second)", (unsigned long long)dropped,
		    (unsigned long long)vm->log.rate);
}
