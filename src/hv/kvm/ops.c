/*
 * ops.c: the KVM backend.  Guests are run by vm-run processes, one
 * per guest; every hook here is a request on the guest's control socket
 * (kvm_proto.h), except map(), which maps the guest's memfd directly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"
#include "io.h"
#include "names.h"

static int
kvm_probe(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

static int
kvm_describe(struct hv_guest *g, struct hv_info *out)
{
	struct kvmp_info *i;
	uint32_t len;

	if (kvmc_call(g, KVMP_INFO, NULL, 0, (void **)&i, &len, NULL) == -1)
		return -1;
	if (len < sizeof(*i)) {
		free(i);
		hv_seterr("guest %s: short INFO reply", g->name);
		errno = EPROTO;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->backend = VMI_BACKEND_KVM;
	out->arch = VMI_ARCH_X86_64;
	out->page_shift = 12;
	out->vcpus = i->vcpus;
	out->mem_bytes = i->mem_bytes;
	out->guest_type = VMI_GT_KVM;
	memcpy(out->uuid, i->uuid, sizeof(out->uuid));
	memcpy(out->cpu_features, i->cpu_features,
	    sizeof(out->cpu_features));
	snprintf(out->name, sizeof(out->name), "%.*s",
	    (int)sizeof(i->name), i->name);
	out->paused = !!(i->flags & KVMP_F_PAUSED);
	out->id = (long)i->pid;
	g->mem_bytes = i->mem_bytes;
	g->vcpus = i->vcpus;
	free(i);
	return 0;
}

static int
kvm_open(const char *guest, struct hv_guest **out)
{
	struct hv_info info;

	if (kvmc_connect(guest, out) == -1)
		return -1;
	if (kvm_describe(*out, &info) == -1) {
		kvmc_free(*out);
		return -1;
	}
	return 0;
}

struct list_ctx {
	hv_list_fn	 fn;
	void		*arg;
};

static int
kvm_list(hv_list_fn fn, void *arg)
{
	const char *dir = vmp_rundir();
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* no guest ever ran here */
		hv_seterr("%s: %s", dir, strerror(errno));
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct hv_guest *g;
		struct hv_info info;
		char name[VMI_NAME_MAX];

		if (n <= 5 || n - 5 >= sizeof(name) ||
		    strcmp(de->d_name + n - 5, ".sock") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		/* A stale socket or a guest that just went: not listed. */
		if (kvmc_connect(name, &g) == -1)
			continue;
		if (kvm_describe(g, &info) == 0)
			r = fn(arg, &info);
		kvmc_free(g);
	}
	closedir(d);
	return r;
}

static int
kvm_get_config(struct hv_guest *g, void **buf, size_t *len)
{
	uint32_t n;

	if (kvmc_call(g, KVMP_CONFIG, NULL, 0, buf, &n, NULL) == -1)
		return -1;
	*len = n;
	return 0;
}

/*
 * vm-run resumes a guest whose pausing connection closes without a word
 * (kvm_proto.h, leases): a caller killed mid-save costs no guest.  A
 * caller that closes the handle on purpose with the guest still paused
 * by it means the pause to stay, so close() says HOLD.
 */
static int
kvm_pause(struct hv_guest *g)
{
	if (kvmc_call(g, KVMP_PAUSE, NULL, 0, NULL, NULL, NULL) == -1)
		return -1;
	g->paused = 1;
	return 0;
}

static int
kvm_resume(struct hv_guest *g)
{
	if (kvmc_call(g, KVMP_RESUME, NULL, 0, NULL, NULL, NULL) == -1)
		return -1;
	g->paused = 0;
	return 0;
}

static int
kvm_log_start(struct hv_guest *g)
{
	return kvmc_call(g, KVMP_LOG_START, NULL, 0, NULL, NULL, NULL);
}

static int
kvm_log_stop(struct hv_guest *g)
{
	return kvmc_call(g, KVMP_LOG_STOP, NULL, 0, NULL, NULL, NULL);
}

static long
kvm_dirty_fetch(struct hv_guest *g, uint64_t *bitmap)
{
	size_t words = ((g->mem_bytes >> 12) + 63) / 64;
	uint64_t *r, count;
	uint32_t len;

	if (kvmc_call(g, KVMP_DIRTY, NULL, 0, (void **)&r, &len, NULL) == -1)
		return -1;
	if (len < 8 + words * 8) {
		free(r);
		hv_seterr("guest %s: dirty bitmap of %u octets, want %zu",
		    g->name, len, 8 + words * 8);
		errno = EPROTO;
		return -1;
	}
	count = r[0];
	memcpy(bitmap, r + 1, words * 8);
	free(r);
	return (long)count;
}

