#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-driver-uhid.sh - a second real driver, converted: linux-source-6.12's
# drivers/hid/uhid.c with drivers/uhid/uhid.patch (its file_operations
# methods and its device-add work function made endpoints, the blocking
# read's wait swap-aware, the miscdevice a driver object and device with
# uhid's fixed minor; the HID devices it creates keep /dev/uhid's device as
# their parent).
#
# The client is the kernel's own uhid sample (samples/uhid/uhid-example.c,
# unchanged): it creates a HID mouse through /dev/uhid and turns the keys
# it reads on stdin into input reports, and prints the LED output reports
# the kernel sends back.  The kernel's hid, hid-generic and evdev modules
# make it two input devices, "test-uhid-device Mouse" and "... Keyboard";
# evread reads their events and writes the keyboard's LED.  The same checks run
# against the unconverted driver (the same file built as it is), the
# converted one, and the converted one with drvproxy_uhid_count.ko (wraps
# read and write, calls the implementation below):
#   - the device appears as an input device and takes reports, an LED write
#     reaches the client as an output report (uhid's read), a key sequence
#     gives the same input events as on the plain driver, and the client
#     quits cleanly;
#   - 50 applies and reverts of the companion, live and stalled in turn,
#     while the client sends reports back to back: each applied companion
#     carries reports (its write count grows), every report arrives as an
#     input event, none is dropped;
#   - a stalled apply and revert while a reader blocks in uhid's read: the
#     conversion made that wait swap-aware, so neither waits out the drain
#     timeout (an apply then fails; a revert from rmmod is retried live and
#     says so in the kernel log), and the reader stays blocked.
. "$(dirname "$0")/functions.sh"

D=$(cd "$(dirname "$0")" && pwd)/drivers/uhid
CLIENT=$D/bin/uhid-example
EVREAD=$(dirname "$0")/bin/evread
NAME=test-uhid-device
COUNTS=/sys/module/drvproxy_uhid_count/parameters
READ_EP=$SYSFS/drivers/uhid/endpoints/uhid_char_read
WRITE_EP=$SYSFS/drivers/uhid/endpoints/uhid_char_write
STOP=/tmp/uhid.stop
CYCLES=${UHID_CYCLES:-50}
# Movements and all three buttons; '3' (BTN_MIDDLE down, "1 274 1") comes
# last, so its event says that every event before it has arrived.
KEYS=dasw1122rf3

driver_test_needs "$CLIENT" "$EVREAD" "$D/plain/uhid.ko" "$D/stock/hid.ko" \
	"$D/stock/hid-generic.ko" "$D/stock/evdev.ko" "$MODDIR/uhid.ko" \
	"$MODDIR/drvproxy_uhid_count.ko"

uhid_cleanup() {
	touch "$STOP"
	[ -n "${writer_pid:-}" ] && kill "$writer_pid" 2> /dev/null
	[ -n "${ev_pid:-}" ] && kill "$ev_pid" 2> /dev/null
	[ -n "${client_pid:-}" ] && kill "$client_pid" 2> /dev/null
	[ -n "${reader_pid:-}" ] && kill "$reader_pid" 2> /dev/null
	killall uhid-example evread 2> /dev/null
	wait 2> /dev/null
	unload_loaded drvproxy_uhid_count uhid hid_generic evdev hid
	cleanup_modules
}

# client_start: uhid-example reading its keys from a FIFO held on fd 3.
client_start() {
	rm -f /tmp/uhid.in
	mkfifo /tmp/uhid.in
	"$CLIENT" < /tmp/uhid.in > /tmp/uhid.out 2>&1 &
	client_pid=$!
	exec 3> /tmp/uhid.in
}

# client_quits: 'q', then the client exits 0 without having reported an
# error (it exits 0 after errors too; "Cannot get tty state" is only its
# stdin not being a terminal) and its input device goes.
client_quits() {
	kill -0 $client_pid 2> /dev/null || { echo "# the client had already exited"; return 1; }
	printf q >&3
	exec 3>&-
	loop_until '! kill -0 $client_pid 2> /dev/null' || kill $client_pid
	wait $client_pid
	client_rc=$?
	client_pid=""
	sed 's/^/#   /' /tmp/uhid.out
	[ $client_rc = 0 ] && grep -q "^Destroy uhid device" /tmp/uhid.out &&
		! grep -qE "^(Cannot (open|write|read|poll)|Invalid|Wrong|Read HUP on uhid)" /tmp/uhid.out &&
		loop_until '! grep -q "^$NAME" /sys/class/input/*/name 2> /dev/null'
}

# evread_start SECONDS OUT: evread of the mouse in the background, until
# ready.
evread_start() {
	ev_out=$2
	"$EVREAD" "$NAME Mouse" "$1" /tmp/ev.count > "$ev_out" 2>&1 &
	ev_pid=$!
	loop_until 'grep -q "^evread: ready" "$ev_out"' || { sed 's/^/#   /' "$ev_out"; return 1; }
}

