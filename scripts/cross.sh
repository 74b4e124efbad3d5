#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross builds, emulated runs and the size table of shmlink (docs/PORTING.md).
# Run by the ctests of cmake/cross.cmake and by `make size`; usable by hand.
#
#   cross.sh core TARGET OUT        the core (and the baremetal port) built
#                                   freestanding for TARGET, at -Os and -O2,
#                                   -Werror; checks: undefined symbols only
#                                   memcpy/memset, no atomic read-modify-write
#                                   instructions, fences present, no .data/.bss;
#                                   then each SHML_CONFIG_* switch alone at -Os
#   cross.sh minimal TARGET OUT     link examples/baremetal/minimal.c for TARGET,
#                                   with the full core and with the tiny profile
#   cross.sh budget OUT             issue 8's budget: the tiny profile's core on
#                                   Cortex-M4 -Os has <= 4096 B .text, no
#                                   .data/.bss, needs only memcpy/memset
#   cross.sh cortexm OUT            the Cortex-M images run under QEMU
#   cross.sh qemu-m MACHINE ELF     run one under qemu-system-arm, expect PASS
#   cross.sh linux ARCH OUT TEST..  the unit tests TEST.. and layout_peer for
#                                   Linux on ARCH, for qemu-user (or natively)
#   cross.sh run ARCH OUT PROG ARG..  run one of those
#   cross.sh layout ARCH OUT HOSTPEER  32/64-bit cross-check of one region
#   cross.sh size OUT [DOC]         the size table; with DOC, also replace the
#                                   table between its size-table markers
#
# TARGET: cortex-m4 cortex-m0plus aarch64 riscv64 i686
# ARCH:   armhf aarch64 riscv64 i686
# Exit status 77 means "skipped": a tool is missing, and the message says
# which Debian package brings it (scripts/deps.d/cross.list lists them all).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/script-lib.sh"
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
# No unwind tables: a baremetal image carries none (and they would count as flash).
NOUNWIND="-fno-asynchronous-unwind-tables -fno-unwind-tables"
# The core as the native freestanding check in CMakeLists.txt builds it.
CORE_FLAGS="-std=c11 -ffreestanding -fno-builtin -fno-stack-protector $NOUNWIND $WARN"
EX_FLAGS="-std=gnu11 -ffreestanding -fno-stack-protector $NOUNWIND $WARN"
TARGETS="cortex-m4 cortex-m0plus aarch64 riscv64 i686"
# Build profiles (include/shmlink.h): every switch must build alone; the
# budget is about TINY, the profile of a polling, message-only baremetal domain.
PROFILE_SWITCHES="PREVALIDATED NO_STREAM NO_ZEROCOPY_API NO_BLOCKING NO_INSPECT NO_STRINGS
NO_RESET_INFO COHERENT TINY"
TINY=-DSHML_CONFIG_TINY
BUDGET_TEXT=4096

# Set CC, TP (binutils prefix), TFLAGS, PKG, BOARD (cortexm or stub), LDS for a target.
target() {
	TFLAGS="" LDFLAGS_T="" BOARD=stub LDS=""
	case $1 in
	cortex-m4)
		CC=arm-none-eabi-gcc PKG=gcc-arm-none-eabi
		TFLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft" BOARD=cortexm LDS=mps2-an386.ld ;;
	cortex-m0plus)
		CC=arm-none-eabi-gcc PKG=gcc-arm-none-eabi
		TFLAGS="-mcpu=cortex-m0plus -mthumb" BOARD=cortexm LDS=microbit.ld ;;
	aarch64)
		# Baremetal AArch64 runs with the MMU off at first: Device memory,
		# so no unaligned accesses (-mstrict-align), and no FP/SIMD registers.
		CC=aarch64-linux-gnu-gcc PKG=gcc-aarch64-linux-gnu
		TFLAGS="-mgeneral-regs-only -mstrict-align -fno-pic -fno-pie" LDFLAGS_T="-static -no-pie" ;;
	riscv64)
		CC=riscv64-unknown-elf-gcc PKG=gcc-riscv64-unknown-elf
		TFLAGS="-march=rv64imac -mabi=lp64 -mcmodel=medany" ;;
	i686)
		CC=i686-linux-gnu-gcc PKG=gcc-i686-linux-gnu
		TFLAGS="-fno-pic -fno-pie" LDFLAGS_T="-static -no-pie" ;;
	*) die "unknown target '$1' (one of: $TARGETS)" ;;
	esac
	TP=${CC%gcc}
}

