// SPDX-License-Identifier: GPL-2.0
/*
 * concurrency_kunit.c - KUnit suite drvproxy_concurrency: swaps under load
 *
 * Several kthreads call one endpoint without pause while the test thread
 * applies and reverts a layer over and over.  The original returns 1, the
 * replacement 2.  Three independent records are kept, so none of them can
 * agree with another by construction:
 *  - the callers count the calls they made and the results they got;
 *  - each implementation counts its own entries;
 *  - drvproxy counts calls per endpoint (drvproxy_endpoint_stats()).
 * In stalled mode the layer's STALLED callback also watches the callers: it
 * waits until callers are seen blocked inside a call (a positive signal,
 * not a sleep) and checks that no implementation was entered while it ran.
 * Windows DriverProxy behaviours (windows-driverproxy.md §2):
 *   7  calls through the wrapper reach whichever implementation is current
 *   12 stalled swaps hold new calls, never fail or lose them
 *   13 wrappers count calls on entry and exit (the counters must add up)
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/sched.h>

#include "drvproxy_kunit.h"

#define CC_DRV		"dpx_kunit_conc"
#define CC_ID		110
#define CC_THREADS	2
#define CC_LIVE_CYCLES	200
#define CC_STALL_CYCLES	50
/* How long a STALLED callback waits to see the callers held. */
#define CC_HOLD_MS	5000

enum { CC_ORIG, CC_REPL, CC_NR };

struct cc_fixture;
static struct cc_fixture *cc_cur;	/* for the implementations */

/* What one caller did; only that caller writes it. */
struct cc_counts {
	unsigned long started;	/* calls begun (bumped before the call) */
	unsigned long calls;	/* calls returned */
	unsigned long got[CC_NR];
	unsigned long garbage;
};

struct cc_fixture {
	struct dpx_host host;
	struct dpx_thread threads[CC_THREADS];
	struct cc_counts counts[CC_THREADS];
	bool stop;
	atomic_t running;
	/* Entries into each implementation, counted by the implementation. */
	atomic_long_t entered[CC_NR];
	/* The STALLED callback's record (written by the transition's task). */
	unsigned int want_held;	/* callers to see held in every stall */
	unsigned int stalls;	/* STALLED phases run */
	unsigned int stalls_held;	/* ... in which want_held callers were held */
	unsigned int stalls_entered;	/* ... in which an implementation ran */
	unsigned long held;	/* callers seen held, summed over the stalls */
};

DRVPROXY_ENDPOINT_MANUAL(int, dpx_cc_ep, int, salt)
{
	if (cc_cur)
		atomic_long_inc(&cc_cur->entered[CC_ORIG]);
	return 1;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_cc_ep, dpx_cc_repl, int, salt)
{
	if (cc_cur)
		atomic_long_inc(&cc_cur->entered[CC_REPL]);
	return 2;
}

static const struct drvproxy_replacement *const cc_repls[] = {
	DRVPROXY_REPL(dpx_cc_repl),
};

/* Record one result in @c. */
static void cc_count(struct cc_counts *c, int r)
{
	if (r == 1)
		c->got[CC_ORIG]++;
	else if (r == 2)
		c->got[CC_REPL]++;
	else
		c->garbage++;
}

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
		int r;

		/* Ordered before the call's sleep (set_current_state is a barrier). */
		WRITE_ONCE(c->started, c->started + 1);
		r = dpx_cc_ep(a->i);
		WRITE_ONCE(c->calls, c->calls + 1);
		cc_count(c, r);
		if (!(c->calls & 255))
			cond_resched();
	}
	return 0;
}

/*
 * Callers blocked inside a call now.  A caller only sleeps uninterruptibly
 * inside the endpoint where a stall holds it: the implementations never
 * sleep and the loop around the call does not either.
 */
static unsigned int cc_held(struct cc_fixture *f)
{
	unsigned int i, n = 0;

	for (i = 0; i < CC_THREADS; i++) {
		struct task_struct *t = f->threads[i].task;

		if (!t || !(READ_ONCE(t->__state) & TASK_UNINTERRUPTIBLE))
			continue;
		/* Pairs with the barrier in set_current_state() of the sleep. */
		smp_rmb();
		if (READ_ONCE(f->counts[i].started) != READ_ONCE(f->counts[i].calls))
			n++;
	}
	return n;
}

