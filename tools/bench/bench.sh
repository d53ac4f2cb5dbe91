#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - make bench: build the benchmarks, run them in QEMU guests and
# print the tables
#
# Usage: tools/bench/bench.sh [--quick] [--update-rst] [--report]
#
#   --quick       fewer iterations, swaps and livepatch cycles (a smoke run
#                 of a few minutes; its numbers are noisier)
#   --update-rst  also rewrite the tables in Documentation/performance.rst
#                 (make bench UPDATE_RST=1); by default no tracked file is
#                 touched
#   --report      build nothing, run no guest: make the tables again from
#                 the logs of the last run
#
# Steps: tools/bootstrap.sh; a copy of the tree in $BUILD/bench/src (rsync,
# as tools/check.sh does) built against the Debian 6.12 headers, then
# tools/bench/ built out of tree against it (drvproxy_bench.ko, the livepatch
# drvproxy_bench_lp.ko) and dpxbench (gcc -static); the kernel image
# decompressed for the hot-path analysis; then, once in plain TCG and once
# with -icount shift=0,sleep=off, the main benchmarks and the lookup
# benchmark in guests of two vCPUs (run.sh's default) and the dispatch
# benchmark alone in guests of one and of four vCPUs.  bench.py turns the
# console logs into tables.
#
# Everything goes to $BUILD/bench (default ~/.cache/drvproxy/build/bench):
#   logs/       build and guest console logs
#   results/    results.json, one CSV per table, tables.rst
# Nothing is asserted: a benchmark reports, it does not fail on a number.
# The exit status is non-zero only if something could not be built or run.
#
# Environment: BUILD, DRVPROXY_CACHE (tools/lib.sh), DRVPROXY_SKIP_BOOTSTRAP=1,
# BENCH_TIMEOUT (seconds per guest, default 1500).
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/lib.sh"
OUT=$BUILD/bench
LOGS=$OUT/logs
SRC=$OUT/src
DATA=$OUT/data
RESULTS=$OUT/results
TIMEOUT=${BENCH_TIMEOUT:-1500}

quick=0
report_only=0
rst=
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	--update-rst) rst=$REPO/Documentation/performance.rst ;;
	--report) report_only=1 ;;
	-h|--help) sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown argument '$arg'" >&2; exit 2 ;;
	esac
done

say() { echo "bench: $*" >&2; }
die() { echo "bench: ERROR: $*" >&2; exit 1; }
t_start=$(date +%s)

# Other QEMU guests on this host (e.g. a make check) disturb the real-time
# numbers; the icount ones do not depend on the host.
other_qemus() {
	local n
	n=$(pgrep -c -x qemu-system-x86 2>/dev/null || true)
	echo "${n:-0}"
}

if [ "$report_only" = 1 ]; then
	:
elif [ "${DRVPROXY_SKIP_BOOTSTRAP:-0}" != 1 ]; then
	"$REPO/tools/bootstrap.sh" >&2 || die "bootstrap failed"
fi
KDIR=$(debian_kdir)
KVER=$(debian_kver)
[ -n "$KDIR" ] || die "no Debian 6.12 headers; run tools/bootstrap.sh"
mkdir -p "$LOGS" "$DATA" "$RESULTS"
VMLINUX=$OUT/vmlinux-$KVER

if [ "$report_only" = 0 ]; then
busy_before=$(other_qemus)
[ "$busy_before" = 0 ] || say "warning: $busy_before other QEMU process(es) running: the TCG real-time numbers will be disturbed"

# ---- build ----
# What was measured: the working tree, which may differ from its commit.
{
	git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "no git"
	n=$(git -C "$REPO" status --porcelain -- module 2>/dev/null | wc -l)
	[ "$n" = 0 ] || echo "+ $n uncommitted file(s) in module/"
} | paste -sd ' ' > "$LOGS/source"
say "building the modules against ${KDIR#/usr/src/} (log: $LOGS/build.log)"
sync_sources "$REPO" "$SRC"
{
	make -C "$KDIR" M="$SRC" W=1 modules &&
	make -C "$KDIR" M="$SRC/tools/bench" KBUILD_EXTRA_SYMBOLS="$SRC/Module.symvers" \
		W=1 modules
} > "$LOGS/build.log" 2>&1 || { tail -n 20 "$LOGS/build.log" >&2; die "module build failed"; }
gcc -static -O2 -Wall -Wextra -I "$REPO/module/include" -o "$DATA/dpxbench" \
	"$REPO/tools/bench/dpxbench.c" >> "$LOGS/build.log" 2>&1 || die "dpxbench build failed"
cp "$REPO/tools/bench/guest.sh" "$DATA/guest.sh"
for ko in drvproxy/drvproxy.ko demo/drvproxy_demo.ko demo/drvproxy_demo_raw.ko; do
	[ -f "$SRC/module/$ko" ] || die "$ko was not built"
done

