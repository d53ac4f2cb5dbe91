#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh - the guest side of make bench (busybox sh, run by
# tools/guest/run.sh in /data, next to dpxbench and bench.conf)
#
# Usage: sh ./guest.sh main | lookup | dispatch
#
#   main      the syscall, dispatch, swap and livepatch benchmarks
#   lookup    the lookup-scaling benchmark, in a guest of its own because a
#             size the framework cannot register may end in a kernel warning
#   dispatch  the dispatch benchmark alone (SCALE_REPS repetitions), for
#             guests of other vCPU counts
#
# Every result line starts with "DPXB "; tools/bench/bench.py reads them
# from the console log.  bench.conf sets the iteration counts.
set -u

K=/lib/drvproxy
D=/sys/kernel/debug/drvproxy_bench
LP=drvproxy_bench_lp
. ./bench.conf

fail() {
	echo "DPXB error $*"
	exit 1
}

# Run one drvproxy_bench.ko command and print its result lines.
run() {
	echo "$1" > "$D/run" || echo "DPXB error cmd=\"$1\" write failed"
	cat "$D/result"
}

# Wait until the livepatch's transition is over (file reads 0 or is gone).
lp_settle() {
	i=0
	while [ "$(cat /sys/kernel/livepatch/$LP/transition 2>/dev/null || echo 0)" != 0 ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "livepatch transition did not finish"
		sleep 0.1
	done
}

lp_remove() {
	echo 0 > /sys/kernel/livepatch/$LP/enabled || fail "cannot disable $LP"
	lp_settle
	i=0
	until rmmod $LP 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "cannot remove $LP"
		sleep 0.1
	done
}

env_line() {
	v=/sys/devices/system/cpu/vulnerabilities
	echo "DPXB env kernel=$(uname -r) cpus=$(nproc)" \
		"clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" \
		"spectre_v2=\"$(cat $v/spectre_v2)\" retbleed=\"$(cat $v/retbleed)\"" \
		"srso=\"$(cat $v/spec_rstack_overflow 2>/dev/null)\""
}

# dispatch REPS: the dispatch benchmark; variant (d) needs the livepatch
# enabled.
dispatch() {
	insmod $K/$LP.ko || fail "insmod $LP.ko"
	lp_settle
	grep -w bench_f_lp /sys/kernel/debug/tracing/enabled_functions 2>/dev/null |
		sed 's/^/DPXB ftrace /'
	run "dispatch $DISPATCH_ITERS $1"
	lp_remove
}

dispatch_only() {
	env_line
	insmod $K/drvproxy.ko || fail "insmod drvproxy.ko"
	insmod $K/drvproxy_bench.ko || fail "insmod drvproxy_bench.ko"
	dispatch "$SCALE_REPS"
	echo "DPXB finished part=dispatch"
}

main() {
	env_line
	insmod $K/drvproxy.ko || fail "insmod drvproxy.ko"
	insmod $K/drvproxy_demo.ko || fail "insmod drvproxy_demo.ko"
	insmod $K/drvproxy_demo_raw.ko || fail "insmod drvproxy_demo_raw.ko"
	insmod $K/drvproxy_bench.ko || fail "insmod drvproxy_bench.ko"

	# Kernel symbols the hot paths call into, for bench.py's disassembly.
	grep -w -E "$KSYMS" /proc/kallsyms | grep -v '\[' | sed 's/^/DPXB ksym /'

	./dpxbench syscall "$SYSCALL_ITERS" "$SYSCALL_REPS" || fail "dpxbench syscall"

	dispatch "$DISPATCH_REPS"

	for mode in live stalled; do
		for load in idle load; do
			run "swap $mode $load $SWAPS"
		done
	done

	# Idle only: see "Livepatch under load" in Documentation/performance.rst.
	./dpxbench livepatch $K/$LP.ko "$LP_CYCLES" | sed 's/^DPXB lp /DPXB lp busy=0 /'

	rmmod drvproxy_bench drvproxy_demo_raw drvproxy_demo || fail "rmmod"
	echo "DPXB finished part=main"
}

lookup() {
	env_line
	insmod $K/drvproxy.ko || fail "insmod drvproxy.ko"
	insmod $K/drvproxy_bench.ko || fail "insmod drvproxy_bench.ko"
	for n in $LOOKUP_SIZES; do
		run "lookup $n $LOOKUP_ITERS"
	done
	echo "DPXB finished part=lookup"
}

case "${1:-}" in
main) main ;;
lookup) lookup ;;
dispatch) dispatch_only ;;
*) fail "usage: guest.sh main|lookup|dispatch" ;;
esac
