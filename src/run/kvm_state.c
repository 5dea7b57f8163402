/*
 * kvm_state.c: getting and setting every piece of KVM state a guest
 * needs to continue elsewhere (see kvm_proto.h for the tags and order).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "kvm_state.h"

static struct kvm_msrs *
msrs_alloc(unsigned n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	if (m != NULL)
		m->nmsrs = n;
	return m;
}

/*
 * Keep only the MSRs this vCPU can read: KVM_GET_MSRS stops at the first
 * one it refuses and returns how many it read, so drop that one and ask
 * again.  The index list names every MSR KVM knows, not every one this
 * CPU model has.
 */
static int
msrs_probe(struct kvm_vmstate *s)
{
	struct kvm_msr_list *l;
	struct kvm_msrs *m;
	unsigned i;
	int r;

	if (kvm_get_msr_index_list(s->kvm, &l) == -1)
		return -1;
	if ((m = msrs_alloc(l->nmsrs)) == NULL) {
		free(l);
		return -1;
	}
	for (;;) {
		m->nmsrs = l->nmsrs;
		for (i = 0; i < l->nmsrs; i++)
			m->entries[i].index = l->indices[i];
		if ((r = kvm_get_msrs(s->vcpu[0], m)) == -1)
			break;
		if ((unsigned)r >= l->nmsrs)
			break;
		memmove(&l->indices[r], &l->indices[r + 1],
		    (l->nmsrs - r - 1) * sizeof(l->indices[0]));
		l->nmsrs--;
	}
	free(m);
	if (r == -1) {
		free(l);
		return -1;
	}
	s->msrs = l;
	return 0;
}

int
kvm_state_init(struct kvm_vmstate *s, int kvm, int vm, unsigned nvcpus,
    const int *vcpu)
{
	memset(s, 0, sizeof(*s));
	s->kvm = kvm;
	s->vm = vm;
	s->nvcpus = nvcpus;
	s->vcpu = vcpu;
	s->has_xsave = kvm_check_extension(kvm, KVM_CAP_XSAVE) > 0;
	s->has_xcrs = kvm_check_extension(kvm, KVM_CAP_XCRS) > 0;
	s->has_debugregs = kvm_check_extension(kvm, KVM_CAP_DEBUGREGS) > 0;
	s->has_pit = kvm_check_extension(kvm, KVM_CAP_PIT2) > 0;
	return nvcpus ? msrs_probe(s) : 0;
}

void
kvm_state_fini(struct kvm_vmstate *s)
{
	free(s->msrs);
	s->msrs = NULL;
}

static int
emit(hv_state_fn fn, void *arg, uint32_t kind, uint32_t id, uint32_t tag,
    const void *data, size_t len)
{
	struct hv_state st = { kind, id, tag, (uint32_t)len, data };

	return fn(arg, &st);
}

static int
get_platform(struct kvm_vmstate *s, hv_state_fn fn, void *arg)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	uint32_t c;
	int r;

	for (c = 0; c < 3; c++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = c;
		if (kvm_get_irqchip(s->vm, &chip) == -1)
			return -1;
		if ((r = emit(fn, arg, VMI_REC_PLATFORM, 0,
		    KVM_ST_PIC_MASTER + c, &chip, sizeof(chip))) != 0)
			return r;
	}
	if (s->has_pit) {
		memset(&pit, 0, sizeof(pit));
		if (kvm_get_pit2(s->vm, &pit) == -1)
			return -1;
		if ((r = emit(fn, arg, VMI_REC_PLATFORM, 0, KVM_ST_PIT2, &pit,
		    sizeof(pit))) != 0)
			return r;
	}
	return 0;
}

