// SPDX-License-Identifier: GPL-2.0
/*
 * transition.c - the swap protocol: bind, publish, stall, drain, retire and
 * unbind, and the stalled caller's side of it
 *
 * Every call of an endpoint runs drvproxy_call_try_enter() (drvproxy.h): in
 * one preempt-disabled region it loads the endpoint's binding (desc->ext)
 * and the extension's active table (ext->domain.active), counts itself in
 * the table's per-CPU enter counter and loads its implementation; when it
 * returns it counts itself in the same table's exit counter
 * (drvproxy_call_leave_counted() in the wrapper, drvproxy_call_leave() in
 * its slow path, __dpx_slow_<name>(), which enters again with
 * drvproxy_call_enter() after a re-dispatch).  No lock, no atomic
 * read-modify-write, no full barrier.  Everything in this file makes that
 * enough.
 *
 * The protocol (under ext->lock, except the retire worker):
 *
 *   bind        publish the first table, then store each descriptor's ext
 *               pointer (drvproxy_first_publish(), drvproxy_bind_endpoint())
 *   transition  drvproxy_transition(): PRE callback; stalled only: publish
 *               a stall table, drain, STALLED callback; publish the next
 *               table; retire the superseded ones; POST callback.  A
 *               failure in any phase publishes a copy of the previous
 *               table (a table once superseded is never active again, which
 *               is what tells a call that left a swap-aware wait to
 *               re-dispatch) and changes nothing else
 *   retire      the retire worker frees a superseded table after a grace
 *               period, zero calls in flight and a second grace period,
 *               then unpins the modules of the layers no table references
 *   unbind      clear every descriptor's ext, a grace period, retire the
 *               last table and flush the worker (drvproxy_unbind())
 *
 * Barriers and grace periods, each with the hot-path access it pairs with:
 *
 *   B1  smp_store_release(&desc->ext) in drvproxy_bind_endpoint() pairs
 *       with smp_load_acquire(&desc->ext) in drvproxy_call_try_enter(): a call
 *       that sees the binding sees a published table with its slot.
 *   B2  rcu_assign_pointer(ext->domain.active) in drvproxy_publish() and
 *       drvproxy_first_publish() pairs with smp_load_acquire(&dom->active)
 *       in drvproxy_call_try_enter() and drvproxy_call_stalled(): a call sees
 *       the table's contents and, after a stalled transition, whatever the
 *       STALLED callback wrote before the publish (a migrated state).
 *   B3  smp_wmb() between the table store and the publish_seq increment in
 *       drvproxy_publish() pairs with smp_rmb() between the publish_seq
 *       read and the active-table test in drvproxy_call_stalled(): a
 *       stalled caller never waits for a publish that already happened.
 *   G1  synchronize_rcu_expedited() first in stall_drain(), the first
 *       grace period of a retiring table, the first synchronize_rcu() of
 *       drain_sync() and the one in drvproxy_unbind() pair with the
 *       preempt-disabled region of drvproxy_call_try_enter(): afterwards every
 *       call that loaded an earlier table (or the binding) has counted its
 *       entry there, and no new call can enter a table no longer active.
 *   G2  synchronize_rcu_expedited() last in stall_drain(), the second
 *       grace period of a retiring table and the second synchronize_rcu()
 *       of drain_sync() pair with the plain per-CPU exit increment of
 *       drvproxy_call_leave_counted() and drvproxy_call_leave(), which
 *       orders nothing by itself: a grace period runs a full barrier on
 *       every CPU, so everything a drained call did is visible to the
 *       STALLED callback, and complete before its table, and the module
 *       code it referenced, is freed.
 *   W1  wake_up_all(&ext->swap_wq) after every publish pairs with the
 *       condition re-check after prepare-to-wait in the swap-aware waits
 *       (__drvproxy_wait_event()): a call waiting in a superseded table
 *       wakes, finds drvproxy_call_stale() and returns DRVPROXY_ERESTART.
 *   W2  wake_up_all(&ext->stall_wq) after every publish pairs with the
 *       publish_seq test of drvproxy_stall_wait() (wait.c).
 *
 * What a stall waits for: every call counted in any table still allocated
 * (drvproxy_stall_drained()), not only in the one being superseded, since a
 * call may still run in a table that an earlier live swap or a timed-out
 * stall left behind.  The stall table lets three kinds of call through,
 * counted in it (wait.c decides which): calls of atomic endpoints, which a
 * stalled transition may not change (stall_check_atomic()) and the drain
 * skips; the transition's own callbacks' calls; and calls nested in a call
 * that is already inside, which return before it does.
 *
 * Lifetime: a table stays allocated while a call counted in it has not
 * counted its exit.  It is on ext->tables (under retire_lock) from its
 * publish until it is freed, and on ext->retiring from its retirement.  A
 * layer that left the stack is on ext->draining_layers, its module pinned,
 * until no retiring table references its code.  The retire worker takes
 * ext->lock only with mutex_trylock(), so a long stalled transition never
 * waits for it.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "internal.h"
#include "trace.h"

enum { RETIRE_GP1, RETIRE_DRAIN, RETIRE_GP2 };

static const char *ext_name(struct drvproxy_extension *ext)
{
	return ext->drv ? ext->drv->name : "(no driver)";
}

/* ---- bind and unbind ---- */

