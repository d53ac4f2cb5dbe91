// SPDX-License-Identifier: GPL-2.0
/*
 * layer.c - companion layers: apply, revert, atomic replace, state-layout
 * migration, and the history of every operation
 *
 * A layer is a set of replacements from one module.  Layers stack per
 * extension, bottom first; applying one builds a table with it on top,
 * reverting one builds a table from the others, so a layer in the middle
 * can go at any time.  Either way the new table goes live through
 * drvproxy_transition() (transition.c), live or stalled as the layer says,
 * and everything that can fail is prepared before it, so a failure changes
 * nothing.  ext->lock is held throughout; callbacks that re-enter the
 * extension get -EDEADLK.
 *
 * A layer pins the host module while applied; its own module is pinned
 * while superseded code of it drains (transition.c), except when the
 * module is going, whose exit or GOING notifier then waits for the drain
 * itself (see Lifetime).
 *
 * Lifetime: layer->ext holds a reference to the extension from the apply
 * until the layer's code has drained, so that a revert finds the
 * extension even after its host released it (the host may unregister
 * outside its module exit, while a companion goes).  Taking that
 * reference (layer_get_ext()) and dropping it (drvproxy_layer_forget_ext())
 * are under drvproxy_layer_ext_lock, which also keeps every layer with an
 * extension on drvproxy_bound_layers: a going module finds its layers
 * there, not through the list of extensions, which a release leaves
 * first.  A layer that left its stack while its module was going could
 * not pin it (->unpinned): that module's exit or drvproxy_module_going()
 * waits for its code.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "trace.h"

static DEFINE_SPINLOCK(drvproxy_layer_ext_lock);
static LIST_HEAD(drvproxy_bound_layers);

static void layer_set_ext(struct drvproxy_layer *l, struct drvproxy_extension *ext)
{
	drvproxy_ext_get(ext);
	spin_lock(&drvproxy_layer_ext_lock);
	l->ext = ext;
	list_add_tail(&l->bound_node, &drvproxy_bound_layers);
	spin_unlock(&drvproxy_layer_ext_lock);
}

/* @l's extension, with a reference; NULL once its code drained. */
static struct drvproxy_extension *layer_get_ext(struct drvproxy_layer *l)
{
	struct drvproxy_extension *ext;

	spin_lock(&drvproxy_layer_ext_lock);
	ext = l->ext;
	if (ext)
		drvproxy_ext_get(ext);
	spin_unlock(&drvproxy_layer_ext_lock);
	return ext;
}

/*
 * @l's code has drained: drop its extension.  The last reference to the
 * extension is never @l's while ext->lock is held (the retire worker):
 * the host's own lasts until the release has stopped that worker.
 */
void drvproxy_layer_forget_ext(struct drvproxy_layer *l)
{
	struct drvproxy_extension *ext;

	spin_lock(&drvproxy_layer_ext_lock);
	ext = l->ext;
	if (ext)
		list_del_init(&l->bound_node);
	l->ext = NULL;
	l->unpinned = false;
	spin_unlock(&drvproxy_layer_ext_lock);
	if (ext)
		drvproxy_ext_put(ext);
}

static const char * const transition_names[DRVPROXY_TR_MAX] = {
	[DRVPROXY_TR_IDLE] = "idle",
	[DRVPROXY_TR_PRE] = "pre",
	[DRVPROXY_TR_STALLING] = "stalling",
	[DRVPROXY_TR_STALLED] = "stalled",
	[DRVPROXY_TR_POST] = "post",
};

const char *drvproxy_transition_name(enum drvproxy_transition_state s)
{
	return s < DRVPROXY_TR_MAX ? transition_names[s] : "?";
}

const char *drvproxy_mode_name(enum drvproxy_mode m)
{
	return m == DRVPROXY_MODE_STALLED ? "stalled" : "live";
}

const char *drvproxy_op_name(enum drvproxy_op op)
{
	static const char * const names[DRVPROXY_OP_MAX] = {
		[DRVPROXY_OP_REGISTER] = "register",
		[DRVPROXY_OP_APPLY] = "apply",
		[DRVPROXY_OP_REVERT] = "revert",
	};

	return op < DRVPROXY_OP_MAX ? names[op] : "?";
}

static const char *ext_name(struct drvproxy_extension *ext)
{
	return ext->drv ? ext->drv->name : "(no driver)";
}

void drvproxy_history_add(struct drvproxy_extension *ext, enum drvproxy_op op,
			  enum drvproxy_mode mode, const char *who, int result,
			  u64 start_ns)
{
	struct drvproxy_history *h = &ext->history[ext->history_next];
	struct drvproxy_generation *active = drvproxy_active(ext);
	u64 now = ktime_get_ns();

	h->time_ns = ktime_get_real_ns();
	/* No table: an apply refused because the extension is going. */
	h->generation = active ? active->generation : 0;
	h->duration_ns = now - start_ns;
	h->op = op;
	h->mode = mode;
	h->result = result;
	strscpy(h->who, who, sizeof(h->who));
	ext->history_next = (ext->history_next + 1) % DRVPROXY_HISTORY_LEN;
	if (ext->history_count < DRVPROXY_HISTORY_LEN)
		ext->history_count++;
	trace_drvproxy_swap_end(ext_name(ext), who, op, result, h->duration_ns);
}

/* ---- layers ---- */

static const struct drvproxy_replacement *layer_repl(struct drvproxy_layer *l,
						     unsigned int k)
{
	return l->replacements ? l->replacements[k] : l->sec_start[k];
}

static unsigned int layer_count(struct drvproxy_layer *l)
{
	if (l->replacements)
		return l->nr_replacements;
	return l->sec_start && l->sec_stop ? l->sec_stop - l->sec_start : 0;
}

/*
 * Whether replacement @r goes in: not when unchanged, unreachable (nothing
 * in the driver can call the endpoint), or new to the driver.
 */
