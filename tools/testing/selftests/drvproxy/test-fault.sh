#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-fault.sh - fault injection at the user-facing side: every allocation
# and fallible step of drvproxy (each one asks drvproxy_fail_alloc(), i.e.
# should_fail() on the "fail_drvproxy" attribute) fails once, in turn, while
# the demo host, then companion v2 (live), then v3 (stalled, on top of v2)
# is loaded: "bin/dpxmod insmod -f N" sets the thread's fail-nth counter to
# N, loads the module, and says whether the Nth site was reached.
#
# Each load with an injected failure must fail with ENOMEM and leave
# everything as it was: the drivers, generations, stack, layers and every
# endpoint's current implementation in sysfs, the loaded modules, the
# device, which still serves a write/read round trip.  N grows until no
# failure is injected any more; then the load succeeds.  Unloading a
# companion cannot fail, so rmmod with an injected failure must still
# revert it completely (drvproxy retries).  At the end kmemleak must find
# nothing (the KUnit kernel has CONFIG_DEBUG_KMEMLEAK, scanned on demand).
# The global generation is the one thing a failed load may move (a host
# whose extension was created counts that publish), and only forwards.
#
# Needs CONFIG_FAULT_INJECTION_DEBUG_FS (the KUnit kernel, stage torture);
# skipped elsewhere.
. "$(dirname "$0")/functions.sh"

MOD=$(dirname "$0")/bin/dpxmod
DBG=/sys/kernel/debug
KMEMLEAK=$DBG/kmemleak
MAX_SITES=${FAULT_MAX_SITES:-300}

setup
[ -x "$MOD" ] || { echo "1..0 # SKIP $MOD not built"; exit $ksft_skip; }
if [ ! -e /proc/self/fail-nth ] || [ ! -d $DBG/fail_drvproxy ]; then
	echo "1..0 # SKIP no fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS)"
	exit $ksft_skip
fi
ktap_header 7

# failslab would count (and fail) the GFP_NOWAIT attempts inside xarray and
# friends, which retry: only drvproxy's own sites may count.  And no stack
# dump per injected failure (slow under TCG).
echo Y > $DBG/failslab/cache-filter
echo 0 > $DBG/fail_drvproxy/verbose
# Forget what was allocated before: report, then clear, the old suspects.
if [ -w $KMEMLEAK ]; then
	echo scan > $KMEMLEAK
	echo clear > $KMEMLEAK
fi

