#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-image.sh - whole-image hot-swap: the running demo driver (1.0) is
# serviced by a newer build of its own source.  image/demo-1.1.patch (a bug
# fix, GET_INFO "opens", and a feature, EPOLLPRI at the high-water mark,
# whose latch is new state: layout 2) was built on the host by
# image/build.sh with make companion, which also found the endpoints the
# patch leaves compiled identically.  This script checks that detection,
# that an image in layout 2 without migration is refused with nothing
# changed, that an image made from another build of the driver is refused
# (by drvproxy at load, and by make companion when it can see the
# running driver), what make companion reports of image/detect's cases
# (an endpoint nothing can call, what changed code uses and binds of the
# running driver, new data it keeps; test-bind.sh loads them), that 1.1 applies stalled with the state migrated, serves the new
# behaviour while the unchanged endpoints keep running the host's code, and
# that rmmod restores 1.0 and layout 1, also under a checksummed stream.
#
# Usage (in the guest, via tools/check.sh stage selftests): ./test-image.sh
# Environment: CYCLES swaps under load (default 5).
. "$(dirname "$0")/functions.sh"

IMG=drvproxy_demo_image
NOMIG=drvproxy_demo_image_nomig
OTHER=drvproxy_demo_image_otherbuild
REPORTS=$(dirname "$0")/image
CTL=${CTL:-$(cd "$(dirname "$0")" && pwd)/bin/drvproxyctl}
CYCLES=${CYCLES:-5}
# What demo-1.1.patch touches, compiled: demo_compat_ioctl calls demo_ioctl,
# which an image calls directly, so it differs too.
EXPECT_CHANGED="demo_compat_ioctl demo_ioctl demo_poll demo_read demo_write"
EXPECT_UNCHANGED="demo_fasync demo_llseek demo_mmap demo_open demo_release demo_worker"

setup
if [ ! -f "$MODDIR/$IMG.ko" ] || [ ! -f "$MODDIR/$NOMIG.ko" ] || [ ! -f "$MODDIR/$OTHER.ko" ] ||
   [ ! -f "$REPORTS/$IMG.tsv" ] || [ ! -f "$REPORTS/host.build_id" ] ||
   [ ! -f "$REPORTS/refusal.status" ] || [ ! -f "$REPORTS/nobuildid.status" ] ||
   [ ! -f "$REPORTS/detect.tsv" ] || [ ! -x "$CTL" ]; then
	echo "1..0 # SKIP image companions not built (image/build.sh)"
	exit $ksft_skip
fi
cleanup_image() {
	for m in $IMG $NOMIG $OTHER; do
		is_loaded $m && "$TOOL" rmmod $m > /dev/null
	done
	cleanup_modules
}
trap cleanup_image EXIT

ktap_header 29
load_mod drvproxy_demo
"$TOOL" reset

# ctl_load NAME: load an image as servicing.rst says, with drvproxyctl load
# (linked to the running driver's symbols first, where it uses any).
ctl_load() {
	log "% drvproxyctl load $1.ko"
	out=$("$CTL" load "$MODDIR/$1.ko" 2>&1) || die "drvproxyctl load $1: $out"
}

# ctl_load_failing NAME: must fail; what drvproxyctl said goes into the log.
ctl_load_failing() {
	log "% drvproxyctl load $1.ko"
	if out=$("$CTL" load "$MODDIR/$1.ko" 2>&1); then
		die "drvproxyctl load $1 unexpectedly succeeded"
	fi
	log "$out"
}

# endpoints STATUS [TSV]: the build's endpoints with that status, sorted.
endpoints() {
	awk -F '\t' -v s="$1" '$1 == s { print $2 }' "${2:-$REPORTS/$IMG.tsv}" | sort |
		tr '\n' ' ' | sed 's/ $//'
}

# detect_line STATUS ENDPOINT: image/detect's result lines of that status
# for ENDPOINT, their text only.
detect_line() {
	awk -F '\t' -v s="$1" -v e="$2" '$1 == s && $2 == e { print $3 }' "$REPORTS/detect.tsv"
}

