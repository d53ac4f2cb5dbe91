// SPDX-License-Identifier: GPL-2.0
/*
 * demo_unwind.c - drvproxy_demo_unwind.ko: a companion whose init fails
 * after it applied its layer, for the selftests
 *
 * Ordinary error unwinding, as any module init does it: apply the layer,
 * meet a later error, revert the layer, return the error.  The kernel
 * frees a module whose init failed whatever its reference count, so
 * nothing may still run its code, and nothing drvproxy keeps about the
 * reverted layer may outlive the failed insmod.
 *
 * To make that a hard test, init waits (up to 2 s) until a reader blocked
 * in read() has been re-dispatched into this module's read, which then
 * stays inside for half a second, long after init reverted and failed.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/module.h>

#include "demo.h"

static DECLARE_WAIT_QUEUE_HEAD(demo_unwind_wq);
static atomic_t demo_unwind_readers = ATOMIC_INIT(0);

/*
 * Not a swap-aware wait: the call stays in this code across the revert.
 * Then it asks to be dispatched again, and the original read serves it.
 */
DRVPROXY_REPLACEMENT(ssize_t, demo_read, demo_unwind_read, struct file *, file,
		     char __user *, buf, size_t, count, loff_t *, ppos)
{
	atomic_inc(&demo_unwind_readers);
	wake_up(&demo_unwind_wq);
	msleep(500);
	return DRVPROXY_ERESTART;
}

static struct drvproxy_layer demo_unwind_layer = {
	DRVPROXY_LAYER(DEMO_NAME, DRVPROXY_MODE_LIVE),
};

static int __init demo_unwind_init(void)
{
	int ret = drvproxy_layer_apply(&demo_unwind_layer);

	if (ret)
		return ret;
	wait_event_timeout(demo_unwind_wq, atomic_read(&demo_unwind_readers), 2 * HZ);
	pr_info("a later init step fails with %d readers inside; unwinding\n",
		atomic_read(&demo_unwind_readers));
	drvproxy_layer_revert(&demo_unwind_layer);
	return -EIO;
}

static void __exit demo_unwind_exit(void)
{
	drvproxy_layer_revert(&demo_unwind_layer);
}

module_init(demo_unwind_init);
module_exit(demo_unwind_exit);

MODULE_DESCRIPTION("drvproxy demo test companion whose init fails after applying");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
MODULE_INFO(test, "Y");
