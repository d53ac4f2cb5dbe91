#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - boot a kernel in QEMU (TCG) with a busybox initramfs, run one shell
# command in the guest, and turn the result into an exit status.
#
# Usage: tools/guest/run.sh [-k KERNEL] [-m MODDIR]... [-d DATADIR]... [-c 'COMMAND']
#                           [-t TIMEOUT] [-l LOGFILE] [-q] [-s SMP] [-M MEM_MB]
#                           [-L LOGLEVEL] [-Q 'QEMU ARGS'] [-A 'KERNEL CMDLINE'] [-a ARCH]
#
#   -a ARCH      the guest's architecture: x86_64 (default) or arm64 (QEMU's
#                virt machine, console ttyAMA0; -k and DRVPROXY_BUSYBOX, an
#                arm64 static busybox, are then required)
#   -k KERNEL    bzImage/vmlinuz to boot (default: newest /boot/vmlinuz-6.12.*-amd64)
#   -m MODDIR    every *.ko below MODDIR goes to /lib/drvproxy/ in the guest (repeatable)
#   -d DATADIR   copied recursively to /data in the guest (repeatable)
#   -c COMMAND   shell command run by busybox sh in /data (default: true)
#   -t TIMEOUT   hard timeout in seconds (default 300); QEMU is killed, exit 124
#   -l LOGFILE   save the serial console here (also streamed to stdout unless -q)
#   -q           quiet: do not stream the console to stdout
#   -s SMP       guest CPUs (default 2, so concurrency is real)
#   -M MEM_MB    guest memory (default 1024)
#   -L LOGLEVEL  kernel console loglevel (default 4).  dmesg inside the guest
#                always has every message; with LOGLEVEL <= 4 /init re-prints
#                the warning-or-worse kernel messages after the command so no
#                splat escapes the check below.
#   -Q ARGS      extra QEMU arguments (word-split), e.g. '-icount shift=0,sleep=off'
#   -A ARGS      extra kernel command line
#
# Exit status: the guest command's exit status, except
#   1    a kernel splat appeared on the console (WARNING:, BUG:, Oops, KASAN:,
#        lockdep, RCU, hung task, ... see SPLAT_PATTERNS) although the command
#        passed, or the guest died without printing DRVPROXY-GUEST-EXIT=<rc>,
#        or QEMU failed to start;
#   124  timeout (QEMU killed).
# A one-line reason starting with "run.sh: FAIL:" or "run.sh: TIMEOUT:" is
# printed to stderr.  There is deliberately no way to declare a splat expected.
# A guest kernel that crashes before the command starts is booted again, up
# to DRVPROXY_BOOT_RETRIES (default 2) times, each retry noted on stderr.
#
# Console markers: DRVPROXY-GUEST-START (command starts), DRVPROXY-GUEST-EXIT=<rc>,
# DRVPROXY-KLOG-BEGIN/END (see mkinitramfs.sh) and, written by this script,
# "DRVPROXY-HOST: boot-to-command <s> s".
#
# Environment: DRVPROXY_KVM=1 uses KVM (does not work on every host; default
# TCG), DRVPROXY_QEMU overrides the QEMU binary, DRVPROXY_CACHE the cache root.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)

# Extended regexes; a console line is a splat if it carries a kernel printk
# timestamp ("[    1.234567]", forced by printk.time=1) and matches one of
# these.  Requiring the timestamp keeps user-space output such as a test's
# "# WARNING: ..." diagnostic from failing a run.
SPLAT_PATTERNS=(
	'WARNING:'
	'BUG:'
	'Oops'
	'KASAN:'
	'UBSAN:'
	'general protection fault'
	'Kernel panic'
	'possible circular locking'
	'possible recursive locking'
	'inconsistent lock state'
	'suspicious RCU usage'
	'INFO: task .* blocked for more than'
	'rcu: INFO: .* stall'
	'self-detected stall'
	'kmemleak: .* new suspected memory leaks'
	'BUG: sleeping function called from invalid context'
	'list_add corruption'
	'list_del corruption'
	'refcount_t:'
	'DEBUG_LOCKS_WARN_ON'
	'ODEBUG:'
)

die() { echo "run.sh: ERROR: $*" >&2; exit 1; }
usage() { sed -n '7,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

kernel=""
cmd="true"
timeout_s=300
logfile=""
quiet=0
smp=2
mem=1024
loglevel=4
qemu_extra=""
append_extra=""
mkargs=()
arch=x86_64
while getopts "a:k:m:d:c:t:l:qs:M:L:Q:A:h" opt; do
	case $opt in
	a) arch=$OPTARG ;;
	k) kernel=$OPTARG ;;
	m) mkargs+=(-m "$OPTARG") ;;
	d) mkargs+=(-d "$OPTARG") ;;
	c) cmd=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	l) logfile=$OPTARG ;;
	q) quiet=1 ;;
	s) smp=$OPTARG ;;
	M) mem=$OPTARG ;;
	L) loglevel=$OPTARG ;;
	Q) qemu_extra=$OPTARG ;;
	A) append_extra=$OPTARG ;;
	*) usage ;;
	esac
