#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh - the story `make demo` tells, run inside the guest.
#
# Each step prints the command ("$ ...") and what it shows.  A reader
# process keeps /dev/drvproxy_demo open and blocked in read() across the
# swap and the revert: it is never reopened, and its data comes from
# whichever implementation is current when the data arrives.
set -u

MOD=/lib/drvproxy
DRV=/sys/kernel/drvproxy/drivers/drvproxy_demo
EP=$DRV/endpoints/demo_read
DEV=/dev/drvproxy_demo
PATH=$PATH:/data/bin

step() { printf '\n=== %s\n' "$*"; }
run() { echo "\$ $*"; sh -c "$*"; }
fail() { echo "demo: FAILED: $*"; exit 1; }

sysfs_state() {
	run "cat $DRV/generation $DRV/stack"
	run "cat $EP/current $EP/swaps"
	if command -v drvproxyctl > /dev/null; then
		run "drvproxyctl status"
	fi
}

step "1. Load the framework and the host driver"
run "insmod $MOD/drvproxy.ko" || fail "insmod drvproxy"
run "insmod $MOD/drvproxy_demo.ko" || fail "insmod drvproxy_demo"
run "ls -l $DEV"
run "ls $DRV/endpoints"

step "2. Move data through the FIFO (implementation 1)"
run "echo 'hello, hot swap' > $DEV"
run "dpxtool readn 16"
run "dpxtool info impl_version"

step "3. Swap state before the swap"
sysfs_state

step "4. A reader opens the device and blocks in read()"
cat $DEV > /tmp/reader.out &
reader=$!
i=0
while [ "$(cat $EP/in_flight)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
run "cat $EP/in_flight"

step "5. Load the companion while the reader waits: a live swap"
run "insmod $MOD/drvproxy_demo_v2.ko" || fail "insmod drvproxy_demo_v2"
run "dpxtool info impl_version"
run "dpxtool xform 1    # SET_TRANSFORM: upper-case, new in version 2"
run "echo 'written after the swap' > $DEV"
sleep 0.3
run "cat /tmp/reader.out    # the same open file, now served by version 2"
sysfs_state
run "cat $DRV/history"

step "6. Unload the companion while the reader still waits: a live revert"
run "rmmod drvproxy_demo_v2" || fail "rmmod drvproxy_demo_v2"
run "echo 'written after the revert' > $DEV"
sleep 0.3
run "cat /tmp/reader.out    # version 1 again: no transform"
sysfs_state
run "dpxtool info"

step "7. Close the reader, unload the host and the framework"
kill $reader
wait $reader 2> /dev/null
run "rmmod drvproxy_demo" || fail "rmmod drvproxy_demo"
run "rmmod drvproxy" || fail "rmmod drvproxy"
grep -q 'WRITTEN AFTER THE SWAP' /tmp/reader.out || fail "the reader did not get version 2's data"
grep -q 'written after the revert' /tmp/reader.out || fail "the reader did not get version 1's data"
echo
echo "demo: one reader, never reopened, was served by version 1, version 2 and version 1 again."
