// SPDX-License-Identifier: GPL-2.0
/*
 * swap_kunit.c - KUnit suite drvproxy_swap: companion layers
 *
 * Covers drvproxy_layer_apply() / drvproxy_layer_revert(): live and stalled
 * swaps, the layer stack (revert in the middle, atomic replace), stalled
 * mode holding new callers, the drain timeout, validation errors, the
 * layer state machine and the generation counters.  A registered host
 * driver object per case carries the endpoints (V1 ids 100..), because
 * layers find their target driver by name.  Windows DriverProxy behaviours
 * (windows-driverproxy.md §2), as they apply to swaps:
 *   7  later calls through the existing wrapper reach the new function
 *   9  phases PRE, STALLED, POST of the layer callback
 *   10 a callback error rolls the swap back
 *   12 stalled: no new call proceeds while STALLED runs, waiters are
 *      released afterwards; a drain timeout fails and changes nothing
 *   17 a callback re-entering the extension gets -EDEADLK
 *   21 the replacement's signature must match the endpoint's exactly
 * The TAINT_LIVEPATCH taint of the first apply is checked by taint_kunit.c,
 * a module loaded before any suite here applies a layer.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>

#include "drvproxy_kunit.h"

#define SW_DRV		"dpx_kunit_swap"
#define SW_DRV_NOEXT	"dpx_kunit_swap_noext"
#define SW_X		100
#define SW_Y		101
#define SW_BLOCK	102

struct sw_fixture;
static struct sw_fixture *sw_cur;	/* for the endpoint bodies */

struct sw_fixture {
	struct dpx_host host;
	struct dpx_host noext;
	struct completion gate;		/* dpx_sw_block(1) waits for it */
	atomic_t x_orig_calls;
	atomic_t x_l1_calls;
	struct dpx_thread caller;
	atomic_t caller_calling;	/* bumped by the caller right before its call */
	/* callback record */
	unsigned int nr_phases;
	enum drvproxy_phase phases[8];
	enum drvproxy_phase fail_phase;
	bool start_caller_when_stalled;
	bool caller_slept_while_stalled;
	bool caller_done_while_stalled;
	int x_orig_calls_stalled;
	int x_l1_calls_stalled;
	struct drvproxy_layer *reenter_revert;
	int reenter_revert_ret;
	int reenter_register_ret;
	/* a call from hard IRQ while STALLED runs */
	bool irq_call_when_stalled;
	struct hrtimer timer;
	struct completion irq_done;
	bool irq_in_hardirq;
	int irq_result;
	bool irq_fired;
};

DRVPROXY_ENDPOINT_MANUAL(int, dpx_sw_x, int, a)
{
	if (sw_cur)
		atomic_inc(&sw_cur->x_orig_calls);
	return 100;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_sw_y, int, a)
{
	return 200;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_sw_block, int, wait)
{
	if (wait)
		wait_for_completion(&sw_cur->gate);
	return 300;
}

/* A V1 replacement of dpx_sw_x's original. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_sw_x_v1, int, a)
{
	return 110;
}

/* Registered from a callback to show re-entry is refused. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_sw_extra, int, a)
{
	return 400;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_x, dpx_sw_x_l1, int, a)
{
	if (sw_cur)
		atomic_inc(&sw_cur->x_l1_calls);
	return 101;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_x, dpx_sw_x_l2, int, a)
{
	return 102;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_x, dpx_sw_x_l3, int, a)
{
	return 103;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_y, dpx_sw_y_l1, int, a)
{
	return 201;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_y, dpx_sw_y_l2, int, a)
{
	return 202;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_block, dpx_sw_block_l1, int, wait)
{
	return 301;
}

/* Same types as dpx_sw_y, another parameter name: a match. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_y, dpx_sw_y_renamed, int, other_name)
{
	return 209;
}

/* Same target, but the parameter is long: a signature mismatch. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_x, dpx_sw_x_badsig, long, a)
{
	return 109;
}

/* Targets an endpoint the driver does not have. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sw_nosuch, dpx_sw_nosuch_l1, int, a)
{
	return 0;
}

/* Replacement lists, NULL-terminated for sw_new(). */
static const struct drvproxy_replacement *const sw_x1[] = { DRVPROXY_REPL(dpx_sw_x_l1), NULL };
static const struct drvproxy_replacement *const sw_x3[] = { DRVPROXY_REPL(dpx_sw_x_l3), NULL };
static const struct drvproxy_replacement *const sw_block1[] = {
	DRVPROXY_REPL(dpx_sw_block_l1), NULL,
};

