#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-unplug.sh - hot-unplug of a device with files open on it, as a bus
# removes a device: the demo's "present" parameter deletes the device
# (drvproxy_delete_device()) and plugs a new one in.  An open file's calls
# then fail with ENODEV, a reader blocked in read() returns ENODEV, the
# state block is freed at the last close and not before, every open got
# exactly one release (the demo logs "state freed: N opens, 0 still open"),
# also when the new device took the old one's minor.
. "$(dirname "$0")/functions.sh"

PRESENT=/sys/module/drvproxy_demo/parameters/present

FREED=/sys/module/drvproxy_demo/parameters/states_freed

# freed_is N: the demo freed N state blocks so far.
freed_is() {
	[ "$(cat $FREED)" = "$1" ]
}

# no_unbalanced: no state block was freed with a file still counted open
# (an open whose release went elsewhere, or never came).
no_unbalanced() {
	! dmesg | grep -q 'state freed with .* files counted open'
}

# fails_enodev CMD...: CMD fails and says "No such device".
fails_enodev() {
	if "$@" 2> /tmp/unplug.err; then
		echo "# $*: succeeded"
		return 1
	fi
	grep -q 'No such device' /tmp/unplug.err || {
		echo "# $*: $(cat /tmp/unplug.err)"
		return 1
	}
}

read_fd3() {
	dd bs=1 count=1 <&3 > /dev/null
}

write_fd3() {
	dd if=/dev/zero bs=1 count=1 >&3
}

reader_in_read() {
	[ "$(cat $DRV/endpoints/demo_read/in_flight)" = 1 ]
}

setup
ktap_header 11
load_mod drvproxy_demo

exec 3<> $DEV
printf ab >&3
echo 0 > $PRESENT
ktap_result "unplug removes the device node" eval "[ ! -e $DEV ] && [ \"\$(cat $PRESENT)\" = 0 ]"
ktap_result "a read on a file still open fails with ENODEV" fails_enodev read_fd3
ktap_result "a write on a file still open fails with ENODEV" fails_enodev write_fd3
ktap_result "the state block lives while the file is open" freed_is 0

# A new device takes the old one's name (and, as a rule, its minor).
echo 1 > $PRESENT
exec 4<> $DEV
exec 3>&-
ktap_result "the last close frees the old state, its open released once" \
	eval "loop_until 'freed_is 1' && no_unbalanced"
ktap_result "the new device works and saw none of the old file's release" \
	eval "printf xy >&4 && [ \"\$(\"$TOOL\" info fill)\" = 2 ]"
exec 4>&-

# A reader blocked in read() when the device goes.
"$TOOL" reset > /dev/null
"$TOOL" readn 3 > /tmp/unplug.r 2> /tmp/unplug.rerr &
r=$!
loop_until reader_in_read || die "reader did not block"
echo 0 > $PRESENT
rc=0
wait $r || rc=$?
ktap_result "a reader blocked in read() returns ENODEV at unplug" \
	eval "[ $rc != 0 ] && grep -q 'read: ENODEV' /tmp/unplug.r"
ktap_result "its close frees that state, every open released once" \
	eval "loop_until 'freed_is 2' && no_unbalanced"
ktap_result "unplugging while unplugged and plugging in while plugged in change nothing" \
	eval "echo 0 > $PRESENT && echo 1 > $PRESENT && echo 1 > $PRESENT && [ -e $DEV ]"
ktap_result "a bad value is refused with EINVAL" eval "! echo maybe 2> /dev/null > $PRESENT"
ktap_result "rmmod with a device plugged in unloads cleanly" \
	eval "[ \"\$(cat $FREED)\" = 2 ] && unload_mod drvproxy_demo && ! is_loaded drvproxy_demo && no_unbalanced"
ktap_finish
