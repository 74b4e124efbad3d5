#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two host peers through the ivshmem server, doorbells on eventfds: full
# duplex in message and stream mode with sequence numbers and checksums,
# round trips; then the receiving peer is SIGKILLed mid-stream and started
# again: it gets a new id (found in its record), the sender sees the reset, and the ledger
# balances (every message received once or reported discarded); then the
# sending peer is killed instead, and its successor is told the discards.
# The same programs and steps as the VM tests, without VMs.
. "$(dirname "$0")/lib.sh"

SRV=${IVSHMEM_SERVER:?}
PEER=${VMPEER:?}
SOCK=$T/sock
REGION=/dev/shm/shml-ivs-hp-$$
add_region "$REGION"
BYTES=${BYTES:-32M}

start_bg server "$SRV" -S "$SOCK" -m "$REGION" -l 8M -n 2
SRVPID=$LAST_PID
wait_for "$T/server.log" '^listening on' 10 "$SRVPID"

# 1. Bulk both ways at once, then round trips.
start_bg a "$PEER" port=host:"$SOCK" self=0 timeout=120 \
	duplex-msg="$BYTES" duplex-stream="$BYTES" ping=1000
A=$LAST_PID
peer_id a "$A"
start_bg b "$PEER" port=host:"$SOCK" self=1 timeout=120 \
	duplex-msg="$BYTES" duplex-stream="$BYTES" pong=1000
B=$LAST_PID
wait_exit "$A" 150 || die "peer a failed"
wait_exit "$B" 30 || die "peer b failed"
expect_pass a
expect_pass b
report a
report b
wait_for "$T/server.log" 'left .*; 0 connected' 10 "$SRVPID"

# 2. Kill the receiver mid-stream, start it again.
start_bg source "$PEER" port=host:"$SOCK" self=0 timeout=60 source=30000
SRC=$LAST_PID
peer_id source "$SRC"
start_bg sink1 "$PEER" port=host:"$SOCK" self=1 timeout=60 sink=3000
SINK1=$LAST_PID
peer_id sink1 "$SINK1"
I1=$ID
wait_for "$T/sink1.log" 'sink pausing' 60 "$SINK1"
sleep 0.2
kill -KILL "$SINK1"
wait_for "$T/server.log" "peer $I1 left" 10 "$SRVPID"
start_bg sink2 "$PEER" port=host:"$SOCK" self=1 timeout=60 sink
SINK2=$LAST_PID
peer_id sink2 "$SINK2"
[ "$ID" != "$I1" ] || die "the restarted sink got its predecessor's id $ID back"
wait_exit "$SRC" 120 || die "the source failed"
wait_exit "$SINK2" 30 || die "the second sink failed"
expect_pass source
expect_pass sink2
report sink1
report sink2
report source
grep -q '^SHML reset .*exact=1' "$T/source.log" || die "the source saw no exact reset"
wait_last "$T/server.log" 'left .*; 0 connected' 10

# 3. Kill the sender instead: its successor learns what the reset discarded.
rm -f "$REGION"
kill -TERM "$SRVPID"
wait_exit "$SRVPID" 20 || die "server did not stop cleanly"
start_bg server2 "$SRV" -S "$SOCK" -m "$REGION" -l 8M -n 2
SRVPID=$LAST_PID
wait_for "$T/server2.log" '^listening on' 10 "$SRVPID"
start_bg src1 "$PEER" port=host:"$SOCK" self=0 timeout=60 source=30000
SRC1=$LAST_PID
peer_id src1 "$SRC1"
I1=$ID
start_bg sink "$PEER" port=host:"$SOCK" self=1 timeout=60 sink=3000
SINK=$LAST_PID
wait_for "$T/sink.log" 'sink pausing' 60 "$SINK"
sleep 0.2
kill -KILL "$SRC1"
wait_for "$T/server2.log" "peer $I1 left" 10 "$SRVPID"
start_bg src2 "$PEER" port=host:"$SOCK" self=0 timeout=60 source=30000
SRC2=$LAST_PID
wait_exit "$SINK" 120 || die "the sink failed"
wait_exit "$SRC2" 30 || die "the restarted source failed"
expect_pass sink
expect_pass src2
report src1
report src2
report sink
grep -q '^SHML reset .*exact=1 previous_process=1' "$T/src2.log" ||
	die "the restarted source got no exact report of its predecessor's discards"
kill -TERM "$SRVPID"
wait_exit "$SRVPID" 20 || die "server did not stop cleanly"
echo "PASS"
