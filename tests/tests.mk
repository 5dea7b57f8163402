# Tests: unit tests (plain and under ASan/UBSan), golden vectors, the
# reader's fuzzer, man page lint, and the bats suites.
#   make check       everything, the Xen suite (check-xen) included
#   make fuzz        the fuzzer for FUZZ_TIME seconds (default 300)

CODEC_SRC := src/lib/hash.c src/lib/hash_sse2.c src/lib/hash_scalar.c src/lib/io.c \
	     src/lib/vmi_common.c src/lib/vmi_read.c src/lib/vmi_check.c \
	     src/lib/vmi_rules.c src/lib/vmi_write.c src/lib/vmi_pool.c \
	     src/lib/names.c
SAN	  := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
TFLAGS	  := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
	     $(INCS) -iquote tests/unit
FUZZ_TIME ?= 300
VECTORS	  := plain live zstd

# What a unit test links besides the codec: the save engine's test links
# the engine (against its own double of the ops table, no backend).
UNITS	  := test_vmi test_policy test_save test_names test_admit test_vis \
	     test_pvstream test_snap test_bundle test_json test_restore
USRC_test_policy := src/lib/policy.c
USRC_test_json	 := src/lib/json.c
USRC_test_admit  := src/lib/admit.c src/lib/conf.c
USRC_test_vis	 := src/lib/vis.c
USRC_test_pvstream := src/hv/xen/pvstream.c
BUNDLE_SRC	 := src/lib/bundle_manifest.c src/lib/bundle_read.c \
		    src/lib/bundle_write.c src/lib/larchive.c src/lib/vis.c
USRC_test_bundle := $(BUNDLE_SRC)
ULIBS_test_bundle := -larchive
# mkbundle writes the bundles of tests/15-bundle.bats.
USRC_mkbundle	 := $(BUNDLE_SRC)
ULIBS_mkbundle	 := -larchive
USRC_test_snap	 := src/lib/snap.c src/lib/snap_lvm.c
USRC_test_save	 := src/lib/save.c src/lib/emit.c src/lib/policy.c \
		    src/lib/progress.c
USRC_test_restore := src/lib/restore.c src/lib/meminfo.c src/lib/peek.c \
		    src/lib/progress.c src/proto/xen_stream.c

tests/unit/%.bin: tests/unit/%.c $(CODEC_SRC) src/lib/hash_avx2.c $(HDRS) \
    tests/unit/vmi_sample.h tests/unit/pipe_with.h $$(USRC_$$*)
	$(CC) -O2 -g $(TFLAGS) -o $@ $< $(CODEC_SRC) $(USRC_$*) \
	    -mavx2 src/lib/hash_avx2.c -lzstd $(ULIBS_$*)

tests/unit/%-asan.bin: tests/unit/%.c $(CODEC_SRC) $(HDRS) \
    tests/unit/vmi_sample.h tests/unit/pipe_with.h $$(USRC_$$*)
	$(CC) -O1 -g $(SAN) $(TFLAGS) -o $@ $< $(CODEC_SRC) $(USRC_$*) \
	    -mavx2 src/lib/hash_avx2.c -lzstd $(ULIBS_$*)

# One libFuzzer target for every parser of untrusted input.
FUZZERS	  := reader xfer recvconf request proto admit vis
FUZZ_SRC_reader	  := $(CODEC_SRC) src/lib/hash_avx2.c
FUZZ_SRC_xfer	  := src/lib/xfer.c $(CODEC_SRC) src/lib/hash_avx2.c
FUZZ_SRC_recvconf := src/recvd/config.c src/lib/conf.c
FUZZ_SRC_request  := src/recvd/request.c src/lib/names.c
FUZZ_SRC_proto	  := src/proto/kvm_proto.c
FUZZ_SRC_admit	  := src/lib/admit.c src/lib/conf.c
FUZZ_SRC_vis	  := src/lib/vis.c $(CODEC_SRC) src/lib/hash_avx2.c
FUZZERS		  += bundle
FUZZ_SRC_bundle	  := $(BUNDLE_SRC) $(CODEC_SRC) src/lib/hash_avx2.c
FUZZ_LIBS_bundle  :=
# The Xen backend's readers of Xen's formats, where libxen is installed.
ifneq ($(filter xen,$(BACKENDS)),)
FUZZERS		  += xenstream
FUZZ_SRC_xenstream := $(LIBSRC) $(XENSRC)
FUZZ_LIBS_xenstream := $(XENLIBS)
endif
FUZZ_CC	  := clang -O1 -g -fsanitize=fuzzer,address,undefined \
	     -fno-sanitize-recover=all $(TFLAGS) -iquote src/recvd \
	     -iquote src/hv/xen -mavx2 \
	     -Wno-unused-command-line-argument

