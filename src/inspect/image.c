/*
 * image.c: vm-inspect's description of an image, record by record, and
 * its check that the image is whole - of a file or a pipe, or of the
 * image inside a bundle (bundle.c).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "inspect.h"
#include "io.h"
#include "names.h"
#include "vis.h"
#include "vmi.h"
#include "xen_stream.h"

int	verbose, quiet;

struct totals {
	uint64_t	records, optional, skipped;
	uint64_t	pages, zero, data;
	uint64_t	stored, raw, compressed;
	uint64_t	vcpu, platform, rounds;
	uint64_t	distinct;
	uint64_t	*seen;
	uint32_t	backend;
	/* The kinds of platform state, in the order first seen. */
	struct { uint32_t tag; uint64_t n; } kind[32];
	unsigned	nkind;
};

/* Xen's platform pieces by tag (xen_stream.h): libxc's records, libxl's,
 * vmpipe's own. */
static const char *
xen_tag_name(uint32_t tag)
{
	static const struct { uint32_t tag; const char *name; } names[] = {
		{ XSR_X86_PV_INFO, "X86_PV_INFO" },
		{ XSR_X86_PV_P2M_FRAMES, "X86_PV_P2M_FRAMES" },
		{ XSR_X86_PV_VCPU_BASIC, "X86_PV_VCPU_BASIC" },
		{ XSR_X86_PV_VCPU_EXT, "X86_PV_VCPU_EXTENDED" },
		{ XSR_X86_PV_VCPU_XSAVE, "X86_PV_VCPU_XSAVE" },
		{ XSR_SHARED_INFO, "SHARED_INFO" },
		{ XSR_TSC_INFO, "TSC_INFO" },
		{ XSR_HVM_CONTEXT, "HVM_CONTEXT" },
		{ XSR_HVM_PARAMS, "HVM_PARAMS" },
		{ XSR_X86_PV_VCPU_MSRS, "X86_PV_VCPU_MSRS" },
		{ XSR_STATIC_DATA_END, "STATIC_DATA_END" },
		{ XSR_X86_CPUID_POLICY, "X86_CPUID_POLICY" },
		{ XSR_X86_MSR_POLICY, "X86_MSR_POLICY" },
		{ XEN_TAG_LIBXL | XLR_EMULATOR_XENSTORE, "EMULATOR_XENSTORE" },
		{ XEN_TAG_LIBXL | XLR_EMULATOR_CONTEXT, "EMULATOR_CONTEXT" },
		{ XEN_TAG_PV_TYPES, "PV_PAGE_TYPES" },
		{ XEN_TAG_VERSION, "XEN_VERSION" },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].tag == tag)
			return names[i].name;
	return NULL;
}

static void
count_kind(struct totals *t, const struct vmi_record *rec)
{
	struct vmi_state h;
	unsigned i;

	if (rec->len < sizeof h)
		return;
	memcpy(&h, rec->body, sizeof h);
	for (i = 0; i < t->nkind && t->kind[i].tag != h.tag; i++)
		;
	if (i == t->nkind) {
		if (i == sizeof t->kind / sizeof t->kind[0])
			return;
		t->kind[t->nkind++].tag = h.tag;
	}
	t->kind[i].n++;
}

static void
print_kinds(const struct totals *t)
{
	const char *name;

	printf("platform:");
	for (unsigned i = 0; i < t->nkind; i++) {
		name = t->backend == VMI_BACKEND_XEN ?
		    xen_tag_name(t->kind[i].tag) : NULL;
		if (name != NULL)
			printf(" %s", name);
		else
			printf(" tag %#x", t->kind[i].tag);
		if (t->kind[i].n > 1)
			printf(" x%llu", (unsigned long long)t->kind[i].n);
	}
	printf("%s\n", t->nkind ? "" : " none");
}

/* Text from an image, which may hold anything, so that it cannot drive
 * the terminal (vis.h). */
static void
put_text(const void *p, size_t len)
{
	char *buf;

	if ((buf = malloc(4 * len + 1)) == NULL)
		err(VMP_EX_FAIL, "malloc");
	vis_text(buf, 4 * len + 1, p, len, 0);
	fputs(buf, stdout);
	free(buf);
}

static const char *
backend_name(uint32_t b)
{
	return b == VMI_BACKEND_KVM ? "kvm" : b == VMI_BACKEND_XEN ? "xen" :
	    "?";
}

static const char *
type_name(uint32_t t)
{
	static const char *n[] = { "kvm", "pv", "pvh", "hvm" };

	return t < 4 ? n[t] : "?";
}

static void
print_guest(const struct vmi_guest *g)
{
	char uuid[VMP_UUID_STRLEN];

	printf("guest: name ");
	put_text(g->name, strnlen(g->name, sizeof(g->name)));
	printf(", backend %s, type %s, arch x86-64, "
	    "%u vCPU%s, memory %llu KiB (%llu pages of %u octets)\n",
	    backend_name(g->backend), type_name(g->guest_type),
	    g->vcpus, g->vcpus == 1 ? "" : "s",
	    (unsigned long long)(g->mem_bytes >> 10),
	    (unsigned long long)(g->mem_bytes >> g->page_shift),
	    1u << g->page_shift);
	vmp_uuid_format(g->uuid, uuid);
	printf("uuid: %s\n", uuid);
	printf("cpu features: %08x %08x %08x %08x\n", g->cpu_features[0],
	    g->cpu_features[1], g->cpu_features[2], g->cpu_features[3]);
}

