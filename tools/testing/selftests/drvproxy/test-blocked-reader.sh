#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-blocked-reader.sh - a reader blocked in read() across a swap and a
# revert: the swap and the rmmod complete without waiting for it, and the
# reader gets its data from the implementation that is current when data
# arrives (version 2 upper-cases with transform 1, version 1 does not).
. "$(dirname "$0")/functions.sh"

setup
ktap_header 7
load_mod drvproxy_demo
# Select the transform through version 2; version 1 keeps but ignores it.
load_mod drvproxy_demo_v2
"$TOOL" xform 1 || die "SET_TRANSFORM failed"
unload_mod drvproxy_demo_v2

# reader_started: the background reader is inside read().
reader_in_read() {
	[ "$(cat $DRV/endpoints/demo_read/in_flight)" = 1 ]
}

"$TOOL" readn 3 > /tmp/r1 &
r=$!
loop_until reader_in_read || die "reader did not block"
ktap_result "swap completes while a reader is blocked in version 1" \
	timeout 10 "$TOOL" insmod "$MODDIR/drvproxy_demo_v2.ko"
ktap_result "the blocked reader is still waiting after the swap" reader_in_read
printf abc > $DEV
wait $r
ktap_result "the reader got its data from version 2" check_sysfs_value /tmp/r1 ABC

"$TOOL" readn 3 > /tmp/r2 &
r=$!
loop_until reader_in_read || die "reader did not block"
ktap_result "rmmod of the companion does not hang on a blocked reader" \
	timeout 10 "$TOOL" rmmod drvproxy_demo_v2
printf xyz > $DEV
wait $r
ktap_result "the reader got its data from version 1" check_sysfs_value /tmp/r2 xyz
ktap_result "no call left in flight" check_sysfs_value $DRV/endpoints/demo_read/in_flight 0
ktap_result "companion module is gone" eval '! is_loaded drvproxy_demo_v2'
ktap_finish