/* Make @t, a new extension's first table, active; before any binding. */
void drvproxy_first_publish(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	t->generation = ++ext->generation;
	drvproxy_table_mark_atomic(ext, t);
	list_add_tail(&t->all_node, &ext->tables);
	/* B2: pairs with smp_load_acquire() in drvproxy_call_try_enter(). */
	rcu_assign_pointer(ext->domain.active, &t->table);
}

/*
 * Route @ep's calls through @ext's tables.  The active table must have its
 * slot already: published before.
 */
void drvproxy_bind_endpoint(struct drvproxy_extension *ext, struct drvproxy_endpoint *ep)
{
	ep->desc->index = ep->index;
	/* B1: pairs with smp_load_acquire() in drvproxy_call_try_enter(). */
	smp_store_release(&ep->desc->ext, ext);
}

/*
 * Unbind every endpoint of @ext (later calls run the original directly) and
 * wait until no call is inside any of its tables.  Called with ext->lock
 * held; releases it, since the retire worker needs it.
 */
void drvproxy_unbind(struct drvproxy_extension *ext)
{
	struct drvproxy_generation *t;
	unsigned int i;

	lockdep_assert_held(&ext->lock);
	for (i = 0; i < ext->nr_eps; i++)
		WRITE_ONCE(ext->eps[i]->desc->ext, NULL);
	t = drvproxy_active(ext);
	mutex_unlock(&ext->lock);

	/* G1: calls that saw the binding have now counted themselves in @t. */
	synchronize_rcu();
	/*
	 * No call loads the active table any more (G1), but sysfs readers
	 * and a dying extension's history still look for one until the
	 * extension goes: NULL, not @t, which is freed below.  A reader that
	 * loaded @t before this store did so in a preempt-disabled region,
	 * which the first grace period of @t's retirement waits for.
	 */
	RCU_INIT_POINTER(ext->domain.active, NULL);
	drvproxy_retire(ext, t);
	drvproxy_retire_flush(ext);
	cancel_delayed_work_sync(&ext->retire_work);
}

/* ---- publish ---- */

/* The active table; NULL once drvproxy_unbind() has retired the last one. */
struct drvproxy_generation *drvproxy_active(struct drvproxy_extension *ext)
{
	struct drvproxy_table *t = rcu_dereference_protected(ext->domain.active,
							     lockdep_is_held(&ext->lock) ||
							     ext->dying);

	return t ? drvproxy_gen(t) : NULL;
}

static void set_generation(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	t->generation = ++ext->generation;
	drvproxy_next_generation();
}

