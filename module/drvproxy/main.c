// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - drvproxy module setup, feature switches and the module notifier
 *
 * The feature switches are module parameters that may change at any time
 * and are read from any context (drvproxy_get_features() works in hard
 * IRQ): "enabled" is a plain bool read with READ_ONCE(), and the exclusion
 * list is an RCU-protected string replaced as a whole under drvproxy_lock.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "trace.h"

/* Serialises the driver list and module notifier work; see internal.h. */
DEFINE_MUTEX(drvproxy_lock);

static bool drvproxy_param_enabled = true;
module_param_named(enabled, drvproxy_param_enabled, bool, 0644);
MODULE_PARM_DESC(enabled, "Global switch: 0 makes every new extension and registration fail with -EOPNOTSUPP (default 1)");

unsigned int drvproxy_drain_timeout_ms = 5000;
module_param_named(drain_timeout_ms, drvproxy_drain_timeout_ms, uint, 0644);
MODULE_PARM_DESC(drain_timeout_ms, "Stalled transitions: how long in-flight calls may take to drain (ms, default 5000)");

struct drvproxy_exclude {
	struct rcu_head rcu;
	char list[];
};

static struct drvproxy_exclude __rcu *drvproxy_exclude;

static int exclude_set(const char *val, const struct kernel_param *kp)
{
	struct drvproxy_exclude *new, *old;
	size_t len = strcspn(val, "\n");

	if (len > PAGE_SIZE / 2) {
		pr_warn("exclude: list longer than %lu characters rejected\n",
			PAGE_SIZE / 2);
		return -EINVAL;
	}
	/* One newline ends the list (echo adds it); a second line is a mistake. */
	if (val[len] && val[len + 1]) {
		pr_warn("exclude: text after a newline rejected\n");
		return -EINVAL;
	}
	new = kzalloc(struct_size(new, list, len + 1), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	memcpy(new->list, val, len);
	mutex_lock(&drvproxy_lock);
	old = rcu_replace_pointer(drvproxy_exclude, new,
				  lockdep_is_held(&drvproxy_lock));
	mutex_unlock(&drvproxy_lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

static int exclude_get(char *buf, const struct kernel_param *kp)
{
	struct drvproxy_exclude *ex;
	int n;

	rcu_read_lock();
	ex = rcu_dereference(drvproxy_exclude);
	n = sysfs_emit(buf, "%s\n", ex ? ex->list : "");
	rcu_read_unlock();
	return n;
}

static const struct kernel_param_ops exclude_ops = {
	.set = exclude_set,
	.get = exclude_get,
};
module_param_cb(exclude, &exclude_ops, NULL, 0644);
MODULE_PARM_DESC(exclude, "Comma-separated driver names that may not use drvproxy (-EPERM)");

static bool name_in_list(const char *name, const char *list)
{
	size_t len = strlen(name);

	while (*list) {
		size_t n = strcspn(list, ",");

		if (n == len && !strncmp(list, name, len))
			return true;
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

/**
 * drvproxy_globally_enabled() - the global switch
 *
 * Return: true when drvproxy is enabled.
 */
bool drvproxy_globally_enabled(void)
{
	return READ_ONCE(drvproxy_param_enabled);
}

/* True when @name is not excluded.  Any context. */
bool drvproxy_enabled_for(const char *name)
{
	struct drvproxy_exclude *ex;
	bool excluded;

	rcu_read_lock();
	ex = rcu_dereference(drvproxy_exclude);
	excluded = ex && name && name_in_list(name, ex->list);
	rcu_read_unlock();
	return !excluded;
}

/**
 * drvproxy_get_features() - is drvproxy usable (IoGetDriverProxyFeatures)
 * @drv: the driver object to ask for, or NULL for the system-wide answer
 * @flags: receives the answer; fully overwritten
 *
 * Never fails.  @flags->enabled is 0 when drvproxy is disabled globally (the
 * "enabled" parameter) or @drv is excluded (the "exclude" parameter).
 *
 * Context: any context, including hard IRQ.
 */
void drvproxy_get_features(const struct drvproxy_driver *drv,
			   union drvproxy_feature_flags *flags)
{
	flags->as_u32 = 0;
	flags->enabled = drvproxy_globally_enabled() &&
			 (!drv || drvproxy_enabled_for(drv->name));
}
EXPORT_SYMBOL_GPL(drvproxy_get_features);

static atomic64_t drvproxy_global_generation = ATOMIC64_INIT(0);

/* Called under an extension's lock for every publish of a real table. */
u64 drvproxy_next_generation(void)
{
	return atomic64_inc_return(&drvproxy_global_generation);
}

/*
 * Like livepatch's K: from now on a driver runs code its own module does
 * not contain, which whoever reads an oops should know.  Sticky: the code
 * that ran may have left its mark after a revert.
 */
void drvproxy_taint(const char *drv, const char *who)
{
	if (test_taint(TAINT_LIVEPATCH))
		return;
	pr_notice("%s: %s replaces its code: this taints kernel (TAINT_LIVEPATCH)\n", drv, who);
	add_taint(TAINT_LIVEPATCH, LOCKDEP_STILL_OK);
}

/**
 * drvproxy_generation() - the global generation number
 *
 * Incremented by every publish of an implementation table in any extension.
 *
 * Context: any context.
 * Return: the number of publishes since drvproxy was loaded.
 */
u64 drvproxy_generation(void)
{
	return atomic64_read(&drvproxy_global_generation);
}
EXPORT_SYMBOL_GPL(drvproxy_generation);

/*
 * Fault injection: every allocation site of drvproxy asks this first, so
 * tests can fail each site in turn with the task's fail-nth counter (the
 * kernel's fault-injection framework) -- also the percpu allocations that
 * failslab does not cover.  Compiled away without CONFIG_FAULT_INJECTION.
 */
#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(drvproxy_fail_attr);

bool drvproxy_fail_alloc(void)
{
	return should_fail(&drvproxy_fail_attr, 1);
}
#else
bool drvproxy_fail_alloc(void)
{
	return false;
}
#endif
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
static struct dentry *drvproxy_fail_dir;
#endif

#if IS_ENABLED(CONFIG_KUNIT)
/* Test hooks: flip the feature switches as the module parameters do. */
void drvproxy_test_set_enabled(bool on)
{
	WRITE_ONCE(drvproxy_param_enabled, on);
}
EXPORT_SYMBOL_IF_KUNIT(drvproxy_test_set_enabled);

int drvproxy_test_set_exclude(const char *list)
{
	return exclude_set(list, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(drvproxy_test_set_exclude);

/*
 * Test points: a KUnit case sets the hook before it starts the threads that
 * reach a point and clears it after they stopped, so a plain READ_ONCE()
 * suffices; the hook finds its own state.
 */
static void (*drvproxy_test_hook)(enum drvproxy_test_point tp);

void drvproxy_test_point(enum drvproxy_test_point tp)
{
	void (*hook)(enum drvproxy_test_point tp) = READ_ONCE(drvproxy_test_hook);

	if (unlikely(hook))
		hook(tp);
}

/**
 * drvproxy_test_set_hook() - set the function called at each test point
 * @hook: called with the point reached, in the context of the thread that
 *	reached it (it may sleep there); NULL for none
 *
 * KUnit only.  Set it before starting the threads that may reach a point,
 * clear it after they stopped.
 */
void drvproxy_test_set_hook(void (*hook)(enum drvproxy_test_point tp))
{
	WRITE_ONCE(drvproxy_test_hook, hook);
}
EXPORT_SYMBOL_IF_KUNIT(drvproxy_test_set_hook);

/**
 * drvproxy_test_retire_flush() - wait until every superseded table is freed
 * @ext: the extension
 *
 * KUnit only.  Context: process context, may sleep; not under ext->lock.
 */
void drvproxy_test_retire_flush(struct drvproxy_extension *ext)
{
	drvproxy_retire_flush(ext);
}
EXPORT_SYMBOL_IF_KUNIT(drvproxy_test_retire_flush);
#endif

const char *drvproxy_module_name(const struct module *mod)
{
	return mod ? mod->name : "vmlinux";
}

static int drvproxy_module_notify(struct notifier_block *nb, unsigned long action,
				  void *data)
{
	if (action == MODULE_STATE_GOING)
		drvproxy_module_going(data);
	return NOTIFY_OK;
}

static struct notifier_block drvproxy_module_nb = {
	.notifier_call = drvproxy_module_notify,
};

static int __init drvproxy_init(void)
{
	int ret;

	ret = drvproxy_sysfs_init();
	if (ret)
		return ret;
	ret = register_module_notifier(&drvproxy_module_nb);
	if (ret)
		goto err_sysfs;
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	drvproxy_fail_dir = fault_create_debugfs_attr("fail_drvproxy", NULL,
						      &drvproxy_fail_attr);
	if (IS_ERR(drvproxy_fail_dir))
		drvproxy_fail_dir = NULL;
#endif
	pr_info("loaded (enabled=%d)\n", drvproxy_globally_enabled());
#ifdef DRVPROXY_BROKEN_SKIP_STALL_DRAIN
	pr_notice("built broken on purpose for testing: stalled transitions do not drain\n");
#endif
	return 0;

err_sysfs:
	drvproxy_sysfs_exit();
	return ret;
}

static void __exit drvproxy_exit(void)
{
	struct drvproxy_exclude *ex;

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	debugfs_remove_recursive(drvproxy_fail_dir);
#endif
	unregister_module_notifier(&drvproxy_module_nb);
	drvproxy_sysfs_exit();
	ex = rcu_dereference_protected(drvproxy_exclude, true);
	RCU_INIT_POINTER(drvproxy_exclude, NULL);
	kfree(ex);
	/* Retire workers of freed extensions may still have RCU callbacks. */
	rcu_barrier();
}

module_init(drvproxy_init);
module_exit(drvproxy_exit);

MODULE_DESCRIPTION("Driver Hot-Swap: live replacement of a driver's endpoints");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
