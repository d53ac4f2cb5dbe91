#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-sysfs.sh - /sys/kernel/drvproxy: every documented file exists with
# its documented mode, and its value matches reality before, during and
# after a swap; garbage writes are rejected and change nothing; no file
# shows a raw kernel pointer.
. "$(dirname "$0")/functions.sh"

EP=$DRV/endpoints/demo_read
LAYER=$DRV/layers/drvproxy_demo_v2

# check_modes DIR MODE FILE...
check_modes() {
	dir=$1
	mode=$2
	shift 2
	for f in "$@"; do
		check_sysfs_rights "$dir/$f" "$mode" || return 1
	done
}

# raw_pointers FILE...: the files showing a raw kernel pointer (%px).  An
# x86-64 kernel address is an upper-half one, ffff and 12 more hex digits
# (direct map ffff888..., vmalloc ffffc90..., modules ffffffffc0...); a
# hashed %p (00000000 and 8 hex digits) is no leak, and neither is a long
# decimal such as applied_at's nanoseconds.
raw_pointers() {
	grep -lE '(^|[^0-9a-fx])(0x)?ffff[0-9a-f]{12}([^0-9a-f]|$)' "$@" 2>/dev/null
}

no_raw_pointers() {
	! raw_pointers -r $SYSFS
}

# The detector itself: every line of the first list is a leak, no line of
# the second is one.
detector_flags() {
	for s in "ops=ffff888003a1c000" "0xffffffffc0a01234 demo_read" "ffffc90000a3bfd8"; do
		echo "$s" > /tmp/sample.$$
		raw_pointers /tmp/sample.$$ > /dev/null || { echo "# not flagged: $s"; return 1; }
	done
}

detector_passes() {
	for s in "1767225600123456789" "00000000a1b2c3d4" "12345678901234567890" \
		"1767225.600123 apply drvproxy_demo_v2 live gen=2 result=0 duration_us=123"; do
		echo "$s" > /tmp/sample.$$
		! raw_pointers /tmp/sample.$$ > /dev/null || { echo "# flagged: $s"; return 1; }
	done
}

reader_in_read() {
	[ "$(cat $EP/in_flight)" = 1 ]
}

setup
ktap_header 25
load_mod drvproxy_demo

ktap_result "top-level files and modes" check_modes $SYSFS -r--r--r-- enabled generation
ktap_result "enabled reads 1" check_sysfs_value $SYSFS/enabled 1
ktap_result "driver files and modes" check_modes $DRV -r--r--r-- owner build_id text_size generation \
	transition devices opens stack history
ktap_result "driver values before a swap" eval 'check_sysfs_value $DRV/owner drvproxy_demo &&
	check_sysfs_value $DRV/generation 1 && check_sysfs_value $DRV/transition idle &&
	check_sysfs_value $DRV/devices drvproxy_demo && check_sysfs_value $DRV/stack ""'
ktap_result "endpoint files and modes" check_modes $EP -r--r--r-- id signature kind original \
	current calls in_flight swaps
ktap_result "endpoint kinds as declared" eval 'check_sysfs_value $EP/kind "process redispatch" &&
	check_sysfs_value $DRV/endpoints/demo_llseek/kind "process nowait" &&
	check_sysfs_value $DRV/endpoints/demo_poll/kind "process nowait" &&
	check_sysfs_value $DRV/endpoints/demo_ioctl/kind "process redispatch"'
ktap_result "endpoint values before a swap" eval 'check_sysfs_value $EP/current "demo_read [drvproxy_demo]" &&
	check_sysfs_value $EP/original "demo_read [drvproxy_demo]" &&
	check_sysfs_value $EP/signature "ssize_t(struct file *, char *, size_t, loff_t *)" &&
	check_sysfs_value $EP/swaps 0 && check_sysfs_value $EP/in_flight 0'
ktap_result "eleven endpoints, ids in name order" eval '[ $(ls $DRV/endpoints | wc -l) = 11 ] &&
	check_sysfs_value $DRV/endpoints/demo_compat_ioctl/id 0 &&
	check_sysfs_value $DRV/endpoints/demo_write/id 10'

calls=$(cat $EP/calls)
printf hi > $DEV
"$TOOL" readn 2 > /dev/null
ktap_result "a read counts one call" check_sysfs_value $EP/calls $((calls + 1))

load_mod drvproxy_demo_v2
ktap_result "layer files and modes" eval 'check_modes $LAYER -r--r--r-- mode replace order generation applied_at nr_endpoints &&
	check_modes $LAYER -rw-r--r-- enabled'
ktap_result "layer values" eval 'check_sysfs_value $LAYER/mode live && check_sysfs_value $LAYER/replace 0 &&
	check_sysfs_value $LAYER/order 1 && check_sysfs_value $LAYER/generation 2 &&
	check_sysfs_value $LAYER/nr_endpoints 3 && check_sysfs_value $LAYER/enabled 1'
at=$(cat $LAYER/applied_at)
echo "# applied_at $at"
ktap_result "no file shows a raw pointer while a layer is applied (applied_at: ${#at} digits)" \
	eval '[ ${#at} -ge 16 ] && no_raw_pointers'
ktap_result "driver values after a swap" eval 'check_sysfs_value $DRV/generation 2 &&
	check_sysfs_value $DRV/stack drvproxy_demo_v2'
ktap_result "endpoint values after a swap" eval 'check_sysfs_value $EP/current "demo_v2_read [drvproxy_demo_v2]" &&
	check_sysfs_value $EP/original "demo_read [drvproxy_demo]" && check_sysfs_value $EP/swaps 1 &&
	check_sysfs_value $DRV/endpoints/demo_write/current "demo_write [drvproxy_demo]"'

"$TOOL" readn 1 > /dev/null &
r=$!
loop_until reader_in_read
ktap_result "a blocked read shows as in flight, opens counts the reader" eval 'check_sysfs_value $EP/in_flight 1 &&
	check_sysfs_value $DRV/opens 1'
printf x > $DEV
wait $r

ktap_result "garbage written to a layer's enabled is EINVAL" eval '! echo garbage > $LAYER/enabled'
ktap_result "1 written to an applied layer is EINVAL" eval '! echo 1 > $LAYER/enabled'
ktap_result "read-only files refuse writes" eval '! echo 1 > $DRV/generation 2>/dev/null &&
	! echo 1 > $EP/current 2>/dev/null'
ktap_result "rejected writes changed nothing" eval 'check_sysfs_value $LAYER/enabled 1 &&
	check_sysfs_value $DRV/generation 2 && check_sysfs_value $EP/current "demo_v2_read [drvproxy_demo_v2]"'

ktap_result "writing 0 to enabled reverts the layer live" eval 'echo 0 > $LAYER/enabled &&
	check_sysfs_value $EP/current "demo_read [drvproxy_demo]" && check_sysfs_value $DRV/stack "" &&
	check_sysfs_value $DRV/generation 3 && [ ! -d $LAYER ]'
ktap_result "the reverted companion unloads once drained" eval 'loop_until "$TOOL rmmod drvproxy_demo_v2 >/dev/null"'
ktap_result "history records apply and revert" eval 'grep -q "apply drvproxy_demo_v2 live gen=2 result=0" $DRV/history &&
	grep -q "revert drvproxy_demo_v2 live gen=3 result=0" $DRV/history'
ktap_result "no file shows a raw pointer" no_raw_pointers
ktap_result "the raw-pointer check flags %px samples" detector_flags
ktap_result "the raw-pointer check passes long decimals, hashed %p and history lines" detector_passes
rm -f /tmp/sample.$$
ktap_finish
