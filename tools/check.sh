#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - the `make check` driver: builds, static checks and every test.
#
# Usage: tools/check.sh [STAGE...]        (default: all stages, in this order)
#
#   a | build       W=1 module builds against the Debian 6.12 headers, the
#                   newest installed 6.1 headers and, in a cached chroot of
#                   Debian testing/unstable (tools/chroot.sh), the newest
#                   kernel's headers (with tools/bench and, compiled only,
#                   the KUnit suites) and Debian stable's PREEMPT_RT
#                   headers; cross-built for arm64 against Debian's arm64
#                   6.12 and 6.1 headers (tools/arm64.sh); any warning
#                   fails; a DKMS build for the newest kernel; make
#                   modules_install and modules_uninstall into a scratch root
#   b | sparse      make C=2 against the Debian 6.12 headers; any sparse
#                   warning/error fails
#   c | style       checkpatch.pl --strict over tracked module/, kunit/,
#                   tools/ *.c/*.h, and kernel-doc -Wall over module/include/*.h
#                   and module/drvproxy/*.c
#   d | runner      tools/guest/selftest.sh (the guest runner's own tests)
#   e | kunit       KUnit kernel (tools/kunit-kernel.sh), modules built against
#                   it, every suite run in QEMU and parsed by kunit.py parse;
#                   once per kernel configuration in KUNIT_VARIANTS, results
#                   named "kunit[<variant>]/<suite>: <case>"
#   f | selftests   tools/testing/selftests/drvproxy/test-*.sh in the Debian
#                   6.12 guest, then again booting Debian's 6.1 kernel (its
#                   image from apt, unpacked into the cache; results named
#                   "selftests[6.1]/...") and the newest kernel of Debian
#                   testing/unstable (modules and image companions built in
#                   its chroot, tools/chroot.sh; its image from that
#                   release's archive; "selftests[7.2]/..." today) and
#                   Debian stable's PREEMPT_RT kernel, built in the same
#                   chroot ("selftests[6.12-rt]/...") and Debian 12's
#                   arm64 6.12 kernel in qemu-system-aarch64, the modules
#                   cross-built against its headers (tools/arm64.sh;
#                   "selftests[6.12-arm64]/...") (skipped while that
#                   directory does not exist).
#                   The directory is copied, built there with
#                   "make -C <copy> KDIR=<6.12 headers> DRVPROXY_TOP=<repo>",
#                   and appears in the guest as /data/selftests; the modules
#                   are in /lib/drvproxy/*.ko, with the image companions
#                   its image/build.sh builds (make companion), if any.
#   g | torture     test-torture.sh (shortened) and test-fault.sh in the KUnit
#                   kernel (KASAN, lockdep, PROVE_RCU, fault injection,
#                   kmemleak), with modules built against it, run the same
#                   way as stage selftests runs its scripts; once per kernel
#                   configuration in TORTURE_VARIANTS, results named
#                   "torture[<variant>]/<script>: ..."; make torture runs the
#                   long versions of all reliability scripts
#   h | devbox      tools/devbox.sh for each suite of DEVBOX_SUITES: the
#                   README's "On a development box" section typed in a full
#                   Debian VM, results named "devbox[<suite>]: ..."; a suite
#                   that would end the run past CHECK_BUDGET is skipped,
#                   with the reason
#
# Prints one line per stage start, one result line per test case
# ("PASS", "FAIL" or "SKIP"), the stage's counts and wall time, then every
# skipped case with its reason, and at the very end exactly one line
# "N passed, N failed, N skipped" (a skipped case is neither passed nor
# failed).  A KTAP plan that does not match its results is a failure.  Exit
# status is non-zero if anything failed or nothing ran (passed + failed is 0).
#
# Environment:
#   BUILD                   build and log root (default ~/.cache/drvproxy/build);
#                           logs go to $BUILD/logs/<stage>.log
#   DRVPROXY_CACHE          cache root (default ~/.cache/drvproxy)
#   DRVPROXY_SKIP_BOOTSTRAP=1  do not run tools/bootstrap.sh first
#   KUNIT_TIMEOUT           guest timeout for the KUnit run (default 900 s)
#   SELFTESTS_TIMEOUT       guest timeout for the selftests run (default 1800 s)
#   SELFTESTS               stage selftests runs only these scripts (names
#                           such as "test-pin.sh test-unplug.sh"; default all)
#   GUESTS                  the kernels stage selftests boots (default all, in
#                           this order: "6.12 6.1 newest rt arm64")
#   TORTURE_TIMEOUT         guest timeout for the torture run (default 900 s)
#   KUNIT_VARIANTS          the KUnit-kernel configurations stage kunit runs
#                           on, in order (default "default none rt newest":
#                           PREEMPT, PREEMPT_NONE without PREEMPT_COUNT,
#                           PREEMPT_RT, all from linux-source-6.12, and
#                           PREEMPT from the newest Debian kernel's
#                           linux-source, built in its chroot; see
#                           tools/kunit-kernel.sh and kunit/variants/*.config)
#   TORTURE_VARIANTS        the same for stage torture (default: those of
#                           KUNIT_VARIANTS but newest)
#   DEVBOX_SUITES           the suites of stage devbox (default "bookworm
#                           newest"; tools/devbox.sh)
#   CHECK_BUDGET            seconds from the start of the run within which
#                           stage devbox must finish (default 4800: CI
#                           stops a run at 90 minutes); a suite is estimated
#                           at 15 minutes, 30 when its VM image is not made
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/lib.sh"
LOGDIR=$BUILD/logs
mkdir -p "$LOGDIR"

ALL_STAGES="build sparse style runner kunit selftests torture devbox"
CHECK_START=$(date +%s)
PASSED=0
FAILED=0
SKIPPED=0
SKIP_LIST=()

# ---------------------------------------------------------------- output ---

pass() { echo "  PASS  $*"; PASSED=$((PASSED + 1)); }
fail() { echo "  FAIL  $*"; FAILED=$((FAILED + 1)); }
# A skipped test case: neither passed nor failed; listed again at the end.
skip() { echo "  SKIP  $*"; SKIPPED=$((SKIPPED + 1)); SKIP_LIST+=("$*"); }
# Indented detail lines under a result (at most $2 lines, default 20).
detail() { head -n "${2:-20}" "$1" | sed 's/^/        /'; }
note() { echo "        $*"; }

# Run "$@" with output appended to the current stage log.
logged() {
	echo "\$ $*" >> "$STAGE_LOG"
	"$@" >> "$STAGE_LOG" 2>&1
}

# ----------------------------------------------------------- environment ---

SRCDIR=""
# The unpacked linux-source-6.12 (checkpatch.pl, kernel-doc, kunit.py).
need_src() {
	[ -n "$SRCDIR" ] && return 0
	SRCDIR=$("$REPO/tools/kunit-kernel.sh" --print-src 2>> "$STAGE_LOG" | tail -n 1) || SRCDIR=""
	[ -n "$SRCDIR" ] && [ -d "$SRCDIR" ]
}

# Tracked files matching the git pathspecs "$@" (all files under the same
# patterns when this is not a git checkout, e.g. an exported tarball).
tracked() {
	if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$REPO" ls-files -- "$@"
	else
		local p
		for p in "$@"; do
			(cd "$REPO" && find . -path "./$p" -type f | sed 's|^\./||')
		done | LC_ALL=C sort -u
	fi
}

