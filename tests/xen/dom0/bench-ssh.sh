# timeout: 600
# bench/xen-side-by-side runs this (not a test: tests/xen/run runs it only
# by name).  What the transport costs in dom0 under the emulator: 64 MiB
# copied in memory (libc, rep movsb, rep movsq), through a pipe (64 KiB
# to 4 MiB deep, in writes of 64 KiB to 4 MiB), through a Unix socket
# pair, and through ssh to dom0's own sshd with each cipher vm-send
# offers (vm-send -c); a table of MB/s.  It fails only when a step fails.
. ./lib.sh
sshd_up
mb() {	# ms: 64 MiB in that many ms, as MB/s
	awk -v t="$1" 'BEGIN { printf "%.1f", 67.108864 / (t / 1000) }'
}
echo "TABLE transport in dom0 (64 MiB; MB/s):"
# copy-rate (tests/xen/helpers): a copy in memory, by libc and by the two
# string moves the kernel copies with (rep movsb where the CPU has ERMS).
copy-rate 64 | while read -r how r; do
	printf 'TABLE %-36s %8s\n' "in memory, $how" "$r"
done
grep -qw erms /proc/cpuinfo && e=yes || e=no
printf 'TABLE %-36s %8s\n' "(dom0's CPU has ERMS)" "$e"
t0=$(ms)
head -c 67108864 /dev/zero | cat >/dev/null
printf 'TABLE %-36s %8s\n' "pipe (head | cat)" "$(mb $(($(ms) - t0)))"
# pipe-rate (tests/xen/helpers): depth and chunk of the pipe, in KiB.
for c in "64 64" "64 1024" "1024 64" "1024 1024" "4096 4096"; do
	set -- $c
	printf 'TABLE %-36s %8s\n' "pipe $1K deep, $2K writes" \
	    "$(pipe-rate 64 $c)"
done
for c in "sock0 1024" "sock4096 1024" "sock4096 4096"; do
	set -- $c
	b=${1#sock}K; [ "$b" != 0K ] || b=default
	printf 'TABLE %-36s %8s\n' "unix socket, $b buffers, $2K writes" \
	    "$(pipe-rate 64 $c)"
done
for c in aes128-gcm@openssh.com aes256-gcm@openssh.com \
    chacha20-poly1305@openssh.com aes128-ctr; do
	t0=$(ms)
	head -c 67108864 /dev/zero | ssh -F /dev/null -i "$d/id" -p $port \
	    -o BatchMode=yes -o UserKnownHostsFile="$d/known_hosts" -c "$c" \
	    root@127.0.0.1 'cat >/dev/null' || fail "ssh -c $c"
	printf 'TABLE %-36s %8s\n' "ssh -c $c" "$(mb $(($(ms) - t0)))"
done
# ssh with OpenSSL held to its integer code (no AES-NI, no SSE), client
# and server: were the cipher what costs, this would be far slower.
sshd_down
OPENSSL_ia32cap=0:0 sshd_up
t0=$(ms)
head -c 67108864 /dev/zero | OPENSSL_ia32cap=0:0 ssh -F /dev/null \
    -i "$d/id" -p $port -o BatchMode=yes \
    -o UserKnownHostsFile="$d/known_hosts" -c aes128-gcm@openssh.com \
    root@127.0.0.1 'cat >/dev/null' || fail "ssh, OPENSSL_ia32cap=0:0"
printf 'TABLE %-36s %8s\n' "ssh aes128-gcm, integer code" "$(mb $(($(ms) - t0)))"
sshd_down
grep -o -w 'aes\|pclmulqdq\|avx2\|avx' /proc/cpuinfo | sort -u | tr '\n' ' ' |
    sed 's/^/TABLE cpu flags: /'
echo
echo ok
