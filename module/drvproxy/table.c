// SPDX-License-Identifier: GPL-2.0
/*
 * table.c - implementation tables as data: allocate, build from the layer
 * stack, copy, count, free
 *
 * An extension's calls always go through exactly one table, so a change of
 * many endpoints is all-or-nothing.  A table holds, per endpoint, the
 * implementation its calls run and the per-CPU enter and exit counters its
 * calls count themselves in (drvproxy_call_try_enter(), drvproxy_call_leave()),
 * allocated in chunks of DRVPROXY_COUNT_CHUNK endpoints.  Which table is
 * active, when it changes, and when a superseded one may be freed is the
 * swap protocol's, in transition.c; nothing here publishes, waits or frees
 * a table that was ever published.
 *
 * Locking: tables are built under ext->lock; the statistics readers at the
 * end walk ext->tables under ext->retire_lock.
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
static int table_alloc_counts(struct drvproxy_generation *t)
{
	unsigned int slots = table_slots(t->table.nr), chunks = table_chunks(t->table.nr), c, i;

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
			t->table.slot[c * DRVPROXY_COUNT_CHUNK + i].count = t->chunks[c] + i;
	}
	return 0;
}

struct drvproxy_generation *drvproxy_table_alloc(struct drvproxy_extension *ext,
						 unsigned int nr)
{
	struct drvproxy_generation *t;
	unsigned int slots = table_slots(nr);

	if (drvproxy_fail_alloc())
		return NULL;
	t = kzalloc(struct_size(t, table.slot, slots), GFP_KERNEL);
	if (!t)
		return NULL;
	t->table.nr = nr;
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

void drvproxy_table_free(struct drvproxy_generation *t)
{
	unsigned int c;

	if (!t)
		return;
	if (t->chunks) {
		for (c = 0; c < table_chunks(t->table.nr); c++)
			free_percpu(t->chunks[c]);
		kfree(t->chunks);
	}
	kfree(t->again);
	bitmap_free(t->atomic);
	kfree(t->held);
	kfree(t->src);
	kfree(t->below);
	kfree(t);
}

/* Put @l's replacements on top of @t, noting what each one covers. */
static void table_overlay(struct drvproxy_generation *t, struct drvproxy_layer *l)
{
	struct drvproxy_below *b;
	unsigned int k, i;

	for (k = 0; k < l->nr; k++) {
		i = l->slots[k];
		b = &t->below[t->nr_below++];
		b->fn = l->fns[k];
		b->below = t->table.slot[i].fn;
		b->layer = t->src[i];
		t->table.slot[i].fn = l->fns[k];
		t->src[i] = l;
	}
}

/* Room for what table_overlay() notes, one entry per replacement. */
static int table_alloc_below(struct drvproxy_generation *t, struct drvproxy_extension *ext,
			     struct drvproxy_layer *add, struct drvproxy_layer *drop)
{
	struct drvproxy_layer *l;
	unsigned int n = add ? add->nr : 0;

	if (!add || !add->replace) {
		list_for_each_entry(l, &ext->layers, node)
			if (l != drop)
				n += l->nr;
	}
	if (!n)
		return 0;
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	t->below = kcalloc(n, sizeof(*t->below), GFP_KERNEL);
	return t->below ? 0 : -ENOMEM;
}

/*
 * The table an extension should run: the base implementations, then every
 * applied layer bottom to top except @drop, then @add on top (alone above
 * the base when it replaces the others).  Caller holds ext->lock.
 */
struct drvproxy_generation *drvproxy_table_build(struct drvproxy_extension *ext,
						 struct drvproxy_layer *add,
						 struct drvproxy_layer *drop)
{
	struct drvproxy_generation *t = drvproxy_table_alloc(ext, ext->nr_eps);
	struct drvproxy_layer *l;
	unsigned int i;

	if (!t)
		return NULL;
	if (table_alloc_below(t, ext, add, drop)) {
		drvproxy_table_free(t);
		return NULL;
	}
	for (i = 0; i < ext->nr_eps; i++)
		t->table.slot[i].fn = ext->eps[i]->base;
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
struct drvproxy_generation *drvproxy_table_copy(struct drvproxy_generation *t, bool stall)
{
	struct drvproxy_generation *c = drvproxy_table_alloc(t->ext, t->table.nr);
	unsigned int i;

