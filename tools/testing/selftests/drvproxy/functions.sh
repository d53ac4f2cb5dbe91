#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# functions.sh - shared helpers of drvproxy's selftests, after
# tools/testing/selftests/livepatch/functions.sh, for busybox sh.
#
# A test logs each user action into the kernel log ("% insmod ...") and
# compares the kernel log since a canary with an expected transcript, line
# by line: lines of drvproxy's modules and of the actions, timestamps and
# taint notices removed.  Results are KTAP; the script's exit status is 0
# when every test passed.

MODDIR=${MODDIR:-/lib/drvproxy}
SYSFS=/sys/kernel/drvproxy
DRV=$SYSFS/drivers/drvproxy_demo
DEV=/dev/drvproxy_demo
TOOL=${TOOL:-$(dirname "$0")/bin/dpxtool}
ksft_skip=4

KTAP_NUM=0
KTAP_FAILED=0
KTAP_SKIPPED=0
KTAP_PLAN=""
CANARY=""

# Write to the kernel log and as a KTAP diagnostic.
log() {
	echo "$*" > /dev/kmsg
}

ktap_header() {
	KTAP_PLAN=$1
	echo "TAP version 13"
	echo "1..$1"
}

ktap_ok() {
	KTAP_NUM=$((KTAP_NUM + 1))
	echo "ok $KTAP_NUM $*"
}

ktap_not_ok() {
	KTAP_NUM=$((KTAP_NUM + 1))
	KTAP_FAILED=$((KTAP_FAILED + 1))
	echo "not ok $KTAP_NUM $*"
}

# ktap_skip DESC REASON: a test that did not run, and why.
ktap_skip() {
	KTAP_NUM=$((KTAP_NUM + 1))
	KTAP_SKIPPED=$((KTAP_SKIPPED + 1))
	echo "ok $KTAP_NUM $1 # SKIP $2"
}

# ktap_result DESC CMD...: ok when CMD succeeds.
ktap_result() {
	desc=$1
	shift
	if "$@"; then ktap_ok "$desc"; else ktap_not_ok "$desc"; fi
}

# The plan must match the results: a test that never reported fails the
# script (the host's parser checks the plan too).
ktap_finish() {
	echo "# Totals: pass:$((KTAP_NUM - KTAP_FAILED - KTAP_SKIPPED)) fail:$KTAP_FAILED xfail:0 xpass:0 skip:$KTAP_SKIPPED error:0"
	if [ "$KTAP_NUM" != "$KTAP_PLAN" ]; then
		echo "# plan 1..$KTAP_PLAN, but $KTAP_NUM results"
		exit 1
	fi
	[ "$KTAP_FAILED" = 0 ] && exit 0
	exit 1
}

die() {
	echo "Bail out! $*"
	exit 1
}

# loop_until CMD: poll up to 10 s.  Its counter has a name of its own: sh
# has no locals, and callers loop over i.
loop_until() {
	loop_until_n=0
	while [ $loop_until_n -lt 100 ]; do
		eval "$1" && return 0
		sleep 0.1
		loop_until_n=$((loop_until_n + 1))
	done
	return 1
}

# info_grows FIELD: wait (up to 10 s) until GET_INFO's FIELD exceeds its
# value now: the positive sign that, e.g., a stream in the background has
# started moving bytes, where a sleep would only hope so.
info_grows() {
	grows_base=$("$TOOL" info "$1")
	grows_field=$1
	loop_until '[ "$("$TOOL" info $grows_field)" -gt "$grows_base" ]'
}

is_loaded() {
	[ -d "/sys/module/$1" ]
}

# load_mod NAME [PARAMS]: must succeed.
load_mod() {
	log "% insmod $1.ko${2:+ $2}"
	out=$("$TOOL" insmod "$MODDIR/$1.ko" "${2:-}") || die "insmod $1: $out"
}

# load_failing_mod NAME [PARAMS]: must fail; the error goes into the log.
load_failing_mod() {
	log "% insmod $1.ko${2:+ $2}"
	if out=$("$TOOL" insmod "$MODDIR/$1.ko" "${2:-}"); then
		die "insmod $1 unexpectedly succeeded"
	fi
	log "$out"
}

