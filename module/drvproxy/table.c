// SPDX-License-Identifier: GPL-2.0
/*
 * table.c - implementation tables: build, publish, drain and retire
 *
 * An extension's calls always go through exactly one table, published with
 * one pointer store (rcu_assign_pointer()), so a change of many endpoints is
 * all-or-nothing.  Each table counts the calls that entered it per CPU and
 * per endpoint (enter and exit counters, see drvproxy_call_enter()).
 *
 * A superseded table is freed in three steps by a per-extension delayed work
 * item, never by the call path:
 *   1. a grace period: every call that loaded the table did so inside a
 *      preempt-disabled region, so afterwards no call can newly enter it and
 *      its enter counters are final;
 *   2. zero calls in flight: the sum of the exit counters, which only grow,
 *      reaches the sum of the enter counters;
 *   3. a second grace period: synchronize_rcu() implies a full memory
 *      barrier on every CPU, so every access a call made before counting its
 *      exit is complete before the table and the modules it pins go away.
 * The grace periods are polled (start_poll_synchronize_rcu()), so a busy
 * endpoint never blocks the worker.
 *
 * Locking: tables are built and published under ext->lock; the retiring
 * list is under ext->retire_lock; the worker takes ext->lock only with
 * mutex_trylock() and retries, so a long stalled transition never waits for
 * it.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>

#include "internal.h"
#include "trace.h"

enum { RETIRE_GP1, RETIRE_DRAIN, RETIRE_GP2 };

/* A table has at least one slot, so that a table of no endpoints is valid. */
static unsigned int table_slots(unsigned int nr)
{
	return max(nr, 1U);
}

static unsigned int table_chunks(unsigned int nr)
{
	return DIV_ROUND_UP(table_slots(nr), DRVPROXY_COUNT_CHUNK);
}

/* Per-CPU counters for the slots, allocated in chunks of DRVPROXY_COUNT_CHUNK. */
static int table_alloc_counts(struct drvproxy_table *t)
{
	unsigned int slots = table_slots(t->nr), chunks = table_chunks(t->nr), c, i;

	if (drvproxy_fail_alloc())
		return -ENOMEM;
	t->chunks = kcalloc(chunks, sizeof(*t->chunks), GFP_KERNEL);
	if (!t->chunks)
		return -ENOMEM;
	for (c = 0; c < chunks; c++) {
		unsigned int n = min(slots - c * DRVPROXY_COUNT_CHUNK, DRVPROXY_COUNT_CHUNK);

		if (drvproxy_fail_alloc())
			return -ENOMEM;
		t->chunks[c] = __alloc_percpu(n * sizeof(struct drvproxy_count),
					      __alignof__(struct drvproxy_count));
		if (!t->chunks[c])
			return -ENOMEM;
		for (i = 0; i < n; i++)
			t->slot[c * DRVPROXY_COUNT_CHUNK + i].count = t->chunks[c] + i;
	}
	return 0;
}

struct drvproxy_table *drvproxy_table_alloc(struct drvproxy_extension *ext,
					    unsigned int nr)
{
	struct drvproxy_table *t;
	unsigned int slots = table_slots(nr);

	if (drvproxy_fail_alloc())
		return NULL;
	t = kzalloc(struct_size(t, slot, slots), GFP_KERNEL);
	if (!t)
		return NULL;
	t->nr = nr;
	if (drvproxy_fail_alloc())
		goto err;
	t->src = kcalloc(slots, sizeof(*t->src), GFP_KERNEL);
	if (!t->src)
		goto err;
	if (drvproxy_fail_alloc())
		goto err;
	t->again = kcalloc(slots, sizeof(*t->again), GFP_KERNEL);
	if (!t->again)
		goto err;
	if (drvproxy_fail_alloc())
		goto err;
	t->atomic = bitmap_zalloc(slots, GFP_KERNEL);
	if (!t->atomic || table_alloc_counts(t))
		goto err;
	t->ext = ext;
	INIT_LIST_HEAD(&t->all_node);
	INIT_LIST_HEAD(&t->retire_node);
	return t;

err:
	drvproxy_table_free(t);
	return NULL;
}

void drvproxy_table_free(struct drvproxy_table *t)
{
	unsigned int c;

	if (!t)
		return;
	if (t->chunks) {
		for (c = 0; c < table_chunks(t->nr); c++)
			free_percpu(t->chunks[c]);
		kfree(t->chunks);
	}
	kfree(t->again);
	bitmap_free(t->atomic);
	kfree(t->held);
	kfree(t->src);
	kfree(t);
}