# current_all MODULE EP...: every EP's current implementation is MODULE's.
current_all() {
	mod=$1
	shift
	for ep in "$@"; do
		check_sysfs_value "$DRV/endpoints/$ep/current" "$ep [$mod]" || return 1
	done
}

never_swapped() {
	for ep in "$@"; do
		check_sysfs_value "$DRV/endpoints/$ep/swaps" 0 || return 1
	done
}

poll_is() {
	p=$("$TOOL" poll)
	[ "$p" = "$1" ] || { echo "# poll: \"$p\", want \"$1\""; return 1; }
}

fill() {
	dd if=/dev/zero of=$DEV bs="$1" count=1 2> /dev/null
}

drain() {
	"$TOOL" readn "$1" > /dev/null
}

# GET_INFO "opens" (files open now, not counting the asking one) against
# drvproxy's own count: equal when fixed, larger with 1.0's bug (it counts
# every open since load).
opens_fixed() {
	o=$("$TOOL" info opens)
	n=$(cat $DRV/opens)
	[ "$o" = "$n" ] || { echo "# GET_INFO opens $o, files open $n"; return 1; }
}

opens_buggy() {
	o=$("$TOOL" info opens)
	n=$(cat $DRV/opens)
	[ "$o" -gt "$n" ] || { echo "# GET_INFO opens $o, files open $n"; return 1; }
}

# ---- the build's detection ----
sed 's/^/# /' "$REPORTS/$IMG.report"
ktap_result "make companion: changed endpoints are the ones demo-1.1.patch touches" \
	[ "$(endpoints changed)" = "$EXPECT_CHANGED" ]
ktap_result "make companion: the others are unchanged, none is new" \
	eval '[ "$(endpoints unchanged)" = "$EXPECT_UNCHANGED" ] && [ -z "$(endpoints new)" ]'

# ---- image/detect: what an image's changed code uses, linked to the driver ----
DETECT=$REPORTS/detect.tsv
sed 's/^/# /' "$REPORTS/detect.report"
ktap_result "make companion: an endpoint nothing in the running build refers to is unreachable, not installed" \
	eval '[ "$(endpoints unreachable "$DETECT")" = det_orphan ] &&
	[ "$(endpoints changed "$DETECT")" = "det_open det_read det_release" ]'
ktap_result "make companion: what the changed code reaches is listed" \
	eval 'detect_line uses det_read | grep -qx "writable data: det_calls" &&
	detect_line uses det_read | grep -qx "const table: det_ops" &&
	detect_line uses det_read | grep -qx THIS_MODULE &&
	detect_line uses det_read | grep -qx "functions: det_count (unchanged)"'
ktap_result "make companion: changed code binds the driver's data, table, helper and module; unchanged code nothing" \
	eval '[ "$(detect_line binds det_read)" = "__this_module (module), det_calls (data), det_count (function), det_loud (data), det_ops (data), lines (static local)" ] &&
	[ "$(detect_line binds det_open)" = "__this_module (module)" ] &&
	[ -z "$(awk -F "\t" "\$2 == \"det_write\" && \$1 != \"unchanged\"" "$DETECT")" ]'
ktap_result "make companion: new data stays the image's own, with a warning" \
	eval '[ "$(detect_line keeps det_read)" = "det_reads (new)" ] &&
	detect_line warning det_read | grep -q "^det_reads is new data: the image.s own"'

# ---- which build ----
host_build=$(cat "$REPORTS/host.build_id")
ktap_result "the driver's build_id is its .ko's, and the one make companion made 1.1 from" \
	eval 'check_sysfs_value $DRV/build_id "$host_build" && [ -n "$host_build" ] &&
	grep -qx "  made from build: $host_build" "$REPORTS/$IMG.report"'
sed 's/^/# /' "$REPORTS/refusal.out"
ktap_result "make companion refuses an OLD that is not the running build" \
	eval '[ "$(cat "$REPORTS/refusal.status")" != 0 ] &&
	grep -q "but the running drvproxy_demo is build $host_build: pass the running build" \
		"$REPORTS/refusal.out"'
