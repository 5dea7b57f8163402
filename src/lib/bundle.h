/*
 * bundle.h: a guest and its disks as one pax archive, vm-bundle(5),
 * written and read as a stream with libarchive.
 *
 * Neither side stages the bundle: the writer holds one image chunk in
 * memory (the chunk size, 16 MiB by default) because a tar member's size
 * is written before its data; the reader holds the MANIFEST, a line of
 * SUMS and 16 octets per member.  Both return -1 on failure with a
 * one-line message that says what was expected and what was found, and
 * never exit.
 */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle_format.h"
#include "names.h"

#define BUNDLE_ERRLEN	512

/* One disk as the MANIFEST describes it. */
struct bundle_disk {
	char		member[BUNDLE_MEMBER_MAX + 1];	/* disk/<device> */
	char		device[BUNDLE_DEVICE_MAX + 1];	/* xvda, vda, ... */
	uint64_t	size;				/* octets */
	char		path[BUNDLE_PATH_MAX + 1];	/* where it was */
};

struct bundle_manifest {
	char			guest[VMP_NAME_MAX + 1];
	uint64_t		chunk;		/* octets per image member */
	unsigned		ndisks;
	struct bundle_disk	disk[BUNDLE_DISKS_MAX];
};

/* ---- the MANIFEST, shared by both sides (bundle_manifest.c) ---- */

/* Check a device name: a lower-case letter, then lower-case letters and
 * digits, at most BUNDLE_DEVICE_MAX octets.  0 or -1. */
int	bundle_device_check(const char *dev);

/* Fill in one disk (member from device); -1 with a message if the
 * device or the path is not one a MANIFEST may hold. */
int	bundle_disk_set(struct bundle_disk *, const char *device,
	    uint64_t size, const char *path, char *err, size_t errlen);

/* The MANIFEST's text, malloc()ed, into *out and its length into *len. */
int	bundle_manifest_format(const struct bundle_manifest *, char **out,
	    size_t *len, char *err, size_t errlen);

/* Parse and check a MANIFEST of len octets (any octets at all). */
int	bundle_manifest_parse(struct bundle_manifest *, const char *text,
	    size_t len, char *err, size_t errlen);

/* Do these first octets of a stream look like a tar archive ("ustar"
 * at offset 257)?  1 or 0.  (Here, for programs that only tell a bundle
 * from an image and pass it on: they need no libarchive.) */
int	bundle_sniff(const void *block, size_t len);

/* ---- writing (bundle_write.c) ---- */

struct bundle_writer;

/*
 * Start a bundle on fd and write its MANIFEST at once, so that a reader
 * knows the guest and the disks before anything else; m->chunk 0 means
 * BUNDLE_CHUNK_DEFAULT.  Then the image (bundle_write_image() or
 * bundle_pump_image(), as often as needed), then each disk in the
 * MANIFEST's order (bundle_add_disk()), then bundle_writer_close().
 * After a failure every call fails; bundle_writer_error() says why.
 * NULL (with the message in err) if it can't start.
 */
struct bundle_writer *bundle_writer_new(int fd,
	    const struct bundle_manifest *m, char *err, size_t errlen);

/* Image octets, in order: a write(2) for the save engine.  0 or -1. */
int	bundle_write_image(struct bundle_writer *, const void *p, size_t len);

/* The image from fd, read to its end.  0 or -1. */
int	bundle_pump_image(struct bundle_writer *, int fd);

/*
 * The next disk of the MANIFEST, named by its device, from fd (a
 * regular file or a block device of the MANIFEST's size).  Its data is
 * found with SEEK_DATA and SEEK_HOLE and written as a sparse member, the
 * holes left out; the file must not change while this runs (a snapshot,
 * or the guest paused).  The first call ends the image.  0 or -1.
 */
int	bundle_add_disk(struct bundle_writer *, const char *device, int fd);

/* Write SUMS and the end of the archive; every disk must have been
 * added.  0 or -1.  The writer must still be freed. */
int	bundle_writer_close(struct bundle_writer *);

const char *bundle_writer_error(const struct bundle_writer *);
/* Octets written so far. */
uint64_t bundle_writer_offset(const struct bundle_writer *);
void	bundle_writer_free(struct bundle_writer *);

/* ---- reading (bundle_read.c) ---- */

/*
 * What a reader does with a bundle's contents.  Every hook may be NULL
 * (the part is checked and dropped) and returns 0, or -1 with errno set
 * to stop the reading.  The contents are not yet checked against SUMS
 * when they are handed over: only bundle_read()'s 0 says the bundle was
 * whole, so a caller keeps what it made aside until then.
 */
struct bundle_read_ops {
	/* The MANIFEST, checked; before anything else. */
	int	(*manifest)(void *arg, const struct bundle_manifest *);
	/* The image's octets, in order, across its members. */
	int	(*image)(void *arg, const void *p, size_t len);
	/*
	 * A disk begins.  Return an fd to have its data written there with
	 * pwrite(2) at its offsets, the holes left as holes and the file
	 * made the disk's size (ftruncate) at its end, or -1 with errno 0
	 * to have it handed to disk_data instead; -1 with errno set fails.
	 */
	int	(*disk_open)(void *arg, unsigned i, const struct bundle_disk *);
	/* A run of a disk's data at off; the holes between are zeros. */
	int	(*disk_data)(void *arg, unsigned i, const void *p, size_t len,
		    uint64_t off);
};

/* What was read, for a description. */
struct bundle_stats {
	unsigned	members, image_members;
	uint64_t	image_octets;
	uint64_t	disk_octets, disk_data;	/* logical, and stored */
	uint64_t	offset;			/* octets of the archive */
};

/*
 * Read a bundle from fd (a pipe will do: nothing seeks) and check all of
 * it: the MANIFEST, every member's name, type, order and size against
 * it, every member's digest against SUMS, SUMS last and the end of the
 * archive after it, nothing but zeros after that.  0 if whole; -1 with
 * the first fault in err.  st may be NULL.
 */
int	bundle_read(int fd, const struct bundle_read_ops *, void *arg,
	    struct bundle_stats *st, char *err, size_t errlen);

/*
 * A bundle that comes over a connection: its first octets may have been
 * read already (to tell a bundle from an image), its sender may go
 * silent, and more may follow the archive on the same fd (a handover's
 * go): so the reading stops at the end of the archive, and the octets
 * read past it must be the zeros of a writer's blocking.  A bundle
 * writer here blocks nothing (bundle_writer_new()): its archive ends
 * with its two blocks of zeros.
 */
struct bundle_source {
	int		 fd;
	const void	*pre;		/* octets already read from fd */
	size_t		 prelen;
	int		 timeout_ms;	/* of silence; 0: wait for ever */
	int		 stop_at_end;	/* don't read to the end of fd */
};

int	bundle_read_from(const struct bundle_source *,
	    const struct bundle_read_ops *, void *arg, struct bundle_stats *st,
	    char *err, size_t errlen);


#endif /* BUNDLE_H */