static void table_overlay(struct drvproxy_table *t, struct drvproxy_layer *l)
{
	unsigned int k;

	for (k = 0; k < l->nr; k++) {
		t->slot[l->slots[k]].fn = l->fns[k];
		t->src[l->slots[k]] = l;
	}
}

/*
 * The table an extension should run: the base implementations, then every
 * applied layer bottom to top except @drop, then @add on top (alone above
 * the base when it replaces the others).  Caller holds ext->lock.
 */
struct drvproxy_table *drvproxy_table_build(struct drvproxy_extension *ext,
					    struct drvproxy_layer *add,
					    struct drvproxy_layer *drop)
{
	struct drvproxy_table *t = drvproxy_table_alloc(ext, ext->nr_eps);
	struct drvproxy_layer *l;
	unsigned int i;

	if (!t)
		return NULL;
	for (i = 0; i < ext->nr_eps; i++)
		t->slot[i].fn = ext->eps[i]->base;
	if (!add || !add->replace) {
		list_for_each_entry(l, &ext->layers, node)
			if (l != drop)
				table_overlay(t, l);
	}
	if (add)
		table_overlay(t, add);
	return t;
}

/*
 * A copy of @t: to restore it after a failed POST callback, or, with @stall,
 * the stall table that makes new calls wait (all fn NULL) and holds @t's
 * implementations for the calls that do not wait.  It holds a copy, not a
 * pointer to @t: @t may be freed while such a call still runs.
 */
struct drvproxy_table *drvproxy_table_copy(struct drvproxy_table *t, bool stall)
{
	struct drvproxy_table *c = drvproxy_table_alloc(t->ext, t->nr);
	unsigned int i;

	if (!c)
		return NULL;
	memcpy(c->src, t->src, t->nr * sizeof(*t->src));
	if (!stall) {
		for (i = 0; i < t->nr; i++)
			c->slot[i].fn = t->slot[i].fn;
		return c;
	}
	c->held = drvproxy_fail_alloc() ? NULL :
		  kcalloc(table_slots(t->nr), sizeof(*c->held), GFP_KERNEL);
	if (!c->held) {
		drvproxy_table_free(c);
		return NULL;
	}
	for (i = 0; i < t->nr; i++)
		c->held[i] = t->slot[i].fn;
	c->stall = true;
	c->generation = t->generation;
	return c;
}

/*
 * Sum one slot's counters over all CPUs, exits first.  A call counts its
 * exit after its enter, and every exit counter read here precedes every
 * enter counter read, so each exit seen has its enter seen too: enter - exit
 * never goes negative, even on the active table.  On a retiring table the
 * enter sum is final (step 1), and exits only grow, so equal sums mean no
 * call is left inside.
 */
void drvproxy_table_sum(struct drvproxy_table *t, unsigned int i,
			unsigned long *enter, unsigned long *exit)
{
	struct drvproxy_count __percpu *c = t->slot[i].count;
	unsigned long in = 0, out = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		out += READ_ONCE(per_cpu_ptr(c, cpu)->exit);
	/* Order the exit reads before the enter reads; see above. */
	smp_rmb();
	for_each_possible_cpu(cpu)
		in += READ_ONCE(per_cpu_ptr(c, cpu)->enter);
	*enter = in;
	*exit = out;
}

/* Calls that entered slot @i of @t: entries that were not re-entries. */
u64 drvproxy_table_calls(struct drvproxy_table *t, unsigned int i)
{
	struct drvproxy_count __percpu *c = t->slot[i].count;
	unsigned long in = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		in += READ_ONCE(per_cpu_ptr(c, cpu)->enter);
	return in - atomic_long_read(&t->again[i]);
}

bool drvproxy_table_drained(struct drvproxy_table *t)
{
	unsigned long in, out;
	unsigned int i;

	for (i = 0; i < t->nr; i++) {
		drvproxy_table_sum(t, i, &in, &out);
		if (in != out)
			return false;
	}
	return true;
}

/*
 * Has every call that a stalled transition must wait for left the
 * extension's code?  Every published table still allocated must be empty
 * -- not only the one being superseded: a call may still run in a table an
 * earlier live swap, or a stalled swap that timed out, left behind -- and
 * so must the stall table @stall, but for its atomic endpoints, whose calls
 * keep arriving (they never wait) and run an implementation the transition
 * does not change.  Caller holds ext->lock, so no table is freed meanwhile.
 */
