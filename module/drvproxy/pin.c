// SPDX-License-Identifier: GPL-2.0
/*
 * pin.c - code that outlives a call: pins on the modules whose functions
 * were handed out
 *
 * A swap drains calls: once a layer is reverted and no call is inside its
 * implementations, its module can go.  A function the layer's code handed
 * out instead -- a timer or work function, a callback pointer stored in
 * device state -- is called later, from outside any endpoint, and nothing
 * drains it: after rmmod of the companion such a call jumps into freed
 * text (a timer does so in interrupt context).  Either the callback is an
 * endpoint of the host (the host's wrapper is what is handed out, so it
 * always runs the current implementation and is drained like any call), or
 * whoever hands it out pins the module that holds it, here, for as long as
 * the object that holds the pointer lives.  A pinned companion's rmmod
 * fails, "in use" (EAGAIN from delete_module()), and
 * /sys/kernel/drvproxy/pins says what holds it.
 *
 * A pin is a reference on the calling module (try_module_get(); the
 * function must be its own code) plus a record of what took it, by code
 * address.  The timer and work helpers pin at setup and
 * unpin only after the object is dead (timer_shutdown_sync(),
 * cancel_work_sync()), from drvproxy's text, so the pinned module's code
 * never runs after its last reference is dropped.
 *
 * Locking: the records are under pin_lock (a mutex: pins are taken and
 * dropped in process context).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "internal.h"

/* What pinned a module: one record per address (and file). */
struct dpx_pin {
	struct list_head node;
	const void *addr;
	const struct file *file;	/* dropped at its release, or NULL */
	struct module *mod;
	const char *why;
	unsigned int count;
};

static DEFINE_MUTEX(pin_lock);
static LIST_HEAD(pins);		/* under pin_lock */

static struct dpx_pin *pin_find(const void *addr, const struct file *file)
{
	struct dpx_pin *p;

	lockdep_assert_held(&pin_lock);
	list_for_each_entry(p, &pins, node)
		if (p->addr == addr && p->file == file)
			return p;
	return NULL;
}

/* Take a reference on @owner for @addr (and @file); see the callers. */
static int pin_add(const void *addr, const struct file *file, const char *why,
		   struct module *owner)
{
	struct dpx_pin *p, *fresh;

	if (!addr || !owner || !within_module((unsigned long)addr, owner)) {
		pr_err("pin_code: %ps is not in the calling module %s\n", addr,
		       owner ? owner->name : "(built in)");
		return -EINVAL;
	}
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	if (!try_module_get(owner)) {
		kfree(fresh);
		return -ENODEV;
	}
	mutex_lock(&pin_lock);
	p = pin_find(addr, file);
	if (!p) {
		p = fresh;
		fresh = NULL;
		p->addr = addr;
		p->file = file;
		p->mod = owner;
		p->why = why ?: "callback";
		list_add_tail(&p->node, &pins);
	}
	p->count++;
	mutex_unlock(&pin_lock);
	kfree(fresh);
	return 0;
}

/**
 * __drvproxy_pin_code() - keep a module while a function of it is handed
 *	out; use the drvproxy_pin_code() macro
 * @addr: the function (a timer or work function, a stored callback)
 * @why: what holds it, for /sys/kernel/drvproxy/pins (a string literal)
 * @owner: the calling module, which must hold @addr
 *
 * Takes a reference on @owner, so that its rmmod fails ("in use") until
 * drvproxy_unpin_code(@addr) drops it.  Pins on one address nest.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (NULL, or @addr outside @owner's code and data);
 * -ENODEV if @owner is being removed; -ENOMEM.
 */
int __drvproxy_pin_code(const void *addr, const char *why, struct module *owner)
{
	return pin_add(addr, NULL, why, owner);
}
EXPORT_SYMBOL_GPL(__drvproxy_pin_code);

