# SPDX-License-Identifier: MIT
# A 64 MiB random file through send/recv in two processes, message mode and
# stream mode; the received file's sha256 must equal the sent one's. Under
# the sanitizers too (it takes a few seconds there).
. "$(dirname "$0")/lib.sh"

MIB=64
head -c "${MIB}M" /dev/urandom >"$T/in"
want=$(sha "$T/in")

for mode in message stream; do
	cfg="$T/$mode.ini"
	write_config "$cfg" "$mode" 64K
	"$SHMLINK" init "$cfg" >/dev/null
	start=$(date +%s%N)
	# The receiver first, as rtos; the sender then takes the free end (linux).
	"${LIMIT[@]}" 120 "$SHMLINK" recv "$cfg" ctl --as rtos "$T/out-$mode" --timeout 60 &
	r=$!
	PIDS+=("$r")
	wait_held "$cfg" b
	"${LIMIT[@]}" 120 "$SHMLINK" send "$cfg" ctl "$T/in" --timeout 60 || fail "$mode: send failed"
	wait_ok "$r"
	end=$(date +%s%N)
	got=$(sha "$T/out-$mode")
	[ "$got" = "$want" ] || fail "$mode: sha256 differs: sent $want, received $got"
	echo "$mode: ${MIB} MiB, sha256 equal, $(((end - start) / 1000000)) ms"

	# And the other way round, from stdin to stdout, receiver second.
	"${LIMIT[@]}" 120 "$SHMLINK" send "$cfg" ctl --as rtos - <"$T/in" --timeout 60 &
	s=$!
	PIDS+=("$s")
	wait_held "$cfg" b
	"${LIMIT[@]}" 120 "$SHMLINK" recv "$cfg" ctl --timeout 60 >"$T/out2-$mode" || fail "$mode: recv (stdout) failed"
	wait_ok "$s"
	[ "$(sha "$T/out2-$mode")" = "$want" ] || fail "$mode: stdin to stdout: sha256 differs"
	echo "$mode: stdin -> stdout the other way, sha256 equal"
done
