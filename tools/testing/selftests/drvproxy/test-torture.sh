#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-torture.sh - drvproxy_torture.ko (tools/torture/): K caller threads per
# CPU call the endpoints of a torture driver while swapper threads apply and
# revert stacked layers, live and stalled, with atomic replaces, failing
# callbacks and 1 ms drain timeouts.  The module checks every call and ends
# with "drvproxy_torture: End of test: SUCCESS" or "... FAILURE"; see the top
# of tools/torture/torture_main.c for what it checks.
#
# Environment:
#   TORTURE_DURATION   seconds of the main run (default 15)
#   TORTURE_PARAMS     extra module parameters of the main run
#   TORTURE_RCU=0      no FAST calls inside rcu_read_lock() (default: some)
#   TORTURE_POST=0     skip the run with failing POST callbacks (test 3)
. "$(dirname "$0")/functions.sh"

DURATION=${TORTURE_DURATION:-15}
TORTURE=drvproxy_torture
RCU=rcu_callers=1
[ "${TORTURE_RCU:-1}" = 0 ] && RCU=rcu_callers=0

# The kernel lines of the torture run started last (since its canary), as
# far as the log still holds them: drvproxy logs every swap.
torture_log() {
	kernel_transcript | sed -n 's/^drvproxy_torture: //p'
}

# run_torture SECONDS PARAMS: load the module, wait for its result
# (/sys/module/drvproxy_torture/result), unload it.  Sets RESULT (SUCCESS,
# FAILURE, or NONE when the run did not end) and STATS (its last statistics
# line), and prints the statistics and any failure still in the log.
run_torture() {
	start_test "torture $2"
	RESULT=NONE
	STATS=
	out=$("$TOOL" insmod "$MODDIR/$TORTURE.ko" "duration=$1 $2") || {
		echo "# insmod $TORTURE: $out"
		return 1
	}
	# The end comes after the duration plus the final drain.
	i=0
	while [ $i -lt $(($1 + 120)) ]; do
		[ "$(cat /sys/module/$TORTURE/result)" = running ] || break
		sleep 1
		i=$((i + 1))
	done
	STATS=$(cat /sys/module/$TORTURE/stats)
	echo "# $STATS"
	torture_log | grep -E '^(FAILURE|[0-9]+ of the failures)' | head -n 30 | sed 's/^/# /'
	RESULT=$(cat /sys/module/$TORTURE/result)
	[ "$RESULT" != running ] || RESULT=NONE
	out=$("$TOOL" rmmod $TORTURE) || echo "# rmmod $TORTURE: $out"
	loop_until "! is_loaded $TORTURE"
}

# A statistics field of the last run: tstat NAME, e.g. tstat applies.
tstat() {
	echo " $STATS" | sed -n "s/.*[ (]$1 \([0-9]*\).*/\1/p"
}

cleanup() {
	is_loaded $TORTURE && "$TOOL" rmmod $TORTURE > /dev/null
	cleanup_modules
}

setup
trap cleanup EXIT
[ -f "$MODDIR/$TORTURE.ko" ] || { echo "1..0 # SKIP $TORTURE.ko not built"; exit $ksft_skip; }
ktap_header 5

run_torture "$DURATION" "ncallers_per_cpu=4 stat_interval=10 $RCU ${TORTURE_PARAMS:-}"
ktap_result "torture: $(nproc) CPUs x 4 callers against live and stalled swaps: End of test: $RESULT" \
	[ "$RESULT" = SUCCESS ]

# Every kind of operation happened: at least 100 swaps, and each field > 0.
all_ran() {
	[ "$(tstat Swaps:)" -ge 100 ] || return 1
	for f in replaces stalled dropped callback-errors redispatched worker ioctl nested blocked \
		 killed Quiesces:; do
		[ "$(tstat $f)" -gt 0 ] || { echo "# no $f"; return 1; }
	done
}
echo "# $(tstat Calls:) calls, $(tstat Swaps:) swaps/reverts in $DURATION s"
ktap_result "torture: every kind of swap and caller ran (replaces, stalled, drops, callback errors, nested, blocked, killed)" \
	all_ran

# Only failing POST callbacks: the window in which drvproxy published the
# layer's table and rolled it back.
desc="torture: an apply whose POST callback fails leaves no call in the layer's code"
RESULT=SKIPPED
[ "${TORTURE_POST:-1}" = 0 ] ||
	run_torture 6 "ncallers_per_cpu=2 callback_every=1 cb_fail_every=2 cb_fail_phases=4 stalled_every=0 quiesce_interval=2 rcu_callers=0"
if [ "$RESULT" = SKIPPED ]; then
	ktap_skip "$desc" "TORTURE_POST=0"
else
	ktap_result "$desc (End of test: $RESULT)" [ "$RESULT" = SUCCESS ]
fi

ktap_result "torture: unloads, and drvproxy with it: nothing left pinned" \
	"$TOOL" rmmod drvproxy

# The same torture against drvproxy built broken on purpose (stalled
# transitions that do not drain, DRVPROXY_BROKEN=SKIP_STALL_DRAIN): its
# STALLED oracle must catch it, or it proves nothing.  Stalled swaps with
# callbacks only, so that each one is checked.
desc="torture: against a framework whose stalled swaps do not drain, it ends in FAILURE"
BROKEN=$MODDIR/drvproxy-broken-skip-stall-drain.ko
if [ ! -f "$BROKEN" ]; then
	ktap_ok "$desc # SKIP $(basename "$BROKEN") not built"
else
	"$TOOL" insmod "$BROKEN" > /dev/null || die "cannot load $BROKEN"
	run_torture 6 "ncallers_per_cpu=2 stalled_every=1 callback_every=1 cb_fail_every=0 replace_every=0 rcu_callers=0"
	ktap_result "$desc (End of test: $RESULT)" [ "$RESULT" = FAILURE ]
	"$TOOL" rmmod drvproxy > /dev/null
fi
ktap_finish