sed 's/^/# /' "$REPORTS/nobuildid.out"
ktap_result "make companion refuses an OLD whose .ko has no build id, saying how to link it" \
	eval '[ "$(cat "$REPORTS/nobuildid.status")" != 0 ] &&
	grep -q "drvproxy_demo.ko has no build id: link the host with .*--build-id=sha1" \
		"$REPORTS/nobuildid.out"'
if [ -f "$REPORTS/anchors.skip" ]; then
	ktap_skip "make companion refuses an arm64 OLD compiled with section anchors" \
		"$(cat "$REPORTS/anchors.skip")"
else
	sed 's/^/# /' "$REPORTS/anchors.out"
	ktap_result "make companion refuses an arm64 OLD compiled with section anchors" \
		eval '[ "$(cat "$REPORTS/anchors.status")" = 2 ] &&
		grep -q "detect.o was compiled with section anchors .*-fno-section-anchors" \
			"$REPORTS/anchors.out"'
fi

# ---- 1.0 ----
fill 3500
ktap_result "1.0: no EPOLLPRI at 3/4 full, GET_INFO opens counts every open, layout 1" \
	eval 'poll_is "IN OUT" && opens_buggy && check_sysfs_value $DRV/state_layout 1'

# ---- the incompatible image ----
gen=$(cat $DRV/generation)
start_test "an image in state layout 2 without migration is refused"
ctl_load_failing $NOMIG
check_result "% drvproxyctl load $NOMIG.ko
drvproxy: drvproxy_demo: $NOMIG expects state layout 2, the driver has 1, and it does not migrate both ways
drvproxyctl load: $MODDIR/$NOMIG.ko: Invalid argument (the kernel log says why)"
ktap_result "refused image: layout, stack, generation and every endpoint unchanged" \
	eval '! is_loaded $NOMIG && check_sysfs_value $DRV/state_layout 1 &&
	check_sysfs_value $DRV/stack "" && check_sysfs_value $DRV/generation $gen &&
	current_all drvproxy_demo $EXPECT_CHANGED $EXPECT_UNCHANGED && poll_is "IN OUT"'

# ---- an image made from another build ----
other_build=$(sed -n 's/^  made from build: //p' "$REPORTS/$OTHER.report")
start_test "an image made from another build of the driver is refused"
ctl_load_failing $OTHER
check_result "% drvproxyctl load $OTHER.ko
drvproxy: drvproxy_demo: $OTHER was made from build $other_build of the driver; the running build is $host_build
drvproxyctl load: $MODDIR/$OTHER.ko: Invalid argument (the kernel log says why)"
ktap_result "image of another build: layout, stack, generation and every endpoint unchanged" \
	eval '! is_loaded $OTHER && [ "$other_build" != "$host_build" ] &&
	check_sysfs_value $DRV/state_layout 1 && check_sysfs_value $DRV/stack "" &&
	check_sysfs_value $DRV/generation $gen &&
	current_all drvproxy_demo $EXPECT_CHANGED $EXPECT_UNCHANGED && poll_is "IN OUT"'

# ---- 1.1 over 1.0 ----
start_test "1.1 applies stalled, migrating the state to layout 2"
ctl_load $IMG
check_result "% drvproxyctl load $IMG.ko
drvproxy: drvproxy_demo: $IMG applied (stalled, 5 endpoints, generation $((gen + 1)))
drvproxy: drvproxy_demo: $IMG: not installed: 6 endpoints unchanged, 0 unreachable, 0 unknown to the driver
drvproxy: drvproxy_demo: state migrated from layout 1 to 2"
ktap_result "1.1: layout 2, on the stack, 5 endpoints installed" \
	eval 'check_sysfs_value $DRV/state_layout 2 && check_sysfs_value $DRV/stack $IMG &&
	check_sysfs_value $DRV/layers/$IMG/nr_endpoints 5'
