// SPDX-License-Identifier: GPL-2.0
/*
 * demo_unwind.c - drvproxy_demo_unwind.ko: a companion whose init fails
 * after it applied its layer, for the selftests
 *
 * Ordinary error unwinding, as any module init does it: apply the layer,
 * meet a later error, revert the layer, return the error.  The kernel
 * frees a module whose init failed whatever its reference count, so
 * nothing drvproxy keeps about the reverted layer may outlive the failed
 * insmod: the load must fail with -EIO and the kernel carry on.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "demo.h"

DRVPROXY_REPLACEMENT(loff_t, demo_llseek, demo_unwind_llseek, struct file *, file,
		     loff_t, offset, int, whence)
{
	return -ESPIPE;
}

static struct drvproxy_layer demo_unwind_layer = {
	DRVPROXY_LAYER(DEMO_NAME, DRVPROXY_MODE_LIVE),
};

static int __init demo_unwind_init(void)
{
	int ret = drvproxy_layer_apply(&demo_unwind_layer);

	if (ret)
		return ret;
	pr_info("a later init step fails; unwinding\n");
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
