// SPDX-License-Identifier: GPL-2.0
/*
 * bench_lp.c - drvproxy_bench_lp.ko: the livepatch of the dispatch and
 * swap benchmarks
 *
 * Redirects drvproxy_bench.ko's bench_f_lp() to a copy with the same body,
 * through ftrace, as any livepatch does: variant (d) of the dispatch
 * benchmark calls bench_f_lp() with this patch enabled, and the swap
 * benchmark times this patch's enable (insmod) and disable transitions
 * against a drvproxy swap.  Enabled at load, like every livepatch module;
 * disable it through /sys/kernel/livepatch/drvproxy_bench_lp/enabled before
 * rmmod.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

#include "bench.h"

static long bench_lp_f(void *ctx, long x)
{
	return bench_work(ctx, x);
}

static struct klp_func bench_lp_funcs[] = {
	{
		.old_name = "bench_f_lp",
		.new_func = bench_lp_f,
	},
	{ }
};

static struct klp_object bench_lp_objs[] = {
	{
		.name = "drvproxy_bench",
		.funcs = bench_lp_funcs,
	},
	{ }
};

static struct klp_patch bench_lp_patch = {
	.mod = THIS_MODULE,
	.objs = bench_lp_objs,
};

static int __init bench_lp_init(void)
{
	return klp_enable_patch(&bench_lp_patch);
}

static void __exit bench_lp_exit(void)
{
}

module_init(bench_lp_init);
module_exit(bench_lp_exit);

MODULE_DESCRIPTION("drvproxy benchmarks: livepatch of drvproxy_bench's bench_f_lp()");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