/*
 * Make @t the table every new call enters.  Caller holds ext->lock.  Wakes
 * the calls in swap-aware waits (they re-dispatch when their table is no
 * longer active) and the callers waiting out a stall.
 */
void drvproxy_publish(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	drvproxy_table_mark_atomic(ext, t);
	spin_lock_bh(&ext->retire_lock);
	if (list_empty(&t->all_node))
		list_add_tail(&t->all_node, &ext->tables);
	spin_unlock_bh(&ext->retire_lock);
	/* B2: pairs with smp_load_acquire() in drvproxy_call_try_enter(). */
	rcu_assign_pointer(ext->domain.active, &t->table);
	/* B3: the table before the count; pairs with drvproxy_call_stalled(). */
	smp_wmb();
	WRITE_ONCE(ext->publish_seq, ext->publish_seq + 1);
	trace_drvproxy_publish(ext->drv ? ext->drv->name : "", t->generation, t->stall);
	wake_up_all(&ext->swap_wq);
	wake_up_all(&ext->stall_wq);
}

/* ---- retire ---- */

static void retire_kick(struct drvproxy_extension *ext, unsigned long delay)
{
	mod_delayed_work(system_unbound_wq, &ext->retire_work, delay);
}

/* Hand a table that is no longer active to the retire worker. */
void drvproxy_retire(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	t->retire_stage = RETIRE_GP1;
	t->retire_gp = start_poll_synchronize_rcu();
	spin_lock_bh(&ext->retire_lock);
	list_add_tail(&t->retire_node, &ext->retiring);
	ext->retire_backoff = 1;
	spin_unlock_bh(&ext->retire_lock);
	retire_kick(ext, 1);
}

/* Advance one retiring table; true when it may be freed.  Under retire_lock. */
static bool retire_step(struct drvproxy_generation *t)
{
	if (t->retire_stage == RETIRE_GP1) {
		if (!poll_state_synchronize_rcu(t->retire_gp))
			return false;
		t->retire_stage = RETIRE_DRAIN;
	}
	if (t->retire_stage == RETIRE_DRAIN) {
		if (!drvproxy_table_drained(t))
			return false;
		t->retire_stage = RETIRE_GP2;
		t->retire_gp = start_poll_synchronize_rcu();
	}
	return poll_state_synchronize_rcu(t->retire_gp);
}

/* A drained table leaves the extension's lists; its calls stay counted. */
static void retire_unlink(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	unsigned int i;

	lockdep_assert_held(&ext->retire_lock);
	for (i = 0; i < t->table.nr && i < ext->nr_eps; i++)
		ext->eps[i]->calls_retired += drvproxy_table_calls(t, i);
	list_del_init(&t->all_node);
}

static void retire_free(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	trace_drvproxy_drain_done(ext->drv ? ext->drv->name : "", t->generation);
	drvproxy_table_free(t);
}

/* Unpin the modules of reverted layers whose code no table references. */
static void retire_unpin_layers(struct drvproxy_extension *ext)
{
	struct drvproxy_layer *l, *n;

	list_for_each_entry_safe(l, n, &ext->draining_layers, node) {
		if (drvproxy_layer_draining(ext, l))
			continue;
		list_del_init(&l->node);
		pr_debug("%s: layer of %s drained\n", ext->drv ? ext->drv->name : "",
			 drvproxy_module_name(l->owner));
		/*
		 * Unpinned, the module may go, and with it the layer's memory,
		 * but only once its GOING notifier has found nothing of it:
		 * the layer stays bound until we are done with it, so the
		 * notifier finds it and waits for ext->lock, which we hold.
		 */
		module_put(l->owner);
		drvproxy_test_point(DRVPROXY_TP_LAYER_UNPINNED);
		/* Gone from this extension for good: its exit finds nothing to do. */
		drvproxy_layer_forget_ext(l);
	}
}

