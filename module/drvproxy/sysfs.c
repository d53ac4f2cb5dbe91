// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - /sys/kernel/drvproxy: what is swapped where
 *
 *   enabled, generation
 *   drivers/<driver>/{owner,build_id,text_size,state_layout,generation,transition,
 *                     devices,opens,stack,history}
 *   drivers/<driver>/endpoints/<endpoint>/{id,signature,original,current,
 *                     calls,in_flight,swaps}
 *   drivers/<driver>/layers/<module>/{mode,replace,order,generation,
 *                     applied_at,nr_endpoints,enabled}
 *
 * Documented in Documentation/ABI/testing/sysfs-kernel-drvproxy.  Functions
 * are shown as "symbol [module]" (%ps), never as raw pointers.
 *
 * Locking: endpoint, layer and most driver attributes read lock-free (RCU
 * and per-CPU sums, READ_ONCE of plain fields), so they stay readable while
 * a stalled transition holds ext->lock.  Only "stack" and "history" take
 * ext->lock.  A layer's directory is removed under ext->lock; its "enabled"
 * store breaks kernfs active protection first, because reverting removes
 * the directory the store runs in.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "internal.h"

static struct kobject *drvproxy_kobj;
static struct kobject *drivers_kobj;

/* ---- /sys/kernel/drvproxy ---- */

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", drvproxy_globally_enabled());
}

static ssize_t generation_show(struct kobject *kobj, struct kobj_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%llu\n", drvproxy_generation());
}

static ssize_t pins_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return drvproxy_pins_show(buf);
}

static struct kobj_attribute enabled_attr = __ATTR_RO(enabled);
static struct kobj_attribute generation_attr = __ATTR_RO(generation);
static struct kobj_attribute pins_attr = __ATTR_RO(pins);

static struct attribute *root_attrs[] = {
	&enabled_attr.attr,
	&generation_attr.attr,
	&pins_attr.attr,
	NULL
};

static const struct attribute_group root_group = {
	.attrs = root_attrs,
};

/* ---- drivers/<driver> ---- */

static struct drvproxy_driver *to_drv(struct kobject *kobj)
{
	return container_of(kobj, struct drvproxy_driver, kobj);
}

/*
 * The driver's extension, its memory held: drvproxy_driver_unregister()
 * clears &drvproxy_driver.extension under the driver's lock before it
 * releases the extension, so a reference taken under that lock keeps the
 * memory (its lock, its history) until the show puts it, even when the
 * extension is released meanwhile.  Put it with drvproxy_ext_put().
 */
static struct drvproxy_extension *drv_ext_get(struct drvproxy_driver *drv)
{
	struct drvproxy_extension *ext;

	mutex_lock(&drv->lock);
	ext = drv->extension;
	if (ext)
		drvproxy_ext_get(ext);
	mutex_unlock(&drv->lock);
	if (ext)
		drvproxy_test_point(DRVPROXY_TP_DRIVER_ATTR_HELD);
	return ext;
}

static void drv_ext_put(struct drvproxy_extension *ext)
{
	if (ext)
		drvproxy_ext_put(ext);
}

static ssize_t owner_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", drvproxy_module_name(to_drv(kobj)->owner));
}

static ssize_t build_id_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct drvproxy_extension *ext = drv_ext_get(to_drv(kobj));
	ssize_t n = sysfs_emit(buf, "%s\n", ext ? ext->build_id : "");

	drv_ext_put(ext);
	return n;
}

static ssize_t text_size_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%lu\n", to_drv(kobj)->driver_size);
}

static ssize_t state_layout_show(struct kobject *kobj, struct kobj_attribute *attr,
				 char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_drv(kobj)->state_layout));
}

static ssize_t drv_generation_show(struct kobject *kobj, struct kobj_attribute *attr,
				   char *buf)
{
	struct drvproxy_extension *ext = drv_ext_get(to_drv(kobj));
	ssize_t n = sysfs_emit(buf, "%llu\n", ext ? drvproxy_extension_generation(ext) : 0);

	drv_ext_put(ext);
	return n;
}

