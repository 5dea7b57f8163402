/*
 * test_names.c: unit tests of names.c: the guest name rule and its
 * messages, the run directory and its paths, and UUIDs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "vmi_format.h"
#include "check.h"

static const char *good[] = {
	"g", "G", "0g", "g0", "web-1", "a.b", "a_b", "a+b", "a-", "a.",
	"Domain-0x", "x86_64.guest+v2",
	/* 63 octets: the longest */
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk",
};

/* A bad name and the message it must give, word for word. */
static const struct {
	const char	*name;
	const char	*why;
} bad[] = {
	{ "", "bad guest name \"\": expected 1 to 63 octets, found none" },
	{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
	  "bad guest name \"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	  "abcdefghijkl\": expected at most 63 octets, found 64" },
	{ ".", "bad guest name \".\": expected a letter or digit first, "
	  "found '.'" },
	{ "..", "bad guest name \"..\": expected a letter or digit first, "
	  "found '.'" },
	{ ".hidden", "bad guest name \".hidden\": expected a letter or digit "
	  "first, found '.'" },
	{ "-n", "bad guest name \"-n\": expected a letter or digit first, "
	  "found '-'" },
	{ "+x", "bad guest name \"+x\": expected a letter or digit first, "
	  "found '+'" },
	{ "a@b", "bad guest name \"a@b\": expected letters, digits, '.', "
	  "'_', '+' or '-', found '@' at octet 2" },
	{ "a/b", "bad guest name \"a/b\": expected letters, digits, '.', "
	  "'_', '+' or '-', found '/' at octet 2" },
	{ "../x", "bad guest name \"../x\": expected a letter or digit "
	  "first, found '.'" },
	{ "a b", "bad guest name \"a b\": expected letters, digits, '.', "
	  "'_', '+' or '-', found ' ' at octet 2" },
	{ "ab\n", "bad guest name \"ab\\x0a\": expected letters, digits, "
	  "'.', '_', '+' or '-', found '\\x0a' at octet 3" },
	{ "\x1b[2J", "bad guest name \"\\x1b[2J\": expected a letter or "
	  "digit first, found '\\x1b'" },
	{ "caf\xc3\xa9", "bad guest name \"caf\\xc3\\xa9\": expected "
	  "letters, digits, '.', '_', '+' or '-', found '\\xc3' at octet 4" },
	{ "a\"b", "bad guest name \"a\\\"b\": expected letters, digits, "
	  "'.', '_', '+' or '-', found '\"' at octet 2" },
	{ "a'b", "bad guest name \"a'b\": expected letters, digits, "
	  "'.', '_', '+' or '-', found '\\x27' at octet 2" },
	{ "a:b", "bad guest name \"a:b\": expected letters, digits, "
	  "'.', '_', '+' or '-', found ':' at octet 2" },
	{ "42", "bad guest name \"42\": expected more than digits (digits "
	  "alone are read as a Xen domain ID), found digits only" },
};

static void
test_names(void)
{
	char why[256];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		strcpy(why, "untouched");
		CHECK(vmp_name_check(good[i], why, sizeof why) == 0,
		    "good name '%s' refused: %s", good[i], why);
		CHECK(why[0] == '\0', "good name '%s': message '%s'",
		    good[i], why);
		CHECK(vmp_name_check(good[i], NULL, 0) == 0,
		    "good name '%s' refused without a buffer", good[i]);
		/* Every good name fits the image's name field. */
		CHECK(strlen(good[i]) < VMI_NAME_MAX, "'%s' is too long for "
		    "VMI_NAME_MAX", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		CHECK(vmp_name_check(bad[i].name, why, sizeof why) == -1,
		    "bad name #%zu accepted", i);
		CHECK(errno == EINVAL, "bad name #%zu: errno %d", i, errno);
		CHECK(strcmp(why, bad[i].why) == 0,
		    "bad name #%zu:\n  got  %s\n  want %s", i, why, bad[i].why);
		CHECK(vmp_name_check(bad[i].name, NULL, 0) == -1,
		    "bad name #%zu accepted without a buffer", i);
	}
	CHECK(vmp_name_check(NULL, why, sizeof why) == -1, "NULL accepted");

	/* A long bad name is cut short in the message, which stays whole. */
	{
		char name[400];

		memset(name, '\x01', sizeof name - 1);
		name[sizeof name - 1] = '\0';
		CHECK(vmp_name_check(name, why, sizeof why) == -1,
		    "long name accepted");
		CHECK(strstr(why, "...\": expected at most 63 octets, "
		    "found 399") != NULL, "long name: '%s'", why);
		CHECK(strlen(why) < 160, "long name: message of %zu octets",
		    strlen(why));
	}
	/* A small buffer takes a cut message, NUL-terminated. */
	memset(why, 'x', sizeof why);
	vmp_name_check("a@b", why, 10);
	CHECK(strcmp(why, "bad guest") == 0, "cut message '%s'", why);
}