tests/fuzz/fuzz_%.bin: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $(HDRS) $(wildcard src/recvd/*.h)
	$(FUZZ_CC) -o $@ $< $(FUZZ_SRC_$*) -lzstd $(FUZZ_LIBS_$*)

# The names module (guest names, run directory, UUIDs) is libc alone.
tests/unit/test_names.bin: tests/unit/test_names.c src/lib/names.c $(HDRS)
	$(CC) -O2 -g $(TFLAGS) -o $@ $< src/lib/names.c

tests/unit/test_names-asan.bin: tests/unit/test_names.c src/lib/names.c $(HDRS)
	$(CC) -O1 -g $(SAN) $(TFLAGS) -o $@ $< src/lib/names.c

# One target a test, so that make -j runs them side by side.
unit: $(UNITS:%=unit-run/%)
unit-run/%: tests/unit/%.bin
	@tests/unit/$*.bin

unit-asan: $(UNITS:%=unit-run/%-asan)
unit-run/%-asan: tests/unit/%-asan.bin
	@ASAN_OPTIONS=detect_leaks=1 tests/unit/$*-asan.bin

# The golden vectors are checked byte for byte; `make vectors' rewrites
# them after a deliberate format change.
vectors-check: tests/unit/mkvector.bin bin/vm-inspect
	@for v in $(VECTORS); do \
		tests/unit/mkvector.bin $$v | cmp - tests/vectors/$$v.vmi || exit 1; \
		bin/vm-inspect tests/vectors/$$v.vmi | \
		    diff -u tests/vectors/$$v.txt - || exit 1; \
	done; echo "vectors: $(VECTORS) match"

vectors: tests/unit/mkvector.bin bin/vm-inspect
	for v in $(VECTORS); do \
		tests/unit/mkvector.bin $$v > tests/vectors/$$v.vmi; \
		bin/vm-inspect tests/vectors/$$v.vmi > tests/vectors/$$v.txt; \
	done

# Seeds: the golden vectors for the reader and the scanner, sample
# configurations and frames for the others.
fuzz-corpus:
	@for f in $(FUZZERS); do mkdir -p tests/fuzz/corpus/$$f; done
	@cp tests/vectors/*.vmi tests/fuzz/corpus/reader/
	@cp tests/vectors/*.vmi tests/fuzz/corpus/xfer/
	@cp tests/fuzz/seeds/recvconf/* tests/fuzz/corpus/recvconf/
	@cp tests/fuzz/seeds/request/* tests/fuzz/corpus/request/
	@cp tests/fuzz/seeds/proto/* tests/fuzz/corpus/proto/
	@cp tests/fuzz/seeds/bundle/* tests/fuzz/corpus/bundle/
	@[ ! -d tests/fuzz/corpus/xenstream ] || \
		cp tests/fuzz/seeds/xenstream/* tests/fuzz/corpus/xenstream/

fuzz: $(FUZZERS:%=tests/fuzz/fuzz_%.bin) fuzz-corpus
	@for f in $(FUZZERS); do \
		echo "fuzz $$f: $(FUZZ_TIME) s"; \
		tests/fuzz/fuzz_$$f.bin -max_total_time=$(FUZZ_TIME) -timeout=10 \
		    -print_final_stats=1 tests/fuzz/corpus/$$f || exit 1; \
	done

fuzz-brief: $(FUZZERS:%=fuzz-run/%)
fuzz-run/%: tests/fuzz/fuzz_%.bin fuzz-corpus
	@tests/fuzz/fuzz_$*.bin -max_total_time=10 -timeout=10 \
	    tests/fuzz/corpus/$* > tests/fuzz/fuzz_$*.log 2>&1 || \
	    { tail -n 30 tests/fuzz/fuzz_$*.log; exit 1; }
	@echo "fuzz $*: $$(tail -n 1 tests/fuzz/fuzz_$*.log)"

# Only the programs that open guests link the backends: the others must
# start on a host without Xen's libraries.
NOXEN_PROGS := send inspect xlconv migrate run

check-links: $(NOXEN_PROGS:%=bin/vm-%)
	@for p in $(NOXEN_PROGS); do \
		n=$$(readelf -d bin/vm-$$p | grep NEEDED | grep 'libxen'); \
		if [ -n "$$n" ]; then echo "vm-$$p needs libxen:"; \
			echo "$$n"; exit 1; fi; \
	done; echo "links: $(NOXEN_PROGS:%=vm-%) need no libxen"

lint-man:
	@for m in man/*.[1578]; do mandoc -Tlint -W warning $$m || exit 1; done
	@echo "man pages: mandoc -Tlint clean"

# The suites run where /dev/kvm is: here, or on KVM under QEMU's emulator
# when this machine has none (tests/kvm/bats, scripts/with-kvm).
bats: all
	tests/kvm/bats $(BATS_FLAGS) \
	    $(filter-out tests/50-xen.bats,$(sort $(wildcard tests/*.bats)))

# The long run: 200 ping-pong live migrations (20 in check).
check-long: all
	VMPIPE_PINGPONG=200 tests/kvm/bats $(BATS_FLAGS) \
	    tests/31-pingpong.bats

# Real Xen under QEMU's emulator (tests/xen): part of check wherever the
# machine can run it; tests/50-xen.bats says why when it cannot.  Its
# helpers (tests/xen/helpers/*.c) go into dom0 beside bin/*.
# Those named xen-* read the hypervisor (libxenctrl): where it is installed.
XEN_HELPERS := $(patsubst %.c,%,$(wildcard tests/xen/helpers/*.c))
ifeq ($(filter xen,$(BACKENDS)),)
XEN_HELPERS := $(filter-out tests/xen/helpers/xen-%,$(XEN_HELPERS))
endif
tests/xen/helpers/%: tests/xen/helpers/%.c obj/libvmpipe.a $(HDRS)
	$(CC) -O2 -g $(TFLAGS) -o $@ $< obj/libvmpipe.a -lzstd \
	    $(if $(filter xen-%,$*),-lxenctrl)

check-xen: all $(XEN_HELPERS)
	@if [ "$${VMPIPE_SKIP_XEN:-0}" = 1 ]; then \
		echo "check-xen: skipped (VMPIPE_SKIP_XEN=1)"; \
	else \
		scripts/deps xen && bats $(BATS_FLAGS) tests/50-xen.bats; \
	fi

# The long Xen tests (tests/xen/dom0/long-*.sh, outside check for its
# time): the guest with disks and a vif as HVM (saved, restored,
# checkpointed, live to this host) and PV (saved, restored, checkpointed,
# offline to this host), each in boots of its own, both at once.
# Results in tests/out/xen-long/.
check-xen-long: all $(XEN_HELPERS)
	scripts/deps xen
	tests/xen/run -j 2 -o tests/out/xen-long \
	    $(notdir $(wildcard tests/xen/dom0/long-*.sh)) || true
	@cat tests/out/xen-long/results
	@! grep -qv ' pass ' tests/out/xen-long/results

# The two-host Xen tests (tests/xen/dom0/pair-*.sh, "# hosts: 2"): two
# emulated machines joined by a wire, a guest moved live from one dom0 to
# the other and back, and a move whose wire is cut.  They take both cores
# for some 8 minutes.  Results in tests/out/xen-pair/.
check-xen-pair: all $(XEN_HELPERS)
	scripts/deps xen
	tests/xen/run -o tests/out/xen-pair \
	    $(notdir $(wildcard tests/xen/dom0/pair-*.sh)) || true
	@cat tests/out/xen-pair/results
	@! grep -qv ' pass ' tests/out/xen-pair/results

# check's suites: the Xen suite and the KVM files, two at a time
# (tests/suites), the longest first, so that the two workers end close
# together: the order of their times in an emulated machine (43-handover
# 326 s ... 45-files 35 s); the files that run here, not in a machine,
# take seconds and come last.
BATS_KVM    := $(filter-out tests/50-xen.bats,$(sort $(wildcard tests/*.bats)))
SUITE_FIRST := $(patsubst %,tests/%.bats,43-handover 42-migrate \
	       47-copy-storage 24-disk 21-save-restore 22-bad-input \
	       30-precopy 40-send 31-pingpong 41-relocation 48-ocf 11-ctl \
	       25-checkpoint 12-lease 23-verdict 46-control 10-run 45-files)
suites: all $(XEN_HELPERS)
	MAKE='$(MAKE)' tests/suites $(BATS_FLAGS) $(SUITE_FIRST) \
	    $(filter-out $(SUITE_FIRST),$(BATS_KVM))

# The checks before the suites (builds, unit tests under ASan, fuzzers)
# are one process each, so they run side by side, one a core; then the
# suites, which keep every core busy themselves.  -Otarget keeps each
# check's output together.
NPROC	  := $(shell nproc 2>/dev/null || echo 1)
check-pre: all unit unit-asan vectors-check check-links fuzz-brief lint-man

check-all:
	$(MAKE) -j$(NPROC) -Otarget check-pre
	$(MAKE) suites

.PHONY: check-all check-pre check-long check-xen check-xen-long check-xen-pair check-links unit unit-asan vectors-check vectors fuzz \
	fuzz-corpus fuzz-brief lint-man bats suites
