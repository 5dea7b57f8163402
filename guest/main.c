/*
 * main.c: the test guest's workload.
 *
 * Memory above KVMG_DATA_GPA holds a journal (the expected generation of
 * every data page) and then the data pages.  Writer vCPU w owns data
 * pages w, w + W, w + 2W, ... of the footprint; it fills them once, then
 * rewrites them at the configured rate and pattern, and re-verifies every
 * one of them against the journal at least once per sweep period.  Only
 * the owner touches a page or its journal entry, so no locks are needed
 * and any mismatch is a page that was lost, restored stale or corrupted
 * outside the guest.  vCPU 0 prints a heartbeat with global counters.
 */
#include "guest.h"

#define SLICE_MS	10
#define ERR_LINES	8	/* ERROR lines per writer per second */

struct writer {
	uint64_t	gen;		/* last generation written */
	uint64_t	writes;
	uint64_t	verified;
	uint64_t	errors;
	uint64_t	own;		/* pages owned */
	uint64_t	wcur, vcur;	/* write and verify cursors */
	uint64_t	rng;
	uint64_t	err_window;	/* tsc when the error budget renews */
	uint32_t	err_lines;
	uint32_t	filled;
} __attribute__((aligned(64)));

static struct writer writers[KVMG_MAX_VCPUS];
static uint64_t *journal;
static uint64_t data_pfn, footprint, hz;
static const struct kvmg_params *P;

