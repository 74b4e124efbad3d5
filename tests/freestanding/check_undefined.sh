#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: check_undefined.sh NM OBJECT...
# Fails unless the objects, taken together, need nothing from outside but
# memcpy and memset: the freestanding core may ask no more of its platform.
set -eu
nm=$1
shift
[ $# -gt 0 ] || { echo "check_undefined.sh: no object files given" >&2; exit 2; }

# -P: POSIX format, "name type [value size]", one symbol a line.
defined=$("$nm" -P --defined-only "$@" | awk 'NF >= 2 { print $1 }' | sort -u)
undefined=$("$nm" -P -u "$@" | awk 'NF >= 2 && $2 == "U" { print $1 }' | sort -u)
# Symbols one core file takes from another are not needs of the core.
external=$(printf '%s\n' "$undefined" | grep -vxF -e "$defined" -e '' || true)
bad=$(printf '%s\n' "$external" | grep -vx -e memcpy -e memset -e '' || true)

if [ -n "$bad" ]; then
	echo "FAIL: the core needs symbols other than memcpy/memset:"
	printf '%s\n' "$bad"
	echo "Where (nm -A -u):"
	for s in $bad; do
		"$nm" -A -P -u "$@" | awk -v s="$s" '$2 == s { print "  " $1 " " s }'
	done
	exit 1
fi
echo "OK: $# core objects need only:" $external
