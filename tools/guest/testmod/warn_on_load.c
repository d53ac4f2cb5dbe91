// SPDX-License-Identifier: GPL-2.0
/*
 * warn_on_load.c - test module for the drvproxy guest runner's self-test.
 *
 * Its init function triggers a kernel WARN and then succeeds, so insmod
 * exits 0.  tools/guest/run.sh must still fail the run because of the
 * splat.  Only ever loaded inside a QEMU guest by tools/guest/selftest.sh.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN(1, "drvproxy runner self-test: deliberate WARN at load\n");
	return 0;
}

static void __exit warn_on_load_exit(void)
{
}

module_init(warn_on_load_init);
module_exit(warn_on_load_exit);

MODULE_DESCRIPTION("drvproxy guest runner self-test: WARN at load");
MODULE_LICENSE("GPL");
