/*
 * ctl.c: the control socket.  The main thread serves every connection
 * here, one request at a time; requests are short, and the few that wait
 * (pause) wait only for the vCPUs to leave KVM_RUN.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exits.h"
#include "hv.h"
#include "io.h"
#include "kvm_proto.h"
#include "run.h"

struct reply {
	int32_t	 status;
	void	*data;
	size_t	 len, cap;
	int	 fd;
	int	 own_data;
};

static int controller_seen;

static int
fail(struct reply *r, int e, const char *fmt, ...)
{
	static char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = -e;
	r->data = msg;
	r->len = strlen(msg);
	return -1;
}

static int
append(struct reply *r, const void *p, size_t len)
{
	size_t need = r->len + ((len + 7) & ~(size_t)7);

	if (need > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 65536;
		void *n;

		while (cap < need)
			cap *= 2;
		if ((n = realloc(r->own_data ? r->data : NULL, cap)) == NULL)
			return -1;
		r->data = n;
		r->cap = cap;
		r->own_data = 1;
	}
	memcpy((char *)r->data + r->len, p, len);
	memset((char *)r->data + r->len + len, 0, need - r->len - len);
	r->len = need;
	return 0;
}

static int
state_out(void *arg, const struct hv_state *st)
{
	struct reply *r = arg;
	struct kvmp_state h = { st->kind, st->id, st->tag, st->len };

	if (r->len + sizeof(h) + st->len + 8 > KVMP_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (append(r, &h, sizeof(h)) == -1)
		return -1;
	/* append() pads to 8, and kvmp_state is 16 octets: no gap. */
	return append(r, st->data, st->len);
}

static int
set_state(struct vm *vm, const char *p, size_t len, struct reply *r)
{
	size_t off = 0;

	while (off < len) {
		struct kvmp_state h;
		struct hv_state st;

		if (len - off < sizeof(h))
			return fail(r, EINVAL, "truncated state item");
		memcpy(&h, p + off, sizeof(h));
		off += sizeof(h);
		if (h.len > len - off)
			return fail(r, EINVAL, "state item %s longer than "
			    "the request", kvm_state_name(h.tag));
		st.kind = h.kind;
		st.id = h.id;
		st.tag = h.tag;
		st.len = h.len;
		st.data = p + off;
		if (kvm_state_set(&vm->st, &st) == -1)
			return fail(r, errno ? errno : EINVAL, "%s",
			    hv_strerror());
		off += ((size_t)h.len + 7) & ~(size_t)7;
	}
	return 0;
}

static void
info(struct vm *vm, struct kvmp_info *i)
{
	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", vm->name);
	memcpy(i->uuid, vm->uuid, 16);
	i->mem_bytes = vm->mem_bytes;
	i->vcpus = vm->nvcpus;
	i->pid = getpid();
	i->tsc_khz = vm->tsc_khz;
	if (vm_paused(vm))
		i->flags |= KVMP_F_PAUSED;
	if (vm->incoming && !vm->committed)
		i->flags |= KVMP_F_INCOMING;
	if (vm->logging)
		i->flags |= KVMP_F_LOGGING;
	if (vm->backing == MEM_HUGETLB)
		i->flags |= KVMP_F_HUGETLB;
	if (vm->backing == MEM_THP)
		i->flags |= KVMP_F_THP;
	if (vm_any_dead(vm))
		i->flags |= KVMP_F_DEAD;
	/* Asking a running vCPU would wait until it next exits to us. */
	if (i->flags & KVMP_F_PAUSED)
		(void)vm_cpu_features(vm);
	memcpy(i->cpu_features, vm->features, sizeof(i->cpu_features));
	snprintf(i->log, sizeof(i->log), "%.*s", (int)sizeof(i->log) - 1,
	    vm->log_path);
}

/*
 * One request.  Returns 0 to keep the connection, -1 to close it, and
 * sets *bye for DESTROY (exit once the reply is out).
 */
