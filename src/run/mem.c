/*
 * mem.c: guest memory, one memfd so that other processes (vm-save,
 * vm-restore) can map it through the control socket.
 *
 * Faulting in fresh 4 KiB pages is slow on nested hosts, and a restore
 * writes every page once, so huge pages pay: hugetlb pages when enough
 * are reserved, else shmem asking for transparent huge pages where the
 * host's shmem_enabled allows it, else plain shmem.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/memfd.h>
#include <unistd.h>

#include "exits.h"
#include "run.h"

const char *
mem_backing_name(enum backing b)
{
	static const char *const n[] = { "auto", "4k", "thp", "hugetlb" };

	return n[b];
}

/* Does shmem give huge pages to a mapping that asks with MADV_HUGEPAGE? */
static int
thp_shmem_ok(void)
{
	char buf[256];
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled",
	    O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, "[always]") || strstr(buf, "[within_size]") ||
	    strstr(buf, "[advise]") || strstr(buf, "[force]");
}

static int
try_memfd(struct vm *vm, enum backing b)
{
	unsigned flags = MFD_CLOEXEC;
	char name[96];
	void *p;
	int fd;

	if (b == MEM_HUGETLB)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	snprintf(name, sizeof(name), "vmpipe:%s", vm->name);
	if ((fd = memfd_create(name, flags)) == -1)
		return -1;
	if (ftruncate(fd, (off_t)vm->mem_bytes) == -1)
		goto fail;
	/* For hugetlb this reserves the pages, so it fails when too few. */
	p = mmap(NULL, vm->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	if (p == MAP_FAILED)
		goto fail;
	if (b == MEM_THP && madvise(p, vm->mem_bytes, MADV_HUGEPAGE) == -1) {
		munmap(p, vm->mem_bytes);
		goto fail;
	}
	vm->memfd = fd;
	vm->mem = p;
	vm->backing = b;
	return 0;
fail:
	close(fd);
	return -1;
}

void
mem_create(struct vm *vm)
{
	enum backing b = vm->backing;

	if (b != MEM_AUTO) {
		if (try_memfd(vm, b) == -1)
			err(VMP_EX_FAIL, "%s memory of %llu MiB",
			    mem_backing_name(b),
			    (unsigned long long)(vm->mem_bytes >> 20));
		return;
	}
	if (try_memfd(vm, MEM_HUGETLB) == 0)
		return;
	if (thp_shmem_ok() && try_memfd(vm, MEM_THP) == 0)
		return;
	if (try_memfd(vm, MEM_4K) == -1)
		err(VMP_EX_FAIL, "guest memory of %llu MiB",
		    (unsigned long long)(vm->mem_bytes >> 20));
}
