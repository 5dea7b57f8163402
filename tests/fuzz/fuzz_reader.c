/*
 * fuzz_reader: libFuzzer target for the image reader.  Any input must be
 * either read to a good END or refused with a message; never a crash, a
 * leak or undefined behaviour.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmi.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[1 << 20];
	char msg[VMI_ERRLEN];
	struct vmi_reader *r;
	struct vmi_record rec;
	int fd = memfd_create("fuzz", 0), n;

	if (fd == -1)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	msg[0] = '\0';
	r = vmi_reader_new(fd, size & 1, msg, sizeof(msg));
	if (r == NULL) {
		if (msg[0] == '\0')
			abort();
		close(fd);
		return 0;
	}
	while ((n = vmi_next(r, &rec)) == 1) {
		/* Touch what the reader vouched for, as a restore would. */
		if (rec.type == VMI_REC_PAGES) {
			struct vmi_pages_view v;
			const uint8_t *d;

			vmi_pages_view(&rec, &v);
			d = v.data;
			for (uint32_t i = 0; i < v.count; i++) {
				uint64_t pfn = v.pfn[i] & VMI_PFN_MASK;

				if (v.pfn[i] & VMI_PFN_ZERO)
					continue;
				memcpy(mem + (pfn % 256) * 4096, d, 4096);
				d += 4096;
			}
		} else if (rec.len)
			mem[((const uint8_t *)rec.body)[rec.len - 1]]++;
	}
	if (n == -1 && vmi_reader_error(r)[0] == '\0')
		abort();
	vmi_reader_free(r);
	close(fd);
	return 0;
}
