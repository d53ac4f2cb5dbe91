#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# torture.sh - the long versions of drvproxy's reliability tests (make torture)
#
# Usage: tools/torture.sh [-d SECONDS] [-k KERNELS] [-c CHURN_OPS]
#                         [-f FUZZ_OPS] [-R] [-s SCRIPTS]
#
#   -d SECONDS    drvproxy_torture.ko's duration in each kernel (default 600)
#   -k KERNELS    which kernels, one guest each, comma-separated:
#                   debian       Debian's 6.12 kernel
#                   kunit        the KUnit kernel (KASAN, lockdep, PROVE_RCU,
#                                fault injection, kmemleak; PREEMPT_DYNAMIC)
#                   kunit-none   the same with PREEMPT_NONE, no PREEMPT_COUNT
#                   kunit-rt     the same with PREEMPT_RT
#                                (tools/kunit-kernel.sh VARIANT)
#                   both         debian,kunit (default)
#                   all          debian,kunit,kunit-none,kunit-rt
#   -c CHURN_OPS  loads and unloads of the demo's companions (default 5000)
#   -f FUZZ_OPS   fuzzer operations (default 1000000)
#   -R            no FAST calls inside rcu_read_lock() (TORTURE_RCU=0)
#   -s SCRIPTS    only these of the scripts below, e.g. -s test-torture.sh
#
# Builds the modules against the kernel's headers or build tree, the
# selftests' helpers, and runs test-torture.sh, test-churn.sh, test-fuzz.sh
# and, in the KUnit kernel, test-fault.sh (tools/testing/selftests/drvproxy/)
# in one QEMU guest per kernel.  Prints the KTAP results, the torture's and
# the fuzzer's figures, the skipped tests with their reasons, and ends with
# "N passed, N failed, N skipped" (counted as tools/check.sh counts them: a
# skip is not a pass, a plan its results do not match is a failure); exit
# status 1 when a test failed, nothing ran, or the guest splatted or timed
# out.  Console logs go to
# $BUILD/logs/torture-long-<kernel>.console.log (BUILD: see tools/lib.sh).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/lib.sh"

DURATION=600
KERNELS=both
CHURN_OPS=5000
FUZZ_OPS=1000000
RCU=1
ONLY=
while getopts "d:k:c:f:Rs:h" opt; do
	case $opt in
	d) DURATION=$OPTARG ;;
	k) KERNELS=$OPTARG ;;
	c) CHURN_OPS=$OPTARG ;;
	f) FUZZ_OPS=$OPTARG ;;
	R) RCU=0 ;;
	s) ONLY=$OPTARG ;;
	*) sed -n '4,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
case $DURATION$CHURN_OPS$FUZZ_OPS in *[!0-9]*) echo "torture.sh: -d, -c and -f take numbers" >&2; exit 2 ;; esac
case $KERNELS in
both) KERNELS="debian kunit" ;;
all) KERNELS="debian kunit kunit-none kunit-rt" ;;
*) KERNELS=${KERNELS//,/ } ;;
esac
for k in $KERNELS; do
	case $k in
	debian|kunit|kunit-none|kunit-rt) ;;
	*) echo "torture.sh: -k takes debian, kunit, kunit-none, kunit-rt, both or all, not '$k'" >&2; exit 2 ;;
	esac
done

SRC=$REPO/tools/testing/selftests/drvproxy
SCRIPTS="test-torture.sh test-churn.sh test-fuzz.sh"
WORK=$BUILD/torture-long
LOGDIR=$BUILD/logs
mkdir -p "$WORK" "$LOGDIR"
PASSED=0
FAILED=0
SKIPPED=0
SKIP_LIST=()

# count_script KERNEL FILE: the results of one script's output FILE (and
# its exit status, FILE.rc) into the counters.
count_script() {
	local name=$1/$(basename "$2" .out) kind desc rc results reason before=$FAILED
	results=0
	while IFS=$'\t' read -r kind desc; do
		results=$((results + 1))
		case $kind in
		ok) PASSED=$((PASSED + 1)) ;;
		skip) SKIPPED=$((SKIPPED + 1)); SKIP_LIST+=("$name: $desc") ;;
		*) FAILED=$((FAILED + 1)) ;;
		esac
	done < <(ktap_leaves "$2")
	while IFS= read -r desc; do
		echo "  not ok $name: $desc"
		FAILED=$((FAILED + 1))
	done < <(ktap_plan_errors "$2" 1)
	rc=$(sed -n 's/^rc=//p' "$2.rc" 2>/dev/null)
	reason=$(sed -n 's/^1\.\.0[ \t]*#[ \t]*[Ss][Kk][Ii][Pp][ \t]*//p' "$2" | head -n 1)
	case ${rc:-missing}:$results in
	0:*|4:[1-9]*) ;;
	4:0) SKIPPED=$((SKIPPED + 1)); SKIP_LIST+=("$name # SKIP ${reason:-exit 4, no reason given}") ;;
	124:*) echo "  not ok $name: timed out"; FAILED=$((FAILED + 1)) ;;
	missing:*) echo "  not ok $name: did not finish"; FAILED=$((FAILED + 1)) ;;
	# A failing exit status its KTAP already explains counts once.
	*) [ "$FAILED" -gt "$before" ] || { echo "  not ok $name: exited $rc"; FAILED=$((FAILED + 1)); } ;;
	esac
}

