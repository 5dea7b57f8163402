/*
 * opts.c: parsing vm-run's option values (sizes and the guest's workload
 * parameters).  Names and UUIDs are names.c's.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "opts.h"

/* A size option: the toolbox's sizes (io.h), or exit 2 saying which. */
uint64_t
size_opt(const char *s, const char *what)
{
	uint64_t v;

	if (parse_size(s, &v) == -1)
		errx(2, "%s: bad size '%s'", what, s);
	return v;
}

static uint64_t
parse_num(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end != '\0' || *s == '-')
		errx(2, "%s: bad number '%s'", what, s);
	return v;
}

void
workload_defaults(struct kvmg_params *p)
{
	memset(p, 0, sizeof(*p));
	p->pages = 0;
	p->rate = 1000;
	p->pattern = KVMG_PAT_RANDOM;
	p->fill = KVMG_FILL_RANDOM;
	p->writers = ~0u;		/* every vCPU, once known */
	p->hb_ms = 100;
	p->sweep_ms = 2000;
	p->seed = 1;
}

/* "pages=N,rate=N|max,pattern=seq|random|hot,writers=N,hb=MS,..." */
void
parse_workload(char *arg, struct kvmg_params *p)
{
	char *opt, *val;

	while ((opt = strsep(&arg, ",")) != NULL) {
		if (*opt == '\0')
			continue;
		if ((val = strchr(opt, '=')) == NULL)
			errx(2, "workload parameter '%s' needs a value", opt);
		*val++ = '\0';
		if (strcmp(opt, "pages") == 0)
			p->pages = parse_num(val, opt);
		else if (strcmp(opt, "mem") == 0)
			p->pages = size_opt(val, opt) >> 12;
		else if (strcmp(opt, "rate") == 0)
			p->rate = strcmp(val, "max") == 0 ? KVMG_RATE_MAX :
			    parse_num(val, opt);
		else if (strcmp(opt, "writers") == 0)
			p->writers = (uint32_t)parse_num(val, opt);
		else if (strcmp(opt, "hb") == 0)
			p->hb_ms = (uint32_t)parse_num(val, opt);
		else if (strcmp(opt, "sweep") == 0)
			p->sweep_ms = (uint32_t)parse_num(val, opt);
		else if (strcmp(opt, "seed") == 0)
			p->seed = parse_num(val, opt);
		else if (strcmp(opt, "pattern") == 0) {
			if (strcmp(val, "seq") == 0)
				p->pattern = KVMG_PAT_SEQ;
			else if (strcmp(val, "random") == 0)
				p->pattern = KVMG_PAT_RANDOM;
			else if (strcmp(val, "hot") == 0)
				p->pattern = KVMG_PAT_HOT;
			else
				errx(2, "pattern: want seq, random or hot, "
				    "not '%s'", val);
		} else if (strcmp(opt, "fill") == 0) {
			if (strcmp(val, "random") == 0)
				p->fill = KVMG_FILL_RANDOM;
			else if (strcmp(val, "halfzero") == 0)
				p->fill = KVMG_FILL_HALFZERO;
			else
				errx(2, "fill: want random or halfzero, "
				    "not '%s'", val);
		} else
			errx(2, "unknown workload parameter '%s'", opt);
	}
	if (p->hb_ms == 0 || p->sweep_ms == 0)
		errx(2, "hb and sweep must be at least 1 ms");
}
