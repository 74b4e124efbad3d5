# SPDX-License-Identifier: MIT
# shmlink bench over host-file regions with tiny durations: the table and the
# CSV are well formed and every rate and latency is positive. No speed is
# asserted: benchmarks are not timed tests. Also --side A and --side B as two
# separate processes, and both sides refusing different --wait modes.
. "$(dirname "$0")/lib.sh"

SECS=0.02
METRICS="msg_rate bandwidth cpu_per_msg notify_per_msg wakeups_per_msg rtt_median rtt_p99 rtt_mean cpu_per_rtt"

# check_csv FILE WAIT "MODES" "SIZES" RUNS: header once, then RUNS x every
# mode x size x metric, numbers positive where they must be, and consistent.
check_csv() {
	local csv=$1 wait=$2 modes=$3 sizes=$4 runs=$5 want
	[ "$(head -1 "$csv")" = "transport,mode,wait,size,metric,value,unit,run" ] ||
		fail "$csv: header: $(head -1 "$csv")"
	[ "$(grep -c '^transport,' "$csv")" -eq 1 ] || fail "$csv: header repeated"
	want=$((runs * $(echo $modes | wc -w) * $(echo $sizes | wc -w) * $(echo $METRICS | wc -w)))
	[ "$(tail -n +2 "$csv" | wc -l)" -eq "$want" ] ||
		fail "$csv: $(tail -n +2 "$csv" | wc -l) rows, want $want"
	awk -F, -v wait="$wait" -v modes=" $modes " -v sizes=" $sizes " -v metrics=" $METRICS " '
		NR == 1 { next }
		function bad(why) { printf "%s: line %d: %s: %s\n", FILENAME, NR, why, $0; err = 1 }
		NF != 8 { bad("not 8 fields"); next }
		$1 != "shmlink-host" { bad("transport") }
		index(modes, " " $2 " ") == 0 { bad("mode") }
		$3 != wait { bad("wait") }
		index(sizes, " " $4 " ") == 0 { bad("size") }
		index(metrics, " " $5 " ") == 0 { bad("metric") }
		$6 !~ /^[0-9.]+(e[-+][0-9]+)?$/ { bad("value not a number") }
		$8 != 1 { bad("run") }
		$5 ~ /^(msg_rate|bandwidth|rtt_median|rtt_p99|rtt_mean)$/ && !($6 > 0) { bad("not positive") }
		{ v[$2 "/" $4 "/" $5] = $6 + 0; seen[$2 "/" $4] = $4 }
		END {
			for (k in seen) {
				# GB/s is messages/s x size; p99 is not below the median.
				r = v[k "/msg_rate"] * seen[k] / 1e9; b = v[k "/bandwidth"]
				if (b < r * 0.99 || b > r * 1.01) { printf "%s: bandwidth %g != %g\n", k, b, r; err = 1 }
				if (v[k "/rtt_p99"] < v[k "/rtt_median"]) { printf "%s: p99 < median\n", k; err = 1 }
			}
			exit err
		}' "$csv" || fail "$csv is not well formed"
}

# check_table FILE "MODES" "SIZES": a row per mode and size, with units.
check_table() {
	local out=$1 m s
	grep -q '^shmlink bench: channel ctl' "$out" || fail "no title: $(cat "$out")"
	grep -Eq '^mode +size +msg/s +GB/s +notify/msg +rtt median +rtt p99$' "$out" || fail "no header"
	for m in $2; do
		for s in $3; do
			grep -Eq "^$m +$s +[0-9.]+( [kM])? +[0-9.]+ +[0-9.]+ +[0-9.]+ [um]s +[0-9.]+ [um]s$" "$out" ||
				fail "no row for $m $s: $(cat "$out")"
		done
	done
}

# Message channel, both ends here (the default), two runs into one CSV.
write_config "$T/m.ini" message 64K
"$SHMLINK" init "$T/m.ini" >/dev/null
for run in 1 2; do
	"${LIMIT[@]}" 120 "$SHMLINK" bench "$T/m.ini" ctl --seconds $SECS --sizes 64,1K \
		--csv "$T/m.csv" >"$T/m.out" || fail "bench (message) failed"
done
check_table "$T/m.out" "message zerocopy" "64 1024"
check_csv "$T/m.csv" spin "message zerocopy" "64 1024" 2
echo "message channel: table and CSV well formed"

# The default sizes: 64 KiB does not fit a 16 KiB ring's messages, and is skipped.
write_config "$T/small.ini" message 16K
"$SHMLINK" init "$T/small.ini" >/dev/null
"${LIMIT[@]}" 120 "$SHMLINK" bench "$T/small.ini" ctl --seconds $SECS >"$T/small.out" ||
	fail "bench (default sizes) failed"
check_table "$T/small.out" "message zerocopy" "64 1024"
grep -Eq '^message +65536 +skipped: larger than the channel.s max message$' "$T/small.out" ||
	fail "64 KiB not skipped: $(cat "$T/small.out")"

# Stream channel, sleeping at once.
write_config "$T/s.ini" stream 64K
"$SHMLINK" init "$T/s.ini" >/dev/null
"${LIMIT[@]}" 120 "$SHMLINK" bench "$T/s.ini" ctl --seconds $SECS --sizes 64,65536 --wait block \
	--csv "$T/s.csv" >"$T/s.out" || fail "bench (stream) failed"
check_table "$T/s.out" stream "64 65536"
check_csv "$T/s.csv" block stream "64 65536" 1
echo "stream channel: table and CSV well formed"

# --side B and --side A: two separate processes, as in two domains.
"${LIMIT[@]}" 120 "$SHMLINK" bench "$T/m.ini" ctl --side B --wait busy 2>"$T/b.err" &
b=$!
PIDS+=("$b")
"${LIMIT[@]}" 120 "$SHMLINK" bench "$T/m.ini" ctl --side A --wait busy --seconds $SECS --sizes 256 \
	--csv "$T/ab.csv" >"$T/a.out" || fail "bench --side A failed"
wait_ok "$b"
check_table "$T/a.out" "message zerocopy" 256
check_csv "$T/ab.csv" busy "message zerocopy" 256 1
grep -Eq 'answered [1-9][0-9]* measurement rounds for linux' "$T/b.err" || fail "side B: $(cat "$T/b.err")"
echo "--side A and --side B in two processes: ok"

# Side B started second works too; different --wait modes are refused by both.
"${LIMIT[@]}" 60 "$SHMLINK" bench "$T/m.ini" ctl --side A --wait spin --seconds $SECS >/dev/null \
	2>"$T/a.err" &
a=$!
PIDS+=("$a")
rc=0
"${LIMIT[@]}" 60 "$SHMLINK" bench "$T/m.ini" ctl --side B --wait block 2>"$T/b.err" || rc=$?
[ $rc -eq 2 ] || fail "side B with another --wait: exit $rc"
wait_ok "$a" 2
grep -q "side A runs --wait spin, we run --wait block: give both sides the same --wait" "$T/b.err" ||
	fail "side B: $(cat "$T/b.err")"
grep -q "side B runs --wait block, we run --wait spin" "$T/a.err" || fail "side A: $(cat "$T/a.err")"
echo "different --wait modes: refused by both sides"
