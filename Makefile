# vmpipe: save, restore and migrate running virtual machines as pipes.
# One plain GNU Makefile.  Programs: bin/vm-NAME is built from src/NAME/*.c,
# the shared library (src/lib, src/proto, src/hv/hv.c) and, for the
# programs that open guests, the backends (src/hv/kvm, src/hv/xen).

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
GUESTDIR ?= $(PREFIX)/share/vmpipe
# bash-completion loads a command's completion by the command's name:
# completion/vmpipe goes there once, with a link to it for each program.
COMPDIR	?= $(PREFIX)/share/bash-completion/completions
DESTDIR	?=

# The Xen backend is built where libxen's headers are installed; XEN=0
# leaves it out anyway (as on a host without them).
XEN	?= $(if $(wildcard /usr/include/libxl.h),1,0)

CC	?= cc
CFLAGS	?= -O2 -g
# -iquote, not -I: the project's headers are found for "..." only, so that
# src/hv/xen/xen.h never stands in for Xen's own <xen/xen.h>.
INCS	:= -iquote src/lib -iquote src/proto -iquote src/hv
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $(INCS)
LDFLAGS	+= -pthread
LIBS	:= -lzstd
XENLIBS	:= -lxenctrl -lxenforeignmemory -lxenlight -lxentoollog -lxenguest \
	   -lxenstore

# Programs, by source directory.  Administrative programs go to sbin.
PROGS	:= inspect save restore precopy send recv recvd run ctl migrate xlconv
SPROGS	:= run recv recvd
PROGS	:= $(foreach p,$(PROGS),$(if $(wildcard src/$(p)/*.c),$(p)))
BINS	:= $(PROGS:%=bin/vm-%)

# The library: no backend, no hypervisor library.
LIBSRC	:= $(wildcard src/lib/*.c) $(wildcard src/proto/*.c) src/hv/hv.c
LIBOBJ	:= $(LIBSRC:%.c=obj/%.o)
HDRS	:= $(wildcard src/*/*.h src/hv/*/*.h)

# The backends, each a folder of objects and the libraries they need.
BACKENDS	:= kvm $(if $(filter 1,$(XEN)),xen)
KVMSRC		:= $(wildcard src/hv/kvm/*.c)
XENSRC		:= $(wildcard src/hv/xen/*.c)
HVOBJ_kvm	:= $(KVMSRC:%.c=obj/%.o)
HVOBJ_xen	:= $(XENSRC:%.c=obj/%.o)
HVLIBS_xen	:= $(XENLIBS)

# The backends each program links: only those that open guests (through
# hv_select() or hv_by_id()) have any.  hv.c refers to the backends'
# tables weakly, so a program without them links, and finds none.
HV_save		:= kvm xen
HV_restore	:= kvm xen
HV_precopy	:= kvm xen
HV_recv		:= kvm xen
HV_recvd	:= kvm xen
HV_ctl		:= kvm xen
hv_of		 = $(filter $(BACKENDS),$(HV_$(1)))

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
bin/vm-%: $$(addprefix obj/,$$(subst .c,.o,$$(wildcard src/$$*/*.c))) \
    $$(foreach b,$$(call hv_of,$$*),$$(HVOBJ_$$b)) obj/libvmpipe.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) \
	    $(foreach b,$(call hv_of,$*),$(HVLIBS_$(b))) $(LIBS_$*)

# libarchive is not linked: the bundle code loads it when it meets a
# bundle (src/lib/larchive.h).
LIBS_send := -lssh
LIBS_recvd := -lssh
LIBS_migrate := -lssh

include guest/guest.mk
include tests/tests.mk
include bench/bench.mk
include pkg/pkg.mk

# The README's two commands.  Packages come first, in a make of their own,
# because what is installed decides how this Makefile builds (libxl.h).
deps:
	scripts/deps build test

demo:
	scripts/deps build test
	$(MAKE) all
	scripts/with-kvm scripts/demo

check:
	scripts/deps build test xen kvm pkg
	$(MAKE) check-all

install: all install-data
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	for p in $(PROGS); do \
		d=$(BINDIR); case " $(SPROGS) " in *" $$p "*) d=$(SBINDIR);; esac; \
		install -m 755 bin/vm-$$p $(DESTDIR)$$d/; done
	for m in man/*.[1578]; do \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	install -d $(DESTDIR)$(GUESTDIR)
	install -m 644 guest/guest.elf $(DESTDIR)$(GUESTDIR)/
	install -d $(DESTDIR)$(COMPDIR)
	install -m 644 completion/vmpipe $(DESTDIR)$(COMPDIR)/
	for p in $(PROGS); do ln -sf vmpipe $(DESTDIR)$(COMPDIR)/vm-$$p; done

clean:
	rm -rf bin obj guest/*.o guest/guest.elf tests/unit/*.bin

.PHONY: all deps demo check install clean
