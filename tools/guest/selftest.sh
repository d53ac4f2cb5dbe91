#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest.sh - prove that tools/guest/run.sh turns guest outcomes into the
# right exit status, booting the Debian 6.12 kernel under QEMU:
#   1. a command exiting 0                      -> run.sh exits 0
#   2. a command exiting 1                      -> run.sh exits 1
#   3. a module that WARNs at load, command 0   -> run.sh exits 1 (splat)
#   4. a hung guest ('sleep 600', -t 20)        -> run.sh exits 124
#   5. a kernel that panics before the command  -> booted again once
#      (DRVPROXY_BOOT_RETRIES=1), then run.sh exits 1
#   6. -a arm64 (Debian's arm64 6.12 kernel, tools/arm64.sh), command 0
#                                               -> run.sh exits 0
#   7. -a arm64, a module that WARNs at load    -> run.sh exits 1 (splat)
#
# Usage: tools/guest/selftest.sh
# Output: KTAP (TAP version 13); exit status 0 iff all cases pass.
# Logs:   $BUILD/logs/guest-selftest/ (BUILD defaults to ~/.cache/drvproxy/build)
# Environment: KDIR (Debian 6.12 headers dir) and KERNEL (its vmlinuz) override
# the discovered ones.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$REPO/tools/lib.sh"

LOGDIR=$BUILD/logs/guest-selftest
mkdir -p "$LOGDIR"
KDIR=${KDIR:-$(debian_kdir)}
KERNEL=${KERNEL:-$(debian_kernel)}
RUN=$HERE/run.sh

echo "TAP version 13"
echo "1..7"
if [ -z "$KDIR" ] || [ -z "$KERNEL" ]; then
	echo "Bail out! no Debian 6.12 kernel image + headers; run tools/bootstrap.sh"
	exit 1
fi
echo "# kernel $KERNEL, headers $KDIR, logs $LOGDIR"

failed=0
result() { # result N DESC OK [diagnostic]
	if [ "$3" = 1 ]; then
		echo "ok $1 $2"
	else
		echo "not ok $1 $2"
		[ -z "${4:-}" ] || echo "# $4"
		failed=$((failed + 1))
	fi
}

# run_case NAME RUN-ARGS... : runs run.sh quietly; sets rc and reason.
run_case() {
	local name=$1
	shift
	set +e
	"$RUN" -q -k "$KERNEL" -l "$LOGDIR/$name.console.log" "$@" 2> "$LOGDIR/$name.stderr"
	rc=$?
	set -e
	reason=$(grep -E '^run.sh: (FAIL|TIMEOUT|ERROR)' "$LOGDIR/$name.stderr" | head -n 1 || true)
}

# warn_result N DESC NAME: the case NAME (run_case or arm64_case) loaded a
# module that WARNs: its command exited 0, yet run.sh failed it, for the
# splat.
warn_result() {
	local cmd_ok=0 ok=0
	grep -q 'DRVPROXY-GUEST-EXIT=0' "$LOGDIR/$3.console.log" && cmd_ok=1
	[ "$rc" = 1 ] && [ "$cmd_ok" = 1 ] && case $reason in *"kernel splat"*WARNING:*) ok=1 ;; esac
	result "$1" "$2" "$ok" "run.sh exited $rc (command ok: $cmd_ok): $reason"
}

# The timeout case mostly waits; start it first, in the background, so its
# 20 s overlap the other boots.
set +e
"$RUN" -q -k "$KERNEL" -l "$LOGDIR/timeout.console.log" -t 20 -c 'sleep 600' \
	2> "$LOGDIR/timeout.stderr" &
timeout_pid=$!
set -e

# Build the WARN module against the Debian headers, outside the repo.
modsrc=$BUILD/guest-testmod
mkdir -p "$modsrc"
cp "$HERE/testmod/Kbuild" "$HERE/testmod/"*.c "$modsrc/"
if make -C "$KDIR" M="$modsrc" modules > "$LOGDIR/testmod-build.log" 2>&1 &&
   [ -f "$modsrc/warn_on_load.ko" ]; then
	built=1
else
	built=0
fi

run_case pass -t 120 -c 'exit 0'
result 1 "guest command exiting 0 gives exit 0" "$([ "$rc" = 0 ] && echo 1)" \
	"run.sh exited $rc: $reason"

run_case fail -t 120 -c 'echo failing on purpose; exit 1'
result 2 "guest command exiting 1 gives exit 1" "$([ "$rc" = 1 ] && echo 1)" \
	"run.sh exited $rc: $reason"

