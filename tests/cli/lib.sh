# SPDX-License-Identifier: MIT
# Helpers for the CLI tests (sourced by tests/cli/test_*.sh, run by ctest
# through cmake/cli.cmake, which sets SHMLINK, SHMLINK_SRC, SHMLINK_BUILD, ...).
set -euo pipefail
# With pipefail, `cmd | grep -q` fails at random: grep -q leaves at the first match
# and cmd then dies writing into the closed pipe. The tests use `grep ... >/dev/null`.

: "${SHMLINK:?run through ctest (cmake/cli.cmake sets SHMLINK)}"
SHMLINK_SRC=${SHMLINK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

T=$(mktemp -d "${TMPDIR:-/tmp}/shmlink-cli-test.XXXXXX")
REGION_TAG="shmlink-clitest-$$-$RANDOM"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
	rm -f /dev/shm/"$REGION_TAG"*
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Under ASan/UBSan everything is several times slower: tests may scale down.
sanitized() { [ -n "${SHMLINK_SANITIZE:-}" ]; }

# A region path unique to this test run.
region() { echo "/dev/shm/$REGION_TAG-$1"; }

# write_config FILE MODE RING [extra lines...]: two domains, one channel "ctl".
write_config() {
	local file=$1 mode=$2 ring=$3
	shift 3
	{
		printf '[region]\nsize = 1M\ncacheline = 64\n\n'
		printf '[domain linux]\nid = 1\n[domain rtos]\nid = 2\n\n'
		printf '[channel ctl]\na = linux\nb = rtos\nmode = %s\nring = %s\n\n' "$mode" "$ring"
		printf '[host]\npath = %s\n' "$(region "$(basename "$file" .ini)")"
		local l
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$file"
}

# Wait (bounded) for pid $1; fail if it does not exit with status $2 (default 0).
wait_ok() {
	local pid=$1 want=${2:-0} rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq "$want" ] || fail "process $pid exited $rc, expected $want"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Run a command with a time limit so a hang fails the test instead of ctest's
# timeout: "${LIMIT[@]}" SECONDS CMD... (an array, not a function, so that $! of
# a background "${LIMIT[@]}" is timeout's pid and killing it ends the command).
LIMIT=(timeout --kill-after=5)

# wait_held CONFIG a|b: wait (bounded) until a process on this host holds that
# end of channel ctl, so that a following command without --as takes the other.
wait_held() {
	local i
	for i in $(seq 200); do
		if "$SHMLINK" inspect "$1" --json 2>/dev/null |
			jq -e ".channels[0].$2.local_process" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	fail "nobody took end $2 of $1 within 10 s"
}
