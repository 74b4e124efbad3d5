#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages needed to build and test shmlink.
# Quiet and quick when everything is there already (make runs it every time).
set -eu

# One list per feature in scripts/deps.d/*.list: a package a line, # comments.
here=$(dirname "$0")
PACKAGES=$(cat "$here"/deps.d/*.list | sed -e 's/#.*//' | tr -s ' \t\n' ' ')

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; make sure these are installed: $PACKAGES" >&2
	exit 0
fi

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "Run: sudo apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
# Finish any interrupted dpkg run first, or apt-get refuses to work.
dpkg --configure -a
apt-get update
# shellcheck disable=SC2086 # word splitting of $missing is wanted
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