evread_stop() {
	kill $ev_pid 2> /dev/null
	wait $ev_pid 2> /dev/null
	ev_pid=""
}

# led_reaches_client: NumLock on at the keyboard half of the device.
# device_ready: send keys until one comes through.  The input device appears
# while the HID core still probes the device, and until the probe returns
# hid_input_report() refuses reports with -EBUSY (the probe holds
# driver_input_lock), which uhid ignores: a report written in that window is
# lost, with the plain driver as with the converted one.
device_ready() {
	warm=0
	while [ $warm -lt 5 ]; do
		warm_base=$(cat /tmp/ev.count)
		printf d >&3
		loop_until '[ "$(cat /tmp/ev.count)" -gt "$warm_base" ]' && return 0
		warm=$((warm + 1))
	done
	return 1
}

led_reaches_client() {
	"$EVREAD" "$NAME Keyboard" 10 /tmp/ev.kbd.count --led > /tmp/ev.kbd 2>&1 &
	led_pid=$!
	led_ok=0
	loop_until 'grep -q "^LED output report received with flags 1" /tmp/uhid.out' && led_ok=1
	kill $led_pid 2> /dev/null
	wait $led_pid 2> /dev/null
	[ $led_ok = 1 ] || sed 's/^/#   /' /tmp/uhid.out /tmp/ev.kbd
	[ $led_ok = 1 ]
}