bool drvproxy_stall_drained(struct drvproxy_extension *ext, struct drvproxy_table *stall)
{
	unsigned long in, out;
	struct drvproxy_table *t;
	unsigned int i;

	lockdep_assert_held(&ext->lock);
	list_for_each_entry(t, &ext->tables, all_node) {
		for (i = 0; i < t->nr; i++) {
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

bool drvproxy_table_uses_layer(struct drvproxy_table *t, struct drvproxy_layer *l)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->src[i] == l)
			return true;
	return false;
}

struct drvproxy_table *drvproxy_active(struct drvproxy_extension *ext)
{
	return rcu_dereference_protected(ext->domain.active,
					 lockdep_is_held(&ext->lock) || ext->dying);
}

/*
 * Note which slots of @t belong to atomic endpoints, for the stall slow
 * path, which cannot read ext->eps (V1 registration replaces that array
 * under ext->lock).  Before @t is listed; caller holds ext->lock.
 */
void drvproxy_table_mark_atomic(struct drvproxy_extension *ext, struct drvproxy_table *t)
{
	unsigned int i;

	for (i = 0; i < t->nr && i < ext->nr_eps; i++)
		assign_bit(i, t->atomic, ext->eps[i]->desc->flags & DRVPROXY_EP_ATOMIC);
}

/*
 * Make @t the table every new call enters.  Caller holds ext->lock.  Wakes
 * the calls in swap-aware waits (they re-dispatch when their table is no
 * longer active) and the callers waiting out a stall.
 */
void drvproxy_publish(struct drvproxy_extension *ext, struct drvproxy_table *t)
{
	drvproxy_table_mark_atomic(ext, t);
	spin_lock_bh(&ext->retire_lock);
	if (list_empty(&t->all_node))
		list_add_tail(&t->all_node, &ext->tables);
	spin_unlock_bh(&ext->retire_lock);
	rcu_assign_pointer(ext->domain.active, t);
	/* Order the table before the count; pairs with drvproxy_call_stalled(). */
	smp_wmb();
	WRITE_ONCE(ext->publish_seq, ext->publish_seq + 1);
	trace_drvproxy_publish(ext->drv ? ext->drv->name : "", t->generation, t->stall);
	wake_up_all(&ext->swap_wq);
	wake_up_all(&ext->stall_wq);
}

static void retire_kick(struct drvproxy_extension *ext, unsigned long delay)
{
	mod_delayed_work(system_unbound_wq, &ext->retire_work, delay);
}

/* Hand a table that is no longer active to the retire worker. */
void drvproxy_retire(struct drvproxy_extension *ext, struct drvproxy_table *t)
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
static bool retire_step(struct drvproxy_table *t)
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
static void retire_unlink(struct drvproxy_extension *ext, struct drvproxy_table *t)
{
	unsigned int i;

	lockdep_assert_held(&ext->retire_lock);
	for (i = 0; i < t->nr && i < ext->nr_eps; i++)
		ext->eps[i]->calls_retired += drvproxy_table_calls(t, i);
	list_del_init(&t->all_node);
}

static void retire_free(struct drvproxy_extension *ext, struct drvproxy_table *t)
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
		/* Gone from this extension for good: its exit finds nothing to do. */
		WRITE_ONCE(l->ext, NULL);
		module_put(l->owner);
	}
}

void drvproxy_retire_work(struct work_struct *work)
{
	struct drvproxy_extension *ext =
		container_of(to_delayed_work(work), struct drvproxy_extension, retire_work);
	struct drvproxy_table *t, *n;
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
	struct drvproxy_table *t;
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

/* Calls inside endpoint @i now, in any table.  Not from hard IRQ. */
u64 drvproxy_in_flight(struct drvproxy_extension *ext, unsigned int i)
{
	struct drvproxy_table *t;
	unsigned long in, out;
	u64 sum = 0;

	spin_lock_bh(&ext->retire_lock);
	list_for_each_entry(t, &ext->tables, all_node) {
		if (i >= t->nr)
			continue;
		drvproxy_table_sum(t, i, &in, &out);
		sum += in - out;
	}
	spin_unlock_bh(&ext->retire_lock);
	return sum;
}

/* Calls made to endpoint @i since it was registered.  Not from hard IRQ. */
u64 drvproxy_calls(struct drvproxy_extension *ext, struct drvproxy_endpoint *ep)
{
	struct drvproxy_table *t;
	u64 sum;

	spin_lock_bh(&ext->retire_lock);
	sum = ep->calls_retired;
	list_for_each_entry(t, &ext->tables, all_node)
		if (ep->index < t->nr)
			sum += drvproxy_table_calls(t, ep->index);
	spin_unlock_bh(&ext->retire_lock);
	return sum;
}
