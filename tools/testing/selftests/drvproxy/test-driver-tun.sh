#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-driver-tun.sh - a real driver, converted: linux-source-6.12's
# drivers/net/tun.c with drivers/tun/tun.patch (its file_operations methods
# and its flow-ageing timer made endpoints, the miscdevice a driver object
# and device with tun's fixed minor and "net/tun" node, the f_op checks of
# tun_get_socket() and tun_get_tx_ring() drvproxy_is_driver_file()).
#
# The same checks run against the unconverted driver (the same file built
# as it is, drivers/tun/plain/tun.ko) and the converted one, with and
# without its companion drvproxy_tun_count.ko, which wraps read, write and
# show_fdinfo and calls the implementation below:
#   - tun's own upstream selftest (tools/testing/selftests/net/tun.c,
#     unchanged) passes;
#   - tunload's echo traffic through /dev/net/tun loses and changes no byte;
#   - vhost-net (the kernel's own module, built against the unconverted
#     tun) loads, takes a tun file as the backend of a ring, which it
#     recognises through tun_get_socket(), and (converted only) refuses the
#     file of another drvproxy driver.  tun_get_tx_ring() is converted too,
#     but nothing here shows it: vhost-net takes its failure for "no ring";
#   - 50 applies and reverts of the companion while tunload runs and the
#     upstream selftest runs in a loop: each applied companion carries
#     traffic (its count in the file's fdinfo grows), no frame is lost or
#     changed, every selftest run passes.
# tun's blocking read is not swap-aware (its wait is in tun_do_read(), which
# vhost-net's recvmsg shares), so tunload reads only after poll(): a
# companion's rmmod waits for a reader blocked in it, and a stalled
# transition times out (Documentation/howto.rst, "Two real drivers").
. "$(dirname "$0")/functions.sh"

D=$(cd "$(dirname "$0")" && pwd)/drivers/tun
CLIENT=$D/bin/tun
LOAD=$(dirname "$0")/bin/tunload
VHOST=$(dirname "$0")/bin/vhostnet
STOP=/tmp/tunload.stop
CYCLES=${TUN_CYCLES:-50}

driver_test_needs "$CLIENT" "$LOAD" "$VHOST" "$D/stock/vhost_iotlb.ko" "$D/stock/vhost.ko" \
	"$D/stock/tap.ko" "$D/stock/vhost_net.ko" "$D/plain/tun.ko" "$MODDIR/tun.ko" \
	"$MODDIR/drvproxy_tun_count.ko"

tun_cleanup() {
	touch "$STOP"
	[ -n "${load_pid:-}" ] && kill "$load_pid" 2> /dev/null
	[ -n "${loop_pid:-}" ] && kill "$loop_pid" 2> /dev/null
	killall tunload tun vhostnet 2> /dev/null
	wait 2> /dev/null
	unload_loaded vhost_net uhid hid drvproxy_tun_count tun tap vhost vhost_iotlb
	cleanup_modules
}

# client_passes LOG: the upstream selftest, its TAP kept out of ours.
client_passes() {
	"$CLIENT" > "$1" 2>&1
	client_rc=$?
	sed 's/^/#   /' "$1"
	[ $client_rc = 0 ]
}

# load_runs SECONDS: tunload in the foreground, its summary as a comment.
load_runs() {
	"$LOAD" dpxtun0 "$1" > /tmp/tunload.out 2>&1
	load_rc=$?
	sed 's/^/# /' /tmp/tunload.out
	[ $load_rc = 0 ]
}

# load_start: tunload in the background until $STOP exists.
load_start() {
	rm -f "$STOP"
	"$LOAD" dpxtun0 3600 "$STOP" > /tmp/tunload.out 2>&1 &
	load_pid=$!
	loop_until 'grep -q "^tunload: dpxtun0 up" /tmp/tunload.out' ||
		die "tunload did not bring dpxtun0 up: $(cat /tmp/tunload.out)"
}

load_stop() {
	touch "$STOP"
	wait $load_pid
	load_rc=$?
	load_pid=""
	sed 's/^/# /' /tmp/tunload.out
	[ $load_rc = 0 ]
}

# fdinfo_of PID: /proc/PID/fdinfo of its /dev/net/tun file.
fdinfo_of() {
	for fdi in /proc/$1/fd/*; do
		[ "$(readlink "$fdi")" = /dev/net/tun ] && cat "/proc/$1/fdinfo/${fdi##*/}"
	done
}

# reads_of PID: the companion's read count in that fdinfo (empty: none).
reads_of() {
	fdinfo_of "$1" | sed -n 's/^tun_count:[[:space:]]*\([0-9]*\) .*/\1/p'
}

# backend FILE WANT: vhostnet prints "backend: WANT".
backend() {
	backend_out=$("$VHOST" "$1" 2>&1)
	echo "$backend_out" | sed 's/^/# /'
	echo "$backend_out" | grep -qx "backend: $2"
}

