// SPDX-License-Identifier: GPL-2.0
/*
 * wait_kunit.c - KUnit suite drvproxy_wait: swap-aware waits
 *
 * A call sleeps in drvproxy_wait_event_interruptible() inside the original
 * implementation.  A swap must not wait for it: apply (live or stalled)
 * returns while the call still sleeps, the wait ends with
 * DRVPROXY_ERESTART, the wrapper re-dispatches the same call to the new
 * implementation, and when the condition becomes true the call completes
 * there, leaving nothing in flight.  The same for revert.  The replacement
 * waits with drvproxy_wait_event_killable(), so both forms are exercised.
 * Windows DriverProxy behaviours (windows-driverproxy.md §2):
 *   12 the drain waits for calls in flight -- except calls parked in a
 *      swap-aware wait, which drvproxy moves to the new code instead
 *   13 entry/exit counting: nothing is left in flight afterwards
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/ktime.h>
#include <linux/wait.h>

#include "drvproxy_kunit.h"

#define WT_DRV		"dpx_kunit_wait"
#define WT_ID		120

enum { WT_ORIG, WT_REPL, WT_NR };

struct wt_fixture {
	struct dpx_host host;
	wait_queue_head_t wq;
	bool cond;
	atomic_t entered[WT_NR];
	atomic_t left[WT_NR];
	int last_ret[WT_NR];
	struct dpx_thread sleeper;
	bool fail_stalled;
	/* The original lingers after a wait ended by a swap, until released. */
	bool linger;
	struct completion lingered;
};

static struct wt_fixture *wt_cur;	/* for the endpoint bodies */

DRVPROXY_ENDPOINT_MANUAL(int, dpx_wt_ep, int, unused)
{
	struct wt_fixture *f = wt_cur;
	int ret;

	atomic_inc(&f->entered[WT_ORIG]);
	ret = drvproxy_wait_event_interruptible(f->wq, READ_ONCE(f->cond));
	f->last_ret[WT_ORIG] = ret;
	atomic_inc(&f->left[WT_ORIG]);
	if (ret == DRVPROXY_ERESTART && f->linger) {
		f->linger = false;
		wait_for_completion(&f->lingered);
	}
	return ret ? ret : 1;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_wt_ep, dpx_wt_repl, int, unused)
{
	struct wt_fixture *f = wt_cur;
	int ret;

	atomic_inc(&f->entered[WT_REPL]);
	ret = drvproxy_wait_event_killable(f->wq, READ_ONCE(f->cond));
	f->last_ret[WT_REPL] = ret;
	atomic_inc(&f->left[WT_REPL]);
	return ret ? ret : 2;
}

static const struct drvproxy_replacement *const wt_repls[] = {
	DRVPROXY_REPL(dpx_wt_repl),
};

static int wt_init(struct kunit *test)
{
	struct wt_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	init_waitqueue_head(&f->wq);
	init_completion(&f->lingered);
	wt_cur = f;
	dpx_host_init(test, &f->host, WT_DRV, true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, WT_ID, DRVPROXY_DESC(dpx_wt_ep)), 0);
	return 0;
}

static void wt_release(struct wt_fixture *f)
{
	WRITE_ONCE(f->cond, true);
	wake_up_all(&f->wq);
}

static void wt_exit(struct kunit *test)
{
	struct wt_fixture *f = test->priv;

	wt_release(f);
	complete_all(&f->lingered);
	dpx_thread_stop(&f->sleeper);
	dpx_host_exit(&f->host);
	wt_cur = NULL;
}

static long wt_call(void *arg)
{
	return dpx_wt_ep(0);
}

/* Start the sleeper and wait until it sleeps inside implementation @impl. */
static void wt_start_sleeper(struct kunit *test, struct wt_fixture *f, int impl)
{
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->sleeper, wt_call, f, "dpx-wt-sleep"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(&f->entered[impl]) == 1, 5000));
	KUNIT_ASSERT_TRUE(test, dpx_thread_sleeps(&f->sleeper, TASK_INTERRUPTIBLE |
						  TASK_UNINTERRUPTIBLE, 5000));
	KUNIT_ASSERT_EQ(test, dpx_in_flight(f->host.ext, WT_ID), 1ULL);
}

/* After a swap the sleeper must be parked again, in implementation @impl. */
static void wt_expect_moved(struct kunit *test, struct wt_fixture *f, int from, int to,
			    int entered_to)
{
	KUNIT_EXPECT_TRUE(test, DPX_POLL(atomic_read(&f->entered[to]) == entered_to, 5000));
	/* Every earlier stay in @from ended; when @to == @from one is still on. */
	KUNIT_EXPECT_EQ(test, atomic_read(&f->left[from]),
			atomic_read(&f->entered[from]) - (from == to));
	KUNIT_EXPECT_EQ(test, f->last_ret[from], DRVPROXY_ERESTART);
	KUNIT_EXPECT_TRUE(test, dpx_thread_sleeps(&f->sleeper, TASK_INTERRUPTIBLE |
						  TASK_UNINTERRUPTIBLE, 5000));
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->sleeper));
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->host.ext, WT_ID), 1ULL);
}

/* Make the condition true and check where the call completed. */
static void wt_finish(struct kunit *test, struct wt_fixture *f, long result)
{
	wt_release(f);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->sleeper, 5000));
	KUNIT_EXPECT_EQ(test, f->sleeper.result, result);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, WT_ID) == 0, 5000));
}