# run_kernel NAME KDIR IMAGE SCRIPTS: build, boot, run, count.
run_kernel() {
	local name=$1 kdir=$2 image=$3 scripts=$4 tree=$WORK/$1 data=$WORK/$1-data
	local log=$LOGDIR/torture-long-$1.console.log mods=$WORK/$1-mods f rc=0 env
	echo "==> $name: building against $kdir"
	sync_sources "$REPO" "$tree"
	if ! make -C "$kdir" M="$tree" modules > "$LOGDIR/torture-long-$name.make.log" 2>&1; then
		echo "torture.sh: module build failed; see $LOGDIR/torture-long-$name.make.log" >&2
		FAILED=$((FAILED + 1))
		return
	fi
	rm -rf "$mods" "$data"
	mkdir -p "$mods" "$data/selftests"
	for f in drvproxy drvproxy_demo drvproxy_demo_v2 drvproxy_demo_v3 drvproxy_torture; do
		find "$tree" -name "$f.ko" -exec cp {} "$mods/" \;
	done
	rsync -a --exclude=bin/ --exclude='test-*.sh' "$SRC/" "$data/selftests/"
	for f in $scripts; do
		cp "$SRC/$f" "$data/selftests/"
	done
	make -s -C "$data/selftests" DRVPROXY_TOP="$REPO" > /dev/null
	cp "$REPO/tools/guest/selftests-guest.sh" "$data/"
	# The settings file's per-script timeout would cut the long runs short.
	echo "timeout=0" > "$data/selftests/settings"

	env="TORTURE_DURATION=$DURATION TORTURE_RCU=$RCU CHURN_OPS=$CHURN_OPS"
	env="$env CHURN_SECONDS=$((CHURN_OPS / 5 + 60)) FUZZ_OPS=$FUZZ_OPS"
	env="$env FUZZ_SECONDS=$((FUZZ_OPS / 500 + 60)) FUZZ_PARAMS_OPS=500 FAULT_MAX_SITES=1000"
	echo "==> $name: $scripts ($env)"
	"$REPO/tools/guest/run.sh" -q -k "$image" -m "$mods" -d "$data" -l "$log" \
		-t $((DURATION + CHURN_OPS / 5 + FUZZ_OPS / 500 + 1800)) \
		-c "$env sh ./selftests-guest.sh" 2> "$WORK/$name.stderr" || rc=$?
	grep -E '^(ok|not ok) |^# (Calls:|churn: ops|dpxfuzz: [0-9]|stream:|FAILURE)|^DRVPROXY-SELFTEST-BEGIN' "$log" |
		sed 's/^DRVPROXY-SELFTEST-BEGIN /  -- /'
	f0=$FAILED
	split_selftests "$log" "$WORK/$name-results"
	for f in "$WORK/$name-results/"*.out; do
		[ -f "$f" ] && count_script "$name" "$f"
	done
	sed 's/^/  /' "$WORK/$name.stderr"
	if [ "$rc" != 0 ] && [ "$FAILED" = "$f0" ]; then
		FAILED=$((FAILED + 1))
	elif grep -qE 'kernel splat|TIMEOUT|without the DRVPROXY-GUEST-EXIT' "$WORK/$name.stderr"; then
		FAILED=$((FAILED + 1))
	fi
}

for k in $KERNELS; do
	case $k in
	debian)
		run_kernel debian "$(debian_kdir)" "$(debian_kernel)" "${ONLY:-$SCRIPTS}" ;;
	kunit*)
		variant=${k#kunit}
		kk=$("$REPO/tools/kunit-kernel.sh" ${variant:+"${variant#-}"} | tail -n 1)
		run_kernel "$k" "$kk" "$kk/arch/x86/boot/bzImage" "${ONLY:-$SCRIPTS test-fault.sh}" ;;
	esac
done
if [ "$SKIPPED" -gt 0 ]; then
	echo "Skipped, with the reasons:"
	printf '  %s\n' "${SKIP_LIST[@]}"
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ] && [ $((PASSED + FAILED)) -gt 0 ]
