/*
 * copy-rate MIB: MIB mebibytes copied in memory, by libc's memcpy, by
 * "rep movsb" and by "rep movsq"; a line each, the rate in MB/s.  The
 * kernel copies between a process and a pipe with rep movsb where the CPU
 * says it has ERMS, and rep movsq where not; under the emulator each
 * repetition costs about as much as a whole vector move: this shows what
 * that makes of every pipe and socket in dom0.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK	(1 << 20)	/* as the kernel copies: a buffer at a time */

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void
movsb(void *d, const void *s, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void
movsq(void *d, const void *s, size_t n)
{
	n /= 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void
libc(void *d, const void *s, size_t n)
{
	memcpy(d, s, n);
}

static void
rate(const char *name, void (*f)(void *, const void *, size_t),
    char *d, const char *s, size_t total)
{
	double t0 = now();
	size_t off;

	for (off = 0; off < total; off += CHUNK)
		f(d + off % (16 * CHUNK), s + off % (16 * CHUNK), CHUNK);
	printf("%-10s %8.1f\n", name, total / 1e6 / (now() - t0));
}

int
main(int argc, char *argv[])
{
	size_t total;
	char *s, *d;

	if (argc != 2)
		errx(2, "usage: copy-rate MIB");
	total = strtoul(argv[1], NULL, 10) << 20;
	if ((s = malloc(16 * CHUNK)) == NULL || (d = malloc(16 * CHUNK)) == NULL)
		errx(1, "no memory");
	memset(s, 0x5a, 16 * CHUNK);
	memset(d, 0, 16 * CHUNK);	/* fault it in before the clock */
	rate("memcpy", libc, d, s, total);
	rate("rep-movsb", movsb, d, s, total);
	rate("rep-movsq", movsq, d, s, total);
	return 0;
}
