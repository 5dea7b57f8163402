/*
 * fuzz_recvconf: libFuzzer target for the relocation server's
 * configuration file and its hosts-allow list.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recvd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct server s;
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz-recvconf.%d",
		    (int)getpid());
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	memset(&s, 0, sizeof(s));
	if (server_config(&s, path) == 0 && server_compile_allow(&s) == 0) {
		(void)server_allowed(&s, "10.77.0.1", "hosta.example");
		(void)server_allowed(&s, "::1", NULL);
	}
	for (int i = 0; i < s.nallow; i++)
		regfree(&s.allow[i]);
	free(s.allow);
	free(s.address);
	free(s.hosts_allow);
	free(s.hostkey);
	free(s.authkeys);
	free(s.pidfile);
	return 0;
}