static bool repl_wanted(struct drvproxy_extension *ext, struct drvproxy_layer *l,
			const struct drvproxy_replacement *r)
{
	if (r->flags & DRVPROXY_REPL_UNCHANGED) {
		pr_debug("%s: %s: %s is unchanged, not installed\n", ext_name(ext),
			 drvproxy_module_name(l->owner), r->target);
		l->nr_unchanged++;
		return false;
	}
	if (r->flags & DRVPROXY_REPL_UNREACHABLE) {
		pr_debug("%s: %s: nothing can call %s, not installed\n", ext_name(ext),
			 drvproxy_module_name(l->owner), r->target);
		l->nr_unreachable++;
		return false;
	}
	if ((r->flags & DRVPROXY_REPL_NEW) && !drvproxy_find_endpoint(ext, r->target)) {
		pr_debug("%s: %s: %s is new in this image\n", ext_name(ext),
			 drvproxy_module_name(l->owner), r->target);
		l->nr_new++;
		return false;
	}
	return true;
}

/* Check one replacement against its endpoint; -ENOENT / -EINVAL name it. */
static struct drvproxy_endpoint *repl_target(struct drvproxy_extension *ext,
					     struct drvproxy_layer *l, unsigned int k,
					     const struct drvproxy_replacement *r)
{
	const char *mod = drvproxy_module_name(l->owner);
	struct drvproxy_endpoint *ep;
	char have[128], want[128];

	if (!r->target || !r->signature || !r->fn) {
		pr_err("%s: %s: replacement %u is malformed\n", ext_name(ext), mod, k);
		return ERR_PTR(-EINVAL);
	}
	ep = drvproxy_find_endpoint(ext, r->target);
	if (!ep) {
		pr_err("%s: %s: %s replaces unknown endpoint %s\n", ext_name(ext), mod,
		       r->name ?: "?", r->target);
		return ERR_PTR(-ENOENT);
	}
	if (!drvproxy_same_signature(ep->desc->signature, r->signature)) {
		drvproxy_format_signature(have, sizeof(have), r->signature);
		drvproxy_format_signature(want, sizeof(want), ep->desc->signature);
		pr_err("%s: %s: signature of %s is %s, endpoint %s is %s\n",
		       ext_name(ext), mod, r->name ?: "?", have, r->target, want);
		return ERR_PTR(-EINVAL);
	}
	/*
	 * A _NOWAIT endpoint's wrapper does not re-dispatch: a replacement
	 * whose swap-aware wait ended because of a swap would return
	 * DRVPROXY_ERESTART to the caller.
	 */
	if ((ep->desc->flags & DRVPROXY_EP_NOWAIT) && !(r->flags & DRVPROXY_REPL_NOWAIT)) {
		pr_err("%s: %s: %s may use a swap-aware wait, endpoint %s is declared _NOWAIT\n",
		       ext_name(ext), mod, r->name ?: "?", r->target);
		return ERR_PTR(-EINVAL);
	}
	return ep;
}

/* Resolve a layer's replacements to slots. */
static int layer_resolve(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	unsigned int n = layer_count(l), k, j;

	if (!n) {
		pr_err("%s: layer of %s has no replacements\n", ext_name(ext),
		       drvproxy_module_name(l->owner));
		return -EINVAL;
	}
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	l->slots = kcalloc(n, sizeof(*l->slots), GFP_KERNEL);
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	l->fns = kcalloc(n, sizeof(*l->fns), GFP_KERNEL);
	if (!l->slots || !l->fns)
		return -ENOMEM;
	l->nr = 0;
	l->nr_unchanged = 0;
	l->nr_unreachable = 0;
	l->nr_new = 0;
	for (k = 0; k < n; k++) {
		const struct drvproxy_replacement *r = layer_repl(l, k);
		struct drvproxy_endpoint *ep;

		if (!r) {
			pr_err("%s: %s: replacement %u is NULL\n", ext_name(ext),
			       drvproxy_module_name(l->owner), k);
			return -EINVAL;
		}
		if (!repl_wanted(ext, l, r))
			continue;
		ep = repl_target(ext, l, k, r);
		if (IS_ERR(ep))
			return PTR_ERR(ep);
		for (j = 0; j < l->nr; j++) {
			if (l->slots[j] == ep->index) {
				pr_err("%s: %s: endpoint %s replaced twice\n", ext_name(ext),
				       drvproxy_module_name(l->owner), r->target);
				return -EINVAL;
			}
		}
		l->slots[l->nr] = ep->index;
		l->fns[l->nr++] = r->fn;
	}
	return 0;
}

static void layer_unresolve(struct drvproxy_layer *l)
{
	kfree(l->slots);
	kfree(l->fns);
	l->slots = NULL;
	l->fns = NULL;
	l->nr = 0;
}

static void count_swaps(struct drvproxy_extension *ext, struct drvproxy_generation *old,
			struct drvproxy_generation *cur)
{
	unsigned int i;

	for (i = 0; i < cur->table.nr && i < old->table.nr; i++)
		if (cur->table.slot[i].fn != old->table.slot[i].fn)
			ext->eps[i]->swaps++;
}

/* Drop the pin pin_migrated_below() took. */
static void unpin_migrated_below(struct drvproxy_layer *l)
{
	if (l->pinned_below) {
		module_put(l->pinned_below);
		l->pinned_below = NULL;
	}
}

/*
 * Take a layer off the stack after a publish that no longer uses it.  Its
 * module stays pinned until its code drains, unless it is going away (then
 * the caller waits).  Caller holds ext->lock.
 */
static void layer_leave(struct drvproxy_extension *ext, struct drvproxy_layer *l,
			int state)
{
	list_del_init(&l->node);
	l->state = state;
	drvproxy_sysfs_del_layer(l);
	/* Tables are built from the layers on the stack only. */
	layer_unresolve(l);
	unpin_migrated_below(l);
	if (try_module_get(l->owner)) {
		list_add_tail(&l->node, &ext->draining_layers);
	} else {
		/* Going: its exit or drvproxy_module_going() waits for its code. */
		spin_lock(&drvproxy_layer_ext_lock);
		l->unpinned = true;
		spin_unlock(&drvproxy_layer_ext_lock);
	}
	module_put(ext->owner);
}