# Everything a failed load must leave as it was, but the global generation
# (few processes: this runs after every injected failure).  Calls in
# flight are compared for the endpoints only this script calls: the demo's
# worker runs demo_worker on its own, whenever its timer ticks.
state() {
	ls -d /sys/module/drvproxy* /dev/drvproxy* $SYSFS/drivers/* $DRV/layers/* 2> /dev/null
	[ -d $DRV ] && grep -s . $DRV/generation $DRV/stack $DRV/transition $DRV/devices \
		$DRV/endpoints/*/current $(ls -d $DRV/endpoints/*/in_flight 2> /dev/null | grep -v /demo_worker/) \
		/sys/module/drvproxy_demo/refcnt
}

# works VERSION: a write/read round trip, GET_INFO answered by VERSION.
works() {
	"$TOOL" reset > /dev/null && printf 'fault' > $DEV &&
		[ "$("$TOOL" readn 5)" = fault ] && [ "$("$TOOL" info impl_version)" = "$1" ]
}

# same BEFORE SITE WHAT: state() equals BEFORE, else say what changed.
same() {
	after=$(state)
	[ "$after" = "$1" ] && return 0
	echo "# site $2: $3 changed the state:"
	echo "$1" > /tmp/before.$$
	echo "$after" > /tmp/after.$$
	diff -u /tmp/before.$$ /tmp/after.$$ | tail -n +3 | sed 's/^/#   /'
	rm -f /tmp/before.$$ /tmp/after.$$
	return 1
}

# inject_load MODULE VERSION: load MODULE with fail-nth 1, 2, ... until no
# failure is injected; VERSION is what GET_INFO answers meanwhile ("" when
# there is no device).  Sets SITES and BAD (deviations); MODULE is loaded
# afterwards.
inject_load() {
	n=1
	SITES=0
	BAD=0
	before=$(state)
	while [ $n -le $MAX_SITES ]; do
		gen=$(cat $SYSFS/generation)
		out=$("$MOD" insmod -f $n "$MODDIR/$1.ko")
		case $out in
		"result=OK injected=0")
			break ;;
		"result=ENOMEM injected=1")
			SITES=$((SITES + 1))
			same "$before" $n "a failed load of $1" || BAD=$((BAD + 1))
			if [ "$(cat $SYSFS/generation)" -lt "$gen" ]; then
				echo "# site $n: the global generation went back from $gen"
				BAD=$((BAD + 1))
			fi
			if [ -n "$2" ] && ! works "$2"; then
				echo "# site $n: the device does not work after a failed load of $1"
				BAD=$((BAD + 1))
			fi ;;
		"result=OK injected=1")
			SITES=$((SITES + 1))
			echo "# site $n: $1 loaded although the failure was injected"
			BAD=$((BAD + 1))
			"$TOOL" rmmod "$1" > /dev/null || { echo "# cannot unload $1"; BAD=$((BAD + 1)); }
			loop_until "! is_loaded $1"
			# Loading and unloading publishes tables: generations move.
			[ "$(state | grep -v generation:)" = "$(echo "$before" | grep -v generation:)" ] ||
				{ echo "# site $n: loading and unloading $1 changed the state"; BAD=$((BAD + 1)); }
			before=$(state) ;;
		*)
			echo "# site $n: insmod $1: $out"
			BAD=$((BAD + 1)) ;;
		esac
		n=$((n + 1))
	done
	[ $n -le $MAX_SITES ] || { echo "# $1: still failing after $MAX_SITES sites"; BAD=$((BAD + 1)); }
	echo "# $1: $SITES sites, $BAD deviations"
}

# report DESC MIN: ok when the last run had no deviation and at least MIN
# sites.
report() {
	if [ $BAD != 0 ] || [ $SITES -lt "$2" ]; then
		ktap_not_ok "$1"
	else
		ktap_ok "$1"
	fi
}

# inject_unload MODULE STACK VERSION: rmmod MODULE with fail-nth 1, 2, ...
# (reloading it in between): it must unload every time and leave STACK
# applied, with VERSION answering GET_INFO.  Sets SITES and BAD.
inject_unload() {
	n=1
	SITES=0
	BAD=0
	while [ $n -le $MAX_SITES ]; do
		out=$("$MOD" rmmod -f $n "$1")
		case $out in
		"result=OK injected=1")
			SITES=$((SITES + 1)) ;;
		"result=OK injected=0")
			;;
		*)
			echo "# site $n: rmmod $1: $out"
			BAD=$((BAD + 1)) ;;
		esac
		if is_loaded "$1" || [ "$(cat $DRV/stack)" != "$2" ] || ! works "$3"; then
			echo "# site $n: rmmod $1 did not revert it completely: stack \"$(cat $DRV/stack)\""
			BAD=$((BAD + 1))
		fi
		[ "$out" = "result=OK injected=1" ] || break
		"$TOOL" insmod "$MODDIR/$1.ko" > /dev/null || { echo "# cannot reload $1"; BAD=$((BAD + 1)); break; }
		n=$((n + 1))
	done
	echo "# rmmod $1: $SITES sites, $BAD bad"
}

inject_load drvproxy_demo ""
report "fault: each of $SITES failures injected into loading the host fails it with ENOMEM, nothing left" 10
host_sites=$SITES
ktap_result "fault: the host loads once nothing fails, and works" works 1

inject_load drvproxy_demo_v2 1
report "fault: each of $SITES failures injected into applying v2 (live) fails it, nothing changed" 5
ktap_result "fault: v2 applies once nothing fails" eval 'works 2 && [ "$(cat $DRV/stack)" = drvproxy_demo_v2 ]'

inject_load drvproxy_demo_v3 2
report "fault: each of $SITES failures injected into applying v3 (stalled) on v2 fails it, nothing changed" 5

inject_unload drvproxy_demo_v3 drvproxy_demo_v2 2
bad=$BAD
sites=$SITES
inject_unload drvproxy_demo_v2 "" 1
BAD=$((BAD + bad))
report "fault: rmmod of v3 ($sites sites) and v2 ($SITES sites) with a failure injected still reverts completely" 1
"$TOOL" rmmod drvproxy_demo > /dev/null

if [ -w $KMEMLEAK ]; then
	# Objects younger than 5 s are never reported; two scans settle it.
	sleep 6
	echo scan > $KMEMLEAK
	echo scan > $KMEMLEAK
	cat $KMEMLEAK > /tmp/leaks.$$
	head -n 60 /tmp/leaks.$$ | sed 's/^/# /'
	BAD=$(grep -c '^unreferenced object' /tmp/leaks.$$)
	SITES=1
	report "fault: kmemleak finds no leak after $host_sites failed host loads and all the rest" 1
	rm -f /tmp/leaks.$$
else
	ktap_skip "fault: no leak" "no kmemleak (CONFIG_DEBUG_KMEMLEAK)"
fi

ktap_finish
