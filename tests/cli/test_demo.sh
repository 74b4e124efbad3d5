# SPDX-License-Identifier: MIT
# shmlink demo: the demo of `make demo` (examples/demo/demo.c) in short runs,
# message and stream mode: exit 0 and the PASS verdict with the kills asked for.
. "$(dirname "$0")/lib.sh"

for mode in message stream; do
	"${LIMIT[@]}" 120 "$SHMLINK" demo --seconds 2 --kills 2 --kill-side both --mode $mode --quiet \
		>"$T/out" 2>"$T/err" || fail "$mode: demo failed: $(cat "$T/out" "$T/err")"
	[ "$(wc -l <"$T/out")" -eq 1 ] || fail "$mode: want one line: $(cat "$T/out")"
	grep -Eq '^PASS: sent ([1-9][0-9]*) = received [0-9]+ \+ discarded [0-9]+ \(reported to the sender\); duplicates 0, corrupt 0, lost 0; 2 kills, 2 resets; ' \
		"$T/out" || fail "$mode: $(cat "$T/out")"
	# sent = received + discarded, as the verdict says.
	read -r sent recv disc < <(sed -E 's/^PASS: sent ([0-9]+) = received ([0-9]+) \+ discarded ([0-9]+).*/\1 \2 \3/' "$T/out")
	[ "$sent" -eq $((recv + disc)) ] || fail "$mode: $sent != $recv + $disc"
	[ ! -s "$T/err" ] || fail "$mode: --quiet printed: $(cat "$T/err")"
	echo "$mode: $(cut -c1-80 "$T/out")..."
done

# Without --quiet the first line names the run, with the CLI's prefix.
"${LIMIT[@]}" 60 "$SHMLINK" demo --seconds 0.5 --kills 0 --size 100 --seed 7 >"$T/out" 2>"$T/err" ||
	fail "demo --kills 0 failed: $(cat "$T/out" "$T/err")"
head -1 "$T/err" | grep '^shmlink: demo: message mode, payload 100 bytes, 0 kills (consumer) over 0.5 s, seed 7$' >/dev/null ||
	fail "demo banner: $(head -1 "$T/err")"
grep -q '^PASS: .* 0 kills, 0 resets;' "$T/out" || fail "demo --kills 0: $(cat "$T/out")"
