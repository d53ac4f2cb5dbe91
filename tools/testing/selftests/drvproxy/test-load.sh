#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-load.sh - load and unload orders of the host, its companions and
# drvproxy itself, and every refusal, against exact kernel-log transcripts.
#
# Host rmmod while a companion is loaded or a file is open is refused as
# "in use" (EAGAIN from delete_module with O_NONBLOCK): every applied layer
# and every open file pins the host module, so open files never see a driver
# that went away.
. "$(dirname "$0")/functions.sh"

setup
ktap_header 13

start_test "host and companion load, unload in reverse order"
load_mod drvproxy_demo
load_mod drvproxy_demo_v2
unload_mod drvproxy_demo_v2
unload_mod drvproxy_demo
check_result "% insmod drvproxy_demo.ko
drvproxy_demo: /dev/drvproxy_demo ready (implementation 1)
% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo: drvproxy_demo_v2 applied (live, 3 endpoints, generation 2)
% rmmod drvproxy_demo_v2
drvproxy: drvproxy_demo: drvproxy_demo_v2 reverted (generation 3)
% rmmod drvproxy_demo"

start_test "companion without its host is refused"
load_failing_mod drvproxy_demo_v2
check_result "% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo_v2: target driver drvproxy_demo is not registered
insmod: drvproxy_demo_v2.ko: ENODEV"

start_test "double insmod of host and companion is refused"
load_mod drvproxy_demo
load_failing_mod drvproxy_demo
load_mod drvproxy_demo_v2
load_failing_mod drvproxy_demo_v2
check_result "% insmod drvproxy_demo.ko
drvproxy_demo: /dev/drvproxy_demo ready (implementation 1)
% insmod drvproxy_demo.ko
insmod: drvproxy_demo.ko: EEXIST
% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo: drvproxy_demo_v2 applied (live, 3 endpoints, generation 2)
% insmod drvproxy_demo_v2.ko
insmod: drvproxy_demo_v2.ko: EEXIST"

start_test "host rmmod while a companion is applied is refused"
unload_failing_mod drvproxy_demo
unload_failing_mod drvproxy
unload_mod drvproxy_demo_v2
check_result "% rmmod drvproxy_demo
rmmod: drvproxy_demo: EAGAIN
% rmmod drvproxy
rmmod: drvproxy: EAGAIN
% rmmod drvproxy_demo_v2
drvproxy: drvproxy_demo: drvproxy_demo_v2 reverted (generation 3)"

start_test "host rmmod while a file is open is refused"
exec 3< $DEV
unload_failing_mod drvproxy_demo
exec 3<&-
unload_mod drvproxy_demo
check_result "% rmmod drvproxy_demo
rmmod: drvproxy_demo: EAGAIN
% rmmod drvproxy_demo"

start_test "stacked companions, the middle one unloaded first"
load_mod drvproxy_demo
load_mod drvproxy_demo_v2
load_mod drvproxy_demo_v3
unload_mod drvproxy_demo_v2
unload_mod drvproxy_demo_v3
unload_mod drvproxy_demo
check_result "% insmod drvproxy_demo.ko
drvproxy_demo: /dev/drvproxy_demo ready (implementation 1)
% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo: drvproxy_demo_v2 applied (live, 3 endpoints, generation 2)
% insmod drvproxy_demo_v3.ko
drvproxy: drvproxy_demo: drvproxy_demo_v3 applied (stalled, 1 endpoints, generation 3)
% rmmod drvproxy_demo_v2
drvproxy: drvproxy_demo: drvproxy_demo_v2 reverted (generation 4)
% rmmod drvproxy_demo_v3
drvproxy: drvproxy_demo: drvproxy_demo_v3 reverted (generation 5)
% rmmod drvproxy_demo"