/* Whether @drv lets @l's module replace its code (@drv->companions). */
static bool companion_allowed(struct drvproxy_driver *drv, struct drvproxy_layer *l)
{
	const char *const *name;

	if (!drv->companions)
		return true;
	for (name = drv->companions; *name; name++)
		if (!strcmp(*name, drvproxy_module_name(l->owner)))
			return true;
	return false;
}

static int find_target(struct drvproxy_layer *l, struct drvproxy_extension **out)
{
	struct drvproxy_driver *drv;
	int ret = 0;

	mutex_lock(&drvproxy_lock);
	drv = drvproxy_find_driver_locked(l->target);
	if (!drv) {
		pr_err("%s: target driver %s is not registered\n",
		       drvproxy_module_name(l->owner), l->target);
		ret = -ENODEV;
	} else if (!drv->extension) {
		pr_err("%s: driver %s has no proxy extension\n",
		       drvproxy_module_name(l->owner), l->target);
		ret = -ENODEV;
	} else if (!companion_allowed(drv, l)) {
		pr_err("%s: driver %s does not accept companions from this module\n",
		       drvproxy_module_name(l->owner), l->target);
		ret = -EPERM;
	} else if (!try_module_get(drv->extension->owner)) {
		pr_err("%s: driver %s is going away\n", drvproxy_module_name(l->owner),
		       l->target);
		ret = -ENODEV;
	} else {
		/*
		 * The module whose code the tables hold, which layer_leave()
		 * unpins, and the extension itself: its host may release it
		 * outside its module exit while the apply waits for its lock.
		 */
		*out = drv->extension;
		drvproxy_ext_get(*out);
	}
	mutex_unlock(&drvproxy_lock);
	return ret;
}

static int layer_check(struct drvproxy_layer *l)
{
	if (!l || !l->target || !l->owner) {
		pr_err("layer_apply: layer, target or owner missing\n");
		return -EINVAL;
	}
	if (l->mode != DRVPROXY_MODE_LIVE && l->mode != DRVPROXY_MODE_STALLED) {
		pr_err("%s: invalid mode %d\n", drvproxy_module_name(l->owner), l->mode);
		return -EINVAL;
	}
	if (l->state != DRVPROXY_LAYER_NEW) {
		pr_err("%s: layer was already applied\n", drvproxy_module_name(l->owner));
		return -EBUSY;
	}
	if (!drvproxy_globally_enabled()) {
		pr_err("%s: drvproxy is disabled\n", drvproxy_module_name(l->owner));
		return -EOPNOTSUPP;
	}
	if (!drvproxy_enabled_for(l->target)) {
		pr_err("%s: driver %s is excluded\n", drvproxy_module_name(l->owner), l->target);
		return -EPERM;
	}
	return 0;
}

/*
 * At most DRVPROXY_MAX_LAYERS layers per driver, so that the whole stack
 * always fits the one page its sysfs "stack" file shows it in.
 */
static int layer_check_depth(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	struct drvproxy_layer *below;
	unsigned int n = 0;

	list_for_each_entry(below, &ext->layers, node)
		n++;
	if (l->replace || n < DRVPROXY_MAX_LAYERS)
		return 0;
	pr_err("%s: %s: the driver has %u layers applied, the most it takes; revert one or apply an atomic replace\n",
	       ext_name(ext), drvproxy_module_name(l->owner), DRVPROXY_MAX_LAYERS);
	return -ENOSPC;
}

/**
 * drvproxy_layer_check_unpinned() - may @l leave the stack without its
 *	module asking
 * @ext: its extension, locked
 * @l: an applied layer
 * @what: what would take it off ("revert", "replace"), for the message
 *
 * Not while its module holds pins (a timer, a work item its code armed):
 * the request that stops those objects, an ioctl its replacement serves,
 * would go with the layer, and the pins would then hold the module
 * forever.  The module itself may revert it (its exit cannot run while it
 * is pinned).
 *
 * Return: 0, or -EBUSY with the reason logged.
 */
int drvproxy_layer_check_unpinned(struct drvproxy_extension *ext, struct drvproxy_layer *l,
				  const char *what)
{
	const void *addr = NULL;
	unsigned int n = drvproxy_pins_held(l->owner, &addr);

	if (!n)
		return 0;
	pr_warn("%s: %s holds %u pin%s (%ps): stop %s through it first; %s refused\n",
		ext_name(ext), drvproxy_module_name(l->owner), n, n == 1 ? "" : "s", addr,
		n == 1 ? "it" : "them", what);
	return -EBUSY;
}

/* The layers an atomic replace by @l would drop must be free to go. */
static int replace_check_unpinned(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	struct drvproxy_layer *below;
	int ret;

	if (!l->replace)
		return 0;
	list_for_each_entry(below, &ext->layers, node) {
		if (below->owner == l->owner)
			continue;
		ret = drvproxy_layer_check_unpinned(ext, below, "replace");
		if (ret)
			return ret;
	}
	return 0;
}

/* Drop the layers an atomic replace superseded. */
static void drop_replaced(struct drvproxy_extension *ext, struct drvproxy_layer *keep)
{
	struct drvproxy_layer *l, *n;

	list_for_each_entry_safe(l, n, &ext->layers, node)
		if (l != keep)
			layer_leave(ext, l, DRVPROXY_LAYER_REPLACED);
}

/*
 * State migration.  A layer whose state layout differs from the driver's
 * runs stalled, and its migrate (apply) or unmigrate (revert) runs in the
 * STALLED phase, after the layer's own callback: no call is inside any
 * implementation then, and new ones wait.  An atomic replace first takes
 * the state back through every layer it drops that migrated it, top
 * down, as reverting them one by one would: the layers it replaces are
 * gone afterwards, and nothing else could.
 */
