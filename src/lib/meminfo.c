/*
 * meminfo.c: MemAvailable, shared by the restore's preflight and the KVM
 * backend's create().  A file of its own: vm-run links the backend but
 * not the rest of src/lib.
 */
#include <stdio.h>

#include "meminfo.h"

uint64_t
meminfo_available(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}
