# SPDX-License-Identifier: MIT
# Helpers sourced by the build and test scripts (scripts/cross.sh, scripts/xen.sh,
# scripts/ivshmem-vm-image.sh). POSIX sh. Exit status 77 means "skipped" to ctest
# (SKIP_RETURN_CODE): a tool is missing, and the message says which package brings it.
SKIP=77

die() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIPPED: $*"
	exit $SKIP
}

# have TOOL: is TOOL on PATH?
have() {
	command -v "$1" >/dev/null 2>&1
}

# need TOOL PACKAGE: skip (loudly) unless TOOL is installed.
need() {
	have "$1" || skip "$1 not found: install the Debian package $2 (make deps does)"
}
