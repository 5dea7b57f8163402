/*
 * restore.c: make a guest from an image stream as it arrives.
 *
 * The guest is created as soon as its description has been read and
 * checked against this host (the preflight), so that its memory fills
 * while later records are still on their way; pages of a live stream
 * that arrive again simply overwrite the earlier copy.  Only a stream
 * that ends with a good END record is committed and resumed; anything
 * else destroys the half-made guest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "meminfo.h"
#include "names.h"
#include "peek.h"
#include "progress.h"
#include "restore.h"
#include "vmi.h"
#include "xen_stream.h"

#define LOANS	8

struct rs {
	const struct restore_opts *o;
	const struct hv_ops	*ops;
	struct hv_guest		*g;
	struct hv_info		 info;
	uint8_t			*mem;		/* whole guest, if mappable */
	uint64_t		 npages;
	uint64_t		*written;	/* frames holding data now */
	void			*own_cfg;	/* -C: the file's configuration */
	enum restore_code	 code;		/* of a failure */
	char			*err;
	size_t			 errlen;
	char			 twin[VMI_NAME_MAX];	/* name to take at go */
	/*
	 * Records lent by the reader (vmi_record_lend()) whose pages went to
	 * the backend by reference, oldest first, each with what put_taken()
	 * must reach before it may be read over.  Beyond LOANS, pages are
	 * copied.  Where the backend holds less than a record (Xen's pipe:
	 * 1 MiB, a record 4 MiB), the record before the one just put has
	 * been taken by then, so about two are out at a time.
	 */
	struct {
		struct vmi_loan	*loan;
		uint64_t	 mark;
	}			 loan[LOANS];
	unsigned		 nloan;
};

static int
fail(struct rs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
refuse(struct rs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct rs *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* This host will not run the guest; the text is the reason alone. */
static int
refuse(struct rs *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	s->code = RESTORE_REFUSED;
	return -1;
}

/*
 * Tell the caller the verdict; the message kept for err then says that
 * it was the preflight's.
 */
static void
verdict(struct rs *s, enum restore_code code)
{
	struct restore_verdict v = { code, code == RESTORE_ACCEPTED ? NULL :
	    s->err, s->info.name };
	static const char lead[] = "preflight: ";
	size_t n;

	if (s->o->preflight)
		s->o->preflight(s->o->arg, &v);
	if (code != RESTORE_REFUSED)
		return;
	n = strlen(s->err);
	if (n + sizeof(lead) > s->errlen)
		n = s->errlen - sizeof(lead);
	memmove(s->err + sizeof(lead) - 1, s->err, n);
	memcpy(s->err, lead, sizeof(lead) - 1);
	s->err[n + sizeof(lead) - 1] = '\0';
}

static void
host_features(uint32_t f[4])
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
	    : "a"(1), "c"(0));
	f[0] = c;
	f[1] = d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
	    : "a"(7), "c"(0));
	f[2] = b;
	f[3] = c;
}

struct uuid_find {
	const uint8_t	*uuid;
	const char	*skip;		/* a guest of this name is not counted */
	char		 name[VMI_NAME_MAX];	/* the first that has it */
	int		 n, running;	/* how many have it, how many run */
};

static int
match_uuid(void *arg, const struct hv_info *i)
{
	struct uuid_find *u = arg;

	if (memcmp(i->uuid, u->uuid, 16) != 0 ||
	    (u->skip != NULL && strcmp(i->name, u->skip) == 0))
		return 0;
	if (u->n++ == 0)
		snprintf(u->name, sizeof(u->name), "%s", i->name);
	u->running += !i->paused;
	return 0;
}

/* The guests here other than skip that have the UUID; -1 on error. */
static int
uuid_holders(const struct rs *s, const char *skip, struct uuid_find *uf)
{
	memset(uf, 0, sizeof(*uf));
	uf->uuid = s->info.uuid;
	uf->skip = skip;
	return s->ops->list(match_uuid, uf) < 0 ? -1 : uf->n;
}

/*
 * A migration to this same host: is the guest here that holds name the
 * image's own source, the one guest with its UUID?  Then the copy is
 * built beside it under a name of its own.
 */
