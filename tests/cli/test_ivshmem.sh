# SPDX-License-Identifier: MIT
# Two shmlink processes on this host, both through the ivshmem port (host
# peers of `shmlink ivshmem-server`, no region file, doorbells on eventfds):
# send/recv of random data in a stream and a message channel (sha256 equal),
# peers that restart again and again (a new peer id each time: the ends find
# each other's ids in the region), the [qemu] ids override, and bench --side A
# against --side B (well-formed CSV).
. "$(dirname "$0")/lib.sh"

SOCK=$T/ivs.sock
SHM=$(region ivs)
cfg=$T/ivs.ini
{
	printf '[region]\nsize = 1M\n'
	printf '[domain linux]\nid = 1\n[domain rtos]\nid = 2\n'
	printf '[channel data]\na = linux\nb = rtos\nmode = stream\nring = 64K\n'
	printf '[channel msg]\na = rtos\nb = linux\nring = 16K\n'
	printf '[host]\nport = ivshmem\n' # the data commands then need no --port
	printf '[qemu]\nserver = %s\nvectors = 2\n' "$SOCK"
} >"$cfg"

"$SHMLINK" ivshmem-server -S "$SOCK" -m "$SHM" -l 1M -n 2 >"$T/server.log" 2>&1 &
SRV=$!
PIDS+=($SRV)
for _ in $(seq 100); do grep -q '^listening on' "$T/server.log" && break; sleep 0.05; done
grep -q '^listening on' "$T/server.log" || fail "the server did not start: $(cat "$T/server.log")"

# transfer CHANNEL SENDER RECEIVER BYTES: sha256 equal after send | recv, two new
# processes, so two new peer ids (the server never gives an id out twice). Either
# may join first: each finds the other's current id in its record in the region.
transfer() {
	local ch=$1 from=$2 to=$3 bytes=$4 r
	head -c "$bytes" /dev/urandom >"$T/in-$ch"
	rm -f "$T/out-$ch"
	"${LIMIT[@]}" 60 "$SHMLINK" recv "$cfg" "$ch" "$T/out-$ch" --as "$to" -q --timeout 20 &
	r=$!
	"${LIMIT[@]}" 60 "$SHMLINK" send "$cfg" "$ch" "$T/in-$ch" --as "$from" -q --timeout 20 ||
		fail "send on $ch failed"
	wait_ok $r
	[ "$(sha "$T/in-$ch")" = "$(sha "$T/out-$ch")" ] || fail "$ch: sha256 differs"
	echo "ok: $bytes bytes $from -> $to over '$ch' through --port ivshmem, sha256 equal"
}
transfer data linux rtos 3M
transfer msg rtos linux 1M

# Restarts: both ends are new processes each round, so new ids; transfers still arrive.
for round in 1 2 3 4; do
	transfer data linux rtos 512K
done
ids=$(sed -n 's/.*peer \([0-9]*\) joined.*/\1/p' "$T/server.log")
[ "$(echo "$ids" | wc -l)" -ge 12 ] || fail "fewer joins than peers started: $ids"
[ -z "$(echo "$ids" | sort -n | uniq -d)" ] || fail "an id was given out twice: $ids"
echo "ok: 6 transfers by 12 peers with ids $(echo $ids | tr ' ' ,): none given out twice"

# [qemu] ids is a static override: a peer whose id is not the one it names is refused.
sed 's/^vectors = 2$/vectors = 2\nids = 0,1/' "$cfg" >"$T/ids.ini"
"${LIMIT[@]}" 20 "$SHMLINK" recv "$T/ids.ini" data /dev/null --as rtos --timeout 1 2>"$T/err" &&
	fail "wrong id accepted"
grep -Eq "rtos got ivshmem peer id [0-9]+, but it is 1 in .*\[qemu\] ids" "$T/err" ||
	fail "wrong id: $(cat "$T/err")"
echo "ok: with [qemu] ids, a peer with another ivshmem id is refused"

# bench: side A (linux) here, side B (rtos) in another process, both on ivshmem.
"${LIMIT[@]}" 60 "$SHMLINK" bench "$cfg" data --side A --sizes 64,4K --seconds 0.1 \
	--csv "$T/bench.csv" >"$T/bench.out" 2>&1 &
a=$!
"${LIMIT[@]}" 60 "$SHMLINK" bench "$cfg" data --side B --seconds 0.1 >/dev/null 2>&1 ||
	fail "bench --side B failed"
wait_ok $a
rows=$(awk -F, '$1 == "shmlink-ivshmem" && $2 == "stream" && ($4 == 64 || $4 == 4096) &&
	($5 == "msg_rate" || $5 == "rtt_median") && $6 > 0 { k++ } END { print k + 0 }' "$T/bench.csv")
[ "$rows" = 4 ] || fail "bench CSV: $rows of 4 positive rates/round trips: $(cat "$T/bench.csv")"
grep -q '^stream ' "$T/bench.out" || fail "bench printed no table: $(cat "$T/bench.out")"
echo "ok: bench A <-> B through --port ivshmem"

kill "$SRV"
wait "$SRV" || fail "the server did not stop cleanly"
echo "PASS"
