#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one Spin verification of model/shmlink.pml and print one summary line.
#
# usage: model/verify.sh [options] NAME [spin -D flags...]
#   -x          expect a violation: succeed only if pan reports one
#   -e REGEX    with -x: the violation pan reports must match REGEX (grep -E)
#   -b BITS     bitstate (supertrace) search with a 2^BITS-bit table: a
#               sweep, not an exhaustive check (reported as such)
#   -p          non-progress-cycle search (livelocks), instead of safety
#   -m MB       memory limit for pan (default 8192)
#   -w DIR      work directory (default: a new one under ${TMPDIR:-/tmp})
#   -k          keep the work directory (it holds the trail of a violation)
#
# Exit status: 0 as expected, 1 not as expected (or the search was
# incomplete), 77 spin or a C compiler is missing (ctest: skipped).
# The summary line: "model NAME: PASS|FAIL ... states S, T s".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
model=$here/shmlink.pml
expect_fail=0 regex='' bits='' np=0 mem=8192 work='' keep=0
while getopts xe:b:pm:w:k opt; do
	case $opt in
	x) expect_fail=1 ;;
	e) regex=$OPTARG ;;
	b) bits=$OPTARG ;;
	p) np=1 ;;
	m) mem=$OPTARG ;;
	w) work=$OPTARG ;;
	k) keep=1 ;;
	*) sed -n '3,17p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '3,17p' "$0" >&2; exit 2; }
name=$1
shift

CC=${CC:-cc}
if ! command -v spin >/dev/null 2>&1 || ! command -v "$CC" >/dev/null 2>&1; then
	echo "model $name: SKIPPED (needs spin and $CC; Debian package: spin)"
	exit 77
fi

if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/shmlink-model.XXXXXX")
	[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
else
	mkdir -p "$work"
fi
cd "$work"
cp "$model" shmlink.pml

# pan: exhaustive (COLLAPSE compresses states losslessly) or bitstate;
# safety (assertions, invalid end states) or non-progress cycles.
# A run expected to fail stops within a few thousand states: compiling pan
# quickly (-O0, ~1 s) beats compiling it well (-O2, ~20 s).
opt=-O2
[ "$expect_fail" = 1 ] && opt=-O0
cflags="${MODEL_OPT:-$opt} -DMEMLIM=$mem"
runflags="-m100000"
if [ -n "$bits" ]; then
	cflags="$cflags -DBITSTATE"
	runflags="$runflags -w$bits"
else
	cflags="$cflags -DCOLLAPSE"
fi
if [ "$np" = 1 ]; then
	cflags="$cflags -DNP -DNOFAIR"
	runflags="$runflags -l"
else
	cflags="$cflags -DSAFETY"
fi

start=$(date +%s)
spin -a "$@" shmlink.pml >spin.log 2>&1 || { cat spin.log; echo "model $name: FAIL (spin -a)"; exit 1; }
# shellcheck disable=SC2086 # word splitting of the flags is wanted
$CC $cflags -o pan pan.c >cc.log 2>&1 || { cat cc.log; echo "model $name: FAIL (compiling pan)"; exit 1; }
# shellcheck disable=SC2086
./pan $runflags >pan.log 2>&1 || true
end=$(date +%s)

errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | tail -1)
states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log | tail -1)
depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' pan.log | tail -1)
what=$(grep -E '^pan:[0-9]+: |^pan: (invalid end state|non-progress cycle)|acceptance cycle' pan.log | head -1 || true)
mode="exhaustive"
[ -n "$bits" ] && mode="bitstate 2^$bits"
[ "$np" = 1 ] && mode="$mode, non-progress"
info="$mode, ${states:-?} states, depth ${depth:-?}, $((end - start)) s, flags: $*"

incomplete=''
grep -q 'Search not completed' pan.log && incomplete='search not completed'
grep -q 'reached -DMEMLIM bound\|out of memory' pan.log && incomplete='out of memory'
grep -q 'max search depth too small' pan.log && incomplete='depth limit'
if [ -z "$errors" ]; then
	tail -20 pan.log
	echo "model $name: FAIL (no result from pan) [$info]"
	exit 1
fi

if [ "$expect_fail" = 1 ]; then
	if [ "$errors" -gt 0 ] && { [ -z "$regex" ] || printf '%s\n' "$what" | grep -Eq -- "$regex"; }; then
		echo "model $name: PASS (violation found as expected: ${what#pan:1: }) [$info]"
		exit 0
	fi
	if [ "$errors" -gt 0 ]; then
		echo "model $name: FAIL (a violation, but not the expected one: $what) [$info]"
	else
		echo "model $name: FAIL (no violation found, one was expected) [$info]"
	fi
	exit 1
fi

if [ "$errors" -gt 0 ]; then
	sed -n '1,5p' pan.log
	echo "model $name: FAIL ($what; trail: rerun with -k, then spin -t $* shmlink.pml in the work directory) [$info]"
	exit 1
fi
if [ -n "$incomplete" ]; then
	echo "model $name: FAIL (incomplete: $incomplete) [$info]"
	exit 1
fi
echo "model $name: PASS (no violation) [$info]"