static int
handle(struct vm *vm, struct client *c, const struct kvmp_hdr *h,
    void *p, int *bye)
{
	struct reply r = { .fd = -1 };
	struct kvmp_info inf;
	struct {
		struct kvmp_config cfg;
		char path[PATH_MAX];
	} __attribute__((packed)) cfg;
	uint32_t hello[2] = { 0, 0 };
	uint64_t u64;
	long n;
	int keep = 0, pending = vm->incoming && !vm->committed;

	hv_clearerr();
	if (!c->hello && h->op != KVMP_HELLO) {
		fail(&r, EPROTO, "HELLO must come first");
		keep = -1;
		goto out;
	}
	switch (h->op) {
	case KVMP_HELLO:
		if (h->len >= 8)
			memcpy(hello, p, sizeof(hello));
		if (h->len < 8 || hello[0] != KVMP_VERSION) {
			fail(&r, EPROTONOSUPPORT, "protocol version %u, "
			    "vm-run speaks %u", h->len >= 8 ? hello[0] : 0,
			    KVMP_VERSION);
			keep = -1;
			break;
		}
		c->hello = 1;
		hello[0] = KVMP_VERSION;
		hello[1] = 0;
		r.data = hello;
		r.len = sizeof(hello);
		break;
	case KVMP_INFO:
		info(vm, &inf);
		r.data = &inf;
		r.len = sizeof(inf);
		break;
	case KVMP_CONFIG:
		memset(&cfg, 0, sizeof(cfg));
		cfg.cfg.version = KVMP_CONFIG_VERSION;
		cfg.cfg.tsc_khz = vm->tsc_khz;
		r.data = &cfg;
		r.len = sizeof(cfg.cfg);
		if (vm->disk_fd != -1) {
			cfg.cfg.version = KVMP_CONFIG_DISK;
			cfg.cfg.disk_len = strlen(vm->disk_path);
			memcpy(cfg.path, vm->disk_path, cfg.cfg.disk_len);
			r.len += cfg.cfg.disk_len;
		}
		break;
	case KVMP_MEMFD:
		u64 = vm->mem_bytes;
		r.data = &u64;
		r.len = sizeof(u64);
		r.fd = vm->memfd;
		break;
	case KVMP_PAUSE:
		lease_pause(vm, c);
		break;
	case KVMP_RESUME:
		if (pending)
			fail(&r, EBUSY, "incoming guest not committed yet");
		else if (lease_resume(vm) == -1)
			fail(&r, errno, "%s", hv_strerror());
		break;
	case KVMP_HOLD:
		if (lease_hold(vm, c) == -1)
			fail(&r, errno, "%s", hv_strerror());
		break;
	case KVMP_LOG_START:
	case KVMP_LOG_STOP:
		if (lease_log(vm, c, h->op == KVMP_LOG_START) == -1)
			fail(&r, errno, "%s", hv_strerror());
		break;
	case KVMP_DIRTY:
		if ((n = vm_dirty_fetch(vm)) == -1) {
			fail(&r, errno, "%s", hv_strerror());
			break;
		}
		u64 = (uint64_t)n;
		if (append(&r, &u64, sizeof(u64)) == -1 ||
		    append(&r, vm->bitmap, (((vm->mem_bytes >> 12) + 63) / 64)
		    * 8) == -1)
			fail(&r, ENOMEM, "dirty bitmap reply");
		break;
	case KVMP_GET_STATE:
		if (!vm_paused(vm)) {
			fail(&r, EBUSY, "guest is running: pause it first");
			break;
		}
		if (kvm_state_get(&vm->st, state_out, &r) != 0) {
			if (r.own_data)
				free(r.data);
			r.own_data = 0;
			r.len = 0;
			fail(&r, errno ? errno : EIO, "%s", hv_strerror());
		}
		break;
	case KVMP_SET_STATE:
		if (!pending || !c->controller)
			fail(&r, EPERM, "state can be set only by the "
			    "controller of an incoming guest");
		else
			set_state(vm, p, h->len, &r);
		break;
	case KVMP_CLAIM:
		if (!pending)
			fail(&r, EINVAL, "not an incoming guest");
		else if (controller_seen && !c->controller)
			fail(&r, EBUSY, "incoming guest already has a "
			    "controller");
		else
			c->controller = controller_seen = 1;
		break;
	case KVMP_COMMIT:
		if (!pending || !c->controller) {
			fail(&r, EPERM, "only the controller of an incoming "
			    "guest commits it");
			break;
		}
		if (conlog_open(vm) == -1) {
			fail(&r, errno, "%s: %s", vm->log_path,
			    strerror(errno));
			break;
		}
		if (!vm->foreground)
			dup2(vm->logfd, 2);
		vm->committed = 1;
		vmlog(vm, "guest %s restored (%u vCPUs, %llu MiB)", vm->name,
		    vm->nvcpus, (unsigned long long)(vm->mem_bytes >> 20));
		break;
	case KVMP_DESTROY:
		/* Gone before the reply: the caller may rely on it. */
		vmlog(vm, "guest %s destroyed", vm->name);
		vm_stop_all(vm);
		vm_cleanup(vm);
		*bye = 1;
		break;
	case KVMP_CONSOLE:
		r.data = vm->log_path;
		r.len = strlen(vm->log_path);
		break;
	default:
		fail(&r, EOPNOTSUPP, "unknown request %u", h->op);
	}
out:
	if (kvmp_send(c->fd, h->op, r.status, r.data, (uint32_t)r.len,
	    r.fd) == -1)
		keep = -1;
	if (r.own_data)
		free(r.data);
	return keep;
}

