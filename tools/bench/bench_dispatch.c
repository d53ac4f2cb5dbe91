// SPDX-License-Identifier: GPL-2.0
/*
 * bench_dispatch.c - the dispatch benchmark: per-call cost of each variant
 *
 * One loop function per variant calls its target N times with a changing
 * argument and sums the results; bench.py disassembles these loops (and
 * what they call) to count instructions, atomic read-modify-writes and
 * barriers on the hot path, so each loop does nothing but the call.
 *
 * A measurement runs the loop in kthreads bound to CPUs: one thread on the
 * first online CPU ("single"), or one per online CPU released together
 * ("all").  Each thread times its own loop with ktime_get_ns() and works on
 * its own cache-line-aligned context; the result lines give every thread's
 * time, the host takes medians over the repetitions.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "bench.h"

/*
 * One loop per variant, each its own function (not inlined, not cloned) so
 * that bench.py finds it by name in the disassembly.
 */
#define BENCH_LOOP(name, call)						\
long name(struct bench_ctx *ctx, unsigned long n)			\
{									\
	unsigned long i;						\
	long acc = 0;							\
									\
	for (i = 0; i < n; i++)						\
		acc += call(ctx, i);					\
	return acc;							\
}

/* The ops-table call as the VFS makes it: f_op reloaded every call. */
#define bench_ops_call(ctx, x)	bench_filp->f_op->f(ctx, x)

BENCH_LOOP(bench_loop_direct, bench_f)
BENCH_LOOP(bench_loop_ops, bench_ops_call)
BENCH_LOOP(bench_loop_dpx, bench_ep)
BENCH_LOOP(bench_loop_dpx_app, bench_ep_app)
BENCH_LOOP(bench_loop_dpx_nr, bench_ep_nr)
BENCH_LOOP(bench_loop_lp_idle, bench_f_lp_idle)
BENCH_LOOP(bench_loop_lp, bench_f_lp)
BENCH_LOOP(bench_loop_dbgfs, bench_dbgfs_proxy)
BENCH_LOOP(bench_loop_srcu, bench_srcu_proxy)

static const struct {
	const char *name;
	long (*loop)(struct bench_ctx *ctx, unsigned long n);
} bench_variants[] = {
	{ "a", bench_loop_direct },
	{ "b", bench_loop_ops },
	{ "c", bench_loop_dpx },
	{ "c2", bench_loop_dpx_app },
	{ "c3", bench_loop_dpx_nr },
	{ "d0", bench_loop_lp_idle },
	{ "d", bench_loop_lp },
	{ "e", bench_loop_dbgfs },
	{ "f", bench_loop_srcu },
};

struct bench_run {
	long (*loop)(struct bench_ctx *ctx, unsigned long n);
	unsigned long iters;
	unsigned int nr;
	atomic_t ready;
	atomic_t left;
	bool go;
	struct completion all_ready;
	struct completion done;
};

struct bench_thread {
	struct bench_ctx ctx;
	struct bench_run *run;
	struct task_struct *task;
	int cpu;
	u64 ns;
	long acc;
};

static int bench_thread_fn(void *data)
{
	struct bench_thread *t = data;
	struct bench_run *run = t->run;
	u64 t0;

	if (atomic_inc_return(&run->ready) == run->nr)
		complete(&run->all_ready);
	/* Pairs with the release in bench_run(): start once all are ready. */
	while (!smp_load_acquire(&run->go))
		cond_resched();
	t0 = ktime_get_ns();
	t->acc = run->loop(&t->ctx, run->iters);
	t->ns = ktime_get_ns() - t0;
	if (atomic_dec_and_test(&run->left))
		complete(&run->done);

	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * Run @loop for @iters calls in one kthread per CPU of the online mask (or
 * on the first online CPU only), started together; fills @thr[0..nr-1].
 */
static int bench_run(long (*loop)(struct bench_ctx *ctx, unsigned long n),
		     unsigned long iters, bool all, struct bench_thread *thr,
		     unsigned int *nr)
{
	struct bench_run run = {
		.loop = loop,
		.iters = iters,
	};
	unsigned int n = 0, k;
	int cpu, ret = 0;

	init_completion(&run.all_ready);
	init_completion(&run.done);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		thr[n].run = &run;
		thr[n].cpu = cpu;
		thr[n].ctx.acc = 0;
		thr[n].ctx.seed = cpu + 1;
		thr[n].task = kthread_create_on_cpu(bench_thread_fn, &thr[n], cpu,
						    "dpxbench/%u");
		if (IS_ERR(thr[n].task)) {
			ret = PTR_ERR(thr[n].task);
			break;
		}
		n++;
		if (!all)
			break;
	}
	if (ret) {
		for (k = 0; k < n; k++)
			kthread_stop(thr[k].task);
		cpus_read_unlock();
		return ret;
	}
	run.nr = n;
	atomic_set(&run.left, n);
	for (k = 0; k < n; k++)
		wake_up_process(thr[k].task);
	wait_for_completion(&run.all_ready);
	/* Pairs with the acquire in bench_thread_fn(): release every thread. */
	smp_store_release(&run.go, true);
	wait_for_completion(&run.done);
	for (k = 0; k < n; k++)
		kthread_stop(thr[k].task);
	cpus_read_unlock();
	*nr = n;
	return 0;
}

