/*
 * run.h: vm-run, a small KVM VMM that runs one guest per process.
 *
 * The main thread owns the control socket and does all VM-wide work;
 * each vCPU has a thread that loops in KVM_RUN.  vm->lock and its two
 * condition variables hand vCPUs between running and stopped: the
 * controller clears vm->running, kicks every vCPU out of KVM_RUN with a
 * signal, and waits on `ack' until all of them say they stopped.
 */
#ifndef RUN_H
#define RUN_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "kvm_guest_abi.h"
#include "kvm_ioctl.h"
#include "kvm_proto.h"
#include "kvm_state.h"

struct vm;

struct vcpu {
	struct vm	*vm;
	unsigned	 id;
	int		 fd;
	struct kvm_run	*run;
	pthread_t	 thread;
	int		 started;
	int		 stopped;	/* parked outside KVM_RUN (vm->lock) */
	int		 dead;		/* stopped for good (vm->lock) */
	int		 pending_io;	/* last exit was I/O, not completed */
};

enum backing { MEM_AUTO, MEM_4K, MEM_THP, MEM_HUGETLB };

#define RUN_MAX_CLIENTS	32
/* A frame begun must be whole within this (ms), or its client goes. */
#define RUN_FRAME_MS	5000

/* A connection to the control socket (ctl.c), and what it holds (lease.c). */
struct client {
	int	fd;			/* 0: slot free */
	struct kvmp_in in;		/* the frame coming in */
	uint64_t since;			/* ns: its first octet, or 0 */
	int	hello;
	int	controller;		/* of an incoming guest */
	int	lease;			/* its PAUSE keeps the guest paused */
	int	logger;			/* it started dirty logging */
};

struct vm {
	char		 name[64];
	uint8_t		 uuid[16];
	uint64_t	 mem_bytes;
	unsigned	 nvcpus;
	int		 incoming;	/* waiting for a restore */
	int		 committed;
	int		 foreground;

	char		 dir[PATH_MAX];
	char		 sock_path[PATH_MAX];
	char		 pid_path[PATH_MAX];
	char		 log_path[PATH_MAX];
	int		 pidfd;
	int		 logfd;
	struct {			/* conlog.c's bounds */
		uint64_t size, max, rate, last_ns, dropped, report_ns;
		double	 tokens;
	} log;

	int		 kvm;
	int		 fd;
	int		 runsz;
	struct vcpu	*vcpu;
	int		*vcpufd;
	struct kvm_vmstate st;
	struct kvm_cpuid2 *cpuid;
	uint64_t	 tsc_khz;
	uint32_t	 features[4];	/* CPUID 1.ECX 1.EDX 7.EBX 7.ECX */

	enum backing	 backing;
	int		 memfd;
	uint8_t		*mem;
	int		 logging;
	uint64_t	*bitmap;
	uint64_t	*devdirty;	/* frames vm-run itself wrote (disk.c) */

	int		 disk_fd;	/* --disk, or -1 */
	uint64_t	 disk_blocks;
	char		 disk_path[PATH_MAX];

	struct client	 clients[RUN_MAX_CLIENTS];
	int		 held;		/* paused beyond any connection */

	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;		/* vCPUs wait here */
	pthread_cond_t	 ack;		/* the controller waits here */
	int		 running;
	int		 quit;
};

/* mem.c */
void	 mem_create(struct vm *);
const char *mem_backing_name(enum backing);

/* vm.c */
void	 vm_create(struct vm *);
int	 vm_cpu_features(struct vm *);
int	 vm_log_dirty(struct vm *, int on);
long	 vm_dirty_fetch(struct vm *);

/* disk.c */
void	 disk_open(struct vm *, const char *path);
void	 disk_request(struct vm *, uint32_t gpa);
/* The running guest's hold of its disk: -1 (hv_strerror()) when
 * another running guest has it. */
int	 disk_claim(struct vm *);
void	 disk_release(struct vm *);

/* boot.c */
void	 boot_image(struct vm *, const char *path, struct kvmg_params *);

/* vcpu.c */
void	 vcpu_start_all(struct vm *);
void	 vm_pause(struct vm *);
int	 vm_resume(struct vm *);	/* -1: its disk is another's */
int	 vm_paused(struct vm *);
int	 vm_any_dead(struct vm *);
void	 vm_stop_all(struct vm *);
/* conlog.c */
int	 conlog_open(struct vm *);
void	 conlog_line(struct vm *, const char *text, size_t len);
void	 vmlog(struct vm *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* lease.c */
void	 lease_pause(struct vm *, struct client *);
int	 lease_resume(struct vm *);
int	 lease_hold(struct vm *, struct client *);
int	 lease_log(struct vm *, struct client *, int on);
void	 lease_drop(struct vm *, struct client *);

/* sock.c */
int	 ctl_listen(struct vm *);
void	 vm_cleanup(struct vm *);

/* ctl.c */
void	 ctl_serve(struct vm *, int lfd, int ctlfd);

#endif /* RUN_H */