static void
add_client(struct vm *vm, int fd, int controller)
{
	unsigned i;

	/* Every client is served from the one loop below: none may block
	 * it. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		close(fd);
		return;
	}
	for (i = 0; i < RUN_MAX_CLIENTS; i++)
		if (vm->clients[i].fd <= 0) {
			vm->clients[i] = (struct client){ .fd = fd,
			    .controller = controller, .in = { .fd = -1 } };
			return;
		}
	kvmp_send(fd, 0, -EAGAIN, "too many connections", 20, -1);
	close(fd);
}

static void
drop(struct vm *vm, struct client *c)
{
	close(c->fd);
	c->fd = 0;
	kvmp_in_reset(&c->in);
	c->since = 0;
	lease_drop(vm, c);
	if (c->controller && vm->incoming && !vm->committed) {
		/* The restore failed or was abandoned: leave nothing. */
		vmlog(vm, "incoming guest %s: controller gone before commit, "
		    "discarded", vm->name);
		vm_stop_all(vm);
		vm_cleanup(vm);
		exit(VMP_EX_FAIL);
	}
}

void
ctl_serve(struct vm *vm, int lfd, int ctlfd)
{
	struct pollfd pfd[RUN_MAX_CLIENTS + 2];
	struct signalfd_siginfo si;
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		err(VMP_EX_FAIL, "signalfd");
	if (ctlfd >= 0) {
		add_client(vm, ctlfd, 1);
		controller_seen = 1;
	}
	for (;;) {
		unsigned i, n = 2;
		int wait = -1;
		uint64_t now = now_ns();

		/* A client with half a frame has until its deadline. */
		for (i = 0; i < RUN_MAX_CLIENTS; i++) {
			struct client *c = &vm->clients[i];
			int64_t left;

			if (c->fd <= 0 || c->since == 0)
				continue;
			left = ((int64_t)(c->since - now) / 1000000) +
			    RUN_FRAME_MS;
			if (left <= 0) {
				vmlog(vm, "a client sent half a frame and "
				    "nothing more for %d ms: dropped",
				    RUN_FRAME_MS);
				drop(vm, c);
				continue;
			}
			if (wait < 0 || left < wait)
				wait = (int)left;
		}

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (i = 0; i < RUN_MAX_CLIENTS; i++)
			pfd[n++] = (struct pollfd){
				.fd = vm->clients[i].fd > 0 ?
				    vm->clients[i].fd : -1,
				.events = POLLIN };
		if (poll(pfd, n, wait) == -1) {
			if (errno == EINTR)
				continue;
			err(VMP_EX_FAIL, "poll");
		}
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				vmlog(vm, "signal %u: guest %s destroyed",
				    si.ssi_signo, vm->name);
				vm_stop_all(vm);
				vm_cleanup(vm);
				exit(VMP_EX_OK);
			}
		}
		if (pfd[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			/* Only the owner of the socket (our uid) and root. */
			if (c >= 0 && io_peer_trusted(c, NULL) != 1) {
				static const char m[] = "permission denied: "
				    "not the guest's owner";

				kvmp_send(c, KVMP_HELLO, -EACCES, m,
				    sizeof(m) - 1, -1);
				close(c);
			} else if (c >= 0) {
				add_client(vm, c, 0);
			}
		}
		for (i = 0; i < RUN_MAX_CLIENTS; i++) {
			struct client *c = &vm->clients[i];
			int bye = 0, r;

			if (c->fd <= 0 || !(pfd[2 + i].revents &
			    (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((r = kvmp_recv_some(c->fd, &c->in)) == -1) {
				drop(vm, c);
				continue;
			}
			if (r == 0) {
				if (c->since == 0 && c->in.got > 0)
					c->since = now_ns();
				continue;
			}
			c->since = 0;
			/* No request passes a descriptor: it is closed. */
			r = handle(vm, c, &c->in.h, c->in.p, &bye);
			kvmp_in_reset(&c->in);
			if (r == -1)
				drop(vm, c);
			if (bye)
				exit(VMP_EX_OK);
		}
	}
}
