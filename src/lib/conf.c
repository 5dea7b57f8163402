/*
 * conf.c: one `key value' line of an administrator's file (conf.h).
 */
#include <ctype.h>
#include <string.h>

#include "conf.h"

int
conf_split(char *line, char **key, char **val)
{
	char *k = line, *v, *end;

	if ((end = strchr(line, '#')) != NULL)
		*end = '\0';
	while (isspace((unsigned char)*k))
		k++;
	end = k + strlen(k);
	while (end > k && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*k == '\0')
		return 0;
	for (v = k; *v != '\0' && !isspace((unsigned char)*v); v++)
		;
	if (*v != '\0')
		*v++ = '\0';
	while (isspace((unsigned char)*v))
		v++;
	*key = k;
	*val = v;
	return 1;
}
