// SPDX-License-Identifier: GPL-2.0
/*
 * bench_targets.c - the functions drvproxy_bench.ko calls, one per way of
 * reaching replaceable code
 *
 * They live in their own file so that the call loops (bench_dispatch.c)
 * cannot inline, clone or constant-fold them: every variant really calls.
 * All run bench_work():
 *
 *   bench_f()            plain function: variant (a) calls it directly,
 *                        variant (b) through bench_filp->f_op->f
 *   bench_f_lp()         the livepatch target (variant d): a noinline,
 *                        ftrace-able function that drvproxy_bench_lp.ko
 *                        redirects to its own copy
 *   bench_f_lp_idle()    the same kind of function, never patched: its
 *                        fentry call is ftrace's nop (variant d0)
 *   bench_ep()           a drvproxy endpoint: the name is the wrapper
 *                        (variant c: no companion applied to it)
 *   bench_ep_app()       the same, with a companion's implementation
 *                        bench_ep_app_v2() applied for the whole dispatch
 *                        benchmark (variant c2)
 *   bench_ep_nr()        an endpoint declared _NOWAIT: no swap-aware
 *                        wait builds in it, so its wrapper keeps nothing
 *                        for a re-dispatch (variant c3; an endpoint whose
 *                        return type carries no errno gets the same one)
 *   bench_dbgfs_proxy()  a debugfs-style proxy: a shared refcount taken and
 *                        dropped around the indirect call (variant e), as
 *                        fs/debugfs's full proxy does with active_users
 *   bench_srcu_proxy()   an SRCU read section around the indirect call
 *                        (variant f)
 *   bench_swap_ep()      the endpoint the swap benchmark replaces by
 *                        bench_swap_ep_v2() and back; both record their
 *                        first call after a swap in bench_probe
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/completion.h>
#include <linux/refcount.h>
#include <linux/srcu.h>

#include "bench.h"

long bench_f(void *ctx, long x)
{
	return bench_work(ctx, x);
}

const struct bench_ops bench_real_ops = {
	.f = bench_f,
};

static struct bench_file bench_file = {
	.f_op = &bench_real_ops,
};

/* What the VFS would hold in file->f_op; a variable, so it is reloaded. */
struct bench_file *bench_filp = &bench_file;

/* Kept noinline so that ftrace (and so livepatch) can redirect it. */
noinline long bench_f_lp(void *ctx, long x)
{
	return bench_work(ctx, x);
}

/* Like bench_f_lp(), but no livepatch names it. */
noinline long bench_f_lp_idle(void *ctx, long x)
{
	return bench_work(ctx, x);
}

DRVPROXY_ENDPOINT_GLOBAL(long, bench_ep, void *, ctx, long, x)
{
	return bench_work(ctx, x);
}

DRVPROXY_ENDPOINT_GLOBAL(long, bench_ep_app, void *, ctx, long, x)
{
	return bench_work(ctx, x);
}

DRVPROXY_REPLACEMENT_MANUAL(long, bench_ep_app, bench_ep_app_v2, void *, ctx, long, x)
{
	return bench_work(ctx, x);
}

const struct drvproxy_replacement *const bench_app_repls[] = {
	DRVPROXY_REPL(bench_ep_app_v2),
};

const unsigned int bench_nr_app_repls = ARRAY_SIZE(bench_app_repls);

DRVPROXY_ENDPOINT_NOWAIT_GLOBAL(long, bench_ep_nr, void *, ctx, long, x)
{
	return bench_work(ctx, x);
}

/*
 * The debugfs full proxy's per-file state, reduced to what a call touches:
 * active_users starts at 1 (the "file exists" reference) and removal waits
 * for the completion once it drops that reference.
 */
static struct {
	const struct bench_ops *real_fops;
	refcount_t active_users;
	struct completion active_users_drained;
} bench_fsd = {
	.real_fops = &bench_real_ops,
	.active_users = REFCOUNT_INIT(1),
	.active_users_drained = COMPLETION_INITIALIZER(bench_fsd.active_users_drained),
};

long bench_dbgfs_proxy(void *ctx, long x)
{
	long ret;

	/* debugfs_file_get() */
	if (!refcount_inc_not_zero(&bench_fsd.active_users))
		return -EIO;
	ret = bench_fsd.real_fops->f(ctx, x);
	/* debugfs_file_put() */
	if (refcount_dec_and_test(&bench_fsd.active_users))
		complete(&bench_fsd.active_users_drained);
	return ret;
}

DEFINE_STATIC_SRCU(bench_srcu);
static const struct bench_ops __rcu *bench_srcu_ops = RCU_INITIALIZER(&bench_real_ops);

long bench_srcu_proxy(void *ctx, long x)
{
	long ret;
	int idx;

	idx = srcu_read_lock(&bench_srcu);
	ret = srcu_dereference(bench_srcu_ops, &bench_srcu)->f(ctx, x);
	srcu_read_unlock(&bench_srcu, idx);
	return ret;
}

struct bench_swap_probe bench_probe;

DRVPROXY_ENDPOINT_GLOBAL(long, bench_swap_ep, void *, ctx, long, x)
{
	bench_probe_hit(1);
	return bench_work(ctx, x);
}

DRVPROXY_REPLACEMENT_MANUAL(long, bench_swap_ep, bench_swap_ep_v2, void *, ctx, long, x)
{
	bench_probe_hit(2);
	return bench_work(ctx, x);
}

const struct drvproxy_replacement *const bench_swap_repls[] = {
	DRVPROXY_REPL(bench_swap_ep_v2),
};

const unsigned int bench_nr_swap_repls = ARRAY_SIZE(bench_swap_repls);