static int
twin_of(struct rs *s, const char *name)
{
	struct uuid_find uf;
	char tmp[VMI_NAME_MAX];

	if (!s->o->twin || s->o->prepared == NULL || s->o->clone ||
	    s->ops->rename == NULL || uuid_holders(s, NULL, &uf) != 1 ||
	    strcmp(uf.name, name) != 0 ||
	    vmp_twin_name(name, VMP_TWIN_INCOMING, tmp, sizeof(tmp)) == -1)
		return 0;
	snprintf(s->twin, sizeof(s->twin), "%s", name);
	memcpy(s->info.name, tmp, sizeof(tmp));
	return 1;
}

/*
 * The go of a same-host migration: the source must have let go of the
 * name and stay paused, the copy takes the name.  0, or -1 with the
 * reason (the caller destroys the copy).
 */
static int
twin_take_name(struct rs *s)
{
	struct hv_guest *other;
	struct uuid_find uf;

	if (s->ops->open(s->twin, &other) == 0) {
		s->ops->close(other);
		return fail(s, "guest %s destroyed: the source still holds "
		    "the name %s (a migration to this host renames it %s%s "
		    "before the go)", s->info.name, s->twin, s->twin,
		    VMP_TWIN_AWAY);
	}
	if (uuid_holders(s, s->info.name, &uf) < 0 || uf.running > 0)
		return fail(s, "guest %s destroyed: %s, with the image's UUID, "
		    "runs here", s->info.name, uf.n ? uf.name : "a guest");
	if (s->ops->rename(s->g, s->twin) == -1)
		return fail(s, "guest %s destroyed: %s", s->info.name,
		    hv_strerror());
	memcpy(s->info.name, s->twin, sizeof(s->twin));
	return 0;
}

/*
 * Is this host able to run the guest?  Every refusal names what the
 * image wants and what the host has.
 */
