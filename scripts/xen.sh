#!/bin/sh
# SPDX-License-Identifier: MIT
# shmlink under real Xen (dom0less, arm64) in QEMU: images from Debian packages,
# guest programs, device trees from the shmlink config, and the test scenarios.
# Run by the ctests of cmake/xen.cmake; usable by hand (docs/XEN.md).
#
#   xen.sh fetch OUT              download Xen 4.17 (bookworm-security), Linux 6.12
#                                 (bookworm-backports), Linux 6.1 (bookworm),
#                                 busybox-static and libinih, all arm64, with apt-get
#                                 download under a private APT config; cached in OUT/debs
#   xen.sh images OUT             unpack them into OUT/img (Xen, kernels, xen-evtchn.ko,
#                                 libinih.a)
#   xen.sh guest OUT              the guest programs (aarch64, static: xen_peer and the
#                                 shmlink CLI) and one initramfs per kernel,
#                                 OUT/img/initrd-VERSION.cpio.gz
#   xen.sh baremetal OUT          the baremetal domain of each baremetal scenario
#   xen.sh build OUT              all of the above
#   xen.sh run SCENARIO OUT       boot one scenario, check what the domains print
#   xen.sh list                   the scenarios
#
# Environment: SHMLINK = the shmlink CLI (its `gen xen-dt` and `gen header` make the
# device trees and the guests' configs); SHMLINK_XEN_MIRROR / SHMLINK_XEN_SECURITY_MIRROR
# override the Debian mirrors read from this machine's APT sources; SHMLINK_XEN_REFRESH=1
# resolves the package versions again (otherwise a complete cache means no network);
# SHMLINK_XEN_TIMEOUT scales the scenarios' time limits (a factor, default 1);
# SHMLINK_XEN_ARGS adds to Xen's command line; SHMLINK_XEN_KEEP=1 keeps the compiled
# device trees of a passing run (the serial log, the sources and qemu.cmd always stay
# in OUT/run/SCENARIO).
# Exit status 77 means "skipped": a tool is missing, and the message says which package.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
TESTS=$SRC/tests/xen
. "$SRC/scripts/script-lib.sh"

log() {
	echo "xen.sh: $*"
}

# ---- packages ------------------------------------------------------------------------------

# The mirror serving suite $1 in this machine's APT sources (both source formats:
# apt-cache policy lists them all), e.g. the URI of "bookworm".
mirror_of() {
	apt-cache policy 2>/dev/null |
		awk -v s="$1" '$2 ~ /^[a-z+]+:\/\// && $3 ~ ("^" s "/") { print $2; exit }'
}

apt_setup() {
	A=$1/apt
	mkdir -p "$A/etc/apt.conf.d" "$A/etc/sources.list.d" "$A/etc/preferences.d" \
		"$A/state/lists/partial" "$A/cache/archives/partial"
	: >"$A/state/status"
	deb=${SHMLINK_XEN_MIRROR:-$(mirror_of bookworm)}
	[ -n "$deb" ] || deb=$(mirror_of bookworm-updates)
	[ -n "$deb" ] || die "no Debian bookworm mirror in this machine's APT sources: set SHMLINK_XEN_MIRROR"
	sec=${SHMLINK_XEN_SECURITY_MIRROR:-$(mirror_of bookworm-security)}
	[ -n "$sec" ] || sec=${deb%/}-security
	key=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$key" ] || die "$key not found: install debian-archive-keyring"
	o="[arch=arm64 signed-by=$key]"
	cat >"$A/etc/sources.list" <<-EOF
		deb $o $deb bookworm main
		deb $o $deb bookworm-backports main
		deb $o $sec bookworm-security main
	EOF
	cat >"$A/apt.conf" <<-EOF
		Dir::Etc "$A/etc";
		Dir::Etc::sourcelist "$A/etc/sources.list";
		Dir::Etc::sourceparts "$A/etc/sources.list.d";
		Dir::Etc::preferencesparts "$A/etc/preferences.d";
		Dir::Etc::parts "$A/etc/apt.conf.d";
		Dir::State "$A/state";
		Dir::State::status "$A/state/status";
		Dir::Cache "$A/cache";
		APT::Architecture "arm64";
		APT::Architectures { "arm64"; };
		Acquire::Languages "none";
		APT::Sandbox::User "root";
	EOF
	APT_CONFIG=$A/apt.conf
	export APT_CONFIG
}

# The package a metapackage of suite $2 depends on: the versioned kernel image.
kernel_of() {
	apt-cache show "linux-image-arm64/$1" 2>/dev/null |
		awk -F': ' '/^Depends:/ { split($2, d, /[ ,]/); print d[1]; exit }'
}

# The packages fetched by name besides Xen and the kernels: busybox for the initramfs,
# libinih (archive and headers in -dev) for the guests' static shmlink CLI.
PLAIN_DEBS="busybox-static libinih-dev libinih1"

