# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers of the ivshmem tests (sourced by bash): background processes that
# are always cleaned up, waiting for a line in a log, failing with context.
#
# Every process a test starts goes through start_bg, and only those are ever
# killed, by their own pid.

set -u

T=$(mktemp -d /tmp/shml-ivs.XXXXXX)
PIDS=()
REGIONS=()
KEEP_LOGS=${KEEP_LOGS:-0}

# If this script is killed (a ctest timeout sends SIGKILL, which no trap sees),
# a watchdog ends what it started: the pids and region files listed in $T.
: >"$T/pids"
: >"$T/regions"
(
	trap '' INT TERM
	while kill -0 "$$" 2>/dev/null; do
		sleep 1
	done
	while read -r p; do
		kill -KILL "$p" 2>/dev/null
	done <"$T/pids"
	while read -r f; do
		rm -f "$f"
	done <"$T/regions"
	[ "$KEEP_LOGS" = 1 ] || rm -rf "$T"
) >/dev/null 2>&1 </dev/null &
WATCHDOG=$!

# add_region FILE: remove FILE at the end.
add_region() {
	REGIONS+=("$1")
	echo "$1" >>"$T/regions"
}

now_ms() { date +%s%3N; }

cleanup() {
	local p
	kill -KILL "$WATCHDOG" 2>/dev/null || true
	wait "$WATCHDOG" 2>/dev/null || true
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for p in "${REGIONS[@]}"; do
		rm -f "$p"
	done
	if [ "$KEEP_LOGS" = 1 ]; then
		echo "logs kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

show_logs() {
	local f
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)"
		tail -n 40 "$f" | tr -d '\r'
	done
}

die() {
	echo "FAIL: $*"
	show_logs
	exit 1
}

# start_bg NAME CMD...: run CMD in the background, output in $T/NAME.log;
# sets LAST_PID.
start_bg() {
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 </dev/null &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	echo "$LAST_PID" >>"$T/pids"
}

# wait_for FILE REGEX SECONDS [PID]: until a line of FILE matches (grep -E),
# or fail; if PID dies first, fail at once.
wait_for() {
	local file=$1 re=$2 secs=$3 pid=${4:-}
	local end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if [ -f "$file" ] && tr -d '\r' <"$file" | grep -Eq -- "$re"; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			tr -d '\r' <"$file" 2>/dev/null | grep -Eq -- "$re" && return 0
			die "$(basename "$file" .log) ended before printing /$re/"
		fi
		sleep 0.05
	done
	die "no /$re/ in $(basename "$file") within ${secs}s"
}

# peer_id NAME [PID]: wait for NAME.log's "SHML attach ... id=N" and set ID=N. The server
# counts ids up and never gives one out twice, so tests learn ids rather than assume them.
peer_id() {
	wait_for "$T/$1.log" '^SHML attach port=.* id=[0-9]+ ' 10 "${2:-}"
	ID=$(tr -d '\r' <"$T/$1.log" | sed -n 's/^SHML attach port=.* id=\([0-9]*\) .*/\1/p' | head -1)
}

# wait_count FILE REGEX N SECONDS [PID]: until N lines of FILE match.
wait_count() {
	local file=$1 re=$2 n=$3 secs=$4 pid=${5:-}
	local end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if [ -f "$file" ] && [ "$(tr -d '\r' <"$file" | grep -Ec -- "$re")" -ge "$n" ]; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			die "$(basename "$file" .log) ended before printing /$re/ $n times"
		fi
		sleep 0.05
	done
	die "not $n lines /$re/ in $(basename "$file") within ${secs}s"
}

# wait_last FILE REGEX SECONDS: until the last line of FILE matches.
wait_last() {
	local file=$1 re=$2 secs=$3
	local end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		tail -n 1 "$file" 2>/dev/null | tr -d '\r' | grep -Eq -- "$re" && return 0
		sleep 0.05
	done
	die "the last line of $(basename "$file") is not /$re/ after ${secs}s"
}

# wait_exit PID SECONDS [ALIVE_PID]: the exit status of PID, or fail on timeout, or
# at once if ALIVE_PID (e.g. the QEMU PID talks to) dies first.
wait_exit() {
	local pid=$1 secs=$2 alive=${3:-}
	local end=$(($(now_ms) + secs * 1000))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$(now_ms)" -lt "$end" ] || die "process $pid still running after ${secs}s"
		[ -z "$alive" ] || kill -0 "$alive" 2>/dev/null || die "process $alive died while $pid ran"
		sleep 0.05
	done
	local rc=0
	wait "$pid" || rc=$?
	return "$rc"
}

# expect_pass NAME: the peer's log ends in "SHML result=PASS".
expect_pass() {
	tr -d '\r' <"$T/$1.log" | grep -q '^SHML result=PASS' ||
		die "$1 did not pass: $(tr -d '\r' <"$T/$1.log" | grep '^SHML result=' | tail -1)"
}

# The "SHML ..." lines of a log, prefixed with its name; also appended to
# $RESULTS when it is set.
report() {
	tr -d '\r' <"$T/$1.log" | grep -E '^SHML (duplex|rtt|ping|pong|port|ledger|reset|sink|source|attach)' |
		sed "s/^SHML /  $1: /" | tee -a "${RESULTS:-/dev/null}"
}

# used_doorbells NAME...: every peer that slept was woken by doorbells (its port
# received interrupts), and with two or more names, at least one of them
# slept. Which side sleeps depends on timing (a side answered within its spin
# window never sleeps), so no single side is required to.
used_doorbells() {
	local name n w slept=0
	for name in "$@"; do
		n=$(tr -d '\r' <"$T/$name.log" |
			sed -n 's/^SHML port end .*interrupts=\([0-9]*\).*/\1/p' | tail -1)
		w=$(tr -d '\r' <"$T/$name.log" |
			sed -n 's/^SHML port end .*waits=\([0-9]*\).*/\1/p' | tail -1)
		[ -n "$n" ] && [ -n "$w" ] || die "$name: no port summary in its log"
		[ "$w" -eq 0 ] || [ "$n" -gt 0 ] || die "$name slept $w times but received no doorbell"
		[ "$w" -eq 0 ] || slept=1
	done
	[ "$#" -lt 2 ] || [ "$slept" -eq 1 ] ||
		die "no peer of $* ever slept: doorbells were not exercised"
}
