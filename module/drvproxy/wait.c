// SPDX-License-Identifier: GPL-2.0
/*
 * wait.c - which callers wait out a stall and how, and the swap-aware waits
 *
 * A call that enters a stall table (all implementations NULL) waits on
 * ext->stall_wq until another table is published, then enters that one
 * (drvproxy_call_stalled(), transition.c).  Three kinds of call run the
 * superseded implementation instead, counted in the stall table
 * (drvproxy_may_wait()): calls of endpoints declared atomic (a stalled
 * transition never changes those), calls the transition's own callbacks
 * make, and calls nested inside a call of the same driver that is still in
 * flight.  The stalled drain waits for every call in the stall table except
 * the atomic ones, so none of them is still running when the STALLED
 * callback starts, except calls that callback makes itself.  A waiter of a
 * file method that is killed returns -EINTR (drvproxy_stall_wait()).
 *
 * A swap-aware wait puts the task on ext->swap_wq besides the caller's own
 * wait queue.  Every publish wakes swap_wq; a waiter whose call entered a
 * table that is no longer active ends its wait and returns
 * DRVPROXY_ERESTART, which the endpoint returns, so the old implementation
 * is left and the wrapper calls the current one with the same arguments
 * (drvproxy_call_redispatch(), transition.c).
 *
 * Nothing here takes ext->lock; it runs only while a transition is in
 * progress or a call sleeps.  The nesting check reads the tables under
 * ext->retire_lock.  The table a call entered stays allocated until the
 * call counts its exit, so these may read it.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/sched.h>
#include <linux/stacktrace.h>
#include <linux/string.h>

#include "internal.h"
#include "trace.h"

#ifdef CONFIG_STACKTRACE
/* How deep drvproxy_called_inside() looks for an outer endpoint call. */
#define DRVPROXY_NEST_DEPTH	32

/* The start of the function @addr lies in, from kallsyms; 0 when unknown. */
static unsigned long function_start(unsigned long addr)
{
	char sym[KSYM_SYMBOL_LEN];
	unsigned long off;
	char *plus, *slash;

	sprint_symbol(sym, addr);
	plus = strrchr(sym, '+');
	slash = plus ? strchr(plus, '/') : NULL;
	if (!slash)
		return 0;
	*slash = '\0';
	if (kstrtoul(plus + 1, 16, &off) || off > addr)
		return 0;
	return addr - off;
}

/* Does slot @i of @t run @fn, or hold it back (a stall table)? */
static bool slot_runs(struct drvproxy_generation *t, unsigned int i, unsigned long fn)
{
	return (unsigned long)t->table.slot[i].fn == fn ||
	       (t->held && (unsigned long)t->held[i] == fn);
}

/*
 * Is @fn the wrapper or an implementation (in any of its tables) of one of
 * @ext's process-context endpoints?  A slow path needs no test of its own:
 * its wrapper called it (__DPX_CALL_SLOW()), so the wrapper's frame
 * follows.  Atomic endpoints do not count: the drain does not wait for
 * their calls in the stall table, so a call nested in one of those must
 * wait like any other.  The tables are read under retire_lock: a table
 * leaves the list under it before it is freed.
 */
static bool ext_code(struct drvproxy_extension *ext, unsigned long fn)
{
	struct drvproxy_endpoint_desc *desc = drvproxy_wrapper_desc(ext, (drvproxy_fn_t)fn);
	struct drvproxy_generation *t;
	unsigned int i;
	bool found = false;

	if (desc)
		return !(desc->flags & DRVPROXY_EP_ATOMIC);
	spin_lock_bh(&ext->retire_lock);
	list_for_each_entry(t, &ext->tables, all_node) {
		for (i = 0; i < t->table.nr && !found; i++)
			found = !test_bit(i, t->atomic) && slot_runs(t, i, fn);
		if (found)
			break;
	}
	spin_unlock_bh(&ext->retire_lock);
	return found;
}

/*
 * Is the current task already inside a call of @ext, so that this call of
 * @desc is nested in it (compat_ioctl calling ioctl, a helper of one
 * endpoint calling another)?  Such a call must not wait for the stall: the
 * stalled drain waits for the outer call, which waits for this one.  It
 * runs in the superseded implementation instead, counted in the stall
 * table, and leaves it before the outer call does, so before the drain
 * ends.  The outer call shows on the stack as a frame of one of @ext's
 * implementations (never inlined: it is called through a pointer) or, when
 * it tail-called a helper, of its wrapper.  This call's own frames come
 * first: drvproxy's, then @desc's slow path (which called drvproxy), then
 * @desc's wrapper (which called the slow path, never jumped to it: see
 * __DPX_CALL_SLOW()) unless the wrapper was inlined into its caller.  Slow
 * path only: a stalled caller that may sleep.
 */