done
[ $OPTIND -gt $# ] || die "unexpected argument '${!OPTIND}' (quote the -c command)"
case $timeout_s$smp$mem$loglevel in *[!0-9]*) die "-t, -s, -M and -L take numbers" ;; esac
case $arch in
x86_64) QEMU=${DRVPROXY_QEMU:-qemu-system-x86_64} console=ttyS0 ;;
arm64|aarch64)
	arch=arm64 QEMU=${DRVPROXY_QEMU:-qemu-system-aarch64} console=ttyAMA0
	[ -n "$kernel" ] || die "-a arm64 needs -k (an arm64 Image)"
	[ -n "${DRVPROXY_BUSYBOX:-}" ] || die "-a arm64 needs DRVPROXY_BUSYBOX (an arm64 static busybox)"
	;;
*) die "-a takes x86_64 or arm64, not '$arch'" ;;
esac

# Default kernel: the newest installed Debian 6.12 image.
if [ -z "$kernel" ]; then
	kernel=$(ls /boot/vmlinuz-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$kernel" ] || die "no -k given and no /boot/vmlinuz-6.12.*-amd64; run tools/bootstrap.sh"
fi
[ -r "$kernel" ] || die "kernel image $kernel not readable"
command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU not found; run tools/bootstrap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drvproxy-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
keep_log=1
[ -n "$logfile" ] || { logfile=$tmp/console.log; keep_log=0; }
mkdir -p "$(dirname "$logfile")"
: > "$logfile"
rm -f "$logfile".boot[0-9]*

"$HERE/mkinitramfs.sh" -o "$tmp/initrd.cpio" ${mkargs[@]+"${mkargs[@]}"} -c "$cmd"

# printk.time=1: the splat scan keys on printk timestamps.  log_buf_len: the
# post-command re-print of warnings (loglevel <= 4) reads the ring buffer, so
# make it big enough that a long, chatty test cannot wrap an early WARN away.
append="console=$console panic=-1 printk.time=1 log_buf_len=16M loglevel=$loglevel"
[ -z "$append_extra" ] || append="$append $append_extra"

qemu_args=(-nodefaults -nographic -serial stdio -no-reboot
	   -smp "$smp" -m "$mem" -kernel "$kernel" -initrd "$tmp/initrd.cpio"
	   -append "$append")
if [ "$arch" = arm64 ]; then
	# TCG's "max" CPU, with the cheap implementation-defined pointer
	# authentication: the architected QARMA one costs TCG a lot on every
	# function entry and return of a kernel built with pac-ret.
	qemu_args+=(-machine virt -accel tcg -cpu max,pauth-impdef=on)
else
	qemu_args+=(-machine pc)
	# TCG's "max" CPU without 5-level paging.  With LA57 offered, a kernel
	# built with CONFIG_X86_5LEVEL (the KUnit kernel) runs with 5-level page
	# tables, and 6.12's pgtable_l5_enabled() is cpu_feature_enabled(LA57),
	# which until alternatives are patched reads boot_cpu_data.  identify_cpu()
	# clears that capability array and refills it with interrupts already on
	# (start_kernel() -> arch_cpu_finalize_init()), so an interrupt in between
	# sees 4-level sizes: KASAN's KASAN_SHADOW_START moves above the shadow of
	# the 5-level direct map and the irq descriptor's lock in handle_edge_irq()
	# is reported as a wild-memory-access.  The window is a few instructions,
	# so it hits when the host is loaded.  Nothing here needs 5-level paging.
	if [ "${DRVPROXY_KVM:-0}" = 1 ]; then
		qemu_args+=(-accel kvm -cpu host)
	else
		qemu_args+=(-accel tcg -cpu max,la57=off)
	fi
	# qboot skips SeaBIOS's option-ROM and boot-menu dance: about a second faster.
	[ -r /usr/share/qemu/qboot.rom ] && qemu_args+=(-bios /usr/share/qemu/qboot.rom)
fi
# shellcheck disable=SC2206  # -Q is documented as word-split
[ -z "$qemu_extra" ] || qemu_args+=($qemu_extra)

# Copy QEMU's output (CRs stripped) to the log and, unless quiet, stdout.
# Stamp the host-side boot-to-command time when the guest's start marker
# arrives.
console_reader() {
	local line t0=$1 now secs
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//$'\r'/}
		printf '%s\n' "$line" >> "$logfile"
		[ "$quiet" = 1 ] || printf '%s\n' "$line"
		case $line in
		*DRVPROXY-GUEST-START*)
			now=$EPOCHREALTIME
			secs=$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.2f", b - a }')
			line="DRVPROXY-HOST: boot-to-command $secs s"
			printf '%s\n' "$line" >> "$logfile"
			[ "$quiet" = 1 ] || printf '%s\n' "$line"
			;;
		esac
	done
}

