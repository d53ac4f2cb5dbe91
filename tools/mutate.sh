#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mutate.sh - mutation testing: does every test catch the bug it is for?
#
# Usage: tools/mutate.sh [-l] [-n] [-m NAME]... [MUTANT.patch...]
#
#   (no argument)  every tools/mutate/mutants/*.patch, in name order
#   -m NAME        only the mutant whose file name (without .patch) is NAME
#                  or starts with NAME- (e.g. -m 03); repeatable
#   -l             list the mutants and their checks, run nothing
#   -n             skip the control run (the unmutated tree must pass the
#                  checks, or a "kill" proves nothing; only for reruns)
#
# A mutant is a patch that puts one deliberate bug into the framework.  Its
# header, before the diff, names it and the checks that must catch it:
#
#   Mutant: one line saying what is broken
#   Checks: kunit torture selftest:test-unwind.sh
#
# Checks (each one QEMU guest, one at a time):
#   kunit[:VARIANT]     every KUnit suite of drvproxy_kunit.ko and
#                       drvproxy_taint_kunit.ko on the KUnit kernel VARIANT
#                       (default, none, rt; tools/kunit-kernel.sh)
#   torture[:VARIANT]   test-torture.sh (TORTURE_DURATION=10) on that kernel
#   selftest:SCRIPT     tools/testing/selftests/drvproxy/SCRIPT in the Debian
#                       6.12 guest
#
# Each mutant is applied to a copy of the tree (never to the tree itself),
# built, and its checks run until one catches it.  A check catches a mutant
# when a test fails, the guest finds a kernel splat, hangs (timeout), dies,
# or a module fails to load.  The result is KILLED (and by what), SURVIVED,
# or ERROR when the patch does not apply or the mutant does not build: an
# error is not a kill.  Before the mutants, the unmutated tree must pass
# every check any of them names (the control).  Ends with
#   N mutants, N killed, N survived, N errors; kill rate N% (killed / (killed + survived))
# and exits non-zero if any mutant survived or errored.
#
# Environment: BUILD (default ~/.cache/drvproxy/build; the copies live in
# $BUILD/mutate, logs in $BUILD/logs/mutate), MUTATE_KUNIT_TIMEOUT (guest
# timeout of a kunit check, default 240 s), MUTATE_TORTURE_TIMEOUT (400 s),
# MUTATE_SELFTEST_TIMEOUT (400 s).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/lib.sh"
MUTANTS_DIR=$REPO/tools/mutate/mutants
WORK=$BUILD/mutate
LOGDIR=$BUILD/logs/mutate
mkdir -p "$WORK" "$LOGDIR"

usage() { sed -n '4,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

# ------------------------------------------------------------- mutants ---

mutant_field() { sed -n "s/^$2: //p" "$1" | head -n 1; }
mutant_name() { basename "$1" .patch; }

LIST=0
CONTROL=1
SELECT=()
while getopts "lnm:h" opt; do
	case $opt in
	l) LIST=1 ;;
	n) CONTROL=0 ;;
	m) SELECT+=("$OPTARG") ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))

