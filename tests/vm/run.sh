#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ivshmem VM scenarios (ctests vm_*): real QEMU guests under TCG, an
# ivshmem server of our own, doorbells through MSI-X (Linux guests: vfio-pci
# with an emulated IOMMU) and eventfds (host peer).
#
#   run.sh two_linux        two Linux guests: 64 MiB each way at once in message
#                           mode, then in stream mode; round trips
#   run.sh linux_host       a Linux guest and a host peer: 16 MiB each way in
#                           both modes; round trips measured on the host
#   run.sh baremetal_linux  the baremetal guest (polling, rings doorbells) and a
#                           Linux guest: 16 MiB each way in both modes; round trips
#   run.sh baremetal_host   the baremetal guest and a host peer: the same, timed on
#                           the host
#   run.sh plain_host       ivshmem-plain (no server, no IOMMU): a Linux guest maps
#                           BAR2 through sysfs, a host process maps the file;
#                           8 MiB each way in both modes, polling only
#   run.sh kill_restart     a host peer streams ledgered messages to a Linux
#                           guest, which is SIGKILLed (its QEMU) mid-stream and
#                           booted again: the sender sees the reset, the ledger
#                           balances exactly
#   run.sh kill_sender      the same with the sending guest killed: its successor
#                           is told what the reset discarded (previous process)
#   run.sh cli              the shmlink CLI on both ends, one guest boot: the host
#                           sends 4 MiB of random data twice with `send --port
#                           ivshmem` (two host peers, two new peer ids), the guest
#                           receives each with `recv --port ivshmem-guest` (sha256
#                           compared over the serial console); then `bench --side
#                           A` on the host against `--side B` in the guest
#
# Environment (set by ctest): SHMLINK_VM_DIR (kernel, initramfs from
# scripts/ivshmem-vm-image.sh), IVSHMEM_SERVER, VMPEER, BM_GUEST, SHMLINK (the
# host's CLI; the guests' is /bin/shmlink in the initramfs).
# SHML_VM_BYTES overrides the two_linux volume, KEEP_LOGS=1 keeps the logs.
. "$(dirname "$0")/lib.sh"

SCENARIO=${1:?usage: run.sh two_linux|linux_host|baremetal_linux|baremetal_host|plain_host|kill_restart|kill_sender|cli}
VM=${SHMLINK_VM_DIR:?}
SRV=${IVSHMEM_SERVER:?}
PEER=${VMPEER:?}
BM=${BM_GUEST:-}
SOCK=$T/sock
REGION=/dev/shm/shml-ivs-vm-$$
add_region "$REGION"
VECTORS=2

command -v qemu-system-x86_64 >/dev/null || { echo "SKIPPED: no qemu-system-x86_64"; exit 77; }
[ -s "$VM/kernel/vmlinux" ] && [ -s "$VM/initramfs.cpio" ] ||
	die "no guest image in $VM (the vm_image test builds it)"

# shellcheck disable=SC2054 # the commas are QEMU's, inside one argument
QEMU=(qemu-system-x86_64 -accel tcg -cpu max -smp 1 -nodefaults -no-user-config
	-display none -no-reboot -serial stdio
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)
DOORBELL=(-chardev "socket,path=$SOCK,id=ivs" -device "ivshmem-doorbell,chardev=ivs,vectors=$VECTORS")
# no_timer_check: under a busy TCG host the kernel's early check of the timer
# through the interrupt-remapped IO-APIC can fail and panic; tsc=reliable: no
# clocksource watchdog flapping under load.
KERNEL_ARGS="console=ttyS0 no_timer_check tsc=reliable mitigations=off quiet loglevel=3 panic=-1"

# linux_vm NAME ARGS: a Linux guest running shml-vmpeer ARGS (port=vfio), with
# the ivshmem-doorbell device behind QEMU's intel-iommu.
linux_vm() {
	local name=$1
	shift
	start_bg "$name" "${QEMU[@]}" "${DOORBELL[@]}" -m 256M \
		-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on \
		-kernel "$VM/kernel/vmlinux" -initrd "${INITRD:-$VM/initramfs.cpio}" \
		-append "$KERNEL_ARGS intel_iommu=on -- port=vfio vectors=$VECTORS $*"
}

