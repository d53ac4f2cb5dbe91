#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-swap-stream.sh - swap under load: writer and reader processes stream
# a tagged byte sequence through the FIFO while the companion is loaded and
# unloaded over and over.  At the end every byte written was read exactly
# once (per-writer counts and checksums; per-writer order with one reader),
# no syscall failed, and both implementations served reads between the
# first swap and the last: the reads overlapped the swaps.
. "$(dirname "$0")/functions.sh"

CYCLES=${CYCLES:-100}

setup
ktap_header 7
load_mod drvproxy_demo
"$TOOL" reset

# reads_mark, then reads_since: the reads each version served in between,
# appended to $OVERLAP as " v1 v2".
reads_mark() {
	mark1=$("$TOOL" info reads_v1)
	mark2=$("$TOOL" info reads_v2)
}

reads_since() {
	OVERLAP="$OVERLAP $(($("$TOOL" info reads_v1) - mark1)) $(($("$TOOL" info reads_v2) - mark2))"
}

# run_stream WRITERS READERS: stream while the companion churns.  The
# reads each version served after the first swap and before the last one
# go to $OVERLAP: reads before and after the churn do not count there.
run_stream() {
	"$TOOL" stream -w "$1" -r "$2" -s 600 > /tmp/stream.out 2>&1 &
	pid=$!
	# The stream is moving before the first swap.
	info_grows bytes_out || echo "# the stream did not start"
	i=0
	fail=0
	while [ $i -lt "$CYCLES" ]; do
		"$TOOL" insmod "$MODDIR/drvproxy_demo_v2.ko" > /dev/null || fail=1
		[ $i = 0 ] && reads_mark
		[ $i = $((CYCLES - 1)) ] && reads_since
		"$TOOL" rmmod drvproxy_demo_v2 > /dev/null || fail=1
		i=$((i + 1))
	done
	# Leave a layer applied until version 2 served reads of its own, so
	# both versions end busy.
	"$TOOL" insmod "$MODDIR/drvproxy_demo_v2.ko" > /dev/null || fail=1
	info_grows reads_v2 || echo "# version 2 served no read after the last swap"
	kill -USR1 $pid
	wait $pid
	rc=$?
	"$TOOL" rmmod drvproxy_demo_v2 > /dev/null || fail=1
	sed 's/^/# /' /tmp/stream.out
	[ $rc = 0 ] && [ $fail = 0 ]
}

OVERLAP=""
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
echo "# reads served between the first and the last swap (run 1 v1 v2, run 2 v1 v2):$OVERLAP"
# Every one of the four counts is positive.
overlapped() {
	[ "$(echo $OVERLAP | wc -w)" = 4 ] && ! echo " $OVERLAP " | grep -q ' 0 '
}
ktap_result "both implementations served reads between the first and the last swap, in both runs" \
	overlapped
ktap_result "no call left in flight" check_sysfs_value $DRV/endpoints/demo_read/in_flight 0
ktap_result "host unloads after the churn" "$TOOL" rmmod drvproxy_demo
ktap_finish
