/*
 * mkbad KIND NAME: write to standard output a small KVM image of a guest
 * called NAME that breaks one rule of vm-image(5), or (note-esc) a whole
 * one whose NOTE holds terminal escapes.  tests/23-verdict.bats feeds
 * each to vm-inspect and vm-restore, which must refuse it alike.
 */
#include <err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "io.h"
#include "vmi_craft.h"

static const struct {
	const char	*kind;
	uint32_t	 flags;
	const char	*script;
	const char	*name;		/* instead of NAME */
} kinds[] = {
	{ "round-offline",	0,		"GC1R2E",	NULL },
	{ "frame-twice",	0,		"GC121E",	NULL },
	{ "state-after-last",	VMI_HF_LIVE,	"GC1R2LSE",	NULL },
	{ "pages-after-last",	VMI_HF_LIVE,	"GC1R2L1E",	NULL },
	{ "no-last-round",	VMI_HF_LIVE,	"GC12RE",	NULL },
	{ "no-config",		0,		"G1E",		NULL },
	{ "no-config-end",	0,		"GNE",		NULL },
	{ "xsave-4088",		0,		"GCXE",		NULL },
	{ "name-empty",		0,		"GCE",		"" },
	{ "name-slash",		0,		"GCE",		"../etc" },
	{ "name-esc",		0,		"GCE",		"\x1b[2Jx" },
	{ "name-utf8",		0,		"GCE",		"caf\xe9" },
	{ "name-at",		0,		"GCE",		"a@b" },
	{ "cut-padding",	0,		"GCNE",		NULL },
	{ "end-zstd",		0,		"GC",		NULL },
	{ "zstd-two",		0,		"G",		NULL },
	{ "zstd-skippable",	0,		"G",		NULL },
	{ "note-esc",		0,		"GC",		NULL },
};

int
main(int argc, char *argv[])
{
	uint64_t cfg[8] = { 1, 2600000 };	/* KVM: version 1, TSC kHz */
	uint8_t z[2048], raw[512];
	struct vmi_guest g;
	struct img m;
	size_t i, n;
	ZSTD_CCtx *c;

	if (argc != 3)
		errx(2, "usage: mkbad KIND NAME");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, argv[1]) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		errx(2, "unknown kind %s", argv[1]);
	memset(&g, 0, sizeof(g));
	g.backend = VMI_BACKEND_KVM;
	g.arch = VMI_ARCH_X86_64;
	g.page_shift = 12;
	g.vcpus = 1;
	g.mem_bytes = 64 << 20;
	g.guest_type = VMI_GT_KVM;
	for (int j = 0; j < 16; j++)
		g.uuid[j] = 0xb0 + j;
	strncpy(g.name, kinds[i].name ? kinds[i].name : argv[2],
	    sizeof(g.name) - 1);
	craft_script(&m, kinds[i].flags, kinds[i].script, &g, cfg,
	    sizeof(cfg), 4088);
	c = ZSTD_createCCtx();
	memset(raw, 'x', sizeof(raw));
	if (strcmp(argv[1], "end-zstd") == 0)
		img_end(&m, VMI_RF_ZSTD);
	else if (strcmp(argv[1], "note-esc") == 0) {
		static const char note[] = "saved \x1b[31mred\x1b[0m\a\\";

		img_rec(&m, VMI_REC_NOTE, note, sizeof(note) - 1);
		img_end(&m, 0);
	} else if (strcmp(argv[1], "zstd-two") == 0) {
		/* Two frames of 32 octets each: the CONFIG in two halves. */
		n = ZSTD_compress2(c, z, sizeof(z), cfg, 32);
		memcpy(z + n, z, n);
		img_raw(&m, VMI_REC_CONFIG, VMI_RF_ZSTD, z, 2 * n,
		    sizeof(cfg));
		img_end(&m, 0);
	} else if (strcmp(argv[1], "zstd-skippable") == 0) {
		uint32_t h[3] = { ZSTD_MAGIC_SKIPPABLE_START, 4, 0 };

		memcpy(z, h, 12);
		n = ZSTD_compress2(c, z + 12, sizeof(z) - 12, cfg,
		    sizeof(cfg));
		img_raw(&m, VMI_REC_CONFIG, VMI_RF_ZSTD, z, 12 + n,
		    sizeof(cfg));
		img_end(&m, 0);
	}
	ZSTD_freeCCtx(c);
	/* cut-padding: cut 2 octets into the NOTE's 4 of padding. */
	if (strcmp(argv[1], "cut-padding") == 0)
		m.len = 24 + 32 + 128 + 32 + 64 + 32 + 4 + 2;
	if (io_writeall(STDOUT_FILENO, m.p, m.len) == -1)
		err(1, "write");
	free(m.p);
	return 0;
}
