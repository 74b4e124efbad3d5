# SPDX-License-Identifier: MIT
# shmlink net between two network namespaces over a host region under /dev/shm
# (network namespaces share the file system): each namespace runs one end.
#   1. ping -6 both ways (TUN, the default MTU of a 1 MiB ring: 65535);
#   2. 64 MiB over TCP (socat), sha256 compared;
#   3. iperf3 for 3 s (and ping) over shmlink net, then over a veth pair between
#      the same namespaces, in the same run: the figures are printed, not asserted;
#   4. a peer killed with SIGKILL and started again: the other end reports the
#      reset (and the packets it lost) and the link works again;
#   5. SIGTERM: exit 0, the interface is gone, the peer sees the end closed;
#   6. --tap (layer 2, MTU 1500): ping both ways and an iperf3 figure;
#   7. --offload with MTU 1500: ping and an iperf3 figure;
#   8. one end with --offload, the other without: refused, with a note saying why.
# Only fd53:686d:6c6b::/48 addresses, only inside these namespaces.
. "$(dirname "$0")/lib.sh"

need_root
need_tools ip ping socat iperf3 ss jq sha256sum awk
T0=$(now_ns)

CFG="$T/net.ini"
write_config "$CFG" 1M
"$SHMLINK" init "$CFG" >/dev/null
NS_L="$TAG-l"
NS_R="$TAG-r"
netns_add "$NS_L"
netns_add "$NS_R"
L6=fd53:686d:6c6b:1::1 # shmlink net, left end
R6=fd53:686d:6c6b:1::2 # shmlink net, right end
LV=fd53:686d:6c6b:2::1 # veth, left
RV=fd53:686d:6c6b:2::2 # veth, right