struct migration {
	struct drvproxy_layer *layer;
	struct drvproxy_driver *drv;
	drvproxy_callback_t cb;
	drvproxy_migrate_t fn;		/* NULL: no migration of its own */
	u32 from;
	u32 to;
	struct drvproxy_layer **undo;	/* layers to unmigrate, top first */
	unsigned int nr_undo;
};

static void migrate_failed(struct drvproxy_driver *drv, struct drvproxy_layer *l,
			   u32 from, u32 to, int ret)
{
	pr_err("%s: %s: state migration from layout %u to %u failed: %d\n",
	       drv->name, drvproxy_module_name(l->owner), from, to, ret);
}

/* Migrate the first @n layers of @m->undo forward again, bottom first. */
static void migrate_redo(struct migration *m, unsigned int n)
{
	struct drvproxy_layer *l;
	int ret;

	while (n--) {
		l = m->undo[n];
		ret = l->migrate(m->drv, l->prev_layout, l->state_layout, l->context);
		if (ret)
			WARN(1, "drvproxy: %s: %s: state left in layout %u after a failed replace: %d\n",
			     m->drv->name, drvproxy_module_name(l->owner), l->prev_layout, ret);
	}
}

static int migrate_phase(enum drvproxy_phase phase, void *context)
{
	struct migration *m = context;
	int ret = m->cb ? m->cb(phase, m->layer->context) : 0;
	struct drvproxy_layer *l;
	unsigned int k;

	/*
	 * By POST the state is converted: rolling back would run the old
	 * code on the new layout.  A POST error is reported, not obeyed.
	 */
	if (ret && phase == DRVPROXY_PHASE_POST) {
		pr_warn("%s: %s: POST callback failed (%d) after the state was migrated; the transition stands\n",
			m->drv->name, drvproxy_module_name(m->layer->owner), ret);
		return 0;
	}
	if (ret || phase != DRVPROXY_PHASE_STALLED)
		return ret;
	for (k = 0; k < m->nr_undo; k++) {
		l = m->undo[k];
		ret = l->unmigrate(m->drv, l->state_layout, l->prev_layout, l->context);
		if (ret) {
			migrate_failed(m->drv, l, l->state_layout, l->prev_layout, ret);
			migrate_redo(m, k);
			return ret;
		}
	}
	if (!m->fn)
		return 0;
	ret = m->fn(m->drv, m->from, m->to, m->layer->context);
	if (ret) {
		migrate_failed(m->drv, m->layer, m->from, m->to, ret);
		migrate_redo(m, m->nr_undo);
	}
	return ret;
}

/*
 * An image companion is compiled against one build of the driver (its
 * unchanged endpoints are skipped because they are that build's code):
 * refuse it on any other build.
 */
static int layer_check_build(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	if (!l->host_build || !strcmp(l->host_build, ext->build_id))
		return 0;
	if (!ext->build_id[0])
		pr_err("%s: %s was made from build %s of the driver; the running driver has no build id (not linked with --build-id)\n",
		       ext_name(ext), drvproxy_module_name(l->owner), l->host_build);
	else
		pr_err("%s: %s was made from build %s of the driver; the running build is %s\n",
		       ext_name(ext), drvproxy_module_name(l->owner), l->host_build,
		       ext->build_id);
	return -EINVAL;
}

/*
 * Is binding @b of image @l the start of its symbol in the running driver?
 * The image's code reaches the driver's data, const tables, helpers and
 * THIS_MODULE through these addresses, written in by drvproxyctl load from
 * /proc/kallsyms; a NULL one was never resolved (a plain insmod).  The
 * name is checked, not @b->pos: of two symbols of one name, the address
 * says which, and both are the driver's.
 */
/*
 * @b names a symbol of the running driver: its address must be the start
 * of a symbol of that name inside the driver's module.  @sym: a buffer of
 * KSYM_SYMBOL_LEN bytes.
 */
static int layer_check_binding(struct drvproxy_extension *ext, struct drvproxy_layer *l,
			       const struct drvproxy_binding *b, char *sym)
{
	const char *host = drvproxy_module_name(ext->owner);
	size_t len = strlen(b->name);

	if (!b->addr) {
		pr_err("%s: %s is not linked to the running %s (%s): load it with drvproxyctl load\n",
		       ext_name(ext), drvproxy_module_name(l->owner), host, b->name);
		return -EINVAL;
	}
	/* "<name>+0x0/<size> [<module>]": the start of that very symbol. */
	sprint_symbol(sym, (unsigned long)b->addr);
	if (!ext->owner || !within_module((unsigned long)b->addr, ext->owner) ||
	    strncmp(sym, b->name, len) || strncmp(sym + len, "+0x0/", 5)) {
		pr_err("%s: %s: %s is linked to %s, not to the running %s's\n",
		       ext_name(ext), drvproxy_module_name(l->owner), b->name, sym, host);
		return -EINVAL;
	}
	return 0;
}

static int layer_check_bindings(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	const struct drvproxy_binding *b = l->bindings;
	unsigned int k;
	char *sym;
	int ret = 0;

	if (l->nr_bindings && !b) {
		pr_err("%s: %s: %u bindings but no table of them\n", ext_name(ext),
		       drvproxy_module_name(l->owner), l->nr_bindings);
		return -EINVAL;
	}
	if (!b)
		return 0;
	sym = drvproxy_fail_alloc() ? NULL : kmalloc(KSYM_SYMBOL_LEN, GFP_KERNEL);
	if (!sym)
		return -ENOMEM;
	/* nr_bindings 0: a table that ends with a nameless entry. */
	for (k = 0; l->nr_bindings ? k < l->nr_bindings : !!b[k].name; k++) {
		ret = layer_check_binding(ext, l, &b[k], sym);
		if (ret)
			break;
	}
	kfree(sym);
	return ret;
}

