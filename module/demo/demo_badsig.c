// SPDX-License-Identifier: GPL-2.0
/*
 * demo_badsig.c - drvproxy_demo_badsig.ko: a companion whose replacement has
 * the wrong prototype, for the selftests
 *
 * demo_read takes a size_t count; this "replacement" takes an int.  The
 * layer must be refused with -EINVAL and a message naming both signatures,
 * and nothing may change.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "demo.h"

DRVPROXY_REPLACEMENT(ssize_t, demo_read, demo_badsig_read, struct file *, file,
		     char __user *, buf, int, count, loff_t *, ppos)
{
	return -EIO;
}

static struct drvproxy_layer demo_badsig_layer = {
	DRVPROXY_LAYER(DEMO_NAME, DRVPROXY_MODE_LIVE),
};

static int __init demo_badsig_init(void)
{
	return drvproxy_layer_apply(&demo_badsig_layer);
}

static void __exit demo_badsig_exit(void)
{
	drvproxy_layer_revert(&demo_badsig_layer);
}

module_init(demo_badsig_init);
module_exit(demo_badsig_exit);

MODULE_DESCRIPTION("drvproxy demo test companion with a mismatched signature");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
MODULE_INFO(test, "Y");