# plain_vm NAME FILE ARGS: a Linux guest with ivshmem-plain over FILE, no IOMMU,
# running shml-vmpeer ARGS (port=sysfs: polling).
plain_vm() {
	local name=$1 file=$2
	shift 2
	start_bg "$name" "${QEMU[@]}" -m 256M -machine q35 \
		-object "memory-backend-file,id=shm,share=on,mem-path=$file,size=8M" \
		-device ivshmem-plain,memdev=shm \
		-kernel "$VM/kernel/vmlinux" -initrd "$VM/initramfs.cpio" \
		-append "$KERNEL_ARGS -- port=sysfs $*"
}

# bm_vm NAME ARGS: the baremetal guest with ARGS on its command line.
bm_vm() {
	local name=$1
	shift
	[ -s "$BM" ] || die "no baremetal guest ($BM)"
	start_bg "$name" "${QEMU[@]}" "${DOORBELL[@]}" -m 64M -machine q35 -kernel "$BM" \
		-append "vectors=$VECTORS $*"
}

# joined ID [N]: wait until the server has given out peer id ID (the Nth time).
joined() {
	wait_count "$T/server.log" "peer $1 joined" "${2:-1}" 30 "$SRVPID"
}

# vm_done NAME PID SECONDS: the guest passed and QEMU left through isa-debug-exit(0).
vm_done() {
	local rc=0
	wait_exit "$2" "$3" || rc=$?
	expect_pass "$1"
	[ "$rc" = 1 ] || die "$1: QEMU exit status $rc, expected 1 (isa-debug-exit 0)"
}

# The figures also go to $SHMLINK_VM_DIR/results-SCENARIO.txt (make vm-check shows them).
RESULTS=$VM/results-$SCENARIO.txt
echo "$SCENARIO ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)):" >"$RESULTS.tmp"
RESULTS=$RESULTS.tmp
START=$(now_ms)

finish() {
	local msg="PASS: $SCENARIO in $((($(now_ms) - START) / 1000)) s"
	echo "  $msg" >>"$RESULTS"
	mv "$RESULTS" "${RESULTS%.tmp}"
	echo "$msg"
	exit 0
}

start_bg server "$SRV" -S "$SOCK" -m "$REGION" -l 8M -n "$VECTORS"
SRVPID=$LAST_PID
wait_for "$T/server.log" '^listening on' 10 "$SRVPID"

case $SCENARIO in
two_linux)
	BYTES=${SHML_VM_BYTES:-64M}
	linux_vm g0 self=0 duplex-msg="$BYTES" duplex-stream="$BYTES" ping=1000
	G0=$LAST_PID
	joined 0
	linux_vm g1 self=1 duplex-msg="$BYTES" duplex-stream="$BYTES" pong=1000
	G1=$LAST_PID
	joined 1
	vm_done g0 "$G0" 240
	vm_done g1 "$G1" 60
	used_doorbells g0 g1
	report g0
	report g1
	;;
linux_host)
	linux_vm g0 self=0 duplex-msg=16M duplex-stream=16M pong=1000
	G0=$LAST_PID
	joined 0
	start_bg host "$PEER" port=host:"$SOCK" self=1 timeout=200 \
		duplex-msg=16M duplex-stream=16M ping=1000
	HOST=$LAST_PID
	wait_exit "$HOST" 240 || die "the host peer failed"
	expect_pass host
	vm_done g0 "$G0" 60
	used_doorbells g0 host
	report g0
	report host
	;;
baremetal_linux)
	linux_vm g0 self=0 duplex-msg=16M duplex-stream=16M ping=1000
	G0=$LAST_PID
	joined 0
	bm_vm bm self=1 duplex-msg=16M duplex-stream=16M pong=1000
	BMPID=$LAST_PID
	joined 1
	vm_done g0 "$G0" 240
	vm_done bm "$BMPID" 60
	used_doorbells g0 # rung by the baremetal guest
	report g0
	report bm
	;;