static const char *const pattern_name[] = { "seq", "random", "hot" };

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t
rnd(struct writer *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static uint64_t *
page_at(uint64_t pfn)
{
	return (uint64_t *)(uintptr_t)(pfn << 12);
}

/* Write data page idx (owned by this writer) with a new generation. */
static void
write_page(struct writer *w, uint64_t idx)
{
	uint64_t pfn = data_pfn + idx;

	if (journal[idx] == JOURNAL_ZERO) {
		/* Zero pages are rewritten as zero: dirty, but still empty. */
		memset(page_at(pfn), 0, PAGE_SIZE);
	} else {
		journal[idx] = ++w->gen;
		page_write(page_at(pfn), pfn, w->gen, P->seed);
	}
	w->writes++;
}

static void
verify_page(unsigned cpu, struct writer *w, uint64_t idx)
{
	uint64_t pfn = data_pfn + idx, want = journal[idx], got;
	int r = page_check(page_at(pfn), pfn, want, &got);
	uint64_t now;

	w->verified++;
	if (r == CHECK_OK)
		return;
	w->errors++;
	now = rdtsc();
	if (now >= w->err_window) {
		w->err_window = now + hz;
		w->err_lines = 0;
	}
	if (w->err_lines++ >= ERR_LINES)
		return;
	switch (r) {
	case CHECK_ZERO:
		gprintf(cpu, "vmpipe-guest: ERROR pfn 0x%llx want zero got data",
		    (unsigned long long)pfn);
		break;
	case CHECK_PFN:
		gprintf(cpu, "vmpipe-guest: ERROR pfn 0x%llx want gen %llu "
		    "got foreign page", (unsigned long long)pfn,
		    (unsigned long long)want);
		break;
	case CHECK_GEN:
		gprintf(cpu, "vmpipe-guest: ERROR pfn 0x%llx want gen %llu "
		    "got gen %llu", (unsigned long long)pfn,
		    (unsigned long long)want, (unsigned long long)got);
		break;
	default:
		gprintf(cpu, "vmpipe-guest: ERROR pfn 0x%llx want gen %llu "
		    "got bad checksum", (unsigned long long)pfn,
		    (unsigned long long)want);
	}
}

/* The k-th page owned by writer n. */
static uint64_t
owned(unsigned n, uint64_t k)
{
	return n + k * P->writers;
}

static void
fill(unsigned n, struct writer *w)
{
	uint64_t k;

	for (k = 0; k < w->own; k++) {
		uint64_t idx = owned(n, k);

		if (P->fill == KVMG_FILL_HALFZERO &&
		    (mix(idx ^ P->seed) & 1)) {
			journal[idx] = JOURNAL_ZERO;
			memset(page_at(data_pfn + idx), 0, PAGE_SIZE);
		} else {
			journal[idx] = ++w->gen;
			page_write(page_at(data_pfn + idx), data_pfn + idx,
			    w->gen, P->seed);
		}
	}
	__atomic_store_n(&w->filled, 1, __ATOMIC_RELEASE);
}

static uint64_t
next_write(struct writer *w)
{
	uint64_t hot;

	switch (P->pattern) {
	case KVMG_PAT_RANDOM:
		return rnd(w) % w->own;
	case KVMG_PAT_HOT:
		hot = w->own / 10 ? w->own / 10 : 1;
		if (rnd(w) % 10)
			return rnd(w) % hot;
		return rnd(w) % w->own;
	default:
		if (w->wcur >= w->own)
			w->wcur = 0;
		return w->wcur++;
	}
}

static uint64_t
sum(size_t off)
{
	uint64_t s = 0;
	unsigned i;

	for (i = 0; i < P->writers; i++)
		s += *(volatile uint64_t *)((char *)&writers[i] + off);
	return s;
}

static void
heartbeat(uint64_t n)
{
	unsigned long long g, v, e;

	g = sum(__builtin_offsetof(struct writer, writes));
	v = sum(__builtin_offsetof(struct writer, verified));
	e = sum(__builtin_offsetof(struct writer, errors));
	if (P->disk_blocks == 0)
		gprintf(0, "vmpipe-guest: hb %llu gen %llu verified %llu "
		    "errors %llu", (unsigned long long)n, g, v, e);
	else
		gprintf(0, "vmpipe-guest: hb %llu gen %llu verified %llu "
		    "errors %llu disk-writes %llu disk-verified %llu "
		    "disk-errors %llu", (unsigned long long)n, g, v, e,
		    (unsigned long long)disk_writes,
		    (unsigned long long)disk_verified,
		    (unsigned long long)disk_errors);
}

static int
all_filled(void)
{
	unsigned i;

	for (i = 0; i < P->writers; i++)
		if (!__atomic_load_n(&writers[i].filled, __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

void
guest_main(unsigned cpu, const struct kvmg_params *p)
{
	struct writer *w = &writers[cpu];
	int writer = cpu < p->writers, ready = 0;
	uint64_t t0, last, next_hb, hb_ticks, slice, wc = 0, vc = 0;
	uint64_t rate_w = 0, vrate = 0, hbn = 0, start, next_disk;

	if (p->magic != KVMG_PARAMS_MAGIC || cpu >= KVMG_MAX_VCPUS)
		gexit(1);
	P = p;
	hz = p->tsc_khz * 1000;
	{
		uint64_t mem = p->mem_bytes;
		uint64_t jbytes = mem / PAGE_SIZE * 8;
		uint64_t dstart = (KVMG_DATA_GPA + jbytes + (2u << 20) - 1) &
		    ~((2ull << 20) - 1);

		journal = (uint64_t *)(uintptr_t)KVMG_DATA_GPA;
		data_pfn = dstart / PAGE_SIZE;
		footprint = dstart < mem ? (mem - dstart) / PAGE_SIZE : 0;
		if (p->pages && p->pages < footprint)
			footprint = p->pages;
	}
	start = rdtsc();
	if (cpu == 0)
		gprintf(0, "vmpipe-guest: start mem=%lluM vcpus=%u writers=%u "
		    "pages=%llu rate=%lld pattern=%s fill=%s hb=%ums",
		    (unsigned long long)(p->mem_bytes >> 20), p->vcpus,
		    p->writers, (unsigned long long)footprint,
		    p->rate == KVMG_RATE_MAX ? -1ll : (long long)p->rate,
		    pattern_name[p->pattern % 3],
		    p->fill == KVMG_FILL_HALFZERO ? "halfzero" : "random",
		    p->hb_ms);
	if (writer) {
		w->own = cpu < footprint ?
		    (footprint - cpu + p->writers - 1) / p->writers : 0;
		w->rng = mix(p->seed + cpu + 1) | 1;
		fill(cpu, w);
		if (p->rate != KVMG_RATE_MAX)
			rate_w = p->rate / p->writers +
			    (cpu < p->rate % p->writers);
		vrate = w->own * 1000 / (p->sweep_ms ? p->sweep_ms : 1) + 1;
	}

	if (cpu == 0 && p->disk_blocks)
		disk_init(p);
	hb_ticks = p->tsc_khz * (p->hb_ms ? p->hb_ms : 100);
	slice = p->tsc_khz * SLICE_MS;
	t0 = last = rdtsc();
	next_hb = next_disk = t0;
	for (;;) {
		uint64_t now = rdtsc(), el = now - last, n;

		last = now;
		if (el > hz)		/* after a pause: no burst to catch up */
			el = hz;
		if (writer && w->own) {
			if (p->rate == KVMG_RATE_MAX) {
				n = 64;
			} else {
				wc += el * rate_w;
				n = wc / hz;
				wc %= hz;
			}
			while (n--)
				write_page(w, owned(cpu, next_write(w)));
			vc += el * vrate;
			n = vc / hz;
			vc %= hz;
			while (n--) {
				if (w->vcur >= w->own)
					w->vcur = 0;
				verify_page(cpu, w, owned(cpu, w->vcur++));
			}
		}
		if (cpu == 0) {
			if (!ready && all_filled()) {
				ready = 1;
				gprintf(0, "vmpipe-guest: ready filled %llu "
				    "pages in %llu ms",
				    (unsigned long long)footprint,
				    (unsigned long long)((rdtsc() - start) /
				    p->tsc_khz));
			}
			/* The disk at one block a slice, whatever the
			 * memory writers' rate. */
			if (p->disk_blocks && now >= next_disk) {
				disk_step();
				next_disk += slice;
				if (next_disk < now)
					next_disk = now + slice;
			}
			if (now >= next_hb) {
				heartbeat(++hbn);
				next_hb += hb_ticks;
				if (next_hb < now)
					next_hb = now + hb_ticks;
			}
		}
		if (writer && p->rate == KVMG_RATE_MAX)
			continue;
		if (!writer && cpu != 0) {
			gsleep_us(100000);
			continue;
		}
		{
			uint64_t used = rdtsc() - now;

			if (used < slice)
				gsleep_us((uint32_t)((slice - used) * 1000 /
				    p->tsc_khz));
		}
	}
}
