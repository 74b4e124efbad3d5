# SPDX-License-Identifier: MIT
# Two shmlink processes on this host, both through the ivshmem port (host
# peers of `shmlink ivshmem-server`, no region file, doorbells on eventfds):
# send/recv of random data in a stream and a message channel (sha256 equal),
# cat both ways, and bench --side A against --side B (well-formed CSV).
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

# joined N: the server has let N peers join so far (the ids follow the join order,
# and [qemu] ids is absent: id = domain index, so linux must join first).
joined() {
	for _ in $(seq 200); do
		[ "$(grep -c 'joined' "$T/server.log")" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "the server saw fewer than $1 joins: $(cat "$T/server.log")"
}
n=0

# transfer CHANNEL SENDER RECEIVER BYTES: sha256 equal after send | recv.
transfer() {
	local ch=$1 from=$2 to=$3 bytes=$4 s
	head -c "$bytes" /dev/urandom >"$T/in-$ch"
	local snd=(send "$cfg" "$ch" "$T/in-$ch" --as "$from") rcv=(recv "$cfg" "$ch" "$T/out-$ch" --as "$to")
	local first=("${snd[@]}") second=("${rcv[@]}")
	# Each must hold its domain's peer id: linux (0) joins first.
	[ "$from" = linux ] || { first=("${rcv[@]}") && second=("${snd[@]}"); }
	"${LIMIT[@]}" 60 "$SHMLINK" "${first[@]}" -q --timeout 20 &
	s=$!
	n=$((n + 1))
	joined $n
	"${LIMIT[@]}" 60 "$SHMLINK" "${second[@]}" -q --timeout 20 || fail "${second[0]} on $ch failed"
	n=$((n + 1))
	wait_ok $s
	[ "$(sha "$T/in-$ch")" = "$(sha "$T/out-$ch")" ] || fail "$ch: sha256 differs"
	echo "ok: $bytes bytes $from -> $to over '$ch' through --port ivshmem, sha256 equal"
}
transfer data linux rtos 3M
transfer msg rtos linux 1M

# A peer that joins out of order gets another id than [qemu] ids says: refused.
"${LIMIT[@]}" 20 "$SHMLINK" recv "$cfg" data /dev/null --as rtos --timeout 1 2>"$T/err" && fail "wrong id accepted"
grep -q "rtos got ivshmem peer id 0, but it is 1" "$T/err" || fail "wrong id: $(cat "$T/err")"
n=$((n + 1))
echo "ok: a peer with the wrong ivshmem id is refused"

# bench: side A (linux) here, side B (rtos) in another process, both on ivshmem.
"${LIMIT[@]}" 60 "$SHMLINK" bench "$cfg" data --side A --sizes 64,4K --seconds 0.1 \
	--csv "$T/bench.csv" >"$T/bench.out" 2>&1 &
a=$!
n=$((n + 1))
joined $n
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