cmd_fetch() {
	out=$1
	debs=$out/debs
	mkdir -p "$debs"
	if [ -f "$debs/MANIFEST" ] && [ "${SHMLINK_XEN_REFRESH:-0}" != 1 ]; then
		ok=1
		while read -r name file; do
			[ -f "$debs/$file" ] || ok=0
		done <"$debs/MANIFEST"
		# A cache from before a package was added to the list is incomplete too.
		for p in $PLAIN_DEBS; do
			grep -q "^$p " "$debs/MANIFEST" || ok=0
		done
		if [ $ok = 1 ]; then
			log "packages cached in $debs (SHMLINK_XEN_REFRESH=1 to resolve them again)"
			return 0
		fi
	fi
	need apt-get apt
	apt_setup "$out"
	log "apt-get update (arm64: bookworm, bookworm-backports, bookworm-security)"
	apt-get -q update >"$out/apt-update.log" 2>&1 || { cat "$out/apt-update.log"; die "apt-get update failed"; }
	k612=$(kernel_of bookworm-backports)
	k61=$(kernel_of bookworm)
	case $k612 in linux-image-6.12.*) ;; *) die "bookworm-backports has no Linux 6.12 image (found '$k612')" ;; esac
	case $k61 in linux-image-6.1.*) ;; *) die "bookworm has no Linux 6.1 image (found '$k61')" ;; esac
	# shellcheck disable=SC2086
	set -- xen-hypervisor-4.17-arm64/bookworm-security "$k612" "$k61" $PLAIN_DEBS
	rm -f "$debs"/*.deb
	log "apt-get download $*"
	(cd "$debs" && apt-get -q download "$@") >"$out/apt-download.log" 2>&1 ||
		{ cat "$out/apt-download.log"; die "apt-get download failed"; }
	: >"$debs/MANIFEST.new"
	for p in xen-hypervisor-4.17-arm64 "$k612" "$k61" $PLAIN_DEBS; do
		f=$(cd "$debs" && ls "${p}_"*_arm64.deb 2>/dev/null | head -1)
		[ -n "$f" ] || die "apt-get download did not give $p"
		echo "$p $f" >>"$debs/MANIFEST.new"
	done
	mv "$debs/MANIFEST.new" "$debs/MANIFEST"
	sed 's/^/  /' "$debs/MANIFEST"
}

# deb_extract DEB DIR [PATTERN...]: unpack (only the members matching the tar patterns).
deb_extract() {
	d=$1 x=$2
	shift 2
	mkdir -p "$x"
	if have dpkg-deb; then
		dpkg-deb --fsys-tarfile "$d"
	else
		m=$(ar t "$d" | grep '^data\.tar')
		case $m in
		*.xz) ar p "$d" "$m" | xz -dc ;;
		*.zst) ar p "$d" "$m" | zstd -dc ;;
		*.gz) ar p "$d" "$m" | gzip -dc ;;
		*) ar p "$d" "$m" ;;
		esac
	fi | tar -x -f - -C "$x" --wildcards "$@"
}

cmd_images() {
	out=$1
	cmd_fetch "$out"
	img=$out/img
	if [ -f "$img/STAMP" ] && cmp -s "$img/STAMP" "$out/debs/MANIFEST"; then
		log "images up to date in $img"
		return 0
	fi
	need xz xz-utils
	rm -rf "$img" "$out/unpack"
	mkdir -p "$img"
	while read -r name file; do
		case $name in
		linux-image-*) deb_extract "$out/debs/$file" "$out/unpack/$name" './boot/vmlinuz-*' '*/xen-evtchn.ko*' ;;
		*) deb_extract "$out/debs/$file" "$out/unpack/$name" ;;
		esac
		case $name in
		xen-hypervisor-*)
			cp "$out/unpack/$name/boot/xen-4.17-arm64" "$img/xen"
			cp "$out/unpack/$name/boot/xen-4.17-arm64.config" "$img/xen.config" ;;
		busybox-static)
			cp "$out/unpack/$name/bin/busybox" "$img/busybox" ;;
		libinih-dev)
			u=$out/unpack/$name/usr
			mkdir -p "$img/inih"
			cp "$u/include/ini.h" "$u/lib/aarch64-linux-gnu/libinih.a" "$img/inih/" ;;
		linux-image-*)
			v=$(echo "$name" | sed -E 's/^linux-image-([0-9]+\.[0-9]+)\..*/\1/')
			cp "$out/unpack/$name"/boot/vmlinuz-* "$img/vmlinuz-$v"
			ko=$(find "$out/unpack/$name" -name 'xen-evtchn.ko*' | head -1)
			[ -n "$ko" ] || die "$name has no xen-evtchn module"
			case $ko in
			*.xz) xz -dc "$ko" >"$img/xen-evtchn-$v.ko" ;;
			*.zst) need zstd zstd; zstd -dc "$ko" >"$img/xen-evtchn-$v.ko" ;;
			*) cp "$ko" "$img/xen-evtchn-$v.ko" ;;
			esac
			echo "${name#linux-image-}" >"$img/release-$v" ;;
		esac
	done <"$out/debs/MANIFEST"
	rm -rf "$out/unpack"
	for f in xen busybox vmlinuz-6.12 vmlinuz-6.1 xen-evtchn-6.12.ko xen-evtchn-6.1.ko inih/libinih.a inih/ini.h; do
		[ -s "$img/$f" ] || die "no $f after unpacking"
	done
	cp "$out/debs/MANIFEST" "$img/STAMP"
	ls -l "$img"
}

# ---- guest programs and initramfs ----------------------------------------------------------

WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
CORE_FLAGS="-std=c11 -ffreestanding -fno-builtin -fno-stack-protector $WARN"
XCC=aarch64-linux-gnu-gcc