static bool drvproxy_called_inside(struct drvproxy_extension *ext,
				   struct drvproxy_endpoint_desc *desc)
{
	unsigned long entries[DRVPROXY_NEST_DEPTH], fn;
	unsigned int n, k = 0;

	n = stack_trace_save(entries, ARRAY_SIZE(entries), 0);
	while (k < n && within_module(entries[k], THIS_MODULE))
		k++;
	if (k < n && desc->slow && function_start(entries[k]) == (unsigned long)desc->slow)
		k++;
	if (k < n && function_start(entries[k]) == (unsigned long)desc->wrapper)
		k++;
	for (; k < n; k++) {
		fn = function_start(entries[k]);
		if (fn && ext_code(ext, fn))
			return true;
	}
	return false;
}
#else
/* Without a stack tracer a nested call waits, and the drain times out. */
static bool drvproxy_called_inside(struct drvproxy_extension *ext,
				   struct drvproxy_endpoint_desc *desc)
{
	return false;
}
#endif

/*
 * May this call wait out a stall?  Atomic endpoints never do; neither do
 * the calls the transition's own callbacks make, nor nested ones (see
 * above).  Any other endpoint is declared as one that may sleep: a caller
 * in atomic context breaks that contract.  The kernel can see it in
 * interrupts and with interrupts or softirqs disabled everywhere, and with
 * spinlocks and preempt_disable() under CONFIG_PREEMPT_COUNT only; where
 * it sees it, the call is not put to sleep (that would crash) but runs the
 * superseded implementation, with a warning that names the endpoint.
 */
bool drvproxy_may_wait(struct drvproxy_extension *ext, struct drvproxy_endpoint_desc *desc)
{
	if (desc->flags & DRVPROXY_EP_ATOMIC)
		return false;
	if (READ_ONCE(ext->lock_owner) == current)
		return false;
	if (!in_task() || irqs_disabled() || softirq_count() || rcu_preempt_depth() ||
	    (IS_ENABLED(CONFIG_PREEMPT_COUNT) && !preemptible())) {
		WARN_ONCE(1, "drvproxy: endpoint %s called in atomic context: declare it DRVPROXY_ENDPOINT_ATOMIC()\n",
			  desc->name);
		return false;
	}
	return !drvproxy_called_inside(ext, desc);
}

/*
 * May a caller of @desc that is killed while it waits return -EINTR
 * without running it?  Only for the file methods whose errno goes back to
 * the system call that a fatal signal ends anyway (open, read, write,
 * ioctl, llseek, mmap, fsync ...), and only when the return type can say
 * so.  Never for the methods that tear a file down -- release, and flush,
 * fasync, lock and flock (F_UNLCK: a lock left behind would point at the
 * freed file), which __fput() and close() call with the signal pending --
 * nor for an exiting task (closing its files), nor for anything else an
 * endpoint may be (a driver's own callback whose caller would not expect
 * it skipped).
 */
static bool killable_method(struct drvproxy_extension *ext, struct drvproxy_endpoint_desc *desc)
{
	struct drvproxy_driver *drv = ext->drv;
	unsigned int mj;

	if (!drv || !(desc->flags & DRVPROXY_EP_ERRNO) || (current->flags & PF_EXITING))
		return false;
	for (mj = 0; mj < DRVPROXY_MJ_MAX; mj++) {
		if (mj == DRVPROXY_MJ_CLOSE || mj == DRVPROXY_MJ_CLEANUP ||
		    mj == DRVPROXY_MJ_FASYNC || mj == DRVPROXY_MJ_LOCK ||
		    mj == DRVPROXY_MJ_FLOCK)
			continue;
		if (drv->major_function[mj] == desc->wrapper)
			return true;
	}
	return false;
}

/*
 * Wait for the next publish after @seq.  A killable_method() waiter that
 * is killed returns false: the wrapper fails the call with -EINTR without
 * running any implementation.  Every other waiter waits to the end of the
 * transition; TASK_IDLE keeps it off the hung-task detector, as
 * TASK_KILLABLE does for the others: both end when the transition does.
 */
bool drvproxy_stall_wait(struct drvproxy_extension *ext, struct drvproxy_endpoint_desc *desc,
			 unsigned long seq)
{
	if (!killable_method(ext, desc)) {
		wait_event_idle(ext->stall_wq, READ_ONCE(ext->publish_seq) != seq);
		return true;
	}
	return !wait_event_killable(ext->stall_wq, READ_ONCE(ext->publish_seq) != seq);
}

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
	w->head = call ? &drvproxy_gen(call)->ext->swap_wq : NULL;
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
	struct drvproxy_generation *g = drvproxy_gen(call);

	trace_drvproxy_redispatch(g->ext->drv ? g->ext->drv->name : "", g->generation);
	return DRVPROXY_ERESTART;
}
EXPORT_SYMBOL_GPL(drvproxy_swap_wait_redispatch);
