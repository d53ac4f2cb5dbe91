#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-below.sh - a companion that adds one ioctl command and passes every
# other one down (DRVPROXY_CALL_BELOW()): drvproxy_demo_heartbeat.ko adds
# DRVPROXY_DEMO_HEARTBEAT to whatever implements the demo's ioctl below it.
# On the bare driver, GET_INFO still reports version 1 and the transform
# command stays unknown; stacked on v3, v3's GET_INFO and SET_TRANSFORM
# keep working through it; with v3 unloaded from under it, the driver's own
# ioctl is below again, and the heartbeat's command works throughout.
. "$(dirname "$0")/functions.sh"

# xform_says N: the output of "dpxtool xform N" ("" when it succeeded).
xform_says() {
	"$TOOL" xform "$1" 2>&1
}

setup
ktap_header 9
load_mod drvproxy_demo
load_mod drvproxy_demo_heartbeat
ktap_result "on the driver: GET_INFO passes down, the driver answers (version 1)" \
	eval "[ \"\$(\"$TOOL\" info impl_version)\" = 1 ]"
ktap_result "on the driver: the transform command passes down, unknown there (ENOTTY)" \
	eval "[ \"\$(xform_says 1)\" = 'xform: ENOTTY' ]"
ktap_result "on the driver: the heartbeat's own command works" "$TOOL" heartbeat 0

unload_mod drvproxy_demo_heartbeat
load_mod drvproxy_demo_v3
load_mod drvproxy_demo_heartbeat
ktap_result "on v3: GET_INFO passes down to v3 (version 3)" \
	eval "[ \"\$(\"$TOOL\" info impl_version)\" = 3 ]"
ktap_result "on v3: v3's transform command works through the heartbeat" \
	eval "[ -z \"\$(xform_says 1)\" ] && [ \"\$(\"$TOOL\" info transform)\" = 1 ]"
ktap_result "on v3: the heartbeat's own command works" "$TOOL" heartbeat 0

# Reverting the layer in the middle relinks the one above to the driver.
"$TOOL" xform 0 > /dev/null
unload_mod drvproxy_demo_v3
ktap_result "v3 unloaded from under it: GET_INFO reaches the driver (version 1)" \
	eval "[ \"\$(\"$TOOL\" info impl_version)\" = 1 ]"
ktap_result "v3 unloaded from under it: the transform command is unknown again" \
	eval "[ \"\$(xform_says 1)\" = 'xform: ENOTTY' ]"
ktap_result "v3 unloaded from under it: the heartbeat's own command works" "$TOOL" heartbeat 0
ktap_finish