# keys_give_events OUT: the key sequence's events, up to BTN_MIDDLE down.
# One key at a time, each after the events of the one before: the sample
# handles only the first key of what one read() of stdin returns (its loop
# bound is the variable that takes send_event()'s result).
keys_give_events() {
	keys_out=$1
	keys_rest=$KEYS
	while [ -n "$keys_rest" ]; do
		keys_base=$(cat /tmp/ev.count)
		printf '%s' "${keys_rest%"${keys_rest#?}"}" >&3
		keys_rest=${keys_rest#?}
		loop_until '[ "$(cat /tmp/ev.count)" -gt "$keys_base" ]' || break
	done
	loop_until 'grep -qx "1 274 1" "$keys_out"' || { sed 's/^/#   /' "$keys_out"; return 1; }
}

same_events() {
	grep -v '^evread:' "$1" > /tmp/ev.a
	grep -v '^evread:' "$2" > /tmp/ev.b
	cmp -s /tmp/ev.a /tmp/ev.b || {
		diff /tmp/ev.a /tmp/ev.b | sed 's/^/# /'
		return 1
	}
}

node_is_uhid_minor() {
	[ "$(stat -c '%t:%T' /dev/uhid 2> /dev/null)" = "a:ef" ] || {
		echo "# /dev/uhid: $(ls -l /dev/uhid 2>&1)"
		return 1
	}
}

# variant LABEL: the client's session, its events in /tmp/ev.LABEL.
variant() {
	client_start
	ktap_result "$1: the client's device appears and takes reports" \
		eval 'evread_start 60 /tmp/ev.ready && device_ready'
	evread_stop
	ktap_result "$1: an LED write reaches the client as an output report" led_reaches_client
	evread_start 60 /tmp/ev.$1 || echo "# evread did not start again"
	# The writes the keys make, through the endpoint and the companion.
	calls_base=$(cat $WRITE_EP/calls 2> /dev/null || echo 0)
	comp_base=$(cat $COUNTS/writes 2> /dev/null || echo 0)
	if [ "$1" = plain ]; then
		keys_give_events /tmp/ev.plain || echo "# the plain driver's events did not all arrive"
		echo "# plain: $(cat /tmp/ev.count) input events for the keys $KEYS"
	else
		variant_label=$1
		ktap_result "$1: the keys give the same input events as on the plain driver" \
			eval 'keys_give_events /tmp/ev.$variant_label &&
				same_events /tmp/ev.plain /tmp/ev.$variant_label'
	fi
	keys_calls=$(($(cat $WRITE_EP/calls 2> /dev/null || echo 0) - calls_base))
	keys_comp=$(($(cat $COUNTS/writes 2> /dev/null || echo 0) - comp_base))
	evread_stop
}

# cycle_once PARAMS: apply, see a report pass through the companion, revert.
cycle_once() {
	cycle_out=$("$TOOL" insmod "$MODDIR/drvproxy_uhid_count.ko" "$1") ||
		{ echo "# cycle $i: $cycle_out"; return 1; }
	cycle_ok=0
	loop_until '[ "$(cat $COUNTS/writes)" -gt 0 ]' && cycle_ok=1
	cycle_out=$("$TOOL" rmmod drvproxy_uhid_count) || { echo "# cycle $i: $cycle_out"; return 1; }
	loop_until '! is_loaded drvproxy_uhid_count' || return 1
	[ $cycle_ok = 1 ] || echo "# cycle $i ($1): no report went through the companion in 10 s"
	[ $cycle_ok = 1 ]
}

# no_failed_revert: no stalled revert of the companion timed out (a revert
# from rmmod never fails: it is retried live, and says so in the log).
no_failed_revert() {
	[ "$(dmesg | grep -c "revert of drvproxy_uhid_count failed")" = "$failed_reverts" ] || {
		dmesg | grep "revert of drvproxy_uhid_count failed" | sed 's/^/# /'
		return 1
	}
}

all_reports_arrived() {
	sent=$(cat /tmp/uhid.sent)
	loop_until '[ $(($(cat /tmp/ev.count) - events_base)) -ge "$sent" ]'
	got=$(($(cat /tmp/ev.count) - events_base))
	echo "# $sent keys sent, $(($(cat $WRITE_EP/calls) - writes_base)) writes to /dev/uhid, $got input events read"
	[ "$got" = "$sent" ] && ! grep -q "^evread: dropped" /tmp/ev.load
}

setup
trap uhid_cleanup EXIT
ktap_header 18
for m in hid hid-generic evdev; do
	stock_load $m
done

"$TOOL" insmod "$D/plain/uhid.ko" > /dev/null || die "cannot load the plain uhid.ko"
variant plain
ktap_result "plain: the client quits cleanly and its device goes away" client_quits
"$TOOL" rmmod uhid > /dev/null || die "cannot unload the plain uhid.ko"
loop_until '! is_loaded uhid' || die "the plain uhid did not go away"

load_mod uhid
ktap_result "converted: /dev/uhid is misc 10:239, as upstream" node_is_uhid_minor
variant converted
ktap_result "converted: the client quits cleanly and its device goes away" client_quits

load_mod drvproxy_uhid_count
variant companion
ktap_result "companion: every key's report went through it, and the LED's read" \
	eval 'echo "# keys: $keys_calls writes, $keys_comp through the companion";
		[ "$keys_calls" -ge ${#KEYS} ] && [ "$keys_comp" = "$keys_calls" ] &&
		[ "$(cat $COUNTS/reads)" -gt 0 ]'
ktap_result "companion: the client quits cleanly and its device goes away" client_quits
unload_mod drvproxy_uhid_count

# Cycles under load: reports, each read back as an input event.  A key is
# sent once the one before it has arrived (or 5 s passed, then it is lost):
# a client delayed by a stall would otherwise find several keys in one read
# of its stdin and, as said above, send only the first.
# The count starts after device_ready.
client_start
evread_start 3600 /tmp/ev.load || die "evread did not start"
device_ready || die "the client's device takes no report"
failed_reverts=$(dmesg | grep -c "revert of drvproxy_uhid_count failed")
rm -f "$STOP"
echo 0 > /tmp/uhid.sent
writes_base=$(cat $WRITE_EP/calls)
events_base=$(cat /tmp/ev.count)
(
	n=0
	while [ ! -e "$STOP" ]; do
		base=$(cat /tmp/ev.count)
		printf d >&3
		n=$((n + 1))
		echo $n > /tmp/uhid.sent
		j=0
		while [ "$(cat /tmp/ev.count)" -le "$base" ] && [ $j -lt 500 ]; do
			sleep 0.01
			j=$((j + 1))
		done
	done
) &
writer_pid=$!
carried=0
i=0
while [ $i -lt "$CYCLES" ]; do
	cycle_once "stalled=$((i % 2))" && carried=$((carried + 1))
	i=$((i + 1))
done
touch "$STOP"
wait $writer_pid
writer_pid=""
echo "# $carried of $CYCLES applied companions carried reports"
ktap_result "$CYCLES applies and reverts, live and stalled, under load: each carried reports, every report arrived" \
	eval 'all_reports_arrived && [ $carried = $CYCLES ] && no_failed_revert'
evread_stop
ktap_result "$CYCLES applies and reverts: the client lived through them and quits cleanly" \
	eval 'kill -0 $client_pid && client_quits'

# A reader blocked in uhid's read: its own /dev/uhid file, no device yet.
dd if=/dev/uhid of=/dev/null bs=4096 count=1 2> /dev/null &
reader_pid=$!
loop_until '[ "$(cat $READ_EP/in_flight)" -ge 1 ]' || echo "# the reader did not block in uhid's read"
failed_reverts=$(dmesg | grep -c "revert of drvproxy_uhid_count failed")
ktap_result "a stalled apply completes while a reader blocks in uhid's read" \
	eval '"$TOOL" insmod "$MODDIR/drvproxy_uhid_count.ko" stalled=1 &&
		loop_until "[ \$(cat $READ_EP/in_flight) -ge 1 ]"'
ktap_result "a stalled revert does not wait out the drain for a reader blocked in uhid's read" \
	eval 'unload_mod drvproxy_uhid_count && no_failed_revert &&
		loop_until "[ \$(cat $READ_EP/in_flight) -ge 1 ]" && kill -0 $reader_pid'
kill $reader_pid 2> /dev/null
wait $reader_pid 2> /dev/null
reader_pid=""

unload_mod uhid
ktap_result "the converted uhid unloads and /dev/uhid goes away" eval '[ ! -e /dev/uhid ]'
ktap_finish
