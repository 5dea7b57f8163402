/*
 * kvm_state.h: vm-run's reading and writing of the KVM state that carries
 * a guest from one VM to another, one piece per tag of kvm_proto.h's
 * enum kvm_state_tag (where the pieces and their order are described).
 */
#ifndef KVM_STATE_H
#define KVM_STATE_H

#include <stdint.h>

#include "hv.h"
#include "kvm_proto.h"

/* What the state code needs to know of a VM; filled by kvm_state_init(). */
struct kvm_vmstate {
	int		 kvm;		/* /dev/kvm */
	int		 vm;
	unsigned	 nvcpus;
	const int	*vcpu;		/* nvcpus vCPU fds */
	void		*msrs;		/* struct kvm_msr_list: readable ones */
	int		 has_xsave, has_xcrs, has_debugregs, has_pit;
};

int	 kvm_state_init(struct kvm_vmstate *, int kvm, int vm, unsigned nvcpus,
	    const int *vcpu);
void	 kvm_state_fini(struct kvm_vmstate *);

/* The guest's vCPUs must be stopped (not inside KVM_RUN). */
int	 kvm_state_get(struct kvm_vmstate *, hv_state_fn fn, void *arg);
int	 kvm_state_set(struct kvm_vmstate *, const struct hv_state *);

#endif /* KVM_STATE_H */
