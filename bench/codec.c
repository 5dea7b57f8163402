/*
 * codec: how close the image codec comes to the pipe it writes into.
 *
 * One run measures, on the same memory and the same 1 MiB pipe:
 *   memcpy    the guest-sized buffer into another (pre-faulted) one;
 *   pipe      write() of 1 MiB blocks, read() of 1 MiB on the other end;
 *   codec     every page through vmi_write_page(stable=1) and
 *             vmi_write_end() into the pipe, vmi_next() with read-ahead
 *             on the other end checking every record, the END digest,
 *             and the content of each page against the source;
 *   zstd      the same with -z LEVEL on every core.
 * Memory is half random pages, half zero pages, like a guest with
 * fill=halfzero.  Rates are GB/s (10^9 octets a second) of guest memory
 * and of octets on the wire; CPU is all threads' CPU time over wall time,
 * in cores.
 *
 *   codec [-k kinds] [-m MiB] [-r runs] [-z level] [-o file.tsv]
 *
 * kinds: a comma list of memcpy, pipe, codec, splice, zstd (default: all).
 * splice: the codec with stable pages spliced into the pipe (as vm-save).
 */
#include <err.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "io.h"
#include "vmi.h"

#define PAGE	4096u
#define BLOCK	(1u << 20)

static uint8_t	*mem, *dst;
static size_t	 memlen;
static uint64_t	 npages;

struct result {
	const char	*what;
	double		 secs;
	uint64_t	 wire;		/* octets through the pipe */
	double		 cpu;		/* CPU seconds, all threads */
};