static ssize_t transition_show(struct kobject *kobj, struct kobj_attribute *attr,
			       char *buf)
{
	struct drvproxy_extension *ext = drv_ext_get(to_drv(kobj));
	ssize_t n = sysfs_emit(buf, "%s\n",
			       ext ? drvproxy_transition_name(READ_ONCE(ext->transition)) : "none");

	drv_ext_put(ext);
	return n;
}

static ssize_t devices_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct drvproxy_driver *drv = to_drv(kobj);
	struct drvproxy_device *dev;
	int n = 0;

	mutex_lock(&drv->lock);
	list_for_each_entry(dev, &drv->devices, node)
		n += sysfs_emit_at(buf, n, "%s%s", n ? " " : "", dev->misc.name);
	mutex_unlock(&drv->lock);
	return n + sysfs_emit_at(buf, n, "\n");
}

static ssize_t opens_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", drvproxy_open_count(to_drv(kobj)));
}

static ssize_t stack_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct drvproxy_extension *ext = drv_ext_get(to_drv(kobj));
	struct drvproxy_layer *l;
	int n = 0;

	if (!ext)
		return sysfs_emit(buf, "\n");
	if (mutex_lock_interruptible(&ext->lock)) {
		drv_ext_put(ext);
		return -EINTR;
	}
	list_for_each_entry(l, &ext->layers, node)
		n += sysfs_emit_at(buf, n, "%s%s", n ? " " : "",
				   drvproxy_module_name(l->owner));
	mutex_unlock(&ext->lock);
	drv_ext_put(ext);
	return n + sysfs_emit_at(buf, n, "\n");
}

/* The @k-th oldest entry of @ext's history; ext->lock held. */
static const struct drvproxy_history *history_at(struct drvproxy_extension *ext,
						 unsigned int k)
{
	return &ext->history[(ext->history_next + DRVPROXY_HISTORY_LEN -
			      ext->history_count + k) % DRVPROXY_HISTORY_LEN];
}

/* One line of the history file into @buf of @size; its length, as snprintf(). */
static int history_line(char *buf, size_t size, const struct drvproxy_history *h)
{
	return snprintf(buf, size, "%llu.%06llu %s %s %s gen=%llu result=%d duration_us=%llu\n",
			h->time_ns / NSEC_PER_SEC, (h->time_ns % NSEC_PER_SEC) / NSEC_PER_USEC,
			drvproxy_op_name(h->op), h->who, drvproxy_mode_name(h->mode),
			h->generation, h->result, h->duration_ns / NSEC_PER_USEC);
}

/*
 * Whole lines only: with long module names 32 lines may not fit the page,
 * and then the oldest are left out rather than the newest cut short.
 */
static ssize_t history_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct drvproxy_extension *ext = drv_ext_get(to_drv(kobj));
	unsigned int k, first;
	size_t len = 0;
	int n = 0;

	if (!ext)
		return 0;
	if (mutex_lock_interruptible(&ext->lock)) {
		drv_ext_put(ext);
		return -EINTR;
	}
	for (first = ext->history_count; first > 0; first--) {
		len += history_line(NULL, 0, history_at(ext, first - 1));
		if (len >= PAGE_SIZE)
			break;
	}
	for (k = first; k < ext->history_count; k++)
		n += history_line(buf + n, PAGE_SIZE - n, history_at(ext, k));
	mutex_unlock(&ext->lock);
	drv_ext_put(ext);
	return n;
}

static struct kobj_attribute owner_attr = __ATTR_RO(owner);
static struct kobj_attribute build_id_attr = __ATTR_RO(build_id);
static struct kobj_attribute text_size_attr = __ATTR_RO(text_size);
static struct kobj_attribute state_layout_attr = __ATTR_RO(state_layout);
static struct kobj_attribute drv_generation_attr =
	__ATTR(generation, 0444, drv_generation_show, NULL);
