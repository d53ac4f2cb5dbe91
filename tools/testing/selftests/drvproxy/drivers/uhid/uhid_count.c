// SPDX-License-Identifier: GPL-2.0
/*
 * uhid_count.c - drvproxy_uhid_count.ko: a companion of the converted uhid
 * driver (uhid.patch) that counts the events written to and read from
 * /dev/uhid while it is applied; /sys/module/drvproxy_uhid_count/parameters/
 * writes and reads show the counts.
 *
 * Each replacement calls the implementation below it
 * (DRVPROXY_CALL_BELOW()) and counts what succeeded, so it needs none of
 * uhid's code.  Applied live, or stalled with stalled=1: applying and
 * reverting it while a uhid device sends reports must lose no input event,
 * and a stalled apply must not wait for a reader blocked in uhid's read
 * (test-driver-uhid.sh).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include <drvproxy.h>

static atomic_long_t uhid_count_writes;
static atomic_long_t uhid_count_reads;

static int uhid_count_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops uhid_count_ops = {
	.get = uhid_count_get,
};

module_param_cb(writes, &uhid_count_ops, &uhid_count_writes, 0444);
MODULE_PARM_DESC(writes, "events written to /dev/uhid through this companion");
module_param_cb(reads, &uhid_count_ops, &uhid_count_reads, 0444);
MODULE_PARM_DESC(reads, "events read from /dev/uhid through this companion");

DRVPROXY_REPLACEMENT(ssize_t, uhid_char_write, uhid_count_write, struct file *, file,
		     const char __user *, buffer, size_t, count, loff_t *, ppos)
{
	ssize_t ret = DRVPROXY_CALL_BELOW(uhid_count_write, file, buffer, count, ppos);

	if (ret > 0)
		atomic_long_inc(&uhid_count_writes);
	return ret;
}

DRVPROXY_REPLACEMENT(ssize_t, uhid_char_read, uhid_count_read, struct file *, file,
		     char __user *, buffer, size_t, count, loff_t *, ppos)
{
	ssize_t ret = DRVPROXY_CALL_BELOW(uhid_count_read, file, buffer, count, ppos);

	if (ret > 0)
		atomic_long_inc(&uhid_count_reads);
	return ret;
}

static struct drvproxy_layer uhid_count_layer = {
	DRVPROXY_LAYER("uhid", DRVPROXY_MODE_LIVE),
};

static bool stalled;
module_param(stalled, bool, 0444);
MODULE_PARM_DESC(stalled, "apply and revert in stalled mode (default: live)");

static int __init uhid_count_init(void)
{
	if (stalled)
		uhid_count_layer.mode = DRVPROXY_MODE_STALLED;
	return drvproxy_layer_apply(&uhid_count_layer);
}

static void __exit uhid_count_exit(void)
{
	drvproxy_layer_revert(&uhid_count_layer);
}

module_init(uhid_count_init);
module_exit(uhid_count_exit);

MODULE_DESCRIPTION("drvproxy test companion: event counts for the converted uhid driver");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