#define HUGE_2M	(2ul << 20)

/*
 * Map the memfd at a 2 MiB boundary and ask for huge pages, so that
 * memory vm-run keeps in huge pages (hugetlb, or shmem THP where the
 * host's shmem_enabled allows it) is mapped, and for a restore faulted
 * in, 2 MiB at a time: on a nested host every fault is dear, and a
 * restore writes every page once.  The advice is harmless elsewhere.
 */
static void *
map_aligned(int fd, uint64_t len, int writable)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	uint8_t *r, *p;
	uint64_t head;

	r = mmap(NULL, len + HUGE_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return MAP_FAILED;
	head = (HUGE_2M - ((uintptr_t)r & (HUGE_2M - 1))) & (HUGE_2M - 1);
	p = mmap(r + head, len, prot, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		munmap(r, len + HUGE_2M);
		return MAP_FAILED;
	}
	/* Give back the reservation's slack on both sides. */
	if (head)
		munmap(r, head);
	munmap(p + len, HUGE_2M - head);
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

/* The whole memfd, mapped once; writable on first need. */
static int
mem_map(struct hv_guest *g, int writable)
{
	uint64_t *size;
	uint32_t len;
	void *p;
	int fd;

	if (g->mem != NULL) {
		if (writable && !g->mem_writable) {
			if (mprotect(g->mem, g->mem_bytes, PROT_READ |
			    PROT_WRITE) == -1) {
				hv_seterr("guest %s: mprotect: %s", g->name,
				    strerror(errno));
				return -1;
			}
			g->mem_writable = 1;
		}
		return 0;
	}
	if (kvmc_call(g, KVMP_MEMFD, NULL, 0, (void **)&size, &len, &fd) == -1)
		return -1;
	if (fd < 0 || len < 8 || *size != g->mem_bytes) {
		hv_seterr("guest %s: vm-run passed no usable memory descriptor",
		    g->name);
		free(size);
		if (fd >= 0)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	free(size);
	p = map_aligned(fd, g->mem_bytes, writable);
	close(fd);
	if (p == MAP_FAILED) {
		hv_seterr("guest %s: mmap of %llu MiB: %s", g->name,
		    (unsigned long long)(g->mem_bytes >> 20), strerror(errno));
		return -1;
	}
	g->mem = p;
	g->mem_writable = writable;
	return 0;
}

static int
kvm_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, int writable,
    void **ptr, void **handle)
{
	uint64_t frames = g->mem_bytes >> 12;
	unsigned i;

	*handle = NULL;
	if (mem_map(g, writable) == -1)
		return -1;
	for (i = 0; i < n; i++)
		ptr[i] = pfn[i] < frames ? g->mem + (pfn[i] << 12) : NULL;
	return 0;
}

static void
kvm_unmap(struct hv_guest *g, void *handle)
{
	(void)g;
	(void)handle;		/* the one mapping lives until close() */
}

static int
kvm_get_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	char *p;
	uint32_t len, off = 0;
	int r = 0;

	if (kvmc_call(g, KVMP_GET_STATE, NULL, 0, (void **)&p, &len,
	    NULL) == -1)
		return -1;
	while (r == 0 && off < len) {
		struct kvmp_state h;
		struct hv_state st;

		if (len - off < sizeof(h)) {
			r = -1;
			break;
		}
		memcpy(&h, p + off, sizeof(h));
		off += sizeof(h);
		if (h.len > len - off) {
			r = -1;
			break;
		}
		st.kind = h.kind;
		st.id = h.id;
		st.tag = h.tag;
		st.len = h.len;
		st.data = p + off;
		r = fn(arg, &st);
		off += (h.len + 7) & ~7u;
	}
	if (r == -1 && off > len) {
		hv_seterr("guest %s: malformed state reply", g->name);
		errno = EPROTO;
	}
	free(p);
	return r;
}

static int
kvm_set_state(struct hv_guest *g, const struct hv_state *st)
{
	struct kvmp_state h = { st->kind, st->id, st->tag, st->len };
	size_t len = sizeof(h) + ((st->len + 7) & ~7u);

	/*
	 * The items are queued and go to vm-run in one request at commit:
	 * a round trip per item would lengthen a migration's pause.
	 */
	if (g->pend_len + len > KVMP_MAX) {
		hv_seterr("guest %s: state larger than a request (%u octets)",
		    g->name, KVMP_MAX);
		errno = E2BIG;
		return -1;
	}
	if (g->pend_len + len > g->pend_cap) {
		size_t cap = g->pend_cap ? g->pend_cap : 64 << 10;
		char *p;

		while (cap < g->pend_len + len)
			cap *= 2;
		if ((p = realloc(g->pend, cap)) == NULL)
			return -1;
		g->pend = p;
		g->pend_cap = cap;
	}
	memset(g->pend + g->pend_len, 0, len);
	memcpy(g->pend + g->pend_len, &h, sizeof(h));
	memcpy(g->pend + g->pend_len + sizeof(h), st->data, st->len);
	g->pend_len += len;
	return 0;
}

