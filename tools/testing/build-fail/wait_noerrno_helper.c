// SPDX-License-Identifier: GPL-2.0
/*
 * wait_noerrno_helper.c - an endpoint whose return type carries no errno
 * must not pass its __dpx_call to a helper in which a swap-aware wait
 * builds
 * expect: from incompatible pointer type
 *
 * The helper's wait would return DRVPROXY_ERESTART, which the endpoint
 * could not even return intact, to a wrapper that does not re-dispatch.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/module.h>

#include <drvproxy.h>

static DECLARE_WAIT_QUEUE_HEAD(bf_wq);
static bool bf_cond;

static int bf_helper(struct drvproxy_table *__dpx_call)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

DRVPROXY_ENDPOINT_MANUAL(u8, bf_ep, int, unused)
{
	return bf_helper(__dpx_call) ? 1 : 0;
}

static int __init bf_init(void)
{
	return bf_ep(0) ? 0 : 0;
}
module_init(bf_init);

MODULE_DESCRIPTION("drvproxy build-fail: a no-errno endpoint's table passed to a waiting helper");
MODULE_LICENSE("GPL");