static const struct drvproxy_replacement *const sw_xy1[] = {
	DRVPROXY_REPL(dpx_sw_x_l1), DRVPROXY_REPL(dpx_sw_y_l1), NULL,
};

static const struct drvproxy_replacement *const sw_xy2[] = {
	DRVPROXY_REPL(dpx_sw_x_l2), DRVPROXY_REPL(dpx_sw_y_l2), NULL,
};

static const struct drvproxy_replacement *const sw_y2[] = { DRVPROXY_REPL(dpx_sw_y_l2), NULL };
static const struct drvproxy_replacement *const sw_badsig[] = {
	DRVPROXY_REPL(dpx_sw_x_badsig), NULL,
};

static const struct drvproxy_replacement *const sw_unknown[] = {
	DRVPROXY_REPL(dpx_sw_x_l1), DRVPROXY_REPL(dpx_sw_nosuch_l1), NULL,
};

static const struct drvproxy_replacement *const sw_twice[] = {
	DRVPROXY_REPL(dpx_sw_x_l1), DRVPROXY_REPL(dpx_sw_x_l2), NULL,
};

static const struct drvproxy_replacement *const sw_y_renamed[] = {
	DRVPROXY_REPL(dpx_sw_y_renamed), NULL,
};

/* Two entries, the second NULL: malformed. */
static const struct drvproxy_replacement *const sw_null_entry[] = {
	DRVPROXY_REPL(dpx_sw_x_l1), NULL,
};

static int sw_init(struct kunit *test)
{
	struct sw_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct drvproxy_endpoint_info info[] = {
		{ .id = SW_X, .endpoint = DRVPROXY_DESC(dpx_sw_x) },
		{ .id = SW_Y, .endpoint = DRVPROXY_DESC(dpx_sw_y) },
		{ .id = SW_BLOCK, .endpoint = DRVPROXY_DESC(dpx_sw_block) },
	};

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	init_completion(&f->gate);
	f->fail_phase = DRVPROXY_PHASE_MAX;
	sw_cur = f;
	dpx_host_init(test, &f->host, SW_DRV, true);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->host.ext, info, ARRAY_SIZE(info),
							  NULL, NULL), 0);
	return 0;
}

static void sw_exit(struct kunit *test)
{
	struct sw_fixture *f = test->priv;

	complete_all(&f->gate);
	dpx_thread_stop(&f->caller);
	dpx_host_exit(&f->host);
	dpx_host_exit(&f->noext);
	sw_cur = NULL;
}

static struct drvproxy_layer *sw_layer(struct sw_fixture *f, enum drvproxy_mode mode,
				       const struct drvproxy_replacement *const *r,
				       unsigned int nr)
{
	return dpx_layer_new(&f->host, mode, r, nr);
}

/* A layer of the NULL-terminated replacement list @r. */
static struct drvproxy_layer *sw_new(struct sw_fixture *f, enum drvproxy_mode mode,
				     const struct drvproxy_replacement *const *r)
{
	unsigned int n = 0;

	while (r[n])
		n++;
	return sw_layer(f, mode, r, n);
}

static long sw_call_x(void *arg)
{
	struct sw_fixture *f = arg;

	atomic_inc(&f->caller_calling);
	return dpx_sw_x(0);
}

static long sw_call_block(void *arg)
{
	return dpx_sw_block(1);
}

static enum hrtimer_restart sw_timer_fn(struct hrtimer *timer)
{
	struct sw_fixture *f = container_of(timer, struct sw_fixture, timer);

	f->irq_in_hardirq = in_hardirq();
	f->irq_result = dpx_sw_x(0);
	complete(&f->irq_done);
	return HRTIMER_NORESTART;
}

