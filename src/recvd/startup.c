/*
 * startup.c: a connection's way out of the server's count of
 * unauthenticated connections.  The server (server.c) counts every
 * connection that has not yet made an accepted request, in total and
 * per source address, as sshd's MaxStartups and PerSourceMaxStartups do,
 * and gives each the login grace time for all of it, the key exchange
 * included: an alarm that ends the process.  The connection says it got
 * through by closing its end of a pipe, which its death closes too.
 */
#include <signal.h>
#include <unistd.h>

#include "recvd.h"

static int startup_fd = -1;

void
startup_begin(int fd, int grace)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	startup_fd = fd;
	/* SIGALRM's default action ends the process: nothing to clean up
	 * before a request is accepted, no guest, no lock. */
	sigaction(SIGALRM, &sa, NULL);
	if (grace > 0)
		alarm((unsigned)grace);
}

void
startup_done(void)
{
	alarm(0);
	if (startup_fd >= 0) {
		close(startup_fd);
		startup_fd = -1;
	}
}
