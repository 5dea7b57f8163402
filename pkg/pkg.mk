# pkg.mk: what an installed system gets besides the programs, their
# manual pages and bash completion (the units, the configuration files,
# vm-checkpoint, the OCF resource agent), the KVM-only build of the programs that open guests,
# and the Debian packages built from this tree (debian/).
#
#   make install          also installs all of this (install-data)
#   make install-kvm      the programs that open guests, built with no
#                         Xen backend (bin/kvm/), and their manual pages
#   make deb              the binary packages, built in a copy of the tree,
#                         into DEB_OUT (default pkg/out)

SYSCONFDIR	?= /etc
UNITDIR		?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSUSERSDIR	?= $(if $(filter /usr,$(PREFIX)),/usr/lib/sysusers.d,$(PREFIX)/lib/sysusers.d)
# The Pacemaker resource agent (ocf/guest), where resource-agents' are.
OCFDIR		?= $(PREFIX)/lib/ocf
SYSTEMD_UNITS	:= vmpipe-recv.service vmpipe-checkpoint@.service \
		   vmpipe-checkpoint@.timer
CONFS		:= recv.conf vm-recv.conf checkpoint.conf

# vm-checkpoint is a shell script; it sits in bin/ beside the others so
# that the tests run it (and check its usage against its manual page).
# The KVM-only programs (below) are built with the others, so that the
# tests run them too.
all: bin/vm-checkpoint kvm-only

bin/vm-checkpoint: src/checkpoint/vm-checkpoint.sh
	@mkdir -p bin
	cp $< $@
	chmod 755 $@

# The programs that link the Xen backend, linked again with KVM's alone:
# the objects are the same (hv.c refers to the backends weakly), so a
# host without Xen's libraries can run them.
KVMONLY		:= $(foreach p,$(PROGS),$(if $(filter xen,$(HV_$(p))),$(p)))

kvm-only: $(KVMONLY:%=bin/kvm/vm-%)

bin/kvm/vm-%: $$(addprefix obj/,$$(subst .c,.o,$$(wildcard src/$$*/*.c))) \
    $$(HVOBJ_kvm) obj/libvmpipe.a
	@mkdir -p bin/kvm
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(LIBS_$*)

install-kvm: kvm-only
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	for p in $(KVMONLY); do \
		d=$(BINDIR); case " $(SPROGS) " in *" $$p "*) d=$(SBINDIR);; esac; \
		install -m 755 bin/kvm/vm-$$p $(DESTDIR)$$d/; \
		for m in man/vm-$$p.[18]; do \
			install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; \
		done; done

# Units name the programs where they are installed.  A configuration
# file already in place is the administrator's and is left alone.
install-data: bin/vm-checkpoint
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(COMPDIR) $(DESTDIR)$(SYSCONFDIR)/vmpipe \
	    $(DESTDIR)$(SYSUSERSDIR)
	install -m 755 bin/vm-checkpoint $(DESTDIR)$(SBINDIR)/
	for u in $(SYSTEMD_UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		    pkg/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	for c in $(CONFS); do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/vmpipe/$$c ] || \
		install -m 644 pkg/etc/$$c $(DESTDIR)$(SYSCONFDIR)/vmpipe/ || \
		exit 1; done
	install -m 644 pkg/sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/vmpipe.conf
	ln -sf vmpipe $(DESTDIR)$(COMPDIR)/vm-checkpoint
	install -d $(DESTDIR)$(OCFDIR)/resource.d/vmpipe
	install -m 755 ocf/guest $(DESTDIR)$(OCFDIR)/resource.d/vmpipe/

# The packages are built in a copy of the tree (only what git tracks, as
# it is now, uncommitted changes included), so that a build here, or the
# tests that run beside this one, never see debian/rules clean the tree.
DEB_OUT		?= pkg/out
deb:
	scripts/deps build pkg
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	if git rev-parse --git-dir >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard; \
	else find . -path ./.git -prune -o -type f -print0; fi | \
	    tar --null -T - --ignore-failed-read --exclude=./pkg/out \
	        --exclude=pkg/out --exclude=tests/out -cf - 2>/dev/null | \
	    tar -xf - -C $(DEB_OUT)/src
	cd $(DEB_OUT)/src && dpkg-buildpackage -us -uc -b -j2 >../build.log 2>&1 || \
	    { tail -n 40 ../build.log; exit 1; }
	ls $(DEB_OUT)/*.deb

.PHONY: kvm-only install-kvm install-data deb
