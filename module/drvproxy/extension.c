// SPDX-License-Identifier: GPL-2.0
/*
 * extension.c - the proxy extension: endpoint enumeration (V2), manual
 * registration (V1) and wrapper lookup
 *
 * An extension owns its endpoints and their index (struct drvproxy_index):
 * an array indexed by id and an open-addressing hash of the wrappers, in
 * one allocation.  An index is built whole under ext->lock and replaced
 * with one RCU pointer store; lookups read it lock-free under RCU, so they
 * work in any context, hard IRQ included, in time independent of the
 * number of endpoints and drivers.
 *
 * Binding and unbinding endpoints, and every publish, are the swap
 * protocol's (transition.c): a table that covers an endpoint's slot is
 * published before the endpoint is bound.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/elf.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "internal.h"

static LIST_HEAD(drvproxy_extensions);	/* under drvproxy_lock */

static const char *ext_name(struct drvproxy_extension *ext)
{
	return ext->drv ? ext->drv->name : "(no driver)";
}

/*
 * Take an extension's transition lock.  A phased callback runs with it held,
 * and re-entering the same extension from there would deadlock (Windows
 * deadlocks; we refuse).  Interruptible, so a signal ends the wait for
 * another transition.
 */
static void ext_free(struct kref *ref)
{
	kfree(container_of(ref, struct drvproxy_extension, ref));
}

/*
 * One extension binds an endpoint, however many try at once: each claims
 * the descriptor before it builds anything for it, and the claim lasts
 * until the extension is released.  A check of desc->ext alone would let
 * two registrations both pass it and both bind (desc->index of one, ext of
 * the other: calls would count in a slot past the end of a table).
 */
static bool desc_claim(struct drvproxy_endpoint_desc *d, struct drvproxy_extension *ext)
{
	return !cmpxchg(&d->claim, NULL, ext);
}

/* Give up @ext's claim on @d; another extension's stays. */
static void desc_unclaim(struct drvproxy_endpoint_desc *d, struct drvproxy_extension *ext)
{
	cmpxchg(&d->claim, ext, NULL);
}

/* Keep @ext's memory (not the extension: it may still be released). */
void drvproxy_ext_get(struct drvproxy_extension *ext)
{
	kref_get(&ext->ref);
}

void drvproxy_ext_put(struct drvproxy_extension *ext)
{
	kref_put(&ext->ref, ext_free);
}

int drvproxy_lock_ext(struct drvproxy_extension *ext)
{
	if (READ_ONCE(ext->lock_owner) == current) {
		pr_warn("%s: a callback re-entered its own extension\n", ext_name(ext));
		return -EDEADLK;
	}
	if (mutex_lock_interruptible(&ext->lock))
		return -EINTR;
	WRITE_ONCE(ext->lock_owner, current);
	return 0;
}

void drvproxy_unlock_ext(struct drvproxy_extension *ext)
{
	WRITE_ONCE(ext->lock_owner, NULL);
	mutex_unlock(&ext->lock);
}

/*
 * A signature is the prototype as the endpoint macros stringify it:
 * "ret(type, name, type, name, ...)".  Walk it as its types only: the return
 * type, then the parameters at even positions (names are free to differ
 * between a host and its companions).  Commas inside parentheses, as in a
 * function-pointer type, do not separate parameters.
 */
struct sig_walk {
	const char *p;
	unsigned int depth;
	unsigned int elem;
	bool in_params;
	bool space;		/* white space seen since the last character */
};

/* The next character of the types-only form; 0 at the end. */
static char sig_next(struct sig_walk *w)
{
	for (;;) {
		char c = *w->p;

		if (!c)
			return 0;
		w->p++;
		if (isspace(c)) {
			w->space = true;
			continue;
		}
		if (!w->in_params) {
			w->in_params = c == '(';
			return c;
		}
		if (c == '(') {
			w->depth++;
		} else if (c == ')') {
			if (!w->depth)
				return c;
			w->depth--;
		} else if (c == ',' && !w->depth) {
			w->space = false;
			if (++w->elem % 2)
				continue;
			return c;
		}
		if (w->elem % 2 == 0)
			return c;
	}
}

/* Equal when the types are equal, ignoring names and white space. */
bool drvproxy_same_signature(const char *a, const char *b)
{
	struct sig_walk x = { .p = a }, y = { .p = b };
	char c;

	do {
		c = sig_next(&x);
		if (c != sig_next(&y))
			return false;
	} while (c);
	return true;
}

/* The types-only form for people: "ssize_t(struct file *, char *, ...)". */
int drvproxy_format_signature(char *buf, size_t size, const char *sig)
{
	struct sig_walk w = { .p = sig };
	size_t n = 0;
	char c, prev = 0;

	while ((c = sig_next(&w)) && n + 3 < size) {
		if (c == ',') {
			buf[n++] = ',';
			buf[n++] = ' ';
		} else {
			if (w.space && prev && prev != '(' && prev != ',' && c != ')')
				buf[n++] = ' ';
			buf[n++] = c;
		}
		w.space = false;
		prev = c;
	}
	buf[n] = '\0';
	return n;
}

struct drvproxy_endpoint *drvproxy_find_endpoint(struct drvproxy_extension *ext,
						 const char *name)
{
	unsigned int i;

	for (i = 0; i < ext->nr_eps; i++)
		if (!strcmp(ext->eps[i]->desc->name, name))
			return ext->eps[i];
	return NULL;
}