/* Does applying @l change the driver's state layout?  -EINVAL if it can't. */
static int layer_check_layout(struct drvproxy_extension *ext, struct drvproxy_layer *l,
			      u32 have, bool *migrates)
{
	*migrates = false;
	if (!l->state_layout || l->state_layout == have)
		return 0;
	if (!ext->drv || !l->migrate || !l->unmigrate) {
		pr_err("%s: %s expects state layout %u, the driver has %u, and it does not migrate both ways\n",
		       ext_name(ext), drvproxy_module_name(l->owner), l->state_layout, have);
		return -EINVAL;
	}
	*migrates = true;
	return 0;
}

static bool layer_migrated(struct drvproxy_layer *l)
{
	return l->state_layout && l->prev_layout != l->state_layout;
}

/* How @l's revert runs: stalled if it migrated the state, else its mode. */
enum drvproxy_mode drvproxy_layer_revert_mode(struct drvproxy_layer *l)
{
	return layer_migrated(l) ? DRVPROXY_MODE_STALLED : l->mode;
}

/*
 * The layers an atomic replace by @l drops that migrated the state, top
 * first, in a new array (NULL when there are none).  Return: 0 or -ENOMEM;
 * *@base is the layout the driver had below all of them.
 */
static int replace_undo(struct drvproxy_extension *ext, struct drvproxy_layer *l,
			struct migration *m, u32 *base)
{
	struct drvproxy_layer *below;
	unsigned int n = 0;

	*base = ext->drv ? ext->drv->state_layout : 0;
	m->undo = NULL;
	m->nr_undo = 0;
	if (!l->replace)
		return 0;
	list_for_each_entry(below, &ext->layers, node)
		n += layer_migrated(below);
	if (!n)
		return 0;
	m->undo = drvproxy_fail_alloc() ? NULL : kcalloc(n, sizeof(*m->undo), GFP_KERNEL);
	if (!m->undo)
		return -ENOMEM;
	list_for_each_entry_reverse(below, &ext->layers, node) {
		if (layer_migrated(below)) {
			m->undo[m->nr_undo++] = below;
			*base = below->prev_layout;
		}
	}
	return 0;
}

/*
 * A layer applied on top of one that migrated the state is built for the
 * new layout: pin the migrated layer's module, so that it cannot be
 * removed (and the state migrated back) under the layer above.  Refused
 * while that module's init still runs: the kernel frees a module whose
 * init fails whatever its reference count, so the pin would not hold it.
 * A layer of the same module needs no pin (it would keep its own module
 * from ever being removed): that module's exit, or its failed init,
 * reverts its layers top down (drvproxy_module_going()).  An atomic
 * replace drops every layer below it, so it pins nothing.
 */
static int pin_migrated_below(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	struct drvproxy_layer *below;
	const char *name;

	if (l->replace)
		return 0;
	list_for_each_entry_reverse(below, &ext->layers, node) {
		if (!layer_migrated(below))
			continue;
		if (below->owner == l->owner)
			return 0;
		name = drvproxy_module_name(below->owner);
		if (READ_ONCE(below->owner->state) == MODULE_STATE_COMING) {
			pr_err("%s: %s migrated the state and has not finished its init; apply on top of it after that\n",
			       ext_name(ext), name);
			return -EBUSY;
		}
		if (!try_module_get(below->owner)) {
			pr_err("%s: %s migrated the state and is going away\n",
			       ext_name(ext), name);
			return -EBUSY;
		}
		l->pinned_below = below->owner;
		return 0;
	}
	return 0;
}

/**
 * drvproxy_layer_apply() - swap a companion's replacements in, live
 * @layer: the layer, usually declared with DRVPROXY_LAYER()
 *
 * Validates everything first (the target driver exists, is not excluded,
 * accepts this module and has an extension; every replacement names one of
 * its endpoints with an identical signature), then runs the transition in
 * the layer's mode.  The layer goes on top of the driver's stack (or
 * replaces it, with @layer->replace).  The host module is pinned while the
 * layer is applied.  The first apply taints the kernel with
 * TAINT_LIVEPATCH.
 *
 * Context: process context, may sleep; usually the companion's module_init.
 * Return: 0; -EINVAL (malformed layer, unknown mode, signature mismatch,
 * a replacement that may wait for an endpoint declared _NOWAIT, made from
 * another build of the driver: &drvproxy_layer.host_build);
 * -EBUSY (applied before, or it would go on top of a layer that migrated
 * the state whose module is in its init or going away); -ENODEV (no such
 * driver, driver without extension, or driver going away; -ENODEV rather
 * than -ENOENT because a module init returning -ENOENT makes insmod
 * report an unknown symbol);
 * -ENOENT (no such endpoint); -EOPNOTSUPP (disabled); -EPERM (excluded, or
 * not in the driver's &drvproxy_driver.companions); -ENOMEM; -ETIMEDOUT
 * (stalled drain timed out); -EINTR; -EDEADLK; or the callback's error.
 * On error nothing changed.
 */