/* One result line per thread. */
static void bench_report(const char *variant, unsigned int rep, unsigned long iters,
			 const struct bench_thread *thr, unsigned int nr)
{
	unsigned int k;

	for (k = 0; k < nr; k++)
		bench_out("DPXB dispatch variant=%s threads=%u rep=%u cpu=%d iters=%lu ns=%llu\n",
			  variant, nr, rep, thr[k].cpu, iters, thr[k].ns);
}

/*
 * Variant c2's companion: a layer replacing bench_ep_app(), applied for the
 * whole benchmark.  Freed once drvproxy has let go of it (a reverted layer
 * stays on its draining list for a while).
 */
static struct drvproxy_layer *bench_apply_app(void)
{
	struct drvproxy_layer *layer;
	int ret;

	layer = kzalloc(sizeof(*layer), GFP_KERNEL);
	if (!layer)
		return ERR_PTR(-ENOMEM);
	layer->target = BENCH_DRV_NAME;
	layer->owner = THIS_MODULE;
	layer->mode = DRVPROXY_MODE_LIVE;
	layer->replacements = bench_app_repls;
	layer->nr_replacements = bench_nr_app_repls;
	ret = drvproxy_layer_apply(layer);
	if (ret) {
		kfree(layer);
		return ERR_PTR(ret);
	}
	return layer;
}

static int bench_revert_app(struct drvproxy_layer *layer, int base)
{
	int ret = drvproxy_layer_revert(layer);

	if (!ret)
		ret = bench_layers_drained(base);
	if (!ret)
		kfree(layer);
	return ret;
}

/*
 * "dispatch ITERS REPS": for each repetition, every variant single-threaded,
 * then every variant on all CPUs at once.  One line per thread:
 *   DPXB dispatch variant=c threads=2 rep=0 cpu=1 iters=N ns=T
 */
int bench_dispatch(unsigned long iters, unsigned int reps)
{
	int base = module_refcount(THIS_MODULE);
	struct drvproxy_layer *layer;
	struct bench_thread *thr;
	unsigned int rep, v, nr;
	int pass, ret = 0, err;

	thr = kcalloc(nr_cpu_ids, sizeof(*thr), GFP_KERNEL);
	if (!thr)
		return -ENOMEM;
	layer = bench_apply_app();
	if (IS_ERR(layer)) {
		bench_out("DPXB error cmd=dispatch apply=%ld\n", PTR_ERR(layer));
		kfree(thr);
		return PTR_ERR(layer);
	}
	/* Warm up: code, data and the livepatch trampoline are touched once. */
	for (v = 0; v < ARRAY_SIZE(bench_variants); v++) {
		ret = bench_run(bench_variants[v].loop, iters / 16 + 1, true, thr, &nr);
		if (ret)
			goto out;
	}
	for (rep = 0; rep < reps; rep++) {
		for (pass = 0; pass < 2; pass++) {
			for (v = 0; v < ARRAY_SIZE(bench_variants); v++) {
				ret = bench_run(bench_variants[v].loop, iters, pass, thr, &nr);
				if (ret)
					goto out;
				bench_report(bench_variants[v].name, rep, iters, thr, nr);
				cond_resched();
			}
		}
	}
out:
	err = bench_revert_app(layer, base);
	if (err)
		bench_out("DPXB error cmd=dispatch revert=%d\n", err);
	kfree(thr);
	return ret ?: err;
}