static struct kobj_attribute transition_attr = __ATTR_RO(transition);
static struct kobj_attribute devices_attr = __ATTR_RO(devices);
static struct kobj_attribute opens_attr = __ATTR_RO(opens);
static struct kobj_attribute stack_attr = __ATTR_RO(stack);
static struct kobj_attribute history_attr = __ATTR_RO(history);

static struct attribute *driver_attrs[] = {
	&owner_attr.attr,
	&build_id_attr.attr,
	&text_size_attr.attr,
	&state_layout_attr.attr,
	&drv_generation_attr.attr,
	&transition_attr.attr,
	&devices_attr.attr,
	&opens_attr.attr,
	&stack_attr.attr,
	&history_attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(driver);

static void driver_release(struct kobject *kobj)
{
	kfree(to_drv(kobj)->fops);
	kfree(to_drv(kobj));
}

static const struct kobj_type driver_ktype = {
	.release = driver_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = driver_groups,
};

int drvproxy_sysfs_add_driver(struct drvproxy_driver *drv)
{
	int ret;

	if (drvproxy_fail_alloc())
		return -ENOMEM;
	ret = kobject_init_and_add(&drv->kobj, &driver_ktype, drivers_kobj, "%s", drv->name);
	if (ret) {
		pr_err("%s: sysfs directory not created: %d\n", drv->name, ret);
		return ret;
	}
	return 0;
}

void drvproxy_sysfs_del_driver(struct drvproxy_driver *drv)
{
	if (drv->kobj.state_in_sysfs)
		kobject_del(&drv->kobj);
}

/* ---- drivers/<driver>/endpoints/<endpoint> ---- */

static struct drvproxy_endpoint *to_ep(struct kobject *kobj)
{
	return container_of(kobj, struct drvproxy_endpoint, kobj);
}

/* "symbol [module]", without the prefix of the generated originals. */
static ssize_t emit_fn(char *buf, drvproxy_fn_t fn)
{
	char sym[KSYM_SYMBOL_LEN];
	const char *s = sym;

	sprint_symbol_no_offset(sym, (unsigned long)fn);
	if (!strncmp(s, "__dpx_impl_", 11))
		s += 11;
	return sysfs_emit(buf, "%s\n", s);
}

static ssize_t id_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_ep(kobj)->id);
}

static ssize_t signature_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	int n = drvproxy_format_signature(buf, PAGE_SIZE - 1, to_ep(kobj)->desc->signature);

	return n + sysfs_emit_at(buf, n, "\n");
}

/*
 * How the endpoint was declared: "process" (its calls may wait at entry
 * while a stalled transition runs) or "atomic" (never held back), then
 * "redispatch" (a call that leaves a swap-aware wait because of a swap runs
 * again in the current implementation) or "nowait" (never re-dispatched:
 * declared _NOWAIT, or its return type carries no errno).
 */
static ssize_t kind_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	unsigned int flags = to_ep(kobj)->desc->flags;

	return sysfs_emit(buf, "%s %s\n", flags & DRVPROXY_EP_ATOMIC ? "atomic" : "process",
			  __DPX_CAN_RESTART(flags) ? "redispatch" : "nowait");
}

static ssize_t original_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return emit_fn(buf, to_ep(kobj)->desc->impl);
}

static ssize_t current_impl_show(struct kobject *kobj, struct kobj_attribute *attr,
				 char *buf)
{
	struct drvproxy_endpoint *ep = to_ep(kobj);
	struct drvproxy_table *table;
	struct drvproxy_generation *t;
	drvproxy_fn_t fn = NULL;

	/*
	 * Pairs with the grace period that precedes freeing a table, the
	 * last one too: drvproxy_unbind() stores NULL before it retires it.
	 */
	preempt_disable();
	table = rcu_dereference_sched(ep->ext->domain.active);
	t = table ? drvproxy_gen(table) : NULL;
	if (t && ep->index < t->table.nr)
		fn = t->stall ? t->held[ep->index] : t->table.slot[ep->index].fn;
	preempt_enable();
	return fn ? emit_fn(buf, fn) : sysfs_emit(buf, "\n");
}

