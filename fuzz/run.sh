#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a libFuzzer harness (docs/RELIABILITY.md, "Fuzzing").
#
#   fuzz/run.sh MODE BINARY
#
#   regressions  replay each file of fuzz/regressions/<harness>/ once
#   corpus       replay each file of the seed corpus fuzz/corpus/<harness>/
#   check        a bounded run from the seed corpus: FUZZ_CHECK_RUNS executions
#                (200000) or FUZZ_CHECK_SECONDS (60), whichever comes first;
#                seed FUZZ_SEED (1), so that CI runs are repeatable
#   long         the campaign: FUZZ_SECONDS (600) with FUZZ_JOBS (2) worker
#                processes (libFuzzer -fork), under nice
#   afl          the same under AFL++: BINARY is the <harness>_afl build; one
#                main and FUZZ_JOBS-1 secondary afl-fuzz, resumed if run before
#
# New corpus entries and crash inputs go to <dir of BINARY>/work/<harness>/,
# never into the source tree. Extra libFuzzer flags: FUZZ_FLAGS.
set -eu

mode=$1
bin=$2
h=$(basename "$bin")
h=${h%_afl}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(cd "$(dirname "$bin")" && pwd)/work/$h
corpus=$root/fuzz/corpus/$h
regressions=$root/fuzz/regressions/$h
mkdir -p "$work/artifacts"

set -- -max_len=4096 -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/"
[ -f "$root/fuzz/$h.dict" ] && set -- "$@" -dict="$root/fuzz/$h.dict"
# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
set -- "$@" ${FUZZ_FLAGS:-}
# Known open core bugs to step around in check and long runs (not in replays):
# the first word of fuzz/regressions/<harness>.mask, unless FUZZ_MASK is set.
if [ -z "${FUZZ_MASK+set}" ] && [ -f "$root/fuzz/regressions/$h.mask" ]; then
	FUZZ_MASK=$(sed -e 's/#.*//' "$root/fuzz/regressions/$h.mask" | awk 'NF { print $1; exit }')
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

replay() { # DIR FLAGS...: run each input once, report every failing one
	dir=$1
	shift
	if [ ! -d "$dir" ] || [ -z "$(find "$dir" -type f ! -name '*.md' | head -n 1)" ]; then
		echo "$h: no inputs in $dir"
		return 0
	fi
	n=0
	failed=0
	unset FUZZ_MASK
	for f in $(find "$dir" -type f ! -name '*.md' | sort); do
		n=$((n + 1))
		if ! "$bin" "$@" "$f" >"$work/replay.log" 2>&1; then
			failed=$((failed + 1))
			echo "== FAILED: $f"
			grep -E 'INVARIANT|ERROR|SUMMARY|runtime error' "$work/replay.log" | head -n 5
			echo "   (rerun: $bin $f; FUZZ_TRACE=1 traces each operation)"
		fi
	done
	echo "$h: $n inputs replayed, $failed failing ($dir)"
	[ "$failed" -eq 0 ]
}

case $mode in
regressions)
	replay "$regressions" "$@"
	;;
corpus)
	replay "$corpus" "$@"
	;;
check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	export FUZZ_MASK
	echo "$h: up to ${FUZZ_CHECK_RUNS:-200000} runs or ${FUZZ_CHECK_SECONDS:-60} s (FUZZ_MASK=${FUZZ_MASK:-0})"
	"$bin" "$@" -seed="${FUZZ_SEED:-1}" -runs="${FUZZ_CHECK_RUNS:-200000}" \
		-max_total_time="${FUZZ_CHECK_SECONDS:-60}" -print_final_stats=1 \
		"$tmp" "$corpus" >"$work/check.log" 2>&1 || {
		tail -n 60 "$work/check.log"
		echo "$h: FAILED; the input is in $work/artifacts/ (log: $work/check.log)"
		exit 1
	}
	grep -E '^#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss' "$work/check.log"
	;;
long)
	mkdir -p "$work/corpus"
	secs=${FUZZ_SECONDS:-600}
	jobs=${FUZZ_JOBS:-2}
	export FUZZ_MASK
	echo "$h: $secs s, $jobs workers (FUZZ_MASK=${FUZZ_MASK:-0}); corpus $work/corpus, crashes $work/artifacts/"
	nice -n "${FUZZ_NICE:-10}" "$bin" "$@" -fork="$jobs" -max_total_time="$secs" \
		-print_final_stats=1 "$work/corpus" "$corpus" 2>&1 | tee "$work/long.log" |
		grep --line-buffered -E '^#[0-9]+: |INVARIANT|ERROR|crash|DONE' || true
	tail -n 3 "$work/long.log"
	if grep -qE 'INVARIANT|ERROR: |deadly signal' "$work/long.log"; then
		echo "$h: FOUND A FAILURE; inputs in $work/artifacts/"
		exit 1
	fi
	;;
afl)
	out=$work/afl
	mkdir -p "$out"
	secs=${FUZZ_SECONDS:-600}
	jobs=${FUZZ_JOBS:-2}
	export FUZZ_MASK AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
		AFL_NO_AFFINITY=1 AFL_AUTORESUME=1
	# afl-fuzz insists on sanitizers that abort, without symbolizing.
	export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0
	export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0
	echo "$h: AFL++ $secs s, $jobs instances (FUZZ_MASK=${FUZZ_MASK:-0}); output $out"
	pids=
	i=1
	while [ "$i" -lt "$jobs" ]; do
		nice -n "${FUZZ_NICE:-10}" afl-fuzz -S "s$i" -m none -t 5000 -V "$secs" -i "$corpus" \
			-o "$out" -- "$bin" >"$out/s$i.log" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	nice -n "${FUZZ_NICE:-10}" afl-fuzz -M main -m none -t 5000 -V "$secs" -i "$corpus" \
		-o "$out" -- "$bin" >"$out/main.log" 2>&1 || tail -n 20 "$out/main.log"
	for p in $pids; do wait "$p" || true; done
	for f in "$out"/*/fuzzer_stats; do
		echo "$(basename "$(dirname "$f")"): $(grep -E '^(execs_done|edges_found|saved_crashes|saved_hangs) ' "$f" | tr -s ' ' | tr '\n' ' ')"
	done
	if [ -n "$(find "$out" -path '*/crashes/id*' -o -path '*/hangs/id*' 2>/dev/null | head -n 1)" ]; then
		echo "$h: AFL++ FOUND A FAILURE: $out/*/crashes/, $out/*/hangs/"
		echo "   (replay one with the libFuzzer build: $(dirname "$bin")/$h FILE)"
		exit 1
	fi
	;;
*)
	echo "usage: $0 regressions|corpus|check|long|afl BINARY" >&2
	exit 2
	;;
esac
