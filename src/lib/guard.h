/*
 * guard.h: the guardian of one receive (guard.c says why it exists):
 * a forked process that undoes a receive that died half-way.
 */
#ifndef GUARD_H
#define GUARD_H

#include <stdint.h>

struct guard {
	int	fd;		/* our end of its pipe; -1: none */
	/* Set before guard_start(): files the receive made, removed with
	 * a guest that is not kept. */
	const char *const *disks;
	unsigned ndisks;
};
/* Fork the guardian of the guest name (backend VMI_BACKEND_*), holding
 * lockfd and removing lock should the receive die.  0 or -1. */
int	guard_start(struct guard *, const char *name, uint32_t backend,
	    const char *lock, int lockfd);
void	guard_made(struct guard *);	/* the guest exists now */
void	guard_twin(struct guard *);	/* it is built as NAME--incoming */
void	guard_go(struct guard *);	/* the sender said go */
void	guard_keep(struct guard *);	/* it runs: keep it whatever comes */
void	guard_done(struct guard *);	/* the receive's work is over */

#endif /* GUARD_H */
