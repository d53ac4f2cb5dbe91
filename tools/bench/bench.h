/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench.h - drvproxy_bench.ko: shared declarations
 *
 * drvproxy_bench.ko measures what a call through drvproxy costs compared
 * with the other ways the kernel reaches replaceable code (a direct call,
 * an indirect call through a const ops table, a livepatched function, a
 * debugfs-style refcounting proxy, an SRCU-protected indirect call), how
 * long a swap takes, and how wrapper lookups scale.  The commands are
 * written to /sys/kernel/debug/drvproxy_bench/run and the results read
 * back from .../result; tools/bench/bench.sh drives it in a QEMU guest.
 *
 * Every variant calls a function with the same body, bench_work(): a
 * multiply-add on per-caller memory that the compiler cannot fold because
 * the functions are out of line and in another file than their callers.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_BENCH_H
#define _DRVPROXY_BENCH_H

#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <linux/types.h>

#include <drvproxy.h>

#define BENCH_DRV_NAME		"drvproxy_bench"

/* Per-caller state of the endpoint-shaped functions (one per thread). */
struct bench_ctx {
	long acc;
	long seed;
} ____cacheline_aligned;

/* The body every variant runs: one load, a multiply-add, one store. */
static __always_inline long bench_work(void *ctx, long x)
{
	struct bench_ctx *c = ctx;

	c->acc = c->acc * 31 + (x ^ c->seed);
	return c->acc;
}

/* A file_operations-like const ops table and the "file" pointing at it. */
struct bench_ops {
	long (*f)(void *ctx, long x);
};

struct bench_file {
	const struct bench_ops *f_op;
};

/* bench_targets.c: the called functions (kept apart from their callers). */
long bench_f(void *ctx, long x);
long bench_f_lp(void *ctx, long x);
long bench_f_lp_idle(void *ctx, long x);
long bench_ep(void *ctx, long x);
long bench_ep_app(void *ctx, long x);
long bench_ep_nr(void *ctx, long x);
extern const struct drvproxy_replacement *const bench_app_repls[];
extern const unsigned int bench_nr_app_repls;
long bench_dbgfs_proxy(void *ctx, long x);
long bench_srcu_proxy(void *ctx, long x);
long bench_swap_ep(void *ctx, long x);
extern const struct drvproxy_replacement *const bench_swap_repls[];
extern const unsigned int bench_nr_swap_repls;
extern const struct bench_ops bench_real_ops;
extern struct bench_file *bench_filp;

/*
 * Swap probe: each implementation of bench_swap_ep() records the first call
 * it serves after a swap armed the probe for its version.
 */
struct bench_swap_probe {
	int want;		/* version whose first call to record, 0: none */
	int first_cpu;
	u64 first_ns;
};

extern struct bench_swap_probe bench_probe;

static __always_inline void bench_probe_hit(int version)
{
	if (unlikely(READ_ONCE(bench_probe.want) == version)) {
		WRITE_ONCE(bench_probe.want, 0);
		WRITE_ONCE(bench_probe.first_cpu, raw_smp_processor_id());
		WRITE_ONCE(bench_probe.first_ns, ktime_get_ns());
	}
}

/* bench_main.c */
extern struct drvproxy_extension *bench_ext;
__printf(1, 2) void bench_out(const char *fmt, ...);
int bench_start_load(long (*fn)(void *ctx, long x));
void bench_stop_load(void);

/* bench_dispatch.c: one call loop per variant (disassembled by bench.py) */
long bench_loop_direct(struct bench_ctx *ctx, unsigned long n);
long bench_loop_ops(struct bench_ctx *ctx, unsigned long n);
long bench_loop_dpx(struct bench_ctx *ctx, unsigned long n);
long bench_loop_dpx_app(struct bench_ctx *ctx, unsigned long n);
long bench_loop_dpx_nr(struct bench_ctx *ctx, unsigned long n);
long bench_loop_lp_idle(struct bench_ctx *ctx, unsigned long n);
long bench_loop_lp(struct bench_ctx *ctx, unsigned long n);
long bench_loop_dbgfs(struct bench_ctx *ctx, unsigned long n);
long bench_loop_srcu(struct bench_ctx *ctx, unsigned long n);
int bench_dispatch(unsigned long iters, unsigned int reps);

/* bench_swap.c */
int bench_swap(bool stalled, bool load, unsigned int count);
int bench_swap_init(void);
void bench_swap_exit(void);
int bench_layers_drained(int base);

/* bench_lookup.c */
int bench_lookup(unsigned int nr, unsigned long iters);

#endif /* _DRVPROXY_BENCH_H */
