# SPDX-License-Identifier: MIT
# Through an installed copy: `cmake --install` into a temporary prefix, then
# that prefix's bin/shmlink, headers, libraries, pkg-config files and man page.
# A C program built from `shmlink gen header` (cc + pkg-config shmlink-host,
# no config parser) receives a file that the installed `shmlink cat` sends,
# and answers; and shmlink(1) renders without warnings.
. "$(dirname "$0")/lib.sh"

: "${SHMLINK_BUILD:?}" "${SHMLINK_CMAKE:=cmake}" "${SHMLINK_CC:=cc}"
P=$T/prefix
"$SHMLINK_CMAKE" --install "$SHMLINK_BUILD" --prefix "$P" >"$T/install.log" ||
	fail "cmake --install: $(cat "$T/install.log")"
BIN=$P/bin/shmlink
[ -x "$BIN" ] || fail "no $BIN"
"$BIN" --version | grep '^shmlink ' >/dev/null || fail "installed --version"

# pkg-config on the installed tree: the .pc files find their prefix
# relative to themselves, so an install with --prefix works as it is.
pc=$(dirname "$(find "$P" -name shmlink-host.pc | head -1)")
[ -d "$pc" ] || fail "no shmlink-host.pc installed"
PKG=(env PKG_CONFIG_PATH="$pc" pkg-config)
cflags=$("${PKG[@]}" --cflags shmlink-host)
libs=$("${PKG[@]}" --libs --static shmlink-host)

cfg="$T/hdr.ini"
write_config "$cfg" message 8K
hash=$("$BIN" layout "$cfg" | grep -o 'config hash 0x[0-9a-f]*' | cut -d' ' -f3)
mkdir -p "$T/gen"
"$BIN" gen header "$cfg" -o "$T/gen/shmlink_cfg.h"
san=()
[ -z "${SHMLINK_SANITIZE:-}" ] || san=(-fsanitize="$SHMLINK_SANITIZE" -fno-omit-frame-pointer)
# shellcheck disable=SC2086 # pkg-config output is a list of flags
"$SHMLINK_CC" -std=c11 -Wall -Wextra -Werror -O2 "${san[@]}" -DEXPECTED_HASH="${hash}ull" \
	-I"$T/gen" $cflags "$SHMLINK_SRC/tests/cli/header_peer.c" $libs -o "$T/peer" ||
	fail "the generated header does not compile into a program"
# The build-time hash assertion works: a wrong hash must not compile.
# shellcheck disable=SC2086
if "$SHMLINK_CC" -std=c11 -DEXPECTED_HASH=0x1ull -I"$T/gen" $cflags -fsyntax-only \
	"$SHMLINK_SRC/tests/cli/header_peer.c" 2>/dev/null; then
	fail "SHML_CFG_ASSERT_HASH accepted a wrong hash"
fi

"$BIN" init "$cfg" >/dev/null
head -c 1M /dev/urandom >"$T/in"
export LD_LIBRARY_PATH="$("${PKG[@]}" --variable=libdir shmlink-host)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"${LIMIT[@]}" 60 "$T/peer" "$(region hdr)" "$T/peer-out" &
peer=$!
PIDS+=($peer)
"${LIMIT[@]}" 60 "$BIN" cat "$cfg" ctl --as linux <"$T/in" >"$T/answer" || fail "installed cat failed"
wait_ok $peer
cmp -s "$T/in" "$T/peer-out" || fail "the C program received something else"
[ "$(cat "$T/answer")" = "got 1048576 bytes" ] || fail "answer: '$(cat "$T/answer")'"
echo "gen header program <-> installed shmlink cat: ok"


# The man page is installed and renders cleanly.
man1=$(find "$P" -path '*/man1/shmlink.1' | head -1)
[ -f "$man1" ] || fail "shmlink.1 not installed"
if command -v groff >/dev/null; then
	groff -man -Tutf8 -ww -z "$man1" 2>"$T/groff.err" || fail "groff failed"
	[ ! -s "$T/groff.err" ] || fail "groff warns: $(cat "$T/groff.err")"
	groff -man -Tutf8 "$man1" 2>/dev/null | col -b >"$T/man.txt"
	for c in layout "gen header" "gen xen-dt" "gen qemu" init inspect send recv cat; do
		grep -q "shmlink $c" "$T/man.txt" ||
			fail "the man page does not describe 'shmlink $c'"
	done
fi
echo "man page: ok"