int drvproxy_layer_apply(struct drvproxy_layer *layer)
{
	struct drvproxy_extension *ext = NULL;
	struct drvproxy_generation *old, *next;
	struct migration m = { .layer = layer };
	enum drvproxy_mode mode;
	bool migrates = false;
	const char *who;
	u64 start = ktime_get_ns();
	u32 base;
	int ret;

	ret = layer_check(layer);
	if (ret)
		return ret;
	mode = layer->mode;
	who = drvproxy_module_name(layer->owner);
	ret = find_target(layer, &ext);
	if (ret)
		return ret;
	ret = drvproxy_lock_ext(ext);
	if (ret)
		goto err_put;
	if (ext->dying) {
		/*
		 * Released meanwhile (the host unregistered outside its exit):
		 * its driver may be freed already, so neither trace nor
		 * history names it.
		 */
		drvproxy_unlock_ext(ext);
		pr_err("%s: %s: the driver went away\n", layer->target, who);
		ret = -ENODEV;
		goto err_put;
	}
	trace_drvproxy_swap_begin(ext_name(ext), who, DRVPROXY_OP_APPLY, layer->mode);
	ret = layer_check_depth(ext, layer);
	if (!ret)
		ret = layer_check_build(ext, layer);
	if (!ret)
		ret = layer_check_bindings(ext, layer);
	if (!ret)
		ret = replace_check_unpinned(ext, layer);
	if (!ret)
		ret = replace_undo(ext, layer, &m, &base);
	if (!ret)
		ret = layer_check_layout(ext, layer, base, &migrates);
	if (!ret)
		ret = layer_resolve(ext, layer);
	if (!ret && !layer->nr && !migrates) {
		pr_err("%s: %s has nothing to install: %u endpoints unchanged, %u unreachable, %u unknown to the driver\n",
		       ext_name(ext), who, layer->nr_unchanged, layer->nr_unreachable,
		       layer->nr_new);
		ret = -EINVAL;
	}
	if (!ret)
		ret = pin_migrated_below(ext, layer);
	if (ret)
		goto err_unlock;
	/* Its directory appears with the transition; "enabled" says when it is in. */
	layer->order = ext->applied_seq + 1;
	ret = drvproxy_sysfs_add_layer(ext, layer);
	if (ret)
		goto err_unpin;
	ret = -ENOMEM;
	next = drvproxy_table_build(ext, layer, NULL);
	if (!next)
		goto err_sysfs;
	old = drvproxy_active(ext);
	if (migrates || m.nr_undo) {
		/* A migration runs only stalled, and so do the undos. */
		mode = DRVPROXY_MODE_STALLED;
		m.drv = ext->drv;
		m.cb = layer->callback;
		m.fn = migrates ? layer->migrate : NULL;
		m.from = base;
		m.to = layer->state_layout;
		ret = drvproxy_transition(ext, next, DRVPROXY_MODE_STALLED, migrate_phase,
					  &m, layer->drain_timeout_ms);
	} else {
		ret = drvproxy_transition(ext, next, layer->mode, layer->callback,
					  layer->context, layer->drain_timeout_ms);
	}
	if (ret)
		goto err_sysfs;
	if (ext->drv)
		ext->drv->state_layout = migrates ? layer->state_layout : base;
	layer->prev_layout = migrates ? base : layer->state_layout;
	count_swaps(ext, old, drvproxy_active(ext));
	if (layer->replace)
		drop_replaced(ext, layer);
	layer_set_ext(layer, ext);
	layer->state = DRVPROXY_LAYER_APPLIED;
	ext->applied_seq = layer->order;
	layer->applied_ns = ktime_get_real_ns();
	layer->generation = drvproxy_active(ext)->generation;
	list_add_tail(&layer->node, &ext->layers);
	drvproxy_taint(ext_name(ext), who);
	drvproxy_history_add(ext, DRVPROXY_OP_APPLY, mode, who, 0, start);
	pr_info("%s: %s applied (%s, %u endpoints, generation %llu)\n", ext_name(ext),
		who, drvproxy_mode_name(mode), layer->nr, layer->generation);
	if (layer->nr_unchanged || layer->nr_unreachable || layer->nr_new)
		pr_info("%s: %s: not installed: %u endpoints unchanged, %u unreachable, %u unknown to the driver\n",
			ext_name(ext), who, layer->nr_unchanged, layer->nr_unreachable,
			layer->nr_new);
	if (m.nr_undo)
		pr_info("%s: state migrated back to layout %u through the %u replaced layers\n",
			ext_name(ext), base, m.nr_undo);
	if (migrates)
		pr_info("%s: state migrated from layout %u to %u\n", ext_name(ext),
			layer->prev_layout, layer->state_layout);
	kfree(m.undo);
	drvproxy_unlock_ext(ext);
	drvproxy_ext_put(ext);
	return 0;

err_sysfs:
	drvproxy_sysfs_del_layer(layer);
err_unpin:
	unpin_migrated_below(layer);
err_unlock:
	kfree(m.undo);
	layer->order = 0;
	layer_unresolve(layer);
	drvproxy_history_add(ext, DRVPROXY_OP_APPLY, mode, who, ret, start);
	drvproxy_unlock_ext(ext);
err_put:
	module_put(ext->owner);
	drvproxy_ext_put(ext);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_layer_apply);

/* Revert an applied layer; ext->lock held.  @from_exit: must not fail. */
int drvproxy_layer_revert_locked(struct drvproxy_extension *ext,
				 struct drvproxy_layer *layer, bool from_exit)
{
	const char *who = drvproxy_module_name(layer->owner);
	bool migrated = layer_migrated(layer);
	enum drvproxy_mode mode = drvproxy_layer_revert_mode(layer);
	struct migration m = {
		.layer = layer, .drv = ext->drv, .cb = layer->revert_callback,
		.fn = layer->unmigrate, .from = layer->state_layout,
		.to = layer->prev_layout,
	};
	struct drvproxy_generation *old, *next;
	unsigned int tries = 0;
	u64 start = ktime_get_ns();
	int ret;

