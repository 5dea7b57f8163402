/*
 * xen-pause-window DOMID SECONDS: the downtime of a move of domain DOMID
 * to this host, as the hypervisor saw it: from the last moment DOMID was
 * seen able to run (neither paused nor shut down) to the first moment a
 * domain made after this started, once seen paused, is seen unpaused
 * (the copy let run).  Prints it in ms, or "-" when no copy ran within
 * SECONDS (exit 1).
 *
 * The guest's own tick gap says how long its shell loop went without a
 * turn; under the emulator, where dom0 and the guest share one CPU and
 * the copy's rounds slow the guest down, that is mostly CPU share, not
 * the pause.  This is the pause alone.  It polls every 5 ms: a
 * hypercall each, far less than the moves it watches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <xenctrl.h>

#define MAXDOM	64

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	xc_domaininfo_t info[MAXDOM];
	unsigned char old[65536] = { 0 }, waiting[65536] = { 0 };
	xc_interface *xc;
	double end, last_live;
	uint32_t src;
	int n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: xen-pause-window domid seconds\n");
		return 2;
	}
	src = (uint32_t)strtoul(argv[1], NULL, 10);
	if ((xc = xc_interface_open(NULL, NULL, 0)) == NULL) {
		perror("xc_interface_open");
		return 2;
	}
	/* The domains there before the move are not its copy. */
	if ((n = xc_domain_getinfolist(xc, 0, MAXDOM, info)) < 0) {
		perror("xc_domain_getinfolist");
		return 2;
	}
	for (i = 0; i < n; i++)
		old[info[i].domain] = 1;
	last_live = now_ms();
	end = last_live + atof(argv[2]) * 1e3;
	while (now_ms() < end) {
		double t = now_ms();

		if ((n = xc_domain_getinfolist(xc, 0, MAXDOM, info)) < 0)
			break;
		for (i = 0; i < n; i++) {
			uint32_t d = info[i].domain, f = info[i].flags;
			int paused = (f & (XEN_DOMINF_paused |
			    XEN_DOMINF_shutdown | XEN_DOMINF_dying)) != 0;

			if (d == src && !paused)
				last_live = t;
			if (d == src || old[d])
				continue;
			if (paused)
				waiting[d] = 1;
			else if (waiting[d]) {
				printf("%.0f\n", t - last_live);
				return 0;
			}
		}
		usleep(5000);
	}
	printf("-\n");
	return 1;
}
