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
#     changed, every selftest run passes;
#   - tun serviced with a later upstream change (drivers/tun/image.patch)
#     built by make companion into tun_image.ko, loaded with drvproxyctl
#     load as Documentation/servicing.rst says: it applies and reverts
#     under traffic, and the code it installs (tun's ioctls: creating,
#     attaching and persisting interfaces) is linked to the running tun.
#     Interfaces made before, with and after the image are the same: tun
#     tells a tun from a tap interface by comparing its net_device_ops
#     with its own tables; rtnl deletes an interface through tun's
#     registered rtnl_link_ops; TUNSETPERSIST takes a reference on tun's
#     module (THIS_MODULE), which deleting the interface drops.  The image
#     holds no reference, exports nothing (vhost-net keeps using the
#     running tun's tun_get_socket()) and answers to none of tun's module
#     aliases.
# tun's blocking read is not swap-aware (its wait is in tun_do_read(), which
# vhost-net's recvmsg shares), so tunload reads only after poll(): a
# companion's rmmod waits for a reader blocked in it, and a stalled
# transition times out (Documentation/howto.rst, "Two real drivers").
. "$(dirname "$0")/functions.sh"

D=$(cd "$(dirname "$0")" && pwd)/drivers/tun
CLIENT=$D/bin/tun
LOAD=$(dirname "$0")/bin/tunload
VHOST=$(dirname "$0")/bin/vhostnet
TUNIF=$(dirname "$0")/bin/tunif
CTL=${CTL:-$(cd "$(dirname "$0")" && pwd)/bin/drvproxyctl}
IMG=tun_image
EP=$SYSFS/drivers/tun/endpoints
IMAGE_CYCLES=${TUN_IMAGE_CYCLES:-10}
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
	for i in dpxpre dpxdur dpxdur2 dpxpost; do
		[ -e /sys/class/net/$i ] && ip link delete $i
	done
	unload_loaded vhost_net uhid hid drvproxy_tun_count $IMG tun tap vhost vhost_iotlb
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

# loop_start: tun's upstream selftest in a loop until $STOP exists; a
# failed run is kept in /tmp/tun.loop.fail.
loop_start() {
	rm -f /tmp/tun.loop.fail
	(
		while [ ! -e "$STOP" ]; do
			"$CLIENT" > /tmp/tun.loop 2>&1 || cp /tmp/tun.loop /tmp/tun.loop.fail
		done
	) &
	loop_pid=$!
}

# traffic_start / traffic_stop: tunload and the selftest loop.
traffic_start() {
	load_start
	loop_start
}

traffic_stop() {
	load_stop
	traffic_rc=$?
	wait $loop_pid
	loop_pid=""
	return $traffic_rc
}