static bool desc_valid(const struct drvproxy_endpoint_desc *d)
{
	return d && d->name && d->signature && d->impl && d->wrapper;
}

static struct drvproxy_extension *ext_alloc(struct drvproxy_driver *drv,
					    struct module *owner)
{
	struct drvproxy_extension *ext;

	if (drvproxy_fail_alloc())
		return NULL;
	ext = kzalloc(sizeof(*ext), GFP_KERNEL);
	if (!ext)
		return NULL;
	ext->drv = drv;
	ext->owner = owner;
	kref_init(&ext->ref);
	mutex_init(&ext->lock);
	INIT_LIST_HEAD(&ext->layers);
	INIT_LIST_HEAD(&ext->tables);
	INIT_LIST_HEAD(&ext->retiring);
	INIT_LIST_HEAD(&ext->draining_layers);
	INIT_LIST_HEAD(&ext->workers);
	spin_lock_init(&ext->retire_lock);
	INIT_DELAYED_WORK(&ext->retire_work, drvproxy_retire_work);
	init_waitqueue_head(&ext->retire_wq);
	init_waitqueue_head(&ext->stall_wq);
	init_waitqueue_head(&ext->swap_wq);
	ext->retire_backoff = 1;
	return ext;
}

static struct drvproxy_endpoint *ep_alloc(struct drvproxy_extension *ext,
					  struct drvproxy_endpoint_desc *d, u32 id)
{
	struct drvproxy_endpoint *ep;

	if (drvproxy_fail_alloc())
		return NULL;
	ep = kzalloc(sizeof(*ep), GFP_KERNEL);
	if (!ep)
		return NULL;
	ep->desc = d;
	ep->ext = ext;
	ep->id = id;
	ep->wrapper = d->wrapper;
	ep->base = d->impl;
	return ep;
}

/*
 * The first slot of @fn's probe sequence in @idx->by_wrapper.  hash_64()
 * alone, one multiply, keeps evenly spaced addresses (descriptors of one
 * array, functions of one size) an arithmetic progression, which for some
 * spacings bunches into long runs of slots: 4.8 probes on average for
 * 10,000 addresses 56 bytes apart.  Folding the product's high half into
 * its low half before the second multiply breaks the progression: at most
 * 1.7 probes on average for 1,000 to 10,000 addresses spaced by any
 * multiple of 8 bytes up to 512.
 */
static u32 index_hash(const struct drvproxy_index *idx, drvproxy_fn_t fn)
{
	u64 v = (u64)(unsigned long)fn * GOLDEN_RATIO_64;

	return hash_64(v ^ (v >> 32), idx->hash_bits);
}

/*
 * The slot of @fn in @idx->by_wrapper, or NULL.  The probe ends at @fn or
 * at a free slot; at most half the slots are used, so there always is one.
 */
static const struct drvproxy_index_slot *index_by_wrapper(const struct drvproxy_index *idx,
							  drvproxy_fn_t fn)
{
	u32 mask, h;

	if (!idx || !fn)
		return NULL;
	mask = BIT(idx->hash_bits) - 1;
	for (h = index_hash(idx, fn); idx->by_wrapper[h].wrapper; h = (h + 1) & mask) {
		if (idx->by_wrapper[h].wrapper == fn)
			return &idx->by_wrapper[h];
	}
	return NULL;
}

/*
 * The slot of @id in @idx->by_id, or NULL past the last id.  A caller's id
 * may come from user space (an ioctl argument), hence the clamp against
 * speculation past the bound.  The slot of an unregistered id has a NULL
 * wrapper.
 */
static const struct drvproxy_index_slot *index_by_id(const struct drvproxy_index *idx, u32 id)
{
	if (!idx || id >= idx->nr_ids)
		return NULL;
	return &idx->by_id[array_index_nospec(id, idx->nr_ids)];
}

/* The endpoint with id @id; ext->lock held (the index cannot change). */
static struct drvproxy_endpoint *ep_by_id_locked(struct drvproxy_extension *ext, u32 id)
{
	const struct drvproxy_index_slot *s;

	s = index_by_id(rcu_dereference_protected(ext->index, lockdep_is_held(&ext->lock)), id);
	return s ? s->ep : NULL;
}

/* Put @ep in both halves of @idx; -EBUSY if its id or wrapper is taken. */
static int index_add(struct drvproxy_index *idx, struct drvproxy_endpoint *ep)
{
	struct drvproxy_index_slot *s = &idx->by_id[ep->id];
	u32 mask = BIT(idx->hash_bits) - 1, h;

	if (s->wrapper)
		return -EBUSY;
	s->wrapper = ep->wrapper;
	s->ep = ep;
	for (h = index_hash(idx, ep->wrapper); idx->by_wrapper[h].wrapper; h = (h + 1) & mask) {
		if (idx->by_wrapper[h].wrapper == ep->wrapper)
			return -EBUSY;
	}
	idx->by_wrapper[h] = *s;
	return 0;
}

/*
 * A new index of @eps[0..@nr), nothing published: NULL for no endpoints,
 * ERR_PTR(-ENOMEM), or ERR_PTR(-EBUSY) when two endpoints share an id or a
 * wrapper.  Ids are dense (V2: 0..n-1; V1: checked against
 * DRVPROXY_MAX_ENDPOINT_ID by v1_check()), so @by_id costs a slot per id up
 * to the largest.  The hash gets the next power of two of twice @nr slots.
 */