static int
preflight(struct rs *s, const struct vmi_guest *vg, const void **cfgp,
    size_t *cfglenp)
{
	const void *cfg = *cfgp;
	size_t cfglen = *cfglenp;
	struct hv_guest *other;
	struct uuid_find uf;
	uint32_t host[4], missing[4] = { 0 };
	uint64_t avail, need;
	const char *want;
	char why[1024];
	int any = 0;

	want = vg->backend == VMI_BACKEND_KVM ? "kvm" : "xen";
	if (s->o->backend && strcmp(s->o->backend, want) != 0)
		return refuse(s, "the image is of backend %s, "
		    "but %s was asked for", want, s->o->backend);
	if ((s->ops = hv_by_id(vg->backend)) == NULL || !s->ops->probe())
		return refuse(s, "the image needs backend %s, which "
		    "this host does not run", want);
	memset(&s->info, 0, sizeof(s->info));
	s->info.backend = vg->backend;
	s->info.arch = vg->arch;
	s->info.page_shift = vg->page_shift;
	s->info.vcpus = vg->vcpus;
	s->info.mem_bytes = vg->mem_bytes;
	s->info.guest_type = vg->guest_type;
	memcpy(s->info.uuid, vg->uuid, 16);
	memcpy(s->info.cpu_features, vg->cpu_features, 16);
	snprintf(s->info.name, sizeof(s->info.name), "%s",
	    s->o->name ? s->o->name : vg->name);
	if (vmp_name_check(s->info.name, why, sizeof(why)) == -1)
		return fail(s, "preflight: %s", why);
	/* A clone beside its original needs an identity of its own. */
	if (s->o->clone && vmp_uuid_generate(s->info.uuid) == -1)
		return fail(s, "preflight: no random UUID: %s",
		    strerror(errno));
	if (s->ops->open(s->info.name, &other) == 0) {
		s->ops->close(other);
		if (!twin_of(s, s->info.name))
			return refuse(s, "a guest named %s already runs "
			    "here", s->info.name);
		if (s->ops->open(s->info.name, &other) == 0) {
			s->ops->close(other);
			return refuse(s, "a guest named %s already runs here "
			    "(the name a migration to this host builds its "
			    "copy under)", s->info.name);
		}
	}
	if (s->twin[0] == '\0' && uuid_holders(s, NULL, &uf) > 0)
		return refuse(s, "guest %s here already has the "
		    "image's UUID", uf.name);
	/*
	 * The administrator's configuration file (-C) in place of the
	 * guest's: as their own `xl create', it is not the policy's to
	 * judge.  What a guest brings is, before any of it is used.
	 */
	if (s->o->ndisk_paths > 0) {
		if (s->ops->config_move_disks == NULL ||
		    s->o->config_path != NULL)
			return refuse(s, "backend %s can't put a guest's "
			    "disks elsewhere%s", s->ops->name,
			    s->o->config_path ? " with -C" : "");
		if (s->ops->config_move_disks(cfg, cfglen, s->o->disk_paths,
		    s->o->ndisk_paths, &s->own_cfg, cfglenp) == -1)
			return refuse(s, "%s", hv_strerror());
		*cfgp = cfg = s->own_cfg;
		cfglen = *cfglenp;
	}
	if (s->o->config_path != NULL) {
		if (s->ops->config_file == NULL)
			return refuse(s, "backend %s reads no configuration "
			    "files (-C)", s->ops->name);
		if (s->ops->config_file(cfg, cfglen, s->o->config_path,
		    &s->own_cfg, cfglenp) == -1)
			return refuse(s, "%s", hv_strerror());
		*cfgp = cfg = s->own_cfg;
		cfglen = *cfglenp;
	} else if (s->ops->admit != NULL &&
	    s->ops->admit(&s->info, cfg, cfglen, why, sizeof(why)) == -1)
		return refuse(s, "%s", why);
	/* A hypervisor that keeps guests' memory apart from the host's
	 * (Xen) says itself what a guest needs and what it has free. */
	need = vg->mem_bytes;
	if (s->ops->mem_free == NULL)
		avail = meminfo_available();
	else if (s->ops->mem_free(&s->info, cfg, cfglen, &need, &avail) == -1)
		return fail(s, "preflight: free memory: %s", hv_strerror());
	if (getenv("VMPIPE_MEM_AVAILABLE") != NULL)
		parse_size(getenv("VMPIPE_MEM_AVAILABLE"), &avail);
	if (avail && need > avail)
		return refuse(s, "not enough memory: the guest needs "
		    "%llu MiB, this host has %llu MiB available",
		    (unsigned long long)(need >> 20),
		    (unsigned long long)(avail >> 20));
	/*
	 * The guest may use only what this CPU has, but for what the
	 * backend emulates (OSXSAVE is the OS's, the hypervisor bit ours).
	 * A hypervisor that filters what its guests see (Xen) says itself
	 * what it can give a guest of this type.
	 */
	if (s->ops->cpu_max == NULL)
		host_features(host);
	else if (s->ops->cpu_max(&s->info, host) == -1)
		return fail(s, "preflight: %s", hv_strerror());
	host[0] |= 1u << 27 | 1u << 31;
	for (int i = 0; i < 4; i++)
		any |= missing[i] = vg->cpu_features[i] &
		    ~(host[i] | s->ops->emulated_features[i]);
	if (any)
		return refuse(s, "CPU features: the guest has "
		    "%08x %08x %08x %08x (CPUID 1.ECX 1.EDX 7.EBX 7.ECX) that "
		    "this host lacks", missing[0], missing[1], missing[2],
		    missing[3]);
	return 0;
}

static int
create_guest(struct rs *s, const void *cfg, size_t cfglen)
{
	uint64_t pfn = 0;
	void *ptr = NULL, *handle = NULL;

	if (s->ops->create(&s->info, cfg, cfglen, &s->g) == -1)
		return fail(s, "create guest %s: %s", s->info.name,
		    hv_strerror());
	s->npages = s->info.mem_bytes >> s->info.page_shift;
	if ((s->written = calloc((s->npages + 63) / 64, 8)) == NULL)
		return fail(s, "out of memory");
	/*
	 * A backend that takes pages (put_pages(), Xen) is given them as they
	 * come.  Of the others, those whose memory is one flat mapping (KVM)
	 * give frame 0's address for the whole guest; the rest are mapped
	 * batch by batch.
	 */
	if (s->ops->put_pages != NULL)
		return 0;
	if (s->ops->map(s->g, &pfn, 1, 1, &ptr, &handle) == 0 &&
	    handle == NULL && ptr != NULL)
		s->mem = ptr;
	else if (handle != NULL)
		s->ops->unmap(s->g, handle);
	return 0;
}