void drvproxy_retire_work(struct work_struct *work)
{
	struct drvproxy_extension *ext =
		container_of(to_delayed_work(work), struct drvproxy_extension, retire_work);
	struct drvproxy_generation *t, *n;
	LIST_HEAD(done);
	bool more;

	if (!mutex_trylock(&ext->lock)) {
		retire_kick(ext, 1);
		return;
	}
	spin_lock_bh(&ext->retire_lock);
	list_for_each_entry_safe(t, n, &ext->retiring, retire_node) {
		if (retire_step(t)) {
			retire_unlink(ext, t);
			list_move_tail(&t->retire_node, &done);
		}
	}
	more = !list_empty(&ext->retiring);
	if (more)
		ext->retire_backoff = min(ext->retire_backoff * 2, HZ / 10 + 1);
	spin_unlock_bh(&ext->retire_lock);

	list_for_each_entry_safe(t, n, &done, retire_node)
		retire_free(ext, t);
	retire_unpin_layers(ext);
	mutex_unlock(&ext->lock);

	wake_up_all(&ext->retire_wq);
	if (more)
		retire_kick(ext, ext->retire_backoff);
}

/* True while a table that is still draining references @l's code. */
bool drvproxy_layer_draining(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	struct drvproxy_generation *t;
	bool busy = false;

	spin_lock_bh(&ext->retire_lock);
	list_for_each_entry(t, &ext->retiring, retire_node)
		if (drvproxy_table_uses_layer(t, l)) {
			busy = true;
			break;
		}
	spin_unlock_bh(&ext->retire_lock);
	return busy;
}

static bool retire_idle(struct drvproxy_extension *ext)
{
	bool idle;

	spin_lock_bh(&ext->retire_lock);
	idle = list_empty(&ext->retiring);
	spin_unlock_bh(&ext->retire_lock);
	return idle;
}

/*
 * Wait until every retiring table is freed.  Caller does not hold ext->lock.
 * A call blocked forever in old code (outside a swap-aware wait) blocks this
 * forever: freeing its code would crash it, so say so every 10 s.
 */
void drvproxy_retire_flush(struct drvproxy_extension *ext)
{
	retire_kick(ext, 0);
	while (!wait_event_timeout(ext->retire_wq, retire_idle(ext), 10 * HZ))
		pr_warn("%s: still waiting for calls in superseded implementations to return\n",
			ext->drv ? ext->drv->name : "(no driver)");
	flush_delayed_work(&ext->retire_work);
}

/* ---- stall and drain ---- */

/*
 * Has every call that a stalled transition must wait for left the
 * extension's code?  Every published table still allocated must be empty
 * -- not only the one being superseded: a call may still run in a table an
 * earlier live swap, or a stalled swap that timed out, left behind -- and
 * so must the stall table @stall, but for its atomic endpoints, whose calls
 * keep arriving (they never wait) and run an implementation the transition
 * does not change.  Caller holds ext->lock, so no table is freed meanwhile.
 */
bool drvproxy_stall_drained(struct drvproxy_extension *ext, struct drvproxy_generation *stall)
{
	unsigned long in, out;
	struct drvproxy_generation *t;
	unsigned int i;

	lockdep_assert_held(&ext->lock);
	list_for_each_entry(t, &ext->tables, all_node) {
		for (i = 0; i < t->table.nr; i++) {
			if (t == stall && i < ext->nr_eps &&
			    (ext->eps[i]->desc->flags & DRVPROXY_EP_ATOMIC))
				continue;
			drvproxy_table_sum(t, i, &in, &out);
			if (in != out)
				return false;
		}
	}
	return true;
}

/*
 * Wait until no call that the STALLED guarantee covers is inside the
 * extension's code (drvproxy_stall_drained()).  Polls: the call path never
 * wakes anybody.  Gives up after @timeout_ms, and on a signal unless a
 * migrated layer's module is going (ext->drain_uninterruptible).
 */