# build_tree NAME KDIR [MAKEARGS...]: sync the sources to $BUILD/NAME and
# build the modules there; the make output goes to $LOGDIR/NAME.make.log.
build_tree() {
	local name=$1 kdir=$2
	shift 2
	sync_sources "$REPO" "$BUILD/$name"
	echo "\$ make -C $kdir M=$BUILD/$name $* modules  (output: $LOGDIR/$name.make.log)" >> "$STAGE_LOG"
	make -C "$kdir" M="$BUILD/$name" "$@" modules > "$LOGDIR/$name.make.log" 2>&1
	local rc=$?
	cat "$LOGDIR/$name.make.log" >> "$STAGE_LOG"
	return $rc
}

# build_broken TREE KDIR DEST: the framework of the synced build TREE
# rebuilt broken on purpose (DRVPROXY_BROKEN=SKIP_STALL_DRAIN) into
# DEST/drvproxy-broken-skip-stall-drain.ko, for test-torture.sh to show that
# the torture fails against it.  Only module/ is copied and rebuilt.
build_broken() {
	local tree=$1 kdir=$2 dest=$3
	mkdir -p "$tree-broken" "$dest"
	logged rsync -a --delete "$tree/module/" "$tree-broken/module/" &&
		kmake "$tree-broken/module/drvproxy" "$kdir" DRVPROXY_BROKEN=SKIP_STALL_DRAIN modules &&
		cp "$tree-broken/module/drvproxy/drvproxy.ko" \
			"$dest/drvproxy-broken-skip-stall-drain.ko"
}

# ---------------------------------------------------------------- stages ---

# w1_result LABEL LOG RC [IGNORE]: the PASS/FAIL line of a W=1 build whose
# make output is LOG (exit status RC): any warning fails, except lines
# matching the extended regex IGNORE.
w1_result() {
	local label=$1 log=$2 rc=$3 ignore=${4:-}
	local base=${log%.make.log}

	grep -i 'warning:' "$log" | { if [ -n "$ignore" ]; then grep -vE "$ignore"; else cat; fi; } \
		> "$base.warnings" || true
	if [ "$rc" = 0 ] && [ ! -s "$base.warnings" ]; then
		pass "build: $label"
	elif [ "$rc" != 0 ]; then
		fail "build: $label (make exited $rc)"
		grep -E 'error|Error|warning:|No such file' "$log" > "$base.errors" || true
		[ -s "$base.errors" ] || tail -n 5 "$log" > "$base.errors"
		detail "$base.errors" 10
	else
		fail "build: $label ($(wc -l < "$base.warnings") warnings)"
		detail "$base.warnings"
	fi
}

# slow_paths_whole NAME LABEL: no wrapper's slow path in the modules built
# in $BUILD/NAME was cloned (.constprop, .isra) or split (.part, .cold).  The
# nesting check of a stalled call (wait.c) finds a slow path's frames by
# the address its descriptor holds; a clone's or a split part's frames lie
# elsewhere, and a stalled caller would take its own wrapper for an outer
# call.  __noclone prevents the clones; nothing prevents a split, so a
# compiler that starts splitting must fail here.
slow_paths_whole() {
	local name=$1 label=$2 bad

	bad=$(find "$BUILD/$name" -name '*.ko' -exec readelf -sW {} + 2>/dev/null |
		awk '$8 ~ /^__dpx_slow_[A-Za-z0-9_]*\./ { print $8 }' | LC_ALL=C sort -u | head -n 5 | xargs)
	if [ -n "$bad" ]; then
		fail "build: a wrapper's slow path was cloned or split $label: $bad"
	else
		pass "build: no wrapper's slow path cloned or split $label"
	fi
}

# chroot_make NAME LOGNAME SUBDIR KDIR [MAKEARGS...]: build $BUILD/NAME/SUBDIR
# against KDIR in the newest-kernel chroot (tools/chroot.sh); the make
# output goes to $LOGDIR/LOGNAME.make.log.
chroot_make() {
	local name=$1 log=$LOGDIR/$2.make.log sub=$3 kdir=$4
	shift 4
	echo "\$ tools/chroot.sh run $BUILD/$name make -C $kdir M=$BUILD/$name$sub $* modules  (output: $log)" >> "$STAGE_LOG"
	"$REPO/tools/chroot.sh" run "$BUILD/$name" make -C "$kdir" M="$BUILD/$name$sub" "$@" modules > "$log" 2>&1
	local rc=$?
	cat "$log" >> "$STAGE_LOG"
	return $rc
}

