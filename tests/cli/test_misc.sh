# SPDX-License-Identifier: MIT
# layout, init (create, grow, refuse to shrink), gen qemu, --help/--version,
# two channels between the same pair of domains.
. "$(dirname "$0")/lib.sh"

cfg="$T/m.ini"
write_config "$cfg" message 64K
path=$(region m)

# --help and --version, for the tool and every command.
"$SHMLINK" --help | grep "Commands:" >/dev/null || fail "--help"
"$SHMLINK" --version | grep -Eq '^shmlink [0-9]+\.[0-9]+' || fail "--version"
for c in layout gen init inspect send recv cat bench demo; do
	"$SHMLINK" $c --help | grep "^Usage: shmlink $c" >/dev/null || fail "$c --help"
	"$SHMLINK" help $c | grep "^Usage: shmlink $c" >/dev/null || fail "help $c"
done

# layout: every part, the hash, bytes used and free.
"$SHMLINK" layout "$cfg" >"$T/layout"
grep -q 'config hash 0x[0-9a-f]\{16\}' "$T/layout" || fail "layout: no hash"
grep -Eq '0x00000280 +65536 +ring A->B: linux -> rtos' "$T/layout" || fail "layout: ring A->B"
grep -Eq '0x00010280 +65536 +ring B->A: rtos -> linux' "$T/layout" || fail "layout: ring B->A"
grep -q 'used 131712 bytes (128.6 KiB), free 916864 bytes' "$T/layout" || fail "layout: used/free"
"$SHMLINK" layout "$cfg" --json | jq -e '.used == 131712 and .channels[0].ring_ba == 66176' >/dev/null ||
	fail "layout --json"
# The hash is the same everywhere.
h=$(grep -o 'config hash 0x[0-9a-f]*' "$T/layout" | cut -d' ' -f3)
"$SHMLINK" gen header "$cfg" | grep "SHML_CFG_HASH ${h}ull" >/dev/null || fail "header hash != layout hash"
# Platform sections are not part of the hash.
write_config "$T/m2.ini" message 64K '[qemu]' 'size = 2M' '[xen]' 'host_address = 0x1000'
"$SHMLINK" layout "$T/m2.ini" | grep "config hash $h" >/dev/null || fail "[qemu]/[xen] changed the hash"

# init: create, idempotent, grow, refuse to shrink.
"$SHMLINK" init "$cfg" | grep "created, 1048576 bytes" >/dev/null || fail "init create"
[ "$(stat -c %s "$path")" -eq 1048576 ] || fail "init size"
"$SHMLINK" init "$cfg" | grep "1048576 bytes (1 MiB), ready" >/dev/null || fail "init again"
truncate -s 4096 "$path"
"$SHMLINK" init "$cfg" | grep "grown from 4096 to 1048576" >/dev/null || fail "init grow"
truncate -s 2M "$path"
rc=0
"$SHMLINK" init "$cfg" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "init of a larger file: exit $rc"
grep -q "never shrinks" "$T/err" && grep -q "rm $path" "$T/err" || fail "init larger: $(cat "$T/err")"
[ "$(stat -c %s "$path")" -eq 2097152 ] || fail "init shrank the file"
# A QEMU memory backend on the same file makes init use [qemu] size.
write_config "$T/q.ini" message 64K '[qemu]' 'size = 4M'
"$SHMLINK" init "$T/q.ini" >/dev/null
[ "$(stat -c %s "$(region q)")" -eq 4194304 ] || fail "init with [qemu] size"
# --region overrides [host] path.
"$SHMLINK" init "$cfg" --region "$(region other)" >/dev/null
[ -f "$(region other)" ] || fail "--region"

# gen qemu: plain and doorbell.
write_config "$T/q2.ini" message 64K '[qemu]' 'server = /run/ivshmem.sock' 'guests = rtos' 'id = shm0'
"$SHMLINK" gen qemu "$T/q2.ini" >"$T/qemu"
grep -q -- "-object memory-backend-file,id=shm0-mem,share=on,mem-path=$(region q2),size=1M" "$T/qemu" ||
	fail "gen qemu: $(cat "$T/qemu")"
grep -q -- "-device ivshmem-plain,memdev=shm0-mem,id=shm0" "$T/qemu" || fail "gen qemu device"
grep -q "domain linux" "$T/qemu" && fail "gen qemu: linux is not a guest"
"$SHMLINK" gen qemu "$T/q2.ini" --doorbell >"$T/qemu"
grep -q -- "-chardev socket,path=/run/ivshmem.sock,id=shm0-chr" "$T/qemu" || fail "doorbell chardev"
grep -q -- "-device ivshmem-doorbell,chardev=shm0-chr,vectors=1,id=shm0" "$T/qemu" || fail "doorbell device"
[ "$("$SHMLINK" gen qemu "$T/q2.ini" --domain rtos | wc -l)" -eq 2 ] || fail "gen qemu --domain"
# Commas in paths are doubled for QEMU.
write_config "$T/q3.ini" message 64K '[qemu]' 'mem_path = /dev/shm/a,b'
"$SHMLINK" gen qemu "$T/q3.ini" --domain linux | grep "mem-path=/dev/shm/a,,b," >/dev/null || fail "comma escape"

# Two channels between the same two domains (control + data) are allowed, and
# work at the same time without disturbing each other.
{
	printf '[region]\nsize = 1M\n[domain linux]\nid = 1\n[domain rtos]\nid = 2\n'
	printf '[channel ctl]\na = linux\nb = rtos\nring = 16K\n'
	printf '[channel data]\na = rtos\nb = linux\nring = 64K\nmode = stream\n'
	printf '[host]\npath = %s\n' "$(region pair)"
} >"$T/pair.ini"
"$SHMLINK" layout "$T/pair.ini" >"$T/layout" || fail "layout of two channels for one pair"
grep -q "channel 1: data (stream)" "$T/layout" && grep -q "channel 0: ctl (message" "$T/layout" || fail "layout: $(cat "$T/layout")"
"$SHMLINK" init "$T/pair.ini" >/dev/null
head -c 300000 /dev/urandom >"$T/pair-in"
"${LIMIT[@]}" 60 "$SHMLINK" recv "$T/pair.ini" ctl --as rtos "$T/pair-ctl" --timeout 30 &
r1=$!
"${LIMIT[@]}" 60 "$SHMLINK" recv "$T/pair.ini" data --as linux "$T/pair-data" --timeout 30 &
r2=$!
PIDS+=("$r1" "$r2")
"${LIMIT[@]}" 60 "$SHMLINK" send "$T/pair.ini" ctl --as linux "$T/pair-in" --timeout 30 &
s1=$!
PIDS+=("$s1")
"${LIMIT[@]}" 60 "$SHMLINK" send "$T/pair.ini" data --as rtos "$T/pair-in" --timeout 30 ||
	fail "send on channel data"
wait_ok "$s1"
wait_ok "$r1"
wait_ok "$r2"
[ "$(sha "$T/pair-ctl")" = "$(sha "$T/pair-in")" ] || fail "channel ctl: sha256 differs"
[ "$(sha "$T/pair-data")" = "$(sha "$T/pair-in")" ] || fail "channel data: sha256 differs"
echo "two channels between linux and rtos: both transfers intact"