static int
account(struct vmi_reader *r, const struct vmi_record *rec, struct totals *t)
{
	t->records++;
	t->stored += rec->stored;
	t->raw += rec->len;
	if (rec->flags & VMI_RF_ZSTD)
		t->compressed++;
	if (verbose)
		printf("record %llu at %llu: %s, %u octets (%u raw%s)\n",
		    (unsigned long long)rec->seq,
		    (unsigned long long)rec->offset, vmi_type_name(rec->type),
		    rec->stored, rec->len,
		    rec->flags & VMI_RF_ZSTD ? ", zstd" : "");
	switch (rec->type) {
	case VMI_REC_GUEST: {
		const struct vmi_guest *g = vmi_reader_guest(r);
		uint64_t n = g->mem_bytes >> g->page_shift;

		t->backend = g->backend;
		if (!quiet)
			print_guest(g);
		if ((t->seen = calloc((n + 63) / 64, 8)) == NULL)
			err(VMP_EX_FAIL, "out of memory for %llu frames",
			    (unsigned long long)n);
		break;
	}
	case VMI_REC_PAGES: {
		struct vmi_pages_view v;

		vmi_pages_view(rec, &v);
		for (uint32_t i = 0; i < v.count; i++) {
			uint64_t pfn = v.pfn[i] & VMI_PFN_MASK;

			if (v.pfn[i] & VMI_PFN_ZERO)
				t->zero++;
			else
				t->data++;
			if (!(t->seen[pfn / 64] & (1ull << pfn % 64))) {
				t->seen[pfn / 64] |= 1ull << pfn % 64;
				t->distinct++;
			}
		}
		t->pages += v.count;
		break;
	}
	case VMI_REC_CONFIG:
		if (!quiet)
			printf("config: %u octets\n", rec->len);
		break;
	case VMI_REC_VCPU:
		t->vcpu++;
		break;
	case VMI_REC_PLATFORM:
		t->platform++;
		count_kind(t, rec);
		break;
	case VMI_REC_ROUND: {
		struct vmi_round rd;

		memcpy(&rd, rec->body, sizeof(rd));
		t->rounds++;
		if (!quiet)
			printf("round %u%s: %llu pages sent, %llu dirtied, "
			    "%.1f ms\n", rd.round,
			    rd.flags & VMI_ROUND_LAST ? " (last, paused)" : "",
			    (unsigned long long)rd.pages,
			    (unsigned long long)rd.dirty, rd.elapsed_ns / 1e6);
		break;
	}
	case VMI_REC_NOTE:
		if (!quiet) {
			printf("note: ");
			put_text(rec->body, rec->len);
			putchar('\n');
		}
		break;
	default:
		t->skipped++;
		if (!quiet)
			printf("record %llu: skipped %s record type %#x\n",
			    (unsigned long long)rec->seq,
			    vmi_type_name(rec->type), rec->type);
	}
	return 0;
}

/*
 * Read and describe the image on fd.  0 if whole; -1 with the first
 * fault in msg.  Inside a bundle the verdict waits for the bundle's, so
 * the status line is left to the caller.
 */
int
inspect_image(int fd, const char *label, int in_bundle, char *msg,
    size_t msglen)
{
	struct totals t;
	struct vmi_record rec;
	struct vmi_reader *r;
	int n, rc = -1;

	memset(&t, 0, sizeof(t));
	if ((r = vmi_reader_new(fd, 1, msg, msglen)) == NULL)
		return -1;
	if (!quiet)
		printf("image: %s, format version %u%s\n", label, VMI_VERSION,
		    vmi_reader_flags(r) & VMI_HF_LIVE ? ", live stream" : "");
	while ((n = vmi_next(r, &rec)) == 1)
		account(r, &rec, &t);
	if (n == -1) {
		snprintf(msg, msglen, "%s", vmi_reader_error(r));
		goto out;
	}
	if (vmi_reader_trailing(r)) {
		snprintf(msg, msglen, "data after the END record at offset "
		    "%llu", (unsigned long long)vmi_reader_offset(r));
		goto out;
	}
	if (!quiet) {
		const struct vmi_guest *g = vmi_reader_guest(r);
		uint64_t frames = g->mem_bytes >> g->page_shift;

		printf("pages: %llu sent (%llu with data, %llu zero), "
		    "%llu distinct frames of %llu (%.1f%%)\n",
		    (unsigned long long)t.pages, (unsigned long long)t.data,
		    (unsigned long long)t.zero, (unsigned long long)t.distinct,
		    (unsigned long long)frames, 100.0 * t.distinct / frames);
		printf("state: %llu vCPU records, %llu platform records, "
		    "%llu rounds\n", (unsigned long long)t.vcpu,
		    (unsigned long long)t.platform,
		    (unsigned long long)t.rounds);
		print_kinds(&t);
		printf("records: %llu + END, %llu compressed; bodies: %llu "
		    "octets stored, %llu raw (%.2fx); stream: %llu octets\n",
		    (unsigned long long)t.records,
		    (unsigned long long)t.compressed,
		    (unsigned long long)t.stored, (unsigned long long)t.raw,
		    t.stored ? (double)t.raw / t.stored : 1.0,
		    (unsigned long long)vmi_reader_offset(r));
		if (!in_bundle)
			printf("status: whole: every checksum and the END "
			    "digest match\n");
	}
	rc = 0;
out:
	fflush(stdout);
	free(t.seen);
	vmi_reader_free(r);
	return rc;
}
