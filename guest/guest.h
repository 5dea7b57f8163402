/*
 * guest.h: the freestanding test guest.  No libc: the few helpers it
 * needs live in lib.c.  It runs at CPL3 only (see kvm_guest_abi.h).
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_guest_abi.h"

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void
outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void
cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

void	*memset(void *, int, size_t);
void	*memcpy(void *, const void *, size_t);
void	 gprintf(unsigned cpu, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 gsleep_us(uint32_t us);
void	 gexit(uint32_t code) __attribute__((noreturn));

/* page.c: self-describing pages. */
#define PAGE_SIZE	4096u
#define JOURNAL_ZERO	(~0ull)		/* page must be all zero */

void	 page_write(uint64_t *page, uint64_t pfn, uint64_t gen, uint64_t seed);
int	 page_check(const uint64_t *page, uint64_t pfn, uint64_t want,
	    uint64_t *got);

enum { CHECK_OK, CHECK_GEN, CHECK_PFN, CHECK_SUM, CHECK_ZERO };

/* disk.c: the disk check, on vCPU 0 (params.disk_blocks != 0). */
extern uint64_t disk_writes, disk_verified, disk_errors;
void	 disk_init(const struct kvmg_params *);
void	 disk_step(void);

#endif /* GUEST_H */