start_test "stacked companions, unloaded top first"
load_mod drvproxy_demo
load_mod drvproxy_demo_v2
load_mod drvproxy_demo_v3
unload_mod drvproxy_demo_v3
unload_mod drvproxy_demo_v2
unload_mod drvproxy_demo
check_result "% insmod drvproxy_demo.ko
drvproxy_demo: /dev/drvproxy_demo ready (implementation 1)
% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo: drvproxy_demo_v2 applied (live, 3 endpoints, generation 2)
% insmod drvproxy_demo_v3.ko
drvproxy: drvproxy_demo: drvproxy_demo_v3 applied (stalled, 1 endpoints, generation 3)
% rmmod drvproxy_demo_v3
drvproxy: drvproxy_demo: drvproxy_demo_v3 reverted (generation 4)
% rmmod drvproxy_demo_v2
drvproxy: drvproxy_demo: drvproxy_demo_v2 reverted (generation 5)
% rmmod drvproxy_demo"

start_test "a companion with a different signature is refused"
load_mod drvproxy_demo
gen=$(cat $DRV/generation)
load_failing_mod drvproxy_demo_badsig
check_result "% insmod drvproxy_demo.ko
drvproxy_demo: /dev/drvproxy_demo ready (implementation 1)
% insmod drvproxy_demo_badsig.ko
drvproxy: drvproxy_demo: drvproxy_demo_badsig: signature of demo_badsig_read is ssize_t(struct file *, char *, int, loff_t *), endpoint demo_read is ssize_t(struct file *, char *, size_t, loff_t *)
insmod: drvproxy_demo_badsig.ko: EINVAL"
# What the refusal must leave alone, as results of their own: the
# transcript above only holds the kernel log.
ktap_result "the refused companion changed nothing: generation, stack, demo_read" \
	eval 'check_sysfs_value $DRV/generation "$gen" && check_sysfs_value $DRV/stack "" &&
	check_sysfs_value $DRV/endpoints/demo_read/current "demo_read [drvproxy_demo]" &&
	check_sysfs_value $DRV/endpoints/demo_read/swaps 0 && [ ! -d $DRV/layers/drvproxy_demo_badsig ]'

start_test "an excluded driver refuses companions, and refuses to load"
echo drvproxy_demo > /sys/module/drvproxy/parameters/exclude
load_failing_mod drvproxy_demo_v2
unload_mod drvproxy_demo
load_failing_mod drvproxy_demo
echo > /sys/module/drvproxy/parameters/exclude
check_result "% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo_v2: driver drvproxy_demo is excluded
insmod: drvproxy_demo_v2.ko: EPERM
% rmmod drvproxy_demo
% insmod drvproxy_demo.ko
drvproxy: drvproxy_demo: driver is excluded (parameter exclude)
drvproxy_demo: load failed: -1
insmod: drvproxy_demo.ko: EPERM"

start_test "drvproxy disabled globally refuses companions"
load_mod drvproxy_demo
echo 0 > /sys/module/drvproxy/parameters/enabled
load_failing_mod drvproxy_demo_v2
echo 1 > /sys/module/drvproxy/parameters/enabled
unload_mod drvproxy_demo
check_result "% insmod drvproxy_demo.ko
drvproxy_demo: /dev/drvproxy_demo ready (implementation 1)
% insmod drvproxy_demo_v2.ko
drvproxy: drvproxy_demo_v2: drvproxy is disabled
insmod: drvproxy_demo_v2.ko: EOPNOTSUPP
% rmmod drvproxy_demo"

# The device node is root-only unless the driver widens it (device_mode).
load_mod drvproxy_demo
ktap_result "the demo's device node is 0600, root only" \
	check_sysfs_rights $DEV crw-------

# A companion's apply taints the kernel K (TAINT_LIVEPATCH, bit 15), and
# the taint stays after the revert.
load_mod drvproxy_demo_v2
unload_mod drvproxy_demo_v2
unload_mod drvproxy_demo
ktap_result "an applied companion tainted the kernel K (TAINT_LIVEPATCH), for good" \
	eval '[ $(($(cat /proc/sys/kernel/tainted) >> 15 & 1)) = 1 ]'

ktap_finish
