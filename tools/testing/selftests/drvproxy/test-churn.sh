#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-churn.sh - module churn: with the demo host loaded, drvproxy_demo_v2
# (live) and drvproxy_demo_v3 (stalled) are loaded and unloaded in random
# order thousands of times while "dpxtool stream" keeps 2 writers and a
# reader busy on the device.  Every load and unload must succeed, the
# stream must lose, repeat or reorder no byte (one reader: each writer's
# bytes must arrive in order) and see no error, and everything must unload
# cleanly afterwards.
#
# Environment: CHURN_OPS (default 3000) and CHURN_SECONDS (default 20) bound
# the churn; the long version (make torture) is e.g. CHURN_OPS=5000
# CHURN_SECONDS=3600.  Under TCG a load or an unload takes some 45 ms,
# so the short run makes some 400 of them.
. "$(dirname "$0")/functions.sh"

OPS=${CHURN_OPS:-3000}
SECONDS_MAX=${CHURN_SECONDS:-20}
MOD=$(dirname "$0")/bin/dpxmod

setup
[ -x "$MOD" ] || { echo "1..0 # SKIP $MOD not built"; exit $ksft_skip; }
ktap_header 7
load_mod drvproxy_demo
"$TOOL" reset

"$TOOL" stream -w 2 -r 1 -s 100000 > /tmp/churn-stream.$$ 2>&1 &
stream=$!
# The churn is only "under load" once the stream moves.
info_grows bytes_out || echo "# the stream did not start"
before=$("$TOOL" info bytes_out)
"$MOD" churn -n "$OPS" -t "$SECONDS_MAX" "$MODDIR/drvproxy_demo_v2.ko" \
	"$MODDIR/drvproxy_demo_v3.ko" > /tmp/churn.$$ 2>&1
churn_rc=$?
during=$(($("$TOOL" info bytes_out) - before))
kill -USR1 $stream
wait $stream
stream_rc=$?
sed 's/^/# /' /tmp/churn.$$ /tmp/churn-stream.$$
summary=$(grep '^churn: ops=' /tmp/churn.$$)
ops=$(echo "$summary" | sed -n 's/.*ops=\([0-9]*\).*/\1/p')
rm -f /tmp/churn.$$ /tmp/churn-stream.$$

ktap_result "churn: $ops loads and unloads of v2 and v3 in random order, none failed" \
	[ "$churn_rc" = 0 ]
# Progress: at least 5 per second of the run, unless CHURN_OPS asks for fewer.
want=$((SECONDS_MAX * 5))
[ "$OPS" -lt $want ] && want=$OPS
ktap_result "churn: at least $want operations" [ "${ops:-0}" -ge $want ]
echo "# churn: $during bytes read during the churn"
ktap_result "churn: the stream moved during the churn" [ "$during" -gt 0 ]
ktap_result "churn: the stream lost, repeated or reordered no byte" [ "$stream_rc" = 0 ]
ktap_result "churn: no companion left loaded, no layer left applied" \
	eval '! is_loaded drvproxy_demo_v2 && ! is_loaded drvproxy_demo_v3 && [ -z "$(cat $DRV/stack)" ]'
# The worker may be inside its routine for a moment.
idle() {
	[ "$(cat $DRV/endpoints/*/in_flight | sort -u | tr '\n' ' ')" = "0 " ]
}
ktap_result "churn: no call left in flight on any endpoint" loop_until idle
ktap_result "churn: the host and drvproxy unload cleanly" \
	eval '"$TOOL" rmmod drvproxy_demo && "$TOOL" rmmod drvproxy'
ktap_finish
