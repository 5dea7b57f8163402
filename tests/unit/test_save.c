/*
 * test_save.c: the save engine against an in-memory double of the ops
 * table.  The double's guest has memory, vCPU state, a pause state and an
 * exact dirty log; while it "runs" it writes pages between fetches, as a
 * real guest would.  Every image the engine writes is read back: the
 * memory it rebuilds (later frames replacing earlier ones) must equal the
 * guest's at the pause, octet for octet.  Failures are injected at every
 * hook, and each must leave the guest running (or say it is paused).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "save.h"
#include "check.h"

#define NPAGES	1536
#define PAGE	4096

/* ---- the double ---- */

enum fault { F_NONE, F_SUSPEND, F_PAUSE, F_STATE, F_LOG, F_FETCH, F_MAP,
	F_RESUME, F_DESTROY, F_CONFIG };

struct hv_guest {
	uint8_t		*mem;
	uint64_t	 dirty[(NPAGES + 63) / 64];
	int		 paused, suspended, destroyed, logging, closed;
	unsigned	 fetches;
	/* Frames written per fetch while running: writes[k], then last. */
	unsigned	 writes[8];
	unsigned	 nwrites;
	uint32_t	 stamp;
	enum fault	 fault;
	unsigned	 fault_after;	/* calls of the faulty hook that work */
	int		 resume_fails;	/* as well as the fault */
	int		 refuse;	/* save_check says no */
	unsigned	 resumes;
};

static struct hv_guest G;
static const char *gname = "double";
static char lasterr[256];

void
hv_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lasterr, sizeof(lasterr), fmt, ap);
	va_end(ap);
}

const char *
hv_strerror(void)
{
	return lasterr[0] ? lasterr : strerror(errno);
}

static int
faulty(enum fault f, const char *what)
{
	if (G.fault != f)
		return 0;
	if (G.fault_after > 0) {
		G.fault_after--;
		return 0;
	}
	hv_seterr("injected %s failure", what);
	errno = EIO;
	return 1;
}

/* The running guest writes n frames, spread over memory. */
static void
guest_runs(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t pfn = (G.stamp * 7919ull + i * 131) % NPAGES;

		G.stamp++;
		memcpy(G.mem + pfn * PAGE + (G.stamp % 1000) * 4, &G.stamp, 4);
		if (G.logging)
			G.dirty[pfn / 64] |= 1ull << pfn % 64;
	}
}

static int
d_describe(struct hv_guest *g, struct hv_info *info)
{
	(void)g;
	memset(info, 0, sizeof(*info));
	info->backend = VMI_BACKEND_KVM;
	info->arch = VMI_ARCH_X86_64;
	info->page_shift = 12;
	info->vcpus = 2;
	info->mem_bytes = (uint64_t)NPAGES * PAGE;
	memset(info->uuid, 0x5a, 16);
	snprintf(info->name, sizeof(info->name), "%s", gname);
	info->paused = G.paused;
	return 0;
}

static int
d_get_config(struct hv_guest *g, void **buf, size_t *len)
{
	(void)g;
	if (faulty(F_CONFIG, "configuration"))
		return -1;
	*buf = strdup("{\"double\":1}");
	*len = strlen(*buf);
	return 0;
}

static int
d_pause(struct hv_guest *g)
{
	(void)g;
	if (faulty(F_PAUSE, "pause"))
		return -1;
	G.paused = 1;
	return 0;
}

static int
d_suspend(struct hv_guest *g)
{
	(void)g;
	if (faulty(F_SUSPEND, "suspend"))
		return -1;
	/* What the guest wrote since the last fetch, up to the pause. */
	if (!G.paused)
		guest_runs(G.nwrites ? G.writes[G.nwrites - 1] : 0);
	G.paused = G.suspended = 1;
	return 0;
}

static int
d_resume(struct hv_guest *g)
{
	(void)g;
	if (faulty(F_RESUME, "resume") || G.resume_fails) {
		hv_seterr("injected resume failure");
		return -1;
	}
	G.paused = G.suspended = 0;
	G.resumes++;
	return 0;
}

static int
d_save_check(struct hv_guest *g)
{
	(void)g;
	if (G.refuse) {
		hv_seterr("injected refusal");
		return -1;
	}
	return 0;
}

static int
d_log_start(struct hv_guest *g)
{
	(void)g;
	if (faulty(F_LOG, "dirty log"))
		return -1;
	memset(G.dirty, 0, sizeof(G.dirty));
	G.logging = 1;
	return 0;
}

