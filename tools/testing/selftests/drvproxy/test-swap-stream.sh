#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-swap-stream.sh - swap under load: writer and reader processes stream
# a tagged byte sequence through the FIFO while the companion is loaded and
# unloaded over and over.  At the end every byte written was read exactly
# once (per-writer counts and checksums; per-writer order with one reader),
# no syscall failed, and both implementations served reads.
. "$(dirname "$0")/functions.sh"

CYCLES=${CYCLES:-100}

setup
ktap_header 6
load_mod drvproxy_demo
"$TOOL" reset

# run_stream WRITERS READERS: stream while the companion churns.
run_stream() {
	"$TOOL" stream -w "$1" -r "$2" -s 600 > /tmp/stream.out 2>&1 &
	pid=$!
	sleep 1
	i=0
	fail=0
	while [ $i -lt "$CYCLES" ]; do
		"$TOOL" insmod "$MODDIR/drvproxy_demo_v2.ko" > /dev/null || fail=1
		"$TOOL" rmmod drvproxy_demo_v2 > /dev/null || fail=1
		i=$((i + 1))
	done
	# Leave a layer applied for the last second so both versions end busy.
	"$TOOL" insmod "$MODDIR/drvproxy_demo_v2.ko" > /dev/null || fail=1
	sleep 1
	kill -USR1 $pid
	wait $pid
	rc=$?
	"$TOOL" rmmod drvproxy_demo_v2 > /dev/null || fail=1
	sed 's/^/# /' /tmp/stream.out
	[ $rc = 0 ] && [ $fail = 0 ]
}

ktap_result "$CYCLES swaps under 2 writers and 2 readers: no byte lost or repeated" \
	run_stream 2 2
ktap_result "$CYCLES swaps under 3 writers and 1 reader: every writer's bytes in order" \
	run_stream 3 1
swaps=$(cat $DRV/endpoints/demo_read/swaps)
echo "# demo_read swapped $swaps times"
ktap_result "every load and unload swapped demo_read" \
	[ "$swaps" -ge $((4 * CYCLES + 4)) ]
v1=$("$TOOL" info reads_v1)
v2=$("$TOOL" info reads_v2)
echo "# reads served: version 1 $v1, version 2 $v2"
ktap_result "both implementations served reads" eval '[ "$v1" -gt 0 ] && [ "$v2" -gt 0 ]'
ktap_result "no call left in flight" check_sysfs_value $DRV/endpoints/demo_read/in_flight 0
ktap_result "host unloads after the churn" "$TOOL" rmmod drvproxy_demo
ktap_finish
