/*
 * fuzz_xenstream: libFuzzer target for the Xen backend's readers of Xen's
 * own formats: the header of an xl save file (vm-restore reads any file
 * it is given), and libxl's stream of a PV save, which src/hv/xen/pv.c takes
 * apart as it comes, whole (an offline save) or round by round (a live
 * one).  The first octet picks the reader; the rest is its input, in a
 * file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen.h"
#include "pv.h"

#define NPFN	64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	if (size < 1)
		return 0;
	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if (data[0] & 1) {
		char *json;
		size_t len;

		if (xen_xl_read_head(fd, &json, &len) == 0) {
			if (len == 0)
				abort();
			free(json);
		}
		close(fd);
	} else if (data[0] & 2) {
		/* A live save's rounds, as vm-precopy takes them: rounds until
		 * the stream says one more began, a last one after that. */
		struct pv_copy *c = xen_pv_copy_new(NPFN);

		if (c == NULL)
			abort();
		if (xen_pv_open(c, fd) == NULL) {
			uint64_t pfn[7];
			void *ptr[7];
			unsigned n, taken = 0;
			int r = 0;

			for (unsigned round = 0; round < 8 && r == 0; round++) {
				if (xen_pv_round_begin(c, round == 7 ||
				    (data[0] & 4)) != 1)
					break;
				do {
					r = xen_pv_take_next(c, pfn, 7, &n, ptr);
					if (r == 0 && (n > 7 || c->ntables > n))
						abort();
					for (unsigned i = 0; r == 0 && i < n; i++) {
						if (pfn[i] >= NPFN)
							abort();
						if (((volatile uint8_t *)
						    ptr[i])[4095] == 0x5a)
							taken++;
					}
				} while (r == 0 && n > 0);
			}
			if (r == 0)
				(void)xen_pv_finish(c);
		}
		xen_pv_copy_free(c);
	} else {
		struct pv_copy *c = xen_pv_copy_new(NPFN);

		if (c == NULL)
			abort();
		if (xen_pv_open(c, fd) == NULL) {
			/* What a save then asks for: every frame, in batches,
			 * then the rest of the stream. */
			uint64_t pfn[NPFN / 2];
			void *ptr[NPFN / 2];
			int ok = 1;

			for (unsigned b = 0; b < NPFN && ok; b += NPFN / 2) {
				for (unsigned i = 0; i < NPFN / 2; i++)
					pfn[i] = b + i;
				ok = xen_pv_take(c, pfn, NPFN / 2, ptr) == 0;
				for (unsigned i = 0; ok && i < NPFN / 2; i++)
					if (ptr[i] != NULL &&
					    ((volatile uint8_t *)ptr[i])[4095] ==
					    0x5a)
						pfn[i] = 0;
				if (ok && c->ntables > NPFN / 2)
					abort();
			}
			if (ok)
				(void)xen_pv_finish(c);
		}
		xen_pv_copy_free(c);		/* and fd with it */
	}
	return 0;
}
