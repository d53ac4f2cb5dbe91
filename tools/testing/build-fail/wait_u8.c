// SPDX-License-Identifier: GPL-2.0
/*
 * wait_u8.c - a swap-aware wait in an endpoint returning u8 must not build
 * expect: a swap-aware wait needs an endpoint returning int, long or long long
 *
 * DRVPROXY_ERESTART truncated to u8 is a value the implementation may
 * return on its own, so the wrapper could never tell a re-dispatch from a
 * result.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/module.h>

#include <drvproxy.h>

static DECLARE_WAIT_QUEUE_HEAD(bf_wq);
static bool bf_cond;

DRVPROXY_ENDPOINT_MANUAL(u8, bf_ep, int, unused)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

static int __init bf_init(void)
{
	return bf_ep(0) ? 0 : 0;
}
module_init(bf_init);

MODULE_DESCRIPTION("drvproxy build-fail: swap-aware wait in a u8 endpoint");
MODULE_LICENSE("GPL");