static int stall_drain(struct drvproxy_extension *ext, struct drvproxy_generation *stall,
		       unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	unsigned int sleep_us = 20;

#ifdef DRVPROXY_BROKEN_SKIP_STALL_DRAIN
	/* A build broken on purpose, for the torture to prove it fails. */
	return 0;
#endif
	/*
	 * Every call that loaded an earlier table is counted in it after
	 * this.  New calls wait meanwhile, so do not make them wait a whole
	 * normal grace period.
	 */
	synchronize_rcu_expedited();
	while (!drvproxy_stall_drained(ext, stall)) {
		if (time_after(jiffies, deadline)) {
			pr_warn("%s: in-flight calls did not drain within %u ms; nothing changed\n",
				ext_name(ext), timeout_ms);
			return -ETIMEDOUT;
		}
		if (!ext->drain_uninterruptible && signal_pending(current)) {
			pr_warn("%s: interrupted while draining; nothing changed\n",
				ext_name(ext));
			return -EINTR;
		}
		usleep_range(sleep_us, sleep_us * 2);
		sleep_us = min(sleep_us * 2, 2000U);
	}
	/*
	 * A call counts its exit with a plain per-CPU increment
	 * (drvproxy_call_leave_counted()), which orders nothing on a weakly
	 * ordered CPU: its last accesses to the driver's state may still be in
	 * flight when we see the count.  The expedited grace period makes
	 * every CPU execute a full barrier, pairing with that increment, so
	 * whatever the drained calls did is visible to the STALLED callback
	 * and a migration.
	 */
	synchronize_rcu_expedited();
	return 0;
}

/*
 * A stalled transition holds back the callers that may sleep; atomic
 * endpoints keep running (they cannot wait), so it must not change their
 * implementation, or they would run superseded code while STALLED runs.
 */
static int stall_check_atomic(struct drvproxy_extension *ext, struct drvproxy_generation *old,
			      struct drvproxy_generation *next)
{
	unsigned int i;

