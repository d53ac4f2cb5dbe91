// SPDX-License-Identifier: GPL-2.0
/*
 * demo_v3.c - drvproxy_demo_v3.ko: a small companion that stacks on v2
 *
 * Replaces only demo_ioctl (GET_INFO reports version 3; SET_TRANSFORM is
 * still accepted, so v2's read transforms stay usable).  With v2 loaded
 * first, the stack is v1 < v2 < v3: read comes from v2, ioctl from v3.
 * Every rmmod order is defined:
 *   rmmod v3, then v2: ioctl back to v2, then everything back to v1;
 *   rmmod v2 first (the middle layer): read back to v1, ioctl stays v3.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "demo.h"

DRVPROXY_REPLACEMENT(long, demo_ioctl, demo_v3_ioctl, struct file *, file,
		     unsigned int, cmd, unsigned long, arg)
{
	struct demo_state *st = demo_st(file);
	u32 xform;

	switch (cmd) {
	case DRVPROXY_DEMO_GET_INFO:
		return demo_get_info(st, (void __user *)arg, 3, st->opens_now);
	case DRVPROXY_DEMO_RESET:
		return demo_reset(st, arg);
	case DRVPROXY_DEMO_SET_TRANSFORM:
		if (get_user(xform, (u32 __user *)arg))
			return -EFAULT;
		if (xform >= DRVPROXY_DEMO_XFORM_MAX)
			return -EINVAL;
		WRITE_ONCE(st->transform, xform);
		return 0;
	default:
		return -ENOTTY;
	}
}

static struct drvproxy_layer demo_v3_layer = {
	DRVPROXY_LAYER(DEMO_NAME, DRVPROXY_MODE_STALLED),
};

static int __init demo_v3_init(void)
{
	return drvproxy_layer_apply(&demo_v3_layer);
}

static void __exit demo_v3_exit(void)
{
	drvproxy_layer_revert(&demo_v3_layer);
}

module_init(demo_v3_init);
module_exit(demo_v3_exit);

MODULE_DESCRIPTION("drvproxy demo companion: version 3 ioctl, stacks on v2");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
