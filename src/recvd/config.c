/*
 * config.c: the relocation server's configuration file and hosts-allow.
 *
 * The file holds `key value' lines (# starts a comment):
 *	address, port, hosts-allow, hostkey, authorized-keys, plain,
 *	max-startups, per-source-max-startups, login-grace-time
 * as xend-config.sxp held xend-relocation-address, -port and -hosts-allow,
 * and sshd_config MaxStartups, PerSourceMaxStartups and LoginGraceTime.
 * Options on the command line win over the file.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "recvd.h"
#include "xfer.h"

static int
set_str(char **field, const char *v)
{
	if (*field != NULL)
		return 0;	/* given on the command line */
	return (*field = strdup(v)) ? 0 : -1;
}

static int
parse_bool(const char *v, int *out)
{
	if (*v == '\0' || !strcmp(v, "yes") || !strcmp(v, "true") ||
	    !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* A count or a time: 1 to max. */
static int
set_int(int *field, const char *v, int max)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 1 || n > max)
		return -1;
	*field = (int)n;
	return 0;
}

int
server_config(struct server *s, const char *path)
{
	char line[4096];
	int lineno = 0, plain, rc = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "vm-recv: can't open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		char *key, *v;

		lineno++;
		if (!conf_split(line, &key, &v))
			continue;

		if (!strcmp(key, "address"))
			rc = set_str(&s->address, v);
		else if (!strcmp(key, "port")) {
			if (s->port == 0 && (s->port = atoi(v)) < 1)
				rc = -1;
		} else if (!strcmp(key, "hosts-allow"))
			rc = set_str(&s->hosts_allow, v);
		else if (!strcmp(key, "hostkey"))
			rc = set_str(&s->hostkey, v);
		else if (!strcmp(key, "authorized-keys"))
			rc = set_str(&s->authkeys, v);
		else if (!strcmp(key, "plain")) {
			if ((rc = parse_bool(v, &plain)) == 0 && !s->plain)
				s->plain = plain;
		} else if (!strcmp(key, "max-startups"))
			rc = set_int(&s->max_startups, v, 10000);
		else if (!strcmp(key, "per-source-max-startups"))
			rc = set_int(&s->per_source, v, 10000);
		else if (!strcmp(key, "login-grace-time"))
			rc = set_int(&s->grace, v, 3600);
		else
			rc = -1;
		if (rc < 0)
			fprintf(stderr, "vm-recv: %s:%d: bad line: %s %s\n",
			    path, lineno, key, v);
	}
	fclose(f);
	return rc;
}

/*
 * Is the pattern one for numeric addresses?  One with a letter other than
 * a to f (outside a bracket class such as [:digit:]) is for names; all
 * others, IPv4's digits and dots and IPv6's hexadecimal digits and
 * colons, are for addresses.
 */
static int
addr_pattern(const char *w)
{
	for (const char *c = w; *c != '\0'; c++) {
		if (c[0] == '[' && c[1] == ':') {
			const char *e = strstr(c + 2, ":]");

			if (e != NULL) {
				c = e + 1;
				continue;
			}
		}
		if (isalpha((unsigned char)*c) &&
		    !isxdigit((unsigned char)*c))
			return 0;
	}
	return 1;
}

/*
 * Each word is a POSIX extended regex.  An address pattern is matched
 * against the peer's numeric address only, anchored at the start as
 * xend's re.match() was: "10\\.77\\." admits a subnet.  A name pattern is
 * matched against the peer's name only, and only a name that resolves
 * back to the peer's address, and it must match the whole name:
 * "host\\.example" admits one host, ".*\\.example" a domain.  So neither
 * a name that looks like an address nor a name the peer's own DNS gives
 * it gets in.  An empty list admits everyone.
 */
static int
compile_one(regex_t *re, const char *w, int addr)
{
	char pat[1024];
	int e, reps = 0;

	/*
	 * glibc's regcomp() grows without bound on stacked repetitions
	 * ("a++++..."): hosts-allow wants simple patterns, so anything else
	 * is refused, not compiled.
	 */
	for (const char *c = w; *c; c++) {
		int q = *c == '*' || *c == '+' || *c == '?' || *c == '{';

		reps += q;
		/* A repetition of a repetition (POSIX leaves it undefined)
		 * is what explodes. */
		if (q && c > w && (c[-1] == '*' || c[-1] == '+' ||
		    c[-1] == '?' || c[-1] == '}'))
			reps = 1000;
	}
	if (strlen(w) > 255 || reps > 8) {
		fprintf(stderr, "vm-recv: hosts-allow '%.40s%s': too complex: "
		    "expected at most 255 characters and 8 repetitions, none "
		    "repeated\n", w, strlen(w) > 40 ? "..." : "");
		return -1;
	}
	snprintf(pat, sizeof pat, addr ? "^(%s)" : "^(%s)$", w);
	if ((e = regcomp(re, pat, REG_EXTENDED | REG_NOSUB | REG_ICASE)) !=
	    0) {
		char msg[256];

		regerror(e, re, msg, sizeof msg);
		fprintf(stderr, "vm-recv: hosts-allow '%s': %s\n", w, msg);
		return -1;
	}
	return 0;
}

int
server_compile_allow(struct server *s)
{
	char *copy, *save, *w;
	int n = 0;

	if (s->hosts_allow == NULL)
		return 0;
	if ((copy = strdup(s->hosts_allow)) == NULL)
		return -1;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t",
	    &save))
		n++;
	free(copy);
	if (n == 0)
		return 0;
	if ((s->allow = calloc(n, sizeof *s->allow)) == NULL)
		return -1;
	/* Two passes: the address patterns first, then the names'. */
	for (int pass = 1; pass >= 0; pass--) {
		if ((copy = strdup(s->hosts_allow)) == NULL)
			return -1;
		for (w = strtok_r(copy, " \t", &save); w;
		    w = strtok_r(NULL, " \t", &save)) {
			if (addr_pattern(w) != pass)
				continue;
			if (compile_one(&s->allow[s->nallow], w, pass) < 0) {
				free(copy);
				return -1;
			}
			s->nallow++;
		}
		free(copy);
		if (pass)
			s->naddr = s->nallow;
	}
	return 0;
}

int
server_allow_names(const struct server *s)
{
	return s->nallow > s->naddr;
}

int
server_allowed(const struct server *s, const char *addr, const char *name)
{
	if (s->nallow == 0)
		return 1;
	for (int i = 0; i < s->naddr; i++)
		if (regexec(&s->allow[i], addr, 0, NULL, 0) == 0)
			return 1;
	for (int i = s->naddr; name != NULL && i < s->nallow; i++)
		if (regexec(&s->allow[i], name, 0, NULL, 0) == 0)
			return 1;
	return 0;
}
