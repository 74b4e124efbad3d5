#!/bin/sh
# SPDX-License-Identifier: MIT
# Run ctest in each build tree given as DIR[:REGEX], show each summary, then
# one closing line for the whole check: "check: N passed, N failed".
# Exits non-zero if any tree failed, after all trees ran.
set -u
ctest=${CTEST:-ctest}
jobs=${CTEST_JOBS:-2}
passed=0 failed=0 rc=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for tree in "$@"; do
	dir=${tree%%:*}
	regex=
	[ "$dir" = "$tree" ] || regex=${tree#*:}
	echo "== tests in $dir${regex:+ matching $regex}"
	if [ -n "$regex" ]; then
		$ctest --test-dir "$dir" --output-on-failure -j"$jobs" -R "$regex" | tee "$log" || rc=1
	else
		$ctest --test-dir "$dir" --output-on-failure -j"$jobs" | tee "$log" || rc=1
	fi
	# ctest's summary: "NN% tests passed, F tests failed out of T"
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "run-tests: no ctest summary from $dir" >&2
		rc=1
		continue
	fi
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
	t=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
	passed=$((passed + t - f))
	failed=$((failed + f))
done
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || rc=1
exit $rc
