# vmpipe: save, restore and migrate running virtual machines as pipes.
# One plain GNU Makefile.  Programs: bin/vm-NAME is built from src/NAME/*.c
# and the shared library objects of src/lib and src/hv.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
	   -Isrc/lib -Isrc/hv
LDFLAGS	+= -pthread
LIBS	:= -lzstd
XENLIBS	:= -lxenctrl -lxenforeignmemory -lxenlight -lxentoollog -lxenguest \
	   -lxenstore

# Programs, by source directory.  Administrative programs go to sbin.
PROGS	:= inspect save restore precopy send recv run ctl migrate xlconv
SPROGS	:= run recv
PROGS	:= $(foreach p,$(PROGS),$(if $(wildcard src/$(p)/*.c),$(p)))
BINS	:= $(PROGS:%=bin/vm-%)

LIBSRC	:= $(wildcard src/lib/*.c) $(wildcard src/hv/*.c)
LIBOBJ	:= $(LIBSRC:%.c=obj/%.o)
HDRS	:= $(wildcard src/*/*.h)

# The Xen backend is built only where libxen's headers are installed.
# hv.c refers to it weakly, and a weak reference pulls nothing out of an
# archive: -u makes the link take it.
ifeq ($(wildcard /usr/include/libxl.h),)
LIBOBJ	:= $(filter-out obj/src/hv/xen%,$(LIBOBJ))
CFLAGS	+= -DVMPIPE_NO_XEN
XENLIBS	:=
else
LDFLAGS	+= -Wl,-u,hv_xen_ops
endif

all: $(BINS) guest

obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The AVX2 build of the hash is used only where the CPU has AVX2.
obj/src/lib/hash_avx2.o: CFLAGS += -mavx2

obj/libvmpipe.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $^

.SECONDEXPANSION:
.SECONDARY:
bin/vm-%: $$(addprefix obj/,$$(subst .c,.o,$$(wildcard src/$$*/*.c))) obj/libvmpipe.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(XENLIBS) $(LIBS_$*)

LIBS_send := -lssh
LIBS_recv := -lssh
LIBS_migrate := -lssh

include guest/guest.mk
include tests/tests.mk
include bench/bench.mk

# The README's two commands.  Packages come first, in a make of their own,
# because what is installed decides how this Makefile builds (libxl.h).
deps:
	scripts/deps build test

demo:
	scripts/deps build test
	$(MAKE) all
	scripts/demo

check:
	scripts/deps build test xen
	$(MAKE) check-all

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	for p in $(PROGS); do \
		d=$(BINDIR); case " $(SPROGS) " in *" $$p "*) d=$(SBINDIR);; esac; \
		install -m 755 bin/vm-$$p $(DESTDIR)$$d/; done
	for m in man/*.[1578]; do \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	install -d $(DESTDIR)$(PREFIX)/share/vmpipe
	install -m 644 guest/guest.elf $(DESTDIR)$(PREFIX)/share/vmpipe/

clean:
	rm -rf bin obj guest/*.o guest/guest.elf tests/unit/*.bin

.PHONY: all deps demo check install clean
