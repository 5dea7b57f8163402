/* opts.h: vm-run's option parsing helpers (opts.c). */
#ifndef OPTS_H
#define OPTS_H

#include <stdint.h>

#include "kvm_guest_abi.h"

uint64_t size_opt(const char *, const char *what);
void	 workload_defaults(struct kvmg_params *);
void	 parse_workload(char *, struct kvmg_params *);

#endif /* OPTS_H */
