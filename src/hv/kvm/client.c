/*
 * client.c: connecting to a guest's vm-run and exchanging requests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "io.h"
#include "names.h"

int
kvmc_call(struct hv_guest *g, uint16_t op, const void *req, uint32_t len,
    void **rep, uint32_t *rlen, int *fd)
{
	struct kvmp_hdr h;
	void *p;
	int e;

	hv_clearerr();
	if (rep != NULL)
		*rep = NULL;
	/*
	 * A vm-run that refuses us replies at once and hangs up, so our
	 * request may meet a closed socket: the refusal is still queued.
	 */
	if (kvmp_send(g->sock, op, 0, req, len, -1) == -1) {
		e = errno;
		if (kvmp_recv(g->sock, &h, &p, fd) == -1 || h.status >= 0) {
			hv_seterr("guest %s: %s", g->name, strerror(e));
			errno = e;
			return -1;
		}
	} else if (kvmp_recv(g->sock, &h, &p, fd) == -1) {
		e = errno;
		hv_seterr("guest %s: %s", g->name, e == ECONNRESET ?
		    "vm-run closed the connection" : strerror(e));
		errno = e;
		return -1;
	}
	if (h.status < 0) {
		hv_seterr("guest %s: %s", g->name, p ? (char *)p :
		    strerror(-h.status));
		free(p);
		if (fd != NULL && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		errno = -h.status;
		return -1;
	}
	if (h.op != op) {
		free(p);
		hv_seterr("guest %s: reply to request %u answers %u", g->name,
		    op, h.op);
		errno = EPROTO;
		return -1;
	}
	if (rep != NULL)
		*rep = p;
	else
		free(p);
	if (rlen != NULL)
		*rlen = h.len;
	return 0;
}

int
kvmc_hello(struct hv_guest *g)
{
	uint32_t v[2] = { KVMP_VERSION, 0 }, *r;
	uint32_t len;

	if (kvmc_call(g, KVMP_HELLO, v, sizeof(v), (void **)&r, &len,
	    NULL) == -1)
		return -1;
	if (len < sizeof(v) || r[0] != KVMP_VERSION) {
		hv_seterr("guest %s: vm-run speaks protocol %u, not %u",
		    g->name, len >= 4 ? r[0] : 0, KVMP_VERSION);
		free(r);
		errno = EPROTONOSUPPORT;
		return -1;
	}
	free(r);
	return 0;
}

/*
 * Is the process behind the socket root or us?  A socket planted in a
 * run directory by someone else must not be told or shown anything.
 */
static int
peer_trusted(int fd, const char *path)
{
	unsigned long uid;
	char who[32] = "";

	switch (io_peer_trusted(fd, &uid)) {
	case 1:
		return 0;
	case -1:
		hv_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	if (geteuid() != 0)
		snprintf(who, sizeof(who), " or uid %lu",
		    (unsigned long)geteuid());
	hv_seterr("%s: expected a vm-run of root%s behind it, found uid %lu: "
	    "not used", path, who, uid);
	errno = EPERM;
	return -1;
}

int
kvmc_connect(const char *name, struct hv_guest **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hv_guest *g;
	char why[256];
	int e;

	hv_clearerr();
	if (vmp_name_check(name, why, sizeof(why)) == -1) {
		hv_seterr("%s", why);
		return -1;
	}
	if (vmp_runpath(sa.sun_path, sizeof(sa.sun_path), NULL, name,
	    "sock") == -1) {
		hv_seterr("%s: run directory path too long", vmp_rundir());
		return -1;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->sock = -1;
	g->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->sock == -1)
		goto fail;
	if (connect(g->sock, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			hv_seterr("no KVM guest named %s (%s)", name,
			    sa.sun_path);
		else
			hv_seterr("guest %s: %s: %s", name, sa.sun_path,
			    strerror(e));
		errno = e == ECONNREFUSED ? ENOENT : e;
		goto fail;
	}
	if (peer_trusted(g->sock, sa.sun_path) == -1)
		goto fail;
	if (kvmc_hello(g) == -1)
		goto fail;
	*out = g;
	return 0;
fail:
	e = errno;
	kvmc_free(g);
	errno = e;
	return -1;
}

void
kvmc_free(struct hv_guest *g)
{
	int e = errno;

	if (g == NULL)
		return;
	if (g->mem != NULL)
		munmap(g->mem, g->mem_bytes);
	if (g->sock >= 0)
		close(g->sock);
	free(g->pend);
	free(g);
	errno = e;
}
