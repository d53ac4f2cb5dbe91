#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# torture.sh - the long versions of drvproxy's reliability tests (make torture)
#
# Usage: tools/torture.sh [-d SECONDS] [-k debian|kunit|both] [-c CHURN_OPS]
#                         [-f FUZZ_OPS] [-R] [-s SCRIPTS]
#
#   -d SECONDS    drvproxy_torture.ko's duration in each kernel (default 600)
#   -k KERNELS    the Debian 6.12 kernel, the KUnit kernel (KASAN, lockdep,
#                 PROVE_RCU, fault injection, kmemleak) or both (default)
#   -c CHURN_OPS  loads and unloads of the demo's companions (default 5000)
#   -f FUZZ_OPS   fuzzer operations (default 1000000)
#   -R            no FAST calls inside rcu_read_lock() (TORTURE_RCU=0)
#   -s SCRIPTS    only these of the scripts below, e.g. -s test-torture.sh
#
# Builds the modules against the kernel's headers or build tree, the
# selftests' helpers, and runs test-torture.sh, test-churn.sh, test-fuzz.sh
# and, in the KUnit kernel, test-fault.sh (tools/testing/selftests/drvproxy/)
# in one QEMU guest per kernel.  Prints the KTAP results, the torture's and
# the fuzzer's figures, and ends with "N passed, N failed"; exit status 1
# when a test failed or the guest splatted or timed out.  Console logs go to
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
debian) KERNELS="debian" ;;
kunit) KERNELS="kunit" ;;
both) KERNELS="debian kunit" ;;
*) echo "torture.sh: -k debian|kunit|both" >&2; exit 2 ;;
esac

SRC=$REPO/tools/testing/selftests/drvproxy
SCRIPTS="test-torture.sh test-churn.sh test-fuzz.sh"
WORK=$BUILD/torture-long
LOGDIR=$BUILD/logs
mkdir -p "$WORK" "$LOGDIR"
PASSED=0
FAILED=0

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
	PASSED=$((PASSED + $(grep -cE '^ok ' "$log" || true)))
	FAILED=$((FAILED + $(grep -cE '^not ok ' "$log" || true)))
	sed 's/^/  /' "$WORK/$name.stderr"
	if [ "$rc" != 0 ] && ! grep -q '^not ok ' "$log"; then
		FAILED=$((FAILED + 1))
	elif grep -qE 'kernel splat|TIMEOUT|without the DRVPROXY-GUEST-EXIT' "$WORK/$name.stderr"; then
		FAILED=$((FAILED + 1))
	fi
}

for k in $KERNELS; do
	case $k in
	debian)
		run_kernel debian "$(debian_kdir)" "$(debian_kernel)" "${ONLY:-$SCRIPTS}" ;;
	kunit)
		kk=$("$REPO/tools/kunit-kernel.sh" | tail -n 1)
		run_kernel kunit "$kk" "$kk/arch/x86/boot/bzImage" "${ONLY:-$SCRIPTS test-fault.sh}" ;;
	esac
done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