/* Call dpx_sw_x() once from a hard-IRQ hrtimer; true when it ran. */
static bool sw_call_from_hardirq(struct sw_fixture *f)
{
	bool fired;

	init_completion(&f->irq_done);
	dpx_hrtimer_setup(&f->timer, sw_timer_fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	hrtimer_start(&f->timer, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
	fired = wait_for_completion_timeout(&f->irq_done, 5 * HZ) > 0;
	hrtimer_cancel(&f->timer);
	return fired;
}

static int sw_callback(enum drvproxy_phase phase, void *context)
{
	struct sw_fixture *f = context;

	if (f->nr_phases < ARRAY_SIZE(f->phases))
		f->phases[f->nr_phases++] = phase;
	if (phase == DRVPROXY_PHASE_STALLED && f->start_caller_when_stalled &&
	    !dpx_thread_start(&f->caller, sw_call_x, f, "dpx-sw-call")) {
		/*
		 * The caller must block at wrapper entry, not run any
		 * implementation.  Positive signal first: it began its call
		 * and then sleeps uninterruptibly, which it does only where
		 * the stall holds it (the implementation never sleeps).  Only
		 * then the negative claims: not returned, nothing ran.
		 */
		f->caller_slept_while_stalled =
			DPX_POLL(atomic_read(&f->caller_calling) == 1, 5000) &&
			dpx_thread_sleeps(&f->caller, TASK_UNINTERRUPTIBLE, 5000);
		f->caller_done_while_stalled = dpx_thread_done(&f->caller);
		f->x_orig_calls_stalled = atomic_read(&f->x_orig_calls);
		f->x_l1_calls_stalled = atomic_read(&f->x_l1_calls);
	}
	if (phase == DRVPROXY_PHASE_STALLED && f->irq_call_when_stalled) {
		f->irq_fired = sw_call_from_hardirq(f);
		f->x_orig_calls_stalled = atomic_read(&f->x_orig_calls);
	}
	if (phase == DRVPROXY_PHASE_PRE && f->reenter_revert) {
		f->reenter_revert_ret = drvproxy_layer_revert(f->reenter_revert);
		f->reenter_register_ret = dpx_register_one(f->host.ext, 150,
							   DRVPROXY_DESC(dpx_sw_extra));
	}
	return phase == f->fail_phase ? -ENOTRECOVERABLE : 0;
}

/* A live apply serves the new implementation from the moment it returns. */
static void live_apply_serves_new_implementation_immediately(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);

	KUNIT_ASSERT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, SW_X), 1ULL);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, SW_Y), 0ULL);
}

/* Reverting the layer returns every endpoint it changed to the original. */
static void revert_returns_to_original_implementation(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_xy1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_ASSERT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_ASSERT_EQ(test, dpx_sw_y(0), 201);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, SW_X), 2ULL);
	/* A reverted layer is no longer applied. */
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOENT);
}

/*
 * Three stacked layers: L1 {x, y}, L2 {x, y}, L3 {x}.  Reverting the middle
 * one leaves x on top (L3) and y on the bottom (L1); then the others go.
 */
static void stack_of_three_revert_middle_keeps_top_and_bottom(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l1 = sw_new(f, DRVPROXY_MODE_LIVE, sw_xy1);
	struct drvproxy_layer *l2 = sw_new(f, DRVPROXY_MODE_LIVE, sw_xy2);
	struct drvproxy_layer *l3 = sw_new(f, DRVPROXY_MODE_LIVE, sw_x3);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l1), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l2), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l3), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 103);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 202);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l2), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 103);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 201);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l3), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 201);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l1), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
}

/* Reverting the bottom layer first keeps the ones above it. */
static void revert_bottom_layer_keeps_layers_above(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l1 = sw_new(f, DRVPROXY_MODE_LIVE, sw_xy1);
	struct drvproxy_layer *l2 = sw_new(f, DRVPROXY_MODE_LIVE, sw_y2);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l1), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l2), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l1), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 202);
}

/*
 * An atomic replace drops every earlier layer: their endpoints that the new
 * layer does not cover return to the original, and the dropped layers can
 * no longer be reverted.
 */