/*
 * What each frame of a PAGES record becomes: its data, the zero page (a
 * frame written before and now zero), or NULL (zero and never written:
 * fresh memory is zero, so it is not touched).  Keeps the map of frames
 * written.
 */
static void
page_sources(struct rs *s, const struct vmi_pages_view *v, uint64_t *pfn,
    const void **data)
{
	static const uint8_t zero[4096];
	const uint8_t *d = v->data;

	for (uint32_t i = 0; i < v->count; i++) {
		uint64_t f = v->pfn[i] & VMI_PFN_MASK;
		uint64_t bit = 1ull << f % 64;

		pfn[i] = f;
		if (v->pfn[i] & VMI_PFN_ZERO) {
			data[i] = s->written[f / 64] & bit ? zero : NULL;
			s->written[f / 64] &= ~bit;
			continue;
		}
		data[i] = d;
		d += 4096;
		s->written[f / 64] |= bit;
	}
}

/* Give the reader back the records whose pages the guest has taken. */
static void
settle(struct rs *s, struct vmi_reader *r)
{
	uint64_t put, taken;
	unsigned k = 0;

	if (s->nloan == 0 || s->ops->put_taken(s->g, &put, &taken) == -1)
		return;
	while (k < s->nloan && s->loan[k].mark <= taken)
		vmi_loan_return(r, s->loan[k++].loan);
	s->nloan -= k;
	memmove(s->loan, s->loan + k, s->nloan * sizeof(s->loan[0]));
}

/*
 * Through the backend's put_pages(): no copy of ours.  Pages of a mapped
 * image are stable as they are; those read from a pipe or socket are
 * made so by borrowing their buffer from the reader, where the backend
 * can tell when the guest has taken them (put_taken()).
 */
static int
put_pages(struct rs *s, struct vmi_reader *r, const struct vmi_record *rec)
{
	struct vmi_pages_view v;
	const void *data[VMI_PAGES_MAX];
	uint64_t pfn[VMI_PAGES_MAX], put, taken;
	struct vmi_loan *loan = NULL;
	int stable = vmi_record_stable(r, rec), rc;

	if (!stable && s->ops->put_taken != NULL) {
		settle(s, r);
		if (s->nloan < LOANS)
			loan = vmi_record_lend(r, rec);
	}
	vmi_pages_view(rec, &v);
	page_sources(s, &v, pfn, data);
	rc = s->ops->put_pages(s->g, pfn, v.count, data, stable || loan);
	if (loan != NULL) {
		/* Not known to be taken (some may be in the pipe even when
		 * the put failed): kept until the reader is freed. */
		if (rc == -1 || s->ops->put_taken(s->g, &put, &taken) == -1)
			put = UINT64_MAX;
		s->loan[s->nloan].loan = loan;
		s->loan[s->nloan++].mark = put;
	}
	if (rc == -1)
		return fail(s, "record %llu: guest memory: %s",
		    (unsigned long long)rec->seq, hv_strerror());
	return 0;
}

