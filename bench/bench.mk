# Benchmarks, not tests: `make bench' runs them all; each prints a small
# table and writes its results to bench/out/.
#   bench/out/codec         the codec against a pipe and memcpy (codec.c)
#   bench/save-restore      vm-save and vm-restore of a 1 GiB guest

BENCH_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-pthread -Isrc/lib -Isrc/hv

bench/out/codec: bench/codec.c obj/libvmpipe.a $(HDRS)
	@mkdir -p bench/out
	$(CC) $(BENCH_CFLAGS) -o $@ bench/codec.c obj/libvmpipe.a -lzstd -pthread

bench-codec: bench/out/codec
	bench/out/codec -o bench/out/codec.tsv | tee bench/out/codec.txt

bench-save-restore: all
	bench/save-restore

bench: all bench-codec bench-save-restore

.PHONY: bench bench-codec bench-save-restore
