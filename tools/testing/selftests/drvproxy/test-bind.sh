#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-bind.sh - an image companion's code uses the running driver's own
# data, const tables, helpers, static locals, static keys and module.
# image/build.sh built drvproxy_detect (image/detect/detect.c) and, with
# make companion, its image from detect-1.1.patch, whose changed read
# reports the driver's counter det_calls (incremented by the driver's
# unchanged write and helper too), THIS_MODULE's name, whether the
# device's ops pointer is the driver's &det_ops, the count of reads in
# read's static local "lines" and whether the driver's static key
# det_loud is on, and whose open and release pin and unpin THIS_MODULE.
# Checks that a plain insmod of the image is refused (by drvproxy; on
# arm64 the module loader refuses it first), that drvproxyctl load links
# and applies it, that counter, static local, static key, table and module
# are the driver's, that the driver cannot be unloaded under its image,
# that new data of the image starts over at each load, and that rmmod of
# the image restores 1.0.
#
# Usage (in the guest, via tools/check.sh stage selftests): ./test-bind.sh
. "$(dirname "$0")/functions.sh"

HOST=drvproxy_detect
IMG=drvproxy_detect_image
DEV=/dev/$HOST
CTL=${CTL:-$(cd "$(dirname "$0")" && pwd)/bin/drvproxyctl}
DRV=/sys/kernel/drvproxy/drivers/$HOST

setup
if [ ! -f "$MODDIR/$HOST.ko" ] || [ ! -f "$MODDIR/$IMG.ko" ] || [ ! -x "$CTL" ]; then
	echo "1..0 # SKIP $HOST and its image not built (image/build.sh), or no drvproxyctl"
	exit $ksft_skip
fi
trap 'unload_loaded $IMG $HOST; cleanup_modules' EXIT

ktap_header 9
load_mod $HOST
loop_until "[ -c $DEV ]" || die "$DEV did not appear"

# read1: one read(2) of the device.
read1() {
	dd if=$DEV bs=256 count=1 2> /dev/null
}
calls() {
	cat /sys/module/$HOST/parameters/calls
}
refcnt() {
	cat /sys/module/$1/refcnt
}

# What an open file adds to the driver's reference count under 1.0.
base=$(refcnt $HOST)
exec 3< $DEV
open_v1=$(($(refcnt $HOST) - base))
exec 3<&-

# refused_unlinked: the kernel log since the canary says the image was
# refused for its unresolved links: by drvproxy, or on arm64 already by
# the module loader (an ADRP cannot reach address 0).
refused_unlinked() {
	since=$(dmesg | awk -v c="$CANARY" 'f { print } index($0, c) { f = 1 }')
	echo "$since" | sed 's/^/# /'
	echo "$since" | grep -qF "drvproxy: $HOST: $IMG is not linked to the running $HOST (__this_module): load it with drvproxyctl load" ||
		echo "$since" | grep -q "module $IMG: overflow in relocation type"
}

gen=$(cat $DRV/generation)
start_test "a plain insmod of an image linked to the running driver is refused, nothing changed"
load_failing_mod $IMG
ktap_result "$TEST_DESC" eval 'refused_unlinked && ! is_loaded $IMG &&
	[ "$(cat $DRV/generation)" = $gen ] && read1 | grep -q "^1.0 calls="'

l=$(read1 | sed -n 's/.* lines=//p')
c=$(calls)
start_test "drvproxyctl load links the image to the running driver and applies it"
out=$("$CTL" load "$MODDIR/$IMG.ko" 2>&1) || log "$out"
log "$out"
ktap_result "$TEST_DESC" eval 'is_loaded $IMG &&
	[ "$out" = "$MODDIR/$IMG.ko: linked 6 symbols to the running $HOST, loaded" ] &&
	[ "$(cat $DRV/generation)" = $((gen + 1)) ] && [ "$(calls)" = "$c" ]'

echo x > $DEV
line=$(read1)
log "1.1 read: $line"
ktap_result "one counter: the driver's write and the image's read both count in det_calls" \
	eval '[ "${line% lines=*}" = "1.1 $HOST calls=$((c + 2)) ops=ok reads=1" ] &&
	[ "$(calls)" = $((c + 2)) ]'
ktap_result "one static local: the image's read counts on in the driver's read's \"lines\"" \
	eval '[ "${line##* lines=}" = $((l + 1)) ]'

base=$(refcnt $HOST)
img_base=$(refcnt $IMG)
exec 3< $DEV
open_v11=$(($(refcnt $HOST) - base))
img_open=$(($(refcnt $IMG) - img_base))
exec 3<&-
log "an open file adds $open_v1 to $HOST's count under 1.0, $open_v11 under 1.1, $img_open to $IMG's"
ktap_result "THIS_MODULE is the driver: the image's open pins $HOST, not the image" \
	eval '[ $open_v11 = $((open_v1 + 1)) ] && [ $img_open = 0 ] &&
	[ "$(refcnt $HOST)" = "$base" ] && [ "$(refcnt $IMG)" = "$img_base" ]'

start_test "rmmod of the driver while its image is applied is refused; the image stays applied"
unload_failing_mod $HOST
ktap_result "$TEST_DESC" eval 'is_loaded $HOST && is_loaded $IMG &&
	check_sysfs_value $DRV/endpoints/det_read/current "det_read [$IMG]"'

unload_mod $IMG
line=$(read1)
log "after rmmod: $line"
ktap_result "rmmod of the image restores 1.0; the counter goes on" \
	eval '[ "$line" = "1.0 calls=$((c + 3)) lines=$((l + 2))" ] && [ "$(cat $DRV/generation)" = $((gen + 2)) ]'

"$CTL" load "$MODDIR/$IMG.ko" > /dev/null || die "drvproxyctl load $IMG"
line=$(read1)
log "reloaded: $line"
ktap_result "new data of the image starts over at each load" \
	eval '[ "$line" = "1.1 $HOST calls=$((c + 4)) ops=ok reads=1 lines=$((l + 3))" ]'

# The driver's unchanged write switches its static key det_loud on; the
# image's read tests it with a jump label of its own code.
printf loud > $DEV
line=$(read1)
log "after a long write: $line"
ktap_result "a static key the driver switches on switches the image's jump label" \
	eval '[ "$line" = "1.1 $HOST calls=$((c + 6)) ops=ok reads=2 lines=$((l + 4)) loud" ]'
unload_mod $IMG
ktap_finish
