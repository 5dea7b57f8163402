/*
 * meminfo.h: what the host has left for a new guest.
 */
#ifndef MEMINFO_H
#define MEMINFO_H

#include <stdint.h>

/* MemAvailable from /proc/meminfo, in octets; 0 if unknown. */
uint64_t	meminfo_available(void);

#endif /* MEMINFO_H */