/**
 * drvproxy_unpin_code() - drop a pin of drvproxy_pin_code()
 * @addr: the function pinned
 *
 * Call it once nothing can call @addr any more, and not from the pinned
 * module's own code: the module may be freed as soon as this returns.  An
 * address never pinned (or a function of the kernel itself) is ignored.
 *
 * Context: process context, may sleep.
 */
void drvproxy_unpin_code(const void *addr)
{
	struct module *mod = NULL;
	struct dpx_pin *p;

	mutex_lock(&pin_lock);
	p = pin_find(addr, NULL);
	if (p) {
		mod = p->mod;
		if (!--p->count) {
			list_del(&p->node);
			kfree(p);
		}
	}
	mutex_unlock(&pin_lock);
	if (mod)
		module_put(mod);
}
EXPORT_SYMBOL_GPL(drvproxy_unpin_code);

/**
 * __drvproxy_pin_for_file() - keep a module until a file is closed; use the
 *	drvproxy_pin_for_file() macro
 * @file: a file open on a drvproxy device
 * @addr: code or data of @owner that the file's objects point to (the
 *	vm_operations an mmap implementation installs, a callback)
 * @why: what holds it, for /sys/kernel/drvproxy/pins (a string literal)
 * @owner: the calling module
 *
 * The pin is dropped by drvproxy after the file's release has run, from
 * drvproxy's text.  Right for what lives no longer than the open file: a
 * mapping holds its file, so the file's release comes after the last
 * vm_operations call of every mapping made through it.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (not a drvproxy file, NULL, or @addr outside @owner);
 * -ENODEV if @owner is being removed; -ENOMEM.
 */
int __drvproxy_pin_for_file(struct file *file, const void *addr, const char *why,
			    struct module *owner)
{
	if (!drvproxy_file_is_proxied(file)) {
		pr_err("pin_for_file: not a file of a drvproxy device\n");
		return -EINVAL;
	}
	return pin_add(addr, file, why, owner);
}
EXPORT_SYMBOL_GPL(__drvproxy_pin_for_file);

/* @file has been released: drop every pin taken for it. */
void drvproxy_unpin_file(const struct file *file)
{
	struct dpx_pin *p, *n;
	LIST_HEAD(gone);

	mutex_lock(&pin_lock);
	list_for_each_entry_safe(p, n, &pins, node)
		if (p->file == file)
			list_move(&p->node, &gone);
	mutex_unlock(&pin_lock);
	list_for_each_entry_safe(p, n, &gone, node) {
		while (p->count--)
			module_put(p->mod);
		kfree(p);
	}
}

/**
 * __drvproxy_timer_setup() - timer_setup() that pins the callback's module;
 *	use the drvproxy_timer_setup() macro
 * @timer: the timer
 * @fn: its callback, a function of @owner
 * @flags: TIMER_* flags
 * @owner: the calling module
 *
 * For a timer armed by a companion's code with the companion's own
 * function: the companion cannot be removed until
 * drvproxy_timer_shutdown_sync() ends the timer.
 *
 * Context: process context, may sleep.
 * Return: 0, or the error of drvproxy_pin_code() (the timer is then not
 * set up).
 */
int __drvproxy_timer_setup(struct timer_list *timer, void (*fn)(struct timer_list *),
			   unsigned int flags, struct module *owner)
{
	int ret = __drvproxy_pin_code(fn, "timer", owner);

	if (ret)
		return ret;
	timer_setup(timer, fn, flags);
	return 0;
}
EXPORT_SYMBOL_GPL(__drvproxy_timer_setup);

/**
 * drvproxy_timer_shutdown_sync() - end a timer of drvproxy_timer_setup()
 * @timer: the timer
 *
 * timer_shutdown_sync() (waits for a running callback; re-arming the timer
 * is a no-op from then on), then drops the pin.
 *
 * Context: process context, may sleep; not from the timer's callback.
 */