static double
cpu_secs(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void *
map_populated(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		err(1, "mmap %zu", len);
	return p;
}

/* Half random pages, then half zero pages. */
static void
fill(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull, *q = (uint64_t *)mem;

	for (size_t i = 0; i < memlen / 2 / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		q[i] = x;
	}
	memset(mem + memlen / 2, 0, memlen - memlen / 2);
}

static void
mkpipe(int p[2])
{
	if (pipe(p) == -1)
		err(1, "pipe");
	(void)fcntl(p[1], F_SETPIPE_SZ, BLOCK);
}

static struct result
run_memcpy(void)
{
	struct result r = { "memcpy", 0, 0, 0 };
	double c0 = cpu_secs();
	uint64_t t0 = now_ns();

	memcpy(dst, mem, memlen);
	r.secs = (now_ns() - t0) / 1e9;
	r.cpu = cpu_secs() - c0;
	if (memcmp(dst, mem, 4096) != 0)
		errx(1, "memcpy: copy differs");
	return r;
}

/* ---- raw pipe ---- */

static void *
raw_reader(void *arg)
{
	int fd = *(int *)arg;
	uint64_t got = 0;
	ssize_t n;

	while ((n = read(fd, dst + (got % memlen) / BLOCK * BLOCK, BLOCK)) > 0)
		got += n;
	if (n < 0)
		err(1, "pipe read");
	*(uint64_t *)arg = got;
	return NULL;
}

static struct result
run_pipe(void)
{
	struct result r = { "pipe", 0, 0, 0 };
	pthread_t t;
	int p[2];
	uint64_t arg;
	double c0 = cpu_secs();
	uint64_t t0 = now_ns();

	mkpipe(p);
	arg = p[0];
	pthread_create(&t, NULL, raw_reader, &arg);
	for (size_t off = 0; off < memlen; off += BLOCK)
		if (io_writeall(p[1], mem + off, BLOCK) == -1)
			err(1, "pipe write");
	close(p[1]);
	pthread_join(t, NULL);
	r.secs = (now_ns() - t0) / 1e9;
	r.cpu = cpu_secs() - c0;
	close(p[0]);
	if (arg != memlen)
		errx(1, "pipe: read %llu of %zu", (unsigned long long)arg,
		    memlen);
	r.wire = memlen;
	return r;
}

/* ---- the codec ---- */

struct rd {
	int		 fd;
	uint64_t	 pages, data, bytes;
	char		 err[VMI_ERRLEN];
};

/* A reader that failed reads on to the end unchecked: the writer must
 * not wait on a full pipe for ever before the failure is reported. */
static void *
drain(int fd)
{
	static char buf[1 << 16];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static void *
codec_reader(void *arg)
{
	struct rd *a = arg;
	struct vmi_reader *r;
	struct vmi_record rec;
	int n;

	if ((r = vmi_reader_new(a->fd, 1, a->err, sizeof(a->err))) == NULL)
		return drain(a->fd);
	while ((n = vmi_next(r, &rec)) == 1) {
		struct vmi_pages_view v;
		const uint8_t *d;

		if (rec.type != VMI_REC_PAGES)
			continue;
		vmi_pages_view(&rec, &v);
		d = v.data;
		for (uint32_t i = 0; i < v.count; i++) {
			uint64_t f = v.pfn[i] & VMI_PFN_MASK;
			const uint8_t *src = mem + f * PAGE;

			/* The zero half comes as zero pages, the rest whole. */
			if (v.pfn[i] & VMI_PFN_ZERO) {
				if (f < npages / 2) {
					snprintf(a->err, sizeof(a->err), "frame "
					    "%#llx: zero, want data",
					    (unsigned long long)f);
					goto out;
				}
				continue;
			}
			/* Spot-check content: one word per page, all of 1/64. */
			if (((const uint64_t *)d)[f % 512] !=
			    ((const uint64_t *)src)[f % 512] || (f % 64 == 0 &&
			    memcmp(d, src, PAGE) != 0)) {
				snprintf(a->err, sizeof(a->err), "frame %#llx: "
				    "content differs", (unsigned long long)f);
				goto out;
			}
			d += PAGE;
			a->data++;
		}
		a->pages += v.count;
	}
	if (n == -1)
		snprintf(a->err, sizeof(a->err), "%s", vmi_reader_error(r));
	else if (a->pages != npages)
		snprintf(a->err, sizeof(a->err), "%llu pages, want %llu",
		    (unsigned long long)a->pages, (unsigned long long)npages);
out:
	a->bytes = vmi_reader_offset(r);
	vmi_reader_free(r);
	return a->err[0] ? drain(a->fd) : NULL;
}

static struct result
run_codec(int zlevel, int threads, int splice)
{
	struct vmi_writer_opts o = { .zlevel = zlevel, .threads = threads,
	    .splice = splice };
	struct result r = { zlevel ? "codec+zstd" : splice ? "codec+splice" :
	    "codec", 0, 0, 0 };
	static const char cfg[] = "name = \"bench\"\n";
	struct vmi_guest g;
	struct vmi_writer *w;
	struct rd a;
	pthread_t t;
	int p[2];
	double c0 = cpu_secs();
	uint64_t t0 = now_ns();

	mkpipe(p);
	memset(&a, 0, sizeof(a));
	a.fd = p[0];
	pthread_create(&t, NULL, codec_reader, &a);
	if ((w = vmi_writer_new(p[1], &o)) == NULL)
		err(1, "vmi_writer_new");
	memset(&g, 0, sizeof(g));
	g.backend = VMI_BACKEND_KVM;
	g.arch = VMI_ARCH_X86_64;
	g.page_shift = 12;
	g.vcpus = 1;
	g.mem_bytes = memlen;
	snprintf(g.name, sizeof(g.name), "bench");
	if (vmi_write_buf(w, VMI_REC_GUEST, &g, sizeof(g)) == -1)
		errx(1, "write: %s", vmi_writer_error(w));
	/* A reader takes memory only after the guest's configuration. */
	if (vmi_write_buf(w, VMI_REC_CONFIG, cfg, sizeof(cfg) - 1) == -1)
		errx(1, "write: %s", vmi_writer_error(w));
	for (uint64_t f = 0; f < npages; f++)
		if (vmi_write_page(w, f, mem + f * PAGE, 1) == -1)
			errx(1, "write: %s", vmi_writer_error(w));
	if (vmi_write_end(w) == -1)
		errx(1, "write: %s", vmi_writer_error(w));
	vmi_writer_free(w);
	close(p[1]);
	pthread_join(t, NULL);
	r.secs = (now_ns() - t0) / 1e9;
	r.cpu = cpu_secs() - c0;
	close(p[0]);
	if (a.err[0])
		errx(1, "%s: reader: %s", r.what, a.err);
	r.wire = a.bytes;
	return r;
}

static void
keep_best(struct result *best, struct result r)
{
	if (best->secs == 0 || r.secs < best->secs)
		*best = r;
}

int
main(int argc, char *argv[])
{
	struct result res[5] = { { 0 } };
	const char *out = NULL, *kinds = "memcpy,pipe,codec,splice,zstd";
	int want[5];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int ch, runs = 3, zlevel = 1;
	FILE *f;

	memlen = 1024ul << 20;
	while ((ch = getopt(argc, argv, "k:m:o:r:z:")) != -1) {
		switch (ch) {
		case 'k':
			kinds = optarg;
			break;
		case 'm':
			memlen = strtoul(optarg, NULL, 10) << 20;
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'z':
			zlevel = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: codec [-k kinds] [-m MiB] "
			    "[-r runs] [-z level] [-o file.tsv]\n");
			return 2;
		}
	}
	if (memlen < (4u << 20) || runs < 1 || zlevel < 1)
		errx(2, "want -m 4 or more, -r 1 or more, -z 1 or more");
	want[0] = strstr(kinds, "memcpy") != NULL;
	want[1] = strstr(kinds, "pipe") != NULL;
	want[2] = strstr(kinds, "codec") != NULL;
	want[3] = strstr(kinds, "zstd") != NULL;
	want[4] = strstr(kinds, "splice") != NULL;
	/* Every ratio is to the pipe, so the pipe is always measured. */
	want[1] = 1;
	npages = memlen / PAGE;
	mem = map_populated(memlen);
	dst = map_populated(memlen);
	fill();

	/* Interleave the kinds so that the host's noise hits all alike. */
	for (int i = 0; i < runs; i++) {
		if (want[0])
			keep_best(&res[0], run_memcpy());
		keep_best(&res[1], run_pipe());
		if (want[2])
			keep_best(&res[2], run_codec(0, 0, 0));
		if (want[3])
			keep_best(&res[3], run_codec(zlevel, (int)ncpu, 0));
		if (want[4])
			keep_best(&res[4], run_codec(0, 0, 1));
	}

	printf("%zu MiB, half random and half zero pages; best of %d; "
	    "%ld CPUs; zstd level %d\n", memlen >> 20, runs, ncpu, zlevel);
	printf("%-11s %8s %11s %10s %10s %11s %10s\n", "", "seconds",
	    "guest GB/s", "wire GB/s", "CPU cores", "guest/pipe",
	    "wire/pipe");
	for (int i = 0; i < 5; i++) {
		struct result *r = &res[i];
		char wire[16] = "-", wratio[16] = "-";

		if (!want[i])
			continue;
		if (r->wire) {
			snprintf(wire, sizeof(wire), "%.2f",
			    r->wire / r->secs / 1e9);
			snprintf(wratio, sizeof(wratio), "%.0f%%", 100.0 *
			    ((double)r->wire / r->secs) /
			    ((double)res[1].wire / res[1].secs));
		}
		printf("%-11s %8.3f %11.2f %10s %10.2f %10.0f%% %10s\n",
		    r->what, r->secs, memlen / r->secs / 1e9, wire,
		    r->cpu / r->secs, 100.0 * res[1].secs / r->secs, wratio);
	}
	if (out != NULL) {
		if ((f = fopen(out, "w")) == NULL)
			err(1, "%s", out);
		fprintf(f, "what\tseconds\tguest_gbps\twire_gbps\tcpu_cores\t"
		    "wire_octets\n");
		for (int i = 0; i < 5; i++)
			if (want[i])
				fprintf(f, "%s\t%.4f\t%.3f\t%.3f\t%.2f\t"
				    "%llu\n", res[i].what, res[i].secs,
				    memlen / res[i].secs / 1e9, res[i].wire ?
				    res[i].wire / res[i].secs / 1e9 : 0,
				    res[i].cpu / res[i].secs,
				    (unsigned long long)res[i].wire);
		fclose(f);
	}
	return 0;
}