need_cli() {
	[ -n "${SHMLINK:-}" ] || SHMLINK=$SRC/build/shmlink
	[ -x "$SHMLINK" ] || skip "no shmlink CLI at $SHMLINK (build it, or set SHMLINK): its 'gen xen-dt' and 'gen header' make the device trees and configs"
	"$SHMLINK" gen xen-dt --help >/dev/null 2>&1 || skip "$SHMLINK has no working 'gen xen-dt'"
}

# The [xen] shm_id of an INI file (the CLI's default: shmlink).
ini_shm_id() {
	awk '/^\[/ { x = ($0 ~ /^\[xen\]/) } x && $1 == "shm_id" { print $3; f = 1 } END { if (!f) print "shmlink" }' "$1"
}

# gen_configs DIR: DIR/cfg_*.h from every tests/xen/*.ini, and DIR/xen_configs.c.
gen_configs() {
	gdir=$1
	mkdir -p "$gdir"
	rm -f "$gdir"/cfg_*.h
	{
		echo "/* Generated by scripts/xen.sh from the INI files of tests/xen: do not edit. */"
		for ini in "$TESTS"/*.ini; do
			n=$(basename "$ini" .ini)
			pre=cfg_$(echo "$n" | tr -- '-' '_')
			"$SHMLINK" gen header "$ini" --prefix "$pre" -o "$gdir/$pre.h" || die "gen header $ini"
			echo "#include \"$pre.h\""
		done
		echo '#include "xen_configs.h"'
		echo "const struct xen_test_cfg xen_test_cfgs[] = {"
		for ini in "$TESTS"/*.ini; do
			n=$(basename "$ini" .ini)
			pre=cfg_$(echo "$n" | tr -- '-' '_')
			up=$(echo "$pre" | tr 'a-z' 'A-Z')
			echo "	{\"$n\", &$pre, ${up}_CHANNEL_DATA_EVTCHN_A, ${up}_CHANNEL_DATA_EVTCHN_B, \"$(ini_shm_id "$ini")\"},"
		done
		echo "};"
		echo "const unsigned xen_test_n_cfgs = sizeof(xen_test_cfgs) / sizeof(xen_test_cfgs[0]);"
	} >"$gdir/xen_configs.c"
}

# xcc TAG FLAGS FILE...: compile each FILE for aarch64 into $g/obj/TAG-NAME.o, with
# FLAGS (one word list) after the warnings; the objects are appended to $OBJS.
xcc() {
	tag=$1 flags=$2
	shift 2
	for f in "$@"; do
		o=$g/obj/$tag-$(basename "$f" .c).o
		# shellcheck disable=SC2086
		$XCC $WARN -O2 $flags -c "$f" -o "$o" || die "cannot compile $f for aarch64"
		OBJS="$OBJS $o"
	done
}

# The shmlink CLI as cmake/cli.cmake links it (tools, the core, the host, ivshmem and
# Xen ports, the bench loops, the demo, libinih), static: the domUs run `--port xen`.
build_cli() {
	ver=$(sed -n 's/^project(shmlink VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
	inc="-I$SRC/include -I$SRC/bench/lib -I$SRC/examples/demo -I$out/img/inih"
	OBJS=$CORE_OBJS
	xcc port "-std=gnu11 -I$SRC/include -I$SRC/src/port/host" "$SRC"/src/port/host/*.c
	ivs="" # the ivshmem port without its baremetal x86 helpers (cmake/ivshmem.cmake)
	for f in "$SRC"/src/port/ivshmem/*.c; do
		case $f in */baremetal_*) ;; *) ivs="$ivs $f" ;; esac
	done
	# shellcheck disable=SC2086
	xcc port "-std=gnu11 -D_GNU_SOURCE -I$SRC/include -I$SRC/src/port/ivshmem" $ivs
	xcc port "-std=gnu11 -I$SRC/include" "$SRC"/src/port/xen/*.c
	xcc cli "-std=gnu11 $inc" "$SRC"/bench/lib/*.c "$SRC"/examples/demo/demo.c
	xcc cli "-std=gnu11 -DSHMLINK_VERSION=\"$ver\" $inc" "$SRC"/tools/*.c
	# shellcheck disable=SC2086
	$XCC -static $OBJS "$out/img/inih/libinih.a" -lpthread -lm -o "$g/shmlink" ||
		die "cannot link the aarch64 shmlink CLI"
}

# gen_cli_configs DIR: DIR/NAME.ini for every tests/xen/NAME.ini, with [host] port = xen,
# so that a domU's `shmlink CMD /etc/shmlink/NAME.ini ...` attaches through the Xen port.
gen_cli_configs() {
	mkdir -p "$1"
	for ini in "$TESTS"/*.ini; do
		! grep -q '^\[host\]' "$ini" || die "$ini has a [host] section: the guests' configs add theirs"
		{
			cat "$ini"
			printf '\n; Added by scripts/xen.sh: the domUs reach the region through the Xen port.\n'
			printf '[host]\nport = xen\n'
		} >"$1/$(basename "$ini")"
		"$SHMLINK" layout "$1/$(basename "$ini")" >/dev/null || die "the CLI refuses $1/$(basename "$ini")"
	done
}

cmd_guest() {
	out=$1
	need $XCC gcc-aarch64-linux-gnu
	need cpio cpio
	need gzip gzip
	need_cli
	[ -f /usr/aarch64-linux-gnu/lib/libc.a ] || skip "no static arm64 C library: install libc6-dev-arm64-cross"
	cmd_images "$out" >/dev/null
	g=$out/guest
	rm -rf "$g"
	mkdir -p "$g/obj"
	gen_configs "$g/gen"
	gen_cli_configs "$g/etc"
	OBJS=""
	xcc core "$CORE_FLAGS -I$SRC/include -I$SRC/src/core" "$SRC"/src/core/*.c
	CORE_OBJS=$OBJS
	xcc peer "-std=gnu11 -I$SRC/include -I$TESTS -I$g/gen" \
		"$SRC"/src/port/xen/*.c "$TESTS/xen_peer.c" "$g/gen/xen_configs.c"
	# shellcheck disable=SC2086
	$XCC -static $OBJS -o "$g/xen_peer"
	build_cli
	for v in 6.12 6.1; do
		r=$g/root-$v
		mkdir -p "$r/bin" "$r/lib" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/etc/shmlink"
		cp "$out/img/busybox" "$g/xen_peer" "$g/shmlink" "$r/bin/"
		cp "$g"/etc/*.ini "$r/etc/shmlink/"
		cp "$TESTS/init.sh" "$r/init"
		chmod 755 "$r/init" "$r/bin/xen_peer" "$r/bin/shmlink"
		cp "$out/img/xen-evtchn-$v.ko" "$r/lib/xen-evtchn.ko"
		(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$out/img/initrd-$v.cpio.gz"
	done
	ls -l "$g/xen_peer" "$g/shmlink" "$out"/img/initrd-*.cpio.gz
}

# ---- the baremetal domain ------------------------------------------------------------------

# AArch64 with the MMU off or on Device memory: no unaligned accesses, no FP/SIMD, and
# atomics inline (no libgcc/outline helpers).
BM_FLAGS="-ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie -mstrict-align
 -mgeneral-regs-only -mno-outline-atomics -fno-asynchronous-unwind-tables -fno-unwind-tables
 -ffunction-sections -fdata-sections"

# build_bm INI DOMAIN OUT.bin [CFLAGS]: examples/xen/baremetal for DOMAIN of INI (its first
# channel).
build_bm() {
	ini=$1 domname=$2 bin=$3 extra=${4:-}
	bdir=${bin%.bin}
	rm -rf "$bdir"
	mkdir -p "$bdir"
	"$SHMLINK" gen header "$ini" -o "$bdir/shmlink_cfg.h" || die "gen header $ini"
	chan=$(sed -n 's/^\[channel \([^]]*\)\].*/\1/p' "$ini" | head -1)
	DOM=$(echo "$domname" | tr 'a-z-' 'A-Z_')
	CH=$(echo "$chan" | tr 'a-z-' 'A-Z_')
	defs="-DSELF=SHML_CFG_DOMAIN_$DOM -DCHANNEL=SHML_CFG_CHANNEL_$CH"
	defs="$defs -DEVTCHN_A=SHML_CFG_CHANNEL_${CH}_EVTCHN_A -DEVTCHN_B=SHML_CFG_CHANNEL_${CH}_EVTCHN_B $extra"
	ex=$SRC/examples/xen/baremetal
	inc="-I$SRC/include -I$SRC/src/core -I$SRC/src/port/xen-baremetal -I$ex -I$bdir"
	objs=""
	for f in "$SRC"/src/core/*.c; do
		o=$bdir/core-$(basename "$f" .c).o
		# shellcheck disable=SC2086
		$XCC $CORE_FLAGS $BM_FLAGS -O2 $inc -c "$f" -o "$o"
		objs="$objs $o"
	done
	for f in "$SRC/src/port/xen/xen_copy.c" "$SRC/src/port/xen-baremetal/xen_bm.c" \
		"$ex/main.c" "$ex/console.c" "$ex/start.S" "$SRC/examples/baremetal/memfuncs.c"; do
		o=$bdir/$(basename "$f" | tr . _).o
		# shellcheck disable=SC2086
		$XCC -std=gnu11 $WARN $BM_FLAGS -fno-tree-loop-distribute-patterns -O2 $inc $defs \
			-c "$f" -o "$o"
		objs="$objs $o"
	done
	# shellcheck disable=SC2086
	$XCC -nostdlib -static -no-pie -Wl,--gc-sections -Wl,--no-warn-rwx-segments -Wl,--build-id=none \
		-T "$ex/link.ld" -Wl,-Map="$bdir/map" $objs -lgcc -o "$bdir/image.elf"
	aarch64-linux-gnu-objcopy -O binary "$bdir/image.elf" "$bin"
	# Xen's loader wants the Image magic at offset 56.
	[ "$(dd if="$bin" bs=1 skip=56 count=4 2>/dev/null)" = "$(printf 'ARM\144')" ] ||
		die "$bin: no arm64 Image magic at offset 56"
	echo "$bin: $(size_of "$bin") bytes, image_size 0x$(aarch64-linux-gnu-nm "$bdir/image.elf" | awk '$3 == "_image_size" { sub(/^0+/, "", $1); print $1 }')"
}

cmd_baremetal() {
	out=$1
	need $XCC gcc-aarch64-linux-gnu
	need_cli
	mkdir -p "$out/baremetal"
	for s in $SCENARIOS; do
		scenario "$s"
		set -- $(ini_domains "$TESTS/$CFG.ini")
		case $KERN_2 in
		bm) build_bm "$TESTS/$CFG.ini" "$2" "$out/baremetal/$CFG-$2.bin" ;;
		bm-poll) build_bm "$TESTS/$CFG.ini" "$2" "$out/baremetal/$CFG-$2-poll.bin" -DBM_FLAGS=0 ;;
		esac
	done
}

# ---- scenarios -------------------------------------------------------------------------------

SCENARIOS="ll-msg ll-stream ll-fallback lbm lbm-poll ll-cli"

# ll-cli: 4 MiB of xen_peer's stream 1129 through `shmlink send`/`recv`; bench 0.2 s per
# measurement (a dozen measurements: a few seconds under TCG).
CLI_BYTES=4194304 CLI_SEED=1129 CLI_BENCH_SECS=0.2

# scenario NAME: CFG (tests/xen/CFG.ini), per domU i in 1 2: KERN_i (a kernel version or
# "bm"), STEPS_i (init.sh steps), and XEN_ARGS, TIMEOUT (s), WHAT.
scenario() {
	# The null scheduler pins each domU's vCPU to a physical CPU and vwfi=native lets a
	# guest's WFI halt it without a trap: what a static-partitioning system runs (and
	# under TCG on a busy host, the difference between ~0.3 ms and ~40 ms round trips).
	XEN_ARGS="sched=null vwfi=native" KERN_1=6.12 KERN_2=6.12
	case $1 in
	ll-msg)
		WHAT="Linux 6.12 <-> Linux 6.12, static event channels, message mode; receiver restart"
		CFG=ll-msg TIMEOUT=300
		STEPS_1="run/4194304,ping/200/50000,ping/200/0,restart-tx/20000"
		STEPS_2="run/4194304,ping/200/50000,ping/200/0,restart-rx/20000/2000" ;;
	ll-stream)
		WHAT="Linux 6.12 <-> Linux 6.12, static event channels, stream mode"
		CFG=ll-stream TIMEOUT=240
		STEPS_1="run/4194304,ping/200/50000,ping/200/0"
		STEPS_2="run/4194304,ping/200/50000,ping/200/0" ;;
	ll-fallback)
		WHAT="Linux 6.1 <-> Linux 6.1, unbound/interdomain fallback binding (xsm=dummy); receiver restart"
		CFG=ll-fallback TIMEOUT=300 KERN_1=6.1 KERN_2=6.1 XEN_ARGS="$XEN_ARGS xsm=dummy"
		STEPS_1="run/4194304,ping/200/50000,ping/200/0,restart-tx/20000"
		STEPS_2="run/4194304,ping/200/50000,ping/200/0,restart-rx/20000/2000" ;;
	lbm)
		WHAT="Linux 6.12 <-> baremetal domain (echo), static event channel, message mode; domain restart" 
		CFG=lbm TIMEOUT=240 KERN_2=bm
		STEPS_1="run/1048576/echo,ping/200/50000,ping/200/0,restart-tx/2000/700"
		STEPS_2="" ;;
	lbm-poll)
		WHAT="Linux 6.12 <-> baremetal domain polling the pending bit (no interrupt); domain restart"
		CFG=lbm TIMEOUT=240 KERN_2=bm-poll
		STEPS_1="run/1048576/echo,ping/200/50000,ping/200/0,restart-tx/2000/700"
		STEPS_2="" ;;
	ll-cli)
		WHAT="Linux 6.12 <-> Linux 6.12, the shmlink CLI through the Xen port: send -> recv (sha256), bench A <-> B"
		CFG=ll-cli TIMEOUT=240
		STEPS_1="cli-send/data/$CLI_BYTES/$CLI_SEED,cli-bench/bench/A/$CLI_BENCH_SECS"
		STEPS_2="cli-recv/data,cli-bench/bench/B/$CLI_BENCH_SECS" ;;
	*) die "unknown scenario '$1' (one of: $SCENARIOS)" ;;
	esac
}

# The INI's domain names in order (domU1, domU2).
ini_domains() {
	sed -n 's/^\[domain \([^]]*\)\].*/\1/p' "$1"
}