static long cc_entered(struct cc_fixture *f)
{
	return atomic_long_read(&f->entered[CC_ORIG]) + atomic_long_read(&f->entered[CC_REPL]);
}

/*
 * STALLED phase of every stalled apply and revert: first wait until
 * want_held callers are seen blocked in a call (the stall holds them), then
 * check that no implementation was entered meanwhile.  Never asserts (see
 * drvproxy_kunit.h); the test thread checks the record.
 */
static int cc_callback(enum drvproxy_phase phase, void *context)
{
	struct cc_fixture *f = context;
	unsigned int ms;
	long before;

	if (phase != DRVPROXY_PHASE_STALLED)
		return 0;
	before = cc_entered(f);
	/* Once a stall held nobody the case has failed: do not wait again. */
	ms = f->stalls_held == f->stalls ? CC_HOLD_MS : 0;
	f->stalls++;
	if (DPX_POLL(cc_held(f) >= f->want_held, ms))
		f->stalls_held++;
	/* Callers held stay held until this returns: a second read is exact. */
	f->held += cc_held(f);
	if (cc_entered(f) != before)
		f->stalls_entered++;
	return 0;
}

static int cc_init(struct kunit *test)
{
	struct cc_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	dpx_host_init(test, &f->host, CC_DRV, true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, CC_ID, DRVPROXY_DESC(dpx_cc_ep)), 0);
	cc_cur = f;
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
	cc_cur = NULL;
}

/* What cc_run() measured. */
struct cc_result {
	u64 made;		/* calls made, by the threads and the test thread */
	u64 stat_calls;		/* drvproxy's call counter, difference over the run */
	struct cc_counts sum;	/* the threads' counts plus the test thread's */
};

/*
 * Run the callers while @cycles apply/revert pairs in @mode happen (stalled
 * ones with cc_callback()); check what every swap must preserve, whatever
 * the mode, and return the measurements in *@res.
 */
static void cc_run(struct kunit *test, enum drvproxy_mode mode, unsigned int cycles,
		   struct cc_result *res)
{
	struct cc_fixture *f = test->priv;
	struct cc_arg *args = kunit_kcalloc(test, CC_THREADS, sizeof(*args), GFP_KERNEL);
	struct cc_counts *sum = &res->sum, own = {};
	u64 stat_before = dpx_calls(f->host.ext, CC_ID);
	unsigned int i, bad_apply = 0, bad_revert = 0;

	memset(res, 0, sizeof(*res));
	KUNIT_ASSERT_NOT_NULL(test, args);
	KUNIT_ASSERT_EQ(test, cc_entered(f), 0L);
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
		int ret, r;

		l->callback = cc_callback;
		l->revert_callback = cc_callback;
		l->context = f;
		ret = drvproxy_layer_apply(l);
		r = dpx_cc_ep(0);
		cc_count(&own, r);
		if (ret || r != 2)
			bad_apply++;
		ret = drvproxy_layer_revert(l);
		r = dpx_cc_ep(0);
		cc_count(&own, r);
		if (ret || r != 1)
			bad_revert++;
		own.calls += 2;
	}

	WRITE_ONCE(f->stop, true);
	for (i = 0; i < CC_THREADS; i++) {
		KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->threads[i], 10000));
		sum->calls += f->counts[i].calls;
		sum->got[CC_ORIG] += f->counts[i].got[CC_ORIG];
		sum->got[CC_REPL] += f->counts[i].got[CC_REPL];
		sum->garbage += f->counts[i].garbage;
	}
	kunit_info(test, "%u %s cycles: %lu calls, %lu original, %lu replacement\n",
		   cycles, mode == DRVPROXY_MODE_LIVE ? "live" : "stalled",
		   sum->calls, sum->got[CC_ORIG], sum->got[CC_REPL]);
	/* Both implementations served the threads, not only the test thread. */
	KUNIT_EXPECT_GT(test, sum->got[CC_ORIG], 0UL);
	KUNIT_EXPECT_GT(test, sum->got[CC_REPL], 0UL);
	sum->calls += own.calls;
	sum->got[CC_ORIG] += own.got[CC_ORIG];
	sum->got[CC_REPL] += own.got[CC_REPL];
	sum->garbage += own.garbage;
	res->made = sum->calls;
	res->stat_calls = dpx_calls(f->host.ext, CC_ID) - stat_before;

	KUNIT_EXPECT_EQ(test, bad_apply, 0U);
	KUNIT_EXPECT_EQ(test, bad_revert, 0U);
	KUNIT_EXPECT_EQ(test, sum->garbage, 0UL);
	/*
	 * Each call made entered exactly one implementation exactly once, and
	 * returned what the implementation it entered returns: the callers'
	 * records against the implementations' own.
	 */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&f->entered[CC_ORIG]), (long)sum->got[CC_ORIG]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&f->entered[CC_REPL]), (long)sum->got[CC_REPL]);
	KUNIT_EXPECT_EQ(test, (u64)cc_entered(f), res->made);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, CC_ID) == 0, 5000));
}