unload_mod() {
	log "% rmmod $1"
	out=$("$TOOL" rmmod "$1") || die "rmmod $1: $out"
	loop_until "! is_loaded $1" || die "$1 did not go away"
}

unload_failing_mod() {
	log "% rmmod $1"
	if out=$("$TOOL" rmmod "$1"); then
		die "rmmod $1 unexpectedly succeeded"
	fi
	log "$out"
}

# Unload everything drvproxy's tests may have loaded, companions first.
cleanup_modules() {
	# A running heartbeat pins its companion: stop it first.
	is_loaded drvproxy_demo_heartbeat && "$TOOL" heartbeat 0 > /dev/null
	for m in drvproxy_demo_heartbeat drvproxy_demo_v3 drvproxy_demo_v2 drvproxy_demo_badsig drvproxy_demo; do
		is_loaded $m && "$TOOL" rmmod $m > /dev/null
	done
	true
}

start_test() {
	CANARY="drvproxy selftest: $1 ($(date +%s)-$$-$KTAP_NUM)"
	TEST_DESC=$1
	log "$CANARY"
	loop_until 'dmesg | grep -qF "$CANARY"' || die "canary not in dmesg"
}

# The kernel log since the canary, as the transcript compares it.
kernel_transcript() {
	dmesg | awk -v c="$CANARY" 'f { print } index($0, c) { f = 1 }' |
		sed 's/^\[[ 0-9.]*\] //' |
		grep -E '^(drvproxy|% |insmod: |rmmod: )' |
		grep -vE 'taints kernel|module verification failed'
}

# check_result EXPECTED: compare and report the test started last.
check_result() {
	result=$(kernel_transcript)
	if [ "$result" = "$1" ]; then
		ktap_ok "$TEST_DESC"
	else
		ktap_not_ok "$TEST_DESC"
		echo "$1" > /tmp/expected.$$
		echo "$result" > /tmp/result.$$
		diff -u /tmp/expected.$$ /tmp/result.$$ | sed 's/^/# /'
		rm -f /tmp/expected.$$ /tmp/result.$$
	fi
}

# check_sysfs_rights FILE MODE (as ls -l shows it, e.g. -r--r--r--)
check_sysfs_rights() {
	[ "$(stat -c %A "$1")" = "$2" ] || {
		echo "# $1: mode $(stat -c %A "$1"), want $2"
		return 1
	}
}

# check_sysfs_value FILE VALUE
check_sysfs_value() {
	v=$(cat "$1")
	[ "$v" = "$2" ] || {
		echo "# $1: \"$v\", want \"$2\""
		return 1
	}
}

# driver_test_needs FILE...: for test-driver-*.sh (D is the driver's
# directory under drivers/): skip, with the reason, when drivers/build.sh
# built nothing for this kernel or a FILE is missing.
driver_test_needs() {
	[ -r "$D/../SKIP" ] && { echo "1..0 # SKIP $(cat "$D/../SKIP")"; exit $ksft_skip; }
	for f in "$@"; do
		[ -e "$f" ] || { echo "1..0 # SKIP $f not built"; exit $ksft_skip; }
	done
}

# stock_load NAME: the guest kernel's own NAME.ko, from $D/stock.
stock_load() {
	"$TOOL" insmod "$D/stock/$1.ko" > /dev/null || die "cannot load the kernel's $1.ko"
}

# unload_loaded MOD...: rmmod each that is loaded, in order, errors ignored.
unload_loaded() {
	for m in "$@"; do
		is_loaded $m && "$TOOL" rmmod $m > /dev/null
	done
	true
}

# Every test script runs with a fresh drvproxy.ko.
setup() {
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP must be root"; exit $ksft_skip; }
	[ -x "$TOOL" ] || { echo "1..0 # SKIP $TOOL not built"; exit $ksft_skip; }
	cleanup_modules
	is_loaded drvproxy && "$TOOL" rmmod drvproxy > /dev/null
	"$TOOL" insmod "$MODDIR/drvproxy.ko" > /dev/null || die "cannot load drvproxy.ko"
	trap 'cleanup_modules' EXIT
}
