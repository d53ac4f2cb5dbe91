#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kunit-guest.sh - run drvproxy's KUnit suites inside the KUnit QEMU guest.
#
# Usage (in the guest, via tools/check.sh stage kunit):
#   sh ./kunit-guest.sh [MODDIR]        (MODDIR defaults to /lib/drvproxy)
#
# Loads MODDIR/drvproxy.ko if present, then MODDIR/drvproxy_taint_kunit.ko
# (before any other suite applies a layer), then every other
# MODDIR/*_kunit.ko and MODDIR/kunit-example-test.ko.  KUnit runs a
# module's suites inside insmod.
# Then prints every /sys/kernel/debug/kunit/<suite>/results (a self-contained
# KTAP document) between marker lines for the host to parse:
#   DRVPROXY-KUNIT-BEGIN <suite>
#   ...KTAP...
#   DRVPROXY-KUNIT-END <suite>
# and unloads the modules again in reverse order (unload paths run under
# KASAN/lockdep too).  A failed insmod/rmmod prints
#   DRVPROXY-KUNIT-LOADFAIL <module> / DRVPROXY-KUNIT-UNLOADFAIL <module>
# and makes the script exit 1.  Test verdicts are NOT reflected in the exit
# status (insmod succeeds even when tests fail): the host parses the KTAP.
set -u

MODDIR=${1:-/lib/drvproxy}
KUNIT_DEBUGFS=/sys/kernel/debug/kunit
rc=0
loaded=""

load() {
	name=$(basename "$1" .ko)
	echo "kunit-guest: insmod $1"
	if insmod "$1"; then
		loaded="$name $loaded"
	else
		echo "DRVPROXY-KUNIT-LOADFAIL $name"
		rc=1
	fi
}

if [ ! -d "$KUNIT_DEBUGFS" ]; then
	echo "kunit-guest: $KUNIT_DEBUGFS missing (CONFIG_KUNIT_DEBUGFS / debugfs not mounted?)"
	exit 1
fi

[ -f "$MODDIR/drvproxy.ko" ] && load "$MODDIR/drvproxy.ko"
# The fault-injection suite (drvproxy_fault) fails drvproxy's own allocation
# sites one by one with the task's fail-nth counter.  failslab would count
# (and fail) the GFP_NOWAIT attempts inside xarray and friends too, which
# retry and succeed, so restrict it to caches that opt in (none do); and keep
# each injected failure from dumping a stack trace (slow under TCG).
DBGFS=/sys/kernel/debug
[ -w "$DBGFS/failslab/cache-filter" ] && echo Y > "$DBGFS/failslab/cache-filter"
[ -w "$DBGFS/fail_drvproxy/verbose" ] && echo 0 > "$DBGFS/fail_drvproxy/verbose"
# The taint suite first: it checks the kernel going from untainted to K
# (TAINT_LIVEPATCH) at the first apply, which any other suite's apply would
# have done already.
[ -f "$MODDIR/drvproxy_taint_kunit.ko" ] && load "$MODDIR/drvproxy_taint_kunit.ko"
for ko in "$MODDIR"/*_kunit.ko "$MODDIR"/kunit-example-test.ko; do
	[ "$ko" = "$MODDIR/drvproxy_taint_kunit.ko" ] && continue
	[ -f "$ko" ] && load "$ko"
done

for dir in "$KUNIT_DEBUGFS"/*/; do
	[ -r "$dir/results" ] || continue
	suite=$(basename "$dir")
	echo "DRVPROXY-KUNIT-BEGIN $suite"
	cat "$dir/results"
	echo "DRVPROXY-KUNIT-END $suite"
done

# $loaded is already in reverse load order.
for name in $loaded; do
	if ! rmmod "$name"; then
		echo "DRVPROXY-KUNIT-UNLOADFAIL $name"
		rc=1
	fi
done
exit $rc
