#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build what the ivshmem VM tests boot, from Debian packages, into OUTDIR:
#
#   OUTDIR/kernel/vmlinux       Debian's amd64 kernel, uncompressed: QEMU boots
#                               it as a PVH kernel (-kernel), seconds faster than
#                               the bzImage under TCG
#   OUTDIR/kernel/modules/*.ko  the VFIO modules (vfio-pci and its dependencies:
#                               modules, not built in, in Debian's 6.1 config)
#   OUTDIR/kernel/VERSION       the package it came from
#   OUTDIR/initramfs.cpio       busybox (busybox-static), /init (tests/vm/init),
#                               the guest program, the shmlink CLI (static) if
#                               given, the modules
#
# usage: ivshmem-vm-image.sh OUTDIR GUEST_PROGRAM [SHMLINK_CLI]
#
# The kernel package is fetched once with `apt-get download` (no kernel is
# installed on the host) and kept; delete OUTDIR/kernel to fetch it again.
# `apt-get update` runs first if apt does not know the package (root only).
# The initramfs is packed again every time (a second). Exit 77: something
# needed is missing (the message says which package), the tests skip.
set -euo pipefail

OUT=${1:?usage: ivshmem-vm-image.sh OUTDIR GUEST_PROGRAM}
GUEST=${2:?usage: ivshmem-vm-image.sh OUTDIR GUEST_PROGRAM}
CLI=${3:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MODULES="irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci"

. "$SRC/scripts/script-lib.sh"

need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need xz xz-utils
need apt-get apt
need dpkg-deb dpkg
need flock util-linux
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || skip "busybox not found: install busybox-static"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	skip "$BUSYBOX is dynamically linked: install busybox-static for the initramfs"
fi
[ -x "$GUEST" ] || die "no guest program $GUEST (build first)"
[ -z "$CLI" ] || [ -x "$CLI" ] || die "no shmlink CLI $CLI (build first)"
if [ -n "$CLI" ] && ldd "$CLI" >/dev/null 2>&1; then
	die "$CLI is dynamically linked: the initramfs has no libc"
fi

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9 # another test run building the same directory

# ---- the kernel -----------------------------------------------------------------------

kernel_ready() {
	[ -s "$OUT/kernel/vmlinux" ] && [ -s "$OUT/kernel/VERSION" ] || return 1
	local m
	for m in $MODULES; do
		[ -s "$OUT/kernel/modules/$m.ko" ] || [ -e "$OUT/kernel/modules/$m.builtin" ] || return 1
	done
}

apt_update() {
	if [ "$(id -u)" -ne 0 ]; then
		die "apt does not know $1 and only root can run apt-get update: run it, then again"
	fi
	echo "vm-image: apt-get update"
	apt-get update -qq || die "apt-get update failed"
}

# The versioned package behind the linux-image-amd64 metapackage.
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {
	local pkg dl deb img off
	pkg=$(kernel_package)
	if [ -z "$pkg" ]; then
		apt_update linux-image-amd64
		pkg=$(kernel_package)
		[ -n "$pkg" ] || die "apt knows no linux-image-amd64 (is this Debian amd64?)"
	fi
	dl="$OUT/kernel.tmp"
	rm -rf "$dl"
	mkdir -p "$dl"
	echo "vm-image: apt-get download $pkg"
	if ! (cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>&1); then
		apt_update "$pkg" # the lists may name a version the mirror no longer has
		pkg=$(kernel_package)
		(cd "$dl" && apt-get download -q "$pkg") || die "apt-get download $pkg failed"
	fi
	deb=$(ls "$dl"/*.deb)
	# Only the kernel image and the VFIO modules out of the package.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$dl" --wildcards './boot/vmlinuz-*' './lib/modules/*/modules.builtin' \
			'./lib/modules/*/kernel/drivers/vfio/*' './lib/modules/*/kernel/virt/lib/*'
	img=$(ls "$dl"/boot/vmlinuz-*)
	# The bzImage carries vmlinux as an xz stream: find its magic, decompress.
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$img" | head -1 | cut -d: -f1)
	[ -n "$off" ] || die "no xz stream in $img (a kernel compressed otherwise?)"
	tail -c +$((off + 1)) "$img" | xz -dc --single-stream >"$dl/vmlinux" 2>/dev/null ||
		[ -s "$dl/vmlinux" ] || die "cannot decompress the kernel in $img"
	[ "$(head -c 4 "$dl/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
		die "what $img holds is not an ELF vmlinux"
	mkdir -p "$dl/modules"
	local m f
	for m in $MODULES; do
		f=$(find "$dl/lib/modules" -name "$m.ko" | head -1)
		if [ -n "$f" ]; then
			cp "$f" "$dl/modules/"
		elif grep -q "/$m.ko\$" "$dl"/lib/modules/*/modules.builtin; then
			: >"$dl/modules/$m.builtin" # built in: nothing to load
		else
			die "$pkg has no $m module, built in or not"
		fi
	done
	echo "$pkg $(basename "$deb")" >"$dl/VERSION"
	rm -rf "$OUT/kernel"
	mkdir -p "$OUT/kernel"
	mv "$dl/vmlinux" "$dl/VERSION" "$dl/modules" "$OUT/kernel/"
	rm -rf "$dl"
	echo "vm-image: kernel from $pkg ready in $OUT/kernel"
}

kernel_ready || fetch_kernel
kernel_ready || die "the kernel in $OUT/kernel is incomplete"

# ---- the initramfs -------------------------------------------------------------------

stage="$OUT/initramfs.tmp"
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,lib/modules}
cp "$BUSYBOX" "$stage/bin/busybox"
cp "$GUEST" "$stage/bin/shml-vmpeer"
cp "$SRC/tests/vm/init" "$stage/init"
if [ -n "$CLI" ]; then
	cp "$CLI" "$stage/bin/shmlink"
	chmod 755 "$stage/bin/shmlink"
fi
chmod 755 "$stage/init" "$stage/bin/busybox" "$stage/bin/shml-vmpeer"
for f in "$OUT"/kernel/modules/*.ko; do
	[ -e "$f" ] && cp "$f" "$stage/lib/modules/"
done
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$OUT/initramfs.cpio.tmp"
mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"
rm -rf "$stage"
echo "vm-image: $(cat "$OUT/kernel/VERSION"); initramfs $(stat -c %s "$OUT/initramfs.cpio") bytes"
