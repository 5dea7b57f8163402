/*
 * fuzz_admit: libFuzzer target for the destination's policy file
 * (admit.c) and the checks of a peer's disk paths and bridges against
 * it: the file is the first half of the input, a path the second.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct vmp_admit a;
	char why[512], *peer;
	size_t half = size / 2;
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz-admit.%d",
		    (int)getpid());
		setenv("VMPIPE_RECV_CONF", path, 1);
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (half && fwrite(data, 1, half, f) != half)
		abort();
	fclose(f);
	if ((peer = malloc(size - half + 1)) == NULL)
		abort();
	memcpy(peer, data + half, size - half);
	peer[size - half] = '\0';
	if (vmp_admit_load(&a, why, sizeof(why)) == 0) {
		/* Nothing admitted may lead out of its prefix. */
		if (vmp_admit_disk(&a, peer) && strstr(peer, "/../"))
			abort();
		(void)vmp_admit_bridge(&a, peer);
		vmp_admit_free(&a);
	}
	free(peer);
	return 0;
}