	if (layer->state != DRVPROXY_LAYER_APPLIED)
		return -ENOENT;
	if (migrated && !list_is_last(&layer->node, &ext->layers)) {
		pr_warn("%s: %s migrated the state; the layers above it need its layout\n",
			ext_name(ext), who);
		return -EBUSY;
	}
	trace_drvproxy_swap_begin(ext_name(ext), who, DRVPROXY_OP_REVERT, mode);
	old = drvproxy_active(ext);
	/*
	 * Converting the state back cannot be done live, and a signal (an
	 * interrupted rmmod) is no reason to leave it converted.
	 */
	ext->drain_uninterruptible = from_exit && migrated;
	for (;;) {
		next = drvproxy_table_build(ext, NULL, layer);
		if (!next)
			ret = -ENOMEM;
		else if (migrated)
			ret = drvproxy_transition(ext, next, mode, migrate_phase, &m,
						  layer->drain_timeout_ms);
		else
			ret = drvproxy_transition(ext, next, mode, layer->revert_callback,
						  layer->context, layer->drain_timeout_ms);
		if (!ret || !from_exit)
			break;
		/*
		 * The module is going: its code must leave the table.  Retry
		 * without the callback that refused; live unless the state must
		 * be migrated back, which a few more tries may still do.  No
		 * table to try with: nothing refused, the same again.  A
		 * migrated layer's drain ignores signals
		 * (drain_uninterruptible): what failed is the callback, the
		 * migration or a call that stayed in flight.
		 */
		pr_warn("%s: revert of %s failed (%d) during module removal; retrying\n",
			ext_name(ext), who, ret);
		if (!next) {
			msleep(20);
			continue;
		}
		m.cb = NULL;
		layer->revert_callback = NULL;
		if (migrated && ++tries > 5) {
			WARN(1, "drvproxy: %s: %s: state left in layout %u\n", ext_name(ext),
			     who, layer->state_layout);
			migrated = false;
			ext->drain_uninterruptible = false;
		}
		if (!migrated)
			mode = DRVPROXY_MODE_LIVE;
	}
	ext->drain_uninterruptible = false;
	if (!ret) {
		if (migrated)
			ext->drv->state_layout = layer->prev_layout;
		count_swaps(ext, old, drvproxy_active(ext));
		layer_leave(ext, layer, DRVPROXY_LAYER_REVERTED);
		pr_info("%s: %s reverted (generation %llu)\n", ext_name(ext), who,
			drvproxy_active(ext)->generation);
		if (migrated)
			pr_info("%s: state migrated back from layout %u to %u\n",
				ext_name(ext), layer->state_layout, layer->prev_layout);
	}
	drvproxy_history_add(ext, DRVPROXY_OP_REVERT, mode, who, ret, start);
	return ret;
}

/* Wait until no draining table references @layer's code. */
static void layer_wait_drained(struct drvproxy_extension *ext, struct drvproxy_layer *l)
{
	while (!wait_event_timeout(ext->retire_wq, !drvproxy_layer_draining(ext, l),
				   10 * HZ))
		/* l->target: the host may have released @ext and freed its driver. */
		pr_warn("%s: %s: waiting for calls in its code to return\n",
			l->target, drvproxy_module_name(l->owner));
}

/*
 * From the exit: a layer that migrated the state can be reverted only from
 * the top of the stack, so the layers of the same module above it go
 * first, top down, in this same call: the exit may free what they use once
 * it returns.  A layer of another module above it pins the module, so it
 * is not there unless the module was forced out.
 */
static void revert_own_layers_above(struct drvproxy_extension *ext,
				    struct drvproxy_layer *layer)
{
	struct drvproxy_layer *l, *n;

	if (layer->state != DRVPROXY_LAYER_APPLIED || !layer_migrated(layer))
		return;
	list_for_each_entry_safe_reverse(l, n, &ext->layers, node) {
		if (l == layer || l->owner != layer->owner)
			return;
		drvproxy_layer_revert_locked(ext, l, true);
	}
}

static void going_drain_unpinned(struct module *mod);

/*
 * drvproxy_layer_revert(); @from_exit: the layer's module is going, so the
 * revert cannot fail (drvproxy_layer_revert_locked()).
 */
static int layer_revert(struct drvproxy_layer *layer, bool from_exit)
{
	struct drvproxy_extension *ext;
	bool applied;
	int ret;

	if (!layer)
		return -ENOENT;
	/*
	 * With a reference: the revert drops the layer's pin on the host
	 * module, which may then go, and a host may release its extension
	 * outside its module exit at any time.
	 */
	ext = layer_get_ext(layer);
	if (!ext)
		return from_exit ? 0 : -ENOENT;
	drvproxy_test_point(DRVPROXY_TP_LAYER_EXT_TAKEN);
	if (from_exit) {
		mutex_lock(&ext->lock);
		WRITE_ONCE(ext->lock_owner, current);
	} else {
		ret = drvproxy_lock_ext(ext);
		if (ret)
			goto out;
	}
	if (from_exit)
		revert_own_layers_above(ext, layer);
	ret = drvproxy_layer_revert_locked(ext, layer, from_exit);
	applied = layer->state == DRVPROXY_LAYER_APPLIED;
	drvproxy_unlock_ext(ext);
	if (from_exit && applied) {
		/* -EBUSY: another module's layer above it, which pins this one. */
		WARN(1, "drvproxy: %s: %s goes with its layer applied under another module's\n",
		     layer->target, drvproxy_module_name(layer->owner));
	} else if (from_exit) {
		/* Reverted (now, or by the host's release): its code may still drain. */
		layer_wait_drained(ext, layer);
		drvproxy_layer_forget_ext(layer);
		/* And the code of the layers revert_own_layers_above() took. */
		going_drain_unpinned(layer->owner);
	}
	if (from_exit)
		ret = 0;
out:
	drvproxy_ext_put(ext);
	return ret;
}

/**
 * drvproxy_layer_revert() - swap a companion's layer out
 * @layer: an applied layer (anywhere in the stack)
 *
 * Publishes a table built from the remaining layers, in the layer's mode
 * (stalled if it migrated the state).  Called from the
 * companion's module_exit it cannot fail: a refusing revert callback or a
 * stalled drain that times out is retried live, and it returns only after no
 * call is inside the companion's code any more; a layer that migrated the
 * state is reverted stalled, with a drain that ignores signals, and is
 * retried stalled: only after a few failures (a refusing unmigrate, calls
 * that stayed in flight past the drain timeout) does it warn and leave the
 * state in the new layout.  From the exit, a layer that migrated the state
 * takes the layers of the same module above it along, top down.  Called
 * otherwise, the companion's module stays pinned until no call is in its
 * code.
 *
 * Context: process context, may sleep.
 * Return: 0 (always, from the module's exit); -ENOENT when @layer is not
 * applied (never applied, reverted, or dropped by an atomic replace);
 * -EBUSY (it migrated the state and another layer is above it);
 * -EDEADLK; -EINTR; -ENOMEM; -ETIMEDOUT; or the revert callback's error.
 * On error nothing changed.
 */