# The newest kernel of Debian testing/unstable, whose headers need that
# release's compiler: built in a cached chroot of it (tools/chroot.sh).
# Besides the tree as `make` builds it: tools/bench, which only make bench
# builds otherwise, and the KUnit suites, which Debian's kernels (no
# CONFIG_KUNIT) never build.  The suites are compiled only, as if
# CONFIG_KUNIT=m (their kunit_* symbols are then unresolved, which modpost
# may report, and nothing else); the KUnit stage runs them.
build_newest() {
	local ch kdir name label rc

	if ! ch=$("$REPO/tools/chroot.sh" prepare 2>> "$STAGE_LOG" | tail -n 1) || [ -z "$ch" ]; then
		fail "build: cannot prepare the chroot of Debian testing/unstable (tools/chroot.sh prepare); see $STAGE_LOG"
		detail "$STAGE_LOG" 5
		return
	fi
	kdir=$("$REPO/tools/chroot.sh" kdir 2>> "$STAGE_LOG")
	if [ -z "$kdir" ]; then
		fail "build: no linux-headers-*-amd64 in the chroot $ch; run tools/chroot.sh refresh"
		return
	fi
	name=debian-${kdir#/usr/src/linux-headers-}
	label="W=1 against ${kdir#/usr/src/} (Debian ${ch##*/chroot-}, in a chroot)"
	sync_sources "$REPO" "$BUILD/$name"
	rc=0
	chroot_make "$name" "$name" "" "$kdir" W=1 || rc=$?
	w1_result "$label" "$LOGDIR/$name.make.log" "$rc"
	[ "$rc" != 0 ] || slow_paths_whole "$name" "($label)"
	# tools/bench links against the tree's Module.symvers.
	if [ "$rc" = 0 ]; then
		chroot_make "$name" "$name-bench" /tools/bench "$kdir" W=1 \
			KBUILD_EXTRA_SYMBOLS="$BUILD/$name/Module.symvers" || rc=$?
		w1_result "tools/bench $label" "$LOGDIR/$name-bench.make.log" "$rc"
	fi
	rc=0
	chroot_make "$name" "$name-kunit" /kunit "$kdir" W=1 KCFLAGS=-DCONFIG_KUNIT_MODULE=1 \
		KBUILD_MODPOST_WARN=1 || rc=$?
	w1_result "kunit/ (compiled only) $label" "$LOGDIR/$name-kunit.make.log" "$rc" \
		'modpost: (".*" \[.*\] undefined!|suppressed [0-9]+ unresolved symbol warnings)'
	dkms_newest "${kdir#/usr/src/linux-headers-}"
	build_rt
}

# Debian stable's PREEMPT_RT headers (6.12-rt), unpacked into the chroot.
build_rt() {
	local kdir name rc=0
	if ! kdir=$("$REPO/tools/chroot.sh" rt-kdir 2>> "$STAGE_LOG") || [ -z "$kdir" ]; then
		fail "build: no PREEMPT_RT headers (tools/chroot.sh rt-kdir); see $STAGE_LOG"
		return
	fi
	name=debian-${kdir#/usr/src/linux-headers-}
	sync_sources "$REPO" "$BUILD/$name"
	chroot_make "$name" "$name" "" "$kdir" W=1 || rc=$?
	w1_result "W=1 against ${kdir#/usr/src/} (Debian stable, PREEMPT_RT, in the chroot)" \
		"$LOGDIR/$name.make.log" "$rc"
}

# dkms_newest RELEASE: README's DKMS commands (dkms.conf) in the chroot, for
# the newest kernel: add a copy of the tree, build for RELEASE, and the
# modules dkms.conf names are what it built; then remove it again.
dkms_newest() {
	local rel=$1 src=$BUILD/dkms-src ver log=$LOGDIR/dkms.log mod missing=""
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
	sync_sources "$REPO" "$src"
	# shellcheck disable=SC2016 # expanded in the chroot's shell
	"$REPO/tools/chroot.sh" run "$src" sh -c '
		dkms remove "drvproxy/$1" --all > /dev/null 2>&1 || true
		rm -rf "/usr/src/drvproxy-$1"
		dkms add . && dkms build "drvproxy/$1" -k "$2" &&
			ls "/var/lib/dkms/drvproxy/$1/$2/x86_64/module/" > "$3/dkms.built"
		rc=$?
		dkms remove "drvproxy/$1" --all > /dev/null 2>&1
		rm -rf "/usr/src/drvproxy-$1"
		exit $rc' sh "$ver" "$rel" "$src" > "$log" 2>&1
	local rc=$?
	cat "$log" >> "$STAGE_LOG"
	if [ "$rc" != 0 ]; then
		fail "build: DKMS (dkms add, dkms build -k $rel, in the chroot) exited $rc"
		detail "$log" 10
		return
	fi
	for mod in $(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"/\1/p' "$REPO/dkms.conf"); do
		grep -qE "^$mod\.ko(\.[a-z]+)?$" "$src/dkms.built" || missing="$missing $mod"
	done
	if [ -n "$missing" ]; then
		fail "build: DKMS build for $rel lacks:$missing"
	else
		pass "build: DKMS (dkms add, dkms build -k $rel, in the chroot): $(grep -c "\.ko" "$src/dkms.built") modules"
	fi
}

stage_build() {
	local name kdir rc
	for kdir in "$KDIR612" "$KDIR61"; do
		if [ -z "$kdir" ]; then
			fail "build: no headers for one of the kernels (6.12: '${KDIR612}', 6.1: '${KDIR61}'); run BOOTSTRAP_WITH_61=1 tools/bootstrap.sh as root"
			continue
		fi
		name=debian-${kdir#/usr/src/linux-headers-}
		rc=0
		build_tree "$name" "$kdir" W=1 || rc=$?
		w1_result "W=1 against ${kdir#/usr/src/}" "$LOGDIR/$name.make.log" "$rc"
		[ "$rc" != 0 ] || slow_paths_whole "$name" "(${kdir#/usr/src/})"
	done
	build_newest
	build_arm64
	stage_build_fail
	[ -n "$KDIR612" ] && build_install "debian-${KDIR612#/usr/src/linux-headers-}" "$KDIR612"
}

# The tree cross-built W=1 for arm64 against Debian's arm64 headers of the
# same 6.12 and 6.1 releases (tools/arm64.sh unpacks them beside the amd64
# kbuild: Debian's cross-build layout).
build_arm64() {
	local kdir akdir name rc
	for kdir in "$KDIR612" "$KDIR61"; do
		[ -n "$kdir" ] || continue
		if ! akdir=$("$REPO/tools/arm64.sh" kdir "$kdir" 2>> "$STAGE_LOG"); then
			fail "build: no arm64 headers for ${kdir#/usr/src/linux-headers-} (tools/arm64.sh kdir); see $STAGE_LOG"
			continue
		fi
		name=debian-${akdir##*/linux-headers-}
		rc=0
		build_tree "$name" "$akdir" W=1 ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- || rc=$?
		w1_result "W=1 cross-built for arm64 against ${akdir##*/usr/src/} (Debian's arm64 headers)" \
			"$LOGDIR/$name.make.log" "$rc"
		[ "$rc" != 0 ] || slow_paths_whole "$name" "(arm64 ${akdir##*/linux-headers-})"
	done
}

# build_install TREE KDIR: "make modules_install" of the built TREE into a
# scratch INSTALL_MOD_PATH installs exactly what a user should get, where
# modprobe finds it (depmod ran), and "make modules_uninstall" takes it all
# back.
build_install() {
	local tree=$BUILD/$1 kdir=$2 root=$BUILD/install rel dep want got
	local log=$LOGDIR/build-install.log

	rm -rf "$root"
	rel=$(cat "$kdir/include/config/kernel.release")
	dep=$root/lib/modules/$rel/modules.dep
	want="drvproxy.ko drvproxy_demo.ko drvproxy_demo_v2.ko drvproxy_demo_v3.ko"
	if ! make -C "$tree" KDIR="$kdir" INSTALL_MOD_PATH="$root" modules_install > "$log" 2>&1; then
		fail "install: make modules_install failed"
		detail "$log"
		return
	fi
	got=$(cd "$root" && find . -name '*.ko' -printf '%f\n' | LC_ALL=C sort | xargs)
	if [ "$got" != "$want" ]; then
		fail "install: modules_install installed \"$got\", not \"$want\""
	elif ! grep -qx "updates/drvproxy_demo.ko: updates/drvproxy.ko" "$dep"; then
		fail "install: modules.dep does not say drvproxy_demo needs drvproxy (depmod did not run)"
	else
		pass "install: modules_install installs the framework, the demo and its companions, with depmod"
	fi
	if ! make -C "$tree" KDIR="$kdir" INSTALL_MOD_PATH="$root" modules_uninstall >> "$log" 2>&1; then
		fail "install: make modules_uninstall failed"
		detail "$log"
	elif [ -n "$(find "$root" -name '*.ko')" ] || grep -q drvproxy "$dep"; then
		fail "install: modules_uninstall left modules or their modules.dep lines"
	else
		pass "install: modules_uninstall removes them again"
	fi
}

# Sources that must not build (tools/testing/build-fail): each must fail
# with the message its "expect:" line names, and the control must build, so
# that a broken check cannot pass by failing for another reason.
stage_build_fail() {
	local dir=$BUILD/build-fail src bad want log
	[ -n "$KDIR612" ] || return 0
	sync_sources "$REPO" "$dir"
	log=$LOGDIR/build-fail.control.log
	if make -C "$KDIR612" M="$dir/tools/testing/build-fail" KBUILD_MODPOST_WARN=1 modules > "$log" 2>&1; then
		pass "build-fail: the control builds"
	else
		fail "build-fail: the control does not build"
		detail "$log" 10
	fi
	for src in "$REPO"/tools/testing/build-fail/*.c; do
		bad=$(basename "$src" .c)
		[ "$bad" = control ] && continue
		want=$(sed -n 's/^ \* expect: //p' "$src" | head -n 1)
		log=$LOGDIR/build-fail.$bad.log
		make -C "$KDIR612" M="$dir/tools/testing/build-fail" KBUILD_MODPOST_WARN=1 BAD="$bad" modules > "$log" 2>&1 &&
			{ fail "build-fail: $bad.c built"; continue; }
		if [ -n "$want" ] && grep -qF "$want" "$log"; then
			pass "build-fail: $bad.c does not build ($want)"
		else
			fail "build-fail: $bad.c failed without \"$want\""
			detail "$log" 10
		fi
	done
}

stage_sparse() {
	local name rc
	[ -n "$KDIR612" ] || { fail "sparse: no Debian 6.12 headers; run tools/bootstrap.sh"; return; }
	command -v sparse >/dev/null 2>&1 || { fail "sparse: sparse not installed; run tools/bootstrap.sh"; return; }
	name=sparse-${KDIR612#/usr/src/linux-headers-}
	rc=0
	# C=2 checks every source file, not just the ones make recompiles.
	build_tree "$name" "$KDIR612" C=2 || rc=$?
	grep -E '(warning|error):' "$LOGDIR/$name.make.log" > "$LOGDIR/$name.findings" || true
	if [ "$rc" = 0 ] && [ ! -s "$LOGDIR/$name.findings" ]; then
		pass "sparse: C=2 against ${KDIR612#/usr/src/}"
	else
		fail "sparse: C=2 against ${KDIR612#/usr/src/} (make exited $rc, $(wc -l < "$LOGDIR/$name.findings") findings)"
		if [ -s "$LOGDIR/$name.findings" ]; then
			detail "$LOGDIR/$name.findings"
		else
			tail -n 5 "$LOGDIR/$name.make.log" > "$LOGDIR/$name.findings"
			detail "$LOGDIR/$name.findings"
		fi
	fi
}

# Filter checkpatch findings ("file:line: TYPE:NAME: text") on stdin, dropping
# those tools/checkpatch.exceptions accepts: same file and type, and the line
# is the "#define MACRO" line of the macro named there, or declares the
# struct member or variable named there ("struct T *NAME").
checkpatch_unexcepted() {
	local file line rest type macro
	while IFS= read -r finding; do
		file=${finding%%:*}
		rest=${finding#*:}
		line=${rest%%:*}
		type=$(echo "$finding" | sed -E 's/^[^:]+:[0-9]+: [A-Z]+:([A-Z_]+):.*/\1/')
		macro=$(sed -n -e "${line}s/^#define[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/\1/p" \
			-e "${line}s/^[[:space:]]*struct [A-Za-z0-9_]* \**\([A-Za-z0-9_]*\)[[:space:]]*[;=].*/\1/p" \
			"$REPO/$file" 2>/dev/null)
		if [ -n "$macro" ] && grep -qE "^$file $type $macro( |$)" "$REPO/tools/checkpatch.exceptions" 2>/dev/null; then
			continue
		fi
		echo "$finding"
	done
}

stage_style() {
	local files out f
	if ! need_src; then
		fail "style: cannot unpack linux-source-6.12 (needed for checkpatch.pl and kernel-doc); see $STAGE_LOG"
		return
	fi

	# checkpatch: every tracked C file of ours.
	mapfile -t files < <(tracked 'module/*.c' 'module/*.h' 'kunit/*.c' 'kunit/*.h' 'tools/*.c' 'tools/*.h')
	out=$LOGDIR/checkpatch.out
	: > "$out"
	for f in ${files[@]+"${files[@]}"}; do
		(cd "$REPO" && perl "$SRCDIR/scripts/checkpatch.pl" --no-tree --strict --terse \
			--show-types -f "$f") >> "$out" 2>&1 || true
	done
	cat "$out" >> "$STAGE_LOG"
	grep -E ': (ERROR|WARNING|CHECK):' "$out" | checkpatch_unexcepted > "$out.findings" || true
	if [ ! -s "$out.findings" ]; then
		pass "style: checkpatch --strict (${#files[@]} files)"
	else
		fail "style: checkpatch --strict ($(wc -l < "$out.findings") findings in ${#files[@]} files)"
		detail "$out.findings"
	fi

	# kernel-doc: the public headers and the core's sources.
	mapfile -t files < <(tracked 'module/include/*.h' 'module/drvproxy/*.c')
	out=$LOGDIR/kernel-doc.out
	: > "$out"
	if [ "${#files[@]}" -gt 0 ]; then
		(cd "$REPO" && perl "$SRCDIR/scripts/kernel-doc" -none -Wall "${files[@]}") > "$out" 2>&1 || true
	fi
	cat "$out" >> "$STAGE_LOG"
	grep -iE 'warning|error' "$out" > "$out.findings" || true
	if [ ! -s "$out.findings" ]; then
		pass "style: kernel-doc -Wall (${#files[@]} files)"
	else
		fail "style: kernel-doc -Wall ($(wc -l < "$out.findings") findings in ${#files[@]} files)"
		detail "$out.findings"
	fi
}

stage_runner() {
	local out=$LOGDIR/runner.ktap line
	KDIR=$KDIR612 "$REPO/tools/guest/selftest.sh" > "$out" 2>> "$STAGE_LOG" || true
	cat "$out" >> "$STAGE_LOG"
	count_ktap "runner" "$out"
	if ! grep -qE '^(not )?ok ' "$out"; then
		fail "runner: tools/guest/selftest.sh produced no results"
		detail "$out" 10
	fi
	# Bail out lines (e.g. no kernel) are failures of their own.
	while IFS= read -r line; do
		fail "runner: $line"
	done < <(grep '^Bail out!' "$out" || true)
}

# count_ktap PREFIX FILE: one result per leaf KTAP result line in FILE
# (ktap_leaves, tools/lib.sh), "# SKIP" counted as skipped; and one failure
# per plan that does not match its results, or results without a plan.
count_ktap() {
	local prefix=$1 file=$2 kind desc
	while IFS=$'\t' read -r kind desc; do
		case $kind in
		ok) pass "$prefix: $desc" ;;
		skip) skip "$prefix: $desc" ;;
		*) fail "$prefix: $desc" ;;
		esac
	done < <(ktap_leaves "$file")
	while IFS= read -r desc; do
		fail "$prefix: $desc"
	done < <(ktap_plan_errors "$file" 1)
}

# count_kunit_cases LABEL FILE: the test-case level of a debugfs results file
# (top = the suite's own line, next level = cases, deeper = parameters), each
# reported as "LABEL: <case>".
count_kunit_cases() {
	local label=$1 file=$2 kind desc
	while IFS=$'\t' read -r kind desc; do
		case $kind in
		ok) pass "$label: $desc" ;;
		skip) skip "$label: $desc" ;;
		*) fail "$label: $desc" ;;
		esac
	done < <(awk '
		function indent_of(s,  t) { t = s; sub(/^[ \t]*/, "", t); return length(s) - length(t) }
		/^[ \t]*(ok|not ok) [0-9]+/ { n++; lines[n] = $0; ind[n] = indent_of($0); seen[ind[n]] = 1 }
		END {
			# second-smallest indent among result lines = the case level
			min = -1; second = -1
			for (i in seen) { i += 0; if (min < 0 || i < min) min = i }
			for (i in seen) { i += 0; if (i > min && (second < 0 || i < second)) second = i }
			for (k = 1; k <= n; k++) {
				if (ind[k] != second) continue
				line = lines[k]; sub(/^[ \t]*/, "", line)
				kind = (line ~ /^not ok/) ? "notok" : "ok"
				if (line ~ /#[ \t]*SKIP/) kind = "skip"
				desc = line; sub(/^(ok|not ok) [0-9]+[ \t]*/, "", desc)
				print kind "\t" desc
			}
		}' "$file")
}

# The KUnit-kernel configurations (tools/kunit-kernel.sh VARIANT) that
# stages kunit and torture run on.
KUNIT_VARIANTS=${KUNIT_VARIANTS:-default none rt newest}
TORTURE_VARIANTS=${TORTURE_VARIANTS:-$(for v in $KUNIT_VARIANTS; do [ "$v" = newest ] || printf '%s ' "$v"; done)}
TORTURE_VARIANTS=${TORTURE_VARIANTS% }
case " $TORTURE_VARIANTS " in
*" newest "*) echo "check.sh: TORTURE_VARIANTS: newest is a KUnit-only kernel (stage torture runs on the linux-source-6.12 ones)" >&2; exit 2 ;;
esac

