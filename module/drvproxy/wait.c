// SPDX-License-Identifier: GPL-2.0
/*
 * wait.c - the slow paths of a call: stalled entry and swap-aware waits
 *
 * A call that enters a stall table (all implementations NULL) waits on
 * ext->stall_wq until another table is published, then enters that one.
 * Callers that cannot sleep -- atomic context, an RCU read-side critical
 * section, or the task running the transition itself (a callback calling
 * an endpoint) -- run the superseded implementation instead, counted in the
 * stall table, which the stalled drain waits for too.
 *
 * A swap-aware wait puts the task on ext->swap_wq besides the caller's own
 * wait queue.  Every publish wakes swap_wq; a waiter whose call entered a
 * table that is no longer active ends its wait and returns
 * DRVPROXY_ERESTART, which the endpoint returns, so the old implementation
 * is left and the wrapper calls the current one with the same arguments.
 *
 * Neither path takes a lock of the extension; both run only while a
 * transition is in progress or a call sleeps.  The table a call entered
 * stays allocated until the call counts its exit, so these may read it.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>

#include "internal.h"
#include "trace.h"

/*
 * preemptible() alone is not enough: under CONFIG_PREEMPT_RCU a reader in
 * rcu_read_lock() is preemptible, and a stalled transition waits for a
 * grace period, which it would hold up for as long as it waits.
 */
static bool may_wait(struct drvproxy_extension *ext)
{
	return preemptible() && !rcu_preempt_depth() &&
	       READ_ONCE(ext->lock_owner) != current;
}

/**
 * drvproxy_call_stalled() - a call entered a stall table
 * @desc: the endpoint called
 * @t: the stall table the call is counted in
 *
 * Used by drvproxy_call_enter(); not for drivers.
 *
 * Context: any context; sleeps only where sleeping is allowed.
 * Return: the implementation to call and the table the call is counted in.
 */
struct drvproxy_entry drvproxy_call_stalled(struct drvproxy_endpoint_desc *desc,
					    struct drvproxy_table *t)
{
	struct drvproxy_extension *ext = t->ext;
	unsigned int i = desc->index;
	struct drvproxy_entry e;
	unsigned long seq;

	for (;;) {
		if (!may_wait(ext)) {
			e.fn = t->prev->slot[i].fn;
			e.table = t;
			return e;
		}
		/*
		 * Leave the stall table, wait for the next publish, enter the
		 * table it published.  The wait watches the publish count, not
		 * the table's address, which a later table may reuse.
		 */
		seq = READ_ONCE(ext->publish_seq);
		/* Pairs with the smp_wmb() in drvproxy_publish(). */
		smp_rmb();
		this_cpu_inc(t->slot[i].count->exit);
		atomic_long_inc(&t->again[i]);
		if (rcu_access_pointer(ext->domain.active) == t)
			wait_event(ext->stall_wq, READ_ONCE(ext->publish_seq) != seq);
		preempt_disable();
		t = rcu_dereference_sched(ext->domain.active);
		this_cpu_inc(t->slot[i].count->enter);
		e.fn = t->slot[i].fn;
		preempt_enable();
		if (e.fn) {
			e.table = t;
			return e;
		}
	}
}
EXPORT_SYMBOL_GPL(drvproxy_call_stalled);

/**
 * drvproxy_call_stale() - has the table of a call been superseded
 * @call: the table the call entered (``__dpx_call`` in an endpoint body), or
 *	NULL
 *
 * Context: any context, while the call has not counted its exit.
 * Return: true when a swap or revert published another table since the call
 * entered, so the implementation running it may be old code.
 */
bool drvproxy_call_stale(struct drvproxy_table *call)
{
	return call && rcu_access_pointer(call->ext->domain.active) != call;
}
EXPORT_SYMBOL_GPL(drvproxy_call_stale);

/**
 * drvproxy_call_redispatch() - should a call that returned DRVPROXY_ERESTART
 *	be dispatched again (used by the generated wrappers)
 * @desc: the endpoint
 * @t: the table the call entered; still counted, so still allocated
 *
 * Context: any context.
 * Return: true when @t is no longer active; the entry this call made is then
 * marked as not a new call.
 */
bool drvproxy_call_redispatch(struct drvproxy_endpoint_desc *desc,
			      struct drvproxy_table *t)
{
	if (!drvproxy_call_stale(t))
		return false;
	atomic_long_inc(&t->again[desc->index]);
	return true;
}
EXPORT_SYMBOL_GPL(drvproxy_call_redispatch);

/**
 * drvproxy_swap_wait_begin() - start watching for swaps during a wait
 * @call: the table the call entered, or NULL
 * @w: the waiter, on the caller's stack
 *
 * Used by drvproxy_wait_event_interruptible() and friends.
 */
void drvproxy_swap_wait_begin(struct drvproxy_table *call,
			      struct drvproxy_swap_waiter *w)
{
	w->head = call ? &call->ext->swap_wq : NULL;
	if (!w->head)
		return;
	init_waitqueue_entry(&w->entry, current);
	add_wait_queue(w->head, &w->entry);
}
EXPORT_SYMBOL_GPL(drvproxy_swap_wait_begin);

/**
 * drvproxy_swap_wait_end() - stop watching for swaps
 * @w: the waiter passed to drvproxy_swap_wait_begin()
 */
void drvproxy_swap_wait_end(struct drvproxy_swap_waiter *w)
{
	if (w->head)
		remove_wait_queue(w->head, &w->entry);
}
EXPORT_SYMBOL_GPL(drvproxy_swap_wait_end);

/**
 * drvproxy_swap_wait_redispatch() - end a wait because of a swap
 * @call: the table the call entered
 *
 * Return: DRVPROXY_ERESTART, for the endpoint to return at once.
 */
int drvproxy_swap_wait_redispatch(struct drvproxy_table *call)
{
	trace_drvproxy_redispatch(call->ext->drv ? call->ext->drv->name : "",
				  call->generation);
	return DRVPROXY_ERESTART;
}
EXPORT_SYMBOL_GPL(drvproxy_swap_wait_redispatch);
