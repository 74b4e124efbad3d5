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

echo "SHMLINK-BOOT dom=$dom kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
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
	*)
		echo "SHMLINK-FAIL dom=$dom unknown step $step"
		rc=1 ;;
	esac
done
echo "SHMLINK-DONE dom=$dom rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