# variant_name BASE VARIANT: the name of a variant's build tree, guest dir and
# logs: BASE for the default kernel (the names it had before variants, so
# its module build stays warm), BASE-VARIANT for the others.
variant_name() {
	if [ "$2" = default ]; then echo "$1"; else echo "$1-$2"; fi
}

# variant_kernel LABEL VARIANT: build or reuse VARIANT's KUnit kernel and
# set KKDIR to its build dir; on failure report it as LABEL and return 1.
variant_kernel() {
	local label=$1 variant=$2 from
	from=$(($(wc -l < "$STAGE_LOG") + 1))
	note "KUnit kernel $variant: tools/kunit-kernel.sh $variant (cached; a cold build takes ~5 min, progress in $STAGE_LOG)"
	if ! KKDIR=$("$REPO/tools/kunit-kernel.sh" "$variant" 2>> "$STAGE_LOG" | tail -n 1) || [ ! -d "$KKDIR" ]; then
		fail "$label: KUnit kernel build failed (tools/kunit-kernel.sh $variant); see $STAGE_LOG"
		tail -n "+$from" "$STAGE_LOG" | grep 'ERROR' | tail -n 5 | sed 's/^/        /'
		return 1
	fi
}

# kunit_build NAME KKDIR VARIANT: the tree built as NAME against VARIANT's
# KUnit kernel KKDIR; for newest in its release's chroot, which sees the
# kernel tree through a bind mount of the kunit-kernel cache.
kunit_build() {
	local name=$1 kkdir=$2
	if [ "$3" != newest ]; then
		build_tree "$name" "$kkdir"
		return
	fi
	sync_sources "$REPO" "$BUILD/$name"
	DRVPROXY_CHROOT_BIND=$DRVPROXY_CACHE/kunit-kernel chroot_make "$name" "$name" "" "$kkdir"
}