/* Every piece of one vCPU, in set order. */
static int
get_vcpu(struct kvm_vmstate *s, unsigned id, hv_state_fn fn, void *arg)
{
	int fd = s->vcpu[id], r = -1, khz;
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_msr_list *l = s->msrs;
	struct kvm_msrs *msrs = NULL;
	struct kvm_xsave *xsave = NULL;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_sregs sregs;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dr;
	uint64_t tsc_khz;
	unsigned i;

#define EMIT(tag, p, len) do {						\
	if ((r = emit(fn, arg, VMI_REC_VCPU, id, tag, p, len)) != 0)	\
		goto out;						\
} while (0)
#define GET(call, tag, obj) do {					\
	memset(&obj, 0, sizeof(obj));					\
	if (call(fd, &obj) == -1) {					\
		r = -1;							\
		goto out;						\
	}								\
	EMIT(tag, &obj, sizeof(obj));					\
} while (0)

	if (kvm_cpuid_alloc(fd, kvm_get_cpuid2, &cpuid) == -1)
		goto out;
	EMIT(KVM_ST_CPUID, cpuid, sizeof(*cpuid) +
	    cpuid->nent * sizeof(cpuid->entries[0]));
	if ((khz = kvm_get_tsc_khz(fd)) == -1)
		goto out;
	tsc_khz = (uint64_t)khz;
	EMIT(KVM_ST_TSC_KHZ, &tsc_khz, sizeof(tsc_khz));
	GET(kvm_get_regs, KVM_ST_REGS, regs);
	GET(kvm_get_fpu, KVM_ST_FPU, fpu);
	if (s->has_xsave) {
		if ((xsave = calloc(1, sizeof(*xsave))) == NULL ||
		    kvm_get_xsave(fd, xsave) == -1) {
			r = -1;
			goto out;
		}
		EMIT(KVM_ST_XSAVE, xsave, sizeof(*xsave));
	}
	if (s->has_xcrs)
		GET(kvm_get_xcrs, KVM_ST_XCRS, xcrs);
	GET(kvm_get_sregs, KVM_ST_SREGS, sregs);
	if ((msrs = msrs_alloc(l->nmsrs)) == NULL) {
		r = -1;
		goto out;
	}
	for (i = 0; i < l->nmsrs; i++)
		msrs->entries[i].index = l->indices[i];
	if ((r = kvm_get_msrs(fd, msrs)) == -1)
		goto out;
	if ((unsigned)r != l->nmsrs) {
		hv_seterr("KVM_GET_MSRS: MSR 0x%x unreadable on vCPU %u",
		    l->indices[r], id);
		errno = EIO;
		r = -1;
		goto out;
	}
	EMIT(KVM_ST_MSRS, msrs, sizeof(*msrs) +
	    msrs->nmsrs * sizeof(msrs->entries[0]));
	GET(kvm_get_mp_state, KVM_ST_MP_STATE, mp);
	GET(kvm_get_lapic, KVM_ST_LAPIC, lapic);
	GET(kvm_get_vcpu_events, KVM_ST_EVENTS, ev);
	if (s->has_debugregs)
		GET(kvm_get_debugregs, KVM_ST_DEBUGREGS, dr);
	r = 0;
out:
	free(cpuid);
	free(msrs);
	free(xsave);
	return r;
#undef GET
#undef EMIT
}

int
kvm_state_get(struct kvm_vmstate *s, hv_state_fn fn, void *arg)
{
	struct kvm_clock_data clock;
	unsigned i;
	int r;

	if ((r = get_platform(s, fn, arg)) != 0)
		return r;
	for (i = 0; i < s->nvcpus; i++)
		if ((r = get_vcpu(s, i, fn, arg)) != 0)
			return r;
	memset(&clock, 0, sizeof(clock));
	if (kvm_get_clock(s->vm, &clock) == -1)
		return -1;
	/* Only the clock value travels; the host's flags mean nothing there. */
	clock.flags = 0;
	return emit(fn, arg, VMI_REC_PLATFORM, 0, KVM_ST_CLOCK, &clock,
	    sizeof(clock));
}

static int
badlen(const struct hv_state *st, size_t want)
{
	hv_seterr("state %s of vCPU %u: %u octets, want %zu",
	    kvm_state_name(st->tag), st->id, st->len, want);
	errno = EINVAL;
	return -1;
}

/* Copy the body into an aligned buffer of exactly its expected size. */
#define BODY(obj) do {							\
	if (st->len != sizeof(obj))					\
		return badlen(st, sizeof(obj));				\
	memcpy(&obj, st->data, sizeof(obj));				\
} while (0)

static int
set_platform(struct kvm_vmstate *s, const struct hv_state *st)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;

	switch (st->tag) {
	case KVM_ST_PIC_MASTER:
	case KVM_ST_PIC_SLAVE:
	case KVM_ST_IOAPIC:
		BODY(chip);
		if (chip.chip_id != st->tag - KVM_ST_PIC_MASTER)
			return badlen(st, sizeof(chip));
		return kvm_set_irqchip(s->vm, &chip);
	case KVM_ST_PIT2:
		BODY(pit);
		return kvm_set_pit2(s->vm, &pit);
	case KVM_ST_CLOCK:
		BODY(clock);
		clock.flags = 0;
		return kvm_set_clock(s->vm, &clock);
	}
	hv_seterr("unknown platform state tag 0x%x", st->tag);
	errno = EINVAL;
	return -1;
}

