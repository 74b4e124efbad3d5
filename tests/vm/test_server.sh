#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ivshmem server: clear errors (a socket in use by a live server, a
# region size mismatch, a size that is not a power of two, a path that is
# not a socket, usage), a stale socket replaced, peers joining and leaving,
# and a clean stop on SIGTERM and SIGINT (socket removed, region kept).
# Needs IVSHMEM_SERVER and VMPEER (set by ctest).
. "$(dirname "$0")/lib.sh"

SRV=${IVSHMEM_SERVER:?}
PEER=${VMPEER:?}
SOCK=$T/sock
REGION=/dev/shm/shml-ivs-test-$$
add_region "$REGION"
add_region "$REGION-b"

# run_err NAME EXPECTED_RC REGEX ARGS...: the server fails at once, as told.
run_err() {
	local name=$1 want=$2 re=$3 rc=0
	shift 3
	timeout 20 "$SRV" "$@" >"$T/$name.log" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || die "$name: exit status $rc, expected $want"
	grep -Eq -- "$re" "$T/$name.log" || die "$name: no /$re/ in its message"
	echo "ok: $name: $(head -1 "$T/$name.log")"
}

run_err usage_no_socket 2 '-S SOCKET is needed' -m "$REGION" -l 8M
run_err usage_bad_size 2 "bad size" -S "$SOCK" -m "$REGION" -l 8Q
run_err usage_bad_vectors 2 "bad vector count" -S "$SOCK" -m "$REGION" -l 8M -n 0
run_err not_pow2 1 'not a power of two' -S "$SOCK" -m "$REGION" -l 3M
run_err missing_region_no_size 1 'does not exist: give its size' -S "$SOCK" -m "$REGION"
[ ! -e "$REGION" ] || die "a failed start left the region file behind"

# A live server.
start_bg srv1 "$SRV" -S "$SOCK" -m "$REGION" -l 8M -n 2
SRV1=$LAST_PID
wait_for "$T/srv1.log" '^listening on' 10 "$SRV1"
[ -S "$SOCK" ] || die "no socket file"
[ "$(stat -c %s "$REGION")" = 8388608 ] || die "region file is not 8 MiB"

run_err socket_in_use 1 'in use by a running ivshmem server' -S "$SOCK" -m "$REGION-b" -l 8M
[ ! -e "$REGION-b" ] || die "the refused server created its region anyway"
run_err size_mismatch 1 'region size mismatch: .* is 8388608 bytes, not the 4194304' \
	-S "$T/sock2" -m "$REGION" -l 4M
[ ! -e "$T/sock2" ] || die "the refused server left its socket"
touch "$T/notasocket"
run_err not_a_socket 1 'exists and is not a socket' -S "$T/notasocket" -m "$REGION" -l 8M
[ -f "$T/notasocket" ] || die "the server removed a file that is not a socket"

# Peers join and leave; ids count up and never come back (QEMU aborts on a rejoin).
start_bg peer_a "$PEER" port=host:"$SOCK" self=0 sleep=60000
PA=$LAST_PID
peer_id peer_a "$PA"
IA=$ID
start_bg peer_b "$PEER" port=host:"$SOCK" self=1 sleep=60000
PB=$LAST_PID
peer_id peer_b "$PB"
IB=$ID
[ "$IB" -gt "$IA" ] || die "peer b got id $IB after peer a's $IA"
wait_for "$T/srv1.log" "peer $IB joined \\(2 connected\\)" 10 "$SRV1"
kill -KILL "$PA"
wait_last "$T/srv1.log" "peer $IA left .*; 1 connected" 10
start_bg peer_c "$PEER" port=host:"$SOCK" self=0 sleep=60000
PC=$LAST_PID
peer_id peer_c "$PC"
[ "$ID" -gt "$IB" ] || die "peer c got id $ID: an id given out before ($IA, $IB) came back"
wait_for "$T/srv1.log" "peer $ID joined \\(2 connected\\)" 10 "$SRV1"
echo "ok: join/leave: ids $IA, $IB, then $ID: the id of a peer that left is not given out again"
kill -KILL "$PB" "$PC"
wait_last "$T/srv1.log" 'left .*; 0 connected' 10

# SIGTERM: a clean stop.
kill -TERM "$SRV1"
rc=0
wait_exit "$SRV1" 20 || rc=$?
[ "$rc" = 0 ] || die "server exit status $rc after SIGTERM"
[ ! -e "$SOCK" ] || die "socket left after SIGTERM"
[ -f "$REGION" ] || die "region file removed (it should stay)"
grep -Eq 'SIGTERM: stopping \([0-9]+ joins, [0-9]+ leaves, 0 connected\)' "$T/srv1.log" || die "no stop summary"
echo "ok: SIGTERM stops the server, removes the socket, keeps the region"

# A stale socket (the server was SIGKILLed) is replaced; SIGINT stops it too.
start_bg srv2 "$SRV" -S "$SOCK" -m "$REGION" -l 8M
SRV2=$LAST_PID
wait_for "$T/srv2.log" '^listening on' 10 "$SRV2"
kill -KILL "$SRV2"
wait "$SRV2" 2>/dev/null || true
[ -S "$SOCK" ] || die "no stale socket to test with"
start_bg srv3 "$SRV" -S "$SOCK" -m "$REGION" --remove-region
SRV3=$LAST_PID
wait_for "$T/srv3.log" '^listening on .*8388608 bytes' 10 "$SRV3"
grep -q 'removing stale socket' "$T/srv3.log" || die "no word about the stale socket"
"$PEER" port=host:"$SOCK" self=0 vectors=1 sleep=10 >"$T/peer_d.log" 2>&1 ||
	die "a peer could not use the server that replaced the stale socket"
kill -INT "$SRV3"
rc=0
wait_exit "$SRV3" 20 || rc=$?
[ "$rc" = 0 ] || die "server exit status $rc after SIGINT"
[ ! -e "$SOCK" ] || die "socket left after SIGINT"
[ ! -e "$REGION" ] || die "--remove-region kept the region"
echo "ok: a stale socket is replaced; SIGINT stops; --remove-region removes the region"

# A client sees a clear error without a server.
rc=0
"$PEER" port=host:"$SOCK" self=0 vectors=1 sleep=1 >"$T/peer_e.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || die "a peer without a server succeeded"
grep -q 'no ivshmem server at' "$T/peer_e.log" || die "unclear client error: $(cat "$T/peer_e.log")"
echo "ok: no server: $(grep -o 'no ivshmem server at.*' "$T/peer_e.log")"
echo "PASS"
