/*
 * vmi-setcpu W0 W1 W2 W3 < image > image: the GUEST and CONFIG records
 * of an image, with W0..W3 (hexadecimal: CPUID 1.ECX, 1.EDX, 7.EBX,
 * 7.ECX) added to the guest's CPU feature words, then END: an image whose
 * guest wants CPU features, for a restore's preflight to refuse.
 */
#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmi.h"

int
main(int argc, char *argv[])
{
	struct vmi_reader *r;
	struct vmi_writer *w;
	struct vmi_record rec;
	struct vmi_guest g;
	uint32_t add[4];
	char e[256];
	int n;

	if (argc != 5)
		errx(2, "usage: vmi-setcpu W0 W1 W2 W3 < image > image");
	for (int i = 0; i < 4; i++)
		add[i] = (uint32_t)strtoul(argv[i + 1], NULL, 16);
	if ((r = vmi_reader_new(STDIN_FILENO, 1, e, sizeof(e))) == NULL)
		errx(1, "%s", e);
	if ((w = vmi_writer_new(STDOUT_FILENO, NULL)) == NULL)
		err(1, "writer");
	while ((n = vmi_next(r, &rec)) == 1) {
		if (rec.type == VMI_REC_GUEST) {
			memcpy(&g, rec.body, sizeof(g));
			for (int i = 0; i < 4; i++)
				g.cpu_features[i] |= add[i];
			if (vmi_write_buf(w, rec.type, &g, sizeof(g)) == -1)
				errx(1, "%s", vmi_writer_error(w));
		} else if (rec.type == VMI_REC_CONFIG) {
			if (vmi_write_buf(w, rec.type, rec.body, rec.len) == -1)
				errx(1, "%s", vmi_writer_error(w));
			break;
		}
	}
	if (n == -1)
		errx(1, "%s", vmi_reader_error(r));
	if (vmi_write_end(w) == -1)
		errx(1, "%s", vmi_writer_error(w));
	vmi_writer_free(w);
	vmi_reader_free(r);
	return 0;
}