static int
d_log_stop(struct hv_guest *g)
{
	(void)g;
	G.logging = 0;
	return 0;
}

static long
d_dirty_fetch(struct hv_guest *g, uint64_t *bm)
{
	long n = 0;

	(void)g;
	if (faulty(F_FETCH, "dirty fetch"))
		return -1;
	/* The guest ran while the round was sent. */
	if (!G.paused && G.nwrites)
		guest_runs(G.writes[G.fetches < G.nwrites ? G.fetches :
		    G.nwrites - 1]);
	G.fetches++;
	memcpy(bm, G.dirty, sizeof(G.dirty));
	memset(G.dirty, 0, sizeof(G.dirty));
	for (size_t i = 0; i < sizeof(G.dirty) / 8; i++)
		n += __builtin_popcountll(bm[i]);
	return n;
}

static int
d_map(struct hv_guest *g, const uint64_t *pfn, unsigned n, int writable,
    void **ptr, void **handle)
{
	(void)g;
	(void)writable;
	if (faulty(F_MAP, "map"))
		return -1;
	for (unsigned i = 0; i < n; i++)
		ptr[i] = pfn[i] < NPAGES ? G.mem + pfn[i] * PAGE : NULL;
	*handle = NULL;
	return 0;
}

static void
d_unmap(struct hv_guest *g, void *handle)
{
	(void)g;
	(void)handle;
}

static int
d_get_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	static const uint8_t regs[64] = { 1, 2, 3 };
	struct hv_state st = { VMI_REC_VCPU, 0, 1, sizeof(regs), regs };

	(void)g;
	if (faulty(F_STATE, "state"))
		return -1;
	for (st.id = 0; st.id < 2; st.id++)
		if (fn(arg, &st) == -1)
			return -1;
	st.kind = VMI_REC_PLATFORM;
	st.id = 0;
	st.tag = 2;
	return fn(arg, &st);
}

static int
d_destroy(struct hv_guest *g)
{
	(void)g;
	if (faulty(F_DESTROY, "destroy"))
		return -1;
	G.destroyed = 1;
	return 0;
}

static const struct hv_ops double_ops = {
	.name = "double",
	.backend = VMI_BACKEND_KVM,
	.stable_map = 0,
	.describe = d_describe,
	.get_config = d_get_config,
	.pause = d_pause,
	.suspend = d_suspend,
	.resume = d_resume,
	.save_check = d_save_check,
	.log_dirty_start = d_log_start,
	.log_dirty_stop = d_log_stop,
	.dirty_fetch = d_dirty_fetch,
	.map = d_map,
	.unmap = d_unmap,
	.get_state = d_get_state,
	.destroy = d_destroy,
};

static void
guest_new(void)
{
	free(G.mem);
	memset(&G, 0, sizeof(G));
	G.mem = calloc(NPAGES, PAGE);
	/* Two thirds of the frames hold data, the rest are zero. */
	for (uint64_t p = 0; p < NPAGES; p++)
		if (p % 3)
			for (unsigned k = 0; k < PAGE; k += 8)
				memcpy(G.mem + p * PAGE + k, &p, 4);
	lasterr[0] = '\0';
}

/* ---- reading the image back ---- */

struct image {
	uint8_t		*mem;
	unsigned	 rounds, last_rounds, vcpus, platforms, pages;
	int		 whole, live, last_before_end;
	char		 err[VMI_ERRLEN];
};

static void
read_image(int fd, struct image *im)
{
	struct vmi_reader *r;
	struct vmi_record rec;
	int n, after_last = 0;

	memset(im, 0, sizeof(*im));
	im->mem = calloc(NPAGES, PAGE);
	lseek(fd, 0, SEEK_SET);
	if ((r = vmi_reader_new(fd, 0, im->err, sizeof(im->err))) == NULL)
		return;
	im->live = (vmi_reader_flags(r) & VMI_HF_LIVE) != 0;
	while ((n = vmi_next(r, &rec)) == 1) {
		if (after_last)
			after_last++;
		switch (rec.type) {
		case VMI_REC_PAGES: {
			struct vmi_pages_view v;
			const uint8_t *d;

			vmi_pages_view(&rec, &v);
			d = v.data;
			for (uint32_t i = 0; i < v.count; i++) {
				uint64_t pfn = v.pfn[i] & VMI_PFN_MASK;

				im->pages++;
				if (pfn >= NPAGES)
					continue;
				if (v.pfn[i] & VMI_PFN_ZERO) {
					memset(im->mem + pfn * PAGE, 0, PAGE);
				} else {
					memcpy(im->mem + pfn * PAGE, d, PAGE);
					d += PAGE;
				}
			}
			break;
		}
		case VMI_REC_ROUND: {
			const struct vmi_round *rd = rec.body;

			im->rounds++;
			if (rd->flags & VMI_ROUND_LAST) {
				im->last_rounds++;
				after_last = 1;
			}
			break;
		}
		case VMI_REC_VCPU:
			im->vcpus++;
			break;
		case VMI_REC_PLATFORM:
			im->platforms++;
			break;
		}
	}
	im->whole = n == 0;
	im->last_before_end = after_last == 1;
	if (n == -1)
		snprintf(im->err, sizeof(im->err), "%s", vmi_reader_error(r));
	vmi_reader_free(r);
}