/* Without a swap the wait simply ends in the same implementation. */
static void wait_without_swap_completes_in_same_implementation(struct kunit *test)
{
	struct wt_fixture *f = test->priv;

	wt_start_sleeper(test, f, WT_ORIG);
	wt_finish(test, f, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->entered[WT_ORIG]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->entered[WT_REPL]), 0);
	KUNIT_EXPECT_EQ(test, f->last_ret[WT_ORIG], 0);
}

/*
 * A live apply returns while the call sleeps in the original; the call is
 * re-dispatched into the replacement, sleeps there, and completes there.
 */
static void live_apply_redispatches_sleeping_call_to_new_implementation(struct kunit *test)
{
	struct wt_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, wt_repls,
						 ARRAY_SIZE(wt_repls));

	wt_start_sleeper(test, f, WT_ORIG);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->sleeper));
	wt_expect_moved(test, f, WT_ORIG, WT_REPL, 1);
	wt_finish(test, f, 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->entered[WT_ORIG]), 1);
	KUNIT_EXPECT_EQ(test, f->last_ret[WT_REPL], 0);
}

/*
 * A stalled apply does not wait for the sleeping call either: it completes
 * well within the drain timeout, and the call ends in the replacement.
 */
static void stalled_apply_does_not_wait_for_sleeping_call(struct kunit *test)
{
	struct wt_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_STALLED, wt_repls,
						 ARRAY_SIZE(wt_repls));
	ktime_t t0;

	l->drain_timeout_ms = 3000;
	wt_start_sleeper(test, f, WT_ORIG);
	t0 = ktime_get();
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_LT(test, ktime_ms_delta(ktime_get(), t0), 3000LL);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->sleeper));
	wt_expect_moved(test, f, WT_ORIG, WT_REPL, 1);
	wt_finish(test, f, 2);
}

/*
 * Revert moves a call sleeping in the replacement back into the original,
 * where it completes.
 */
static void revert_redispatches_sleeping_call_to_original(struct kunit *test)
{
	struct wt_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, wt_repls,
						 ARRAY_SIZE(wt_repls));

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	wt_start_sleeper(test, f, WT_REPL);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->sleeper));
	wt_expect_moved(test, f, WT_REPL, WT_ORIG, 1);
	wt_finish(test, f, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->entered[WT_REPL]), 1);
}

/* Apply then revert while the same call sleeps: it follows both swaps. */
static void sleeping_call_follows_apply_and_revert(struct kunit *test)
{
	struct wt_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, wt_repls,
						 ARRAY_SIZE(wt_repls));

	wt_start_sleeper(test, f, WT_ORIG);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	wt_expect_moved(test, f, WT_ORIG, WT_REPL, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	wt_expect_moved(test, f, WT_REPL, WT_ORIG, 2);
	wt_finish(test, f, 1);
}

static int wt_callback(enum drvproxy_phase phase, void *context)
{
	struct wt_fixture *f = context;

	return phase == DRVPROXY_PHASE_STALLED && f->fail_stalled ? -ENOTRECOVERABLE : 0;
}

/*
 * A stalled apply that fails in STALLED: the sleeper, woken by the stall,
 * goes back into the original and completes there.
 */
static void failed_stalled_apply_returns_sleeping_call_to_original(struct kunit *test)
{
	struct wt_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_STALLED, wt_repls,
						 ARRAY_SIZE(wt_repls));

	l->callback = wt_callback;
	l->context = f;
	f->fail_stalled = true;
	wt_start_sleeper(test, f, WT_ORIG);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENOTRECOVERABLE);
	wt_expect_moved(test, f, WT_ORIG, WT_ORIG, 2);
	wt_finish(test, f, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->entered[WT_REPL]), 0);
}

/*
 * The stall ends the sleeper's wait, but the original takes its time to
 * return DRVPROXY_ERESTART; the drain times out meanwhile.  The rollback
 * publishes a copy of the old table, never the old table itself, so the
 * call still finds its table superseded and is re-dispatched into the
 * original: DRVPROXY_ERESTART never reaches its caller.
 */
static void call_leaving_wait_when_stalled_apply_fails_is_redispatched(struct kunit *test)
{
	struct wt_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_STALLED, wt_repls,
						 ARRAY_SIZE(wt_repls));

	l->drain_timeout_ms = 200;
	f->linger = true;
	wt_start_sleeper(test, f, WT_ORIG);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ETIMEDOUT);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->sleeper));
	complete_all(&f->lingered);
	wt_expect_moved(test, f, WT_ORIG, WT_ORIG, 2);
	wt_finish(test, f, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->entered[WT_REPL]), 0);
}

static struct kunit_case drvproxy_wait_cases[] = {
	KUNIT_CASE(wait_without_swap_completes_in_same_implementation),
	KUNIT_CASE(live_apply_redispatches_sleeping_call_to_new_implementation),
	KUNIT_CASE(stalled_apply_does_not_wait_for_sleeping_call),
	KUNIT_CASE(revert_redispatches_sleeping_call_to_original),
	KUNIT_CASE(sleeping_call_follows_apply_and_revert),
	KUNIT_CASE(failed_stalled_apply_returns_sleeping_call_to_original),
	KUNIT_CASE(call_leaving_wait_when_stalled_apply_fails_is_redispatched),
	{}
};

static struct kunit_suite drvproxy_wait_suite = {
	.name = "drvproxy_wait",
	.init = wt_init,
	.exit = wt_exit,
	.test_cases = drvproxy_wait_cases,
};

kunit_test_suites(&drvproxy_wait_suite);