static struct drvproxy_index *index_build(struct drvproxy_endpoint **eps, unsigned int nr)
{
	struct drvproxy_index *idx;
	unsigned int i, bits;
	u32 nr_ids = 0;
	int ret;

	if (!nr)
		return NULL;
	for (i = 0; i < nr; i++)
		nr_ids = max(nr_ids, eps[i]->id + 1);
	bits = order_base_2(2 * (unsigned long)nr);
	if (drvproxy_fail_alloc())
		return ERR_PTR(-ENOMEM);
	idx = kvzalloc(struct_size(idx, by_id, (size_t)nr_ids + BIT(bits)), GFP_KERNEL);
	if (!idx)
		return ERR_PTR(-ENOMEM);
	idx->nr_ids = nr_ids;
	idx->hash_bits = bits;
	idx->by_wrapper = idx->by_id + nr_ids;
	for (i = 0; i < nr; i++) {
		ret = index_add(idx, eps[i]);
		if (ret) {
			kvfree(idx);
			return ERR_PTR(ret);
		}
	}
	return idx;
}

/*
 * Make @idx @ext's index (ext->lock held, or @ext not yet shared) and return
 * the one it replaces, which lookups may still be reading: free that one
 * after a grace period.  The release store pairs with rcu_dereference() in
 * the lookups (drvproxy_get_endpoint_wrapper(), drvproxy_wrapper_desc(),
 * drvproxy_endpoint_stats()): a lookup that loads @idx sees its slots
 * filled, and the endpoints they point to initialised.
 */
static struct drvproxy_index *index_publish(struct drvproxy_extension *ext,
					    struct drvproxy_index *idx, bool shared)
{
	return rcu_replace_pointer(ext->index, idx, !shared || lockdep_is_held(&ext->lock));
}

/* Free @ext's index when no lookup can run any more (release, failed create). */
static void index_free(struct drvproxy_extension *ext)
{
	kvfree(rcu_dereference_protected(ext->index, true));
	RCU_INIT_POINTER(ext->index, NULL);
}

/* Drop an endpoint that never got a sysfs directory, or put its kobject. */
static void ep_free(struct drvproxy_endpoint *ep)
{
	if (ep->kobj.state_initialized)
		kobject_put(&ep->kobj);
	else
		kfree(ep);
}

static int cmp_desc_name(const void *a, const void *b)
{
	const struct drvproxy_endpoint_desc *x = *(const struct drvproxy_endpoint_desc **)a;
	const struct drvproxy_endpoint_desc *y = *(const struct drvproxy_endpoint_desc **)b;

	return strcmp(x->name, y->name);
}

/* Validate and sort a module's section; -EINVAL / -EBUSY name the culprit. */
static int collect_descs(struct drvproxy_endpoint_desc *const *start,
			 struct drvproxy_endpoint_desc *const *stop,
			 struct drvproxy_endpoint_desc ***out, unsigned int *nr)
{
	unsigned int n = stop - start, i;
	struct drvproxy_endpoint_desc **v;

	*out = NULL;
	*nr = n;
	if (!n)
		return 0;
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	v = kmalloc_array(n, sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	memcpy(v, start, n * sizeof(*v));
	sort(v, n, sizeof(*v), cmp_desc_name, NULL);
	for (i = 0; i < n; i++) {
		if (!desc_valid(v[i])) {
			pr_err("endpoint section entry %u is malformed\n", i);
			goto inval;
		}
		if (i && !strcmp(v[i - 1]->name, v[i]->name)) {
			pr_err("two endpoints named %s\n", v[i]->name);
			goto inval;
		}
	}
	*out = v;
	return 0;
inval:
	kfree(v);
	return -EINVAL;
}

static int check_features(struct drvproxy_driver *drv)
{
	if (!drvproxy_globally_enabled()) {
		pr_warn("%s: drvproxy is disabled (parameter enabled=0)\n",
			drv ? drv->name : "(no driver)");
		return -EOPNOTSUPP;
	}
	if (drv && !drvproxy_enabled_for(drv->name)) {
		pr_warn("%s: driver is excluded (parameter exclude)\n", drv->name);
		return -EPERM;
	}
	return 0;
}

/* Build the endpoints and the first table of a new extension. */
static int ext_populate(struct drvproxy_extension *ext,
			struct drvproxy_endpoint_desc **descs, unsigned int n)
{
	struct drvproxy_generation *t;
	struct drvproxy_index *idx;
	unsigned int i;