static int
image_fd(void)
{
	int fd = memfd_create("image", MFD_CLOEXEC);

	if (fd == -1) {
		perror("memfd_create");
		exit(2);
	}
	return fd;
}

static struct save_opts
opts(enum save_then then, struct policy_limits *lim)
{
	struct save_opts o = { .program = "test_save", .then = then,
	    .threads = 1 };

	if (lim != NULL) {
		o.policy = policy_default;
		o.policy_arg = lim;
	}
	return o;
}

/* ---- the cases ---- */

static void
test_offline(enum save_then then, enum save_outcome want, int paused)
{
	struct save_opts o = opts(then, NULL);
	struct save_result res;
	struct image im;
	int fd = image_fd();

	guest_new();
	G.nwrites = 1;
	G.writes[0] = 50;	/* would write, were it not suspended first */
	CHECK(save_guest(&double_ops, &G, fd, &o, &res) == 0,
	    "offline save: %s", res.err);
	CHECK(res.outcome == want, "offline outcome %d, want %d",
	    res.outcome, want);
	CHECK(G.paused == paused, "offline: paused %d, want %d", G.paused,
	    paused);
	CHECK(G.destroyed == (then == SAVE_DESTROY), "offline: destroyed %d",
	    G.destroyed);
	CHECK(!res.then_failed, "offline: then failed: %s", res.err);
	read_image(fd, &im);
	CHECK(im.whole, "offline image not whole: %s", im.err);
	CHECK(!im.live && im.rounds == 0, "offline image: live %d rounds %u",
	    im.live, im.rounds);
	CHECK(im.pages == NPAGES, "offline image: %u frames, want %u",
	    im.pages, NPAGES);
	CHECK(memcmp(im.mem, G.mem, (size_t)NPAGES * PAGE) == 0,
	    "offline image: memory differs from the guest's");
	CHECK(im.vcpus == 2 && im.platforms == 1, "state: %u vcpus, %u "
	    "platform", im.vcpus, im.platforms);
	CHECK(res.ws.pages == NPAGES, "stats: %llu pages",
	    (unsigned long long)res.ws.pages);
	free(im.mem);
	close(fd);
}

static void
test_live(const char *name, const unsigned *writes, unsigned nw,
    struct policy_limits lim, int want_rounds_min)
{
	struct save_opts o = opts(SAVE_LEAVE_PAUSED, &lim);
	struct save_result res;
	struct image im;
	int fd = image_fd();

	guest_new();
	memcpy(G.writes, writes, nw * sizeof(*writes));
	G.nwrites = nw;
	CHECK(save_guest(&double_ops, &G, fd, &o, &res) == 0, "%s: %s", name,
	    res.err);
	CHECK(res.outcome == SAVE_PAUSED && G.paused && !G.destroyed,
	    "%s: outcome %d, paused %d", name, res.outcome, G.paused);
	CHECK(!G.logging, "%s: dirty logging left on", name);
	read_image(fd, &im);
	CHECK(im.whole, "%s: image not whole: %s", name, im.err);
	CHECK(im.live, "%s: no LIVE flag", name);
	CHECK(im.rounds == res.rounds, "%s: %u ROUND records, %u rounds",
	    name, im.rounds, res.rounds);
	CHECK((int)res.rounds >= want_rounds_min, "%s: %u rounds, want >= %d",
	    name, res.rounds, want_rounds_min);
	CHECK(im.last_rounds == 1 && im.last_before_end,
	    "%s: LAST rounds %u, right before END %d", name, im.last_rounds,
	    im.last_before_end);
	/* The heart of it: what the far side rebuilds is the guest. */
	CHECK(memcmp(im.mem, G.mem, (size_t)NPAGES * PAGE) == 0,
	    "%s: memory rebuilt from the stream differs from the guest's",
	    name);
	free(im.mem);
	close(fd);
}

