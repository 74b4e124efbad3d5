#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the benchmark suite (docs/PERFORMANCE.md): every bench program, run by
# run and size by size so that the figures a ratio is made of are measured
# close together; callgrind instruction counts; then the report.
#
#   scripts/bench.sh [--mode quick|full|smoke] [--build DIR] [--out DIR] [--runs N]
#                    [--doc FILE] [--no-iceoryx] [--no-callgrind]
#
#   quick (default)  3 runs; 64 B, 1 KiB, 64 KiB; docs/PERFORMANCE.md regenerated
#   full             3 runs; 16 sizes 8 B .. 256 KiB; longer measurements (about half an
#                    hour on 2 cores); docs regenerated
#   smoke            1 run, milliseconds per measurement: checks that everything
#                    works and that the CSV is well formed (ctest bench_smoke);
#                    the report goes to OUT/PERFORMANCE.md, docs/ is not touched
#
# iceoryx needs its RouDi daemon: started here (iox-roudi, Debian package
# iceoryx) with OUT/roudi.toml and stopped on exit. If none can start quickly
# (not installed, or another RouDi already holds its lock) iceoryx is skipped
# and the output says so.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
mode=quick
build="$src/build"
out=""
runs=""
doc=""
use_iceoryx=1
use_callgrind=1
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--doc) doc=$2; shift 2 ;;
	--no-iceoryx) use_iceoryx=0; shift ;;
	--no-callgrind) use_callgrind=0; shift ;;
	-h|--help) sed -n '3,20p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case "$mode" in
quick) runs=${runs:-3}; sizes="64 1024 65536"; cg_n=200000; cg_sizes="64 1024" ;;
full) runs=${runs:-3}; sizes="8 16 32 64 128 256 512 1024 2048 4096 8192 16384 32768 65536 131072 262144"
	cg_n=1000000; cg_sizes="64 1024 65536" ;;
smoke) runs=${runs:-1}; sizes="64 1024 65536"; cg_n=2000; cg_sizes="64" ;;
*) echo "bench.sh: --mode quick|full|smoke" >&2; exit 2 ;;
esac
out=${out:-$build/bench}
if [ -z "$doc" ] && [ "$mode" != smoke ]; then
	doc="$src/docs/PERFORMANCE.md"
fi

for p in bench_limits bench_shmlink bench_ipc bench_iceoryx bench_callgrind; do
	if [ ! -x "$build/$p" ]; then
		echo "bench.sh: $build/$p is missing: build first (make build, or make bench)" >&2
		exit 1
	fi
