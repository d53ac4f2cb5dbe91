// SPDX-License-Identifier: GPL-2.0
/*
 * demo_v2.c - drvproxy_demo_v2.ko: implementation version 2 of the demo
 * device, swapped in live
 *
 * Replaces three endpoints of drvproxy_demo by name:
 *   demo_read    applies the transform chosen with SET_TRANSFORM
 *   demo_ioctl   reports version 2, accepts SET_TRANSFORM, and fixes
 *                version 1's "opens" bug (files open now, not opens ever)
 *   demo_worker  the worker routine, from its next wake-up on
 * Everything else (open, write, poll, ...) keeps running version 1 code on
 * the same state block.
 *
 * Like samples/livepatch/livepatch-sample.c, init swaps in and exit swaps
 * out; loading fails cleanly when the host is absent, excluded or its
 * signatures differ, and unloading reverts live, also while readers are
 * blocked in read() (their calls are re-dispatched to version 1).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/module.h>

#include "demo.h"

static void demo_v2_transform(u8 *buf, unsigned int n, u32 transform)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		u8 c = buf[i];

		if (transform == DRVPROXY_DEMO_XFORM_UPPER)
			buf[i] = toupper(c);
		else if (transform == DRVPROXY_DEMO_XFORM_ROT13 && isalpha(c))
			buf[i] = (islower(c) ? 'a' : 'A') + (tolower(c) - 'a' + 13) % 26;
	}
}

DRVPROXY_REPLACEMENT(ssize_t, demo_read, demo_v2_read, struct file *, file,
		     char __user *, buf, size_t, count, loff_t *, ppos)
{
	return demo_read_common(__dpx_call, file, buf, count, 2, demo_v2_transform);
}

static long demo_v2_set_transform(struct demo_state *st, u32 __user *arg)
{
	u32 xform;

	if (get_user(xform, arg))
		return -EFAULT;
	if (xform >= DRVPROXY_DEMO_XFORM_MAX)
		return -EINVAL;
	WRITE_ONCE(st->transform, xform);
	return 0;
}

DRVPROXY_REPLACEMENT(long, demo_ioctl, demo_v2_ioctl, struct file *, file,
		     unsigned int, cmd, unsigned long, arg)
{
	struct demo_state *st = demo_st(file);

	switch (cmd) {
	case DRVPROXY_DEMO_GET_INFO:
		return demo_get_info(st, (void __user *)arg, 2, st->opens_now);
	case DRVPROXY_DEMO_RESET:
		return demo_reset(st, arg);
	case DRVPROXY_DEMO_SET_TRANSFORM:
		return demo_v2_set_transform(st, (u32 __user *)arg);
	default:
		return -ENOTTY;
	}
}

DRVPROXY_REPLACEMENT(bool, demo_worker, demo_v2_worker, void *, context, long, status)
{
	demo_worker_tick(context, 2);
	return true;
}

static struct drvproxy_layer demo_v2_layer = {
	DRVPROXY_LAYER(DEMO_NAME, DRVPROXY_MODE_LIVE),
};

static int __init demo_v2_init(void)
{
	return drvproxy_layer_apply(&demo_v2_layer);
}

static void __exit demo_v2_exit(void)
{
	drvproxy_layer_revert(&demo_v2_layer);
}

module_init(demo_v2_init);
module_exit(demo_v2_exit);

MODULE_DESCRIPTION("drvproxy demo companion: implementation version 2");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