kill_restart)
	COUNT=30000
	start_bg source "$PEER" port=host:"$SOCK" self=0 timeout=200 source=$COUNT
	SRCPID=$LAST_PID
	joined 0
	# The first sink stops reading after 3000 messages, so the kill lands mid-stream
	# with the ring full.
	linux_vm sink1 self=1 timeout=200 sink=3000
	S1=$LAST_PID
	joined 1
	wait_for "$T/sink1.log" 'sink pausing' 120 "$S1"
	sleep 0.3
	kill -KILL "$S1"
	wait "$S1" 2>/dev/null || true
	echo "killed the receiving guest's QEMU (SIGKILL) mid-stream"
	wait_for "$T/server.log" 'peer 1 left' 10 "$SRVPID"
	linux_vm sink2 self=1 timeout=200 sink
	S2=$LAST_PID
	joined 2 # a new id: the server never gives one out twice (QEMU aborts on a rejoin)
	wait_exit "$SRCPID" 200 || die "the source failed"
	expect_pass source
	vm_done sink2 "$S2" 60
	grep -q '^SHML reset .*exact=1' "$T/source.log" || die "the source saw no exact reset"
	used_doorbells source
	report sink1
	report sink2
	report source
	;;
baremetal_host)
	start_bg host "$PEER" port=host:"$SOCK" self=0 timeout=200 \
		duplex-msg=16M duplex-stream=16M ping=1000
	HOST=$LAST_PID
	wait_for "$T/host.log" 'attach port=host id=0' 30 "$HOST"
	bm_vm bm self=1 duplex-msg=16M duplex-stream=16M pong=1000
	BMPID=$LAST_PID
	joined 1
	wait_exit "$HOST" 240 || die "the host peer failed"
	expect_pass host
	vm_done bm "$BMPID" 60
	used_doorbells host # rung by the baremetal guest
	report host
	report bm
	;;
plain_host)
	# No server, no doorbells: ivshmem-plain and a host process on one file.
	kill -TERM "$SRVPID"
	wait_exit "$SRVPID" 20 || die "the server did not stop cleanly"
	truncate -s 8M "$REGION.plain"
	add_region "$REGION.plain"
	plain_vm g0 "$REGION.plain" self=0 duplex-msg=8M duplex-stream=8M pong=1000
	G0=$LAST_PID
	# The host polls: start it once the guest is up, not to spin through the boot.
	wait_for "$T/g0.log" 'attach port=sysfs' 120 "$G0"
	start_bg host "$PEER" port=file:"$REGION.plain" self=1 timeout=120 \
		duplex-msg=8M duplex-stream=8M ping=1000
	HOST=$LAST_PID
	wait_exit "$HOST" 180 || die "the host process failed"
	expect_pass host
	vm_done g0 "$G0" 60
	report g0
	report host
	finish
	;;
kill_sender)
	# The other way round: the sending guest dies with messages in its ring.
	COUNT=30000
	linux_vm src1 self=0 timeout=200 source=$COUNT
	S1=$LAST_PID
	joined 0
	start_bg sink "$PEER" port=host:"$SOCK" self=1 timeout=200 sink=3000
	SINKPID=$LAST_PID
	wait_for "$T/sink.log" 'sink pausing' 120 "$SINKPID"
	sleep 0.3
	kill -KILL "$S1"
	wait "$S1" 2>/dev/null || true
	echo "killed the sending guest's QEMU (SIGKILL) mid-stream"
	wait_for "$T/server.log" 'peer 0 left' 10 "$SRVPID"
	linux_vm src2 self=0 timeout=200 source=$COUNT
	S2=$LAST_PID
	joined 2 # a new id, found by the sink in the region
	wait_exit "$SINKPID" 200 || die "the sink failed"
	expect_pass sink
	vm_done src2 "$S2" 60
	grep -q '^SHML reset .*exact=1 previous_process=1' "$T/src2.log" ||
		die "the restarted source got no exact report of its predecessor's discards"
	used_doorbells sink
	report src1
	report src2
	report sink
	;;