PATCHES=()
if [ $# -gt 0 ]; then
	PATCHES=("$@")
else
	for p in "$MUTANTS_DIR"/*.patch; do
		[ -f "$p" ] || continue
		if [ ${#SELECT[@]} -gt 0 ]; then
			keep=0
			for s in "${SELECT[@]}"; do
				case $(mutant_name "$p") in "$s"|"$s"-*) keep=1 ;; esac
			done
			[ "$keep" = 1 ] || continue
		fi
		PATCHES+=("$p")
	done
fi
[ ${#PATCHES[@]} -gt 0 ] || { echo "mutate.sh: no mutants selected" >&2; exit 2; }

if [ "$LIST" = 1 ]; then
	for p in "${PATCHES[@]}"; do
		printf '%-32s %s\n%-32s   checks: %s\n' "$(mutant_name "$p")" \
			"$(mutant_field "$p" Mutant)" "" "$(mutant_field "$p" Checks)"
	done
	exit 0
fi

# -------------------------------------------------------------- builds ---

KDIR612=$(debian_kdir || true)
declare -A KKDIRS=()

# kernel_kdir VARIANT: the KDIR a check's modules are built against
# ("debian" or a KUnit-kernel variant); the KUnit kernels are cached and
# shared (tools/kunit-kernel.sh).
kernel_kdir() {
	if [ "$1" = debian ]; then
		echo "$KDIR612"
		return
	fi
	if [ -z "${KKDIRS[$1]:-}" ]; then
		KKDIRS[$1]=$("$REPO/tools/kunit-kernel.sh" "$1" 2>> "$LOGDIR/kunit-kernel.log" | tail -n 1)
	fi
	echo "${KKDIRS[$1]}"
}

# prepare_tree PATCH: the sources as they were when this run started
# ($WORK/base), with PATCH applied unless it is empty, in $WORK/src (rsync
# by content, so an unchanged file keeps its objects).
prepare_tree() {
	sync_sources "$WORK/base" "$WORK/src" || return 1
	[ -n "$1" ] || return 0
	patch -s -p1 -d "$WORK/src" --no-backup-if-mismatch -r - < "$1"
}

# build_for KERNEL LOG: $WORK/src built against KERNEL (see kernel_kdir) in
# its own tree $WORK/KERNEL, which keeps its objects between mutants.
build_for() {
	local kernel=$1 log=$2 kdir
	kdir=$(kernel_kdir "$kernel")
	if [ -z "$kdir" ] || [ ! -d "$kdir" ]; then
		echo "no kernel tree for $kernel" > "$log"
		return 1
	fi
	sync_sources "$WORK/src" "$WORK/$kernel" &&
		nice -n 15 make -C "$kdir" M="$WORK/$kernel" -j2 modules > "$log" 2>&1 &&
		build_drivers "$kernel" "$kdir" >> "$log" 2>&1 &&
		build_images "$kernel" "$kdir" >> "$log" 2>&1
}

# build_images KERNEL KDIR: for the Debian kernel, test-image.sh's image
# companions (image/build.sh, make companion) from $WORK/src against the
# tree just built, so a mutant of the framework or of make companion
# reaches test-image.sh (without them it skips): the modules in
# $WORK/images-out/mods, the reports in .../data/image.
build_images() {
	local build=$WORK/src/tools/testing/selftests/drvproxy/image/build.sh
	[ "$1" = debian ] && [ -f "$build" ] || return 0
	rm -rf "$WORK/images-out"
	mkdir -p "$WORK/images-out/mods" "$WORK/images-out/data/image"
	BUILD=$WORK/images-build nice -n 15 bash "$build" "$WORK/$1" "$2" \
		"$WORK/images-out/mods" "$WORK/images-out/data/image"
}

# build_drivers KERNEL KDIR: for the Debian kernel, the real drivers
# converted to drvproxy (drivers/build.sh) from $WORK/src, so a mutant of a
# conversion or of the framework reaches test-driver-*.sh: the modules in
# $WORK/drivers-out/mods, the plain builds and clients in .../data.
build_drivers() {
	local build=$WORK/src/tools/testing/selftests/drvproxy/drivers/build.sh src
	[ "$1" = debian ] && [ -f "$build" ] || return 0
	src=$("$REPO/tools/kunit-kernel.sh" --print-src 2> /dev/null | tail -n 1)
	rm -rf "$WORK/drivers-out"
	mkdir -p "$WORK/drivers-out/mods" "$WORK/drivers-out/data"
	nice -n 15 bash "$build" "$src" "$2" "$WORK/$1" "$WORK/drivers-out/mods" \
		"$WORK/drivers-out/data"
}

# The selftests' static helpers (dpxtool, dpxmod, ...), built once per run
# from the unmutated tree: they are userspace and no mutant touches them.
HELPERS=""
helpers() {
	[ -z "$HELPERS" ] || return 0
	HELPERS=$WORK/helpers
	rm -rf "$HELPERS"
	mkdir -p "$HELPERS"
	rsync -a --exclude=bin/ "$WORK/base/tools/testing/selftests/drvproxy/" "$HELPERS/"
	nice -n 15 make -C "$HELPERS" DRVPROXY_TOP="$WORK/base" > "$LOGDIR/helpers.log" 2>&1
}

# -------------------------------------------------------------- checks ---

# run_guest NAME KERNEL_IMAGE MODDIR DATADIR TIMEOUT COMMAND: one guest;
# sets GUEST_RC and GUEST_REASON, the console is $LOGDIR/NAME.console.log.
run_guest() {
	local name=$1 image=$2 mods=$3 data=$4 timeout=$5 cmd=$6
	GUEST_RC=0
	nice -n 15 "$REPO/tools/guest/run.sh" -q -k "$image" -m "$mods" -d "$data" \
		-l "$LOGDIR/$name.console.log" -t "$timeout" -c "$cmd" \
		2> "$LOGDIR/$name.run.stderr" || GUEST_RC=$?
	GUEST_REASON=$(grep -E '^run.sh: ' "$LOGDIR/$name.run.stderr" | tail -n 1 | sed 's/ (boot-to-command.*//')
}

