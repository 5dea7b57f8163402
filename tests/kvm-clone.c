/*
 * kvm-clone: a test tool that drives the KVM backend through hv_ops the
 * way vm-save and vm-restore do, without an image in between.
 *
 *   kvm-clone clone [-kP] SRC DST  pause SRC, copy its state and memory
 *                                  into a new incoming guest DST, commit
 *                                  and resume DST; SRC is destroyed
 *                                  unless -k (then it is resumed too)
 *   kvm-clone abandon NAME MEM     create an incoming guest and exit
 *                                  without committing it
 *   kvm-clone corrupt GUEST PFN    flip one octet of a frame while the
 *                                  guest is paused, then resume it
 *   kvm-clone state GUEST          pause, list the state pieces, resume
 *   kvm-clone linger GUEST WHAT    pause the guest (WHAT "pause"), start
 *                                  dirty logging ("log") or both ("both"),
 *                                  say "ready" and wait to be killed
 *   kvm-clone logging GUEST        print "on" or "off": is dirty logging on
 *
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "kvm_proto.h"

static const struct hv_ops *ops;

struct item {
	struct hv_state	 st;
	void		*copy;
};

struct items {
	struct item	*v;
	size_t		 n, cap;
	size_t		 bytes;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int
collect(void *arg, const struct hv_state *st)
{
	struct items *it = arg;
	struct item *i;

	if (it->n == it->cap) {
		it->cap = it->cap ? it->cap * 2 : 64;
		if ((it->v = realloc(it->v, it->cap * sizeof(*it->v))) == NULL)
			err(1, NULL);
	}
	i = &it->v[it->n++];
	i->st = *st;
	if ((i->copy = malloc(st->len ? st->len : 1)) == NULL)
		err(1, NULL);
	memcpy(i->copy, st->data, st->len);
	i->st.data = i->copy;
	it->bytes += st->len;
	return 0;
}

static struct hv_guest *
open_guest(const char *name)
{
	struct hv_guest *g;

	if (ops->open(name, &g) == -1)
		errx(1, "%s", hv_strerror());
	return g;
}

static int
is_zero(const uint64_t *p)
{
	unsigned i;

	for (i = 0; i < 512; i++)
		if (p[i])
			return 0;
	return 1;
}

static int
clone(int argc, char *argv[])
{
	struct hv_guest *src, *dst;
	struct hv_info info;
	struct items it = { 0 };
	void *cfg, *h;
	size_t cfglen, i;
	uint64_t frames, pfn, copied = 0;
	double t0, t1, t2, t3;
	int keep = 0, paused = 0, ch;

	while ((ch = getopt(argc, argv, "kP")) != -1) {
		switch (ch) {
		case 'k': keep = 1; break;
		case 'P': paused = 1; break;
		default: return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return 2;
	src = open_guest(argv[0]);
	t0 = now();
	if (ops->pause(src) == -1)
		errx(1, "pause: %s", hv_strerror());
	t1 = now();
	if (ops->describe(src, &info) == -1 ||
	    ops->get_config(src, &cfg, &cfglen) == -1 ||
	    ops->get_state(src, collect, &it) == -1)
		errx(1, "%s: %s", argv[0], hv_strerror());
	t2 = now();
	snprintf(info.name, sizeof(info.name), "%s", argv[1]);
	if (ops->create(&info, cfg, cfglen, &dst) == -1)
		errx(1, "create %s: %s", argv[1], hv_strerror());
	frames = info.mem_bytes >> info.page_shift;
	for (pfn = 0; pfn < frames; pfn++) {
		void *s, *d;

		if (ops->map(src, &pfn, 1, 0, &s, &h) == -1 ||
		    ops->map(dst, &pfn, 1, 1, &d, &h) == -1)
			errx(1, "map: %s", hv_strerror());
		if (s == NULL || is_zero(s))
			continue;
		memcpy(d, s, 4096);
		copied++;
	}
	for (i = 0; i < it.n; i++)
		if (ops->set_state(dst, &it.v[i].st) == -1)
			errx(1, "set_state %s of %u: %s",
			    kvm_state_name(it.v[i].st.tag), it.v[i].st.id,
			    hv_strerror());
	if (ops->commit(dst) == -1)
		errx(1, "commit: %s", hv_strerror());
	if (!paused && ops->resume(dst) == -1)
		errx(1, "resume %s: %s", argv[1], hv_strerror());
	t3 = now();
	if (keep) {
		if (ops->resume(src) == -1)
			errx(1, "resume %s: %s", argv[0], hv_strerror());
	} else if (ops->destroy(src) == -1) {
		errx(1, "destroy %s: %s", argv[0], hv_strerror());
	}
	printf("pause %.1f ms, get_state %.1f ms (%zu pieces, %zu octets), "
	    "copy+set+commit %.1f ms (%llu pages), downtime %.1f ms\n",
	    (t1 - t0) * 1e3, (t2 - t1) * 1e3, it.n, it.bytes,
	    (t3 - t2) * 1e3, (unsigned long long)copied, (t3 - t0) * 1e3);
	ops->close(src);
	ops->close(dst);
	return 0;
}

static int
abandon(int argc, char *argv[])
{
	struct hv_info info = {
		.backend = VMI_BACKEND_KVM, .arch = VMI_ARCH_X86_64,
		.page_shift = 12, .vcpus = 2,
	};
	struct hv_guest *g;

	if (argc != 3)
		return 2;
	snprintf(info.name, sizeof(info.name), "%s", argv[1]);
	info.mem_bytes = strtoull(argv[2], NULL, 0) << 20;
	if (ops->create(&info, NULL, 0, &g) == -1)
		errx(1, "create %s: %s", argv[1], hv_strerror());
	printf("created %s\n", argv[1]);
	fflush(stdout);
	/* Exit holding the handle: the kernel closes our end for us. */
	_exit(0);
}