static void atomic_replace_drops_earlier_layers(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l1 = sw_new(f, DRVPROXY_MODE_LIVE, sw_xy1);
	struct drvproxy_layer *l2 = sw_new(f, DRVPROXY_MODE_LIVE, sw_y2);
	struct drvproxy_layer *l3 = sw_new(f, DRVPROXY_MODE_LIVE, sw_x3);

	l3->replace = true;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l1), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l2), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l3), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 103);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);

	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l1), -ENOENT);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l2), -ENOENT);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 103);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l3), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
}

/*
 * Stalled mode: a call made while the STALLED callback runs blocks at
 * wrapper entry (it runs no implementation), and once the new table is
 * published it is released into the new implementation.
 */
static void stalled_apply_blocks_new_callers_until_publish(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_STALLED, sw_x1);

	l->callback = sw_callback;
	l->context = f;
	f->start_caller_when_stalled = true;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);

	KUNIT_EXPECT_EQ(test, f->nr_phases, 3U);
	KUNIT_EXPECT_TRUE(test, f->caller_slept_while_stalled);
	KUNIT_EXPECT_FALSE(test, f->caller_done_while_stalled);
	KUNIT_EXPECT_EQ(test, f->x_orig_calls_stalled, 0);
	KUNIT_EXPECT_EQ(test, f->x_l1_calls_stalled, 0);

	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 101L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->x_orig_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->x_l1_calls), 1);
}

/*
 * A stalled apply whose STALLED callback fails releases the callers it held
 * into the old implementation, and changes nothing.
 */
static void stalled_apply_failure_releases_waiters_into_old_implementation(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_STALLED, sw_x1);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	l->callback = sw_callback;
	l->context = f;
	f->start_caller_when_stalled = true;
	f->fail_phase = DRVPROXY_PHASE_STALLED;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENOTRECOVERABLE);
	KUNIT_EXPECT_TRUE(test, f->caller_slept_while_stalled);
	KUNIT_EXPECT_FALSE(test, f->caller_done_while_stalled);

	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 100L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->x_l1_calls), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOENT);
}

/*
 * A V1 re-registration replaces the base implementation under the layers:
 * the layer stays on top, and reverting it reveals the new base.
 */
static void v1_replacement_keeps_layers_on_top(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_xy1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, SW_X, DRVPROXY_DESC(dpx_sw_x_v1)),
			0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 201);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 110);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
}

/*
 * Stalled mode with a call stuck in the old implementation: the layer's
 * drain_timeout_ms (not the 5 s module default) expires, apply returns
 * -ETIMEDOUT and nothing changed; the stuck call finishes in the old code.
 */
static void stalled_drain_timeout_returns_etimedout_and_changes_nothing(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_STALLED, sw_block1);
	u64 gen, global;
	ktime_t t0;
	s64 ms;

	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, sw_call_block, f, "dpx-sw-block"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, SW_BLOCK) == 1, 5000));
	gen = drvproxy_extension_generation(f->host.ext);
	global = drvproxy_generation();

	l->drain_timeout_ms = 50;
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ETIMEDOUT);
	ms = ktime_ms_delta(ktime_get(), t0);
	KUNIT_EXPECT_LT(test, ms, 4000LL);

	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), global);
	KUNIT_EXPECT_EQ(test, dpx_sw_block(0), 300);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, SW_BLOCK), 0ULL);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOENT);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->caller));

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 300L);

	/* With nothing in flight a fresh layer applies stalled. */
	l = sw_new(f, DRVPROXY_MODE_STALLED, sw_block1);
	l->drain_timeout_ms = 50;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_block(0), 301);
}

/*
 * A live apply does not wait for a call in flight: it returns at once, new
 * calls run the new code, the running call finishes in the old code.
 */
static void live_apply_does_not_wait_for_calls_in_flight(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_block1);

	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, sw_call_block, f, "dpx-sw-block"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, SW_BLOCK) == 1, 5000));

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_block(0), 301);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->host.ext, SW_BLOCK), 1ULL);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->caller));

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 300L);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, SW_BLOCK) == 0, 5000));
}

