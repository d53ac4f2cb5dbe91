// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - the control for wait_u8.c, wait_nowait.c,
 * wait_nowait_repl.c, wait_nowait_helper.c and wait_noerrno_helper.c: the
 * same swap-aware wait builds in an endpoint, in a replacement and in a
 * helper given the endpoint's __dpx_call, when the return type carries an
 * errno and nothing is declared _NOWAIT; and an endpoint of any kind may
 * still ask drvproxy_call_stale() about its __dpx_call.  Also, that the
 * void endpoints with external linkage or for V1 build.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/module.h>

#include <drvproxy.h>

#include "control.h"

static DECLARE_WAIT_QUEUE_HEAD(bf_wq);
static bool bf_cond;

DRVPROXY_ENDPOINT_MANUAL(int, bf_ep, int, unused)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

static int bf_helper(struct drvproxy_table *__dpx_call)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

DRVPROXY_ENDPOINT_MANUAL(int, bf_ep_helped, int, unused)
{
	return bf_helper(__dpx_call);
}

DRVPROXY_REPLACEMENT_MANUAL(int, bf_ep, bf_ep_v2, int, unused)
{
	return drvproxy_wait_event_interruptible(bf_wq, READ_ONCE(bf_cond));
}

DRVPROXY_ENDPOINT_NOWAIT_MANUAL(int, bf_ep_nowait, int, unused)
{
	return drvproxy_call_stale(__dpx_call) ? 1 : 0;
}

DRVPROXY_ENDPOINT_MANUAL(u8, bf_ep_u8, int, unused)
{
	return drvproxy_call_stale(__dpx_call) ? 1 : 0;
}

DRVPROXY_ENDPOINT_VOID_GLOBAL(bf_void_global, int *, counter)
{
	(*counter)++;
}

DRVPROXY_ENDPOINT_ATOMIC_VOID_GLOBAL(bf_atomic_void_global, int *, counter)
{
	(*counter)++;
}

DRVPROXY_ENDPOINT_ATOMIC_VOID_MANUAL(bf_atomic_void_manual, int *, counter)
{
	(*counter)++;
}

/* Keeps the replacement, so that it is compiled (and its wait checked). */
static drvproxy_fn_t bf_fn;

static int __init bf_init(void)
{
	int n = 0;

	WRITE_ONCE(bf_fn, DRVPROXY_REPL(bf_ep_v2)->fn);
	bf_void_global(&n);
	bf_atomic_void_global(&n);
	bf_atomic_void_manual(&n);
	return bf_ep(0) || bf_ep_helped(0) || bf_ep_nowait(0) || bf_ep_u8(0) ? 0 : 0;
}
module_init(bf_init);

MODULE_DESCRIPTION("drvproxy build-fail control");
MODULE_LICENSE("GPL");
