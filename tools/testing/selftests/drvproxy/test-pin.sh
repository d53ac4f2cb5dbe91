#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-pin.sh - code that outlives a call: drvproxy_demo_heartbeat.ko arms a
# timer with its own callback, which queues a work item with its own
# function.  While they live, the companion is pinned: rmmod fails, "in
# use" (EAGAIN), and /sys/kernel/drvproxy/pins names both; the timer and
# the work keep running (a companion unloaded under them would crash the kernel the
# next time the timer fires, in interrupt context).  Stopping the heartbeat
# drops the pins, and rmmod succeeds.  The same for a mapping whose
# vm_operations are the companion's: pinned until the file the mapping
# holds is released, after munmap, although its descriptor was closed at
# once.
. "$(dirname "$0")/functions.sh"

HB=/sys/module/drvproxy_demo_heartbeat/parameters
PINS=$SYSFS/pins

# grows FILE: its number increases within 10 s.
grows() {
	grows_base=$(cat "$1")
	grows_file=$1
	loop_until '[ "$(cat $grows_file)" -gt "$grows_base" ]'
}

pins_list() {
	grep -qx "drvproxy_demo_heartbeat hb_timer_fn 1 timer" $PINS &&
		grep -qx "drvproxy_demo_heartbeat hb_work_fn 1 work" $PINS || {
		echo "# pins: $(cat $PINS)"
		return 1
	}
}

setup
ktap_header 13
load_mod drvproxy_demo
load_mod drvproxy_demo_heartbeat
ktap_result "no pin before the heartbeat starts" eval "[ -z \"\$(cat $PINS)\" ]"
"$TOOL" heartbeat 20 || die "HEARTBEAT 20 failed"
ktap_result "the timer and the work run the companion's code" \
	eval "grows $HB/beats && grows $HB/works"
ktap_result "pins name the companion's timer and work" pins_list
ktap_result "rmmod of the companion is refused while they live (EAGAIN)" \
	eval "[ \"\$(\"$TOOL\" rmmod drvproxy_demo_heartbeat)\" = 'rmmod: drvproxy_demo_heartbeat: EAGAIN' ]"
ktap_result "the timer still runs after the refused rmmod" grows $HB/beats
# Reverting the layer from sysfs would take away the ioctl that stops the
# heartbeat, and the pins would hold the companion forever: refused.
ktap_result "writing 0 to the companion's enabled is refused while they live" \
	eval "! echo 0 2> /dev/null > $DRV/layers/drvproxy_demo_heartbeat/enabled &&
	      [ \"\$(cat $DRV/layers/drvproxy_demo_heartbeat/enabled)\" = 1 ] &&
	      dmesg | grep -q 'drvproxy_demo_heartbeat holds 2 pins (hb_.*revert refused'"
"$TOOL" heartbeat 0 || die "HEARTBEAT 0 failed"
ktap_result "stopping the heartbeat drops the pins" eval "[ -z \"\$(cat $PINS)\" ]"

# A mapping with the companion's vm_operations, its descriptor closed.
"$TOOL" maphold > /tmp/pin.map &
m=$!
loop_until 'grep -q mapped /tmp/pin.map' || die "maphold did not map: $(cat /tmp/pin.map)"
ktap_result "the mapping runs the companion's vm_operations" check_sysfs_value $HB/maps 1
ktap_result "pins name the companion's vm_operations" \
	eval "grep -qx 'drvproxy_demo_heartbeat hb_vm_ops 1 vm_operations' $PINS || { echo \"# pins: \$(cat $PINS)\"; false; }"
ktap_result "rmmod of the companion is refused while the mapping lives (EAGAIN)" \
	eval "[ \"\$(\"$TOOL\" rmmod drvproxy_demo_heartbeat)\" = 'rmmod: drvproxy_demo_heartbeat: EAGAIN' ]"
kill $m
wait $m 2> /dev/null
ktap_result "munmap and the file's release drop the pin" \
	eval "loop_until '[ -z \"\$(cat $PINS)\" ]' && [ \"\$(cat $HB/maps)\" = 0 ]"
ktap_result "then rmmod of the companion succeeds" \
	eval "\"$TOOL\" rmmod drvproxy_demo_heartbeat && loop_until '! is_loaded drvproxy_demo_heartbeat'"
unload_mod drvproxy_demo
ktap_result "host and companion are gone" \
	eval "! is_loaded drvproxy_demo && ! is_loaded drvproxy_demo_heartbeat"
ktap_finish