hex() {
	printf '0x%x' "$1"
}

size_of() {
	wc -c <"$1" | tr -d ' '
}

# domu_node I DOMAIN KERNEL INITRD|"" PARTIAL_DTB BOOTARGS: one dom0less domU node, its
# modules at 0x50000000 + (I - 1) * 0x8000000 (kernel), +0x4000000 (initrd), +0x7000000 (dtb).
domu_node() {
	i=$1 name=$2 kern=$3 rd=$4 pdtb=$5 args=$6
	base=$((0x50000000 + (i - 1) * 0x8000000))
	[ "$(size_of "$kern")" -lt $((0x4000000)) ] || die "$kern is larger than 64 MiB"
	cat <<-EOF
		domU$i {
			compatible = "xen,domain";
			#address-cells = <2>;
			#size-cells = <2>;
			memory = <0x0 0x40000>; /* KiB: 256 MiB */
			cpus = <1>;
			vpl011;
			module@$(printf %x $base) {
				compatible = "multiboot,kernel", "multiboot,module";
				reg = <0x0 $(hex $base) 0x0 $(hex "$(size_of "$kern")")>;
				bootargs = "$args";
			};
	EOF
	if [ -n "$rd" ]; then
		[ "$(size_of "$rd")" -lt $((0x3000000)) ] || die "$rd is larger than 48 MiB"
		cat <<-EOF
			module@$(printf %x $((base + 0x4000000))) {
				compatible = "multiboot,ramdisk", "multiboot,module";
				reg = <0x0 $(hex $((base + 0x4000000))) 0x0 $(hex "$(size_of "$rd")")>;
			};
		EOF
	fi
	cat <<-EOF
			module@$(printf %x $((base + 0x7000000))) {
				compatible = "multiboot,device-tree", "multiboot,module";
				reg = <0x0 $(hex $((base + 0x7000000))) 0x0 $(hex "$(size_of "$pdtb")")>;
			};
		};
	EOF
	LOADERS="$LOADERS -device loader,file=$kern,addr=$(hex $base),force-raw=on"
	[ -z "$rd" ] || LOADERS="$LOADERS -device loader,file=$rd,addr=$(hex $((base + 0x4000000))),force-raw=on"
	LOADERS="$LOADERS -device loader,file=$pdtb,addr=$(hex $((base + 0x7000000))),force-raw=on"
}