/*
 * A layer for a driver that is not registered, or has no extension, is
 * -ENODEV (the API's choice over -ENOENT: a module init returning -ENOENT
 * makes insmod report an unknown symbol); nothing changes.
 */
static void apply_to_unknown_driver_returns_enodev(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	u64 global = drvproxy_generation();

	l->target = "dpx_kunit_no_such_driver";
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENODEV);

	dpx_host_init(test, &f->noext, SW_DRV_NOEXT, false);
	l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	l->target = SW_DRV_NOEXT;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENODEV);

	KUNIT_EXPECT_EQ(test, drvproxy_generation(), global);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
}

/*
 * A driver that names its companions (&drvproxy_driver.companions) refuses
 * a layer of any other module with -EPERM and changes nothing; it accepts
 * one it names.
 */
static void apply_from_module_not_in_companions_returns_eperm(struct kunit *test)
{
	static const char *const others[] = { "dpx_kunit_other", NULL };
	/* The layers of this suite belong to this module. */
	static const char *const mine[] = { "dpx_kunit_other", KBUILD_MODNAME, NULL };
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	f->host.drv->companions = others;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EPERM);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);

	f->host.drv->companions = mine;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), 0);
	f->host.drv->companions = NULL;
}

/* A replacement naming an endpoint the driver lacks is -ENOENT; nothing applies. */
static void apply_with_unknown_endpoint_name_returns_enoent(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_unknown);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENOENT);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOENT);
}

/* A replacement whose signature differs from the endpoint's is -EINVAL. */
static void apply_with_signature_mismatch_returns_einval(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_badsig);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
}

/* Signatures compare types only: a replacement may name its parameters freely. */
static void apply_with_other_parameter_names_matches(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_y_renamed);

	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 209);
}

/*
 * A copy of @r flagged as make companion flags an image's replacements,
 * in the test's memory (a layer keeps pointers to its replacements).
 */
static const struct drvproxy_replacement *sw_flagged(struct kunit *test,
						     const struct drvproxy_replacement *r,
						     unsigned long flags)
{
	struct drvproxy_replacement *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	*c = *r;
	c->flags |= flags;
	return c;
}

/*
 * Replacements marked unreachable or unchanged are not installed; the
 * others of the same layer are; a layer with nothing else is -EINVAL.
 */
static void apply_skips_unreachable_and_unchanged_replacements(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	const struct drvproxy_replacement **r = kunit_kcalloc(test, 2, sizeof(*r), GFP_KERNEL);
	struct drvproxy_layer *l;
	u64 gen;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r[0] = sw_flagged(test, DRVPROXY_REPL(dpx_sw_x_l1), DRVPROXY_REPL_UNREACHABLE);
	r[1] = sw_flagged(test, DRVPROXY_REPL(dpx_sw_y_l1), 0);
	l = sw_layer(f, DRVPROXY_MODE_LIVE, r, 2);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 201);
	KUNIT_EXPECT_EQ(test, l->nr_unreachable, 1U);
	KUNIT_EXPECT_EQ(test, l->nr_unchanged, 0U);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, SW_X), 0ULL);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);

	r = kunit_kcalloc(test, 2, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r[0] = sw_flagged(test, DRVPROXY_REPL(dpx_sw_x_l1), DRVPROXY_REPL_UNREACHABLE);
	r[1] = sw_flagged(test, DRVPROXY_REPL(dpx_sw_y_l1), DRVPROXY_REPL_UNCHANGED);
	l = sw_layer(f, DRVPROXY_MODE_LIVE, r, 2);
	gen = drvproxy_extension_generation(f->host.ext);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);
	KUNIT_EXPECT_EQ(test, l->nr_unreachable, 1U);
	KUNIT_EXPECT_EQ(test, l->nr_unchanged, 1U);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
}

/* Apply @f's layer of sw_x1 with the single link @b; its result. */
static int sw_apply_linked(struct sw_fixture *f, const struct drvproxy_binding *b)
{
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);

	l->bindings = b;
	l->nr_bindings = 1;
	return drvproxy_layer_apply(l);
}