loop_passed() {
	[ ! -e /tmp/tun.loop.fail ] || { sed "s/^/#   /" /tmp/tun.loop.fail; false; }
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

# tunif CMD NAME TYPE WANT: tunif prints "CMD: WANT".
tunif() {
	tunif_out=$("$TUNIF" "$1" "$2" "$3" 2>&1)
	[ "$tunif_out" = "$1: $4" ] || {
		echo "# tunif $1 $2 $3: \"$tunif_out\", want \"$1: $4\""
		return 1
	}
}

# same_type NAME TYPE OTHER: tun attaches NAME as TYPE and refuses OTHER.
same_type() {
	tunif attach "$1" "$2" 0 && tunif attach "$1" "$3" EINVAL
}

# refs MODULE WANT: /sys/module/MODULE/refcnt is WANT.
refs() {
	check_sysfs_value "/sys/module/$1/refcnt" "$2"
}

# link_delete NAME: rtnl deletes it (RTM_DELLINK), and it is gone.
link_delete() {
	ip link delete "$1" || return 1
	loop_until "[ ! -e /sys/class/net/$1 ]"
}

# image_is MODULE EP...: each EP's current implementation is MODULE's.
image_is() {
	mod=$1
	shift
	for ep in "$@"; do
		check_sysfs_value "$EP/$ep/current" "$ep [$mod]" || return 1
	done
}

# applied: the image is loaded and its code installed.
applied() {
	is_loaded $IMG && image_is $IMG $IMAGE_EPS
}

IMAGE_EPS="tun_chr_ioctl tun_chr_compat_ioctl tun_chr_show_fdinfo"
HOST_EPS="tun_chr_open tun_chr_close tun_chr_read_iter tun_chr_write_iter tun_chr_poll tun_chr_fasync tun_flow_cleanup"

# image_cycle: drvproxyctl load the image, see it installed, rmmod it.
image_cycle() {
	"$CTL" load "$MODDIR/$IMG.ko" > /dev/null || return 1
	image_cycle_ok=0
	image_is $IMG $IMAGE_EPS > /dev/null && image_cycle_ok=1
	"$TOOL" rmmod $IMG > /dev/null || return 1
	loop_until "! is_loaded $IMG" || return 1
	[ $image_cycle_ok = 1 ]
}

# repeat N CMD: run CMD N times; $passes: how many times it succeeded.
repeat() {
	passes=0
	repeat_i=0
	while [ $repeat_i -lt "$1" ]; do
		$2 && passes=$((passes + 1))
		repeat_i=$((repeat_i + 1))
	done
}

setup
trap tun_cleanup EXIT
ktap_header 31

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
traffic_start
repeat "$CYCLES" cycle_once
echo "# $passes of $CYCLES applied companions carried traffic"
ktap_result "$CYCLES applies and reverts under traffic: each carried traffic, no byte lost" \
	eval 'traffic_stop && [ $passes = $CYCLES ]'
ktap_result "$CYCLES applies and reverts: every upstream selftest run in between passed" \
	loop_passed

# Servicing: tun_image.ko.  Module reference counts are compared while no
# traffic runs: an open /dev/net/tun file holds one on tun too.
if [ -e "$MODDIR/$IMG.ko" ] && [ -x "$TUNIF" ] && [ -x "$CTL" ]; then
	sed 's/^/# /' "$D/image.report"
	ktap_result "image: answers to none of tun's module aliases (modprobe finds the host)" \
		eval '! tr "\0" "\n" < "$MODDIR/$IMG.ko" | grep -q "^alias="'
	# vhost-net, linked against tun's exports, stays loaded throughout.
	"$TOOL" insmod "$D/stock/vhost_net.ko" > /dev/null || die "cannot load vhost_net"
	r0=$(cat /sys/module/tun/refcnt)
	tunif create dpxpre tun 0 || die "cannot create dpxpre"
	traffic_start
	ktap_result "image: drvproxyctl load applies it under traffic; the ioctls and show_fdinfo are the image's" \
		eval '"$CTL" load "$MODDIR/$IMG.ko" && image_is $IMG $IMAGE_EPS'
	ktap_result "image: the upstream tun selftest passes with it applied" \
		eval 'applied && client_passes /tmp/tun.img'
	ktap_result "image applied: traffic and the selftest loop pass; the unchanged endpoints stay tun's" \
		eval 'traffic_stop && loop_passed && applied && image_is tun $HOST_EPS'
	ktap_result "image applied: vhost-net takes a tun file as a ring's backend (tun's export)" \
		eval 'applied && backend /dev/net/tun 0'
	# An applied layer holds a reference on tun itself: counted from here.
	i0=$(cat /sys/module/$IMG/refcnt 2> /dev/null)
	t0=$(cat /sys/module/tun/refcnt)
	ktap_result "image applied: an interface created before keeps its type (same net_device_ops)" \
		eval 'applied && same_type dpxpre tun tap'
	ktap_result "image applied: TUNSETPERSIST takes tun's module reference, not the image's" \
		eval 'applied && tunif create dpxdur tun 0 && tunif create dpxdur2 tap 0 &&
			refs tun $((t0 + 2)) && refs $IMG $i0'
	ktap_result "image applied: interfaces created with it have tun's net_device_ops" \
		eval 'applied && same_type dpxdur tun tap && same_type dpxdur2 tap tun'
	ktap_result "image applied: rtnl deletes one (tun's registered rtnl_link_ops), tun's reference goes" \
		eval 'applied && link_delete dpxdur2 && refs tun $((t0 + 1)) && refs $IMG $i0'
	traffic_start
	ktap_result "image: rmmod under traffic succeeds, the running tun's code is back" \
		eval '"$TOOL" rmmod $IMG > /dev/null && loop_until "! is_loaded $IMG" &&
			image_is tun $IMAGE_EPS'
	ktap_result "after the image: traffic and the selftest loop passed throughout" \
		eval 'traffic_stop && loop_passed'
	ktap_result "after the image: the interface created with it is tun's (type, rtnl delete, reference)" \
		eval 'same_type dpxdur tun tap && link_delete dpxdur && refs tun $((r0 + 1))'
	ktap_result "after the image: the one created before it unpersists, tun's count is back" \
		eval 'same_type dpxpre tun tap && tunif unpersist dpxpre tun 0 &&
			loop_until "[ ! -e /sys/class/net/dpxpre ]" && refs tun $r0'
	ktap_result "after the image: a new interface is the same (type, reference, rtnl delete)" \
		eval 'tunif create dpxpost tap 0 && same_type dpxpost tap tun && refs tun $((r0 + 1)) &&
			link_delete dpxpost && refs tun $r0'
	traffic_start
	repeat "$IMAGE_CYCLES" image_cycle
	echo "# $passes of $IMAGE_CYCLES loads installed the image's code and reverted"
	ktap_result "$IMAGE_CYCLES loads and reverts of the image under traffic: no byte lost, selftests pass" \
		eval 'traffic_stop && loop_passed && [ $passes = $IMAGE_CYCLES ]'
else
	for t in "no alias" "applies" "selftest" "traffic" "vhost-net" "before" "persist" "created with it" \
		"rtnl" "rmmod" "after: traffic" "after: created with it" "after: before" \
		"after: new" "cycles"; do
		ktap_skip "image: $t" "tun_image.ko, tunif or drvproxyctl not built"
	done
fi
unload_loaded vhost_net

unload_mod tun
ktap_result "the converted tun unloads and /dev/net/tun goes away" eval '[ ! -e /dev/net/tun ]'
ktap_finish
