# SPDX-License-Identifier: MIT
# Bad configs and bad arguments: each must exit with the right code (2 for
# usage/config errors, 1 for runtime failures) and say FILE:LINE and what to
# fix on stderr.
. "$(dirname "$0")/lib.sh"

n=0
failed=0
# bad NAME EXIT SUBSTRING CONFIG [ARGS...]: CONFIG (printf format) is written to
# bad.ini; ARGS default to "layout bad.ini". Runs in $T.
bad() {
	local name=$1 want=$2 sub=$3 cfg=$4 rc=0
	shift 4
	printf "$cfg" >"$T/bad.ini"
	[ $# -gt 0 ] || set -- layout bad.ini
	[ "$1" != NONE ] || set --
	(cd "$T" && "${LIMIT[@]}" 20 "$SHMLINK" "$@") >"$T/out" 2>"$T/err" || rc=$?
	n=$((n + 1))
	if [ "$rc" -ne "$want" ] || ! grep -qF -- "$sub" "$T/err"; then
		echo "FAIL [$name]: exit $rc (want $want), stderr: $(cat "$T/err")" >&2
		echo "      wanted: $sub" >&2
		failed=$((failed + 1))
	else
		echo "ok   [$name] $(head -1 "$T/err")"
	fi
}

R='[region]\nsize = 1M\n'
D='[domain linux]\nid = 1\n[domain rtos]\nid = 2\n'
C='[channel ctl]\na = linux\nb = rtos\nring = 4K\n'
OK="$R$D$C"
H="[host]\npath = $(region e)\n"

# --- config errors: file:line and what to fix ---
bad "unknown section" 2 "bad.ini:1: unknown section [regoin]" '[regoin]\nsize = 1M\n'
bad "unknown key" 2 "bad.ini:3: unknown key 'sise' in [region] (known keys: size, cacheline)" '[region]\nsize = 1M\nsise = 2M\n'
bad "duplicate key" 2 "bad.ini:3: duplicate key 'size' in [region] (first at line 2)" '[region]\nsize = 1M\nsize = 2M\n'
bad "duplicate section" 2 "bad.ini:5: duplicate section [domain linux] (first at line 3)" "$R"'[domain linux]\nid = 1\n[domain linux]\nid = 2\n'
bad "duplicate empty section" 2 "bad.ini:3: duplicate section [region] (first at line 1)" "$R"'[region]\n'
bad "size does not parse" 2 "bad.ini:2: [region] size = 1Q: not a size" '[region]\nsize = 1Q\n'
bad "id does not parse" 2 "bad.ini:4: [domain linux] id = one: not a number" "$R"'[domain linux]\nid = one\n'
bad "ring not a power of two" 2 "bad.ini:10: [channel ctl] ring = 3000: a ring size must be a power of two (e.g. 2K or 4K)" "$R$D"'[channel ctl]\na = linux\nb = rtos\nring = 3000\n'
bad "ring_ba not a power of two" 2 "bad.ini:11: [channel ctl] ring_ba = 5K: a ring size must be a power of two" "$R$D"'[channel ctl]\na = linux\nb = rtos\nring_ab = 4K\nring_ba = 5K\n'
bad "ring too small" 2 "bad.ini:10: [channel ctl] ring = 32: a ring must be at least 64 bytes" "$R$D"'[channel ctl]\na = linux\nb = rtos\nring = 32\n'
bad "region too small" 2 "bad.ini:2: [region] size = 64K is too small for its channels: they need 131712 bytes (128.6 KiB), 66176 more" '[region]\nsize = 64K\n'"$D"'[channel ctl]\na = linux\nb = rtos\nring = 64K\n'
bad "unknown domain" 2 "bad.ini:9: [channel ctl] b = rtso: no domain is named 'rtso' (domains: linux, rtos)" "$R$D"'[channel ctl]\na = linux\nb = rtso\nring = 4K\n'
bad "cacheline" 2 "bad.ini:3: [region] cacheline = 32: write 64 or 128" '[region]\nsize = 1M\ncacheline = 32\n'"$D$C"
bad "name too long" 2 "bad.ini:3: domain name 'a_very_long_domain_name_of_40_chars_xx' is too long: 38 bytes, at most 31" "$R"'[domain a_very_long_domain_name_of_40_chars_xx]\nid = 1\n'
bad "bad name characters" 2 "bad.ini:3: domain name 'my dom' may use only letters, digits" "$R"'[domain my dom]\nid = 1\n'
bad "duplicate id" 2 "bad.ini:6: [domain rtos] id = 1 is also the id of domain 'linux' (line 4)" "$R"'[domain linux]\nid = 1\n[domain rtos]\nid = 1\n'"$C"
bad "missing id" 2 "bad.ini:5: [domain rtos] has no id" "$R"'[domain linux]\nid = 1\n[domain rtos]\n[channel ctl]\na = linux\nb = rtos\nring = 4K\n'
bad "missing ring" 2 "bad.ini:7: [channel ctl] has no ring size" "$R$D"'[channel ctl]\na = linux\nb = rtos\n'
bad "ring and ring_ab" 2 "bad.ini:11: [channel ctl]: give either ring (both directions) or ring_ab and ring_ba" "$R$D"'[channel ctl]\na = linux\nb = rtos\nring = 4K\nring_ab = 4K\n'
bad "max_message too big" 2 "bad.ini:11: [channel ctl] max_message = 5000: max_message must be at most half the smaller ring minus 8: at most 2040 here" "$OK"'max_message = 5000\n'
bad "max_message in stream mode" 2 "bad.ini:12: [channel ctl] max_message applies to message channels only" "$OK"'mode = stream\nmax_message = 100\n'
bad "bad mode" 2 "bad.ini:11: [channel ctl] mode = fast: write mode = message or mode = stream" "$OK"'mode = fast\n'
bad "channel joins a domain with itself" 2 "bad.ini:9: [channel ctl] b = linux: a channel must join two different domains" "$R$D"'[channel ctl]\na = linux\nb = linux\nring = 4K\n'
bad "one domain" 2 "bad.ini:3: 1 domain configured: a region needs 2 to 64" "$R"'[domain linux]\nid = 1\n'
bad "no channel" 2 "bad.ini: no channel configured" "$R$D"
bad "no region" 2 "bad.ini: no [region] section" "$D"
bad "key outside sections" 2 "bad.ini:1: 'size' is outside any section" 'size = 1M\n'
bad "line without =" 2 "bad.ini:3: cannot parse this line" "$R"'oops\n'
bad "header without ]" 2 "bad.ini:3: a section header needs a closing ']'" "$R"'[domain linux\n'
bad "region with a name" 2 "bad.ini:1: [region] takes no name" '[region big]\nsize = 1M\n'
bad "domain without a name" 2 "bad.ini:3: a [domain] section needs a name" "$R"'[domain]\nid = 1\n'
bad "line too long" 2 "bad.ini:3: line too long" "$R"'id = '"$(printf 'x%.0s' $(seq 300))"'\n'
bad "qemu size not a power of two" 2 "bad.ini:12: [qemu] size = 3M: an ivshmem BAR must be a power of two (e.g. 4M)" "$OK"'[qemu]\nsize = 3M\n'
bad "xen unaligned address" 2 "bad.ini:12: [xen] host_address = 0xb0000100 is not 4 KiB aligned" "$OK"'[xen]\nhost_address = 0xb0000100\nguest_address = 0x33000000\n' gen xen-dt bad.ini
bad "xen without guest_address" 2 "bad.ini:11: [xen] has no guest_address" "$OK"'[xen]\nhost_address = 0xb0000000\n' gen xen-dt bad.ini
bad "xen evtchn of no channel" 2 "bad.ini:14: [xen] evtchn.log: no channel is named 'log'" "$OK"'[xen]\nhost_address = 0xb0000000\nguest_address = 0x33000000\nevtchn.log = 1 2\n'
bad "xen duplicate port" 2 "port 5 is used twice in domain 'linux'" "$R"'[domain linux]\nid = 1\n[domain rtos]\nid = 2\n[domain fw]\nid = 3\n[channel a]\na = linux\nb = rtos\nring = 4K\n[channel b]\na = linux\nb = fw\nring = 4K\n[xen]\nhost_address = 0xb0000000\nguest_address = 0x33000000\nevtchn.a = 5 6\nevtchn.b = 5 7\n' gen xen-dt bad.ini
bad "xen shm_id too long" 2 "bad.ini:12: [xen] shm_id = a-very-long-shm-id: Xen takes 1 to 15 characters" "$OK"'[xen]\nshm_id = a-very-long-shm-id\n'
bad "host domain unknown" 2 "bad.ini:13: [host] domain = nobody: no domain is named 'nobody'" "$OK$H"'domain = nobody\n'
bad "config file missing" 2 "nothere.ini: cannot open the config" "$OK" layout nothere.ini

# --- bad arguments ---
bad "no command" 2 "no command given" "$OK" NONE
bad "unknown command" 2 "unknown command 'frobnicate'" "$OK" frobnicate
bad "unknown option" 2 "unknown option or missing argument: --frob" "$OK" layout bad.ini --frob
bad "no CONFIG" 2 "no CONFIG given" "$OK" layout
bad "gen what" 2 "unknown generator 'html'" "$OK" gen html bad.ini
bad "gen --guest of no domU" 2 "--guest nobody: not a domU" "$OK"'[xen]\nhost_address = 0xb0000000\nguest_address = 0x33000000\n' gen xen-dt bad.ini --guest nobody
bad "gen --prefix not C" 2 "--prefix 9lives: not a C identifier" "$OK" gen header bad.ini --prefix 9lives
bad "gen header names clash" 2 "channel 'a-b' and channel 'a_b' both give the C macro SHML_CFG_CHANNEL_A_B" "$R"'[domain l]\nid = 1\n[domain r]\nid = 2\n[domain x]\nid = 3\n[channel a-b]\na = l\nb = r\nring = 4K\n[channel a_b]\na = l\nb = x\nring = 4K\n' gen header bad.ini
bad "no region path" 2 "bad.ini: no region file: add [host] path" "$OK" init bad.ini
bad "unknown channel" 2 "no channel is named 'nope' in bad.ini (channels: ctl)" "$OK$H" send bad.ini nope
bad "--as of another channel" 2 "--as fw: channel 'ctl' joins linux and rtos, not fw" "$R$D"'[domain fw]\nid = 3\n'"$C$H" send bad.ini ctl --as fw
bad "--as unknown" 2 "--as nobody: no domain is named 'nobody'" "$OK$H" recv bad.ini ctl --as nobody
bad "--count and FILE" 2 "give either FILE or --count, not both" "$OK$H" send bad.ini ctl file --count 3
bad "--size without --count" 2 "--size goes with --count" "$OK$H" send bad.ini ctl --size 10
bad "bench --side" 2 "--side C: write A, B or both" "$OK$H" bench bad.ini ctl --side C
bad "bench --sizes empty item" 2 "--sizes 64,,1K: give sizes separated by commas" "$OK$H" bench bad.ini ctl --sizes 64,,1K
bad "bench --sizes 0" 2 "--sizes: '0' is not a size from 1 to 16M" "$OK$H" bench bad.ini ctl --sizes 0
bad "bench --sizes not a size" 2 "--sizes: 'big' is not a size" "$OK$H" bench bad.ini ctl --sizes 64,big
bad "bench --seconds 0" 2 "--seconds 0: give seconds, more than 0 and at most 3600" "$OK$H" bench bad.ini ctl --seconds 0
bad "bench --wait" 2 "--wait lazy: write spin, busy or block" "$OK$H" bench bad.ini ctl --wait lazy
bad "bench --timeout" 2 "--timeout x: give seconds, more than 0" "$OK$H" bench bad.ini ctl --timeout x
bad "bench --csv on side B" 2 "--csv goes with side A: side B only answers" "$OK$H" bench bad.ini ctl --side B --csv out.csv
bad "bench size above max_message" 2 "--sizes: 4096 is larger than channel 'ctl''s max message (2040 bytes)" "$OK$H" bench bad.ini ctl --sizes 64,4K
bad "bench channel too small" 2 "channel 'ctl' carries messages of at most 24 bytes; bench needs 64" "$R$D"'[channel ctl]\na = linux\nb = rtos\nring = 64\n'"$H" bench bad.ini ctl
bad "bench unknown channel" 2 "no channel is named 'nope' in bad.ini (channels: ctl)" "$OK$H" bench bad.ini nope
bad "bench no CHANNEL" 2 "no CHANNEL given" "$OK$H" bench bad.ini
bad "bench too many arguments" 2 "too many arguments" "$OK$H" bench bad.ini ctl extra
bad "demo --kills" 2 "demo: --kills x: give a number from 0 to 100000" "$OK" demo --kills x
bad "demo --mode" 2 "demo: --mode fast: write message or stream" "$OK" demo --mode fast
bad "demo --seconds" 2 "demo: --seconds -1: give seconds, more than 0 and at most 86400" "$OK" demo --seconds -1
bad "demo unknown option" 2 "demo: unknown option '--frob'" "$OK" demo --frob
bad "demo missing value" 2 "demo: --kills needs a value" "$OK" demo --kills
bad "--iterations without --watch" 2 "--iterations goes with --watch" "$OK$H" inspect bad.ini --iterations 2
bad "bad --interval" 2 "--interval 0: give seconds, at least 0.01" "$OK$H" inspect bad.ini --watch --interval 0

# --- runtime failures: exit 1 ---
bad "region file missing" 1 "the region file does not exist: run 'shmlink init bad.ini' first" "$OK$H" inspect bad.ini
"$SHMLINK" init "$T/bad.ini" >/dev/null 2>&1 || true
bad "ambiguous end" 2 "neither end is in use here: say which end we are with --as linux or --as rtos" "$OK$H" send bad.ini ctl --count 1
bad "--size above max_message" 2 "--size 5000: larger than channel 'ctl''s max message (2040 bytes)" "$OK$H" send bad.ini ctl --as linux --count 1 --size 5000
bad "--count on a stream channel" 2 "--count counts messages, and stream channel 'ctl' has none" "$OK"'mode = stream\n'"$H" recv bad.ini ctl --as rtos --count 1
bad "input file missing" 1 "nothere: No such file or directory" "$OK$H" send bad.ini ctl --as linux nothere
bad "bench csv not writable" 1 "nodir/out.csv: No such file or directory" "$OK$H" bench bad.ini ctl --csv nodir/out.csv
bad "bench without a peer" 1 "no answer from rtos for 0.3 s (--timeout): is 'shmlink bench ... --side B' running there?" "$OK$H" bench bad.ini ctl --side A --timeout 0.3
bad "timeout without a peer" 1 "nothing moved for 0.3 s (--timeout): is the peer's end open?" "$OK$H" recv bad.ini ctl --as rtos --timeout 0.3
# --- ports other than the region file (--port, [host] port) ---
bad "port unknown in config" 2 "bad.ini:12: [host] port = pci: write file" "$OK"'[host]\nport = pci\n' send bad.ini ctl --as linux --count 1
bad "--port unknown" 2 "--port pci: write file, ivshmem, ivshmem-guest or xen" "$OK$H" send bad.ini ctl --as linux --port pci
bad "ivshmem without server" 2 "bad.ini:12: port ivshmem needs the ivshmem server's socket: add server = PATH to [qemu]" "$OK"'[host]\nport = ivshmem\n' recv bad.ini ctl --as rtos
bad "ivshmem --port without server" 2 "bad.ini:11: port ivshmem needs the ivshmem server's socket" "$OK"'[qemu]\nid = x\n' recv bad.ini ctl --as rtos --port ivshmem
bad "ivshmem without --as" 2 "no file locks across VMs): say which end we are with --as linux or --as rtos, or [host] domain" "$OK"'[qemu]\nserver = sock\n' recv bad.ini ctl --port ivshmem
bad "ivshmem with --region" 2 "--region names a region file, and port ivshmem reaches the region without one" "$OK"'[qemu]\nserver = sock\n' recv bad.ini ctl --as rtos --port ivshmem --region x
bad "ivshmem too many vectors" 2 "bad.ini:13: [qemu] vectors = 65: the ivshmem ports handle at most 64" "$OK"'[qemu]\nserver = sock\nvectors = 65\n' bench bad.ini ctl --side A --port ivshmem
bad "ivshmem bad ids" 2 "bad.ini:13: [qemu] ids = 0,1,2: write the ivshmem peer id of each domain" "$OK"'[qemu]\nserver = sock\nids = 0,1,2\n' recv bad.ini ctl --as rtos --port ivshmem
bad "guest bad mode" 2 "bad.ini:13: [qemu] guest_mode = uio: write auto (default), vfio" "$OK"'[qemu]\npci = 0000:00:03.0\nguest_mode = uio\n' recv bad.ini ctl --as rtos --port ivshmem-guest
bad "xen without [xen]" 2 "bad.ini:12: port xen needs a [xen] section" "$OK"'[host]\nport = xen\n' cat bad.ini ctl --as rtos
bad "ivshmem no server" 1 "port ivshmem: no ivshmem server at nosuch.sock (start \`shmlink ivshmem-server\` first)" "$OK"'[qemu]\nserver = nosuch.sock\n' recv bad.ini ctl --as rtos --port ivshmem
bad "ivshmem-guest no device" 1 "port ivshmem-guest: " "$OK"'[qemu]\npci = 0000:7f:1f.7\n' recv bad.ini ctl --as rtos --port ivshmem-guest
bad "xen no region" 1 "port xen: " "$OK"'[xen]\nshm_id = nosuch\n' net bad.ini ctl --as rtos --port xen
truncate -s 1000 "$(region e)"
bad "region file too small" 1 "run 'shmlink init bad.ini'" "$OK$H" send bad.ini ctl --as linux --count 1
# The end a live process holds cannot be taken twice.
"$SHMLINK" init "$T/bad.ini" >/dev/null 2>&1 || true
"${LIMIT[@]}" 20 "$SHMLINK" recv "$T/bad.ini" ctl --as rtos --timeout 5 >/dev/null 2>&1 &
holder=$!
PIDS+=($holder)
wait_held "$T/bad.ini" b
bad "end in use" 1 "the rtos end of channel 'ctl' is in use by another process on this host" "$OK$H" recv bad.ini ctl --as rtos
kill $holder
wait $holder || true
# Another config on the same region file: the hashes differ. Whichever end
# looks first reports the mismatch and leaves; the other one times out, and
# names the other hash too.
printf "$OK"'max_message = 100\n'"$H" >"$T/other.ini"
"${LIMIT[@]}" 20 "$SHMLINK" send "$T/other.ini" ctl --as linux --count 1 --size 10 --timeout 2 >/dev/null 2>&1 &
PIDS+=($!)
wait_held "$T/bad.ini" a
bad "config mismatch" 1 "config hash 0x" "$OK$H" recv bad.ini ctl --as rtos --timeout 2
grep -q "has config hash\|uses config hash" "$T/err" || fail "mismatch: $(cat "$T/err")"

echo "$n cases, $failed failed"
[ "$failed" -eq 0 ]