node_is_tun_minor() {
	[ "$(stat -c '%t:%T' /dev/net/tun 2> /dev/null)" = "a:c8" ] || {
		echo "# /dev/net/tun: $(ls -l /dev/net/tun 2>&1)"
		return 1
	}
}

# cycle_once: apply, see traffic pass through the companion, revert.
cycle_once() {
	"$TOOL" insmod "$MODDIR/drvproxy_tun_count.ko" > /dev/null || return 1
	cycle_base=$(reads_of $load_pid)
	cycle_ok=0
	loop_until '[ "$(reads_of $load_pid)" -gt "${cycle_base:-0}" ]' && cycle_ok=1
	"$TOOL" rmmod drvproxy_tun_count > /dev/null || return 1
	loop_until '! is_loaded drvproxy_tun_count' || return 1
	[ $cycle_ok = 1 ]
}

setup
trap tun_cleanup EXIT
ktap_header 16

# The baseline: the upstream driver as it is.
"$TOOL" insmod "$D/plain/tun.ko" > /dev/null || die "cannot load the plain tun.ko"
ktap_result "plain tun: the upstream tun selftest passes" client_passes /tmp/tun.plain
ktap_result "plain tun: echo traffic through /dev/net/tun loses no byte" load_runs 3
for m in vhost_iotlb vhost tap vhost_net; do
	stock_load $m
done
ktap_result "plain tun: vhost-net takes a tun file as a ring's backend" backend /dev/net/tun 0
"$TOOL" rmmod vhost_net > /dev/null || die "cannot unload vhost_net"
"$TOOL" rmmod tun > /dev/null || die "cannot unload the plain tun.ko"
loop_until '! is_loaded tun' || die "the plain tun did not go away"

load_mod tun
ktap_result "converted tun: /dev/net/tun is misc 10:200, as upstream" node_is_tun_minor
ktap_result "converted tun: the upstream tun selftest passes" client_passes /tmp/tun.conv
ktap_result "converted tun: echo traffic through /dev/net/tun loses no byte" load_runs 3
ktap_result "converted tun: the kernel's vhost_net.ko links against it (same export CRCs)" \
	"$TOOL" insmod "$D/stock/vhost_net.ko"
ktap_result "converted tun: vhost-net takes a tun file as a ring's backend (tun_get_socket)" \
	backend /dev/net/tun 0
# Another drvproxy driver's file, with private data of its own: only the
# driver check in tun_get_socket() keeps vhost-net from taking it for a tun
# file (/dev/null would be refused for its NULL private data anyway).
UHID=$D/../uhid
if [ -e "$UHID/stock/hid.ko" ] && [ -e "$MODDIR/uhid.ko" ]; then
	"$TOOL" insmod "$UHID/stock/hid.ko" > /dev/null && load_mod uhid
	ktap_result "converted tun: vhost-net refuses another drvproxy driver's file" \
		backend /dev/uhid ENOTSOCK
	unload_mod uhid
	"$TOOL" rmmod hid > /dev/null
else
	ktap_skip "converted tun: vhost-net refuses another drvproxy driver's file" \
		"the converted uhid is not built"
fi

load_mod drvproxy_tun_count
ktap_result "with the companion: the upstream tun selftest passes" client_passes /tmp/tun.comp
ktap_result "with the companion: vhost-net takes a tun file as a ring's backend" \
	backend /dev/net/tun 0
load_start
ktap_result "with the companion: fdinfo keeps tun's line and adds the companion's" \
	eval 'fdinfo_of $load_pid | grep -q "^iff:[[:space:]]*dpxtun0$" &&
		loop_until "[ \"\$(reads_of $load_pid)\" -gt 0 ]"'
ktap_result "with the companion: echo traffic loses no byte" load_stop
unload_mod drvproxy_tun_count
"$TOOL" rmmod vhost_net > /dev/null || die "cannot unload vhost_net"

# Cycles under load: traffic and the upstream selftest in a loop.
load_start
rm -f /tmp/tun.loop.fail
(
	while [ ! -e "$STOP" ]; do
		"$CLIENT" > /tmp/tun.loop 2>&1 || cp /tmp/tun.loop /tmp/tun.loop.fail
	done
) &
loop_pid=$!
carried=0
i=0
while [ $i -lt "$CYCLES" ]; do
	cycle_once && carried=$((carried + 1))
	i=$((i + 1))
done
echo "# $carried of $CYCLES applied companions carried traffic"
ktap_result "$CYCLES applies and reverts under traffic: each carried traffic, no byte lost" \
	eval 'load_stop && [ $carried = $CYCLES ]'
wait $loop_pid
loop_pid=""
ktap_result "$CYCLES applies and reverts: every upstream selftest run in between passed" \
	eval '[ ! -e /tmp/tun.loop.fail ] || { sed "s/^/#   /" /tmp/tun.loop.fail; false; }'

unload_mod tun
ktap_result "the converted tun unloads and /dev/net/tun goes away" eval '[ ! -e /dev/net/tun ]'
ktap_finish