cli)
	CLI=${SHMLINK:?}
	[ -x "$CLI" ] || die "no shmlink CLI ($CLI)"
	tr -d '\r' <"$VM/initramfs.cpio" | grep -aq 'bin/shmlink' ||
		{ echo "SKIPPED: the guest image has no shmlink CLI (no libinih.a?)"; exit 77; }
	# One config for both ends; each end names its port on the command line and
	# finds the other's ivshmem peer id in the region (no [qemu] ids).
	cat >"$T/cli.ini" <<-EOF
		[region]
		size = 1M
		[domain guest]
		id = 1
		[domain host]
		id = 2
		[channel data]
		a = host
		b = guest
		mode = stream
		ring = 256K
		[channel ctl]
		a = host
		b = guest
		ring = 64K
		[qemu]
		server = $SOCK
		vectors = $VECTORS
	EOF
	"$CLI" layout "$T/cli.ini" >/dev/null || die "the test's config is refused"
	BENCH=(--sizes 64,4K --seconds 0.2 --timeout 120)
	# The guest's part, appended to the initramfs as a second archive. One boot: the
	# guest opens the device three times while the host peer comes and goes with a
	# new peer id each time (QEMU 7.2 aborted when the server gave an id out again).
	mkdir -p "$T/extra/etc"
	cp "$T/cli.ini" "$T/extra/etc/shmlink.ini"
	cat >"$T/extra/etc/shmlink-test.sh" <<-EOF
		set -e
		for i in 1 2; do
			shmlink recv /etc/shmlink.ini data /tmp/data.bin --port ivshmem-guest --as guest -q --timeout 120
			echo "SHML sha256 \$i \$(sha256sum /tmp/data.bin | cut -d' ' -f1) bytes=\$(wc -c </tmp/data.bin)"
		done
		shmlink bench /etc/shmlink.ini ctl --side B --port ivshmem-guest ${BENCH[*]}
		echo "SHML result=PASS"
	EOF
	(cd "$T/extra" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$T/extra.cpio"
	cat "$VM/initramfs.cpio" "$T/extra.cpio" >"$T/initrd.cpio"
	INITRD=$T/initrd.cpio linux_vm g0
	G0=$LAST_PID
	joined 0
	for i in 1 2; do
		head -c 4M /dev/urandom >"$T/data$i.bin"
		WANT=$(sha256sum <"$T/data$i.bin" | cut -d' ' -f1)
		start_bg send$i "$CLI" send "$T/cli.ini" data "$T/data$i.bin" --port ivshmem \
			--as host -q --timeout 120
		wait_exit "$LAST_PID" 200 "$G0" || die "shmlink send #$i failed"
		wait_for "$T/g0.log" "^SHML sha256 $i " 60 "$G0"
		GOT=$(tr -d '\r' <"$T/g0.log" | sed -n "s/^SHML sha256 $i \([0-9a-f]*\) .*/\1/p")
		[ "$GOT" = "$WANT" ] || die "transfer $i: the guest received sha256 '$GOT', the host sent $WANT"
		echo "4 MiB host -> guest #$i: sha256 equal ($WANT)"
	done
	start_bg bench "$CLI" bench "$T/cli.ini" ctl --side A --port ivshmem "${BENCH[@]}" \
		--csv "$T/bench.csv"
	wait_exit "$LAST_PID" 200 || die "shmlink bench --side A failed" # QEMU may be done first
	vm_done g0 "$G0" 60
	# Three host peers and the guest: four joins, four different ids, QEMU alive throughout.
	IDS=$(sed -n 's/.*peer \([0-9]*\) joined.*/\1/p' "$T/server.log" | sort -n | uniq | wc -l)
	[ "$IDS" = 4 ] || die "expected 4 different peer ids, the server log says: $(cat "$T/server.log")"
	# Well formed: the table's header, and in the CSV a positive rate and round trip
	# for both modes at both sizes through the ivshmem port (no speed is asserted).
	grep -q '^shmlink bench: channel ctl (message mode' "$T/bench.log" ||
		die "bench printed no header"
	ROWS=$(awk -F, '$1 == "shmlink-ivshmem" && ($2 == "message" || $2 == "zerocopy") &&
		($4 == 64 || $4 == 4096) && ($5 == "msg_rate" || $5 == "rtt_median") && $6 > 0 { n++ }
		END { print n + 0 }' "$T/bench.csv")
	[ "$ROWS" = 8 ] || die "bench's CSV has $ROWS of 8 positive rates and round trips: $(cat "$T/bench.csv")"
	sed 's/^/  bench host(A) <-> guest(B): /' "$T/bench.log" | tee -a "$RESULTS"
	echo "  data: 2 x 4 MiB host -> guest, sha256 equal; 3 host peers, 4 ids, one boot" >>"$RESULTS"
	;;
*)
	die "unknown scenario $SCENARIO"
	;;
esac

kill -TERM "$SRVPID"
wait_exit "$SRVPID" 20 || die "the server did not stop cleanly"
finish