/*
 * 200 live apply/revert cycles while two threads call the endpoint: every
 * call enters exactly one implementation once and returns its result, none
 * is lost, drvproxy's call counter matches and nothing is left in flight.
 * Live swaps hold nobody: no STALLED phase runs.
 */
static void live_swaps_under_load_every_call_hits_exactly_one_implementation(struct kunit *test)
{
	struct cc_fixture *f = test->priv;
	struct cc_result res;

	cc_run(test, DRVPROXY_MODE_LIVE, CC_LIVE_CYCLES, &res);
	KUNIT_EXPECT_EQ(test, res.stat_calls, res.made);
	KUNIT_EXPECT_EQ(test, f->stalls, 0U);
}

/*
 * Stalled swaps hold new calls: in the STALLED phase of every apply and
 * revert a caller is seen blocked inside a call, no implementation is
 * entered while the phase runs, and the held calls are released into
 * exactly one implementation each, none failed or lost.
 */
static void stalled_swaps_hold_new_calls_and_release_each_into_one_impl(struct kunit *test)
{
	struct cc_fixture *f = test->priv;
	struct cc_result res;

	f->want_held = 1;
	cc_run(test, DRVPROXY_MODE_STALLED, CC_STALL_CYCLES, &res);
	kunit_info(test, "%u stalls, %u with a caller held, %lu callers held in all\n",
		   f->stalls, f->stalls_held, f->held);
	KUNIT_EXPECT_EQ(test, f->stalls, 2U * CC_STALL_CYCLES);
	KUNIT_EXPECT_EQ(test, f->stalls_held, f->stalls);
	KUNIT_EXPECT_EQ(test, f->stalls_entered, 0U);
}

/*
 * drvproxy's call counter counts each call once although a held call is
 * counted in two tables (it enters the stall table, then the table it is
 * released into): every stall here holds every caller, and the counter
 * still equals the calls made and the implementations' entries.
 */
static void stats_count_each_call_once_across_stalled_swaps(struct kunit *test)
{
	struct cc_fixture *f = test->priv;
	struct cc_result res;

	f->want_held = CC_THREADS;
	cc_run(test, DRVPROXY_MODE_STALLED, CC_STALL_CYCLES, &res);
	kunit_info(test, "%lu held calls; counter %llu, calls made %llu\n",
		   f->held, res.stat_calls, res.made);
	KUNIT_EXPECT_EQ(test, f->stalls_held, f->stalls);
	KUNIT_EXPECT_GE(test, f->held, (unsigned long)CC_THREADS * f->stalls);
	KUNIT_EXPECT_EQ(test, res.stat_calls, res.made);
	KUNIT_EXPECT_EQ(test, res.stat_calls, (u64)cc_entered(f));
}

static struct kunit_case drvproxy_concurrency_cases[] = {
	KUNIT_CASE_SLOW(live_swaps_under_load_every_call_hits_exactly_one_implementation),
	KUNIT_CASE_SLOW(stalled_swaps_hold_new_calls_and_release_each_into_one_impl),
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