	for (i = 0; i < next->table.nr && i < old->table.nr && i < ext->nr_eps; i++) {
		if (!(ext->eps[i]->desc->flags & DRVPROXY_EP_ATOMIC) ||
		    next->table.slot[i].fn == old->table.slot[i].fn)
			continue;
		pr_err("%s: endpoint %s may be called in atomic context and cannot be stalled; change it with a live transition\n",
		       ext_name(ext), ext->eps[i]->desc->name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Wait, without a timeout, until no call is inside @t, which is no longer
 * active; calls in swap-aware waits were woken by the publish and leave.
 */
static void drain_sync(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	unsigned long warn = jiffies + 10 * HZ;

	synchronize_rcu();
	while (!drvproxy_table_drained(t)) {
		if (time_after(jiffies, warn)) {
			pr_warn("%s: waiting for calls to leave a rolled-back table\n",
				ext_name(ext));
			warn = jiffies + 10 * HZ;
		}
		usleep_range(500, 1000);
	}
	/* As after any drain: their accesses are complete on every CPU. */
	synchronize_rcu();
}

/* ---- the transition ---- */

static int run_callback(struct drvproxy_extension *ext, drvproxy_callback_t cb,
			void *ctx, enum drvproxy_phase phase)
{
	int ret;

	if (!cb)
		return 0;
	ret = cb(phase, ctx);
	trace_drvproxy_swap_phase(ext_name(ext), phase, ret);
	if (ret)
		pr_warn("%s: callback failed in phase %s: %d; rolling back\n", ext_name(ext),
			phase == DRVPROXY_PHASE_PRE ? "PRE" :
			phase == DRVPROXY_PHASE_STALLED ? "STALLED" : "POST", ret);
	return ret;
}

/*
 * Replace the active table by @next (consumed: published, or freed on
 * failure).  Caller holds ext->lock.  Return: 0, or an errno with the
 * previous table still active.
 */
int drvproxy_transition(struct drvproxy_extension *ext, struct drvproxy_generation *next,
			enum drvproxy_mode mode, drvproxy_callback_t cb, void *ctx,
			unsigned int timeout_ms)
{
	struct drvproxy_generation *old = drvproxy_active(ext);
	struct drvproxy_generation *stall = NULL, *rollback = NULL;
	int ret = -ENOMEM;

	lockdep_assert_held(&ext->lock);
	if (mode == DRVPROXY_MODE_STALLED) {
		ret = stall_check_atomic(ext, old, next);
		if (ret)
			goto err_free;
	}
	ret = -ENOMEM;
	rollback = drvproxy_table_copy(old, false);
	if (!rollback)
		goto err_free;
	if (mode == DRVPROXY_MODE_STALLED) {
		stall = drvproxy_table_copy(old, true);
		if (!stall)
			goto err_free;
	}

	ext->transition = DRVPROXY_TR_PRE;
	ret = run_callback(ext, cb, ctx, DRVPROXY_PHASE_PRE);
	if (ret)
		goto err_free;

	if (stall) {
		ext->transition = DRVPROXY_TR_STALLING;
		drvproxy_publish(ext, stall);
		ret = stall_drain(ext, stall, timeout_ms ?: drvproxy_drain_timeout_ms);
		if (!ret) {
			ext->transition = DRVPROXY_TR_STALLED;
			ret = run_callback(ext, cb, ctx, DRVPROXY_PHASE_STALLED);
		}
		if (ret) {
			/*
			 * Back to @old's implementations in a copy: a table
			 * once superseded is never active again.  A call that
			 * left @old's swap-aware wait because of the stall
			 * finds @old stale and is re-dispatched; republishing
			 * @old would hand it DRVPROXY_ERESTART instead.  The
			 * state is @old's, and so is the generation.
			 */
			rollback->generation = old->generation;
			drvproxy_publish(ext, rollback);
			drvproxy_retire(ext, stall);
			drvproxy_retire(ext, old);
			stall = NULL;
			rollback = NULL;
			goto err_free;
		}
	}

	set_generation(ext, next);
	drvproxy_publish(ext, next);
	if (stall)
		drvproxy_retire(ext, stall);
	drvproxy_retire(ext, old);

	ext->transition = DRVPROXY_TR_POST;
	ret = run_callback(ext, cb, ctx, DRVPROXY_PHASE_POST);
	if (ret) {
		/* Everything was preallocated: going back cannot fail. */
		set_generation(ext, rollback);
		drvproxy_publish(ext, rollback);
		/*
		 * Calls ran in @next's code; a failed apply's module goes away
		 * as soon as we return, so they must have left it by then.
		 */
		drain_sync(ext, next);
		drvproxy_retire(ext, next);
		ext->transition = DRVPROXY_TR_IDLE;
		return ret;
	}
	drvproxy_table_free(rollback);
	ext->transition = DRVPROXY_TR_IDLE;
	return 0;

err_free:
	ext->transition = DRVPROXY_TR_IDLE;
	drvproxy_table_free(stall);
	drvproxy_table_free(rollback);
	drvproxy_table_free(next);
	return ret;
}

/* ---- the caller's side ---- */

/**
 * drvproxy_call_stalled() - a call entered a stall table
 * @desc: the endpoint called
 * @table: the stall table the call is counted in
 *
 * Used by the wrappers' slow paths (__dpx_slow_<name>(), through
 * drvproxy_call_enter() after a re-dispatch); not for drivers.
 *
 * Context: any context; sleeps only for endpoints that may
 * (drvproxy_may_wait()).
 * Return: the implementation to call and the table the call is counted in;
 * both NULL when the caller was killed while it waited.
 */
struct drvproxy_entry drvproxy_call_stalled(struct drvproxy_endpoint_desc *desc,
					    struct drvproxy_table *table)
{
	struct drvproxy_generation *t = drvproxy_gen(table);
	struct drvproxy_extension *ext = t->ext;
	unsigned int i = desc->index;
	struct drvproxy_entry e;
	unsigned long seq;

	for (;;) {
		if (!drvproxy_may_wait(ext, desc)) {
			e.fn = t->held[i];
			e.table = &t->table;
			return e;
		}
		/*
		 * Leave the stall table, wait for the next publish, enter the
		 * table it published.  The wait watches the publish count, not
		 * the table's address, which a later table may reuse.
		 */
		seq = READ_ONCE(ext->publish_seq);
		/*
		 * Pairs with the smp_wmb() in drvproxy_publish(): if the
		 * table that follows the stall was published before @seq was
		 * read, the test below sees it and the call does not wait for
		 * a publish that already happened (it could be the last).
		 */
		smp_rmb();
		/*
		 * Once its exit is counted the call is in no table, so nothing
		 * keeps the extension: drvproxy_unbind() may drain without it
		 * and the extension be released.  Keep its memory until the
		 * call is counted again (or runs unbound).
		 */
		drvproxy_ext_get(ext);
		/*
		 * Mark the entry as not a new call before counting the exit:
		 * once the exit is counted the table may be retired and freed.
		 * @t's address is only compared below, never dereferenced.
		 * The barrier orders this call's enter before @again and its
		 * exit: pairs with the smp_rmb() in drvproxy_table_calls()
		 * and in drvproxy_table_sum(), whose stalled drain must never
		 * see this exit without its enter.
		 */
		smp_mb__before_atomic();
		atomic_long_inc(&t->again[i]);
		this_cpu_inc(t->table.slot[i].count->exit);
		drvproxy_test_point(DRVPROXY_TP_STALL_LEFT);
		if (rcu_access_pointer(ext->domain.active) == &t->table &&
		    !drvproxy_stall_wait(ext, desc, seq)) {
			drvproxy_ext_put(ext);
			e.fn = NULL;
			e.table = NULL;
			return e;
		}
		preempt_disable();
		/*
		 * Enter again only while the endpoint is bound: G1, as in
		 * drvproxy_call_try_enter().  drvproxy_unbind() clears desc->ext,
		 * then synchronize_rcu() waits for this preempt-disabled
		 * region, so either the entry below is counted before its
		 * drain, or this load no longer sees @ext (NULL, or another
		 * extension that bound the endpoint since) and the call runs
		 * the original implementation, touching no table: the unbound
		 * extension's tables may be freed already.  Pairs with the
		 * release store in drvproxy_bind_endpoint().
		 */
		if (smp_load_acquire(&desc->ext) != ext) {
			preempt_enable();
			drvproxy_ext_put(ext);
			e.fn = desc->impl;
			e.table = NULL;
			return e;
		}
		/* Acquire, as in drvproxy_call_try_enter(): see the STALLED writes. */
		table = (struct drvproxy_table __force *)smp_load_acquire(&ext->domain.active);
		this_cpu_inc(table->slot[i].count->enter);
		e.fn = table->slot[i].fn;
		preempt_enable();
		/* Counted again: the extension stays until this call leaves. */
		drvproxy_ext_put(ext);
		if (e.fn) {
			e.table = table;
			return e;
		}
		t = drvproxy_gen(table);
	}
}
EXPORT_SYMBOL_GPL(drvproxy_call_stalled);

/**
 * __drvproxy_call_stale() - has the table of a call been superseded (use
 *	drvproxy_call_stale(), which accepts a ``__dpx_call`` of any kind)
 * @call: the table the call entered, or NULL
 *
 * Context: any context, while the call has not counted its exit.
 * Return: true when a swap or revert published another table since the call
 * entered, so the implementation running it may be old code.  Not after
 * drvproxy_unbind(), which publishes none (the active table is then NULL).
 */
bool __drvproxy_call_stale(struct drvproxy_table *call)
{
	struct drvproxy_table *active;

	if (!call)
		return false;
	active = rcu_access_pointer(drvproxy_gen(call)->ext->domain.active);
	return active && active != call;
}
EXPORT_SYMBOL_GPL(__drvproxy_call_stale);

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
	/* Enter before @again: pairs with smp_rmb() in drvproxy_table_calls(). */
	smp_mb__before_atomic();
	atomic_long_inc(&drvproxy_gen(t)->again[desc->index]);
	return true;
}
EXPORT_SYMBOL_GPL(drvproxy_call_redispatch);
