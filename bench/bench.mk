# Benchmarks, not tests: `make bench' runs them all; each prints a small
# table and writes its results to bench/out/.
#   bench/out/codec         the codec against a pipe and memcpy (codec.c)
#   bench/save-restore      vm-save and vm-restore of a 1 GiB guest
#   bench/migrate           live migration of a 1 GiB guest over a pipe and
#                           over ssh, at three dirty rates (needs sshd)
#   bench/plot-migrate      its downtime and octets sent, as a PNG (gnuplot)
#   bench/handover          the downtime the two-phase handover adds, before
#                           and after in one run
#   bench/recv-load         the relocation server under idle connections, a
#                           flood of half requests and a slow sender
#   bench/bundle            a bundle written and read against the pipe, GNU
#                           tar and bsdtar of the same sparse files
#   bench/snapshot          the pause a checkpoint's disk snapshot adds, by
#                           reflink and by copy, for a 1 GiB disk
#   bench/xen-side-by-side  vmpipe beside xl on real Xen under the emulator:
#                           save, restore, live migration; PVH, HVM, PV and
#                           the guest with disks and a vif (not in `bench')

BENCH_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-pthread $(INCS)

bench/out/codec: bench/codec.c obj/libvmpipe.a $(HDRS)
	@mkdir -p bench/out
	$(CC) $(BENCH_CFLAGS) -o $@ bench/codec.c obj/libvmpipe.a -lzstd -pthread

bench-codec: bench/out/codec
	bench/out/codec -o bench/out/codec.tsv | tee bench/out/codec.txt

bench/out/snap: bench/snap.c obj/libvmpipe.a $(HDRS)
	@mkdir -p bench/out
	$(CC) $(BENCH_CFLAGS) -o $@ bench/snap.c obj/libvmpipe.a

bench-snapshot: bench/out/snap
	bench/snapshot

bench-bundle: all
	bench/bundle

bench-save-restore: all
	bench/save-restore

bench-migrate: all bench/out/codec
	scripts/deps bench
	bench/migrate
	bench/plot-migrate

bench-handover: all
	bench/handover -n
	scripts/with-kvm bench/handover

bench-recv-load: all
	scripts/with-kvm bench/recv-load

bench-xen: all
	bench/xen-side-by-side

bench: all bench-codec bench-bundle bench-snapshot bench-save-restore bench-migrate \
	bench-handover bench-recv-load

.PHONY: bench-xen bench bench-codec bench-bundle bench-snapshot bench-save-restore bench-migrate bench-handover \
	bench-recv-load