stage_kunit() {
	local v p f s row rows=()
	for v in $KUNIT_VARIANTS; do
		p=$PASSED f=$FAILED s=$SKIPPED KKDIR=""
		kunit_variant "$v"
		rows+=("$(printf '%-20s %-30s %6d %6d %7d' "kunit[$v]" \
			"$(cat "$KKDIR/include/config/kernel.release" 2>/dev/null || echo '?')" \
			$((PASSED - p)) $((FAILED - f)) $((SKIPPED - s)))")
	done
	note "per KUnit kernel (the suites' cases):"
	note "$(printf '%-20s %-30s %6s %6s %7s' results kernel passed failed skipped)"
	for row in "${rows[@]}"; do
		note "$row"
	done
}

# kunit_variant VARIANT: stage kunit on one kernel configuration.
kunit_variant() {
	local variant=$1 label="kunit[$1]" name kkdir mods data log suite rc reason f
	name=$(variant_name kunit "$variant")
	variant_kernel "$label" "$variant" || return
	kkdir=$KKDIR
	note "KUnit kernel ready: $kkdir"
	if ! need_src; then
		fail "$label: cannot unpack linux-source-6.12 (needed for kunit.py parse)"
		return
	fi

	# The project's modules, built against the KUnit kernel (CONFIG_KUNIT=y,
	# so the top Kbuild descends into kunit/ too).
	mods=$BUILD/$name-guest/lib
	data=$BUILD/$name-guest/data
	rm -rf "$BUILD/$name-guest"
	mkdir -p "$mods" "$data"
	if kunit_build "$name" "$kkdir" "$variant"; then
		find "$BUILD/$name" -name '*.ko' -exec cp {} "$mods/" \;
	else
		fail "$label: module build against the KUnit kernel failed; see $LOGDIR/$name.make.log"
		grep -E 'error|Error|No such file' "$LOGDIR/$name.make.log" | head -n 5 | sed 's/^/        /'
		note "(running the kernel's example suite anyway, to prove the KUnit path)"
	fi
	f=$(find "$kkdir/lib/kunit" -name 'kunit-example-test.ko' | head -n 1)
	if [ -n "$f" ]; then
		cp "$f" "$mods/"
	else
		fail "$label: kunit-example-test.ko missing from $kkdir/lib/kunit (CONFIG_KUNIT_EXAMPLE_TEST=m?)"
	fi
	cp "$REPO/tools/guest/kunit-guest.sh" "$data/"

	log=$LOGDIR/$name.console.log
	rc=0
	"$REPO/tools/guest/run.sh" -q -k "$kkdir/arch/x86/boot/bzImage" -m "$mods" -d "$data" \
		-l "$log" -t "${KUNIT_TIMEOUT:-900}" -c 'sh ./kunit-guest.sh' 2> "$LOGDIR/$name.run.stderr" || rc=$?
	cat "$LOGDIR/$name.run.stderr" >> "$STAGE_LOG"
	reason=$(grep -E '^run.sh: ' "$LOGDIR/$name.run.stderr" | tail -n 1)
	note "$label: $reason"

	# One KTAP document per suite, each checked by kunit.py parse and
	# counted at the test-case level.
	rm -rf "${LOGDIR:?}/$name"
	mkdir -p "$LOGDIR/$name"
	awk -v dir="$LOGDIR/$name" '
		/DRVPROXY-KUNIT-BEGIN / { suite = $NF; out = dir "/" suite ".ktap"; next }
		/DRVPROXY-KUNIT-END / { close(out); out = ""; next }
		out != "" { print > out }' "$log"
	for f in "$LOGDIR/$name/"*.ktap; do
		[ -f "$f" ] || continue
		suite=$(basename "$f" .ktap)
		count_kunit_cases "$label/$suite" "$f"
		while IFS= read -r perr; do
			fail "$label/$suite: $perr"
		done < <(ktap_plan_errors "$f")
		if ! logged python3 "$SRCDIR/tools/testing/kunit/kunit.py" parse "$f"; then
			grep -qE '^[ \t]*not ok ' "$f" ||
				fail "$label/$suite: kunit.py parse rejected the results (crash or malformed KTAP); see $STAGE_LOG"
		fi
	done
	[ -n "$(ls "$LOGDIR/$name/" 2>/dev/null)" ] || fail "$label: no suite results found in $log"
	while IFS= read -r f; do
		fail "$label: ${f#*DRVPROXY-KUNIT-}"
	done < <(grep -oE 'DRVPROXY-KUNIT-(LOAD|UNLOAD)FAIL .*' "$log" || true)
	[ "$rc" = 0 ] || fail "$label: guest run failed (exit $rc): ${reason#run.sh: }"
}

