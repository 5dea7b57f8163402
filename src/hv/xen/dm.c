/*
 * dm.c: an HVM guest's device model (QEMU) across a save.
 *
 * An HVM guest's emulated devices live in QEMU in dom0, not in Xen.  Its
 * state is what libxl's cooperative suspend of an HVM guest has QEMU
 * write to a file (QMP xen-save-devices-state), and where QEMU put the
 * guest's video memory in its frame range is in xenstore, under the
 * device model's "physmap" keys.  Both go into the image as libxl's own
 * records, EMULATOR_XENSTORE_DATA and EMULATOR_CONTEXT, so that a restore
 * hands them to libxl unchanged: libxl writes the keys back for the new
 * domain and starts QEMU with -incoming from the context.
 *
 * While a live copy runs, QEMU's own writes into guest memory (DMA of
 * emulated devices, the VGA window) must be in Xen's dirty log too: QEMU
 * logs them when asked over QMP, as libxl asks it during its live saves.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore.h>

#include "io.h"
#include "xen.h"

#define EMULATOR_QEMU_UPSTREAM	2
#define DM_STATE_MAX		(8u << 20)	/* a PLATFORM body at most */

static const char *
dm_savefile(uint32_t domid, char *buf, size_t len)
{
	/* libxl's LIBXL_DEVICE_MODEL_SAVE_FILE */
	snprintf(buf, len, "/var/lib/xen/qemu-save.%u", domid);
	return buf;
}

/* The piece: libxl's emulator sub-header, then the data. */
static int
emit_dm(hv_state_fn fn, void *arg, uint32_t tag, const void *data,
    size_t len)
{
	uint8_t *b;
	uint32_t sub[2] = { EMULATOR_QEMU_UPSTREAM, 0 };
	int rc;

	if ((b = malloc(8 + len)) == NULL)
		return -1;
	memcpy(b, sub, 8);
	memcpy(b + 8, data, len);
	{
		struct hv_state st = { VMI_REC_PLATFORM, 0, tag, 8 + len, b };

		rc = fn(arg, &st);
	}
	free(b);
	return rc;
}

/* The physmap keys as libxl saves them: "physmap/N/KEY\0value\0"... */
static int
physmap(struct hv_guest *g, char **out, size_t *outlen)
{
	static const char *const sub[] = { "start_addr", "size", "name" };
	struct xs_handle *xs;
	char root[96], path[256], **ent;
	unsigned n = 0;
	char *buf = NULL;
	size_t len = 0;

	*out = NULL;
	*outlen = 0;
	if ((xs = xs_open(0)) == NULL) {
		hv_seterr("can't open xenstore: %s", strerror(errno));
		return -1;
	}
	snprintf(root, sizeof(root), "/local/domain/0/device-model/%u",
	    g->domid);
	snprintf(path, sizeof(path), "%s/physmap", root);
	if ((ent = xs_directory(xs, XBT_NULL, path, &n)) == NULL) {
		xs_close(xs);
		return 0;		/* no video memory placed */
	}
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < 3; j++) {
			char key[128], *val, *nb;
			unsigned vl;
			size_t kl;

			snprintf(key, sizeof(key), "physmap/%s/%s", ent[i],
			    sub[j]);
			snprintf(path, sizeof(path), "%s/%s", root, key);
			if ((val = xs_read(xs, XBT_NULL, path, &vl)) == NULL) {
				hv_seterr("domain %u: no xenstore key %s",
				    g->domid, path);
				goto fail;
			}
			kl = strlen(key) + 1;
			if ((nb = realloc(buf, len + kl + vl + 1)) == NULL) {
				free(val);
				goto fail;
			}
			buf = nb;
			memcpy(buf + len, key, kl);
			memcpy(buf + len + kl, val, vl);
			buf[len + kl + vl] = '\0';
			len += kl + vl + 1;
			free(val);
		}
	}
	free(ent);
	xs_close(xs);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	free(ent);
	free(buf);
	xs_close(xs);
	errno = EIO;
	return -1;
}

