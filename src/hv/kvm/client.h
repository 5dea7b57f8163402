/*
 * client.h: the KVM backend's side of the vm-run control socket
 * (private to src/hv/kvm/).
 */
#ifndef KVM_CLIENT_H
#define KVM_CLIENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"
#include "kvm_proto.h"

struct hv_guest {
	int		 sock;
	char		 name[VMI_NAME_MAX];
	int		 created;	/* by create(), not committed yet */
	int		 paused;	/* by us: close() holds the pause */
	uint64_t	 mem_bytes;
	unsigned	 vcpus;
	uint8_t		*mem;		/* whole memfd, once mapped */
	int		 mem_writable;
	/* A restore's state items, sent in one request at commit. */
	char		*pend;
	size_t		 pend_len;
	size_t		 pend_cap;
};

/* Connect to RUNDIR/NAME.sock (names.h) and say HELLO.  A name that
 * fails the name rule is refused (EINVAL) with the rule's message. */
int	kvmc_connect(const char *name, struct hv_guest **out);
/* HELLO on an already connected socket (create() uses a socketpair). */
int	kvmc_hello(struct hv_guest *);

/*
 * One request and its reply.  *rep (malloc'd, may be NULL) and *fd are
 * optional.  A failure reply becomes -1, errno and an hv_seterr message
 * naming the guest.
 */
int	kvmc_call(struct hv_guest *, uint16_t op, const void *req,
	    uint32_t len, void **rep, uint32_t *rlen, int *fd);

void	kvmc_free(struct hv_guest *);

/* config.c: the CONFIG record.  The disk it names into disk ("" for
 * none): 0, or -1 with a message for a record that is not one. */
int	kvm_config_disk(const void *config, size_t len, char *disk,
	    size_t size);
int	kvm_config_disks(const void *config, size_t len, struct hv_disk *out,
	    unsigned max);
int	kvm_config_move_disks(const void *config, size_t len,
	    const char *const *path, unsigned n, void **out, size_t *outlen);
/* Does this host's policy admit the disk? (hv.h's admit) */
int	kvm_admit(const struct hv_info *, const void *config, size_t len,
	    char *why, size_t whylen);

/* spawn.c */
int	kvm_spawn_incoming(const struct hv_info *, const void *config,
	    size_t len, struct hv_guest **out);

#endif /* KVM_CLIENT_H */