# count_scripts STAGE LOG [LABEL]: split the console LOG of selftests-guest.sh
# per script into $LOGDIR/STAGE and count each one's KTAP as "LABEL/<script>"
# (LABEL defaults to STAGE); a script's exit status counts when its KTAP does
# not already explain it.
count_scripts() {
	local stage=$1 log=$2 label=${3:-$1} f name script_rc
	split_selftests "$log" "$LOGDIR/$stage"
	for f in "$LOGDIR/$stage/"*.out; do
		[ -f "$f" ] || continue
		name=$(basename "$f" .out)
		script_rc=$(sed -n 's/^rc=//p' "$f.rc" 2>/dev/null)
		local before_fail=$FAILED results reason
		results=$(grep -cE '^[ \t]*(ok|not ok) [0-9]+' "$f" || true)
		count_ktap "$label/$name" "$f"
		reason=$(sed -n 's/^1\.\.0[ \t]*#[ \t]*[Ss][Kk][Ii][Pp][ \t]*//p' "$f" | head -n 1)
		case ${script_rc:-missing} in
		0) [ "$results" -gt 0 ] || pass "$label/$name (no KTAP results, exit 0)" ;;
		4) [ "$results" -gt 0 ] || skip "$label/$name # SKIP ${reason:-exit 4, no reason given}" ;;
		124) fail "$label/$name: timed out" ;;
		missing) fail "$label/$name: did not finish (guest died?)" ;;
		*) [ "$FAILED" -gt "$before_fail" ] || fail "$label/$name: exited $script_rc" ;;
		esac
	done
}

# The guests stage selftests boots, in order (GUESTS selects some of them).
ALL_GUESTS="6.12 6.1 newest rt arm64"
GUESTS=${GUESTS:-$ALL_GUESTS}
for g in $GUESTS; do
	case " $ALL_GUESTS " in *" $g "*) ;; *) echo "check.sh: unknown guest '$g' in GUESTS (guests: $ALL_GUESTS)" >&2; exit 2 ;; esac
