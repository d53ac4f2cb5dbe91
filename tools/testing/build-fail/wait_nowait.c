// SPDX-License-Identifier: GPL-2.0
/*
 * wait_nowait.c - a swap-aware wait in an endpoint declared _NOWAIT must not
 * build
 * expect: a swap-aware wait needs an endpoint returning int, long or long long
 *
 * The wrapper of a _NOWAIT endpoint does not re-dispatch, so the
 * DRVPROXY_ERESTART a wait ended by a swap returns would reach the caller.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/module.h>

#include <drvproxy.h>

static DECLARE_WAIT_QUEUE_HEAD(bf_wq);
static bool bf_cond;

DRVPROXY_ENDPOINT_NOWAIT_MANUAL(int, bf_ep, int, unused)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

static int __init bf_init(void)
{
	return bf_ep(0) ? 0 : 0;
}
module_init(bf_init);

MODULE_DESCRIPTION("drvproxy build-fail: swap-aware wait in a _NOWAIT endpoint");
MODULE_LICENSE("GPL");
