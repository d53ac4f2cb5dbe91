#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-fuzz.sh - hostile input: bin/dpxfuzz (dpxfuzz.c) throws random and
# boundary data at every user-facing surface: module parameters at insmod
# (drvproxy, the demo host and its companions), /sys/module/drvproxy/
# parameters, every file under /sys/kernel/drvproxy (reads, and writes to
# the writable ones: a layer's "enabled"), and /dev/drvproxy_demo (read,
# write, readv, writev, ioctl, poll, mmap, lseek, fsync, fasync, interrupted
# blocking calls), while companions come and go.  The fuzzer itself checks
# that no kernel-internal errno and no raw kernel pointer reaches userspace
# and that the device's answers stay consistent; afterwards the device must
# still work (a round trip and dpxtool ui) and everything must unload.  The
# guest runner fails the run on any kernel splat.
#
# Environment: FUZZ_OPS (default 1000000) and FUZZ_SECONDS (default 12)
# bound the main run, FUZZ_PARAMS_OPS (default 20) the insmod runs; the long
# version (make torture) is FUZZ_OPS=1000000 FUZZ_SECONDS=3600.
. "$(dirname "$0")/functions.sh"

OPS=${FUZZ_OPS:-1000000}
SECS=${FUZZ_SECONDS:-12}
POPS=${FUZZ_PARAMS_OPS:-20}
FUZZ=$(dirname "$0")/bin/dpxfuzz
PARAMS=/sys/module/drvproxy/parameters

setup
[ -x "$FUZZ" ] || { echo "1..0 # SKIP $FUZZ not built"; exit $ksft_skip; }
ktap_header 8

# fuzz DESC ARGS...: one dpxfuzz run, its report as diagnostics.
fuzz() {
	desc=$1
	shift
	"$FUZZ" "$@" -m "$MODDIR" > /tmp/fuzz.$$ 2>&1
	rc=$?
	sed 's/^#* */# /' /tmp/fuzz.$$ | tail -n 30
	rm -f /tmp/fuzz.$$
	ktap_result "$desc" [ $rc = 0 ]
}

"$TOOL" rmmod drvproxy > /dev/null
fuzz "fuzz: drvproxy.ko loaded $POPS times with garbage parameters: refused, or loads and unloads" \
	params -n "$POPS"
"$TOOL" insmod "$MODDIR/drvproxy.ko" > /dev/null || die "cannot load drvproxy.ko"
fuzz "fuzz: the demo host loaded $POPS times with garbage parameters" \
	params -n "$POPS" -k drvproxy_demo

load_mod drvproxy_demo
fuzz "fuzz: $OPS operations or $SECS s on the device, sysfs, parameters and companions" \
	run -n "$OPS" -t "$SECS"

restored() {
	[ "$(cat $PARAMS/enabled)" = Y ] && [ "$(cat $PARAMS/drain_timeout_ms)" = 5000 ] &&
	[ -z "$(cat $PARAMS/exclude)" ] && [ -z "$(cat $DRV/stack)" ] &&
	[ -z "$(ls $DRV/layers)" ]
}
ktap_result "fuzz: parameters restored, no layer left applied" restored

roundtrip() {
	"$TOOL" reset || return 1
	printf 'drvproxy' > $DEV || return 1
	[ "$("$TOOL" readn 8)" = drvproxy ] && [ "$("$TOOL" info impl_version)" = 1 ]
}
ktap_result "fuzz: the device still works: write, read back, GET_INFO" roundtrip

ui() {
	"$TOOL" ui > /tmp/ui.$$ 2>&1
	rc=$?
	grep -v '^ok ' /tmp/ui.$$ | sed 's/^#* */# /'
	rm -f /tmp/ui.$$
	return $rc
}
ktap_result "fuzz: dpxtool ui passes after the fuzzing" ui
ktap_result "fuzz: a companion still applies and reverts" \
	eval '"$TOOL" insmod "$MODDIR/drvproxy_demo_v2.ko" && "$TOOL" rmmod drvproxy_demo_v2'
ktap_result "fuzz: the host and drvproxy unload cleanly" \
	eval '"$TOOL" rmmod drvproxy_demo && "$TOOL" rmmod drvproxy'
ktap_finish