# First console line that is a kernel splat, or nothing.
find_splat() {
	local re
	re=$(IFS='|'; echo "${SPLAT_PATTERNS[*]}")
	grep -E -m 1 "\[ *[0-9]+\.[0-9]+\].*($re)" "$logfile" || true
}

# boot_once: one QEMU run; the console goes to $logfile, sets qemu_rc and t0.
# QEMU runs in the background behind a FIFO so that an interrupted run.sh
# (Ctrl-C, a CI job killed) still takes QEMU down with it: timeout(1) puts
# itself in its own process group, out of reach of the terminal's SIGINT.
boot_once() {
	: > "$logfile"
	echo "run.sh: $QEMU ${qemu_args[*]}" >> "$logfile"
	rm -f "$tmp/console"
	mkfifo "$tmp/console"
	t0=$EPOCHREALTIME
	timeout -k 5 "$timeout_s" "$QEMU" "${qemu_args[@]}" </dev/null >"$tmp/console" 2>&1 &
	qemu_pid=$!
	console_reader "$t0" < "$tmp/console"
	set +e
	wait "$qemu_pid"
	qemu_rc=$?
	set -e
}

trap 'kill "${qemu_pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
trap 'echo "run.sh: interrupted; QEMU killed" >&2; exit 130' INT
trap 'echo "run.sh: terminated; QEMU killed" >&2; exit 143' TERM HUP

# A guest kernel that crashes before DRVPROXY-GUEST-START crashed inside its
# own boot: nothing of the command, and so no module under test, had run.
# Under TCG with a thread per vCPU this happens now and then in the
# distribution kernel (an int3 left by a jump-label patch is executed by the
# other vCPU after the patch completed, "Oops: int3" in sched_clock_cpu());
# QEMU's cross-vCPU code modification, not the code under test.  Boot again,
# up to DRVPROXY_BOOT_RETRIES times (default 2), and say so on stderr; the
# crashed boot's console is kept next to the log.  A splat after the start
# marker is never retried.
retries=${DRVPROXY_BOOT_RETRIES:-2}
case $retries in *[!0-9]*|"") die "DRVPROXY_BOOT_RETRIES takes a number" ;; esac
attempt=1
while :; do
	boot_once
	grep -q 'DRVPROXY-GUEST-START' "$logfile" && break
	splat=$(find_splat)
	[ -n "$splat" ] || break
	case $qemu_rc in 124|137) break ;; esac
	[ "$attempt" -le "$retries" ] || break
	crashed=$logfile.boot$attempt
	[ "$keep_log" = 0 ] || cp "$logfile" "$crashed"
	attempt=$((attempt + 1))
	echo "run.sh: note: guest kernel crashed during boot, before the command started: $splat; booting again (attempt $attempt of $((retries + 1)))$([ "$keep_log" = 0 ] || echo ", crashed boot's console in $crashed")" >&2
done
total=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

splat=$(find_splat)
guest_rc=$(sed -n 's/.*DRVPROXY-GUEST-EXIT=\([0-9][0-9]*\).*/\1/p' "$logfile" | tail -n 1)
boot=$(sed -n 's/^DRVPROXY-HOST: boot-to-command \([0-9.]*\) s$/\1/p' "$logfile" | tail -n 1)
summary="boot-to-command ${boot:-?} s, total $total s"
[ "$keep_log" = 0 ] || summary="$summary, log $logfile"

if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	echo "run.sh: TIMEOUT: guest did not finish within $timeout_s s; QEMU killed ($summary)" >&2
	[ -z "$splat" ] || echo "run.sh: note: kernel splat on console before the timeout: $splat" >&2
	exit 124
fi
if [ -n "$splat" ]; then
	echo "run.sh: FAIL: kernel splat on console: $splat ($summary)" >&2
	[ -n "$guest_rc" ] && [ "$guest_rc" != 0 ] && exit "$guest_rc"
	exit 1
fi
if [ -z "$guest_rc" ]; then
	if [ "$qemu_rc" != 0 ]; then
		echo "run.sh: FAIL: QEMU exited with status $qemu_rc before the guest command finished: $(grep -v '^run.sh:' "$logfile" | tail -n 1) ($summary)" >&2
	else
		echo "run.sh: FAIL: guest stopped without the DRVPROXY-GUEST-EXIT marker (crash or panic?); last console line: $(tail -n 1 "$logfile") ($summary)" >&2
	fi
	exit 1
fi
echo "run.sh: guest command exited $guest_rc ($summary)" >&2
exit "$guest_rc"
