# SPDX-License-Identifier: MIT
# `shmlink gen xen-dt`: the output compiles with dtc, and fdtget finds the
# nodes and properties Xen's dom0less bindings need (both shm modes, the
# guests' partial device trees, and --fragment merged into a tree of ours).
. "$(dirname "$0")/lib.sh"

command -v dtc >/dev/null || fail "dtc missing: apt-get install device-tree-compiler"

cat >"$T/xen.ini" <<'INI'
[region]
size = 1M
[domain linux]
id = 1
[domain rtos]
id = 2
[domain fw]
id = 3
[channel ctl]
a = linux
b = rtos
ring = 64K
[channel log]
a = fw
b = linux
mode = stream
ring = 16K
[xen]
host_address = 0xb0000000
guest_address = 0x33000000
evtchn.log = 20 21
INI

get() { fdtget "$@" 2>&1 || fail "fdtget $*"; }
expect() { # expect WANT fdtget-args...
	local want=$1 got
	shift
	got=$(get "$@")
	[ "$got" = "$want" ] || fail "fdtget $*: '$got', expected '$want'"
}
compile() { dtc -q -I dts -O dtb -o "$2" "$1" || fail "dtc rejects $1: $(cat "$1")"; }

# --- passthrough (the default): host tree + partial device trees ---
"$SHMLINK" gen xen-dt "$T/xen.ini" >"$T/host.dts"
dtc -I dts -O dtb -o "$T/host.dtb" "$T/host.dts" 2>"$T/dtc.err" || fail "dtc: $(cat "$T/dtc.err")"
[ ! -s "$T/dtc.err" ] || fail "dtc warns: $(cat "$T/dtc.err")"
d=$T/host.dtb
expect "0 2952790016 0 1048576" -t u "$d" /reserved-memory/shmlink@b0000000 reg
get -t s "$d" /reserved-memory/shmlink@b0000000 no-map >/dev/null
expect "xen,evtchn-v1" -t s "$d" /chosen/domU1/evtchn-ctl compatible
expect "no-xenstore" -t s "$d" /chosen/domU1 xen,enhanced
# Static event channels point at each other by phandle, with the right ports.
ph_l=$(get -t u "$d" /chosen/domU1/evtchn-ctl phandle)
ph_r=$(get -t u "$d" /chosen/domU2/evtchn-ctl phandle)
expect "10 $ph_r" -t u "$d" /chosen/domU1/evtchn-ctl xen,evtchn
expect "10 $ph_l" -t u "$d" /chosen/domU2/evtchn-ctl xen,evtchn
ph_fw=$(get -t u "$d" /chosen/domU3/evtchn-log phandle)
ph_lg=$(get -t u "$d" /chosen/domU1/evtchn-log phandle)
expect "20 $ph_lg" -t u "$d" /chosen/domU3/evtchn-log xen,evtchn
expect "21 $ph_fw" -t u "$d" /chosen/domU1/evtchn-log xen,evtchn
# rtos has no channel with fw: no such node.
fdtget "$d" /chosen/domU2/evtchn-log compatible >/dev/null 2>&1 && fail "domU2 has evtchn-log"
# Passthrough mode has no xen,domain-shared-memory-v1 node.
fdtget "$d" /chosen/domU1/shmlink-shm compatible >/dev/null 2>&1 && fail "passthrough has static shm"
echo "host tree (passthrough): ok"

for g in linux rtos; do
	"$SHMLINK" gen xen-dt "$T/xen.ini" --guest $g >"$T/$g.dts"
	compile "$T/$g.dts" "$T/$g.dtb"
	n=/passthrough/shmlink@33000000
	expect "xen,shared-memory-v1" -t s "$T/$g.dtb" $n compatible
	expect "shmlink" -t s "$T/$g.dtb" $n xen,id
	expect "0 855638016 0 1048576" -t u "$T/$g.dtb" $n reg
	expect "0 2952790016 0 1048576 0 855638016" -t u "$T/$g.dtb" $n xen,reg
	get "$T/$g.dtb" $n xen,force-assign-without-iommu >/dev/null
	expect "simple-bus" -t s "$T/$g.dtb" /passthrough compatible
done
echo "guest partial trees: ok"

# --- --fragment appended to trees of our own: dtc merges the nodes ---
printf '/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\tchosen {\n\t\tdomU1 { compatible = "xen,domain"; mine = <1>; };\n\t\tdomU2 { compatible = "xen,domain"; };\n\t\tdomU3 { compatible = "xen,domain"; };\n\t};\n};\n' >"$T/mine.dts"
"$SHMLINK" gen xen-dt "$T/xen.ini" --fragment >>"$T/mine.dts"
compile "$T/mine.dts" "$T/mine.dtb"
expect "1" -t u "$T/mine.dtb" /chosen/domU1 mine
expect "xen,evtchn-v1" -t s "$T/mine.dtb" /chosen/domU3/evtchn-log compatible
get "$T/mine.dtb" /reserved-memory/shmlink@b0000000 reg >/dev/null
grep -q '/dts-v1/' <("$SHMLINK" gen xen-dt "$T/xen.ini" --fragment) && fail "--fragment has /dts-v1/"
printf '/dts-v1/;\n/ { };\n' >"$T/g.dts"
"$SHMLINK" gen xen-dt "$T/xen.ini" --guest fw --fragment >>"$T/g.dts"
compile "$T/g.dts" "$T/g.dtb"
expect "shmlink" -t s "$T/g.dtb" /passthrough/shmlink@33000000 xen,id
echo "fragments: ok"

# --- shm = static (CONFIG_STATIC_SHM), 1-cell addresses, an explicit owner ---
sed -e 's/^evtchn.log.*/shm = static\nowner = rtos\nshm_id = my-region\naddress_cells = 1\nsize_cells = 1\ndomains = linux rtos/' \
	-e '/^\[channel log\]/,/^ring = 16K/d' "$T/xen.ini" >"$T/static.ini"
"$SHMLINK" gen xen-dt "$T/static.ini" -o "$T/static.dts"
compile "$T/static.dts" "$T/static.dtb"
d=$T/static.dtb
for u in 1 2; do
	n=/chosen/domU$u/shmlink-shm
	expect "xen,domain-shared-memory-v1" -t s "$d" $n compatible
	expect "my-region" -t s "$d" $n xen,shm-id
	expect "b0000000 33000000 100000" -t x "$d" $n xen,shared-mem
	expect "1" -t u "$d" /chosen/domU$u "#address-cells"
done
expect "borrower" -t s "$d" /chosen/domU1/shmlink-shm role
expect "owner" -t s "$d" /chosen/domU2/shmlink-shm role
fdtget "$d" /reserved-memory reg >/dev/null 2>&1 && fail "static mode must not reserve the range"
fdtget "$d" /chosen/domU3 compatible >/dev/null 2>&1 && fail "fw is not in [xen] domains"
"$SHMLINK" gen xen-dt "$T/static.ini" --guest linux 2>"$T/err" && fail "--guest in static mode"
grep -q "static.ini:.*shm = static" "$T/err" || fail "--guest static: $(cat "$T/err")"
echo "host tree (static): ok"

# --- the ports reach the C header too ---
"$SHMLINK" gen header "$T/xen.ini" | grep 'SHML_CFG_CHANNEL_LOG_EVTCHN_A 20u' >/dev/null || fail "header ports"