static void
test_abort(void)
{
	struct policy_limits lim = { 1, 30, 0, 0 };
	struct save_opts o = opts(SAVE_LEAVE_PAUSED, &lim);
	struct save_result res;
	int fd = image_fd();

	guest_new();
	G.writes[0] = 600;
	G.nwrites = 1;
	CHECK(save_guest(&double_ops, &G, fd, &o, &res) == -1,
	    "no fallback: the save succeeded");
	CHECK(res.aborted, "no fallback: not marked aborted (%s)", res.err);
	CHECK(res.outcome == SAVE_RUNNING && !G.paused && !G.logging,
	    "no fallback: outcome %d paused %d logging %d", res.outcome,
	    G.paused, G.logging);
	CHECK(strstr(res.err, "not converging") != NULL, "abort message: %s",
	    res.err);
	close(fd);
}

static void
test_fault(const char *name, int live, enum save_then then, enum fault f,
    unsigned after, enum save_outcome want, const char *msg)
{
	struct policy_limits lim = { 1000000ull, 30, 0, 1 };
	struct save_opts o = opts(then, live ? &lim : NULL);
	struct save_result res;
	int fd = image_fd(), r;

	guest_new();
	G.writes[0] = 200;
	G.writes[1] = 100;
	G.writes[2] = 5;
	G.nwrites = 3;
	G.fault = f;
	G.fault_after = after;
	r = save_guest(&double_ops, &G, fd, &o, &res);
	if (f == F_DESTROY) {
		CHECK(r == 0 && res.then_failed, "%s: r %d then_failed %d",
		    name, r, res.then_failed);
	} else {
		CHECK(r == -1, "%s: the save succeeded", name);
	}
	CHECK(res.outcome == want, "%s: outcome %d, want %d (%s)", name,
	    res.outcome, want, res.err);
	CHECK(G.paused == (want == SAVE_PAUSED), "%s: paused %d", name,
	    G.paused);
	CHECK(!G.destroyed, "%s: the guest was destroyed", name);
	CHECK(!G.logging, "%s: dirty logging left on", name);
	CHECK(strstr(res.err, msg) != NULL, "%s: message \"%s\" lacks \"%s\"",
	    name, res.err, msg);
	close(fd);
}

/* The reader goes away: EPIPE, and the guest runs on. */
static void
test_reader_gone(int live)
{
	struct policy_limits lim = { 1000000ull, 30, 0, 1 };
	struct save_opts o = opts(SAVE_DESTROY, live ? &lim : NULL);
	struct save_result res;
	int p[2];

	guest_new();
	if (pipe(p) == -1)
		exit(2);
	close(p[0]);
	CHECK(save_guest(&double_ops, &G, p[1], &o, &res) == -1,
	    "reader gone: the save succeeded");
	CHECK(res.outcome == SAVE_RUNNING && !G.paused && !G.destroyed,
	    "reader gone: outcome %d paused %d destroyed %d", res.outcome,
	    G.paused, G.destroyed);
	CHECK(strstr(res.err, "Broken pipe") != NULL, "reader gone: %s",
	    res.err);
	close(p[1]);
}

static void
test_stop(void)
{
	static volatile sig_atomic_t stop = 1;
	struct save_opts o = opts(SAVE_DESTROY, NULL);
	struct save_result res;
	int fd = image_fd();

	guest_new();
	o.stop = &stop;
	CHECK(save_guest(&double_ops, &G, fd, &o, &res) == -1,
	    "stop: the save succeeded");
	CHECK(res.outcome == SAVE_RUNNING && !G.paused && !G.destroyed,
	    "stop: outcome %d", res.outcome);
	CHECK(strcmp(res.err, "interrupted by a signal") == 0, "stop: %s",
	    res.err);
	close(fd);
}

