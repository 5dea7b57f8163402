/*
 * disk.c: the guest's one disk (vm-run --disk FILE): whole 4 KiB blocks
 * read and written synchronously, in the vCPU thread that asked (see
 * KVMG_PORT_DISK in kvm_guest_abi.h).
 *
 * Every field of a request is the guest's and is checked against the
 * disk and guest memory before any octet moves; a bad request gets an
 * errno in its status, never a crash of vm-run.
 *
 * A read writes guest memory from here, not from the guest, so KVM's
 * dirty log never sees it: those frames are marked in vm->devdirty,
 * which vm_dirty_fetch() adds to the log, or a live migration would
 * carry the frame as it was before the read.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "exits.h"
#include "hv.h"
#include "io.h"
#include "run.h"

/* The most blocks a disk may have: its blocks fit an int64 offset. */
#define DISK_MAX_BLOCKS	(1ull << 40)

void
disk_open(struct vm *vm, const char *path)
{
	struct stat st;

	if ((vm->disk_fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		err(VMP_EX_FAIL, "--disk: can't open %s", path);
	/* The image names it by its absolute path, for a restore started
	 * anywhere. */
	if (realpath(path, vm->disk_path) == NULL)
		err(VMP_EX_FAIL, "--disk: %s", path);
	if (fstat(vm->disk_fd, &st) == -1)
		err(VMP_EX_FAIL, "--disk: %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		errx(VMP_EX_USAGE, "--disk %s: expected a file or a block "
		    "device", path);
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(vm->disk_fd, 0, SEEK_END);

		if (end == -1)
			err(VMP_EX_FAIL, "--disk: %s", path);
		st.st_size = end;
	}
	if (st.st_size < KVMG_DISK_BLOCK || st.st_size % KVMG_DISK_BLOCK)
		errx(VMP_EX_USAGE, "--disk %s: %lld octets, expected a "
		    "whole number of %u-octet blocks, at least one", path,
		    (long long)st.st_size, KVMG_DISK_BLOCK);
	vm->disk_blocks = st.st_size / KVMG_DISK_BLOCK;
	if (vm->disk_blocks > DISK_MAX_BLOCKS)
		errx(VMP_EX_USAGE, "--disk %s: too large", path);
}

/*
 * Two running guests must never write one disk: a clone restored from an
 * image (not a bundle) names its original's disk, and a migration to this
 * same host makes the copy beside its source.  So a guest holds an
 * exclusive flock(2) on its disk while it runs, taken at every resume and
 * let go at every pause: a copy may be made beside a paused source, and
 * whichever of two is resumed while the other runs is refused, and stays
 * paused.
 */
int
disk_claim(struct vm *vm)
{
	if (vm->disk_fd == -1 || flock(vm->disk_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		hv_seterr("disk %s is in use by another running guest",
		    vm->disk_path);
		errno = EBUSY;
	} else
		hv_seterr("disk %s: can't lock it: %s", vm->disk_path,
		    strerror(errno));
	return -1;
}

void
disk_release(struct vm *vm)
{
	if (vm->disk_fd != -1)
		(void)flock(vm->disk_fd, LOCK_UN);
}

/* Frames [gpa, gpa + len) were written by vm-run: into the dirty log. */
static void
guest_wrote(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (vm->devdirty == NULL || len == 0)
		return;
	for (uint64_t f = gpa >> 12; f <= (gpa + len - 1) >> 12; f++)
		__atomic_fetch_or(&vm->devdirty[f / 64], 1ull << (f % 64),
		    __ATOMIC_RELAXED);
}

/* Is [gpa, gpa + len) inside guest memory? */
static int
in_mem(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	return gpa <= vm->mem_bytes && len <= vm->mem_bytes - gpa;
}

/* Do one request; its status: 0 or an errno. */
static uint32_t
do_request(struct vm *vm, const struct kvmg_disk_req *rq)
{
	uint64_t len;
	off_t off;
	ssize_t n;

	if (vm->disk_fd == -1)
		return ENODEV;
	if (rq->count == 0 || rq->count > KVMG_DISK_MAX_IO ||
	    rq->block >= vm->disk_blocks ||
	    rq->count > vm->disk_blocks - rq->block)
		return EINVAL;
	len = rq->count * KVMG_DISK_BLOCK;
	if (!in_mem(vm, rq->gpa, len))
		return EFAULT;
	off = (off_t)(rq->block * KVMG_DISK_BLOCK);
	switch (rq->op) {
	case KVMG_DISK_READ:
		n = io_preadall(vm->disk_fd, vm->mem + rq->gpa, len, off);
		guest_wrote(vm, rq->gpa, len);
		if (n == -1)
			return errno;
		return n == (ssize_t)len ? 0 : EIO;
	case KVMG_DISK_WRITE:
		for (uint64_t done = 0; done < len; done += n) {
			n = pwrite(vm->disk_fd, vm->mem + rq->gpa + done,
			    len - done, off + done);
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0)
				return n == -1 ? errno : EIO;
		}
		return 0;
	default:
		return EINVAL;
	}
}

void
disk_request(struct vm *vm, uint32_t gpa)
{
	struct kvmg_disk_req rq;
	uint32_t status;

	if (!in_mem(vm, gpa, sizeof(rq)))
		return;			/* nowhere to say so: dropped */
	memcpy(&rq, vm->mem + gpa, sizeof(rq));
	status = do_request(vm, &rq);
	memcpy(vm->mem + gpa + __builtin_offsetof(struct kvmg_disk_req,
	    status), &status, sizeof(status));
	guest_wrote(vm, gpa + __builtin_offsetof(struct kvmg_disk_req,
	    status), sizeof(status));
}