/*
 * An image's links to the running driver are checked before anything is
 * installed: one never resolved (NULL), one that is not the start of the
 * named symbol, and one outside the driver's module are -EINVAL with
 * nothing changed; the right one applies.
 */
static void apply_checks_links_to_the_running_driver(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_binding *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	KUNIT_ASSERT_NOT_NULL(test, b);
	b->name = "sw_callback";
	KUNIT_EXPECT_EQ(test, sw_apply_linked(f, b), -EINVAL);
	b->addr = (const char *)sw_callback + 1;
	KUNIT_EXPECT_EQ(test, sw_apply_linked(f, b), -EINVAL);
	b->name = "sw_call_x";
	b->addr = sw_callback;
	KUNIT_EXPECT_EQ(test, sw_apply_linked(f, b), -EINVAL);
	b->name = "drvproxy_layer_apply";
	b->addr = drvproxy_layer_apply;
	KUNIT_EXPECT_EQ(test, sw_apply_linked(f, b), -EINVAL);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	if (!IS_ENABLED(CONFIG_KALLSYMS))
		kunit_skip(test, "no CONFIG_KALLSYMS: every link is refused");
	b->name = "sw_callback";
	b->addr = sw_callback;
	KUNIT_EXPECT_EQ(test, sw_apply_linked(f, b), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
}

/* A layer is applied once: again while applied, or after a revert, is -EBUSY. */
static void apply_same_layer_twice_returns_ebusy(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	u64 gen;

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	gen = drvproxy_extension_generation(f->host.ext);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EBUSY);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EBUSY);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
}

/*
 * Malformed layers are -EINVAL: no layer, no target, no owner, an unknown
 * mode, no replacements, a NULL entry, or one endpoint replaced twice.
 */
static void apply_malformed_layer_returns_einval(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l;

	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(NULL), -EINVAL);

	l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	l->target = NULL;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	l->owner = NULL;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	l->mode = 7;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	l = sw_layer(f, DRVPROXY_MODE_LIVE, sw_x1, 0);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	l = sw_layer(f, DRVPROXY_MODE_LIVE, NULL, 0);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	l = sw_layer(f, DRVPROXY_MODE_LIVE, sw_null_entry, 2);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	l = sw_new(f, DRVPROXY_MODE_LIVE, sw_twice);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);

	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(NULL), -ENOENT);
}

/*
 * Every successful apply or revert moves the extension's generation by
 * exactly one and the global generation forward; failed ones move neither.
 */
static void generations_increase_monotonically(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_extension *ext = f->host.ext;
	struct drvproxy_layer *live = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);
	struct drvproxy_layer *stalled = sw_new(f, DRVPROXY_MODE_STALLED, sw_y2);
	struct drvproxy_layer *bad = sw_new(f, DRVPROXY_MODE_LIVE, sw_unknown);
	u64 e = drvproxy_extension_generation(ext), g = drvproxy_generation(), g2;

	KUNIT_EXPECT_GE(test, e, 1ULL);
	KUNIT_EXPECT_GE(test, g, e);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(live), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), e + 1);
	g2 = drvproxy_generation();
	KUNIT_EXPECT_GT(test, g2, g);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(stalled), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), e + 2);
	KUNIT_EXPECT_GT(test, drvproxy_generation(), g2);
	g2 = drvproxy_generation();

	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(bad), -ENOENT);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), e + 2);
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), g2);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(live), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), e + 3);
	KUNIT_EXPECT_GT(test, drvproxy_generation(), g2);
	g2 = drvproxy_generation();

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(stalled), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), e + 4);
	KUNIT_EXPECT_GT(test, drvproxy_generation(), g2);
}

static const enum drvproxy_phase sw_fail_phases[] = {
	DRVPROXY_PHASE_PRE, DRVPROXY_PHASE_STALLED, DRVPROXY_PHASE_POST,
};