void drvproxy_timer_shutdown_sync(struct timer_list *timer)
{
	void *fn = timer->function;

	timer_shutdown_sync(timer);
	drvproxy_unpin_code(fn);
}
EXPORT_SYMBOL_GPL(drvproxy_timer_shutdown_sync);

/**
 * __drvproxy_init_work() - INIT_WORK() that pins the work function's module;
 *	use the drvproxy_init_work() macro
 * @work: the work item
 * @fn: its function, a function of @owner
 * @owner: the calling module
 *
 * Context: process context, may sleep.
 * Return: 0, or the error of drvproxy_pin_code() (the work is then not
 * initialised).
 */
int __drvproxy_init_work(struct work_struct *work, work_func_t fn, struct module *owner)
{
	int ret = __drvproxy_pin_code(fn, "work", owner);

	if (ret)
		return ret;
	INIT_WORK(work, fn);
	return 0;
}
EXPORT_SYMBOL_GPL(__drvproxy_init_work);

/**
 * drvproxy_cancel_work_sync() - end a work item of drvproxy_init_work()
 * @work: the work item
 *
 * cancel_work_sync(), then drops the pin.  Stop whatever queues @work (a
 * timer) first: a work queued again after this runs unpinned code.
 *
 * Context: process context, may sleep; not from the work itself.
 * Return: what cancel_work_sync() returned.
 */
bool drvproxy_cancel_work_sync(struct work_struct *work)
{
	work_func_t fn = work->func;
	bool ret = cancel_work_sync(work);

	drvproxy_unpin_code(fn);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_cancel_work_sync);

/*
 * @mod goes away with pins still taken: its init failed after its code
 * armed a timer or handed out a callback (a module's exit cannot run while
 * pinned, unless forced).  Whatever holds those functions will call freed
 * code, and nothing here can stop it: say so, loudly, and drop the
 * records, which name @mod.
 */
void drvproxy_pins_going(struct module *mod)
{
	struct dpx_pin *p, *n;

	mutex_lock(&pin_lock);
	list_for_each_entry_safe(p, n, &pins, node) {
		if (p->mod != mod)
			continue;
		pr_err("module %s goes with %ps still pinned (%s, %u): its caller will run freed code\n",
		       mod->name, p->addr, p->why, p->count);
		list_del(&p->node);
		kfree(p);
	}
	mutex_unlock(&pin_lock);
}

/*
 * How many pins hold @mod until its own code drops them, and the address
 * of one (for a message).  Pins for a file are left out: the file's
 * release drops them.
 */
unsigned int drvproxy_pins_held(const struct module *mod, const void **addr)
{
	struct dpx_pin *p;
	unsigned int n = 0;

	mutex_lock(&pin_lock);
	list_for_each_entry(p, &pins, node) {
		if (p->mod != mod || p->file)
			continue;
		if (!n)
			*addr = p->addr;
		n += p->count;
	}
	mutex_unlock(&pin_lock);
	return n;
}

/*
 * /sys/kernel/drvproxy/pins: one line per pinned address, "<module>
 * <function> <count> <why>"; what a refused rmmod is waiting for.
 */
ssize_t drvproxy_pins_show(char *buf)
{
	char sym[KSYM_SYMBOL_LEN];
	struct dpx_pin *p;
	ssize_t n = 0;

	mutex_lock(&pin_lock);
	list_for_each_entry(p, &pins, node) {
		/* "name [module]": the module has a column of its own. */
		sprint_symbol_no_offset(sym, (unsigned long)p->addr);
		sym[strcspn(sym, " ")] = '\0';
		if (n + strlen(sym) + strlen(p->why) + MODULE_NAME_LEN + 16 >= PAGE_SIZE) {
			n += sysfs_emit_at(buf, n, "...\n");
			break;
		}
		n += sysfs_emit_at(buf, n, "%s %s %u %s\n", p->mod->name, sym, p->count, p->why);
	}
	mutex_unlock(&pin_lock);
	return n;
}