	if (n) {
		if (drvproxy_fail_alloc())
			return -ENOMEM;
		ext->eps = kcalloc(n, sizeof(*ext->eps), GFP_KERNEL);
		if (!ext->eps)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct drvproxy_endpoint *ep = ep_alloc(ext, descs[i], i);

		if (!ep)
			return -ENOMEM;
		ep->index = i;
		ext->eps[ext->nr_eps++] = ep;
	}
	idx = index_build(ext->eps, n);
	if (IS_ERR(idx))
		return PTR_ERR(idx);
	index_publish(ext, idx, false);
	t = drvproxy_table_alloc(ext, n);
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		t->table.slot[i].fn = ext->eps[i]->base;
	drvproxy_first_publish(ext, t);
	return 0;
}

/* Free an extension that never went live (no bound descriptor, no sysfs). */
static void ext_free_unused(struct drvproxy_extension *ext)
{
	unsigned int i;

	/* Nobody else ever saw @ext: nothing to wait for. */
	index_free(ext);
	for (i = 0; i < ext->nr_eps; i++) {
		desc_unclaim(ext->eps[i]->desc, ext);
		ep_free(ext->eps[i]);
	}
	drvproxy_table_free(drvproxy_gen(rcu_dereference_protected(ext->domain.active, true)));
	kfree(ext->eps);
	kfree(ext);
}

/*
 * The GNU build id note that ld --build-id wrote into the owner's link and
 * drvproxy.lds gathered between @start and @end (empty without
 * --build-id): a 12-byte header, the name "GNU\0", the id.  It identifies
 * the build, so that an image companion made from another build of the
 * driver is refused (layer.c).
 */
#define DPX_NT_GNU_BUILD_ID	3	/* the note type ld --build-id writes */

static void ext_set_build_id(struct drvproxy_extension *ext, const void *start,
			     const void *end)
{
	const struct elf_note *note = start;
	size_t len = end - start;
	const u8 *desc;

	ext->build_id[0] = '\0';
	if (!len)
		return;
	if (len < sizeof(*note) + 4 || note->n_namesz != 4 || note->n_type != DPX_NT_GNU_BUILD_ID ||
	    !note->n_descsz || note->n_descsz > DRVPROXY_BUILD_ID_MAX ||
	    len < sizeof(*note) + 4 + note->n_descsz ||
	    memcmp(note + 1, "GNU", 4)) {
		pr_warn("%s: its build id note is malformed; ignored\n", ext_name(ext));
		return;
	}
	desc = (const u8 *)(note + 1) + 4;
	snprintf(ext->build_id, sizeof(ext->build_id), "%*phN", (int)note->n_descsz, desc);
}

/**
 * __drvproxy_create_extension() - create a proxy extension; use the
 *	drvproxy_create_extension() macro
 * @drv: owning driver object, or NULL
 * @flags: reserved, must be 0
 * @out: receives the extension
 * @start: first entry of the caller's drvproxy_endpoints section
 * @stop: end of that section
 * @build_id: the caller's build id note (its drvproxy_build_id section)
 * @build_id_end: end of that section
 * @owner: the calling module
 *
 * See drvproxy_create_extension().
 *
 * Context: process context, may sleep.
 * Return: 0 or a negative errno; on error nothing changed.
 */
int __drvproxy_create_extension(struct drvproxy_driver *drv, u32 flags,
				struct drvproxy_extension **out,
				struct drvproxy_endpoint_desc *const *start,
				struct drvproxy_endpoint_desc *const *stop,
				const void *build_id, const void *build_id_end,
				struct module *owner)
{
	struct drvproxy_endpoint_desc **descs = NULL;
	struct drvproxy_extension *ext;
	unsigned int n = 0, i;
	int ret;

	if (!out) {
		pr_err("create_extension: NULL result pointer\n");
		return -EINVAL;
	}
	*out = NULL;
	if (flags) {
		pr_err("%s: creation flags must be 0 (got %#x)\n",
		       drv ? drv->name : "(no driver)", flags);
		return -EINVAL;
	}
	ret = check_features(drv);
	if (ret)
		return ret;
	if (drv) {
		ret = collect_descs(start, stop, &descs, &n);
		if (ret)
			return ret;
	}
	ext = ext_alloc(drv, owner);
	if (!ext) {
		ret = -ENOMEM;
		goto out;
	}
	ret = ext_populate(ext, descs, n);
	if (ret)
		goto err_free;
	for (i = 0; i < n; i++) {
		if (!desc_claim(descs[i], ext)) {
			pr_err("endpoint %s is already bound to an extension\n", descs[i]->name);
			ret = -EBUSY;
			goto err_free;
		}
	}
	ext_set_build_id(ext, build_id, build_id_end);