/* Through map(): each page copied into the guest's memory. */
static int
apply_pages(struct rs *s, const struct vmi_record *rec)
{
	struct vmi_pages_view v;
	const void *data[VMI_PAGES_MAX];
	void *ptr[VMI_PAGES_MAX], *handle = NULL;
	uint64_t pfn[VMI_PAGES_MAX];

	vmi_pages_view(rec, &v);
	page_sources(s, &v, pfn, data);
	if (s->mem == NULL &&
	    s->ops->map(s->g, pfn, v.count, 1, ptr, &handle) == -1)
		return fail(s, "record %llu: map guest memory: %s",
		    (unsigned long long)rec->seq, hv_strerror());
	for (uint32_t i = 0; i < v.count; i++) {
		uint8_t *dst = s->mem ? s->mem + (pfn[i] << 12) : ptr[i];

		if (dst == NULL) {
			if (handle)
				s->ops->unmap(s->g, handle);
			return fail(s, "record %llu: frame %#llx does not exist "
			    "in the new guest", (unsigned long long)rec->seq,
			    (unsigned long long)pfn[i]);
		}
		if (data[i] != NULL)
			memcpy(dst, data[i], 4096);
	}
	if (handle)
		s->ops->unmap(s->g, handle);
	return 0;
}

/* Does the input begin with xl's magic?  It is looked at, not taken. */
static int
input_is_xl(int fd)
{
	char buf[XL_MAGIC_LEN];

	return peek_input(fd, buf, sizeof(buf), XL_MAGIC, 2000) ==
	    XL_MAGIC_LEN && memcmp(buf, XL_MAGIC, XL_MAGIC_LEN) == 0;
}

/* A file of `xl save': the Xen backend hands it to libxl as it is. */
static int
restore_xl(struct rs *s, int fd, struct restore_result *res)
{
	const struct restore_opts *o = s->o;
	const struct hv_ops *ops = hv_by_id(VMI_BACKEND_XEN);

	if ((o->backend && strcmp(o->backend, "xen") != 0) || ops == NULL ||
	    ops->restore_native == NULL || !ops->probe()) {
		refuse(s, "an xl save file needs backend xen, which %s",
		    o->backend && strcmp(o->backend, "xen") != 0 ?
		    "was not asked for" : "this host does not run");
		verdict(s, RESTORE_REFUSED);
		return -1;
	}
	/* libxl checks the file and the host itself, before it makes
	 * anything: what it refuses leaves nothing behind. */
	if (ops->restore_native(fd, o->name, o->clone, o->paused,
	    o->config_path, &res->info) == -1) {
		s->code = RESTORE_FAILED;
		snprintf(s->err, s->errlen, "%s", hv_strerror());
		verdict(s, RESTORE_FAILED);
		return -1;
	}
	verdict(s, RESTORE_ACCEPTED);
	res->resume_ns = wall_ns();
	if (o->running)
		o->running(o->arg, res);
	return 0;
}

int
restore_stream(int fd, const struct restore_opts *o,
    struct restore_result *res, char *err, size_t errlen)
{
	struct rs s = { .o = o, .err = err, .errlen = errlen };
	struct vmi_reader *r;
	struct vmi_record rec;
	struct progress pr;
	struct progress_info pi = { .round = -1 };
	const struct vmi_guest *vg = NULL;
	int n, rc = -1;

