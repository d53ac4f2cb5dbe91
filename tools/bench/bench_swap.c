// SPDX-License-Identifier: GPL-2.0
/*
 * bench_swap.c - the swap-latency benchmark
 *
 * "swap MODE LOAD COUNT" applies a layer that replaces bench_swap_ep() by
 * bench_swap_ep_v2() and reverts it, COUNT times, on this module's own
 * driver object (a fresh zeroed layer each time: a layer applies once).
 * For every apply and revert it reports, in ns from the start of the call:
 *
 *   publish  the new table was published (drvproxy_publish tracepoint;
 *            without it, the POST callback)
 *   stalled  stalled mode: every call in flight has drained (STALLED
 *            callback)
 *   return   drvproxy_layer_apply()/_revert() returned
 *   first    the first call served by the new code: under load one of the
 *            load threads (bench_main.c) calling bench_swap_ep() on every
 *            CPU; at idle the call this thread makes right after the return
 *   drain    the superseded table was retired (drvproxy_drain_done
 *            tracepoint): no call is left in it and its code may go
 *
 * drvproxy does not export its tracepoints' symbols; the module finds them
 * through the tracepoint module notifier, which reports drvproxy.ko's
 * tracepoints when it is registered.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/delay.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/wait.h>

#include "bench.h"

#define BENCH_SWAP_WAIT		(5 * HZ)

static struct tracepoint *tp_publish, *tp_drain;
static bool tp_publish_on, tp_drain_on;
static DECLARE_WAIT_QUEUE_HEAD(bench_swap_wq);

/* What the current swap waits for; written by the probes and callbacks. */
static struct {
	u64 drain_gen;		/* generation of the superseded table */
	int drain_left;		/* retirements of it still to come */
	u64 drain_ns;
	u64 publish_ns;
	u64 post_ns;
	u64 stalled_ns;
} rec;

static void bench_publish_probe(void *data, const char *driver, u64 generation,
				bool stall)
{
	if (!stall && !strcmp(driver, BENCH_DRV_NAME) && !READ_ONCE(rec.publish_ns))
		WRITE_ONCE(rec.publish_ns, ktime_get_ns());
}

static void bench_drain_probe(void *data, const char *driver, u64 generation)
{
	if (strcmp(driver, BENCH_DRV_NAME) || generation != READ_ONCE(rec.drain_gen))
		return;
	WRITE_ONCE(rec.drain_ns, ktime_get_ns());
	WRITE_ONCE(rec.drain_left, READ_ONCE(rec.drain_left) - 1);
	wake_up(&bench_swap_wq);
}

static int bench_tp_notify(struct notifier_block *nb, unsigned long val, void *data)
{
	struct tp_module *tpm = data;
	struct module *mod = tpm->mod;
	unsigned int i;

	if (val != MODULE_STATE_COMING || strcmp(mod->name, "drvproxy"))
		return NOTIFY_OK;
	for (i = 0; i < mod->num_tracepoints; i++) {
		struct tracepoint *tp = tracepoint_ptr_deref(&mod->tracepoints_ptrs[i]);

		if (!strcmp(tp->name, "drvproxy_publish"))
			tp_publish = tp;
		else if (!strcmp(tp->name, "drvproxy_drain_done"))
			tp_drain = tp;
	}
	return NOTIFY_OK;
}

static struct notifier_block bench_tp_nb = {
	.notifier_call = bench_tp_notify,
};

int bench_swap_init(void)
{
	/* Registering reports the modules already loaded, drvproxy.ko among them. */
	if (!register_tracepoint_module_notifier(&bench_tp_nb))
		unregister_tracepoint_module_notifier(&bench_tp_nb);
	if (tp_publish)
		tp_publish_on = !tracepoint_probe_register(tp_publish,
							   bench_publish_probe, NULL);
	if (tp_drain)
		tp_drain_on = !tracepoint_probe_register(tp_drain, bench_drain_probe, NULL);
	if (!tp_drain_on)
		pr_warn("drvproxy_bench: drvproxy_drain_done tracepoint not found; no drain times\n");
	return 0;
}

void bench_swap_exit(void)
{
	if (tp_publish_on)
		tracepoint_probe_unregister(tp_publish, bench_publish_probe, NULL);
	if (tp_drain_on)
		tracepoint_probe_unregister(tp_drain, bench_drain_probe, NULL);
	if (tp_publish_on || tp_drain_on)
		tracepoint_synchronize_unregister();
}

static int bench_swap_cb(enum drvproxy_phase phase, void *context)
{
	if (phase == DRVPROXY_PHASE_STALLED)
		WRITE_ONCE(rec.stalled_ns, ktime_get_ns());
	else if (phase == DRVPROXY_PHASE_POST)
		WRITE_ONCE(rec.post_ns, ktime_get_ns());
	return 0;
}