done
mkdir -p "$out"
csv="$out/results.csv"
rm -f "$csv" "$out"/*.png "$out"/*.dat
rm -rf "$out/callgrind"
log="$out/bench.log"
: >"$log"
say() { echo "bench: $*" | tee -a "$log"; }

started=$(date +%s)
say "mode $mode, $runs run(s), sizes $sizes; CSV $csv"
# The machine and the moment, for the report (read by bench_report.py).
{
	echo "date: $(date '+%Y-%m-%d %H:%M %Z')"
	lscpu 2>/dev/null | grep -E '^(Model name|CPU\(s\)|Hypervisor vendor):' || true
	echo "kernel: $(uname -r)"
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
} >"$out/machine.txt"

# ---- iceoryx's RouDi ------------------------------------------------------------------------
roudi_pid=""
shm_before=""
stop_roudi() {
	local rc=0
	if [ -n "$roudi_pid" ]; then
		kill -TERM "$roudi_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$roudi_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$roudi_pid" 2>/dev/null || true
		wait "$roudi_pid" 2>/dev/null || rc=$?
		roudi_pid=""
		# A RouDi that did not shut down cleanly leaves its shared memory behind:
		# remove what it created (not what was there before it started).
		if [ "$rc" -ne 0 ]; then
			for f in iceoryx_mgmt "$(id -un)"; do
				if [ -e "/dev/shm/$f" ] && ! printf '%s\n' "$shm_before" | grep -x "$f" >/dev/null; then
					rm -f "/dev/shm/$f"
				fi
			done
		fi
	fi
}
trap stop_roudi EXIT INT TERM

iceoryx_skip=""
if [ "$use_iceoryx" = 0 ]; then
	iceoryx_skip="disabled with --no-iceoryx"
elif "$build/bench_iceoryx" --help >/dev/null 2>&1; [ $? -eq 77 ]; then
	iceoryx_skip="bench_iceoryx was built without the iceoryx C binding"
elif ! command -v iox-roudi >/dev/null 2>&1; then
	iceoryx_skip="iox-roudi not found (Debian package iceoryx)"
else
	# Mempools: payload sizes up to 256 KiB; enough chunks for a 256-deep queue each way.
	cat >"$out/roudi.toml" <<-EOF
	[general]
	version = 1

	[[segment]]

	[[segment.mempool]]
	size = 128
	count = 2048

	[[segment.mempool]]
	size = 1024
	count = 1024

	[[segment.mempool]]
	size = 8192
	count = 1024

	[[segment.mempool]]
	size = 65536
	count = 640

	[[segment.mempool]]
	size = 262144
	count = 600
	EOF
	wait_s=10
	[ "$mode" = smoke ] && wait_s=5
	# Monitoring off: under load a busy-polling worker's keep-alive thread can starve
	# for 1.5 s, and RouDi would then drop it in the middle of a measurement. Workers
	# deregister when they exit.
	shm_before=""
	for f in iceoryx_mgmt "$(id -un)"; do
		[ -e "/dev/shm/$f" ] && shm_before="$shm_before$f"$'\n'
	done
	iox-roudi -c "$out/roudi.toml" -m off -l info >"$out/roudi.log" 2>&1 &
	roudi_pid=$!
	ready=0
	for _ in $(seq $((wait_s * 10))); do
		if grep -q "RouDi is ready for clients" "$out/roudi.log" 2>/dev/null; then
			ready=1
			break
		fi
		kill -0 "$roudi_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$ready" = 1 ]; then
		say "iceoryx: RouDi started (pid $roudi_pid)"
	else
		reason=$(sed "s/\x1b\[[0-9;]*m//g" "$out/roudi.log" | grep -m1 -o -E "Could not acquire lock.*|ROUDI_STILL_RUNNING" || true)
		stop_roudi
		iceoryx_skip="RouDi did not start within ${wait_s} s${reason:+: $reason}"
	fi
fi
[ -n "$iceoryx_skip" ] && say "iceoryx: SKIPPED: $iceoryx_skip"

# ---- the runs -------------------------------------------------------------------------------
failed=0
run_prog() {
	local prog=$1
	shift
	"$build/$prog" --mode "$mode" --csv "$csv" --quiet "$@" 2>>"$log" || {
		local rc=$?
		if [ $rc -eq 77 ]; then
			return 0
		fi
		say "$prog $* failed (exit $rc); see $log"
		failed=1
	}
}
for run in $(seq "$runs"); do
	first=1
	for size in $sizes; do
		say "run $run/$runs, $size B ($(($(date +%s) - started)) s)"
		common=(--run "$run" --sizes "$size" --extras "$first")
		run_prog bench_limits "${common[@]}"
		run_prog bench_shmlink "${common[@]}"
		run_prog bench_ipc "${common[@]}"
		if [ -z "$iceoryx_skip" ]; then
			run_prog bench_iceoryx "${common[@]}"
		fi
		first=0
	done
done
stop_roudi

# ---- instructions per message ---------------------------------------------------------------
if [ "$use_callgrind" = 1 ] && command -v valgrind >/dev/null 2>&1; then
	mkdir -p "$out/callgrind"
	for size in $cg_sizes; do
		for v in ideal shml_copy shml_zerocopy shml_stream; do
			case $v in
			ideal) t=ideal; m=ring ;;
			shml_copy) t=shmlink; m=message ;;
			shml_zerocopy) t=shmlink; m=zerocopy ;;
			shml_stream) t=shmlink; m=stream ;;
			esac
			if [ "$mode" = smoke ] && [ "$v" != ideal ] && [ "$v" != shml_copy ]; then
				continue
			fi
			f="$out/callgrind/$v-$size.out"
			if valgrind --tool=callgrind --collect-atstart=no --toggle-collect='cg_*' \
				--callgrind-out-file="$f" "$build/bench_callgrind" "$v" "$size" "$cg_n" \
				>>"$log" 2>&1; then
				python3 "$here/bench_report.py" callgrind "$f" --n "$cg_n" --csv "$csv" \
					--transport "$t" --mode "$m" --size "$size" \
					--table "$out/callgrind/$v-$size.txt" >>"$log"
			else
				say "callgrind $v $size failed; see $log"
				failed=1
			fi
		done
	done
	say "callgrind: instructions per message in $out/callgrind/"
else
	say "callgrind: SKIPPED (valgrind not installed, or --no-callgrind)"
fi

# ---- check and report -----------------------------------------------------------------------
expect="memcpy,cacheline,ideal,shmlink,pipe,unix_stream,unix_seqpacket,eventfd,futex"
[ -z "$iceoryx_skip" ] && expect="$expect,iceoryx"
python3 "$here/bench_report.py" check "$csv" --expect "$expect" | tee -a "$log" || failed=1
if [ "$mode" = smoke ]; then
	python3 "$here/bench_report.py" report "$csv" --out "$out" --mode "$mode" >>"$log" || failed=1
	if ! grep -q '^| ' "$out/PERFORMANCE.md" 2>/dev/null; then
		say "the smoke report has no table"
		failed=1
	fi
else
	python3 "$here/bench_report.py" report "$csv" --out "$out" --mode "$mode" --doc "$doc" |
		tee -a "$log" || failed=1
fi
say "done in $(($(date +%s) - started)) s$([ -n "$iceoryx_skip" ] && echo "; iceoryx skipped: $iceoryx_skip")"
exit $failed
