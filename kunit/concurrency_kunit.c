// SPDX-License-Identifier: GPL-2.0
/*
 * concurrency_kunit.c - KUnit suite drvproxy_concurrency: swaps under load
 *
 * Several kthreads call one endpoint without pause while the test thread
 * applies and reverts a layer over and over.  The original returns 1, the
 * replacement 2: every call must return exactly one of them (never a mix,
 * never garbage, never a crash), no call may be lost (calls made == results
 * counted per implementation == the endpoint's call counter), and nothing
 * may be left in flight afterwards.  Windows DriverProxy behaviours
 * (windows-driverproxy.md §2):
 *   7  calls through the wrapper reach whichever implementation is current
 *   12 stalled swaps hold new calls, never fail or lose them
 *   13 wrappers count calls on entry and exit (the counters must add up)
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>

#include "drvproxy_kunit.h"

#define CC_DRV		"dpx_kunit_conc"
#define CC_ID		110
#define CC_THREADS	2
#define CC_LIVE_CYCLES	200
#define CC_STALL_CYCLES	50

DRVPROXY_ENDPOINT_MANUAL(int, dpx_cc_ep, int, salt)
{
	return 1;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_cc_ep, dpx_cc_repl, int, salt)
{
	return 2;
}

static const struct drvproxy_replacement *const cc_repls[] = {
	DRVPROXY_REPL(dpx_cc_repl),
};

struct cc_counts {
	unsigned long calls;
	unsigned long orig;
	unsigned long repl;
	unsigned long garbage;
};

struct cc_fixture {
	struct dpx_host host;
	struct dpx_thread threads[CC_THREADS];
	struct cc_counts counts[CC_THREADS];
	bool stop;
	atomic_t running;
};

struct cc_arg {
	struct cc_fixture *f;
	unsigned int i;
};

static long cc_hammer(void *arg)
{
	struct cc_arg *a = arg;
	struct cc_fixture *f = a->f;
	struct cc_counts *c = &f->counts[a->i];

	atomic_inc(&f->running);
	while (!READ_ONCE(f->stop)) {
		int r = dpx_cc_ep(a->i);

		c->calls++;
		if (r == 1)
			c->orig++;
		else if (r == 2)
			c->repl++;
		else
			c->garbage++;
		if (!(c->calls & 255))
			cond_resched();
	}
	return 0;
}

static int cc_init(struct kunit *test)
{
	struct cc_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	dpx_host_init(test, &f->host, CC_DRV, true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, CC_ID, DRVPROXY_DESC(dpx_cc_ep)), 0);
	return 0;
}

static void cc_exit(struct kunit *test)
{
	struct cc_fixture *f = test->priv;
	unsigned int i;

	WRITE_ONCE(f->stop, true);
	for (i = 0; i < CC_THREADS; i++)
		dpx_thread_stop(&f->threads[i]);
	dpx_host_exit(&f->host);
}

/*
 * Run the callers while @cycles apply/revert pairs in @mode happen; check
 * what every swap must preserve and return the calls made (by the threads
 * and the test thread) in *@made.
 */
static void cc_run(struct kunit *test, enum drvproxy_mode mode, unsigned int cycles,
		   u64 *made)
{
	struct cc_fixture *f = test->priv;
	struct cc_arg *args = kunit_kcalloc(test, CC_THREADS, sizeof(*args), GFP_KERNEL);
	struct cc_counts sum = {};
	unsigned long own = 0;
	unsigned int i, bad_apply = 0, bad_revert = 0;

	KUNIT_ASSERT_NOT_NULL(test, args);
	for (i = 0; i < CC_THREADS; i++) {
		args[i].f = f;
		args[i].i = i;
		KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->threads[i], cc_hammer, &args[i],
						       "dpx-cc"), 0);
	}
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(&f->running) == CC_THREADS, 5000));

	for (i = 0; i < cycles; i++) {
		struct drvproxy_layer *l = dpx_layer_new(&f->host, mode, cc_repls,
							 ARRAY_SIZE(cc_repls));
		int ret;

		ret = drvproxy_layer_apply(l);
		if (ret || dpx_cc_ep(0) != 2)
			bad_apply++;
		ret = drvproxy_layer_revert(l);
		if (ret || dpx_cc_ep(0) != 1)
			bad_revert++;
		own += 2;
	}

	WRITE_ONCE(f->stop, true);
	for (i = 0; i < CC_THREADS; i++) {
		KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->threads[i], 10000));
		sum.calls += f->counts[i].calls;
		sum.orig += f->counts[i].orig;
		sum.repl += f->counts[i].repl;
		sum.garbage += f->counts[i].garbage;
	}
	kunit_info(test, "%u %s cycles: %lu calls, %lu original, %lu replacement\n",
		   cycles, mode == DRVPROXY_MODE_LIVE ? "live" : "stalled",
		   sum.calls, sum.orig, sum.repl);

	KUNIT_EXPECT_EQ(test, bad_apply, 0U);
	KUNIT_EXPECT_EQ(test, bad_revert, 0U);
	KUNIT_EXPECT_EQ(test, sum.garbage, 0UL);
	KUNIT_EXPECT_EQ(test, sum.calls, sum.orig + sum.repl);
	KUNIT_EXPECT_GT(test, sum.orig, 0UL);
	KUNIT_EXPECT_GT(test, sum.repl, 0UL);
	KUNIT_EXPECT_EQ(test, dpx_cc_ep(0), 1);
	own++;
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, CC_ID) == 0, 5000));
	*made = sum.calls + own;
}

/*
 * 200 live apply/revert cycles while two threads call the endpoint: every
 * call returns 1 or 2, none is lost, the call counter matches exactly and
 * nothing is left in flight.
 */
static void live_swaps_under_load_every_call_hits_exactly_one_implementation(struct kunit *test)
{
	struct cc_fixture *f = test->priv;
	u64 before = dpx_calls(f->host.ext, CC_ID), made;

	cc_run(test, DRVPROXY_MODE_LIVE, CC_LIVE_CYCLES, &made);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->host.ext, CC_ID) - before, made);
}

/*
 * The same with stalled swaps: callers are held at every transition and
 * released into exactly one implementation; none fails or is lost.
 */
static void stalled_swaps_under_load_every_call_hits_exactly_one_implementation(struct kunit *test)
{
	u64 made;

	cc_run(test, DRVPROXY_MODE_STALLED, CC_STALL_CYCLES, &made);
}

/*
 * The endpoint's call counter counts each call once even when calls were
 * held by stalled swaps (a held call enters the stall table and then the
 * table it is released into).
 */
static void stats_count_each_call_once_across_stalled_swaps(struct kunit *test)
{
	struct cc_fixture *f = test->priv;
	u64 before = dpx_calls(f->host.ext, CC_ID), made;

	cc_run(test, DRVPROXY_MODE_STALLED, CC_STALL_CYCLES, &made);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->host.ext, CC_ID) - before, made);
}

static struct kunit_case drvproxy_concurrency_cases[] = {
	KUNIT_CASE_SLOW(live_swaps_under_load_every_call_hits_exactly_one_implementation),
	KUNIT_CASE_SLOW(stalled_swaps_under_load_every_call_hits_exactly_one_implementation),
	KUNIT_CASE_SLOW(stats_count_each_call_once_across_stalled_swaps),
	{}
};

static struct kunit_suite drvproxy_concurrency_suite = {
	.name = "drvproxy_concurrency",
	.init = cc_init,
	.exit = cc_exit,
	.test_cases = drvproxy_concurrency_cases,
};

kunit_test_suites(&drvproxy_concurrency_suite);
