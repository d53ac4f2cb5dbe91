#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-unwind.sh - a companion whose init applies its layer, meets an
# error, reverts the layer and fails: ordinary error unwinding.  The kernel
# frees such a module whatever its reference count, so nothing may still
# run its code then: drvproxy_demo_unwind.ko's init fails while a reader it
# took over is still inside its read (for half a second).  The insmod must
# fail with EIO only after that reader left, the reader must then be served
# by the original read, and the kernel must not oops (it used to run freed code, or touch
# the freed layer from the retire worker).
. "$(dirname "$0")/functions.sh"

setup
ktap_header 7
load_mod drvproxy_demo

unwind_fails() {
	out=$("$TOOL" insmod "$MODDIR/drvproxy_demo_unwind.ko" 2>&1) && return 1
	log "$out"
	case $out in *"Input/output error"*|*EIO*) return 0 ;; esac
	return 1
}

reader_in_read() {
	[ "$(cat $DRV/endpoints/demo_read/in_flight)" = 1 ]
}

"$TOOL" readn 1 > /tmp/unwind.out &
r=$!
loop_until reader_in_read || die "reader did not block"
ktap_result "insmod of a companion that unwinds its apply fails with EIO" unwind_fails
printf x > $DEV
ktap_result "the reader it took over is served by the original read" \
	eval 'wait $r && check_sysfs_value /tmp/unwind.out x'
ktap_result "no call is left in flight" check_sysfs_value $DRV/endpoints/demo_read/in_flight 0
ktap_result "the failed companion is not loaded, no layer is left" \
	eval '! is_loaded drvproxy_demo_unwind && [ -z "$(cat $DRV/stack)" ]'
# Once more without a reader, then a swap and back.
unwind_fails || die "second unwinding insmod did not fail with EIO"
load_mod drvproxy_demo_v2
unload_mod drvproxy_demo_v2
printf abc > $DEV
ktap_result "the device still serves reads" eval '[ "$("$TOOL" readn 3)" = abc ]'
ktap_result "the kernel logged no oops" eval '! dmesg | grep -qE "Oops|BUG:|general protection"'
unload_mod drvproxy_demo
ktap_result "the host unloads" eval '! is_loaded drvproxy_demo'
ktap_finish
