#!/bin/sh
# SPDX-License-Identifier: MIT
# The model-checking runs of model/shmlink.pml, in one list (docs/RELIABILITY.md,
# "Model checking"). ctest runs the "bounded" and "mutant" sets one test per
# entry; `make model` runs all three sets.
#
# usage: model/check.sh list SET...          names of the entries in SETs
#        model/check.sh one NAME [WORKROOT]  run one entry (work dir WORKROOT/NAME)
#        model/check.sh run SET... [--work WORKROOT]
#                                            run the entries of SETs, then print
#                                            "model: N passed, N failed"
# Sets: bounded (exhaustive, small bounds, < 1 min each), mutant (each
# deliberately broken variant must fail), full (larger bounds, minutes).
set -eu
here=$(cd "$(dirname "$0")" && pwd)

# notification configuration: sleeping, notification, store buffer exact
N="-DNMSG=2 -DNSLOTS=2 -DMAXK=0"
# restart configuration: each side restarts or closes once, perfect wake-up
R="-DPOLLING -DNMSG=2 -DNSLOTS=2 -DMAXK=1"
V="-e assertion|invalid"

# set name [verify.sh options] -- spin flags
entries() {
	cat <<EOF
bounded notify -- $N
bounded restart -- $R
mutant mutant_sleeper_no_fence -x $V -- $N -DMUTANT_SLEEPER_NO_FENCE
mutant mutant_publisher_no_fence -x $V -- $N -DMUTANT_PUBLISHER_NO_FENCE
mutant mutant_no_dedupe_reset -x $V -- $N -DMUTANT_NO_SEQ
mutant mutant_late_doorbell -x $V -- $N -DMUTANT_LATE_DOORBELL
mutant mutant_no_finals -x $V -- $R -DMUTANT_NO_FINALS
mutant mutant_attach_no_finals -x $V -- $R -DMUTANT_ATTACH_NO_FINALS
mutant mutant_no_retire -x $V -- $R -DMUTANT_NO_RETIRE
mutant mutant_zero_first -x $V -- $R -DMUTANT_ZERO_FIRST
mutant mutant_no_reack -x $V -- $R -DMUTANT_NO_REACK
mutant mutant_no_settle -x $V -- $R -DMUTANT_NO_SETTLE
mutant mutant_torn_snapshot -x -e recvd|disc|gc< -- $R -DMUTANT_TORN_SNAPSHOT
mutant mutant_v2_finals -x -e agen|recvd|disc -- $R -DMUTANT_V2_FINALS
full notify_3msg -- -DNMSG=3 -DNSLOTS=2 -DMAXK=0
full notify_1slot -- -DNMSG=2 -DNSLOTS=1 -DMAXK=0
full notify_allbuf -- -DNMSG=2 -DNSLOTS=2 -DMAXK=0 -DALLBUF -DBUFSZ=2
full notify_livelock -p -- $N
full restart_3msg -- -DPOLLING -DNMSG=3 -DNSLOTS=2 -DMAXK=1
full restart_twice_sweep -b 33 -m 3072 -- -DPOLLING -DNMSG=2 -DNSLOTS=2 -DMAXK=2
full restart_livelock -p -- $R
full notify_restart_sweep -b 32 -m 2048 -- -DNMSG=1 -DNSLOTS=2 -DMAXK=1
EOF
}

list() {
	for set in "$@"; do
		entries | while read -r s n _; do
			if [ "$s" = "$set" ]; then echo "$n"; fi
		done
	done
	return 0
}

one() {
	name=$1
	root=${2:-}
	line=$(entries | while read -r s n rest; do
		if [ "$n" = "$name" ]; then echo "$rest"; fi
	done)
	[ -n "$line" ] || { echo "model/check.sh: no entry '$name'" >&2; exit 2; }
	opts=${line%%--*}
	flags=${line#*--}
	set -f
	# shellcheck disable=SC2086 # the options and flags are word lists
	if [ -n "$root" ]; then
		rm -rf "$root/$name"
		exec sh "$here/verify.sh" -w "$root/$name" $opts "$name" $flags
	fi
	exec sh "$here/verify.sh" $opts "$name" $flags
}

run() {
	root=''
	sets=''
	while [ $# -gt 0 ]; do
		case $1 in
		--work) root=$2; shift 2 ;;
		*) sets="$sets $1"; shift ;;
		esac
	done
	pass=0 fail=0 skip=0
	# shellcheck disable=SC2086
	for n in $(list $sets); do
		rc=0
		(one "$n" "$root") || rc=$?
		case $rc in
		0) pass=$((pass + 1)) ;;
		77) skip=$((skip + 1)) ;;
		*) fail=$((fail + 1)) ;;
		esac
	done
	echo "model: $pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
list) list "$@" ;;
one) one "$@" ;;
run) run "$@" ;;
*) sed -n '7,14p' "$0" >&2; exit 2 ;;
esac