static ssize_t calls_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct drvproxy_endpoint_stats st;
	int ret = drvproxy_endpoint_stats(to_ep(kobj)->ext, to_ep(kobj)->id, &st);

	return ret ?: sysfs_emit(buf, "%llu\n", st.calls);
}

static ssize_t in_flight_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct drvproxy_endpoint *ep = to_ep(kobj);

	return sysfs_emit(buf, "%llu\n", drvproxy_in_flight(ep->ext, ep->index));
}

static ssize_t swaps_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(to_ep(kobj)->swaps));
}

static struct kobj_attribute id_attr = __ATTR_RO(id);
static struct kobj_attribute signature_attr = __ATTR_RO(signature);
static struct kobj_attribute kind_attr = __ATTR_RO(kind);
static struct kobj_attribute original_attr = __ATTR_RO(original);
/* "current" is a macro (get_current()): spell the name out. */
static struct kobj_attribute current_attr = {
	.attr = { .name = "current", .mode = 0444 },
	.show = current_impl_show,
};

static struct kobj_attribute calls_attr = __ATTR_RO(calls);
static struct kobj_attribute in_flight_attr = __ATTR_RO(in_flight);
static struct kobj_attribute swaps_attr = __ATTR_RO(swaps);

static struct attribute *endpoint_attrs[] = {
	&id_attr.attr,
	&signature_attr.attr,
	&kind_attr.attr,
	&original_attr.attr,
	&current_attr.attr,
	&calls_attr.attr,
	&in_flight_attr.attr,
	&swaps_attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(endpoint);

void drvproxy_endpoint_release(struct kobject *kobj)
{
	kfree(to_ep(kobj));
}

static const struct kobj_type endpoint_ktype = {
	.release = drvproxy_endpoint_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = endpoint_groups,
};

/*
 * Once initialised, the endpoint's memory belongs to its kobject (ep_free()
 * puts it), also when adding fails; a directory deleted by an unwinding
 * registration may be added again later.
 */
int drvproxy_sysfs_add_endpoint(struct drvproxy_endpoint *ep)
{
	int ret = -ENOMEM;

	if (drvproxy_fail_alloc())
		goto err;
	if (!ep->kobj.state_initialized)
		kobject_init(&ep->kobj, &endpoint_ktype);
	ret = kobject_add(&ep->kobj, ep->ext->endpoints_kobj, "%s", ep->desc->name);
	if (ret)
		goto err;
	return 0;
err:
	pr_err("endpoint %s: sysfs directory not created: %d\n", ep->desc->name, ret);
	return ret;
}

void drvproxy_sysfs_del_endpoint(struct drvproxy_endpoint *ep)
{
	if (ep->kobj.state_in_sysfs)
		kobject_del(&ep->kobj);
}

/* ---- drivers/<driver>/layers/<module> ---- */

static struct drvproxy_layer *to_layer(struct kobject *kobj)
{
	return READ_ONCE(container_of(kobj, struct drvproxy_layer_kobj, kobj)->layer);
}

#define LAYER_SHOW(field, fmt, expr)						\
static ssize_t layer_##field##_show(struct kobject *kobj,			\
				    struct kobj_attribute *attr, char *buf)	\
{										\
	struct drvproxy_layer *l = to_layer(kobj);				\
										\
	if (!l)									\
		return -ENODEV;							\
	return sysfs_emit(buf, fmt "\n", expr);					\
}										\
static struct kobj_attribute layer_##field##_attr =				\
	__ATTR(field, 0444, layer_##field##_show, NULL)

LAYER_SHOW(mode, "%s", drvproxy_mode_name(drvproxy_layer_revert_mode(l)));
LAYER_SHOW(replace, "%d", l->replace);
LAYER_SHOW(order, "%u", l->order);
LAYER_SHOW(generation, "%llu", l->generation);
LAYER_SHOW(applied_at, "%llu", l->applied_ns);
LAYER_SHOW(nr_endpoints, "%u", l->nr);

static ssize_t layer_enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
				  char *buf)
{
	struct drvproxy_layer *l = to_layer(kobj);

	if (!l)
		return -ENODEV;
	return sysfs_emit(buf, "%d\n", l->state == DRVPROXY_LAYER_APPLIED);
}

