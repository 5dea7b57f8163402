/*
 * request.c: what a relocation server is asked.  The command of an SSH
 * exec request, or the first line of a plain connection, comes from a
 * peer that has only been admitted, not trusted: it is split as a POSIX
 * shell would split it (quotes and backslashes, nothing that a shell
 * would expand) and must be one of the two requests a server answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "recvd.h"
#include "xfer.h"

/* Split a shell-quoted command into at most max words, in place. */
static int
split_words(char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		char *d;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return n;
		if (n == max)
			return -1;
		w[n++] = d = s;
		while (*s != '\0' && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				for (s++; *s != '\'' && *s != '\0'; )
					*d++ = *s++;
				if (*s++ == '\0')
					return -1;
			} else if (*s == '\\' && s[1] != '\0') {
				s++;
				*d++ = *s++;
			} else if (*s == '"' || *s == '$' || *s == '`') {
				return -1;	/* nothing a sender writes */
			} else
				*d++ = *s++;
		}
		if (*s != '\0')
			s++;
		*d = '\0';
	}
}

int
recv_parse_request(const char *cmd, struct recv_opts *o, char *why,
    size_t len)
{
	char copy[XFER_LINE_MAX + 1], *w[10], *base;
	int n;

	if (strlen(cmd) > XFER_LINE_MAX)
		goto bad;
	strcpy(copy, cmd);
	if ((n = split_words(copy, w, 10)) < 1)
		goto bad;
	base = strrchr(w[0], '/') ? strrchr(w[0], '/') + 1 : w[0];
	if (strcmp(base, "vm-recv") != 0)
		goto bad;
	for (int i = 1; i < n; i++) {
		if (strcmp(w[i], "--paused") == 0)
			o->paused = 1;
		else if (strcmp(w[i], "--handover") == 0)
			o->handover = 1;
		else if (strcmp(w[i], "-q") == 0)
			o->quiet = 1;
		else if (strcmp(w[i], "-t") == 0 && i + 1 < n) {
			char *end;
			long t = strtol(w[++i], &end, 10);

			/* The server's own deadline is the longest a
			 * client may ask for. */
			if (*end != '\0' || t < 1 || t > 86400)
				goto bad;
			if (o->timeout == 0 || t < o->timeout)
				o->timeout = (int)t;
		} else if ((strcmp(w[i], "--name") == 0 ||
		    strcmp(w[i], "--as") == 0 ||
		    strcmp(w[i], "--status") == 0) && i + 1 < n) {
			int st = strcmp(w[i], "--status") == 0;

			o->clone = strcmp(w[i], "--as") == 0;
			if (vmp_name_check(w[++i], why, len) == -1)
				return -1;	/* its own words */
			snprintf(o->namebuf, sizeof o->namebuf, "%s", w[i]);
			if (st)
				o->status = o->namebuf;
			else
				o->name = o->namebuf;
		} else
			goto bad;
	}
	/* A question is only a question. */
	if (o->status != NULL && (n != 3 || o->name != NULL))
		goto bad;
	return 0;
bad:
	snprintf(why, len, "this server runs only 'vm-recv [-q] [--handover] "
	    "[--name name | --as name] [--paused] [-t seconds]' and "
	    "'vm-recv --status name'");
	return -1;
}
