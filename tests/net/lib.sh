# SPDX-License-Identifier: MIT
# Helpers for the shmlink net tests (sourced by tests/net/test_*.sh, run by
# ctest through cmake/net.cmake, which sets SHMLINK, SHMLINK_SRC, ...).
#
# Addresses: only IPv6 unique-local ones of fd53:686d:6c6b::/48, and only on
# interfaces inside the network namespaces the test creates itself.
set -euo pipefail

: "${SHMLINK:?run through ctest (cmake/net.cmake sets SHMLINK)}"

SKIP=77 # SKIP_RETURN_CODE in cmake/net.cmake
skip() {
	echo "SKIP: $*"
	exit $SKIP
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Under ASan/UBSan everything is slower: figures are lower, nothing else changes.
sanitized() { [ -n "${SHMLINK_SANITIZE:-}" ]; }

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and TUN interfaces); run as root to test shmlink net"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun here (modprobe tun)"
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is missing (scripts/deps.d/net.list; make deps)"
	done
}

T=$(mktemp -d "${TMPDIR:-/tmp}/shmlink-net-test.XXXXXX")
TAG="shmlnet-$$-$RANDOM"
REGION="/dev/shm/$TAG"
NETNS=()
PIDS=()

# Is process $1 alive (not gone, not a zombie)?
running() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# Wait up to $2 seconds for process $1 to end; 0 if it did.
gone_within() {
	for _ in $(seq $(($2 * 20))); do
		running "$1" || return 0
		sleep 0.05
	done
	! running "$1"
}

cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		# bounded: a process that ignores SIGTERM gets SIGKILL after 5 s
		gone_within "$p" 5 || kill -KILL "$p" 2>/dev/null || true
	done
	for ns in "${NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -f "$REGION" "$REGION"-*
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# A network namespace that cleanup() deletes: netns_add NAME.
netns_add() {
	ip netns add "$1" || skip "cannot create network namespaces here (ip netns add failed)"
	NETNS+=("$1")
	ip -n "$1" link set lo up
}

# write_config FILE [RING]: domains left and right, message channel "link".
write_config() {
	{
		printf '[region]\nsize = 4M\n\n'
		printf '[domain left]\nid = 1\n[domain right]\nid = 2\n\n'
		printf '[channel link]\na = left\nb = right\nmode = message\nring = %s\n\n' "${2:-1M}"
		printf '[host]\npath = %s\n' "$REGION"
	} >"$1"
}

# wait_for SECONDS WHAT CMD...: until CMD succeeds, or fail.
wait_for() {
	local secs=$1 what=$2
	shift 2
	for _ in $(seq $((secs * 20))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.05
	done
	fail "$what: not within $secs s"
}

# Wait (bounded) for pid $1 to exit with status $2 (default 0).
wait_exit() {
	local pid=$1 want=${2:-0} rc=0
	gone_within "$pid" 10 || fail "process $pid still runs 10 s after it was told to stop"
	wait "$pid" || rc=$?
	[ "$rc" -eq "$want" ] || fail "process $pid exited $rc, expected $want"
}

now_ns() { date +%s%N; }