# guest_verdict: the reason a guest run catches the mutant (splat, timeout,
# crash), or nothing.  Exit status 1 of the command itself is a test's
# failure, which the caller reads from the results.
guest_verdict() {
	case $GUEST_RC in
	0) ;;
	124) echo "guest timed out" ;;
	1) grep -qE 'kernel splat|without the DRVPROXY-GUEST-EXIT|QEMU' "$LOGDIR/$1.run.stderr" &&
		echo "${GUEST_REASON#run.sh: }" ;;
	*) echo "${GUEST_REASON#run.sh: }" ;;
	esac
}

# failed_cases FILE: the "not ok" results of the KTAP in FILE, skips aside.
failed_cases() {
	grep -E '^[ \t]*not ok [0-9]+' "$1" | grep -viE '#[ \t]*skip' |
		sed -E 's/^[ \t]*not ok [0-9]+ (- )?//' || true
}

# check_kunit NAME VARIANT: the drvproxy suites on that KUnit kernel.
# Prints why the mutant was caught; nothing when it was not.
check_kunit() {
	local name=$1 variant=$2 kdir mods data res why
	kdir=$(kernel_kdir "$variant")
	mods=$WORK/guest-$name/lib
	data=$WORK/guest-$name/data
	rm -rf "$WORK/guest-$name"
	mkdir -p "$mods" "$data"
	cp "$WORK/$variant"/module/drvproxy/drvproxy.ko "$WORK/$variant"/kunit/*.ko "$mods/"
	cp "$WORK/base/tools/guest/kunit-guest.sh" "$data/"
	run_guest "$name" "$kdir/arch/x86/boot/bzImage" "$mods" "$data" \
		"${MUTATE_KUNIT_TIMEOUT:-240}" 'sh ./kunit-guest.sh'
	res=$LOGDIR/$name.ktap
	awk '/DRVPROXY-KUNIT-BEGIN / { on = 1; next } /DRVPROXY-KUNIT-END / { on = 0 } on' \
		"$LOGDIR/$name.console.log" > "$res"
	why=$(failed_cases "$res" | head -n 3 | paste -sd ';' -)
	[ -n "$why" ] || why=$(grep -oE 'DRVPROXY-KUNIT-(LOAD|UNLOAD)FAIL .*' "$LOGDIR/$name.console.log" | head -n 1)
	[ -n "$why" ] || why=$(guest_verdict "$name")
	[ -n "$why" ] || grep -qE '^[ \t]*ok [0-9]+' "$res" || why="no KUnit results"
	echo "$why"
}

# check_scripts NAME KERNEL SCRIPT ENV: one selftest script in a guest of
# KERNEL (debian: Debian's 6.12; otherwise a KUnit-kernel variant).
check_scripts() {
	local name=$1 kernel=$2 script=$3 env=$4 image mods data out why rc
	helpers || { echo "helpers did not build"; return; }
	if [ "$kernel" = debian ]; then
		image=$(debian_kernel)
	else
		image=$(kernel_kdir "$kernel")/arch/x86/boot/bzImage
	fi
	mods=$WORK/guest-$name/lib
	data=$WORK/guest-$name/data
	rm -rf "$WORK/guest-$name"
	mkdir -p "$mods" "$data/selftests"
	find "$WORK/$kernel" -name '*.ko' -exec cp {} "$mods/" \;
	rsync -a --exclude='test-*.sh' "$HELPERS/" "$data/selftests/"
	if [ "$kernel" = debian ] && [ -d "$WORK/drivers-out" ]; then
		cp "$WORK/drivers-out/mods/"*.ko "$mods/" 2> /dev/null
		rsync -a "$WORK/drivers-out/data/" "$data/selftests/"
	fi
	if [ "$kernel" = debian ] && [ -d "$WORK/images-out" ]; then
		cp "$WORK/images-out/mods/"*.ko "$mods/" 2> /dev/null
		rsync -a "$WORK/images-out/data/" "$data/selftests/"
	fi
	cp "$WORK/base/tools/testing/selftests/drvproxy/$script" "$data/selftests/"
	cp "$WORK/base/tools/guest/selftests-guest.sh" "$data/"
	run_guest "$name" "$image" "$mods" "$data" "${6:-400}" "$env sh ./selftests-guest.sh"
	split_selftests "$LOGDIR/$name.console.log" "$LOGDIR/$name"
	out=$LOGDIR/$name/$script.out
	why=""
	if [ -f "$out" ]; then
		why=$(failed_cases "$out" | head -n 3 | paste -sd ';' -)
		rc=$(sed -n 's/^rc=//p' "$out.rc" 2>/dev/null)
		[ -n "$why" ] || case ${rc:-missing} in
			0|4) ;;
			124) why="$script timed out" ;;
			missing) why="$script did not finish" ;;
			*) why="$script exited $rc" ;;
		esac
	fi
	[ -n "$why" ] || why=$(guest_verdict "$name")
	[ -n "$why" ] || [ -f "$out" ] || why="$script did not run"
	echo "$why"
}

# check_kernel CHECK: the kernel a check's modules are built for.
check_kernel() {
	case $1 in
	kunit|torture) echo default ;;
	kunit:*|torture:*) echo "${1#*:}" ;;
	selftest:*) echo debian ;;
	*) return 1 ;;
	esac
}

# run_check NAME CHECK: run one check on the built tree; prints why it
# caught the mutant, or nothing.
run_check() {
	local name=$1 check=$2 kernel
	kernel=$(check_kernel "$check")
	case $check in
	kunit|kunit:*) check_kunit "$name" "$kernel" ;;
	torture|torture:*)
		check_scripts "$name" "$kernel" test-torture.sh "TORTURE_DURATION=10" \
			"${MUTATE_TORTURE_TIMEOUT:-400}" ;;
	selftest:*)
		check_scripts "$name" debian "${check#selftest:}" "" \
			"${MUTATE_SELFTEST_TIMEOUT:-400}" ;;
	esac
}

# ---------------------------------------------------------------- main ---

# validate: every check of every mutant is known.
for p in "${PATCHES[@]}"; do
	checks=$(mutant_field "$p" Checks)
	if [ -z "$checks" ] || [ -z "$(mutant_field "$p" Mutant)" ]; then
		echo "mutate.sh: $p has no Mutant: or Checks: line" >&2
		exit 2
	fi
	for c in $checks; do
		check_kernel "$c" > /dev/null ||
			{ echo "mutate.sh: $(mutant_name "$p"): unknown check '$c'" >&2; exit 2; }
		case $c in selftest:*)
			[ -f "$REPO/tools/testing/selftests/drvproxy/${c#selftest:}" ] ||
				{ echo "mutate.sh: $(mutant_name "$p"): no such selftest ${c#selftest:}" >&2; exit 2; } ;;
		esac
	done
done

T0=$(date +%s)
# One snapshot for the whole run, the mutants included: a file edited
# meanwhile (a test being written for a survivor, a mutant refreshed for
# code that moved) must not change what later mutants run on.
sync_sources "$REPO" "$WORK/base"
rm -rf "$WORK/patches"
mkdir -p "$WORK/patches"
for i in "${!PATCHES[@]}"; do
	cp "${PATCHES[$i]}" "$WORK/patches/"
	PATCHES[$i]=$WORK/patches/$(basename "${PATCHES[$i]}")
done

# build_all LABEL: build $WORK/src for every kernel in $KERNELS; false
# (with the reason on stdout) when one does not build.
build_all() {
	local k
	for k in $KERNELS; do
		build_for "$k" "$LOGDIR/$1.$k.make.log" || {
			echo "does not build for $k: $(grep -m1 -E 'error|Error' "$LOGDIR/$1.$k.make.log")"
			return 1
		}
	done
}

if [ "$CONTROL" = 1 ]; then
	# Every check any selected mutant names, on the unmutated tree.
	ALL_CHECKS=$(for p in "${PATCHES[@]}"; do mutant_field "$p" Checks | tr ' ' '\n'; done |
		sed '/^$/d' | sort -u)
	KERNELS=$(for c in $ALL_CHECKS; do check_kernel "$c"; done | sort -u)
	echo "control: the unmutated tree must pass $(echo "$ALL_CHECKS" | paste -sd ' ' -)"
	prepare_tree "" || { echo "control: cannot copy the tree" >&2; exit 1; }
	if ! why=$(build_all control); then
		echo "control: $why" >&2
		exit 1
	fi
	for c in $ALL_CHECKS; do
		why=$(run_check "control-${c//[:\/]/-}" "$c")
		if [ -n "$why" ]; then
			echo "control: FAILED $c: $why (logs: $LOGDIR)" >&2
			echo "mutate.sh: the checks fail without any mutant; fix that first" >&2
			exit 1
		fi
		echo "control: $c passes"
	done
fi

KILLED=0
SURVIVED=0
ERRORS=0
SURVIVORS=()
RESULTS=$LOGDIR/results.txt
: > "$RESULTS"
for p in "${PATCHES[@]}"; do
	name=$(mutant_name "$p")
	checks=$(mutant_field "$p" Checks)
	KERNELS=$(for c in $checks; do check_kernel "$c"; done | sort -u)
	t0=$(date +%s)
	verdict=""
	if ! prepare_tree "$p" > "$LOGDIR/$name.patch.log" 2>&1; then
		verdict="ERROR (the patch does not apply: $(head -n 1 "$LOGDIR/$name.patch.log"))"
	elif ! why=$(build_all "$name"); then
		verdict="ERROR ($why)"
	else
		for c in $checks; do
			why=$(run_check "$name-${c//[:\/]/-}" "$c")
			if [ -n "$why" ]; then
				verdict="KILLED by $c: $why"
				break
			fi
		done
		[ -n "$verdict" ] || verdict="SURVIVED $checks"
	fi
	case $verdict in
	KILLED*) KILLED=$((KILLED + 1)) ;;
	SURVIVED*) SURVIVED=$((SURVIVED + 1)); SURVIVORS+=("$name") ;;
	*) ERRORS=$((ERRORS + 1)) ;;
	esac
	line=$(printf '%-34s %s (%ss)' "$name" "$verdict" "$(($(date +%s) - t0))")
	echo "$line"
	echo "$line" >> "$RESULTS"
done
# Leave the copy unmutated: nothing else should ever build a mutant by mistake.
prepare_tree "" || true

n=${#PATCHES[@]}
rate=0
[ $((KILLED + SURVIVED)) -gt 0 ] && rate=$((100 * KILLED / (KILLED + SURVIVED)))
[ ${#SURVIVORS[@]} -eq 0 ] || echo "survivors: ${SURVIVORS[*]}"
echo "$n mutants, $KILLED killed, $SURVIVED survived, $ERRORS errors; kill rate $rate% (killed / (killed + survived)) in $(($(date +%s) - T0)) s"
[ "$SURVIVED" = 0 ] && [ "$ERRORS" = 0 ]
