# SPDX-License-Identifier: MIT
# `shmlink inspect --json` against known transfers: after send --count N /
# recv --count N (both ends just closed), and on a live channel (two cat
# processes still attached, established, nothing in flight).
. "$(dirname "$0")/lib.sh"

cfg="$T/ins.ini"
write_config "$cfg" message 4K
"$SHMLINK" init "$cfg" >/dev/null

# Before anyone attached: the slots are empty, the sides are not attached.
"$SHMLINK" inspect "$cfg" --json >"$T/j0"
jq -e '.domains | all(.attached == false)' "$T/j0" >/dev/null || fail "fresh region: slots attached?"
jq -e '.channels[0].a.state == "invalid" and .channels[0].fill_ab == null' "$T/j0" >/dev/null ||
	fail "fresh region: unexpected side state"

# N messages of S bytes; the receiver stops at N and leaves the end-of-file marker.
N=300
S=100
"${LIMIT[@]}" 60 "$SHMLINK" recv "$cfg" ctl --as rtos --count $N >"$T/got" &
r=$!
PIDS+=("$r")
"${LIMIT[@]}" 60 "$SHMLINK" send "$cfg" ctl --as linux --count $N --size $S || fail "send --count failed"
wait_ok "$r"
[ "$(stat -c %s "$T/got")" -eq $((N * S)) ] || fail "recv wrote $(stat -c %s "$T/got") bytes"
"$SHMLINK" inspect "$cfg" --json >"$T/j1"
jq . "$T/j1" >/dev/null || fail "inspect --json is not JSON"
check() { jq -e "$1" "$T/j1" >/dev/null || fail "after send/recv: $1 (got: $(jq -c "$2" "$T/j1"))"; }
check '.domains | all(.attached and .hash_ok)' '.domains'
check ".channels[0].a.counters.tx_messages == $N + 1" '.channels[0].a.counters'
check ".channels[0].a.counters.tx_bytes == $N * $S" '.channels[0].a.counters'
check '.channels[0].a.counters.discarded_messages == 1' '.channels[0].a.counters'
check ".channels[0].b.counters.rx_messages == $N" '.channels[0].b.counters'
check ".channels[0].b.counters.rx_bytes == $N * $S" '.channels[0].b.counters'
check '.channels[0].a.state == "CLOSED" and .channels[0].b.state == "CLOSED"' '.channels[0]'
check '.channels[0].a.local_process == false' '.channels[0].a'
echo "after send/recv --count: counters match"

# A live channel: two cats that stay attached (their stdin stays open).
mkfifo "$T/fa" "$T/fb"
sleep 30 >"$T/fa" &
PIDS+=($!)
sleep 30 >"$T/fb" &
PIDS+=($!)
printf 'hello from linux\n' >"$T/msg"
"${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as linux <"$T/fa" >"$T/outa" &
PIDS+=($!)
"${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as rtos <"$T/fb" >"$T/outb" &
PIDS+=($!)
# Write into linux's stdin through the fifo (a second writer keeps it open).
exec 3>"$T/fa"
cat "$T/msg" >&3
ok=0
for _ in $(seq 100); do
	"$SHMLINK" inspect "$cfg" --json >"$T/j2"
	if jq -e '.channels[0] | .a.state == "EST" and .b.state == "EST" and .same_session
	          and .a.counters.tx_bytes == 17 and .b.counters.rx_bytes == 17
	          and .fill_ab == 0 and .fill_ab_valid and .a.local_process and .b.local_process' \
		"$T/j2" >/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[ $ok = 1 ] || fail "live channel: $(jq -c '.channels[0]' "$T/j2")"
cmp -s "$T/msg" "$T/outb" || fail "live channel: rtos printed '$(cat "$T/outb")'"
echo "live channel: both EST, counters and fill match"
# The text form shows the same.
"$SHMLINK" inspect "$cfg" >"$T/text"
grep -q "attached, hash ok" "$T/text" || fail "text: no slot line"
grep -Eq "state +EST +EST" "$T/text" || fail "text: no state line"
# --watch refreshes (not a terminal here: snapshots one after the other).
"$SHMLINK" inspect "$cfg" --watch --interval 0.05 --iterations 3 >"$T/watch"
[ "$(grep -c '^domains' "$T/watch")" -eq 3 ] || fail "--watch --iterations 3 did not print 3 frames"
"$SHMLINK" inspect "$cfg" --watch --json --interval 0.05 --iterations 2 | jq -s 'length == 2' |
	grep -q true || fail "--watch --json: not 2 JSON objects"
exec 3>&-

# A hostile or garbage region: inspect displays whatever is there, flags
# impossible fill levels as invalid, and still prints valid JSON.
kill "${PIDS[@]}" 2>/dev/null || true
wait 2>/dev/null || true
reg=$(region ins)
head -c 1M /dev/urandom >"$reg"
"$SHMLINK" inspect "$cfg" >/dev/null || fail "inspect of random bytes failed"
"$SHMLINK" inspect "$cfg" --json | jq . >/dev/null || fail "inspect --json of random bytes: not JSON"
# Side A at 0x80, side B at 0x180: control line (state, gen, peer_gen), then
# one line later the position line (tx_pos, rx_pos), LE words.
put() { printf "$2" | dd of="$reg" bs=1 seek=$(($1)) conv=notrunc status=none; }
put 0x80 '\x53\x45\x53\x54\x01\x00\x00\x00\x02\x00\x00\x00' # EST, gen 1, peer 2
put 0xc0 '\x00\x00\x10\x00\x00\x00\x00\x00'                     # tx 1 MiB, rx 0
put 0x180 '\x53\x45\x53\x54\x02\x00\x00\x00\x01\x00\x00\x00'
put 0x1c0 '\x00\x00\x00\x00\x00\x00\x00\x00'
"$SHMLINK" inspect "$cfg" --json >"$T/j3"
jq -e '.channels[0] | .same_session and .fill_ab == 1048576 and .fill_ab_valid == false' "$T/j3" \
	>/dev/null || fail "hostile fill: $(jq -c '.channels[0] | {same_session, fill_ab, fill_ab_valid}' "$T/j3")"
"$SHMLINK" inspect "$cfg" | grep "invalid (1048576 > 4096)" >/dev/null || fail "text: no 'invalid' fill"
echo "hostile region: displayed, fill flagged invalid"