int
xen_dm_state(struct hv_guest *g, hv_state_fn fn, void *arg)
{
	char file[64], *xsd;
	size_t xsl;
	struct stat sb;
	uint8_t *ctx;
	ssize_t n;
	int fd, rc;

	/* A guest only paused (vm-precopy sizing its state) has no device
	 * model state written yet: that comes with suspend(). */
	if (!g->suspended)
		return 0;
	if (physmap(g, &xsd, &xsl) == -1)
		return -1;
	rc = 0;
	if (xsl > 0)
		rc = emit_dm(fn, arg, XEN_TAG_LIBXL | XLR_EMULATOR_XENSTORE,
		    xsd, xsl);
	free(xsd);
	if (rc != 0)
		return rc;

	if ((fd = open(dm_savefile(g->domid, file, sizeof(file)),
	    O_RDONLY | O_CLOEXEC)) == -1) {
		hv_seterr("domain %u: no device model state in %s: %s",
		    g->domid, file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || sb.st_size <= 0 ||
	    sb.st_size > DM_STATE_MAX - 8) {
		close(fd);
		hv_seterr("domain %u: device model state %s of %lld octets "
		    "(1 to %u)", g->domid, file, (long long)sb.st_size,
		    DM_STATE_MAX - 8);
		errno = EFBIG;
		return -1;
	}
	if ((ctx = malloc(sb.st_size)) == NULL) {
		close(fd);
		return -1;
	}
	if ((n = io_preadall(fd, ctx, sb.st_size, 0)) != sb.st_size) {
		hv_seterr("domain %u: read %s: %s", g->domid, file,
		    n == -1 ? strerror(errno) : "short file");
		free(ctx);
		close(fd);
		errno = EIO;
		return -1;
	}
	close(fd);
	rc = emit_dm(fn, arg, XEN_TAG_LIBXL | XLR_EMULATOR_CONTEXT, ctx,
	    sb.st_size);
	free(ctx);
	return rc;
}

/* The file is QEMU's to write again at the next suspend: a save that is
 * done with it, or that gave up, removes it as libxl does. */
void
xen_dm_forget(struct hv_guest *g)
{
	char file[64];

	if (g->type == VMI_GT_XEN_HVM)
		(void)unlink(dm_savefile(g->domid, file, sizeof(file)));
}

/*
 * QMP, the least of it: connect, read the greeting, leave capabilities
 * negotiation, run one command, read its answer.  Each answer is one line
 * of JSON; events may come between, and are skipped.
 */
static int
qmp_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 10000) != 1)
			return -1;
		if ((r = read(fd, buf + n, 1)) != 1)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

static int
qmp_answer(int fd, char *buf, size_t len)
{
	do {
		if (qmp_line(fd, buf, len) == -1)
			return -1;
	} while (strstr(buf, "\"event\"") != NULL);
	return strstr(buf, "\"return\"") != NULL ? 0 : -1;
}

static int
qmp_send(int fd, const char *cmd)
{
	size_t len = strlen(cmd);

	return write(fd, cmd, len) == (ssize_t)len ? 0 : -1;
}

int
xen_dm_logdirty(struct hv_guest *g, int on)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024];
	int fd;

	if (g->type != VMI_GT_XEN_HVM)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path),
	    "/var/run/xen/qmp-libxl-%u", g->domid);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	errno = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    qmp_line(fd, buf, sizeof(buf)) == -1 ||
	    qmp_send(fd, "{\"execute\":\"qmp_capabilities\"}\n") == -1 ||
	    qmp_answer(fd, buf, sizeof(buf)) == -1 ||
	    qmp_send(fd, on ?
	    "{\"execute\":\"xen-set-global-dirty-log\",\"arguments\":"
	    "{\"enable\":true}}\n" :
	    "{\"execute\":\"xen-set-global-dirty-log\",\"arguments\":"
	    "{\"enable\":false}}\n") == -1 ||
	    qmp_answer(fd, buf, sizeof(buf)) == -1) {
		hv_seterr("domain %u: can't %s the device model's dirty log "
		    "over QMP (%s): %s", g->domid, on ? "start" : "stop",
		    sa.sun_path, errno ? strerror(errno) : buf);
		close(fd);
		errno = EIO;
		return -1;
	}
	close(fd);
	return 0;
}