static void sw_phase_desc(const enum drvproxy_phase *p, char *desc)
{
	static const char * const names[] = { "PRE", "STALLED", "POST" };

	strscpy(desc, names[*p], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sw_fail_phase, sw_fail_phases, sw_phase_desc);

/*
 * A stalled apply whose callback fails in any phase returns the error, runs
 * no later phase and leaves the old implementation served; the layer is not
 * applied and the stack is unchanged.
 */
static void apply_callback_error_rolls_back(struct kunit *test)
{
	const enum drvproxy_phase *phase = test->param_value;
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *below = sw_new(f, DRVPROXY_MODE_LIVE, sw_y2);
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_STALLED, sw_xy1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(below), 0);
	l->callback = sw_callback;
	l->context = f;
	f->fail_phase = *phase;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, f->nr_phases, (unsigned int)*phase + 1);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 202);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOENT);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, SW_X), 0ULL);
	/* The layer below is still applied and still revertible. */
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(below), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 200);
}

/* A failing revert callback keeps the layer applied; a later revert works. */
static void revert_callback_error_keeps_layer_applied(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_STALLED, sw_x1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	l->revert_callback = sw_callback;
	l->context = f;
	f->fail_phase = DRVPROXY_PHASE_PRE;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	f->fail_phase = DRVPROXY_PHASE_MAX;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 100);
}

/*
 * A layer callback that reverts a layer of the same driver, or registers
 * into the same extension, gets -EDEADLK; the apply itself succeeds.
 */
static void layer_callback_reentering_extension_returns_edeadlk(struct kunit *test)
{
	struct sw_fixture *f = test->priv;
	struct drvproxy_layer *below = sw_new(f, DRVPROXY_MODE_LIVE, sw_y2);
	struct drvproxy_layer *l = sw_new(f, DRVPROXY_MODE_LIVE, sw_x1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(below), 0);
	l->callback = sw_callback;
	l->context = f;
	f->reenter_revert = below;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, f->reenter_revert_ret, -EDEADLK);
	KUNIT_EXPECT_EQ(test, f->reenter_register_ret, -EDEADLK);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->host.ext, 150));
	KUNIT_EXPECT_EQ(test, dpx_sw_x(0), 101);
	KUNIT_EXPECT_EQ(test, dpx_sw_y(0), 202);
}

static struct kunit_case drvproxy_swap_cases[] = {
	KUNIT_CASE(live_apply_serves_new_implementation_immediately),
	KUNIT_CASE(revert_returns_to_original_implementation),
	KUNIT_CASE(stack_of_three_revert_middle_keeps_top_and_bottom),
	KUNIT_CASE(revert_bottom_layer_keeps_layers_above),
	KUNIT_CASE(atomic_replace_drops_earlier_layers),
	KUNIT_CASE(stalled_apply_blocks_new_callers_until_publish),
	KUNIT_CASE(stalled_apply_failure_releases_waiters_into_old_implementation),
	KUNIT_CASE(v1_replacement_keeps_layers_on_top),
	KUNIT_CASE(stalled_drain_timeout_returns_etimedout_and_changes_nothing),
	KUNIT_CASE(live_apply_does_not_wait_for_calls_in_flight),
	KUNIT_CASE(apply_to_unknown_driver_returns_enodev),
	KUNIT_CASE(apply_from_module_not_in_companions_returns_eperm),
	KUNIT_CASE(apply_with_unknown_endpoint_name_returns_enoent),
	KUNIT_CASE(apply_with_signature_mismatch_returns_einval),
	KUNIT_CASE(apply_with_other_parameter_names_matches),
	KUNIT_CASE(apply_skips_unreachable_and_unchanged_replacements),
	KUNIT_CASE(apply_checks_links_to_the_running_driver),
	KUNIT_CASE(apply_same_layer_twice_returns_ebusy),
	KUNIT_CASE(apply_malformed_layer_returns_einval),
	KUNIT_CASE(generations_increase_monotonically),
	KUNIT_CASE_PARAM(apply_callback_error_rolls_back, sw_fail_phase_gen_params),
	KUNIT_CASE(revert_callback_error_keeps_layer_applied),
	KUNIT_CASE(layer_callback_reentering_extension_returns_edeadlk),
	{}
};

static struct kunit_suite drvproxy_swap_suite = {
	.name = "drvproxy_swap",
	.init = sw_init,
	.exit = sw_exit,
	.test_cases = drvproxy_swap_cases,
};

kunit_test_suites(&drvproxy_swap_suite);