QEMU_MACHINE="-machine virt,virtualization=on,gic-version=3 -cpu cortex-a57 -m 2G -smp 2"

# Count lines of the log matching $1.
count() {
	grep -c -- "$1" "$LOG" 2>/dev/null || true
}

# result DOMAIN TEST KEY: the value of KEY in the last SHMLINK-RESULT line of DOMAIN's TEST.
result() {
	grep -a "SHMLINK-RESULT dom=$1 test=$2 " "$LOG" | tail -1 | tr ' ' '\n' | sed -n "s/^$3=//p" | tr -d '\r'
}

cmd_run() {
	scen=$1 out=$2
	scenario "$scen"
	need qemu-system-aarch64 qemu-system-arm
	need dtc device-tree-compiler
	need_cli
	img=$out/img
	[ -f "$img/STAMP" ] || die "no images in $img: run 'xen.sh build $out' first"
	ini=$TESTS/$CFG.ini
	dir=$out/run/$scen
	rm -rf "$dir"
	mkdir -p "$dir"
	LOG=$dir/serial.log
	if [ ! -f "$out/virt.dts" ]; then
		# shellcheck disable=SC2086
		qemu-system-aarch64 $QEMU_MACHINE -machine dumpdtb="$out/virt.dtb" -display none >/dev/null 2>&1 ||
			die "qemu-system-aarch64 cannot dump the virt machine's device tree"
		dtc -q -I dtb -O dts -o "$out/virt.dts" "$out/virt.dtb"
	fi
	set -- $(ini_domains "$ini")
	[ $# -eq 2 ] || die "$ini: expected two domains"
	D1=$1 D2=$2
	LOADERS=""
	{
		cat "$out/virt.dts"
		echo "/ {"
		echo "	pl061@9030000 { status = \"disabled\"; }; /* Xen would give it to nobody */"
		echo "	chosen {"
		echo "		#address-cells = <2>;"
		echo "		#size-cells = <2>;"
		echo "		xen,xen-bootargs = \"console=dtuart dtuart=/pl011@9000000 bootscrub=0 $XEN_ARGS ${SHMLINK_XEN_ARGS:-}\";"
		for i in 1 2; do
			eval "k=\$KERN_$i d=\$D$i st=\$STEPS_$i"
			"$SHMLINK" gen xen-dt "$ini" --guest "$d" -o "$dir/$d.dts" || die "gen xen-dt --guest $d"
			dtc -q -I dts -O dtb -o "$dir/$d.dtb" "$dir/$d.dts"
			if [ "$k" = bm ] || [ "$k" = bm-poll ]; then
				bmimg=$out/baremetal/$CFG-$d${k#bm}.bin
				[ -f "$bmimg" ] || die "no baremetal image $bmimg: run 'xen.sh build $out'"
				domu_node $i "$d" "$bmimg" "" "$dir/$d.dtb" ""
			else
				domu_node $i "$d" "$img/vmlinuz-$k" "$img/initrd-$k.cpio.gz" "$dir/$d.dtb" \
					"console=ttyAMA0 quiet shmlink.cfg=$CFG shmlink.dom=$d shmlink.steps=$st"
			fi
		done
		echo "	};"
		echo "};"
		echo
		"$SHMLINK" gen xen-dt "$ini" --fragment || die "gen xen-dt --fragment"
	} >"$dir/host.dts"
	dtc -q -I dts -O dtb -o "$dir/host.dtb" "$dir/host.dts" || die "dtc $dir/host.dts"

	ndone=2 # every domain ends with SHMLINK-DONE (the baremetal one too)
	limit=$(awk -v t="$TIMEOUT" -v f="${SHMLINK_XEN_TIMEOUT:-1}" 'BEGIN { printf "%d", t * f }')
	log "$scen: $WHAT"
	log "$scen: booting Xen with $D1 ($KERN_1) and $D2 ($KERN_2); log in $LOG; limit ${limit}s"
	echo "qemu-system-aarch64 $QEMU_MACHINE -kernel $img/xen -dtb $dir/host.dtb -display none -serial file:$LOG -monitor none -no-reboot$LOADERS" >"$dir/qemu.cmd"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	qemu-system-aarch64 $QEMU_MACHINE -kernel "$img/xen" -dtb "$dir/host.dtb" -display none \
		-serial file:"$LOG" -monitor none -no-reboot $LOADERS >"$dir/qemu.out" 2>&1 &
	qpid=$!
	trap 'kill $qpid 2>/dev/null || true' EXIT INT TERM
	verdict=timeout
	booted=""
	while :; do
		sleep 1
		el=$(($(date +%s) - t0))
		[ -n "$booted" ] || [ "$(count 'SHMLINK-BOOT')" -lt 2 ] || booted=$el
		if [ "$(count 'SHMLINK-FAIL')" -gt 0 ] || [ "$(count 'SHMLINK-DONE .*rc=[^0]')" -gt 0 ]; then
			verdict=fail
			break
		fi
		if [ "$(count 'SHMLINK-DONE')" -ge "$ndone" ]; then
			verdict="done"
			break
		fi
		if grep -q -e 'Panic on CPU' -e 'Xen BUG' "$LOG" 2>/dev/null; then
			verdict=panic
			break
		fi
		if ! kill -0 $qpid 2>/dev/null; then
			verdict=exited
			break
		fi
		[ "$el" -lt "$limit" ] || break
	done
	kill $qpid 2>/dev/null || true
	wait $qpid 2>/dev/null || true
	trap - EXIT INT TERM
	el=$(($(date +%s) - t0))
	# The CSV lines (ll-cli's bench) are many: check_cli reads them, the table is shown.
	grep -a 'SHMLINK-' "$LOG" | grep -v 'SHMLINK-CSV' | sed 's/^/  /'
	case $verdict in
	done) ;;
	fail) die "$scen: a domain failed after ${el}s (log: $LOG)" ;;
	panic) tail -40 "$LOG"; die "$scen: Xen panicked after ${el}s" ;;
	exited) cat "$dir/qemu.out"; tail -40 "$LOG"; die "$scen: QEMU exited after ${el}s" ;;
	timeout) tail -40 "$LOG"; die "$scen: not done after ${el}s (limit ${limit}s; log: $LOG)" ;;
	esac
	check_results "$scen"
	log "$scen: PASS in ${el}s (both domains up after ${booted:-?}s)"
	[ "${SHMLINK_XEN_KEEP:-0}" = 1 ] || rm -f "$dir"/*.dtb
}

# eq WHAT A B: die unless A = B (and not empty).
eq() {
	[ -n "$2" ] && [ "$2" = "$3" ] || die "$1: '$2' != '$3' (log: $LOG)"
}

# figures DOMAIN: one line of throughput and counters, one per round-trip test.
figures() {
	a=$1
	echo "FIGURES $scen mode=$(result $a xfer mode) each_way=$(result $a xfer tx_bytes)" \
		"secs=$(result $a xfer-rate secs) ${a}_tx_MBps=$(result $a xfer-rate tx_MBps)" \
		"${a}_rx_MBps=$(result $a xfer-rate rx_MBps) both_MBps=$(result $a xfer-rate both_MBps)" \
		"ctr_${a}_notify=$(result $a run-ctr notify) ctr_${a}_wake=$(result $a run-ctr wake)"
	for t in rtt-spin rtt-sleep; do
		[ -n "$(result $a $t n)" ] || continue
		echo "FIGURES $scen $t us: n=$(result $a $t n) min=$(result $a $t min) median=$(result $a $t med)" \
			"avg=$(result $a $t avg) p90=$(result $a $t p90) max=$(result $a $t max)"
	done
}

# dom_lines TAG DOMAIN: DOMAIN's "SHMLINK-TAG dom=DOMAIN " lines without that prefix.
dom_lines() {
	grep -a "SHMLINK-$1 dom=$2 " "$LOG" | tr -d '\r' | sed "s/^.*SHMLINK-$1 dom=$2 //"
}

# ll-cli: what `shmlink send` in $a read and `shmlink recv` in $b wrote (size and sha256,
# each computed in its domain), then side A's bench: its table's header, and in its CSV
# a positive rate, bandwidth and round trip per mode and size (no speed asserted).
check_cli() {
	n=$(result $a cli-send bytes)
	eq "bytes $a sent (shmlink send), as asked" "$n" "$CLI_BYTES"
	eq "bytes $a -> $b (shmlink recv)" "$n" "$(result $b cli-recv bytes)"
	sum=$(result $a cli-send-sum sha256)
	echo "$sum" | grep -qx '[0-9a-f]\{64\}' || die "no sha256 from $a's send ('$sum')"
	eq "sha256 $a -> $b" "$sum" "$(result $b cli-recv-sum sha256)"
	secs=$(awk -v s="$(result $a cli-send start)" -v e="$(result $a cli-send end)" 'BEGIN { printf "%.2f", e - s }')
	echo "OK: shmlink send ($a) -> shmlink recv ($b) over the Xen port: $n bytes, sha256 $sum on both sides"
	echo "FIGURES $scen send: $n bytes in ${secs}s (send's wall time, its wait for recv included)"
	dom_lines BENCH "$a" | grep -q '^shmlink bench: channel bench (message mode' ||
		die "$a's bench printed no header (log: $LOG)"
	rows=$(dom_lines CSV "$a" | awk -F, '$1 == "shmlink-xen" && ($2 == "message" || $2 == "zerocopy") &&
		($4 == 64 || $4 == 4096) && ($5 == "msg_rate" || $5 == "bandwidth" || $5 == "rtt_median") &&
		$6 > 0 { n++ } END { print n + 0 }')
	[ "$rows" = 12 ] || die "$a's bench CSV has $rows of 12 positive rates, bandwidths and round trips (log: $LOG)"
	echo "OK: bench $a (A) <-> $b (B) over the Xen port: message and zerocopy at 64 B and 4 KiB, all positive"
	dom_lines BENCH "$a" | grep -E '^(mode|message|zerocopy) ' | sed "s/^/FIGURES $scen bench: /"
}

# The checks across domains: each direction's byte count and FNV-1a 64 as the sender
# computed them and as the receiver computed them, and the restart accounting.
check_results() {
	a=$D1 b=$D2
	if grep -q "SHMLINK-RESULT dom=$b test=echo1 " "$LOG"; then
		# An echo service: its first session is our transfer, both ways the same bytes.
		eq "bytes $a -> $b" "$(result $a xfer tx_bytes)" "$(result $b echo1 bytes)"
		eq "checksum $a -> $b" "$(result $a xfer tx_fnv)" "$(result $b echo1 rx_fnv)"
		eq "bytes $b -> $a" "$(result $b echo1 bytes)" "$(result $a xfer-rx rx_bytes)"
		eq "checksum $b -> $a" "$(result $b echo1 tx_fnv)" "$(result $a xfer-rx rx_fnv)"
		echo "OK: $(result $a xfer tx_bytes) bytes each way through $b's echo," \
			"FNV-1a 64 $(result $a xfer tx_fnv) sent, received by $b, sent back, received"
		figures "$a"
	elif grep -q "SHMLINK-RESULT dom=$a test=xfer " "$LOG"; then
		eq "bytes $a -> $b" "$(result $a xfer tx_bytes)" "$(result $b xfer-rx rx_bytes)"
		eq "checksum $a -> $b" "$(result $a xfer tx_fnv)" "$(result $b xfer-rx rx_fnv)"
		eq "bytes $b -> $a" "$(result $b xfer tx_bytes)" "$(result $a xfer-rx rx_bytes)"
		eq "checksum $b -> $a" "$(result $b xfer tx_fnv)" "$(result $a xfer-rx rx_fnv)"
		echo "OK: $(result $a xfer tx_bytes) bytes each way, FNV-1a 64 $a->$b $(result $a xfer tx_fnv), $b->$a $(result $b xfer tx_fnv)"
		figures "$a"
	fi
	if grep -q "SHMLINK-RESULT dom=$a test=restart-tx " "$LOG"; then
		at=$(grep -a "SHMLINK-RESULT dom=$b test=restart-rx " "$LOG" | tail -1 | tr ' ' '\n' | sed -n 's/^start=//p' | tr -d '\r')
		of=$(result $b restart-kill of)
		killed=$(result $b restart-kill at)
		[ -n "$killed" ] && [ "$killed" -gt 0 ] && [ "$killed" -lt "$of" ] ||
			die "the receiver was not killed mid-stream (at $killed of $of)"
		eq "resume point ($a's reset account vs. $b's progress)" "$(result $a restart-tx resume)" "$at"
		eq "exact account" "$(result $a restart-tx exact)" 1
		echo "OK: $b restarted after $killed of $of messages; $a's reset account: sent $(result $a restart-tx sent)," \
			"discarded $(result $a restart-tx discarded), resumed at $(result $a restart-tx resume) = where $b went on ($at)"
	fi
	! grep -q "SHMLINK-RESULT dom=$a test=cli-send " "$LOG" || check_cli
	grep -q "SHMLINK-PASS dom=$a" "$LOG" || die "no SHMLINK-PASS from $a"
	grep -q "SHMLINK-PASS dom=$b" "$LOG" || die "no SHMLINK-PASS from $b"
}

# ---- main ---------------------------------------------------------------------------------

[ $# -ge 1 ] || { sed -n '3,29p' "$0"; exit 2; }
cmd=$1
shift
case $cmd in
fetch) [ $# -eq 1 ] || die "usage: xen.sh fetch OUT"; cmd_fetch "$@" ;;
images) [ $# -eq 1 ] || die "usage: xen.sh images OUT"; cmd_images "$@" ;;
guest) [ $# -eq 1 ] || die "usage: xen.sh guest OUT"; cmd_guest "$@" ;;
run) [ $# -eq 2 ] || die "usage: xen.sh run SCENARIO OUT"; cmd_run "$@" ;;
baremetal) [ $# -eq 1 ] || die "usage: xen.sh baremetal OUT"; cmd_baremetal "$@" ;;
build) [ $# -eq 1 ] || die "usage: xen.sh build OUT"; cmd_images "$1"; cmd_guest "$1"; cmd_baremetal "$1" ;;
list) for s in $SCENARIOS; do scenario "$s"; echo "$s: $WHAT"; done ;;
*) die "unknown command '$cmd'" ;;
esac