struct bench_layer {
	struct drvproxy_layer layer;
	struct list_head node;
};

static u64 since(u64 t, u64 t0)
{
	return t ? t - t0 : 0;
}

/* One apply or revert, timed; prints one result line. */
static int bench_swap_one(struct drvproxy_layer *layer, bool revert, bool stalled,
			  bool load, unsigned int i)
{
	struct bench_ctx ctx = { .seed = 1 };
	u64 t0, t_ret;
	int ret;

	rec.drain_gen = drvproxy_extension_generation(bench_ext);
	/* Stalled: the stall table (same generation) retires too. */
	rec.drain_left = stalled ? 2 : 1;
	rec.drain_ns = 0;
	rec.publish_ns = 0;
	rec.post_ns = 0;
	rec.stalled_ns = 0;
	WRITE_ONCE(bench_probe.first_ns, 0);
	/* Armed before the call: the new code cannot run before its publish. */
	WRITE_ONCE(bench_probe.want, revert ? 1 : 2);

	t0 = ktime_get_ns();
	ret = revert ? drvproxy_layer_revert(layer) : drvproxy_layer_apply(layer);
	t_ret = ktime_get_ns();
	if (ret) {
		WRITE_ONCE(bench_probe.want, 0);
		bench_out("DPXB swap status=error op=%s i=%u ret=%d\n",
			  revert ? "revert" : "apply", i, ret);
		return ret;
	}
	if (!load)
		bench_swap_ep(&ctx, i);
	else
		wait_event_timeout(bench_swap_wq, READ_ONCE(bench_probe.first_ns),
				   BENCH_SWAP_WAIT);
	if (tp_drain_on)
		wait_event_timeout(bench_swap_wq, READ_ONCE(rec.drain_left) <= 0,
				   BENCH_SWAP_WAIT);
	WRITE_ONCE(bench_probe.want, 0);
	bench_out("DPXB swap mode=%s load=%d op=%s i=%u cpu=%d first_cpu=%d ",
		  stalled ? "stalled" : "live", load, revert ? "revert" : "apply", i,
		  raw_smp_processor_id(), READ_ONCE(bench_probe.first_cpu));
	bench_out("publish=%llu stalled=%llu return=%llu first=%llu drain=%llu\n",
		  since(READ_ONCE(rec.publish_ns) ?: READ_ONCE(rec.post_ns), t0),
		  since(READ_ONCE(rec.stalled_ns), t0), t_ret - t0,
		  since(READ_ONCE(bench_probe.first_ns), t0),
		  since(READ_ONCE(rec.drain_ns), t0));
	return 0;
}

/*
 * A reverted layer stays on drvproxy's draining list, pinning this module,
 * until its code has drained: a layer may be freed only once the module's
 * reference count is back at @base.  0 then, -EBUSY after 5 s.
 */
int bench_layers_drained(int base)
{
	unsigned int waited;

	for (waited = 0; module_refcount(THIS_MODULE) > base && waited < 100; waited++)
		msleep(50);
	return module_refcount(THIS_MODULE) > base ? -EBUSY : 0;
}

int bench_swap(bool stalled, bool load, unsigned int count)
{
	struct bench_layer *bl, *n;
	LIST_HEAD(layers);
	int base = module_refcount(THIS_MODULE);
	unsigned int i;
	int ret = 0;

	if (load) {
		ret = bench_start_load(bench_swap_ep);
		if (ret)
			return ret;
	}
	for (i = 0; i < count && !ret; i++) {
		bl = kzalloc(sizeof(*bl), GFP_KERNEL);
		if (!bl) {
			ret = -ENOMEM;
			break;
		}
		list_add_tail(&bl->node, &layers);
		bl->layer.target = BENCH_DRV_NAME;
		bl->layer.owner = THIS_MODULE;
		bl->layer.mode = stalled ? DRVPROXY_MODE_STALLED : DRVPROXY_MODE_LIVE;
		bl->layer.callback = bench_swap_cb;
		bl->layer.revert_callback = bench_swap_cb;
		bl->layer.replacements = bench_swap_repls;
		bl->layer.nr_replacements = bench_nr_swap_repls;
		ret = bench_swap_one(&bl->layer, false, stalled, load, i);
		if (!ret)
			ret = bench_swap_one(&bl->layer, true, stalled, load, i);
		cond_resched();
	}
	if (load)
		bench_stop_load();
	if (bench_layers_drained(base)) {
		bench_out("DPXB swap warning=layers-still-draining (leaked)\n");
		return ret ?: -EBUSY;
	}
	list_for_each_entry_safe(bl, n, &layers, node) {
		list_del(&bl->node);
		kfree(bl);
	}
	return ret;
}
