/*
 * conf.h: the administrator's files of `key value' lines (vm-recv's
 * configuration, the destination policy): '#' to the end of a line is a
 * comment, blank lines are skipped.
 */
#ifndef CONF_H
#define CONF_H

/* Split line in place into *key and *val (val "" when absent, blanks
 * around both removed).  Returns 0 for a line with nothing in it, 1
 * otherwise. */
int	conf_split(char *line, char **key, char **val);

#endif /* CONF_H */