done
guest_wanted() { case " $GUESTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# on_kernel LABEL IMAGE CMD...: run CMD (a selftests_on) and add its row
# to the per-kernel table stage selftests ends with.
KERNEL_ROWS=()
on_kernel() {
	local label=$1 rel=${2##*/vmlinuz-} p=$PASSED f=$FAILED s=$SKIPPED
	shift 2
	case $rel in */*) rel=$(basename "$(dirname "$rel")") ;; esac
	"$@"
	KERNEL_ROWS+=("$(printf '%-20s %-30s %6d %6d %7d' "$label" "$rel" \
		$((PASSED - p)) $((FAILED - f)) $((SKIPPED - s)))")
}

stage_selftests() {
	local src=$REPO/tools/testing/selftests/drvproxy image61 row
	if [ ! -d "$src" ]; then
		note "tools/testing/selftests/drvproxy/ does not exist yet: 0 tests, skipped"
		return
	fi
	[ -n "$KDIR612" ] || { fail "selftests: no Debian 6.12 headers; run tools/bootstrap.sh"; return; }
	[ "$GUESTS" = "$ALL_GUESTS" ] || note "only the guests $GUESTS (GUESTS)"
	guest_wanted 6.12 &&
		on_kernel selftests "$(debian_kernel)" selftests_on "$KDIR612" "$(debian_kernel)" selftests
	# The oldest kernel the README promises, booted too, not only built.
	if ! guest_wanted 6.1; then
		:
	elif [ -z "$KDIR61" ]; then
		fail "selftests[6.1]: no Debian 6.1 headers; run BOOTSTRAP_WITH_61=1 tools/bootstrap.sh as root"
	elif ! image61=$(image_for_kdir "$KDIR61" 2>> "$STAGE_LOG"); then
		fail "selftests[6.1]: no kernel image for ${KDIR61#/usr/src/linux-headers-}; see $STAGE_LOG"
	else
		on_kernel "selftests[6.1]" "$image61" selftests_on "$KDIR61" "$image61" "selftests[6.1]"
	fi
	guest_wanted newest && selftests_newest
	guest_wanted rt && selftests_rt
	guest_wanted arm64 && selftests_arm64
	note "per kernel (booted; modules built W=1 against its headers):"
	note "$(printf '%-20s %-30s %6s %6s %7s' results kernel passed failed skipped)"
	for row in "${KERNEL_ROWS[@]}"; do
		note "$row"
	done
}

# The newest kernel of Debian testing/unstable, booted: its modules and the
# image companions are built in the chroot (tools/chroot.sh), its image is
# Debian's, downloaded into the cache.
selftests_newest() {
	local kdir image ver
	if ! "$REPO/tools/chroot.sh" prepare > /dev/null 2>> "$STAGE_LOG" ||
	   ! kdir=$("$REPO/tools/chroot.sh" kdir 2>> "$STAGE_LOG") || [ -z "$kdir" ]; then
		fail "selftests[newest]: no chroot of Debian testing/unstable with headers; see $STAGE_LOG"
		return
	fi
	ver=${kdir#/usr/src/linux-headers-}
	ver=$(echo "$ver" | cut -d. -f1-2)
	if ! image=$("$REPO/tools/chroot.sh" image 2>> "$STAGE_LOG"); then
		fail "selftests[$ver]: no kernel image for ${kdir#/usr/src/linux-headers-}; see $STAGE_LOG"
		return
	fi
	IN_CHROOT=1 on_kernel "selftests[$ver]" "$image" selftests_on "$kdir" "$image" "selftests[$ver]"
}

# Debian stable's PREEMPT_RT kernel (6.12-rt), built in the same chroot.
selftests_rt() {
	local kdir image ver
	if ! kdir=$("$REPO/tools/chroot.sh" rt-kdir 2>> "$STAGE_LOG") || [ -z "$kdir" ]; then
		fail "selftests[rt]: no PREEMPT_RT headers (tools/chroot.sh rt-kdir); see $STAGE_LOG"
		return
	fi
	ver=$(echo "${kdir#/usr/src/linux-headers-}" | cut -d. -f1-2)-rt
	if ! image=$("$REPO/tools/chroot.sh" rt-image 2>> "$STAGE_LOG"); then
		fail "selftests[$ver]: no kernel image for ${kdir#/usr/src/linux-headers-}; see $STAGE_LOG"
		return
	fi
	IN_CHROOT=1 on_kernel "selftests[$ver]" "$image" selftests_on "$kdir" "$image" "selftests[$ver]"
}

# Debian 12's arm64 6.12 kernel in QEMU's virt machine: the modules
# cross-built against its headers (tools/arm64.sh, Debian's cross-build
# layout), the selftests' programs with aarch64-linux-gnu-gcc, an arm64
# busybox; the converted drivers skip with a reason.
selftests_arm64() {
	local kdir image bb ver
	if ! kdir=$("$REPO/tools/arm64.sh" kdir "$KDIR612" 2>> "$STAGE_LOG") ||
	   ! image=$("$REPO/tools/arm64.sh" image "$KDIR612" 2>> "$STAGE_LOG") ||
	   ! bb=$("$REPO/tools/arm64.sh" busybox 2>> "$STAGE_LOG"); then
		fail "selftests[arm64]: no arm64 headers, kernel or busybox (tools/arm64.sh); see $STAGE_LOG"
		return
	fi
	ver=$(echo "${kdir##*/linux-headers-}" | cut -d. -f1-2)
	CROSS_ARGS=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
	GUEST_ARCH=arm64 GUEST_CC=aarch64-linux-gnu-gcc
	DRVPROXY_BUSYBOX=$bb on_kernel "selftests[$ver-arm64]" "$image" \
		selftests_on "$kdir" "$image" "selftests[$ver-arm64]"
	CROSS_ARGS=()
	GUEST_ARCH=x86_64 GUEST_CC=gcc
}

# kmake DIR KDIR ARGS...: make -C KDIR M=DIR ARGS (output to the stage
# log), in the chroot when IN_CHROOT is set (KDIR is the chroot's then).
kmake() {
	local dir=$1 kdir=$2
	shift 2
	if [ -n "${IN_CHROOT:-}" ]; then
		logged "$REPO/tools/chroot.sh" run "$BUILD" make -C "$kdir" M="$dir" "$@"
	else
		logged make -C "$kdir" M="$dir" ${CROSS_ARGS[@]+"${CROSS_ARGS[@]}"} "$@"
	fi
}

# Set while stage selftests builds for and boots the arm64 guest: the cross
# build's make arguments, the guest runner's architecture switch and the
# selftests' user-space compiler.
CROSS_ARGS=()
GUEST_ARCH=x86_64
GUEST_CC=gcc

# selftests_on KDIR IMAGE LABEL: every selftest script in a guest booting
# IMAGE, with the modules built against KDIR (its Debian headers); results
# named "LABEL/<script>: ...".
selftests_on() {
	local kdir=$1 image=$2 label=$3
	local src=$REPO/tools/testing/selftests/drvproxy tree data log rc reason imgmods tag
	local runner
	tree=debian-${kdir##*/linux-headers-}
	tag=${label//[^a-z0-9.]/}

	# The Debian-built modules (same flags as stage build, so this is a no-op
	# rebuild when that stage ran).
	if [ -n "${IN_CHROOT:-}" ]; then
		sync_sources "$REPO" "$BUILD/$tree"
		chroot_make "$tree" "$tree" "" "$kdir" W=1
	else
		build_tree "$tree" "$kdir" W=1 ${CROSS_ARGS[@]+"${CROSS_ARGS[@]}"}
	fi
	if [ $? != 0 ]; then
		fail "$label: module build against ${kdir##*/usr/src/} failed; see $STAGE_LOG"
		return
	fi

	data=$BUILD/$tag-guest
	rm -rf "$data"
	mkdir -p "$data/selftests"
	rsync -a --exclude=bin/ "$src/" "$data/selftests/"
	if [ -n "${SELFTESTS:-}" ]; then
		local t
		for t in "$data/selftests/"test-*.sh; do
			case " $SELFTESTS " in *" ${t##*/} "*) ;; *) rm -f "$t" ;; esac
		done
		note "only $SELFTESTS (SELFTESTS)"
	fi
	if [ -f "$data/selftests/Makefile" ]; then
		# Built in a copy; DRVPROXY_TOP tells the Makefile where the
		# repo (module/include for the uapi header) is.
		if ! logged make -C "$data/selftests" KDIR="$kdir" DRVPROXY_TOP="$REPO" CC="$GUEST_CC"; then
			fail "$label: make -C tools/testing/selftests/drvproxy failed; see $STAGE_LOG"
			return
		fi
	fi
	# Image companions (make companion), built from the tree just built,
	# whose objects are the host's: image/build.sh puts them in a module
	# directory of their own and its reports into the selftests copy.
	imgmods=$BUILD/$tag-image
	rm -rf "$imgmods"
	mkdir -p "$imgmods"
	runner=()
	[ -z "${IN_CHROOT:-}" ] || runner=("$REPO/tools/chroot.sh" run "$BUILD")
	if [ -f "$src/image/build.sh" ] &&
	   ! logged ${runner[@]+"${runner[@]}"} bash \
		"$BUILD/$tree/tools/testing/selftests/drvproxy/image/build.sh" \
		"$BUILD/$tree" "$kdir" "$imgmods" "$data/selftests/image"; then
		fail "$label: image companions (image/build.sh) failed; see $STAGE_LOG"
		return
	fi
	# Real drivers converted to drvproxy (drivers/*/): the converted
	# modules go with the others, the plain builds and the upstream test
	# clients into the selftests copy.  They need the guest kernel's own
	# modules (vhost_net, hid, evdev), which only Debian 12's images are
	# unpacked with here.
	if [ -n "${IN_CHROOT:-}" ] || [ "$GUEST_ARCH" != x86_64 ]; then
		echo "the converted drivers run on Debian 12's 6.12 amd64 kernel only (they load that kernel's own vhost_net, hid and evdev)" \
			> "$data/selftests/drivers/SKIP"
	elif [ -f "$src/drivers/build.sh" ]; then
		if ! need_src; then
			fail "$label: no unpacked linux-source-6.12 for the converted drivers; see $STAGE_LOG"
			return
		fi
		if ! logged bash "$src/drivers/build.sh" "$SRCDIR" "$kdir" "$BUILD/$tree" \
			"$imgmods" "$data/selftests"; then
			fail "$label: the converted drivers (drivers/build.sh) failed; see $STAGE_LOG"
			return
		fi
	fi
	build_broken "$BUILD/$tree" "$kdir" "$imgmods" ||
		fail "$label: the broken-on-purpose build of drvproxy failed; see $STAGE_LOG"
	cp "$REPO/tools/guest/selftests-guest.sh" "$data/"

	log=$LOGDIR/$tag.console.log
	rc=0
	note "$label: $image"
	"$REPO/tools/guest/run.sh" -q -a "$GUEST_ARCH" -k "$image" \
		-m "$BUILD/$tree" -m "$imgmods" -d "$data" \
		-l "$log" -t "${SELFTESTS_TIMEOUT:-1800}" -c 'sh ./selftests-guest.sh' \
		2> "$LOGDIR/$tag.run.stderr" || rc=$?
	cat "$LOGDIR/$tag.run.stderr" >> "$STAGE_LOG"
	reason=$(grep -E '^run.sh: ' "$LOGDIR/$tag.run.stderr" | tail -n 1)
	note "$reason"

	count_scripts "$tag" "$log" "$label"
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "$label: guest run failed (exit $rc): ${reason#run.sh: }"
	# rc 1 is expected when a script failed; a splat or missing marker also
	# gives 1, so check those explicitly.
	if [ "$rc" = 1 ] && grep -qE 'kernel splat|without the DRVPROXY-GUEST-EXIT' "$LOGDIR/$tag.run.stderr"; then
		fail "$label: guest run failed: ${reason#run.sh: }"
	fi
}

# The scripts stage torture runs in the KUnit guest (KASAN, kmemleak,
# lockdep), and their settings (test-churn.sh and test-fuzz.sh run in stage
# selftests; tools/torture.sh, make torture, runs all of them at length in
# both kernels).  test-unplug.sh, test-pin.sh and test-below.sh are there
# for KASAN: a device's state used after its free, or a companion's code
# after rmmod.
TORTURE_SCRIPTS="test-torture.sh test-fault.sh test-unplug.sh test-pin.sh test-below.sh"
TORTURE_ENV="TORTURE_DURATION=10"

stage_torture() {
	local v
	for v in $TORTURE_VARIANTS; do
		torture_variant "$v"
	done
}

# torture_variant VARIANT: stage torture on one kernel configuration.
torture_variant() {
	local src=$REPO/tools/testing/selftests/drvproxy variant=$1 label="torture[$1]"
	local name kname kkdir mods data log rc reason f
	name=$(variant_name torture "$variant")
	kname=$(variant_name kunit "$variant")
	variant_kernel "$label" "$variant" || return
	kkdir=$KKDIR
	# The same build as stage kunit's (a no-op rebuild when that ran).
	if ! kunit_build "$kname" "$kkdir" "$variant"; then
		fail "$label: module build against the KUnit kernel failed; see $LOGDIR/$kname.make.log"
		return
	fi
	mods=$BUILD/$name-guest/lib
	data=$BUILD/$name-guest/data
	rm -rf "$BUILD/$name-guest"
	mkdir -p "$mods" "$data/selftests"
	for f in drvproxy drvproxy_demo drvproxy_demo_v2 drvproxy_demo_v3 \
		 drvproxy_demo_heartbeat drvproxy_torture; do
		find "$BUILD/$kname" -name "$f.ko" -exec cp {} "$mods/" \;
	done
	build_broken "$BUILD/$kname" "$kkdir" "$mods" ||
		fail "$label: the broken-on-purpose build of drvproxy failed; see $STAGE_LOG"
	rsync -a --exclude=bin/ --exclude='test-*.sh' "$src/" "$data/selftests/"
	for f in $TORTURE_SCRIPTS; do
		cp "$src/$f" "$data/selftests/"
	done
	if ! logged make -C "$data/selftests" DRVPROXY_TOP="$REPO"; then
		fail "$label: make -C tools/testing/selftests/drvproxy failed; see $STAGE_LOG"
		return
	fi
	cp "$REPO/tools/guest/selftests-guest.sh" "$data/"

	log=$LOGDIR/$name.console.log
	rc=0
	"$REPO/tools/guest/run.sh" -q -k "$kkdir/arch/x86/boot/bzImage" -m "$mods" -d "$data" \
		-l "$log" -t "${TORTURE_TIMEOUT:-900}" -c "$TORTURE_ENV sh ./selftests-guest.sh" \
		2> "$LOGDIR/$name.run.stderr" || rc=$?
	cat "$LOGDIR/$name.run.stderr" >> "$STAGE_LOG"
	reason=$(grep -E '^run.sh: ' "$LOGDIR/$name.run.stderr" | tail -n 1)
	note "$label: $reason"
	count_scripts "$name" "$log" "$label"
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "$label: guest run failed (exit $rc): ${reason#run.sh: }"
	if [ "$rc" = 1 ] && grep -qE 'kernel splat|without the DRVPROXY-GUEST-EXIT' "$LOGDIR/$name.run.stderr"; then
		fail "$label: guest run failed: ${reason#run.sh: }"
	fi
}

# The README's development-box section in full Debian VMs (tools/devbox.sh),
# as long as it fits the time budget: a suite costs about 12 minutes under
# TCG (boot, two module builds, DKMS), making its VM image once about as
# much again.
DEVBOX_SUITES=${DEVBOX_SUITES:-bookworm newest}
CHECK_BUDGET=${CHECK_BUDGET:-4800}

stage_devbox() {
	local suite need left out rc before
	for suite in $DEVBOX_SUITES; do
		need=900
		"$REPO/tools/devbox.sh" --cached "$suite" 2>> "$STAGE_LOG" || need=1800
		if [ "$need" = 1800 ] && [ "$(id -u)" != 0 ]; then
			skip "devbox[$suite] # SKIP its VM image is not made yet, and making it needs root (debootstrap)"
			continue
		fi
		left=$((CHECK_BUDGET - ($(date +%s) - CHECK_START)))
		if [ "$need" -gt "$left" ]; then
			skip "devbox[$suite] # SKIP needs about $((need / 60)) min, $((left / 60)) min of the CHECK_BUDGET=$CHECK_BUDGET s left (make devbox SUITE=$suite runs it alone)"
			continue
		fi
		out=$LOGDIR/devbox-$suite.ktap
		before=$FAILED
		rc=0
		echo "\$ tools/devbox.sh $suite" >> "$STAGE_LOG"
		"$REPO/tools/devbox.sh" "$suite" > "$out" 2>> "$STAGE_LOG" || rc=$?
		count_ktap "devbox[$suite]" "$out"
		[ "$rc" = 0 ] || [ "$FAILED" -gt "$before" ] ||
			fail "devbox[$suite]: tools/devbox.sh exited $rc; see $STAGE_LOG"
	done
}

# ------------------------------------------------------------------ main ---

stage_name() {
	case $1 in
	a|build) echo build ;;
	b|sparse) echo sparse ;;
	c|style|checkpatch|kernel-doc) echo style ;;
	d|runner|guest) echo runner ;;
	e|kunit) echo kunit ;;
	f|selftests|selftest) echo selftests ;;
	g|torture|reliability) echo torture ;;
	h|devbox) echo devbox ;;
	*) return 1 ;;
	esac
}

