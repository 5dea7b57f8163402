/*
 * show.c: guests as vm-ctl shows them (show.h).  The table and the lines
 * are for people and round memory to what reads well; the JSON is for
 * programs and keeps every value exact, as a number where it is one, the
 * unit in the key's name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "show.h"

void
show_list_header(void)
{
	printf("%-20s %8s %-8s %5s %8s %s\n", "NAME", "ID", "STATE", "VCPUS",
	    "MEM-MIB", "UUID");
}

void
show_list_row(const struct hv_info *i)
{
	char uuid[VMP_UUID_STRLEN];

	vmp_uuid_format(i->uuid, uuid);
	printf("%-20s %8ld %-8s %5u %8llu %s\n", i->name, i->id,
	    i->paused ? "paused" : "running", i->vcpus,
	    (unsigned long long)(i->mem_bytes >> 20), uuid);
}

void
show_info(const char *backend, const struct hv_info *i)
{
	char uuid[VMP_UUID_STRLEN];

	vmp_uuid_format(i->uuid, uuid);
	printf("name: %s\n", i->name);
	printf("uuid: %s\n", uuid);
	printf("backend: %s\n", backend);
	printf("id: %ld\n", i->id);
	printf("state: %s\n", i->paused ? "paused" : "running");
	printf("vcpus: %u\n", i->vcpus);
	printf("memory: %llu\n", (unsigned long long)i->mem_bytes);
	printf("cpu-features: %08x %08x %08x %08x\n", i->cpu_features[0],
	    i->cpu_features[1], i->cpu_features[2], i->cpu_features[3]);
}

void
show_json(struct json *j, const char *backend, const struct hv_info *i,
    int cpu)
{
	char uuid[VMP_UUID_STRLEN];

	vmp_uuid_format(i->uuid, uuid);
	json_object(j);
	json_key(j, "name");
	/* A name fills its field only when it is as long as the field. */
	json_strn(j, i->name, strnlen(i->name, sizeof(i->name)));
	json_key(j, "uuid");
	json_str(j, uuid);
	json_key(j, "backend");
	json_str(j, backend);
	json_key(j, "id");
	json_int(j, i->id);
	/* "state" as the table says it, which another state could join;
	 * "paused" for a test. */
	json_key(j, "state");
	json_str(j, i->paused ? "paused" : "running");
	json_key(j, "paused");
	json_bool(j, i->paused);
	json_key(j, "vcpus");
	json_uint(j, i->vcpus);
	json_key(j, "memory_bytes");
	json_uint(j, i->mem_bytes);
	if (cpu) {
		json_key(j, "cpu_features");
		json_array(j);
		for (int k = 0; k < 4; k++)
			json_uint(j, i->cpu_features[k]);
		json_end(j);
	}
	json_end(j);
}

int
show_doc_open(struct show_doc *d)
{
	d->buf = NULL;
	d->len = 0;
	if ((d->f = open_memstream(&d->buf, &d->len)) == NULL)
		return -1;
	json_init(&d->j, d->f);
	return 0;
}

int
show_doc_write(struct show_doc *d)
{
	int r = 0, e = 0;

	if (json_finish(&d->j) == -1) {
		r = -1;
		e = errno;
	}
	if (fclose(d->f) == EOF && r == 0) {
		r = -1;
		e = errno;
	}
	if (r == 0 && (fwrite(d->buf, 1, d->len, stdout) != d->len ||
	    fflush(stdout) == EOF)) {
		r = -1;
		e = errno;
	}
	free(d->buf);
	errno = e;
	return r;
}