int
main(void)
{
	static const unsigned converge[] = { 400, 100, 20, 2 };
	static const unsigned steady[] = { 300 };
	static const unsigned none[] = { 0 };

	signal(SIGPIPE, SIG_IGN);
	test_offline(SAVE_DESTROY, SAVE_DESTROYED, 1);
	test_offline(SAVE_RESUME, SAVE_RUNNING, 0);
	test_offline(SAVE_LEAVE_PAUSED, SAVE_PAUSED, 1);
	/* 1 ms of downtime at the double's speed: several rounds. */
	test_live("converging", converge, 4,
	    (struct policy_limits){ 1000000ull, 30, 0, 1 }, 2);
	test_live("steady writer, stall fallback", steady, 1,
	    (struct policy_limits){ 1, 30, 0, 1 }, 3);
	test_live("max rounds", converge, 4,
	    (struct policy_limits){ 1, 2, 0, 1 }, 2);
	test_live("idle guest", none, 1,
	    (struct policy_limits){ 1, 30, 0, 1 }, 2);
	test_abort();
	test_fault("suspend fails", 0, SAVE_DESTROY, F_SUSPEND, 0,
	    SAVE_RUNNING, "pause: injected suspend failure");
	test_fault("state fails", 0, SAVE_DESTROY, F_STATE, 0, SAVE_RUNNING,
	    "injected state failure");
	test_fault("config fails", 0, SAVE_DESTROY, F_CONFIG, 0, SAVE_RUNNING,
	    "configuration: injected configuration failure");
	test_fault("map fails", 0, SAVE_DESTROY, F_MAP, 0, SAVE_RUNNING,
	    "map guest memory: injected map failure");
	test_fault("destroy fails", 0, SAVE_DESTROY, F_DESTROY, 0,
	    SAVE_PAUSED, "injected destroy failure");
	test_fault("live: pause to measure fails", 1, SAVE_LEAVE_PAUSED,
	    F_PAUSE, 0, SAVE_RUNNING, "pause: injected pause failure");
	test_fault("live: dirty log fails", 1, SAVE_LEAVE_PAUSED, F_LOG, 0,
	    SAVE_RUNNING, "start dirty logging: injected");
	test_fault("live: second fetch fails", 1, SAVE_LEAVE_PAUSED, F_FETCH,
	    1, SAVE_RUNNING, "dirty log: injected dirty fetch failure");
	test_fault("live: map fails in round 1", 1, SAVE_LEAVE_PAUSED, F_MAP,
	    2, SAVE_RUNNING, "injected map failure");
	test_fault("live: suspend fails", 1, SAVE_LEAVE_PAUSED, F_SUSPEND, 0,
	    SAVE_RUNNING, "pause: injected suspend failure");
	/* The state fails in the pause, and so does the resume after. */
	{
		struct save_opts o = opts(SAVE_DESTROY, NULL);
		struct save_result res;
		int fd = image_fd();

		guest_new();
		G.fault = F_STATE;
		G.resume_fails = 1;
		CHECK(save_guest(&double_ops, &G, fd, &o, &res) == -1,
		    "state+resume: the save succeeded");
		CHECK(res.outcome == SAVE_PAUSED && G.paused && !G.destroyed,
		    "state+resume: outcome %d paused %d", res.outcome,
		    G.paused);
		CHECK(strstr(res.err, "resuming the guest failed: injected "
		    "resume failure") != NULL, "state+resume: %s", res.err);
		close(fd);
	}
	/* A name no reader would take is not written. */
	{
		struct save_opts o = opts(SAVE_DESTROY, NULL);
		struct save_result res;
		int fd = image_fd();

		guest_new();
		gname = "a@b";
		CHECK(save_guest(&double_ops, &G, fd, &o, &res) == -1,
		    "bad name: the save succeeded");
		CHECK(res.outcome == SAVE_RUNNING && !G.paused && !G.destroyed,
		    "bad name: outcome %d", res.outcome);
		CHECK(strstr(res.err, "the guest's name cannot go into an "
		    "image: bad guest name \"a@b\"") != NULL, "bad name: %s",
		    res.err);
		gname = "double";
		close(fd);
	}
	/* Refused before anything is done, offline and live: a guest
	 * someone else paused is left paused, not resumed. */
	for (int live = 0; live <= 1; live++) {
		struct policy_limits lim = { 1000000ull, 30, 0, 1 };
		struct save_opts o = opts(SAVE_DESTROY, live ? &lim : NULL);
		struct save_result res;
		int fd = image_fd();

		guest_new();
		G.paused = 1;
		G.refuse = 1;
		CHECK(save_guest(&double_ops, &G, fd, &o, &res) == -1,
		    "refused (live %d): the save succeeded", live);
		CHECK(!res.touched && G.paused && G.resumes == 0 &&
		    !G.logging && !G.destroyed, "refused (live %d): touched %d "
		    "paused %d resumes %u", live, res.touched, G.paused,
		    G.resumes);
		CHECK(strstr(res.err, "injected refusal") != NULL,
		    "refused (live %d): %s", live, res.err);
		close(fd);
	}
	test_reader_gone(0);
	test_reader_gone(1);
	test_stop();
	free(G.mem);
	printf("test_save: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