/*
 * Writing 0 reverts the layer, like livepatch's "enabled"; its module stays
 * loaded, pinned until its code drains.  A reverted layer is never
 * re-applied from here: reload the module.  Writing 1 to an applied layer
 * is -EINVAL, as is anything that is not a boolean.
 */
static ssize_t layer_enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	struct drvproxy_layer_kobj *ko = container_of(kobj, struct drvproxy_layer_kobj, kobj);
	struct drvproxy_extension *ext = ko->ext;
	struct module *host = ext->owner;
	struct kernfs_node *kn;
	struct drvproxy_layer *l;
	bool enable;
	int ret;

	ret = kstrtobool(buf, &enable);
	if (ret) {
		pr_warn("layers/%s/enabled: \"%.*s\" is not a boolean\n",
			kobject_name(kobj), (int)min_t(size_t, count, 16), buf);
		return -EINVAL;
	}
	if (enable) {
		pr_warn("layers/%s/enabled: layer is applied; only 0 can be written\n",
			kobject_name(kobj));
		return -EINVAL;
	}
	/*
	 * The directory exists, so the layer is applied and @ext is alive.
	 * The revert removes this very file, so active protection must be
	 * broken first; from then on the companion, the layer and the host's
	 * extension may all go: the host may unregister outside its module
	 * exit.  Hold what we still touch: the host module (its code needs
	 * ours), @ext's memory (its lock, which then finds @ko->layer NULL)
	 * and @kobj.
	 */
	if (!try_module_get(host))
		return -ENODEV;
	drvproxy_ext_get(ext);
	kobject_get(kobj);
	kn = sysfs_break_active_protection(kobj, &attr->attr);
	drvproxy_test_point(DRVPROXY_TP_ENABLED_UNPROTECTED);
	ret = drvproxy_lock_ext(ext);
	if (!ret) {
		l = ko->layer;
		if (l) {
			ret = drvproxy_layer_check_unpinned(ext, l, "revert");
			if (!ret)
				ret = drvproxy_layer_revert_locked(ext, l, false);
		} else {
			ret = -ENOENT;
			pr_warn("layers/%s/enabled: the layer left the stack meanwhile\n",
				kobject_name(kobj));
		}
		drvproxy_unlock_ext(ext);
	}
	sysfs_unbreak_active_protection(kn);
	kobject_put(kobj);
	drvproxy_ext_put(ext);
	module_put(host);
	return ret ?: count;
}

static struct kobj_attribute layer_enabled_attr =
	__ATTR(enabled, 0644, layer_enabled_show, layer_enabled_store);

static struct attribute *layer_attrs[] = {
	&layer_mode_attr.attr,
	&layer_replace_attr.attr,
	&layer_order_attr.attr,
	&layer_generation_attr.attr,
	&layer_applied_at_attr.attr,
	&layer_nr_endpoints_attr.attr,
	&layer_enabled_attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(layer);

static void layer_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct drvproxy_layer_kobj, kobj));
}

static const struct kobj_type layer_ktype = {
	.release = layer_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = layer_groups,
};

static bool module_has_other_layer(struct drvproxy_extension *ext,
				   struct drvproxy_layer *layer)
{
	struct drvproxy_layer *l;

	list_for_each_entry(l, &ext->layers, node)
		if (l != layer && l->owner == layer->owner && l->ko)
			return true;
	return false;
}

