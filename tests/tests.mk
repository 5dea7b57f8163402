# Tests: unit tests (plain and under ASan/UBSan), golden vectors, the
# reader's fuzzer, man page lint, and the bats suites.
#   make check       everything but the Xen harness (that is check-xen)
#   make fuzz        the fuzzer for FUZZ_TIME seconds (default 300)

CODEC_SRC := src/lib/hash.c src/lib/hash_sse2.c src/lib/io.c \
	     src/lib/vmi_common.c src/lib/vmi_read.c src/lib/vmi_write.c
SAN	  := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
TFLAGS	  := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
	     -Isrc/lib -Isrc/hv -Itests/unit
FUZZ_TIME ?= 300
VECTORS	  := plain live zstd

tests/unit/%.bin: tests/unit/%.c $(CODEC_SRC) src/lib/hash_avx2.c $(HDRS) \
    tests/unit/vmi_sample.h
	$(CC) -O2 -g $(TFLAGS) -o $@ $< $(CODEC_SRC) \
	    -mavx2 src/lib/hash_avx2.c -lzstd

tests/unit/%-asan.bin: tests/unit/%.c $(CODEC_SRC) $(HDRS) \
    tests/unit/vmi_sample.h
	$(CC) -O1 -g $(SAN) $(TFLAGS) -o $@ $< $(CODEC_SRC) \
	    -mavx2 src/lib/hash_avx2.c -lzstd

tests/fuzz/fuzz_reader.bin: tests/fuzz/fuzz_reader.c $(CODEC_SRC) $(HDRS)
	clang -O1 -g -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all $(TFLAGS) -Wno-unused-command-line-argument \
	    -o $@ $< $(CODEC_SRC) -mavx2 src/lib/hash_avx2.c -lzstd

unit: tests/unit/test_vmi.bin
	tests/unit/test_vmi.bin

unit-asan: tests/unit/test_vmi-asan.bin
	ASAN_OPTIONS=detect_leaks=1 tests/unit/test_vmi-asan.bin

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

fuzz-corpus:
	@mkdir -p tests/fuzz/corpus
	@cp tests/vectors/*.vmi tests/fuzz/corpus/

fuzz: tests/fuzz/fuzz_reader.bin fuzz-corpus
	tests/fuzz/fuzz_reader.bin -max_total_time=$(FUZZ_TIME) \
	    -print_final_stats=1 tests/fuzz/corpus

fuzz-brief: tests/fuzz/fuzz_reader.bin fuzz-corpus
	tests/fuzz/fuzz_reader.bin -max_total_time=20 tests/fuzz/corpus \
	    2>&1 | tail -3

lint-man:
	@for m in man/*.[1578]; do mandoc -Tlint -W warning $$m || exit 1; done
	@echo "man pages: mandoc -Tlint clean"

bats: all
	bats $(BATS_FLAGS) $(filter-out tests/50-xen.bats,$(sort $(wildcard tests/*.bats)))

check-all: all unit unit-asan vectors-check fuzz-brief lint-man bats

.PHONY: check-all unit unit-asan vectors-check vectors fuzz fuzz-corpus \
	fuzz-brief lint-man bats
