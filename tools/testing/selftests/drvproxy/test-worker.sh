#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-worker.sh - the hot-swappable worker thread keeps running across
# swaps and runs the current routine from its next wake-up; version 2 fixes
# version 1's "opens" statistic.
. "$(dirname "$0")/functions.sh"

setup
ktap_header 7
load_mod drvproxy_demo

ticks_grow() {
	a=$("$TOOL" info worker_ticks)
	sleep 0.5
	[ "$("$TOOL" info worker_ticks)" -gt "$a" ]
}

routine_is() {
	[ "$("$TOOL" info worker_version)" = "$1" ]
}

ktap_result "worker runs version 1 periodically" ticks_grow
ktap_result "worker routine is version 1" loop_until "routine_is 1"
load_mod drvproxy_demo_v2
ktap_result "after the swap the worker runs version 2" loop_until "routine_is 2"
exec 3< $DEV
exec 4< $DEV
ktap_result "version 2 reports the files open now: 2 while two are open" \
	[ "$("$TOOL" info opens)" = 2 ]
exec 3<&-
exec 4<&-
ktap_result "version 2 reports the files open now: 0 once they are closed" \
	[ "$("$TOOL" info opens)" = 0 ]
unload_mod drvproxy_demo_v2
ktap_result "after the revert the worker runs version 1 again" loop_until "routine_is 1"
ktap_result "version 1 reports every open since load (its documented bug)" \
	[ "$("$TOOL" info opens)" -gt 2 ]
ktap_finish
