# SPDX-License-Identifier: MIT
# `shmlink cat` both ways at once: two cat processes, each feeding a file into
# the channel and capturing what the other sent; both outputs must equal the
# other side's input. Message mode (end of file: an empty message) and stream
# mode (end: the peer closes after --linger of silence), files and pipes.
. "$(dirname "$0")/lib.sh"

head -c 3M /dev/urandom >"$T/a"
head -c 5M /dev/urandom >"$T/b"
head -c 100 /dev/urandom >"$T/small"

check() {
	cmp -s "$T/a" "$T/out-b" || fail "$1: rtos did not receive linux's file"
	cmp -s "$T/b" "$T/out-a" || fail "$1: linux did not receive rtos's file"
	echo "$1: both directions equal"
}

for mode in message stream; do
	cfg="$T/$mode.ini"
	write_config "$cfg" "$mode" 16K
	"$SHMLINK" init "$cfg" >/dev/null

	# Files on both sides, started together.
	"${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as linux <"$T/a" >"$T/out-a" &
	p=$!
	PIDS+=("$p")
	"${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as rtos <"$T/b" >"$T/out-b" || fail "$mode: cat rtos failed"
	wait_ok "$p"
	check "$mode, files"

	# Pipes on both sides; the second cat finds its end by itself (no --as).
	rm -f "$T/out-a" "$T/out-b"
	(cat "$T/a" | "${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as linux | cat >"$T/out-a") &
	p=$!
	PIDS+=("$p")
	wait_held "$cfg" a
	cat "$T/b" | "${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl | cat >"$T/out-b" || fail "$mode: cat (pipes) failed"
	wait_ok "$p"
	check "$mode, pipes"

	# Unequal sizes: one side sends 100 bytes, the other 5 MiB.
	cp "$T/small" "$T/a"
	rm -f "$T/out-a" "$T/out-b"
	"${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as linux <"$T/a" >"$T/out-a" &
	p=$!
	PIDS+=("$p")
	"${LIMIT[@]}" 60 "$SHMLINK" cat "$cfg" ctl --as rtos <"$T/b" >"$T/out-b" || fail "$mode: cat rtos failed"
	wait_ok "$p"
	check "$mode, 100 bytes against 5 MiB"
	head -c 3M /dev/urandom >"$T/a"
done
