#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the test domUs' initramfs (scripts/xen.sh guest). The kernel command
# line says what to do:
#   shmlink.cfg=CONFIG shmlink.dom=DOMAIN shmlink.steps=STEP[,STEP...]
# with STEP one of
#   run/BYTES[/echo]          xen_peer CONFIG DOMAIN run BYTES [echo]
#   ping/N/SPIN_NS            xen_peer CONFIG DOMAIN ping N SPIN_NS
#   restart-tx/N[/K]          xen_peer CONFIG DOMAIN restart-tx N [K]
#   restart-rx/N/K            the receiver, SIGKILLed once it consumed K messages,
#                             then started again (it resumes from its progress file)
#   cli-send/CHANNEL/BYTES/SEED   the shmlink CLI: BYTES of stream SEED (xen_peer data)
#                             with `shmlink send /etc/shmlink/CONFIG.ini CHANNEL`
#   cli-recv/CHANNEL          `shmlink recv` of CHANNEL into a file
#   cli-bench/CHANNEL/SIDE/SECONDS   `shmlink bench --side SIDE` (A writes the CSV)
# (the CLI's config is CONFIG.ini with [host] port = xen, from scripts/xen.sh guest)
# and optionally shmlink.bind=static|fallback|poll. Everything lands on the console
# (Xen's serial log): SHMLINK-* lines for scripts/xen.sh, then the domain powers off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp

arg() {
	tr ' ' '\n' </proc/cmdline | sed -n "s/^shmlink\.$1=//p"
}
cfg=$(arg cfg)
dom=$(arg dom)
steps=$(arg steps)
bind=$(arg bind)
[ -z "$bind" ] || export SHMLINK_XEN_BIND=$bind
rc=0
ini=/etc/shmlink/$cfg.ini

up() {
	cut -d' ' -f1 /proc/uptime
}

# cli_xfer send|recv CHANNEL FILE: the CLI moves FILE through CHANNEL; what it moved.
cli_xfer() {
	t0=$(up)
	if shmlink "$1" "$ini" "$2" "$3" --as "$dom" -q --timeout 120; then
		# Two lines: Xen's console splits a domU's lines after 128 characters.
		echo "SHMLINK-RESULT dom=$dom test=cli-$1 channel=$2 bytes=$(wc -c <"$3") start=$t0 end=$(up)"
		echo "SHMLINK-RESULT dom=$dom test=cli-$1-sum sha256=$(sha256sum "$3" | cut -d' ' -f1)"
		echo "SHMLINK-PASS dom=$dom test=cli-$1"
	else
		echo "SHMLINK-FAIL dom=$dom shmlink $1 $2 exited $?"
		rc=1
	fi
}

# cli_bench CHANNEL SIDE SECONDS: both sides print their output as SHMLINK-BENCH lines,
# side A its CSV as SHMLINK-CSV lines, for scripts/xen.sh to check.
cli_bench() {
	csv=""
	[ "$2" != A ] || csv="--csv /tmp/bench.csv"
	# shellcheck disable=SC2086
	if shmlink bench "$ini" "$1" --side "$2" --sizes 64,4K --seconds "$3" --timeout 120 \
		$csv >/tmp/bench.out 2>&1; then
		echo "SHMLINK-PASS dom=$dom test=cli-bench side=$2"
	else
		echo "SHMLINK-FAIL dom=$dom shmlink bench --side $2 exited $?"
		rc=1
	fi
	sed "s/^/SHMLINK-BENCH dom=$dom /" /tmp/bench.out
	[ -z "$csv" ] || sed "s/^/SHMLINK-CSV dom=$dom /" /tmp/bench.csv
}

echo "SHMLINK-BOOT dom=$dom kernel=$(uname -r) uptime=$(up)"
if ! insmod /lib/xen-evtchn.ko; then
	echo "SHMLINK-FAIL dom=$dom insmod xen-evtchn"
	rc=1
fi

for step in $(echo "$steps" | tr ',' ' '); do
	[ $rc -eq 0 ] || break
	set -- $(echo "$step" | tr '/' ' ')
	case $1 in
	run)
		xen_peer "$cfg" "$dom" run "$2" ${3:-} || rc=1 ;;
	ping)
		xen_peer "$cfg" "$dom" ping "$2" "$3" || rc=1 ;;
	restart-tx)
		xen_peer "$cfg" "$dom" restart-tx "$2" ${3:-} || rc=1 ;;
	restart-rx)
		rm -f /tmp/progress
		xen_peer "$cfg" "$dom" restart-rx "$2" /tmp/progress &
		pid=$!
		while kill -0 $pid 2>/dev/null; do
			[ "$(xen_peer progress /tmp/progress)" -ge "$3" ] && break
			usleep 5000
		done
		kill -9 $pid 2>/dev/null
		wait $pid
		echo "SHMLINK-RESULT dom=$dom test=restart-kill at=$(xen_peer progress /tmp/progress) of=$2"
		xen_peer "$cfg" "$dom" restart-rx "$2" /tmp/progress || rc=1 ;;
	cli-send)
		xen_peer data "$4" "$3" /tmp/data.bin || rc=1
		[ $rc -ne 0 ] || cli_xfer send "$2" /tmp/data.bin ;;
	cli-recv)
		cli_xfer recv "$2" /tmp/data.bin ;;
	cli-bench)
		cli_bench "$2" "$3" "$4" ;;
	*)
		echo "SHMLINK-FAIL dom=$dom unknown step $step"
		rc=1 ;;
	esac
done
echo "SHMLINK-DONE dom=$dom rc=$rc uptime=$(up)"
poweroff -f