	if (!c)
		return NULL;
	memcpy(c->src, t->src, t->table.nr * sizeof(*t->src));
	if (t->nr_below) {
		c->below = drvproxy_fail_alloc() ? NULL :
			   kmemdup(t->below, t->nr_below * sizeof(*t->below), GFP_KERNEL);
		if (!c->below) {
			drvproxy_table_free(c);
			return NULL;
		}
		c->nr_below = t->nr_below;
	}
	if (!stall) {
		for (i = 0; i < t->table.nr; i++)
			c->table.slot[i].fn = t->table.slot[i].fn;
		return c;
	}
	c->held = drvproxy_fail_alloc() ? NULL :
		  kcalloc(table_slots(t->table.nr), sizeof(*c->held), GFP_KERNEL);
	if (!c->held) {
		drvproxy_table_free(c);
		return NULL;
	}
	for (i = 0; i < t->table.nr; i++)
		c->held[i] = t->table.slot[i].fn;
	c->stall = true;
	c->generation = t->generation;
	return c;
}

/*
 * Sum one slot's counters over all CPUs, exits first.  On a retiring table
 * the enter sum is final (step 1: after a grace period, whose full barriers
 * order every enter before this read), and exits only grow, so equal sums
 * mean no call is left inside.  On the active table a call's enter and exit
 * increments are not ordered against each other (per-CPU increments are
 * relaxed; on arm64 a later store may become visible first), so a reader
 * may see an exit without its enter: enter - exit may be transiently
 * negative there, and readers of the active table clamp it
 * (drvproxy_in_flight()).  A caller that leaves a stall table orders its
 * enter before its exit (smp_mb__before_atomic() in drvproxy_call_stalled(),
 * paired with the smp_rmb() below), which the stalled drain relies on.
 */
void drvproxy_table_sum(struct drvproxy_generation *t, unsigned int i,
			unsigned long *enter, unsigned long *exit)
{
	struct drvproxy_count __percpu *c = t->table.slot[i].count;
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
u64 drvproxy_table_calls(struct drvproxy_generation *t, unsigned int i)
{
	struct drvproxy_count __percpu *c = t->table.slot[i].count;
	unsigned long in = 0, again;
	int cpu;

	again = atomic_long_read(&t->again[i]);
	/*
	 * Pairs with smp_mb__before_atomic() before the increments of
	 * @again (drvproxy_call_stalled(), drvproxy_call_redispatch()): each
	 * re-entry seen here has its enter seen below, so the difference
	 * never drops below the calls counted before.
	 */
	smp_rmb();
	for_each_possible_cpu(cpu)
		in += READ_ONCE(per_cpu_ptr(c, cpu)->enter);
	return in > again ? in - again : 0;
}

bool drvproxy_table_drained(struct drvproxy_generation *t)
{
	unsigned long in, out;
	unsigned int i;

	for (i = 0; i < t->table.nr; i++) {
		drvproxy_table_sum(t, i, &in, &out);
		if (in != out)
			return false;
	}
	return true;
}

/* Can a call in @t run @l's code: in a slot, or called below another? */
bool drvproxy_table_uses_layer(struct drvproxy_generation *t, struct drvproxy_layer *l)
{
	unsigned int i;

	for (i = 0; i < t->table.nr; i++)
		if (t->src[i] == l)
			return true;
	for (i = 0; i < t->nr_below; i++)
		if (t->below[i].layer == l)
			return true;
	return false;
}

/*
 * What @self calls below it in @t: the entry of its topmost use (a
 * replacement function used by two applied layers calls below the upper).
 */
drvproxy_fn_t drvproxy_table_below(struct drvproxy_generation *t, drvproxy_fn_t self)
{
	unsigned int k;

	for (k = t->nr_below; k-- > 0; )
		if (t->below[k].fn == self)
			return t->below[k].below;
	return NULL;
}

/*
 * Note which slots of @t belong to atomic endpoints, for the stall slow
 * path, which cannot read ext->eps (V1 registration replaces that array
 * under ext->lock).  Before @t is listed; caller holds ext->lock.
 */
void drvproxy_table_mark_atomic(struct drvproxy_extension *ext, struct drvproxy_generation *t)
{
	unsigned int i;

	for (i = 0; i < t->table.nr && i < ext->nr_eps; i++)
		assign_bit(i, t->atomic, ext->eps[i]->desc->flags & DRVPROXY_EP_ATOMIC);
}

/* Calls inside endpoint @i now, in any table.  Not from hard IRQ. */
u64 drvproxy_in_flight(struct drvproxy_extension *ext, unsigned int i)
{
	struct drvproxy_generation *t;
	unsigned long in, out;
	u64 sum = 0;

	spin_lock_bh(&ext->retire_lock);
	list_for_each_entry(t, &ext->tables, all_node) {
		if (i >= t->table.nr)
			continue;
		drvproxy_table_sum(t, i, &in, &out);
		/* Transiently negative on the active table: see drvproxy_table_sum(). */
		if (in > out)
			sum += in - out;
	}
	spin_unlock_bh(&ext->retire_lock);
	return sum;
}

/* Calls made to endpoint @i since it was registered.  Not from hard IRQ. */
u64 drvproxy_calls(struct drvproxy_extension *ext, struct drvproxy_endpoint *ep)
{
	struct drvproxy_generation *t;
	u64 sum;

	spin_lock_bh(&ext->retire_lock);
	sum = ep->calls_retired;
	list_for_each_entry(t, &ext->tables, all_node)
		if (ep->index < t->table.nr)
			sum += drvproxy_table_calls(t, ep->index);
	spin_unlock_bh(&ext->retire_lock);
	return sum;
}