if [ "$built" = 1 ]; then
	mkdir -p "$modsrc/ko"
	cp "$modsrc/warn_on_load.ko" "$modsrc/ko/"
	run_case warn -t 120 -m "$modsrc/ko" -c 'insmod /lib/drvproxy/warn_on_load.ko'
	warn_result 3 "WARN at module load fails the run although the command exits 0" warn
else
	result 3 "WARN at module load fails the run although the command exits 0" 0 \
		"test module did not build; see $LOGDIR/testmod-build.log"
fi

set +e
wait "$timeout_pid"
rc=$?
set -e
reason=$(grep -E '^run.sh: (FAIL|TIMEOUT|ERROR)' "$LOGDIR/timeout.stderr" | head -n 1 || true)
started=0
grep -q 'DRVPROXY-GUEST-START' "$LOGDIR/timeout.console.log" && started=1
ok=0
[ "$rc" = 124 ] && [ "$started" = 1 ] && case $reason in *TIMEOUT*) ok=1 ;; esac
result 4 "hung guest is killed at the timeout with exit 124" "$ok" \
	"run.sh exited $rc (command started: $started): $reason"

# No init to run: the kernel panics before DRVPROXY-GUEST-START, which is
# how a guest kernel's own boot crash looks to run.sh.
DRVPROXY_BOOT_RETRIES=1 run_case bootcrash -t 60 -A 'rdinit=/nonexistent init=/nonexistent'
retried=0
grep -q 'booting again (attempt 2 of 2)' "$LOGDIR/bootcrash.stderr" &&
	[ -s "$LOGDIR/bootcrash.console.log.boot1" ] && retried=1
ok=0
[ "$rc" = 1 ] && [ "$retried" = 1 ] && case $reason in *"kernel splat"*panic*) ok=1 ;; esac
result 5 "a guest kernel that crashes before the command is booted again, then fails" "$ok" \
	"run.sh exited $rc (retried: $retried): $reason"

# The arm64 guest: its console is another UART (ttyAMA0) and its busybox
# another architecture's; the same outcomes must come out.
arm64_case() { # arm64_case NAME RUN-ARGS...
	local name=$1
	shift
	set +e
	DRVPROXY_BUSYBOX=$abb "$RUN" -q -a arm64 -k "$akernel" -l "$LOGDIR/$name.console.log" "$@" \
		2> "$LOGDIR/$name.stderr"
	rc=$?
	set -e
	reason=$(grep -E '^run.sh: (FAIL|TIMEOUT|ERROR)' "$LOGDIR/$name.stderr" | head -n 1 || true)
}
abuilt=0
if akdir=$("$REPO/tools/arm64.sh" kdir "$KDIR" 2> "$LOGDIR/arm64.log") &&
   akernel=$("$REPO/tools/arm64.sh" image "$KDIR" 2>> "$LOGDIR/arm64.log") &&
   abb=$("$REPO/tools/arm64.sh" busybox 2>> "$LOGDIR/arm64.log"); then
	arm64_case arm64-pass -t 120 -c 'exit 0'
	result 6 "arm64 guest command exiting 0 gives exit 0" "$([ "$rc" = 0 ] && echo 1)" \
		"run.sh exited $rc: $reason"
	amodsrc=$BUILD/guest-testmod-arm64
	mkdir -p "$amodsrc"
	cp "$HERE/testmod/Kbuild" "$HERE/testmod/"*.c "$amodsrc/"
	make -C "$akdir" M="$amodsrc" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules \
		> "$LOGDIR/testmod-arm64-build.log" 2>&1 && [ -f "$amodsrc/warn_on_load.ko" ] && abuilt=1
else
	result 6 "arm64 guest command exiting 0 gives exit 0" 0 \
		"no arm64 kernel, headers or busybox (tools/arm64.sh); see $LOGDIR/arm64.log"
fi
if [ "$abuilt" = 1 ]; then
	mkdir -p "$amodsrc/ko"
	cp "$amodsrc/warn_on_load.ko" "$amodsrc/ko/"
	arm64_case arm64-warn -t 120 -m "$amodsrc/ko" -c 'insmod /lib/drvproxy/warn_on_load.ko'
	warn_result 7 "arm64: WARN at module load fails the run although the command exits 0" \
		arm64-warn
else
	result 7 "arm64: WARN at module load fails the run although the command exits 0" 0 \
		"the arm64 test module did not build; see $LOGDIR/testmod-arm64-build.log"
fi

echo "# $((7 - failed)) passed, $failed failed"
[ "$failed" = 0 ]
