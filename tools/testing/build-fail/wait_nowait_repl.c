// SPDX-License-Identifier: GPL-2.0
/*
 * wait_nowait_repl.c - a swap-aware wait in a replacement declared _NOWAIT
 * must not build
 * expect: a swap-aware wait needs an endpoint returning int, long or long long
 *
 * Such a replacement may replace a _NOWAIT endpoint, whose wrapper does not
 * re-dispatch.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/module.h>

#include <drvproxy.h>

static DECLARE_WAIT_QUEUE_HEAD(bf_wq);
static bool bf_cond;

DRVPROXY_REPLACEMENT_NOWAIT_MANUAL(int, bf_ep, bf_ep_v2, int, unused)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

/* Keeps the replacement, so that it is compiled (and its wait checked). */
static drvproxy_fn_t bf_fn;

static int __init bf_init(void)
{
	WRITE_ONCE(bf_fn, DRVPROXY_REPL(bf_ep_v2)->fn);
	return 0;
}
module_init(bf_init);

MODULE_DESCRIPTION("drvproxy build-fail: swap-aware wait in a _NOWAIT replacement");
MODULE_LICENSE("GPL");