ktap_result "1.1: changed endpoints run the image, unchanged ones the host (demo_open [drvproxy_demo])" \
	eval 'current_all $IMG $EXPECT_CHANGED && current_all drvproxy_demo $EXPECT_UNCHANGED'
ktap_result "1.1: EPOLLPRI at once: the migration derived the latch from the fill level" \
	poll_is "IN OUT PRI"
ktap_result "1.1: GET_INFO opens counts the files open now (bug fixed)" opens_fixed
# 3500 -> 900 -> 2900 -> 3200 -> 1200 -> 1000 bytes in the FIFO.
ktap_result "1.1: EPOLLPRI from 3/4 full until drained below 1/4" \
	eval 'drain 2600 && poll_is "IN OUT" && fill 2000 && poll_is "IN OUT" &&
	fill 300 && poll_is "IN OUT PRI" && drain 2000 && poll_is "IN OUT PRI" &&
	drain 200 && poll_is "IN OUT"'

# ---- back to 1.0 ----
start_test "rmmod reverts to 1.0"
unload_mod $IMG
check_result "% rmmod $IMG
drvproxy: drvproxy_demo: $IMG reverted (generation $((gen + 2)))
drvproxy: drvproxy_demo: state migrated back from layout 2 to 1"
fill 2500
ktap_result "1.0 again: layout 1, host code everywhere, no EPOLLPRI, opens bug back" \
	eval 'check_sysfs_value $DRV/state_layout 1 && check_sysfs_value $DRV/stack "" &&
	current_all drvproxy_demo $EXPECT_CHANGED $EXPECT_UNCHANGED &&
	poll_is "IN OUT" && opens_buggy'

# ---- under load ----
"$TOOL" reset
"$TOOL" stream -w 2 -r 2 -s 600 > /tmp/image-stream.out 2>&1 &
pid=$!
# "Under load" means the stream moves: before the first swap, and under
# each version before it is checked and swapped away (a sleep would only
# hope so).
info_grows bytes_out || echo "# the stream did not start"
fail=0 applied_ok=1 reverted_ok=1 moved=0
i=0
while [ $i -lt "$CYCLES" ]; do
	"$CTL" load "$MODDIR/$IMG.ko" > /dev/null || fail=1
	info_grows bytes_out && moved=$((moved + 1))
	check_sysfs_value $DRV/state_layout 2 && opens_fixed &&
		current_all $IMG demo_read demo_write && current_all drvproxy_demo demo_open ||
		applied_ok=0
	"$TOOL" rmmod $IMG > /dev/null || fail=1
	info_grows bytes_out && moved=$((moved + 1))
	check_sysfs_value $DRV/state_layout 1 && opens_buggy &&
		current_all drvproxy_demo demo_read demo_write || reverted_ok=0
	i=$((i + 1))
done
kill -USR1 $pid
wait $pid
src=$?
sed 's/^/# /' /tmp/image-stream.out
ktap_result "under load: $CYCLES loads applied 1.1 (layout 2, opens fixed)" \
	eval '[ $fail = 0 ] && [ $applied_ok = 1 ]'
ktap_result "under load: $CYCLES rmmods restored 1.0 (layout 1, opens bug)" [ $reverted_ok = 1 ]
ktap_result "under load: the stream moved under each of the $((2 * CYCLES)) versions" \
	[ $moved = $((2 * CYCLES)) ]
ktap_result "under load: the checksummed stream lost or repeated no byte" \
	eval '[ $src = 0 ] && grep -q " OK$" /tmp/image-stream.out'
ktap_result "unchanged endpoints were never swapped, changed ones on every swap" \
	eval 'never_swapped $EXPECT_UNCHANGED &&
	check_sysfs_value $DRV/endpoints/demo_read/swaps $((2 * CYCLES + 2))'
ktap_result "no call left in flight, host unloads" \
	eval 'check_sysfs_value $DRV/endpoints/demo_read/in_flight 0 && "$TOOL" rmmod drvproxy_demo'
ktap_finish
