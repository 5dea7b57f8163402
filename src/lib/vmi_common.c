/*
 * vmi_common.c: names of records, and recognising streams that are not
 * vmpipe images so that the error can say what they are.
 */
#include <string.h>

#include "vmi.h"

const char *
vmi_type_name(uint32_t type)
{
	switch (type) {
	case VMI_REC_GUEST:	return "GUEST";
	case VMI_REC_CONFIG:	return "CONFIG";
	case VMI_REC_PAGES:	return "PAGES";
	case VMI_REC_VCPU:	return "VCPU";
	case VMI_REC_PLATFORM:	return "PLATFORM";
	case VMI_REC_ROUND:	return "ROUND";
	case VMI_REC_END:	return "END";
	case VMI_REC_NOTE:	return "NOTE";
	}
	return type & VMI_REC_OPTIONAL ? "unknown optional" :
	    "unknown mandatory";
}

const char *
vmi_sniff(const void *p, size_t len)
{
	static const struct {
		size_t		off;
		const char	*magic;
		size_t		len;
		const char	*what;
	} known[] = {
		{ 0, "Xen saved domain, xl", 20,
		    "an xl save file (Xen)" },
		{ 8, "XENF", 4, "a libxc migration stream (Xen)" },
		{ 0, "LinuxGuestRecord", 16, "a xend save image (Xen)" },
		{ 0, "QEVM", 4, "a QEMU migration stream" },
		{ 0, "LibvirtQemudSave", 16, "a libvirt save image" },
		{ 0, "LibvirtQemudPart", 16, "an unfinished libvirt save image" },
		{ 0, "\x28\xb5\x2f\xfd", 4,
		    "zstd-compressed data (decompress it first: zstd -dc)" },
		{ 0, "\x1f\x8b", 2,
		    "gzip-compressed data (decompress it first: gzip -dc)" },
		{ 0, "\xfd" "7zXZ", 5,
		    "xz-compressed data (decompress it first: xz -dc)" },
		{ 0, "\x7f" "ELF", 4, "an ELF executable" },
		{ 0, "\x89VMPIPE", 7, "a vmpipe image of another version" },
	};

	if (len == 0)
		return "an empty stream";
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (len >= known[i].off + known[i].len &&
		    memcmp((const char *)p + known[i].off, known[i].magic,
		    known[i].len) == 0)
			return known[i].what;
	return NULL;
}