	if (drv) {
		mutex_lock(&drv->lock);
		if (drv->extension) {
			mutex_unlock(&drv->lock);
			pr_warn("%s: driver already has a proxy extension\n", drv->name);
			ret = -EBUSY;
			goto err_free;
		}
		if (drv->flags & DRVPROXY_DRIVER_REGISTERED) {
			ret = drvproxy_sysfs_add_extension(ext);
			if (ret) {
				mutex_unlock(&drv->lock);
				goto err_free;
			}
		}
		/*
		 * Publish the extension whole: this release store pairs with
		 * the acquire load in drvproxy_get_extension(), so a reader
		 * on another CPU that sees @ext sees its fields and index
		 * initialised (a plain store would not order them on arm64).
		 */
		smp_store_release(&drv->extension, ext);
		mutex_unlock(&drv->lock);
	}
	/* Counted only now that nothing can fail any more. */
	drvproxy_next_generation();
	for (i = 0; i < ext->nr_eps; i++)
		drvproxy_bind_endpoint(ext, ext->eps[i]);
	mutex_lock(&drvproxy_lock);
	list_add_tail(&ext->node_all, &drvproxy_extensions);
	mutex_unlock(&drvproxy_lock);
	pr_debug("%s: extension created with %u endpoints\n",
		 drv ? drv->name : "(no driver)", n);
	*out = ext;
	goto out;

err_free:
	ext_free_unused(ext);
out:
	kfree(descs);
	return ret;
}
EXPORT_SYMBOL_GPL(__drvproxy_create_extension);

/*
 * Tear an extension down: stop its workers, unbind its endpoints (later
 * calls run the original directly), wait until no call is inside any
 * implementation, free everything.  No layer may be applied any more.
 */
void drvproxy_extension_release(struct drvproxy_extension *ext)
{
	unsigned int i;

	mutex_lock(&drvproxy_lock);
	list_del(&ext->node_all);
	mutex_unlock(&drvproxy_lock);
	drvproxy_test_point(DRVPROXY_TP_EXT_UNLISTED);

	drvproxy_stop_workers(ext);
	mutex_lock(&ext->lock);
	WRITE_ONCE(ext->lock_owner, current);
	ext->dying = true;
	/*
	 * Layers still applied (the host unregistered outside its exit, or an
	 * extension without owner): revert them; their modules stay pinned
	 * until their code drains below.
	 */
	while (!list_empty(&ext->layers)) {
		struct drvproxy_layer *l = list_last_entry(&ext->layers,
							   struct drvproxy_layer, node);

		pr_warn("%s: released with %s applied; reverting it\n", ext_name(ext),
			drvproxy_module_name(l->owner));
		drvproxy_layer_revert_locked(ext, l, true);
	}
	WRITE_ONCE(ext->lock_owner, NULL);
	drvproxy_unbind(ext);
	/* Unbound: another extension may take the endpoints (their code is pinned still). */
	for (i = 0; i < ext->nr_eps; i++)
		desc_unclaim(ext->eps[i]->desc, ext);

	drvproxy_test_point(DRVPROXY_TP_EXT_UNBOUND);
	drvproxy_sysfs_del_extension(ext);
	for (i = 0; i < ext->nr_v1_pins; i++)
		module_put(ext->v1_pins[i]);
	kfree(ext->v1_pins);
	/*
	 * No lookup runs any more: the extension's users are gone (its
	 * driver object unregistered or drvproxy_destroy_extension() called)
	 * and drvproxy_unbind() drained every call, the stalled ones that
	 * look up wrappers (wait.c) included.
	 */
	index_free(ext);
	for (i = 0; i < ext->nr_eps; i++)
		ep_free(ext->eps[i]);
	kfree(ext->eps);
	/* A sysfs writer may still hold the memory: see layer_enabled_store(). */
	drvproxy_ext_put(ext);
	drvproxy_test_point(DRVPROXY_TP_EXT_RELEASED);
}

/**
 * drvproxy_destroy_extension() - free an extension created without owner
 * @ext: the extension; NULL is ignored
 *
 * Extensions owned by a driver object are freed by
 * drvproxy_driver_unregister() and must not be passed here.  Waits until
 * no call is inside any of its implementations.
 *
 * Context: process context, may sleep.
 */
void drvproxy_destroy_extension(struct drvproxy_extension *ext)
{
	if (!ext)
		return;
	if (WARN(READ_ONCE(ext->lock_owner) == current,
		 "drvproxy: extension destroyed from its own callback\n"))
		return;
	if (WARN(ext->drv, "drvproxy: %s: extension is owned by its driver object\n",
		 ext->drv->name))
		return;
	drvproxy_extension_release(ext);
}
EXPORT_SYMBOL_GPL(drvproxy_destroy_extension);

/**
 * __drvproxy_get_wrapper_from_endpoint() - untyped wrapper lookup; use the
 *	drvproxy_get_wrapper_from_endpoint() macro
 * @ext: the extension
 * @endpoint: the endpoint function
 * @wrapper: receives the wrapper, or NULL
 *
 * Context: any context.
 * Return: 0 or -ENOENT.
 */
int __drvproxy_get_wrapper_from_endpoint(struct drvproxy_extension *ext,
					 drvproxy_fn_t endpoint,
					 drvproxy_fn_t *wrapper)
{
	const struct drvproxy_index_slot *s;

	*wrapper = NULL;
	if (!ext)
		return -ENOENT;
	rcu_read_lock();
	/* Pairs with rcu_replace_pointer() in index_publish(). */
	s = index_by_wrapper(rcu_dereference(ext->index), endpoint);
	if (s)
		*wrapper = s->wrapper;
	rcu_read_unlock();
	return *wrapper ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(__drvproxy_get_wrapper_from_endpoint);

/*
 * The descriptor of the endpoint whose wrapper is @fn, or NULL.  Lock-free;
 * endpoints live as long as their extension.
 */
struct drvproxy_endpoint_desc *drvproxy_wrapper_desc(struct drvproxy_extension *ext,
						     drvproxy_fn_t fn)
{
	const struct drvproxy_index_slot *s;
	struct drvproxy_endpoint_desc *desc = NULL;

	rcu_read_lock();
	/*
	 * Pairs with rcu_replace_pointer() in index_publish().  The endpoint
	 * is read inside the section: a failed V1 batch frees its new
	 * endpoints after a grace period (v1_unwind()).
	 */
	s = index_by_wrapper(rcu_dereference(ext->index), fn);
	if (s)
		desc = s->ep->desc;
	rcu_read_unlock();
	return desc;
}

/**
 * drvproxy_get_endpoint_wrapper() - the wrapper of an endpoint id (V1)
 * @ext: the extension
 * @id: the endpoint id (a V1 id, or a V2 endpoint's index in name order)
 *
 * Context: any context, including hard IRQ.  Lock-free.
 * Return: the wrapper, or NULL when @id is not registered.
 */
drvproxy_fn_t drvproxy_get_endpoint_wrapper(struct drvproxy_extension *ext, u32 id)
{
	const struct drvproxy_index_slot *s;
	drvproxy_fn_t wrapper = NULL;

	if (!ext)
		return NULL;
	rcu_read_lock();
	/* Pairs with rcu_replace_pointer() in index_publish(). */
	s = index_by_id(rcu_dereference(ext->index), id);
	if (s)
		wrapper = s->wrapper;
	rcu_read_unlock();
	return wrapper;
}
EXPORT_SYMBOL_GPL(drvproxy_get_endpoint_wrapper);

/* What one V1 batch changes; built and validated before anything changes. */
struct v1_batch {
	unsigned int nr_new;
	struct drvproxy_endpoint **new_eps;	/* endpoints to add */
	struct drvproxy_endpoint **old_eps;	/* [count]: replaced endpoint or NULL */
	struct drvproxy_endpoint **eps;		/* the grown endpoint array */
	struct module **pins;			/* grown v1_pins */
	unsigned int nr_pins;
	struct drvproxy_index *index;		/* published: with the new endpoints */
	struct drvproxy_index *old_index;	/* what it replaced */
};

static int v1_check(struct drvproxy_extension *ext,
		    const struct drvproxy_endpoint_info *info, unsigned int count,
		    struct v1_batch *b)
{
	unsigned int i, j;

	for (i = 0; i < count; i++) {
		struct drvproxy_endpoint_desc *d = info[i].endpoint;
		struct drvproxy_endpoint *old;

		if (!desc_valid(d)) {
			pr_err("%s: V1 entry %u has no valid endpoint\n", ext_name(ext), i);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (info[j].id == info[i].id || info[j].endpoint == d) {
				pr_err("%s: V1 entry %u repeats id %u or endpoint %s\n",
				       ext_name(ext), i, info[i].id, d->name);
				return -EINVAL;
			}
		}
		old = ep_by_id_locked(ext, info[i].id);
		b->old_eps[i] = old;
		if (old) {
			if (!drvproxy_same_signature(old->desc->signature, d->signature)) {
				char have[128], want[128];

				drvproxy_format_signature(have, sizeof(have), d->signature);
				drvproxy_format_signature(want, sizeof(want),
							  old->desc->signature);
				pr_err("%s: id %u: signature %s differs from %s\n",
				       ext_name(ext), info[i].id, have, want);
				return -EINVAL;
			}
			/* As a replacement of it would be: see repl_target(). */
			if ((old->desc->flags & DRVPROXY_EP_NOWAIT) &&
			    __DPX_CAN_RESTART(d->flags)) {
				pr_err("%s: id %u: %s may use a swap-aware wait, %s is declared _NOWAIT\n",
				       ext_name(ext), info[i].id, d->name, old->desc->name);
				return -EINVAL;
			}
		} else {
			if (info[i].id > DRVPROXY_MAX_ENDPOINT_ID) {
				pr_err("%s: V1 entry %u: id %u is above the largest, %u\n",
				       ext_name(ext), i, info[i].id, DRVPROXY_MAX_ENDPOINT_ID);
				return -EINVAL;
			}
			if (!desc_claim(d, ext)) {
				pr_err("%s: endpoint %s is already bound to an extension\n",
				       ext_name(ext), d->name);
				return -EBUSY;
			}
			b->nr_new++;
		}
	}
	return 0;
}

/* Allocate everything the batch needs; nothing visible changes. */
static int v1_prepare(struct drvproxy_extension *ext,
		      const struct drvproxy_endpoint_info *info, unsigned int count,
		      struct v1_batch *b)
{
	unsigned int i, k = 0, nr = ext->nr_eps + b->nr_new;

	if (drvproxy_fail_alloc())
		return -ENOMEM;
	b->eps = kcalloc(max(nr, 1U), sizeof(*b->eps), GFP_KERNEL);
	if (!b->eps)
		return -ENOMEM;
	memcpy(b->eps, ext->eps, ext->nr_eps * sizeof(*b->eps));
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	b->pins = kcalloc(ext->nr_v1_pins + count, sizeof(*b->pins), GFP_KERNEL);
	if (!b->pins)
		return -ENOMEM;
	memcpy(b->pins, ext->v1_pins, ext->nr_v1_pins * sizeof(*b->pins));
	b->nr_pins = ext->nr_v1_pins;
	for (i = 0; i < count; i++) {
		struct drvproxy_endpoint *ep;

		if (b->old_eps[i])
			continue;
		ep = ep_alloc(ext, info[i].endpoint, info[i].id);
		if (!ep)
			return -ENOMEM;
		ep->index = ext->nr_eps + k;
		b->new_eps[k++] = ep;
		b->eps[ep->index] = ep;
	}
	return 0;
}

/*
 * Index the grown endpoint array and publish it: from here lookups find the
 * new endpoints (as a phased callback may want to).  A batch that only
 * replaces keeps the index, whose ids and wrappers do not change.
 */
static int v1_index(struct drvproxy_extension *ext, struct v1_batch *b)
{
	struct drvproxy_index *idx;

	if (!b->nr_new)
		return 0;
	idx = index_build(b->eps, ext->nr_eps + b->nr_new);
	if (IS_ERR(idx))
		return PTR_ERR(idx);
	b->index = idx;
	b->old_index = index_publish(ext, idx, true);
	return 0;
}

/*
 * Give up the claims a failed batch made: v1_check() claimed the
 * descriptor of each new endpoint, in order, counting them in nr_new, and
 * none of an endpoint @ext had before (those it still owns).
 */
static void v1_unclaim(struct drvproxy_extension *ext,
		       const struct drvproxy_endpoint_info *info, unsigned int count,
		       struct v1_batch *b)
{
	unsigned int i, k = 0;

	for (i = 0; i < count && k < b->nr_new; i++) {
		if (b->old_eps[i])
			continue;
		desc_unclaim(info[i].endpoint, ext);
		k++;
	}
}

static void v1_unwind(struct drvproxy_extension *ext, struct v1_batch *b)
{
	unsigned int k;

	if (b->index) {
		index_publish(ext, b->old_index, true);
		/*
		 * Lock-free lookups may have loaded the new index and be
		 * reading it or its endpoints: this grace period waits for
		 * their rcu_read_lock() sections.
		 */
		synchronize_rcu();
		kvfree(b->index);
	}
	for (k = 0; k < b->nr_new; k++) {
		if (b->new_eps[k])
			ep_free(b->new_eps[k]);
	}
}

/* The next table: base implementations with the batch applied, layers on top. */
static struct drvproxy_generation *v1_table(struct drvproxy_extension *ext,
					    const struct drvproxy_endpoint_info *info,
					    unsigned int count, struct v1_batch *b)
{
	struct drvproxy_endpoint **saved = ext->eps;
	unsigned int saved_nr = ext->nr_eps, i;
	drvproxy_fn_t *bases;
	struct drvproxy_generation *t;

	if (drvproxy_fail_alloc())
		return NULL;
	bases = kcalloc(count, sizeof(*bases), GFP_KERNEL);
	if (!bases)
		return NULL;
	/* Build with the new bases in place, then put the old ones back. */
	for (i = 0; i < count; i++) {
		if (b->old_eps[i]) {
			bases[i] = b->old_eps[i]->base;
			b->old_eps[i]->base = info[i].endpoint->impl;
		}
	}
	ext->eps = b->eps;
	ext->nr_eps = saved_nr + b->nr_new;
	t = drvproxy_table_build(ext, NULL, NULL);
	ext->eps = saved;
	ext->nr_eps = saved_nr;
	for (i = 0; i < count; i++)
		if (b->old_eps[i])
			b->old_eps[i]->base = bases[i];
	kfree(bases);
	return t;
}

static void v1_commit(struct drvproxy_extension *ext,
		      const struct drvproxy_endpoint_info *info, unsigned int count,
		      struct v1_batch *b)
{
	unsigned int i, k;

	for (i = 0; i < count; i++) {
		struct drvproxy_endpoint_desc *d = info[i].endpoint;
		struct drvproxy_endpoint *old = b->old_eps[i];

		if (!old)
			continue;
		old->base = d->impl;
		old->swaps++;
		/* Code from another module stays pinned while installed. */
		if (d->owner == ext->owner)
			continue;
		drvproxy_taint(ext->drv ? ext->drv->name : "(no driver)",
			       drvproxy_module_name(d->owner));
		if (try_module_get(d->owner))
			b->pins[b->nr_pins++] = d->owner;
	}
	kfree(ext->eps);
	ext->eps = b->eps;
	ext->nr_eps += b->nr_new;
	b->eps = NULL;
	kfree(ext->v1_pins);
	ext->v1_pins = b->pins;
	ext->nr_v1_pins = b->nr_pins;
	b->pins = NULL;
	for (k = 0; k < b->nr_new; k++)
		drvproxy_bind_endpoint(ext, b->new_eps[k]);
}

/* The new endpoints' directories, before the publish: all or none. */
static int v1_add_sysfs(struct drvproxy_extension *ext, struct v1_batch *b)
{
	unsigned int k;
	int ret;

	if (!ext->endpoints_kobj)
		return 0;
	for (k = 0; k < b->nr_new; k++) {
		ret = drvproxy_sysfs_add_endpoint(b->new_eps[k]);
		if (ret)
			goto err;
	}
	return 0;
err:
	while (k--)
		drvproxy_sysfs_del_endpoint(b->new_eps[k]);
	return ret;
}

/**
 * drvproxy_register_endpoints() - register or replace endpoints (V1)
 * @ext: the extension
 * @info: the batch
 * @count: number of entries, at least 1
 * @callback: optional phased callback (NULL for an initial registration)
 * @context: passed to @callback
 *
 * The batch is atomic: every entry applies, or nothing changes.  An entry
 * whose id is new adds its endpoint; an entry whose id exists replaces that
 * endpoint's base implementation, only when the signatures are identical.
 * A batch that replaces anything runs stalled: @callback gets PRE, then new
 * calls wait while the calls in flight drain (at most drain_timeout_ms),
 * STALLED, the publish, and POST.  Layers applied by companions stay on top
 * of the new base implementations.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (bad argument, repeated id, new id above
 * DRVPROXY_MAX_ENDPOINT_ID, signature mismatch, an endpoint that may wait
 * for one declared _NOWAIT);
 * -EBUSY (endpoint bound elsewhere); -EOPNOTSUPP / -EPERM (disabled /
 * excluded); -ENOMEM; -ETIMEDOUT (drain timed out); -EDEADLK (called from a
 * callback of @ext); -EINTR; -ENODEV (extension going away); or the
 * callback's error.  On error nothing changed.
 */
int drvproxy_register_endpoints(struct drvproxy_extension *ext,
				const struct drvproxy_endpoint_info *info,
				unsigned int count, drvproxy_callback_t callback,
				void *context)
{
	struct v1_batch b = {};
	struct drvproxy_generation *next = NULL;
	unsigned int k;
	u64 start = ktime_get_ns();
	bool replaces;
	int ret;

	if (!ext || !info || !count) {
		pr_err("register_endpoints: NULL extension, NULL array or empty batch\n");
		return -EINVAL;
	}
	ret = check_features(ext->drv);
	if (ret)
		return ret;
	ret = drvproxy_lock_ext(ext);
	if (ret)
		return ret;
	if (ext->dying) {
		ret = -ENODEV;
		goto unlock;
	}
	ret = -ENOMEM;
	if (drvproxy_fail_alloc())
		goto unlock;
	b.old_eps = kcalloc(count, sizeof(*b.old_eps), GFP_KERNEL);
	if (!b.old_eps)
		goto unlock;
	ret = v1_check(ext, info, count, &b);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (drvproxy_fail_alloc())
		goto out;
	b.new_eps = kcalloc(max(b.nr_new, 1U), sizeof(*b.new_eps), GFP_KERNEL);
	if (!b.new_eps)
		goto out;
	ret = v1_prepare(ext, info, count, &b);
	if (ret)
		goto unwind;
	ret = v1_index(ext, &b);
	if (ret)
		goto unwind;
	ret = v1_add_sysfs(ext, &b);
	if (ret)
		goto unwind;
	ret = -ENOMEM;
	next = v1_table(ext, info, count, &b);
	if (!next)
		goto unwind_sysfs;
	replaces = b.nr_new < count;
	ret = drvproxy_transition(ext, next, replaces ? DRVPROXY_MODE_STALLED :
				  DRVPROXY_MODE_LIVE, callback, context,
				  drvproxy_drain_timeout_ms);
	if (ret)
		goto unwind_sysfs;
	v1_commit(ext, info, count, &b);
	/* Lookups may still read the old index: see index_publish(). */
	if (b.old_index)
		kvfree_rcu(b.old_index, rcu);
	goto out;

unwind_sysfs:
	for (k = 0; k < b.nr_new; k++)
		drvproxy_sysfs_del_endpoint(b.new_eps[k]);
unwind:
	v1_unwind(ext, &b);
out:
	if (ret)
		v1_unclaim(ext, info, count, &b);
	drvproxy_history_add(ext, DRVPROXY_OP_REGISTER,
			     b.nr_new < count ? DRVPROXY_MODE_STALLED : DRVPROXY_MODE_LIVE,
			     drvproxy_module_name(info[0].endpoint ?
						  info[0].endpoint->owner : NULL),
			     ret, start);
	kfree(b.eps);
	kfree(b.pins);
	kfree(b.new_eps);
	kfree(b.old_eps);
unlock:
	drvproxy_unlock_ext(ext);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_register_endpoints);

/**
 * drvproxy_endpoint_stats() - read an endpoint's counters
 * @ext: the extension
 * @id: the endpoint id
 * @stats: receives the counters
 *
 * Context: process or softirq context, or under a spinlock_t (the tables are
 * summed under a softirq-safe spinlock: time linear in tables, endpoints'
 * CPUs); not from hard IRQ nor with interrupts disabled, and on PREEMPT_RT
 * not with preemption disabled.  Takes no transition lock, so also from a phased
 * callback.
 * Return: 0, or -ENOENT for an unknown id.
 */
int drvproxy_endpoint_stats(struct drvproxy_extension *ext, u32 id,
			    struct drvproxy_endpoint_stats *stats)
{
	const struct drvproxy_index_slot *s;
	struct drvproxy_endpoint *ep;

	if (!ext)
		return -ENOENT;
	/*
	 * Without ext->lock, so a phased callback may ask too: endpoints live
	 * as long as their extension; the tables are summed under retire_lock,
	 * taken with softirqs off (spin_lock_bh()).
	 */
	rcu_read_lock();
	/*
	 * Pairs with rcu_replace_pointer() in index_publish().  The endpoint
	 * is read inside the section: one a failed V1 batch added is freed
	 * after a grace period (v1_unwind()).
	 */
	s = index_by_id(rcu_dereference(ext->index), id);
	ep = s ? s->ep : NULL;
	if (ep) {
		stats->swaps = READ_ONCE(ep->swaps);
		stats->calls = drvproxy_calls(ext, ep);
		stats->in_flight = drvproxy_in_flight(ext, ep->index);
	}
	rcu_read_unlock();
	return ep ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(drvproxy_endpoint_stats);

/**
 * drvproxy_extension_generation() - an extension's generation
 * @ext: the extension
 *
 * Context: any context.
 * Return: the generation of the active table: 1 after creation, +1 for
 * every publish.
 */
u64 drvproxy_extension_generation(struct drvproxy_extension *ext)
{
	struct drvproxy_table *t;
	u64 gen;

	preempt_disable();
	t = rcu_dereference_sched(ext->domain.active);
	gen = t ? drvproxy_gen(t)->generation : 0;
	preempt_enable();
	return gen;
}
EXPORT_SYMBOL_GPL(drvproxy_extension_generation);