/* @layer goes on @ext's stack: its directory, named after its module. */
int drvproxy_sysfs_add_layer(struct drvproxy_extension *ext, struct drvproxy_layer *layer)
{
	struct drvproxy_layer_kobj *ko;
	int ret = -ENOMEM;

	if (!ext->layers_kobj)
		return 0;
	if (drvproxy_fail_alloc())
		goto err;
	ko = kzalloc(sizeof(*ko), GFP_KERNEL);
	if (!ko)
		goto err;
	ko->layer = layer;
	ko->ext = ext;
	/* A module's second layer on the same driver is "<module>.<order>". */
	if (module_has_other_layer(ext, layer))
		ret = kobject_init_and_add(&ko->kobj, &layer_ktype, ext->layers_kobj, "%s.%u",
					   drvproxy_module_name(layer->owner), layer->order);
	else
		ret = kobject_init_and_add(&ko->kobj, &layer_ktype, ext->layers_kobj, "%s",
					   drvproxy_module_name(layer->owner));
	if (ret) {
		kobject_put(&ko->kobj);
		goto err;
	}
	layer->ko = ko;
	return 0;
err:
	pr_err("%s: %s: layer directory not created: %d\n", ext->drv->name,
	       drvproxy_module_name(layer->owner), ret);
	return ret;
}

void drvproxy_sysfs_del_layer(struct drvproxy_layer *layer)
{
	struct drvproxy_layer_kobj *ko = layer->ko;

	if (!ko)
		return;
	layer->ko = NULL;
	WRITE_ONCE(ko->layer, NULL);
	kobject_del(&ko->kobj);
	kobject_put(&ko->kobj);
}

/* ---- extension directories ---- */

/* All of an extension's directories, or none of them. */
int drvproxy_sysfs_add_extension(struct drvproxy_extension *ext)
{
	unsigned int i;
	int ret = -ENOMEM;

	if (!ext->drv || !ext->drv->kobj.state_in_sysfs)
		return 0;
	if (drvproxy_fail_alloc())
		goto err;
	ext->endpoints_kobj = kobject_create_and_add("endpoints", &ext->drv->kobj);
	if (!ext->endpoints_kobj)
		goto err;
	if (drvproxy_fail_alloc())
		goto err;
	ext->layers_kobj = kobject_create_and_add("layers", &ext->drv->kobj);
	if (!ext->layers_kobj)
		goto err;
	for (i = 0; i < ext->nr_eps; i++) {
		ret = drvproxy_sysfs_add_endpoint(ext->eps[i]);
		if (ret)
			goto err;
	}
	return 0;
err:
	pr_err("%s: endpoints and layers directories not created: %d\n", ext->drv->name, ret);
	drvproxy_sysfs_del_extension(ext);
	return ret;
}

void drvproxy_sysfs_del_extension(struct drvproxy_extension *ext)
{
	unsigned int i;

	for (i = 0; i < ext->nr_eps; i++)
		drvproxy_sysfs_del_endpoint(ext->eps[i]);
	kobject_put(ext->layers_kobj);
	kobject_put(ext->endpoints_kobj);
	ext->layers_kobj = NULL;
	ext->endpoints_kobj = NULL;
}

int drvproxy_sysfs_init(void)
{
	int ret;

	drvproxy_kobj = kobject_create_and_add("drvproxy", kernel_kobj);
	if (!drvproxy_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(drvproxy_kobj, &root_group);
	if (ret)
		goto err;
	drivers_kobj = kobject_create_and_add("drivers", drvproxy_kobj);
	if (!drivers_kobj) {
		ret = -ENOMEM;
		goto err;
	}
	return 0;
err:
	kobject_put(drvproxy_kobj);
	return ret;
}

void drvproxy_sysfs_exit(void)
{
	kobject_put(drivers_kobj);
	kobject_put(drvproxy_kobj);
}