int drvproxy_layer_revert(struct drvproxy_layer *layer)
{
	return layer_revert(layer, layer && layer->owner &&
				   layer->owner->state == MODULE_STATE_GOING);
}
EXPORT_SYMBOL_GPL(drvproxy_layer_revert);

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * drvproxy_test_revert_as_exit() - revert @layer as its module's exit would
 * @layer: an applied layer
 *
 * KUnit only: the revert that cannot fail, without unloading a module.
 * Context: process context, may sleep.
 * Return: 0.
 */
int drvproxy_test_revert_as_exit(struct drvproxy_layer *layer)
{
	return layer_revert(layer, true);
}
EXPORT_SYMBOL_IF_KUNIT(drvproxy_test_revert_as_exit);

/**
 * drvproxy_test_module_going() - what drvproxy does when @mod goes away
 * @mod: a module, or a stand-in with the state of one whose exit ran or
 *	whose init failed (%MODULE_STATE_GOING)
 *
 * KUnit only: drvproxy_module_going() without unloading a module.
 * Context: process context, may sleep.
 */
void drvproxy_test_module_going(struct module *mod)
{
	drvproxy_module_going(mod);
}
EXPORT_SYMBOL_IF_KUNIT(drvproxy_test_module_going);
#endif

/**
 * drvproxy_below() - the implementation below a replacement (used by
 *	DRVPROXY_CALL_BELOW())
 * @call: the table the replacement's call entered (``__dpx_call``)
 * @self: the replacement
 *
 * Context: any context, inside the replacement's call: @call cannot be
 * freed meanwhile, nor can the code it returns (the table keeps the layer
 * that code belongs to pinned).
 * Return: what the endpoint runs in @call without the layer of @self: the
 * replacement of the next layer down that covers the endpoint, or the
 * driver's own implementation.  NULL when @self is not in @call, i.e. it
 * was not called through drvproxy.
 */
drvproxy_fn_t drvproxy_below(struct drvproxy_table *call, drvproxy_fn_t self)
{
	drvproxy_fn_t fn = call ? drvproxy_table_below(drvproxy_gen(call), self) : NULL;

	if (!fn)
		pr_warn_ratelimited("%ps: called below, but it is not an implementation of the call's table\n",
				    self);
	return fn;
}
EXPORT_SYMBOL_GPL(drvproxy_below);

/*
 * The first layer of @mod that still has its extension (only one that
 * could not pin @mod with @unpinned_only), and a reference to that
 * extension in @ext; NULL when there is none.
 */
static struct drvproxy_layer *next_bound_layer(struct module *mod, bool unpinned_only,
					       struct drvproxy_extension **ext)
{
	struct drvproxy_layer *l, *found = NULL;

	spin_lock(&drvproxy_layer_ext_lock);
	list_for_each_entry(l, &drvproxy_bound_layers, bound_node) {
		if (l->owner == mod && (!unpinned_only || l->unpinned)) {
			found = l;
			*ext = l->ext;
			drvproxy_ext_get(*ext);
			break;
		}
	}
	spin_unlock(&drvproxy_layer_ext_lock);
	return found;
}

/*
 * Layers of @mod that left their stack while @mod was going (its exit's
 * revert took them, the release of their host's extension reverted them,
 * an atomic replace dropped them): wait for their code.
 */
static void going_drain_unpinned(struct module *mod)
{
	struct drvproxy_extension *ext;
	struct drvproxy_layer *l;

	while ((l = next_bound_layer(mod, true, &ext))) {
		/*
		 * The revert that took @l off its stack marked it unpinned
		 * under ext->lock and may still use it (its name, the
		 * history), and a layer no table references drains at once:
		 * wait for that revert to be done with it.
		 */
		mutex_lock(&ext->lock);
		mutex_unlock(&ext->lock);
		layer_wait_drained(ext, l);
		drvproxy_layer_forget_ext(l);
		drvproxy_ext_put(ext);
	}
}

/*
 * Before drvproxy_module_going() reverts @l, or waits for its code: a
 * layer still applied is reported; a layer reverted during the module's
 * init, which then failed, drains pinning the module, which the kernel
 * frees whatever its reference count: take it over from the retire
 * worker, which would unpin the module and unlink the layer after that.
 */
static void going_take_layer(struct module *mod, struct drvproxy_extension *ext,
			     struct drvproxy_layer *l)
{
	mutex_lock(&ext->lock);
	if (l->state == DRVPROXY_LAYER_APPLIED) {
		pr_warn("%s: module %s left its layer applied; reverting it\n",
			l->target, mod->name);
	} else if (!l->unpinned && !list_empty(&l->node)) {
		list_del_init(&l->node);
		module_put(mod);
		pr_warn("%s: module %s failed with calls in its reverted layer; waiting for them\n",
			l->target, mod->name);
	}
	mutex_unlock(&ext->lock);
}

/*
 * A module is going away (its exit already ran, or its init failed; its
 * memory is not freed yet): take every layer it still has applied off its
 * stack, and wait for the code of every layer it had.  A companion that
 * reverted in its exit has none of either.  Its layers are found on
 * drvproxy_bound_layers: a host may be releasing the extension meanwhile.
 */
void drvproxy_module_going(struct module *mod)
{
	struct drvproxy_extension *ext;
	struct drvproxy_layer *l;

	while ((l = next_bound_layer(mod, false, &ext))) {
		going_take_layer(mod, ext, l);
		layer_revert(l, true);
		drvproxy_ext_put(ext);
		/* Still bound: refused under another module's layer (WARNed). */
		if (READ_ONCE(l->ext))
			break;
	}
	drvproxy_driver_going(mod);
	drvproxy_pins_going(mod);
}