	memset(res, 0, sizeof(*res));
	if (input_is_xl(fd)) {
		res->format = RESTORE_XL;
		rc = restore_xl(&s, fd, res);
		res->code = s.code;
		return rc;
	}
	res->format = RESTORE_VMPIPE;
	progress_init(&pr, "vm-restore", !o->progress, -1);
	if ((r = vmi_reader_new(fd, 1, err, errlen)) == NULL) {
		res->code = RESTORE_BAD_INPUT;
		verdict(&s, RESTORE_BAD_INPUT);
		return -1;
	}
	while ((n = vmi_next(r, &rec)) == 1) {
		/* The reader has checked the order: CONFIG comes before
		 * memory and state (vmi_next()). */
		if (rec.type & VMI_REC_OPTIONAL)
			continue;
		switch (rec.type) {
		case VMI_REC_GUEST:
			vg = vmi_reader_guest(r);
			break;
		case VMI_REC_CONFIG: {
			const void *cfg = rec.body;
			size_t cfglen = rec.len;

			s.code = RESTORE_FAILED;
			if (preflight(&s, vg, &cfg, &cfglen) == -1 ||
			    create_guest(&s, cfg, cfglen) == -1) {
				verdict(&s, s.code);
				goto out;
			}
			verdict(&s, RESTORE_ACCEPTED);
			pi.total = pi.mem_pages = s.npages;
			break;
		}
		case VMI_REC_PAGES:
			if ((s.ops->put_pages ? put_pages(&s, r, &rec) :
			    apply_pages(&s, &rec)) == -1)
				goto out;
			res->pages += ((const struct vmi_pages *)rec.body)->count;
			pi.done = res->pages;
			pi.bytes = vmi_reader_offset(r);
			pi.share = (double)res->pages / s.npages;
			progress_update(&pr, &pi, 0);
			break;
		case VMI_REC_VCPU:
		case VMI_REC_PLATFORM: {
			struct vmi_state h;
			struct hv_state st;

			memcpy(&h, rec.body, sizeof(h));
			st.kind = rec.type;
			st.id = h.id;
			st.tag = h.tag;
			st.len = rec.len - sizeof(h);
			st.data = (const uint8_t *)rec.body + sizeof(h);
			if (s.ops->set_state(s.g, &st) == -1) {
				fail(&s, "record %llu (%s): %s",
				    (unsigned long long)rec.seq,
				    vmi_type_name(rec.type), hv_strerror());
				goto out;
			}
			break;
		}
		}
		res->records++;
	}
	progress_clear(&pr);
	if (n == -1) {
		fail(&s, "%s", vmi_reader_error(r));
		s.code = RESTORE_BAD_INPUT;
		if (s.g == NULL)
			verdict(&s, RESTORE_BAD_INPUT);
		goto out;
	}
	if (o->whole_input && vmi_reader_trailing(r)) {
		fail(&s, "data after the END record at offset %llu",
		    (unsigned long long)vmi_reader_offset(r));
		s.code = RESTORE_BAD_INPUT;
		goto out;
	}
	if (s.g == NULL) {	/* the reader refuses an image without CONFIG */
		fail(&s, "internal error: no guest after END");
		goto out;
	}
	s.code = RESTORE_FAILED;
	res->bytes = vmi_reader_offset(r);
	res->info = s.info;
	/*
	 * The input is all read: let go of it now (an image file's map
	 * above all: unmapping clears a page-table entry per page, some
	 * 0.1 s per 100 MB in a Xen dom0 under the emulator), not once the
	 * guest runs and has the CPU to share.  Pages spliced to libxl
	 * keep their own references.
	 */
	vmi_reader_free(r);
	r = NULL;
	if (o->prepared != NULL) {
		char why[512];

		if (o->prepared(o->arg, res, why, sizeof(why)) == -1) {
			/* close() below destroys the uncommitted guest. */
			fail(&s, "guest %s destroyed: %s", s.info.name, why);
			goto out;
		}
	}
	if (s.ops->commit(s.g) == -1) {
		fail(&s, "commit guest %s: %s", s.info.name, hv_strerror());
		goto out;
	}
	/* After the commit, when a backend knows its guest by number
	 * (libxl's restore gives Xen's domain ID only at its end). */
	if (s.twin[0] != '\0' && twin_take_name(&s) == -1) {
		s.ops->destroy(s.g);
		goto out;
	}
	if (!o->paused && s.ops->resume(s.g) == -1) {
		fail(&s, "resume guest %s: %s", s.info.name, hv_strerror());
		s.ops->destroy(s.g);
		goto out;
	}
	res->resume_ns = wall_ns();
	/* The guest is made: someone must answer for its shutdowns.  A
	 * monitor that can't start leaves a guest that runs all the same. */
	if (s.ops->supervise != NULL)
		(void)s.ops->supervise(s.g);
	/* What was created, not a fresh query: asking a running guest can
	 * wait on its vCPUs. */
	res->info = s.info;
	res->info.paused = o->paused;
	if (o->running)
		o->running(o->arg, res);
	rc = 0;
out:
	res->code = s.code;
	progress_clear(&pr);
	/* An uncommitted guest is destroyed by close(). */
	if (s.g)
		s.ops->close(s.g);
	free(s.written);
	free(s.own_cfg);
	vmi_reader_free(r);
	return rc;
}