# Atomic read-modify-write instructions per architecture, matched against
# "mnemonic operands" (the core has none: only aligned loads, stores and
# fences). x86: the seq_cst fence GCC emits for i686 (lock or to the stack),
# 2-byte NOP padding and xchg between two registers (a swap GCC uses at -Os;
# with no memory operand it is not atomic anything) are not RMW on shared memory.
rmw_regex() {
	case $1 in
	cortex-m*) echo '^(ldrex|strex|ldaex|stlex|swp)' ;;
	aarch64) echo '^(ldx|ldax|stx|stlx|cas|swp|ldadd|ldclr|ldeor|ldset|ldsmax|ldsmin|ldumax|ldumin|stadd|stclr|steor|stset)' ;;
	riscv64) echo '^(lr|sc|amo[a-z]+)\.[wd]' ;;
	i686) echo '^(lock|xchg|xadd|cmpxchg)' ;;
	esac
}
rmw_allowed() {
	case $1 in
	i686) echo '^lock orl +\$0x0,\(%esp\)|^xchg +%[a-z]+,%[a-z]+ *$' ;;
	*) echo '^$' ;;
	esac
}

# sum_sections NM_SIZE FILES...: ".text .rodata .data .bss" byte counts, by
# section name prefix (size -A), over all files.
sum_sections() {
	sz=$1
	shift
	"$sz" -A "$@" | awk '
		$1 ~ /^\.(text|init|fini|vectors)/ { t += $2 }
		$1 ~ /^\.(rodata|srodata|ARM\.exidx)/ { r += $2 }
		$1 ~ /^\.(data|sdata|got)/ { d += $2 }
		$1 ~ /^\.(bss|sbss)/ { b += $2 }
		END { printf "%d %d %d %d\n", t, r, d, b }'
}

# ---- core: freestanding build and checks ----------------------------------------------