# start SIDE NS ADDR [ARGS...]: one end in the background; its pid in $LAST_PID.
start() {
	local side=$1 ns=$2 addr=$3
	shift 3
	# `ip netns exec` execs the command: $! is shmlink's own pid.
	ip netns exec "$ns" "$SHMLINK" net "$CFG" link --as "$side" --ifname shml0 \
		--addr "$addr/64" "$@" 2>>"$T/$side.log" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

carrier() { ip -n "$1" link show shml0 2>/dev/null | grep -q 'LOWER_UP'; }
listening() { [ -n "$(ip netns exec "$1" ss -H -ltn "sport = :$2")" ]; }

link_up() {
	wait_for 15 "interface shml0 up with carrier in $NS_L" carrier "$NS_L"
	wait_for 15 "interface shml0 up with carrier in $NS_R" carrier "$NS_R"
}

# ping6 NS DEST COUNT: prints the RTT in ms as min/avg/max.
ping6() {
	local out
	out=$(ip netns exec "$1" ping -6 -n -c "$3" -i 0.2 -W 5 -w 30 "$2") ||
		fail "ping -6 $2 from $1: $out"
	echo "$out" | awk -F'[/ ]' '/^rtt/ { print $7 "/" $8 "/" $9 }'
}

# iperf NS_SERVER SERVER_ADDR NS_CLIENT: 3 s of TCP; prints Gbit/s received.
iperf() {
	local port=$((5201 + RANDOM % 1000)) srv json
	ip netns exec "$1" timeout 40 iperf3 -s -1 -B "$2" -p "$port" >"$T/iperf-s.log" 2>&1 &
	srv=$!
	PIDS+=("$srv")
	wait_for 10 "iperf3 server on [$2]:$port" listening "$1" "$port"
	json=$(ip netns exec "$3" timeout 40 iperf3 -c "$2" -p "$port" -t 3 -J) ||
		fail "iperf3 to $2: $(echo "$json" | jq -r .error 2>/dev/null)"
	wait_exit "$srv"
	echo "$json" | jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100'
}

# 1. Both ends, ping both ways.
start left "$NS_L" "$L6"
PID_L=$LAST_PID
start right "$NS_R" "$R6"
PID_R=$LAST_PID
link_up
MTU=$(ip -n "$NS_L" -o link show shml0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
[ "$MTU" = 65535 ] || fail "default MTU on a 1 MiB ring: $MTU, expected 65535"
RTT_LR=$(ping6 "$NS_L" "$R6" 10)
RTT_RL=$(ping6 "$NS_R" "$L6" 10)
echo "ping -6 over shmlink net (min/avg/max of 10): left->right $RTT_LR ms, right->left $RTT_RL ms"

# 2. 64 MiB over TCP, checksum compared.
head -c 64M /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
# The received copy goes to tmpfs (the region's directory), checked afterwards.
ip netns exec "$NS_R" timeout 60 socat -u -b 262144 "TCP6-LISTEN:5001,bind=[$R6],reuseaddr" \
	"CREATE:$REGION-received" &
RECV=$!
PIDS+=("$RECV")
wait_for 10 "socat listening on [$R6]:5001" listening "$NS_R" 5001
t0=$(now_ns)
ip netns exec "$NS_L" timeout 60 socat -u -b 262144 "OPEN:$T/data" "TCP6:[$R6]:5001" ||
	fail "socat sender failed"
wait_exit "$RECV"
t1=$(now_ns)
got=$(sha256sum <"$REGION-received" | cut -d' ' -f1)
rm -f "$REGION-received"
[ "$got" = "$want" ] || fail "64 MiB over TCP: sha256 $got, sent $want"
TCP_S=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
TCP_MBS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", 64 * 1048576 / (d / 1e9) / 1e6 }')
echo "TCP 64 MiB left->right over shmlink net: $TCP_S s ($TCP_MBS MB/s), sha256 equal"

# 3. iperf3: shmlink net, then veth between the same namespaces.
IPERF_SHML=$(iperf "$NS_R" "$R6" "$NS_L")
ip -n "$NS_L" link add vl type veth peer name vr netns "$NS_R"
ip -n "$NS_L" addr add "$LV/64" dev vl nodad
ip -n "$NS_R" addr add "$RV/64" dev vr nodad
ip -n "$NS_L" link set vl up
ip -n "$NS_R" link set vr up
wait_for 10 "veth up" sh -c "ip -n '$NS_L' link show vl | grep -q LOWER_UP"
IPERF_VETH=$(iperf "$NS_R" "$RV" "$NS_L")
echo "iperf3 3 s: shmlink net (tun, mtu $MTU) $IPERF_SHML Gbit/s, veth $IPERF_VETH Gbit/s"
RTT_VETH=$(ping6 "$NS_L" "$RV" 10)
echo "ping -6 over veth (min/avg/max of 10): left->right $RTT_VETH ms"

# 4. The right end dies (SIGKILL, no goodbye) with packets in flight, and starts again.
ip netns exec "$NS_L" ping -6 -n -q -f -c 100000 -w 3 "$R6" >/dev/null 2>&1 &
FLOOD=$!
sleep 0.5
kill -KILL "$PID_R"
wait "$PID_R" 2>/dev/null || true
sleep 0.5
wait "$FLOOD" 2>/dev/null || true # it ends by its -w deadline
start right "$NS_R" "$R6"
PID_R=$LAST_PID
link_up
wait_for 10 "the left end reporting the reset" grep -q 'right reset the session' "$T/left.log"
grep -E 'right reset the session.* [0-9]+ packets? .* lost' "$T/left.log" ||
	fail "the left end did not count the packets lost in the reset: $(cat "$T/left.log")"
RTT_AFTER=$(ping6 "$NS_L" "$R6" 3)
echo "after the restart: ping left->right (min/avg/max of 3) $RTT_AFTER ms"

# 5. SIGTERM: clean exit, interface removed, the peer sees the end closed.
kill -TERM "$PID_R"
wait_exit "$PID_R" 0
ip -n "$NS_R" link show shml0 >/dev/null 2>&1 && fail "shml0 still exists after SIGTERM"
wait_for 10 "the left end seeing the right end close" grep -q 'right closed its end' "$T/left.log"
wait_for 10 "NO-CARRIER on the left" sh -c "ip -n '$NS_L' link show shml0 | grep -q NO-CARRIER"
grep -q 'shml0 removed; sent [1-9]' "$T/right.log" || fail "no summary: $(cat "$T/right.log")"
kill -TERM "$PID_L"
wait_exit "$PID_L" 0
"$SHMLINK" inspect "$CFG" --json | jq -e '.channels[0].a.state == "CLOSED" and .channels[0].b.state == "CLOSED"' >/dev/null ||
	fail "both ends should be CLOSED: $("$SHMLINK" inspect "$CFG")"
echo "SIGTERM: exit 0, interface removed, peer saw the end close"

# 6. TAP: layer 2 (neighbour discovery over the channel), MTU 1500.
start left "$NS_L" "$L6" --tap
PID_L=$LAST_PID
start right "$NS_R" "$R6" --tap
PID_R=$LAST_PID
link_up
ip -n "$NS_L" link show shml0 | grep -q 'link/ether' || fail "--tap: not an Ethernet interface"
RTT_TAP=$(ping6 "$NS_L" "$R6" 3)
ping6 "$NS_R" "$L6" 3 >/dev/null
IPERF_TAP=$(iperf "$NS_R" "$R6" "$NS_L")
echo "--tap (mtu 1500): ping left->right (min/avg/max of 3) $RTT_TAP ms, iperf3 $IPERF_TAP Gbit/s"
kill -TERM "$PID_L" "$PID_R"
wait_exit "$PID_L" 0
wait_exit "$PID_R" 0

# 7. --offload: TCP segments of up to 64 KiB through an MTU-1500 link.
start left "$NS_L" "$L6" --offload --mtu 1500
PID_L=$LAST_PID
start right "$NS_R" "$R6" --offload --mtu 1500
PID_R=$LAST_PID
link_up
RTT_OFF=$(ping6 "$NS_L" "$R6" 3)
IPERF_OFF=$(iperf "$NS_R" "$R6" "$NS_L")
echo "--offload (tun, mtu 1500): ping left->right (min/avg/max of 3) $RTT_OFF ms, iperf3 $IPERF_OFF Gbit/s"
kill -TERM "$PID_R"
wait_exit "$PID_R" 0

# 8. Ends that disagree on --offload: nothing gets through, and the receiver says why.
: >"$T/right.log"
start right "$NS_R" "$R6" --mtu 1500
PID_R=$LAST_PID
link_up
ip netns exec "$NS_L" ping -6 -n -c 2 -i 0.2 -w 2 "$R6" >/dev/null 2>&1 &&
	fail "ping got through between an end with --offload and one without"
wait_for 10 "the right end explaining the refused packets" \
	grep -q 'refuses a packet from left.*same --tap and --offload' "$T/right.log"
echo "--offload on one end only: refused, and said so"
kill -TERM "$PID_L" "$PID_R"
wait_exit "$PID_L" 0
wait_exit "$PID_R" 0

echo "--- left end's notes"
cat "$T/left.log"
echo "---"
echo "figures: ping (min/avg/max ms) shmlink net $RTT_LR and $RTT_RL, veth $RTT_VETH; TCP 64 MiB $TCP_S s ($TCP_MBS MB/s);" \
	"iperf3 shmlink net $IPERF_SHML Gbit/s, veth $IPERF_VETH Gbit/s, tap/1500 $IPERF_TAP Gbit/s," \
	"offload/1500 $IPERF_OFF Gbit/s"
echo "test time: $(awk -v d=$(($(now_ns) - T0)) 'BEGIN { printf "%.1f", d / 1e9 }') s"
