/*
 * larchive.h: libarchive, loaded when a bundle is first read or written
 * rather than when a program starts.  libarchive brings ten libraries
 * with it (libxml2, ICU and libstdc++ among them): every start of
 * vm-save, vm-restore or vm-recv would load them, and most never meet a
 * bundle.  The functions bundle_read.c and bundle_write.c call are in
 * the table la, filled by larchive_load().
 */
#ifndef LARCHIVE_H
#define LARCHIVE_H

#include <stddef.h>

#include <archive.h>
#include <archive_entry.h>

/* Debian 12's; the one the headers above describe. */
#define LARCHIVE_SONAME	"libarchive.so.13"

#define LARCHIVE_FNS(X)							\
	X(archive_entry_filetype) X(archive_entry_free)			\
	X(archive_entry_hardlink) X(archive_entry_new)			\
	X(archive_entry_pathname) X(archive_entry_set_filetype)		\
	X(archive_entry_set_mtime) X(archive_entry_set_pathname)	\
	X(archive_entry_set_perm) X(archive_entry_set_size)		\
	X(archive_entry_size) X(archive_entry_size_is_set)		\
	X(archive_entry_sparse_add_entry) X(archive_entry_symlink)	\
	X(archive_error_string) X(archive_filter_bytes)			\
	X(archive_read_data_block) X(archive_read_free)			\
	X(archive_read_new) X(archive_read_next_header)			\
	X(archive_read_open) X(archive_read_support_format_tar)		\
	X(archive_set_error) X(archive_write_close)			\
	X(archive_write_data) X(archive_write_finish_entry)		\
	X(archive_write_free) X(archive_write_header)			\
	X(archive_write_new) X(archive_write_open2)			\
	X(archive_write_set_bytes_per_block)				\
	X(archive_write_set_format_pax)

struct larchive {
#define LARCHIVE_MEMBER(f)	__typeof__(f) *f;
	LARCHIVE_FNS(LARCHIVE_MEMBER)
#undef LARCHIVE_MEMBER
};

/* Valid once larchive_load() has returned 0. */
extern struct larchive la;

/* Load libarchive and fill la, once for the process (thread-safe).  0,
 * or -1 with what is missing in err. */
int	larchive_load(char *err, size_t errlen);

#endif /* LARCHIVE_H */
