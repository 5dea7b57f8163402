/*
 * lib.c: the little of a C library the test guest needs.  Console output
 * is one port write per line: the text sits in a per-vCPU buffer whose
 * address vm-run reads, because each exit costs tens of microseconds.
 */
#include "guest.h"

static struct kvmg_line lines[KVMG_MAX_VCPUS];

void *
memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *
memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

struct out {
	char	*buf;
	size_t	 len;
};

static void
put(struct out *o, char c)
{
	if (o->len < KVMG_LINE_MAX)
		o->buf[o->len++] = c;
}

static void
putnum(struct out *o, unsigned long long v, unsigned base, int neg)
{
	char tmp[24];
	int n = 0;

	if (neg)
		put(o, '-');
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put(o, tmp[--n]);
}

/* A printf subset: %s %c %d %u %x with optional l/ll. */
static void
format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int lng = 0;

		if (*fmt != '%') {
			put(o, *fmt);
			continue;
		}
		while (*++fmt == 'l')
			lng++;
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			while (*s)
				put(o, *s++);
			break;
		}
		case 'c':
			put(o, (char)va_arg(ap, int));
			break;
		case 'd': {
			long long v = lng ? va_arg(ap, long long) :
			    va_arg(ap, int);

			putnum(o, v < 0 ? -(unsigned long long)v :
			    (unsigned long long)v, 10, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng ?
			    va_arg(ap, unsigned long long) :
			    va_arg(ap, unsigned);

			putnum(o, v, *fmt == 'u' ? 10 : 16, 0);
			break;
		}
		case '\0':
			return;
		default:
			put(o, *fmt);
		}
	}
}

void
gprintf(unsigned cpu, const char *fmt, ...)
{
	struct kvmg_line *l = &lines[cpu % KVMG_MAX_VCPUS];
	struct out o = { l->text, 0 };
	va_list ap;

	va_start(ap, fmt);
	format(&o, fmt, ap);
	va_end(ap);
	l->len = (uint32_t)o.len;
	outl(KVMG_PORT_CONSOLE, (uint32_t)(uintptr_t)l);
}

void
gsleep_us(uint32_t us)
{
	outl(KVMG_PORT_SLEEP, us);
}

void
gexit(uint32_t code)
{
	for (;;)
		outl(KVMG_PORT_EXIT, code);
}
