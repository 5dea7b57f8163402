/*
 * bundle_format.h: the bundle's layout, vm-bundle(5).  A bundle is a POSIX
 * pax archive; these are the names, lines and limits that vmpipe puts in
 * it.  This header holds nothing else; the page and it must agree.
 */
#ifndef BUNDLE_FORMAT_H
#define BUNDLE_FORMAT_H

/* Members, in the order they must come. */
#define BUNDLE_MANIFEST		"MANIFEST"
#define BUNDLE_IMAGE_FMT	"image.%06u"	/* image.000000, ... */
#define BUNDLE_DISK_PREFIX	"disk/"		/* disk/<device> */
#define BUNDLE_SUMS		"SUMS"

/* The MANIFEST's lines, each ended by a line feed, in this order. */
#define BUNDLE_FORMAT_LINE	"vmpipe-bundle 1"
#define BUNDLE_KW_GUEST		"guest"		/* guest NAME */
#define BUNDLE_KW_CHUNK		"chunk"		/* chunk OCTETS */
#define BUNDLE_KW_DISK		"disk"		/* disk MEMBER DEVICE OCTETS PATH */

/* A SUMS line: "xxh3-64:" 16 lower-case hex digits, two spaces, the
 * member's octets in decimal, two spaces, its name. */
#define BUNDLE_SUM_PREFIX	"xxh3-64:"

/* Limits: a reader refuses more before it reads or keeps anything. */
#define BUNDLE_MANIFEST_MAX	65536		/* octets of MANIFEST */
#define BUNDLE_DISKS_MAX	64
#define BUNDLE_DEVICE_MAX	15		/* octets of a device name */
#define BUNDLE_PATH_MAX		4095		/* octets of a disk's path */
#define BUNDLE_IMAGE_MAX	1000000		/* image members */
#define BUNDLE_CHUNK_MIN	4096
#define BUNDLE_CHUNK_MAX	(256u << 20)
#define BUNDLE_CHUNK_DEFAULT	(16u << 20)
#define BUNDLE_MEMBER_MAX	(BUNDLE_DEVICE_MAX + 5)	/* "disk/" + device */
/* The longest SUMS line, its line feed included. */
#define BUNDLE_SUM_LINE_MAX	(8 + 16 + 2 + 20 + 2 + BUNDLE_MEMBER_MAX + 1)

#endif /* BUNDLE_FORMAT_H */