static int
kvm_create(const struct hv_info *info, const void *config, size_t len,
    struct hv_guest **out)
{
	return kvm_spawn_incoming(info, config, len, out);
}

static int
kvm_commit(struct hv_guest *g)
{
	if (g->pend_len && kvmc_call(g, KVMP_SET_STATE, g->pend,
	    (uint32_t)g->pend_len, NULL, NULL, NULL) == -1)
		return -1;
	g->pend_len = 0;
	if (kvmc_call(g, KVMP_COMMIT, NULL, 0, NULL, NULL, NULL) == -1)
		return -1;
	g->created = 0;
	return 0;
}

static int
kvm_destroy(struct hv_guest *g)
{
	if (kvmc_call(g, KVMP_DESTROY, NULL, 0, NULL, NULL, NULL) == -1)
		return -1;
	g->created = 0;
	g->paused = 0;
	return 0;
}

/* Copy what the log holds from *off on; returns -1 on a write error. */
static int
copy_log(int in, int out, off_t *off)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(in, buf, sizeof(buf), *off)) > 0) {
		*off += n;
		if (io_writeall(out, buf, n) == -1)
			return -1;
	}
	return n == -1 ? -1 : 0;
}

static int
kvm_console(struct hv_guest *g, int fd, int follow)
{
	char *path;
	off_t off = 0;
	int in, e;

	if (kvmc_call(g, KVMP_CONSOLE, NULL, 0, (void **)&path, NULL,
	    NULL) == -1)
		return -1;
	if (path == NULL || (in = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = path ? errno : ENOENT;
		hv_seterr("guest %s: console log %s: %s", g->name,
		    path ? path : "(none)", strerror(e));
		free(path);
		errno = e;
		return -1;
	}
	free(path);
	for (;;) {
		struct pollfd p = { .fd = g->sock, .events = POLLIN };

		if (copy_log(in, fd, &off) == -1) {
			e = errno;
			close(in);
			hv_seterr("guest %s: console: %s", g->name,
			    strerror(e));
			errno = e;
			return -1;
		}
		if (!follow)
			break;
		/* Our idle connection turns readable (EOF) when vm-run exits. */
		if (poll(&p, 1, 100) == 1) {
			copy_log(in, fd, &off);
			break;
		}
	}
	close(in);
	return 0;
}

/*
 * An uncommitted guest goes with its handle (vm-run sees us go, too).
 * A pause of ours is handed over; should that fail, vm-run resumes the
 * guest as we hang up, which is the safe way to be wrong.  An older
 * vm-run refuses HOLD, but its pauses never expire anyway.
 */
static void
kvm_close(struct hv_guest *g)
{
	int e = errno;

	if (g == NULL)
		return;
	if (g->created)
		(void)kvmc_call(g, KVMP_DESTROY, NULL, 0, NULL, NULL, NULL);
	else if (g->paused)
		(void)kvmc_call(g, KVMP_HOLD, NULL, 0, NULL, NULL, NULL);
	kvmc_free(g);
	errno = e;
}

const struct hv_ops hv_kvm_ops = {
	.name		= "kvm",
	.backend	= VMI_BACKEND_KVM,
	.stable_map	= 1,
	/* 1.ECX x2APIC and TSC-deadline, 7.EBX TSC_ADJUST: in-kernel. */
	.emulated_features = { 1u << 21 | 1u << 24, 0, 1u << 1, 0 },
	.probe		= kvm_probe,
	.list		= kvm_list,
	.open		= kvm_open,
	.describe	= kvm_describe,
	.get_config	= kvm_get_config,
	.pause		= kvm_pause,
	.suspend	= kvm_pause,
	.resume		= kvm_resume,
	.log_dirty_start = kvm_log_start,
	.log_dirty_stop	= kvm_log_stop,
	.dirty_fetch	= kvm_dirty_fetch,
	.map		= kvm_map,
	.unmap		= kvm_unmap,
	.get_state	= kvm_get_state,
	.set_state	= kvm_set_state,
	.create		= kvm_create,
	.commit		= kvm_commit,
	.destroy	= kvm_destroy,
	.console	= kvm_console,
	.close		= kvm_close,
	.admit		= kvm_admit,
	.config_disks	= kvm_config_disks,
	.config_move_disks = kvm_config_move_disks,
};
