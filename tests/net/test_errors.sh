# SPDX-License-Identifier: MIT
# shmlink net refuses what cannot work, with exit 2 for usage/config errors and
# 1 for runtime failures, and a message that says what to do: an MTU larger
# than the channel's max message, --offload on small rings, a stream channel,
# bad options; as root also a user without CAP_NET_ADMIN (nobody, and root
# without the capability), a missing /dev/net/tun, an interface name in use,
# an end in use. Plus --help and the man page.
. "$(dirname "$0")/lib.sh"

# expect CODE PATTERN CMD...: CMD exits CODE and its stderr matches PATTERN (grep -E).
expect() {
	local want=$1 pat=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" -eq "$want" ] || fail "$*: exit $rc, expected $want; stderr: $(cat "$T/err")"
	grep -Eq -- "$pat" "$T/err" || fail "$*: stderr does not match '$pat': $(cat "$T/err")"
	echo "ok: $* -> $rc: $(head -1 "$T/err")"
}

CFG="$T/net.ini"
write_config "$CFG" 64K
write_config "$T/stream.ini" 64K
sed -i 's/mode = message/mode = stream/' "$T/stream.ini"

"$SHMLINK" net --help | grep '^Usage: shmlink net' >/dev/null || fail "net --help"
"$SHMLINK" help net | grep '^Usage: shmlink net' >/dev/null || fail "help net"
"$SHMLINK" --help | grep '^  net CONFIG CHANNEL' >/dev/null || fail "shmlink --help does not list net"

# Usage and configuration errors: exit 2, before anything is touched.
expect 2 "max message is 32760 bytes, so the MTU can be at most 32760; use --mtu 32760, or .*ring = 128K or more in \[channel link\]" \
	"$SHMLINK" net "$CFG" link --as left --mtu 40000
expect 2 "TAP frame adds 18 bytes.* at most 32742; use --mtu 32742" \
	"$SHMLINK" net "$CFG" link --as left --mtu 40000 --tap
expect 2 "--offload needs channel 'link' to carry messages of 65546 bytes .*max message is 32760: make its rings 256K or more \(ring = 256K in \[channel link\]\)" \
	"$SHMLINK" net "$CFG" link --as left --offload
expect 2 "stream.ini:[0-9]+: shmlink net needs a message channel.*set mode = message in \[channel link\]" \
	"$SHMLINK" net "$T/stream.ini" link --as left
expect 2 "no channel is named 'nope'.*channels: link" "$SHMLINK" net "$CFG" nope
expect 2 "--mtu 70000: the TUN driver allows at most 65535" "$SHMLINK" net "$CFG" link --mtu 70000
expect 2 "--mtu 20: IP needs at least 68" "$SHMLINK" net "$CFG" link --mtu 20
expect 2 "--mtu x: give a number" "$SHMLINK" net "$CFG" link --mtu x
expect 2 "--addr fd00::1/129: give an IPv6 or IPv4 address" "$SHMLINK" net "$CFG" link --addr fd00::1/129
expect 2 "--addr nonsense" "$SHMLINK" net "$CFG" link --addr nonsense
expect 2 "--ifname a/b: an interface name is 1 to 15 characters" "$SHMLINK" net "$CFG" link --ifname a/b
expect 2 "--ifname 0123456789abcdef" "$SHMLINK" net "$CFG" link --ifname 0123456789abcdef
expect 2 "--as nobody: no domain is named" "$SHMLINK" net "$CFG" link --as nobody
expect 2 "no CHANNEL given" "$SHMLINK" net "$CFG"
expect 2 "too many arguments" "$SHMLINK" net "$CFG" link extra
expect 2 "unknown option" "$SHMLINK" net "$CFG" link --frobnicate

# The man page describes the command.
if command -v groff >/dev/null 2>&1 && command -v col >/dev/null 2>&1; then
	groff -man -Tutf8 -ww -z "${SHMLINK_SRC:?}/man/shmlink.1" 2>"$T/groff.err" || fail "groff failed"
	[ ! -s "$T/groff.err" ] || fail "groff warns: $(cat "$T/groff.err")"
	groff -man -Tutf8 "$SHMLINK_SRC/man/shmlink.1" 2>/dev/null | col -b >"$T/man.txt"
	grep -q 'shmlink net' "$T/man.txt" || fail "the man page does not describe 'shmlink net'"
	echo "ok: man page describes shmlink net"
fi

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	echo "SKIP: the checks of privileges and of /dev/net/tun need root and /dev/net/tun"
	exit 0
fi
need_tools setpriv unshare ip
"$SHMLINK" init "$CFG" >/dev/null

# Without CAP_NET_ADMIN: as nobody (the config and region readable, so that the
# interface is what fails), and as root without the capability.
chmod 755 "$T"
chmod 644 "$CFG"
chmod 666 "$REGION"
expect 1 "CAP_NET_ADMIN: run it as root" \
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SHMLINK" net "$CFG" link --as left
expect 1 "no CAP_NET_ADMIN: .*setcap cap_net_admin\+ep " \
	setpriv --bounding-set -net_admin "$SHMLINK" net "$CFG" link --as left
# Neither touched the region: both ends are still free.
"$SHMLINK" inspect "$CFG" --json | jq -e '.channels[0].a.local_process == false' >/dev/null ||
	fail "a refused shmlink net holds the region"

# No /dev/net/tun (an empty /dev/net in a private mount namespace).
expect 1 "/dev/net/tun: No such file or directory: the TUN/TAP driver is missing here: load it \(modprobe tun\)" \
	unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh "$SHMLINK" net "$CFG" link --as left

# An interface name in use, in a private network namespace (gone with its processes).
cat >"$T/busy.sh" <<EOF
set -u
"$SHMLINK" net "$CFG" link --as left --ifname shmlbusy 2>"$T/busy-left.log" &
p=\$!
for i in \$(seq 200); do ip link show shmlbusy >/dev/null 2>&1 && break; sleep 0.05; done
"$SHMLINK" net "$CFG" link --as right --ifname shmlbusy
rc=\$?
kill -TERM \$p
wait \$p
exit \$rc
EOF
expect 1 "cannot create interface shmlbusy: an interface of that name exists already" \
	unshare -n bash "$T/busy.sh"
# The right end, refused, closed its end again; the left one saw it come and go or never.
grep -q 'shmlbusy removed' "$T/busy-left.log" || fail "the left end did not stop cleanly: $(cat "$T/busy-left.log")"
# The same end twice: the lock says so.
cat >"$T/twice.sh" <<EOF
set -u
"$SHMLINK" net "$CFG" link --as left -q &
p=\$!
for i in \$(seq 200); do ip link show shml0 >/dev/null 2>&1 && break; sleep 0.05; done
"$SHMLINK" net "$CFG" link --as left
rc=\$?
kill -TERM \$p
wait \$p
exit \$rc
EOF
expect 1 "the left end of channel 'link' is in use by another process" unshare -n bash "$T/twice.sh"
