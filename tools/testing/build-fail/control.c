// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - the control for wait_u8.c: the same swap-aware wait in an
 * endpoint whose return type carries an errno builds.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/module.h>

#include <drvproxy.h>

static DECLARE_WAIT_QUEUE_HEAD(bf_wq);
static bool bf_cond;

DRVPROXY_ENDPOINT_MANUAL(int, bf_ep, int, unused)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

static int __init bf_init(void)
{
	return bf_ep(0) ? 0 : 0;
}
module_init(bf_init);

MODULE_DESCRIPTION("drvproxy build-fail control");
MODULE_LICENSE("GPL");