stage_title() {
	case $1 in
	build) echo "W=1 module builds (Debian 6.12, 6.1, the newest testing/unstable, 6.12-rt; arm64 6.12 and 6.1)" ;;
	sparse) echo "sparse (C=2, Debian 6.12 headers)" ;;
	style) echo "checkpatch --strict and kernel-doc" ;;
	runner) echo "guest runner self-tests (Debian 6.12 amd64 and arm64 kernels in QEMU)" ;;
	kunit) echo "KUnit suites (KUnit kernels $KUNIT_VARIANTS in QEMU)" ;;
	selftests) echo "kselftest-style scripts (Debian kernels in QEMU: $GUESTS)" ;;
	torture) echo "torture and fault injection (KUnit kernels $TORTURE_VARIANTS in QEMU)" ;;
	devbox) echo "the README's development-box section in Debian VMs ($DEVBOX_SUITES), within the time budget" ;;
	esac
}

stages=""
if [ $# = 0 ]; then
	stages=$ALL_STAGES
else
	for a in "$@"; do
		case $a in -h|--help) sed -n '4,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
		s=$(stage_name "$a") || { echo "check.sh: unknown stage '$a' (stages: $ALL_STAGES, or a-h)" >&2; exit 2; }
		stages="$stages $s"
	done
fi

STAGE_LOG=$LOGDIR/bootstrap.log
: > "$STAGE_LOG"
if [ "${DRVPROXY_SKIP_BOOTSTRAP:-0}" != 1 ]; then
	if ! BOOTSTRAP_WITH_61=1 "$REPO/tools/bootstrap.sh" >> "$STAGE_LOG" 2>&1; then
		fail "bootstrap: tools/bootstrap.sh failed; see $STAGE_LOG"
		detail "$STAGE_LOG" 5
	fi
fi
KDIR612=$(debian_kdir || true)
KDIR61=$(kdir_61 || true)

for s in $stages; do
	STAGE_LOG=$LOGDIR/$s.log
	: > "$STAGE_LOG"
	p0=$PASSED f0=$FAILED k0=$SKIPPED
	t0=$(date +%s.%N)
	echo "==> $s: $(stage_title "$s")"
	# A stage must never abort the whole run: run it with errexit off in a
	# way that still lets its counters reach us.
	set +e
	"stage_$s"
	set -e
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	echo "    $s: $((PASSED - p0)) passed, $((FAILED - f0)) failed, $((SKIPPED - k0)) skipped in $secs s (log: $STAGE_LOG)"
done

if [ $((PASSED + FAILED)) = 0 ]; then
	echo "check.sh: no tests ran" >&2
fi
if [ "$SKIPPED" -gt 0 ]; then
	echo "Skipped, with the reasons:"
	printf '  %s\n' "${SKIP_LIST[@]}"
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ] && [ $((PASSED + FAILED)) -gt 0 ]