static int
corrupt(int argc, char *argv[])
{
	struct hv_guest *g;
	uint64_t pfn;
	void *p, *h;

	if (argc != 3)
		return 2;
	g = open_guest(argv[1]);
	pfn = strtoull(argv[2], NULL, 0);
	if (ops->pause(g) == -1 || ops->map(g, &pfn, 1, 1, &p, &h) == -1)
		errx(1, "%s: %s", argv[1], hv_strerror());
	if (p == NULL)
		errx(1, "%s: no frame 0x%llx", argv[1],
		    (unsigned long long)pfn);
	((unsigned char *)p)[100] ^= 0x5a;
	if (ops->resume(g) == -1)
		errx(1, "%s: %s", argv[1], hv_strerror());
	ops->close(g);
	return 0;
}

static int
show(void *arg, const struct hv_state *st)
{
	(void)arg;
	printf("%s %u %s %u\n", st->kind == VMI_REC_VCPU ? "vcpu" : "platform",
	    st->id, kvm_state_name(st->tag), st->len);
	return 0;
}

static int
state(int argc, char *argv[])
{
	struct hv_guest *g;

	if (argc != 2)
		return 2;
	g = open_guest(argv[1]);
	if (ops->pause(g) == -1 || ops->get_state(g, show, NULL) == -1 ||
	    ops->resume(g) == -1)
		errx(1, "%s: %s", argv[1], hv_strerror());
	ops->close(g);
	return 0;
}

static int
linger(int argc, char *argv[])
{
	struct hv_guest *g;
	int p, l;

	if (argc != 3)
		return 2;
	p = strcmp(argv[2], "pause") == 0 || strcmp(argv[2], "both") == 0;
	l = strcmp(argv[2], "log") == 0 || strcmp(argv[2], "both") == 0;
	if (!p && !l)
		return 2;
	g = open_guest(argv[1]);
	if ((l && ops->log_dirty_start(g) == -1) ||
	    (p && ops->pause(g) == -1))
		errx(1, "%s: %s", argv[1], hv_strerror());
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int
logging(int argc, char *argv[])
{
	struct hv_guest *g;
	uint64_t *bitmap;
	struct hv_info i;

	if (argc != 2)
		return 2;
	g = open_guest(argv[1]);
	if (ops->describe(g, &i) == -1)
		errx(1, "%s: %s", argv[1], hv_strerror());
	if ((bitmap = calloc(1, (i.mem_bytes >> 12) / 8 + 8)) == NULL)
		err(1, NULL);
	/* Fetching the log fails only when it is off. */
	printf("%s\n", ops->dirty_fetch(g, bitmap) == -1 ? "off" : "on");
	free(bitmap);
	ops->close(g);
	return 0;
}

int
main(int argc, char *argv[])
{
	int r = 2;

	if ((ops = hv_select("kvm")) == NULL)
		errx(1, "%s", hv_strerror());
	if (argc >= 2 && strcmp(argv[1], "clone") == 0)
		r = clone(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "abandon") == 0)
		r = abandon(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "corrupt") == 0)
		r = corrupt(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "state") == 0)
		r = state(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "linger") == 0)
		r = linger(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "logging") == 0)
		r = logging(argc - 1, argv + 1);
	if (r == 2)
		fprintf(stderr, "usage: kvm-clone clone [-kP] src dst\n"
		    "       kvm-clone abandon name mem-mib\n"
		    "       kvm-clone corrupt guest pfn\n"
		    "       kvm-clone state guest\n"
		    "       kvm-clone linger guest pause|log|both\n"
		    "       kvm-clone logging guest\n");
	return r;
}