# build_core DIR FLAGS...: the core's objects for the current target() in DIR.
build_core() {
	bc_dir=$1
	shift
	rm -rf "$bc_dir"
	mkdir -p "$bc_dir"
	for bc_f in "$SRC"/src/core/*.c; do
		$CC $CORE_FLAGS $TFLAGS "$@" -I"$SRC/include" -I"$SRC/src/core" \
			-c "$bc_f" -o "$bc_dir/$(basename "$bc_f" .c).o" || return 1
	done
}

cmd_core() {
	t=$1 out=$2
	target "$t"
	need "$CC" "$PKG"
	rc=0
	for opt in -Os -O2; do
		dir=$out/core$opt
		build_core "$dir" $opt || die "the core does not build for $t $opt"
		$CC $CORE_FLAGS $TFLAGS $opt -I"$SRC/include" \
			-c "$SRC/src/port/baremetal/baremetal.c" -o "$dir/port.o"
		objs=$(ls "$dir"/*.o | grep -v '/port\.o$')
		echo "== $t $opt: $CC $TFLAGS"
		# shellcheck disable=SC2086
		if ! sh "$SRC/tests/freestanding/check_undefined.sh" "${TP}nm" $objs; then
			rc=1
			echo "  (__aeabi_*/__mul*/__div*/__ashl* are libgcc helpers: an operation this"
			echo "  processor lacks, e.g. the 64-bit multiply of the config hash on ARMv6-M;"
			echo "  see \"Known core problems\" in docs/PORTING.md)"
		fi
		# shellcheck disable=SC2086
		dis=$("${TP}objdump" -d $objs | awk -F'\t' 'NF >= 3 { print $3 " " $4 }')
		bad=$(printf '%s\n' "$dis" | grep -E "$(rmw_regex "$t")" | grep -vE "$(rmw_allowed "$t")" || true)
		if [ -n "$bad" ]; then
			echo "FAIL: atomic read-modify-write instructions in the core (it must use only"
			echo "aligned loads, stores and fences: docs/PROTOCOL.md section 13):"
			printf '%s\n' "$bad" | awk '{ print $1 }' | sort | uniq -c | sort -rn
			case $t in
			riscv64) echo "  (GCC before 13 turns every __atomic_store_n into amoswap when the A"
				echo "  extension is on; see \"Known core problems\" in docs/PORTING.md)" ;;
			esac
			rc=1
		else
			echo "OK: no atomic read-modify-write instructions"
		fi
		case $t in
		cortex-m*)
			n=$(printf '%s\n' "$dis" | grep -cE '^dmb' || true)
			[ "$n" -gt 0 ] || { echo "FAIL: no dmb: the fences went somewhere else"; rc=1; }
			echo "OK: fences and acquire/release are inline: $n dmb" ;;
		esac
		# shellcheck disable=SC2086
		set -- $(sum_sections "${TP}size" $objs)
		echo "core: .text $1 .rodata $2 .data $3 .bss $4"
		if [ "$3" -ne 0 ] || [ "$4" -ne 0 ]; then
			echo "FAIL: the core has .data/.bss: it must keep no state of its own"
			rc=1
		fi
		# The port is not the core: it may use compiler runtime helpers
		# (Cortex-M0+ has no 64-bit multiply: __aeabi_lmul from libgcc).
		pu=$("${TP}nm" -u "$dir/port.o" | awk '{ print $2 }' |
			grep -vxE 'memcpy|memset|__aeabi_lmul|__muldi3' || true)
		if [ -n "$pu" ]; then
			echo "FAIL: the baremetal port needs:" $pu
			rc=1
		else
			echo "OK: the baremetal port needs only:" $("${TP}nm" -u "$dir/port.o" | awk '{ print $2 }')
		fi
	done
	for p in $PROFILE_SWITCHES; do
		dir=$out/profile-$p
		if build_core "$dir" -Os -DSHML_CONFIG_$p &&
			sh "$SRC/tests/freestanding/check_undefined.sh" "${TP}nm" "$dir"/*.o >/dev/null; then
			echo "OK: -DSHML_CONFIG_$p builds with -Werror and needs only memcpy/memset"
		else
			echo "FAIL: -DSHML_CONFIG_$p"
			rc=1
		fi
	done
	[ $rc -eq 0 ] && echo "PASS: core for $t" || echo "FAIL: core for $t"
	return $rc
}

# The budget of issue 8 on the tiny profile, from the objects' ELF sections.
cmd_budget() {
	out=$1
	target cortex-m4
	need "$CC" "$PKG"
	build_core "$out" -Os $TINY || die "the tiny profile does not build"
	set -- $(sum_sections "${TP}size" "$out"/*.o)
	echo "tiny core on cortex-m4 -Os ($TINY): .text $1 .rodata $2 .data $3 .bss $4"
	"${TP}nm" --size-sort -S -t d "$out"/*.o | awk '$3 ~ /^[tT]$/ { printf "  %6d %s\n", $2, $4 }' |
		sort -rn | head -8
	sh "$SRC/tests/freestanding/check_undefined.sh" "${TP}nm" "$out"/*.o ||
		die "the tiny core needs more than memcpy/memset"
	[ "$1" -le $BUDGET_TEXT ] || die ".text $1 B is over the budget of $BUDGET_TEXT B by $(($1 - BUDGET_TEXT)) B"
	[ "$3" -eq 0 ] && [ "$4" -eq 0 ] || die "the tiny core has .data/.bss"
	echo "PASS: within the budget (.text <= $BUDGET_TEXT B, 0 B .data): $(($BUDGET_TEXT - $1)) B to spare"
}

# ---- minimal / Cortex-M images ----------------------------------------------------------

# link_image TARGET OUT NAME EXAMPLE.c [FLAGS...]: build one baremetal image at
# -Os, FLAGS (a profile) for the core and the example alike.
# (sh functions share variables: this one uses only li_* names.)
link_image() {
	target "$1"
	li_out=$2 li_name=$3 li_main=$4
	shift 4
	mkdir -p "$li_out"
	li_bm=$SRC/examples/baremetal
	li_inc="-I$SRC/include -I$SRC/src/core -I$li_bm"
	li_sec="-ffunction-sections -fdata-sections"
	li_objs=""
	for li_f in "$SRC"/src/core/*.c; do
		li_o=$li_out/$li_name.$(basename "$li_f" .c).o
		$CC $CORE_FLAGS $TFLAGS -Os "$@" $li_sec $li_inc -c "$li_f" -o "$li_o"
		li_objs="$li_objs $li_o"
	done
	for li_f in "$SRC/src/port/baremetal/baremetal.c" "$li_bm/$li_main" "$li_bm/memfuncs.c" \
		"$li_bm/$BOARD.c"; do
		li_o=$li_out/$li_name.$(basename "$li_f" .c).o
		$CC $EX_FLAGS $TFLAGS -Os "$@" $li_sec $li_inc -c "$li_f" -o "$li_o"
		li_objs="$li_objs $li_o"
	done
	if [ "$BOARD" = cortexm ]; then
		li_ld="-L$li_bm -T$li_bm/$LDS"
	else
		# No board: the region's address only has to exist for the link.
		li_ld="-Wl,--defsym=__shmlink_region_start=0x40000000"
		li_ld="$li_ld -Wl,--defsym=__shmlink_region_end=0x40100000 -Wl,--no-warn-rwx-segments"
	fi
	# shellcheck disable=SC2086
	$CC $TFLAGS $LDFLAGS_T -nostdlib -Wl,--gc-sections -Wl,-Map="$li_out/$li_name.map" \
		$li_ld $li_objs -lgcc -o "$li_out/$li_name.elf"
}

cmd_minimal() {
	t=$1 out=$2
	target "$t"
	need "$CC" "$PKG"
	link_image "$t" "$out" "minimal-$t" minimal.c
	link_image "$t" "$out" "minimal-tiny-$t" minimal.c $TINY
	for m in minimal minimal-tiny; do
		set -- $(sum_sections "${TP}size" "$out/$m-$t.elf")
		echo "$m: .text $1 .rodata $2 .data $3 .bss $4"
	done
}

# The tiny profile is what the budget is about, so its images are the ones run.
cmd_cortexm() {
	out=$1
	need arm-none-eabi-gcc gcc-arm-none-eabi
	link_image cortex-m4 "$out" demo-cortex-m4 demo.c
	link_image cortex-m4 "$out" minimal-full-cortex-m4 minimal.c
	link_image cortex-m4 "$out" minimal-cortex-m4 minimal.c $TINY
	link_image cortex-m0plus "$out" minimal-cortex-m0plus minimal.c $TINY
	ls -l "$out"/*.elf
}

cmd_qemu_m() {
	machine=$1 elf=$2
	need qemu-system-arm qemu-system-arm
	[ -f "$elf" ] || skip "$elf was not built (see the cross_build_cortexm test)"
	log=$(mktemp)
	rc=0
	timeout 60 qemu-system-arm -M "$machine" -nographic -monitor none -serial null \
		-semihosting-config enable=on,target=native -kernel "$elf" >"$log" 2>&1 || rc=$?
	cat "$log"
	pass=$(grep -c ': PASS$' "$log" || true)
	rm -f "$log"
	[ $rc -ne 124 ] || die "qemu-system-arm -M $machine timed out after 60 s"
	[ $rc -eq 0 ] || die "qemu-system-arm -M $machine exited with status $rc"
	[ "$pass" -gt 0 ] || die "no PASS line from $elf"
	echo "OK: $(basename "$elf") on $machine"
}

# ---- Linux builds under qemu-user ---------------------------------------------------------

# Set LCC, LPKG, RUNNER (the command that runs a program), RPKG, LFLAGS for an ARCH.
linux_arch() {
	LFLAGS=""
	case $1 in
	armhf) LCC=arm-linux-gnueabihf-gcc LPKG=gcc-arm-linux-gnueabihf
		RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf" ;;
	aarch64) LCC=aarch64-linux-gnu-gcc LPKG=gcc-aarch64-linux-gnu
		RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
	riscv64) LCC=riscv64-linux-gnu-gcc LPKG=gcc-riscv64-linux-gnu
		RUNNER="qemu-riscv64 -L /usr/riscv64-linux-gnu" ;;
	i686)
		# Static, and run natively: an x86-64 kernel runs i386 programs.
		LCC=i686-linux-gnu-gcc LPKG=gcc-i686-linux-gnu LFLAGS=-static RUNNER="" ;;
	*) die "unknown arch '$1' (one of: armhf aarch64 riscv64 i686)" ;;
	esac
	RPKG=qemu-user
}

# native_or_qemu OUT: for i686, run natively if this kernel runs i386
# programs (x86-64 with IA32 emulation), else under qemu-i386.
native_or_qemu() {
	[ "$arch" = i686 ] || return 0
	[ -x "$1/layout_peer" ] || return 0
	if ! "$1/layout_peer" dump >/dev/null 2>&1; then
		echo "note: this kernel does not run i386 programs: using qemu-i386"
		RUNNER="qemu-i386 -L /usr/i686-linux-gnu"
		need qemu-i386 "$RPKG"
	fi
}

cmd_linux() {
	arch=$1 out=$2
	shift 2
	linux_arch "$arch"
	need "$LCC" "$LPKG"
	[ -z "$RUNNER" ] || need "${RUNNER%% *}" "$RPKG"
	rm -rf "$out"
	mkdir -p "$out/obj"
	inc="-I$SRC/include -I$SRC/src/core -I$SRC/tests"
	lib=""
	for f in "$SRC"/src/core/*.c; do
		o=$out/obj/core-$(basename "$f" .c).o
		$LCC $CORE_FLAGS -O2 -g $inc -c "$f" -o "$o"
		lib="$lib $o"
	done
	for f in "$SRC"/src/port/host/*.c "$SRC"/tests/testutil*.c; do
		o=$out/obj/$(basename "$f" .c).o
		$LCC -std=gnu11 $WARN -O2 -g $inc -c "$f" -o "$o"
		lib="$lib $o"
	done
	for t in "$@" cross/layout_peer; do
		# shellcheck disable=SC2086
		$LCC -std=gnu11 $WARN -O2 -g $LFLAGS $inc "$SRC/tests/$t.c" $lib -pthread \
			-o "$out/$(basename "$t")"
	done
	echo "built for $arch ($LCC): $* layout_peer"
}

cmd_run() {
	arch=$1 out=$2 prog=$3
	shift 3
	linux_arch "$arch"
	[ -z "$RUNNER" ] || need "${RUNNER%% *}" "$RPKG"
	[ -x "$out/$prog" ] || skip "$out/$prog was not built (see the cross_build_$arch test)"
	native_or_qemu "$out"
	echo "run: $RUNNER $out/$prog $*"
	SHMLINK_TEST_BIN_DIR=$out
	export SHMLINK_TEST_BIN_DIR
	# shellcheck disable=SC2086
	exec $RUNNER "$out/$prog" "$@"
}

# layout ARCH OUT HOSTPEER: the same region through a 32-bit and a 64-bit build.
cmd_layout() {
	arch=$1 out=$2 host=$3
	linux_arch "$arch"
	[ -z "$RUNNER" ] || need "${RUNNER%% *}" "$RPKG"
	peer=$out/layout_peer
	[ -x "$peer" ] || skip "$peer was not built (see the cross_build_$arch test)"
	[ -x "$host" ] || die "no host layout_peer at $host"
	native_or_qemu "$out"
	n=2000
	tmp=$(mktemp -d)
	file=/dev/shm/shmlink-cross-layout-$arch-$$
	pid=""
	trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$tmp"; rm -f "$file"' EXIT

	# shellcheck disable=SC2086
	$RUNNER "$peer" dump >"$tmp/dump32"
	"$host" dump >"$tmp/dump64"
	if ! cmp -s "$tmp/dump32" "$tmp/dump64"; then
		diff "$tmp/dump32" "$tmp/dump64" || true
		die "layout or config hash differs between $arch and the 64-bit host"
	fi
	echo "OK: layouts and config hashes identical on $arch and the 64-bit host:"
	sed 's/^/  /' "$tmp/dump64"

	for a in 32 64; do
		rm -f "$file"
		if [ $a = 32 ]; then
			# shellcheck disable=SC2086
			timeout 120 $RUNNER "$peer" run "$file" 0 $n & pid=$!
			timeout 120 "$host" run "$file" 1 $n || die "64-bit side b failed"
		else
			timeout 120 "$host" run "$file" 0 $n & pid=$!
			# shellcheck disable=SC2086
			timeout 120 $RUNNER "$peer" run "$file" 1 $n || die "32-bit side b failed"
		fi
		wait $pid || { pid=""; die "side a failed"; }
		pid=""
		# shellcheck disable=SC2086
		$RUNNER "$peer" inspect "$file" $n >"$tmp/inspect32" || die "$arch cannot read the region"
		"$host" inspect "$file" $n >"$tmp/inspect64" || die "the host cannot read the region"
		if ! cmp -s "$tmp/inspect32" "$tmp/inspect64"; then
			diff "$tmp/inspect32" "$tmp/inspect64" || true
			die "$arch and the 64-bit host read the region differently"
		fi
		echo "OK: side a $a-bit, side b $([ $a = 32 ] && echo 64 || echo 32)-bit; both read the region the same:"
		sed 's/^/  /' "$tmp/inspect64"
	done
	echo "PASS: $arch (32-bit) and the 64-bit host share one region"
}

# core_text_in_map MAPFILE: bytes of .text the core's objects put in a linked
# image (GNU ld map; mawk has no strtonum, hence hex()).
core_text_in_map() {
	awk '
	function hex(s,    i, v) {
		v = 0
		s = tolower(substr(s, 3))
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	/^Linker script and memory map/ { on = 1; next }
	!on { next }
	/^ \.[^ ]+$/ { sec = $1; next }
	/^ \.[^ ]+ +0x[0-9a-f]+ +0x[0-9a-f]+ / { sec = $1; sz = $3; f = $4 }
	/^ +0x[0-9a-f]+ +0x[0-9a-f]+ / { sz = $2; f = $3 }
	f != "" && sec ~ /^\.text/ && f ~ /\.(config|ring|session|wait)\.o$/ { t += hex(sz) }
	{ f = "" }
	END { print t + 0 }' "$1"
}

# ---- size table --------------------------------------------------------------------------

cmd_size() {
	out=$1 doc=${2:-}
	mkdir -p "$out"
	table=$out/size-table.md
	m4text="" missing=""
	{
		echo "| target | profile | flags | core .text | core .rodata | core .data | core .bss | minimal .text | of which core | minimal .rodata | minimal .data | minimal .bss |"
		echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for t in $TARGETS; do
			target "$t"
			if ! have "$CC"; then
				echo "| $t | | $CC not installed (package $PKG) | | | | | | | | | |"
				missing="$missing $t"
				continue
			fi
			for prof in full tiny; do
				pflags=""
				[ $prof = full ] || pflags=$TINY
				dir=$out/$t-$prof
				# shellcheck disable=SC2086
				build_core "$dir" -Os $pflags || die "the core does not build for $t ($prof)"
				# shellcheck disable=SC2046
				core=$(sum_sections "${TP}size" $(ls "$dir"/*.o))
				# shellcheck disable=SC2086
				link_image "$t" "$dir" minimal minimal.c $pflags
				set -- $(sum_sections "${TP}size" "$dir/minimal.elf")
				min="$1 $(core_text_in_map "$dir/minimal.map") $2 $3 $4"
				[ "$t-$prof" != cortex-m4-tiny ] || m4text=$core
				echo "| $t | $prof | \`$TFLAGS -Os${pflags:+ $pflags}\` | $(echo "$core $min" | sed 's/ / | /g') |"
			done
		done
	} >"$table"
	cat "$table"
	echo
	echo "core = the four objects of src/core, all functions; tiny = $TINY (include/shmlink.h)."
	echo "minimal = examples/baremetal/minimal.c linked with --gc-sections: the core functions"
	echo "it uses (\"of which core\": their .text), the baremetal port, memcpy/memset and the"
	echo "startup (examples/baremetal/);"
	echo "on aarch64, riscv64 and i686 with a link-only stub startup. .bss excludes the region."
	echo "riscv64: the default linker script puts .srodata constants into .sdata (counted as .data)."
	if [ -n "$m4text" ]; then
		set -- $m4text
		echo
		if [ "$1" -le $BUDGET_TEXT ]; then verdict="within"; else verdict="OVER by $(($1 - BUDGET_TEXT)) B"; fi
		echo "budget (cortex-m4 -Os, tiny profile): core .text $1 B <= $BUDGET_TEXT B: $verdict;" \
			"core .data $3 B <= 0 B: $([ "$3" -eq 0 ] && echo within || echo OVER)"
		for prof in tiny full; do
			echo "largest core functions on cortex-m4 -Os, $prof profile (bytes):"
			# shellcheck disable=SC2046
			arm-none-eabi-nm --size-sort -S -t d $(ls "$out"/cortex-m4-$prof/*.o | grep -v '/minimal\.') |
				awk '$3 ~ /^[tT]$/ { printf "  %6d %s\n", $2, $4 }' | sort -rn | head -10
		done
	fi
	if [ -n "$doc" ] && [ -n "$missing" ]; then
		echo "(not updating $doc: no toolchain for$missing)"
	elif [ -n "$doc" ] && [ -f "$doc" ] && grep -q '<!-- size-table:begin -->' "$doc"; then
		awk -v table="$table" '
			/<!-- size-table:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
			/<!-- size-table:end -->/ { skip = 0 }
			!skip' "$doc" >"$out/doc.tmp"
		if cmp -s "$out/doc.tmp" "$doc"; then
			echo "(table in $doc is up to date)"
		else
			cat "$out/doc.tmp" >"$doc"
			echo "(updated the table in $doc)"
		fi
		rm -f "$out/doc.tmp"
	fi
}

# ---- main ------------------------------------------------------------------------------------

[ $# -ge 1 ] || { sed -n '3,27p' "$0"; exit 2; }
cmd=$1
shift
case $cmd in
core) [ $# -eq 2 ] || die "usage: cross.sh core TARGET OUT"; cmd_core "$@" ;;
minimal) [ $# -eq 2 ] || die "usage: cross.sh minimal TARGET OUT"; cmd_minimal "$@" ;;
budget) [ $# -eq 1 ] || die "usage: cross.sh budget OUT"; cmd_budget "$@" ;;
cortexm) [ $# -eq 1 ] || die "usage: cross.sh cortexm OUT"; cmd_cortexm "$@" ;;
qemu-m) [ $# -eq 2 ] || die "usage: cross.sh qemu-m MACHINE ELF"; cmd_qemu_m "$@" ;;
linux) [ $# -ge 2 ] || die "usage: cross.sh linux ARCH OUT TEST..."; cmd_linux "$@" ;;
run) [ $# -ge 3 ] || die "usage: cross.sh run ARCH OUT PROG [ARG...]"; cmd_run "$@" ;;
layout) [ $# -eq 3 ] || die "usage: cross.sh layout ARCH OUT HOSTPEER"; cmd_layout "$@" ;;
size) [ $# -ge 1 ] || die "usage: cross.sh size OUT [DOC]"; cmd_size "$@" ;;
*) die "unknown command '$cmd' (core minimal budget cortexm qemu-m linux run layout size)" ;;
esac
