/*
 * disk.c: the test guest's disk check (vm-run --disk): vCPU 0 writes
 * blocks of the disk's first DISK_TRACK in turn with a generation each,
 * keeps the generation it last wrote in memory, and reads blocks at
 * random back against it - a block lost, stale, newer than memory says
 * (a checkpoint's memory restored over a disk that went on), or another
 * block's is an ERROR line, as for memory pages.
 *
 * The generation is set before the write's OUT: a pause falls before the
 * OUT (the disk is one behind, and the OUT, run again on resume, writes
 * it) or after it (both agree), never inside it, so memory and a disk
 * snapshotted at the same instant always agree.
 */
#include "guest.h"

#define DISK_TRACK	4096		/* blocks checked: the first 16 MiB */
#define DISK_TAG	(1ull << 51)	/* in a block's pfn word: a disk block */

static uint64_t dgen[DISK_TRACK];	/* generation last written, 0: none */
static uint64_t nblocks, gen, wcur, rng, seed;
static struct kvmg_disk_req req;
static uint64_t buf[KVMG_DISK_MAX_IO * PAGE_SIZE / 8]
    __attribute__((aligned(PAGE_SIZE)));
uint64_t disk_writes, disk_verified, disk_errors;

/* One request of count blocks at block through buf; its status. */
static uint32_t
disk_io(uint32_t op, uint64_t block, uint64_t count)
{
	req.op = op;
	req.status = ~0u;
	req.block = block;
	req.count = count;
	req.gpa = (uint64_t)(uintptr_t)buf;
	outl(KVMG_PORT_DISK, (uint32_t)(uintptr_t)&req);
	return *(volatile uint32_t *)&req.status;
}

static void
disk_error(const char *what, uint64_t block, uint64_t want, uint64_t got)
{
	disk_errors++;
	if (disk_errors <= 16)
		gprintf(0, "vmpipe-guest: ERROR disk block %llu want gen %llu "
		    "%s %llu", (unsigned long long)block,
		    (unsigned long long)want, what, (unsigned long long)got);
}

/* Write every tracked block once, KVMG_DISK_MAX_IO at a time. */
void
disk_init(const struct kvmg_params *p)
{
	uint32_t st;

	nblocks = p->disk_blocks < DISK_TRACK ? p->disk_blocks : DISK_TRACK;
	seed = p->seed ^ 0x6469736bull;
	rng = seed | 1;
	for (uint64_t b = 0; b < nblocks; b += KVMG_DISK_MAX_IO) {
		uint64_t n = nblocks - b < KVMG_DISK_MAX_IO ? nblocks - b :
		    KVMG_DISK_MAX_IO;

		for (uint64_t i = 0; i < n; i++) {
			dgen[b + i] = ++gen;
			page_write(buf + i * PAGE_SIZE / 8, DISK_TAG | (b + i),
			    gen, seed);
		}
		if ((st = disk_io(KVMG_DISK_WRITE, b, n)) != 0)
			disk_error("write status", b, gen, st);
		disk_writes += n;
	}
	gprintf(0, "vmpipe-guest: disk %llu blocks, %llu checked",
	    (unsigned long long)p->disk_blocks, (unsigned long long)nblocks);
}

/* One block written, one read back and checked. */
void
disk_step(void)
{
	uint64_t b, got;
	uint32_t st;

	if (nblocks == 0)
		return;
	b = wcur++ % nblocks;
	dgen[b] = ++gen;
	page_write(buf, DISK_TAG | b, gen, seed);
	if ((st = disk_io(KVMG_DISK_WRITE, b, 1)) != 0)
		disk_error("write status", b, gen, st);
	disk_writes++;

	/* A block at random: one the disk holds newer or older than
	 * memory says is found within a few steps, not a sweep later. */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	b = rng % nblocks;
	if ((st = disk_io(KVMG_DISK_READ, b, 1)) != 0) {
		disk_error("read status", b, dgen[b], st);
		return;
	}
	disk_verified++;
	switch (page_check(buf, DISK_TAG | b, dgen[b], &got)) {
	case CHECK_OK:
		break;
	case CHECK_GEN:
		disk_error("got gen", b, dgen[b], got);
		break;
	case CHECK_PFN:
		disk_error("got another block's, gen", b, dgen[b], got);
		break;
	default:
		disk_error("got a bad checksum, gen", b, dgen[b], got);
	}
}
