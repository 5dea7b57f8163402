/*
 * sibling.h: running the suite's other programs.  A program that hands a
 * step to another (vm-migrate to vm-precopy and vm-send, vm-send to
 * vm-ctl) runs the one installed beside it, so that a build tree's
 * programs call each other and not an older installed copy.
 */
#ifndef SIBLING_H
#define SIBLING_H

/* The path of program name beside this one if there is one, else name
 * itself (to be found on PATH).  The string is static, one of four that
 * are reused in turn. */
const char *vmp_sibling(const char *name);

/*
 * Run `vm-ctl [-b backend] args...' with stdout sent to stderr, and wait
 * for it: 0 when it exits 0, else -1.  backend NULL: vm-ctl's own choice
 * ($VMPIPE_BACKEND, then the first that runs here).  args ends in NULL
 * and holds at most 6 words.
 */
int	vmp_run_ctl(const char *backend, const char *const args[]);

#endif /* SIBLING_H */