# The kernel image decompressed, for disassembling the kernel helpers.
if [ ! -s "$VMLINUX" ]; then
	srcdir=$("$REPO/tools/kunit-kernel.sh" --print-src 2>> "$LOGS/build.log" | tail -n 1) || srcdir=""
	if [ -n "$srcdir" ] && [ -x "$srcdir/scripts/extract-vmlinux" ] || [ -f "$srcdir/scripts/extract-vmlinux" ]; then
		sh "$srcdir/scripts/extract-vmlinux" "$(debian_kernel)" > "$VMLINUX.tmp" 2>> "$LOGS/build.log" &&
			mv "$VMLINUX.tmp" "$VMLINUX" || rm -f "$VMLINUX.tmp"
	fi
	[ -s "$VMLINUX" ] || say "could not decompress $(debian_kernel); kernel helpers are counted from source notes"
fi

# ---- guests ----
if [ "$quick" = 1 ]; then
	cat > "$DATA/bench.conf" <<-EOF
	DISPATCH_ITERS=200000
	DISPATCH_REPS=3
	SCALE_REPS=1
	SYSCALL_ITERS=8192
	SYSCALL_REPS=3
	SWAPS=20
	LP_CYCLES=3
	LOOKUP_ITERS=100000
	EOF
else
	cat > "$DATA/bench.conf" <<-EOF
	DISPATCH_ITERS=2000000
	DISPATCH_REPS=5
	SCALE_REPS=3
	SYSCALL_ITERS=65536
	SYSCALL_REPS=5
	SWAPS=100
	LP_CYCLES=20
	LOOKUP_ITERS=1000000
	EOF
fi
cat >> "$DATA/bench.conf" <<-'EOF'
LOOKUP_SIZES="10 100 1000 10000"
KSYMS="_text|__fentry__|__x86_return_thunk|__x86_indirect_thunk_rax|__srcu_read_lock|__srcu_read_unlock|klp_ftrace_handler|ftrace_caller|ftrace_caller_end|ftrace_call|ftrace_stub"
EOF

# run_guest MODE PART [VCPUS]: one guest (of VCPUS vCPUs, default 2,
# running guest.sh's dispatch part for a PART of dispatch-smpN); its console
# log and run.sh status are handed to bench.py.  A failing lookup guest is
# reported, not fatal: the framework may refuse a size with a kernel warning.
run_guest() {
	local mode=$1 part=$2 smp=${3:-2} log=$LOGS/$1-$2.log rc=0 q=()
	[ "$mode" = icount ] && q=(-Q '-icount shift=0,sleep=off')
	say "guest $mode/$part, $smp vCPUs (log: $log)"
	"$REPO/tools/guest/run.sh" -q -t "$TIMEOUT" -s "$smp" -m "$SRC" -d "$DATA" -l "$log" \
		"${q[@]}" -c "sh ./guest.sh ${part%-smp*}" 2> "$log.status" || rc=$?
	say "  $(tail -n 1 "$log.status")"
	echo "$rc" > "$log.rc"
	if [ "$rc" != 0 ] && [ "$part" != lookup ]; then
		grep -a 'DPXB error' "$log" >&2 || true
		die "the $mode/$part guest failed (status $rc); see $log"
	fi
}

for mode in tcg icount; do
	run_guest "$mode" main
	run_guest "$mode" lookup
	run_guest "$mode" dispatch-smp1 1
	run_guest "$mode" dispatch-smp4 4
done
busy_after=$(other_qemus)
echo "other QEMU processes: $busy_before at the start, $busy_after at the end" > "$LOGS/host-load"
fi

# ---- tables ----
logargs=()
for mode in tcg icount; do
	for part in main lookup dispatch-smp1 dispatch-smp4; do
		log=$LOGS/$mode-$part.log
		[ -f "$log" ] || die "no $log; run without --report first"
		logargs+=(--log "$mode:$part:$log:$(cat "$log.rc" 2>/dev/null || echo 0)")
	done
done

envargs=(--env "host CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) ($(nproc) cores)"
	 --env "QEMU=$(qemu-system-x86_64 --version | head -n 1)"
	 --env "guest kernel=$(debian_kernel)"
	 --env "source=$(cat "$LOGS/source" 2>/dev/null || echo unknown)"
	 --env "$(sed 's/: /=/' "$LOGS/host-load" 2>/dev/null || echo 'other QEMU processes=unknown')")
python3 "$REPO/tools/bench/bench.py" --out "$RESULTS" \
	--ko "$SRC/tools/bench/drvproxy_bench.ko" --lp-ko "$SRC/tools/bench/drvproxy_bench_lp.ko" \
	--vmlinux "$VMLINUX" ${rst:+--rst "$rst"} "${envargs[@]}" "${logargs[@]}"

say "raw outputs: $OUT (logs/, results/results.json, results/*.csv)"
[ -z "$rst" ] || say "updated ${rst#"$REPO"/}"
say "took $(( $(date +%s) - t_start )) s"