static int
set_tsc_khz(int fd, const struct hv_state *st)
{
	uint64_t khz;
	int cur;

	BODY(khz);
	if ((cur = kvm_get_tsc_khz(fd)) == -1)
		return -1;
	if ((uint64_t)cur == khz)
		return 0;
	if (kvm_set_tsc_khz(fd, (unsigned long)khz) == -1) {
		hv_seterr("KVM_SET_TSC_KHZ %llu (host runs at %d kHz): %s",
		    (unsigned long long)khz, cur, strerror(errno));
		return -1;
	}
	return 0;
}

/* CPUID and MSRS have a count and then entries: check they agree. */
static void *
counted(const struct hv_state *st, size_t head, size_t each)
{
	uint32_t n;
	void *p;

	if (st->len < head) {
		badlen(st, head);
		return NULL;
	}
	memcpy(&n, st->data, sizeof(n));
	if (n > 65536 || st->len != head + (size_t)n * each) {
		badlen(st, head + (size_t)n * each);
		return NULL;
	}
	if ((p = malloc(st->len)) != NULL)
		memcpy(p, st->data, st->len);
	return p;
}

static int
set_msrs(int fd, const struct hv_state *st)
{
	struct kvm_msrs *m;
	int r;

	m = counted(st, sizeof(*m), sizeof(m->entries[0]));
	if (m == NULL)
		return -1;
	if ((r = kvm_set_msrs(fd, m)) >= 0 && (unsigned)r != m->nmsrs) {
		hv_seterr("KVM_SET_MSRS: MSR 0x%x refused on vCPU %u",
		    m->entries[r].index, st->id);
		errno = EINVAL;
		r = -1;
	}
	free(m);
	return r < 0 ? -1 : 0;
}

static int
set_vcpu(struct kvm_vmstate *s, const struct hv_state *st)
{
	int fd = s->vcpu[st->id], r;
	struct kvm_cpuid2 *cpuid;
	struct kvm_xsave *xsave;
	union {
		struct kvm_regs regs;
		struct kvm_fpu fpu;
		struct kvm_xcrs xcrs;
		struct kvm_sregs sregs;
		struct kvm_mp_state mp;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events ev;
		struct kvm_debugregs dr;
	} u;

	switch (st->tag) {
	case KVM_ST_CPUID:
		cpuid = counted(st, sizeof(*cpuid), sizeof(cpuid->entries[0]));
		if (cpuid == NULL)
			return -1;
		r = kvm_set_cpuid2(fd, cpuid);
		free(cpuid);
		return r;
	case KVM_ST_TSC_KHZ:
		return set_tsc_khz(fd, st);
	case KVM_ST_REGS:
		BODY(u.regs);
		return kvm_set_regs(fd, &u.regs);
	case KVM_ST_FPU:
		BODY(u.fpu);
		return kvm_set_fpu(fd, &u.fpu);
	case KVM_ST_XSAVE:
		if (st->len != sizeof(*xsave))
			return badlen(st, sizeof(*xsave));
		if ((xsave = malloc(sizeof(*xsave))) == NULL)
			return -1;
		memcpy(xsave, st->data, sizeof(*xsave));
		r = kvm_set_xsave(fd, xsave);
		free(xsave);
		return r;
	case KVM_ST_XCRS:
		BODY(u.xcrs);
		return kvm_set_xcrs(fd, &u.xcrs);
	case KVM_ST_SREGS:
		BODY(u.sregs);
		return kvm_set_sregs(fd, &u.sregs);
	case KVM_ST_MSRS:
		return set_msrs(fd, st);
	case KVM_ST_MP_STATE:
		BODY(u.mp);
		return kvm_set_mp_state(fd, &u.mp);
	case KVM_ST_LAPIC:
		BODY(u.lapic);
		return kvm_set_lapic(fd, &u.lapic);
	case KVM_ST_EVENTS:
		BODY(u.ev);
		return kvm_set_vcpu_events(fd, &u.ev);
	case KVM_ST_DEBUGREGS:
		BODY(u.dr);
		return kvm_set_debugregs(fd, &u.dr);
	}
	hv_seterr("unknown vCPU state tag 0x%x", st->tag);
	errno = EINVAL;
	return -1;
}

int
kvm_state_set(struct kvm_vmstate *s, const struct hv_state *st)
{
	if (st->kind == VMI_REC_PLATFORM)
		return set_platform(s, st);
	if (st->kind != VMI_REC_VCPU) {
		hv_seterr("state record of kind %u", st->kind);
		errno = EINVAL;
		return -1;
	}
	if (st->id >= s->nvcpus) {
		hv_seterr("state %s for vCPU %u, guest has %u",
		    kvm_state_name(st->tag), st->id, s->nvcpus);
		errno = EINVAL;
		return -1;
	}
	return set_vcpu(s, st);
}
