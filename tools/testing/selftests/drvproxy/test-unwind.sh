#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-unwind.sh - a companion whose init applies its layer, meets an
# error, reverts the layer and fails: ordinary error unwinding.  The kernel
# frees such a module at once, whatever its reference count, so drvproxy
# must keep nothing of it: the insmod fails with EIO, nothing is applied,
# and the driver keeps working through swaps and its own removal (the
# retire worker used to touch the freed layer a few milliseconds later).
. "$(dirname "$0")/functions.sh"

setup
ktap_header 6
load_mod drvproxy_demo

unwind_fails() {
	out=$("$TOOL" insmod "$MODDIR/drvproxy_demo_unwind.ko" 2>&1) && return 1
	log "$out"
	case $out in *"Input/output error"*|*EIO*) return 0 ;; esac
	return 1
}

ktap_result "insmod of a companion that unwinds its apply fails with EIO" unwind_fails
ktap_result "the failed companion is not loaded" eval '! is_loaded drvproxy_demo_unwind'
ktap_result "no layer is left on the stack" check_sysfs_value $DRV/stack ""
# Twice more, then swaps: each would meet what the retire worker left.
unwind_fails && unwind_fails
load_mod drvproxy_demo_v2
unload_mod drvproxy_demo_v2
echo hello > $DEV
ktap_result "the device still works after three failed companions" \
	check_sysfs_value $DRV/endpoints/demo_llseek/in_flight 0
ktap_result "the kernel logged no oops" eval '! dmesg | grep -qE "Oops|BUG:|general protection"'
unload_mod drvproxy_demo
ktap_result "the host unloads" eval '! is_loaded drvproxy_demo'
ktap_finish