static void
test_rundir(void)
{
	char path[64];

	unsetenv("VMPIPE_RUNDIR");
	CHECK(strcmp(vmp_rundir(), "/run/vmpipe") == 0, "default: %s",
	    vmp_rundir());
	setenv("VMPIPE_RUNDIR", "", 1);
	CHECK(strcmp(vmp_rundir(), "/run/vmpipe") == 0, "empty: %s",
	    vmp_rundir());
	setenv("VMPIPE_RUNDIR", "/tmp/r", 1);
	CHECK(strcmp(vmp_rundir(), "/tmp/r") == 0, "env: %s", vmp_rundir());

	CHECK(vmp_runpath(path, sizeof path, NULL, "g", "sock") == 0 &&
	    strcmp(path, "/tmp/r/g.sock") == 0, "runpath: %s", path);
	CHECK(vmp_runpath(path, sizeof path, "/d", "web-1", "recv.lock") == 0
	    && strcmp(path, "/d/web-1.recv.lock") == 0, "runpath dir: %s",
	    path);
	errno = 0;
	CHECK(vmp_runpath(path, sizeof path, NULL, "../etc/x", "pid") == -1 &&
	    errno == EINVAL, "runpath took ../etc/x");
	errno = 0;
	CHECK(vmp_runpath(path, sizeof path, NULL, "a@b", "pid") == -1 &&
	    errno == EINVAL, "runpath took a@b");
	errno = 0;
	CHECK(vmp_runpath(path, sizeof path, NULL, "g", "x/y") == -1 &&
	    errno == EINVAL, "runpath took suffix x/y");
	errno = 0;
	CHECK(vmp_runpath(path, sizeof path, NULL, "g", "") == -1 &&
	    errno == EINVAL, "runpath took an empty suffix");
	/* "/tmp/r/" + 63 + ".sock" is 76 octets: more than 64. */
	errno = 0;
	CHECK(vmp_runpath(path, sizeof path, NULL, good[12], "sock") == -1 &&
	    errno == ENAMETOOLONG && path[0] == '\0',
	    "runpath: no ENAMETOOLONG");
	/* Exactly full: 63 octets and the NUL. */
	CHECK(vmp_runpath(path, 14, "/tmp/r", "g", "sock") == 0,
	    "runpath: 13 octets in 14");
	CHECK(vmp_runpath(path, 13, "/tmp/r", "g", "sock") == -1 &&
	    errno == ENAMETOOLONG, "runpath: 13 octets in 13");
	unsetenv("VMPIPE_RUNDIR");
}

static void
test_uuid(void)
{
	static const uint8_t fixed[16] = {
		0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08,
		0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0xff,
	};
	static const struct {
		const char	*s;
		int		 ok;
	} parse[] = {
		{ "0f0e0d0c-0b0a-0908-0706-0504030201ff", 1 },
		{ "0F0E0D0C-0B0A-0908-0706-0504030201FF", 1 },
		{ "0f0e0d0c0b0a090807060504030201ff", 1 },
		{ "0f0e0d0c-0b0a-0908-0706-0504030201f", 0 },
		{ "0f0e0d0c-0b0a-0908-0706-0504030201fff", 0 },
		{ "0f0e0d0c0b0a-0908-0706-0504030201ff--", 0 },
		{ "0f0e0d0c-0b0a-0908-0706-0504030201fg", 0 },
		{ "0f0e0d0c-0b0a-0908-0706+0504030201ff", 0 },
		{ "", 0 },
	};
	uint8_t u[16], v[16], prev[16] = { 0 };
	char s[VMP_UUID_STRLEN];

	vmp_uuid_format(fixed, s);
	CHECK(strcmp(s, "0f0e0d0c-0b0a-0908-0706-0504030201ff") == 0,
	    "format: %s", s);
	for (size_t i = 0; i < sizeof parse / sizeof parse[0]; i++) {
		memset(u, 0xaa, sizeof u);
		int r = vmp_uuid_parse(parse[i].s, u);

		CHECK(parse[i].ok ? r == 0 && memcmp(u, fixed, 16) == 0 :
		    r == -1 && errno == EINVAL && u[0] == 0xaa,
		    "parse '%s': %d", parse[i].s, r);
	}
	for (int i = 0; i < 64; i++) {
		CHECK(vmp_uuid_generate(u) == 0, "generate: %s",
		    strerror(errno));
		CHECK((u[6] & 0xf0) == 0x40, "version nibble %x", u[6] >> 4);
		CHECK((u[8] & 0xc0) == 0x80, "variant bits %x", u[8] >> 6);
		CHECK(memcmp(u, prev, 16) != 0, "the same UUID twice");
		memcpy(prev, u, 16);
		vmp_uuid_format(u, s);
		CHECK(strlen(s) == 36 && s[14] == '4' &&
		    strchr("89ab", s[19]) != NULL, "formatted: %s", s);
		CHECK(vmp_uuid_parse(s, v) == 0 && memcmp(u, v, 16) == 0,
		    "round trip of %s", s);
	}
}

/* A same-host migration's names: xl's suffixes, and none that would make
 * a bad name (a long name has no twin: the migration is refused). */
static void
test_twin(void)
{
	char buf[64], name[64];

	CHECK(vmp_twin_name("web1", VMP_TWIN_INCOMING, buf, sizeof buf) == 0 &&
	    strcmp(buf, "web1--incoming") == 0, "incoming: %s", buf);
	CHECK(vmp_twin_name("web1", VMP_TWIN_AWAY, buf, sizeof buf) == 0 &&
	    strcmp(buf, "web1--migratedaway") == 0, "away: %s", buf);
	memset(name, 'a', 55);
	name[55] = '\0';
	CHECK(vmp_twin_name(name, VMP_TWIN_INCOMING, buf, sizeof buf) == -1 &&
	    errno == EINVAL, "a 65-octet twin name was made");
	name[53] = '\0';
	CHECK(vmp_twin_name(name, VMP_TWIN_INCOMING, buf, sizeof buf) == 0 &&
	    strlen(buf) == 63, "a 63-octet twin name was refused");
	CHECK(vmp_twin_name("a", VMP_TWIN_AWAY, buf, 8) == -1,
	    "a name cut short by the buffer was made");
}

int
main(void)
{
	test_names();
	test_twin();
	test_rundir();
	test_uuid();
	printf("test_names: %d checks, %d failures\n", checks, failures);
	return failures != 0;
}
