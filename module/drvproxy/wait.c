// SPDX-License-Identifier: GPL-2.0
/*
 * wait.c - the slow paths of a call: stalled entry and swap-aware waits
 *
 * A call that enters a stall table (all implementations NULL) waits on
 * ext->stall_wq until another table is published, then enters that one.
 * Callers that cannot sleep -- atomic context, or the task running the
 * transition itself (a callback calling an endpoint) -- run the superseded
 * implementation instead, counted in the stall table, which the stalled
 * drain waits for too.
 *
 * A swap-aware wait puts the task on ext->swap_wq besides the caller's own
 * wait queue.  Every publish wakes swap_wq; a waiter whose call entered a
 * table that is no longer active ends its wait, marks the call for
 * re-dispatch and returns DRVPROXY_ERESTART, so the old implementation is
 * left and the wrapper calls the current one with the same arguments.
 *
 * Neither path takes a lock of the extension; both run only when a
 * transition is in progress or a call sleeps.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>

#include "internal.h"
#include "trace.h"

static struct drvproxy_extension *call_ext(struct drvproxy_call *call)
{
	return READ_ONCE(call->desc->ext);
}

static bool may_wait(struct drvproxy_extension *ext)
{
	return preemptible() && READ_ONCE(ext->lock_owner) != current;
}

/**
 * drvproxy_call_stalled() - a call entered a stall table
 * @call: the call; @call->table is the stall table it is counted in
 *
 * Used by drvproxy_call_enter(); not for drivers.
 *
 * Context: any context; sleeps only where sleeping is allowed.
 * Return: the implementation to call; @call->table is updated to the table
 * the call is counted in.
 */
drvproxy_fn_t drvproxy_call_stalled(struct drvproxy_call *call)
{
	struct drvproxy_extension *ext = call_ext(call);
	struct drvproxy_table *t = call->table;
	unsigned int i = call->index;
	drvproxy_fn_t fn;

	for (;;) {
		if (!ext || !may_wait(ext))
			return t->prev->fn[i];
		/* Leave the stall table, wait for the next publish, enter it. */
		this_cpu_inc(t->count[i].exit);
		wait_event(ext->stall_wq,
			   rcu_access_pointer(ext->domain.active) != t);
		preempt_disable();
		t = rcu_dereference_sched(ext->domain.active);
		this_cpu_inc(t->count[i].enter);
		fn = t->fn[i];
		preempt_enable();
		call->table = t;
		if (fn)
			return fn;
	}
}
EXPORT_SYMBOL_GPL(drvproxy_call_stalled);

/**
 * drvproxy_call_stale() - has the table of a call been superseded
 * @call: the current call (``__dpx_call`` in an endpoint body), or NULL
 *
 * Context: any context.
 * Return: true when a swap or revert published another table since @call
 * entered, so the implementation running it may be old code.
 */
bool drvproxy_call_stale(struct drvproxy_call *call)
{
	struct drvproxy_extension *ext;

	if (!call || !call->table)
		return false;
	ext = call_ext(call);
	return ext && rcu_access_pointer(ext->domain.active) != call->table;
}
EXPORT_SYMBOL_GPL(drvproxy_call_stale);

/**
 * drvproxy_swap_wait_begin() - start watching for swaps during a wait
 * @call: the current call, or NULL
 * @w: the waiter, on the caller's stack
 *
 * Used by drvproxy_wait_event_interruptible() and friends.
 */
void drvproxy_swap_wait_begin(struct drvproxy_call *call,
			      struct drvproxy_swap_waiter *w)
{
	struct drvproxy_extension *ext = call && call->table ? call_ext(call) : NULL;

	w->call = call;
	w->head = ext ? &ext->swap_wq : NULL;
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
 * @call: the current call
 *
 * Return: DRVPROXY_ERESTART, for the endpoint to return at once.
 */
int drvproxy_swap_wait_redispatch(struct drvproxy_call *call)
{
	call->redispatch = true;
	trace_drvproxy_redispatch(call->desc->name);
	return DRVPROXY_ERESTART;
}
EXPORT_SYMBOL_GPL(drvproxy_swap_wait_redispatch);
