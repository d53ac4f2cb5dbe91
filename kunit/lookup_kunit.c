// SPDX-License-Identifier: GPL-2.0
/*
 * lookup_kunit.c - KUnit suite drvproxy_lookup: wrapper and extension lookups
 *
 * Covers drvproxy_get_wrapper_from_endpoint() (by pointer, V2),
 * drvproxy_get_endpoint_wrapper() (by id, V1) and the contexts they, the
 * feature query, the extension lookup and an endpoint call itself work in.
 * Windows DriverProxy behaviours (windows-driverproxy.md §2):
 *   1  GetFeatures works from any context (hard IRQ here)
 *   5  GetExtensionFromDriverObject works from any context
 *   14 lookup by pointer of an unregistered endpoint is NOT_FOUND (-ENOENT)
 *      and sets *wrapper to NULL; the pointer must match exactly
 *   15 lookup by an unknown id returns NULL
 *   16 lookups work in atomic and hard-IRQ context and never sleep
 * Also the edges of the index (extension.c): an array indexed by id up to
 * the largest registered id and a hash of the wrappers, rebuilt by every
 * registration that adds endpoints; ids above DRVPROXY_MAX_ENDPOINT_ID are
 * refused.  That a lookup's cost does not depend on the number of
 * endpoints is a benchmark matter, not tested here.
 *
 * Also defines dpx_v2_bravo, one of the module's V2 endpoints (see
 * extension_kunit.c), to show the section spans source files.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/hrtimer.h>
#include <linux/preempt.h>

#include "drvproxy_kunit.h"

#define LK_ID		7
#define LK_DRV		"dpx_kunit_lookup"
/* Batches of lookups_find_every_endpoint_as_the_index_grows(). */
#define LK_GROW		64

DRVPROXY_ENDPOINT(int, dpx_v2_bravo, int, x)
{
	return (__dpx_call ? DPX_V2_BOUND : 0) + 2 + x;
}

int (*const dpx_kunit_v2_bravo)(int x) = dpx_v2_bravo;

DRVPROXY_ENDPOINT_MANUAL(int, dpx_lk_a, int, x)
{
	return 40 + x;
}

/* Never registered anywhere. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_lk_b, int, x)
{
	return 50 + x;
}

/* Registered by lk_publish(), to move the generation on. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_lk_c, int, x)
{
	return 60 + x;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_lk_d, int, x)
{
	return 70 + x;
}

/* What the hard-IRQ callback saw; the test thread checks it afterwards. */
struct lk_irq_result {
	bool in_hardirq;
	bool irqs_disabled;
	int ret_known;
	int ret_unknown;
	bool wrapper_known;
	bool wrapper_unknown_null;
	bool by_id_known;
	bool by_id_unknown_null;
	bool extension_ok;
	u32 features;
	int call;
	int v2_call;
	u64 generation;
};

struct lk_fixture {
	struct drvproxy_extension *ext;
	struct dpx_host host;
	struct hrtimer timer;
	struct completion fired;
	struct lk_irq_result irq;
	u64 generation;		/* what the atomic-context read must return */
};

static int lk_init(struct kunit *test)
{
	struct lk_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->ext), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, LK_ID, DRVPROXY_DESC(dpx_lk_a)), 0);
	return 0;
}

static void lk_exit(struct kunit *test)
{
	struct lk_fixture *f = test->priv;

	drvproxy_destroy_extension(f->ext);
	dpx_host_exit(&f->host);
}

/* By pointer: a registered endpoint's wrapper is the endpoint itself. */
static void wrapper_from_endpoint_returns_wrapper_of_registered_endpoint(struct kunit *test)
{
	struct lk_fixture *f = test->priv;
	int (*w)(int x) = NULL;

	KUNIT_EXPECT_EQ(test, drvproxy_get_wrapper_from_endpoint(f->ext, dpx_lk_a, &w), 0);
	KUNIT_EXPECT_PTR_EQ(test, (drvproxy_fn_t)w, (drvproxy_fn_t)dpx_lk_a);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w(2), 42);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, LK_ID), 1ULL);
}

/*
 * By pointer: an endpoint never registered, a pointer that is not exactly
 * the endpoint, or a NULL extension give -ENOENT and set *wrapper to NULL.
 */
static void wrapper_from_unknown_endpoint_returns_enoent_and_null(struct kunit *test)
{
	struct lk_fixture *f = test->priv;
	int (*w)(int x) = dpx_lk_a;
	drvproxy_fn_t raw = (drvproxy_fn_t)dpx_lk_a;
	/* One byte into the endpoint: not the endpoint. */
	drvproxy_fn_t inexact = (drvproxy_fn_t)((unsigned long)dpx_lk_a + 1);
	int ret;

	KUNIT_EXPECT_EQ(test, drvproxy_get_wrapper_from_endpoint(f->ext, dpx_lk_b, &w), -ENOENT);
	KUNIT_EXPECT_NULL(test, w);

	w = dpx_lk_a;
	KUNIT_EXPECT_EQ(test, drvproxy_get_wrapper_from_endpoint(NULL, dpx_lk_a, &w), -ENOENT);
	KUNIT_EXPECT_NULL(test, w);

	ret = __drvproxy_get_wrapper_from_endpoint(f->ext, inexact, &raw);
	KUNIT_EXPECT_EQ(test, ret, -ENOENT);
	KUNIT_EXPECT_NULL(test, raw);
	raw = (drvproxy_fn_t)dpx_lk_a;
	KUNIT_EXPECT_EQ(test, __drvproxy_get_wrapper_from_endpoint(f->ext, NULL, &raw), -ENOENT);
	KUNIT_EXPECT_NULL(test, raw);

	/* The V2 endpoints are not in an extension without owner. */
	ret = __drvproxy_get_wrapper_from_endpoint(f->ext, (drvproxy_fn_t)dpx_v2_bravo, &raw);
	KUNIT_EXPECT_EQ(test, ret, -ENOENT);
}

/* By id: a registered id gives its wrapper, an unknown id or NULL extension NULL. */
static void endpoint_wrapper_by_unknown_id_returns_null(struct kunit *test)
{
	struct lk_fixture *f = test->priv;

	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(f->ext, LK_ID),
			    (drvproxy_fn_t)dpx_lk_a);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, LK_ID + 1));
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 0));
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, U32_MAX));
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(NULL, LK_ID));
}

/* Does @id look up as @want by id and, unless @want is NULL, by pointer? */
static bool lk_found(struct drvproxy_extension *ext, u32 id, drvproxy_fn_t want)
{
	drvproxy_fn_t w = NULL;

	if (drvproxy_get_endpoint_wrapper(ext, id) != want)
		return false;
	return !want || (!__drvproxy_get_wrapper_from_endpoint(ext, want, &w) && w == want);
}

/*
 * LK_GROW copies of dpx_lk_d, registered one batch each with ids LK_ID + 1
 * upwards: the index is rebuilt LK_GROW times, its hash growing from 4 to
 * 256 slots, so wrappers collide and probes wrap around.  Each copy's
 * wrapper is fake, the address of its own array element (lookups never
 * call a wrapper and nothing calls these).  After every batch: LK_ID and
 * every id registered so far are found by id and by pointer; the id one
 * past the last, the holes below LK_ID and a copy never registered are not.
 */
static void lookups_find_every_endpoint_as_the_index_grows(struct kunit *test)
{
	struct lk_fixture *f = test->priv;
	struct drvproxy_endpoint_desc *d;
	unsigned int k, i, bad, first;
	drvproxy_fn_t w;

	d = kunit_kcalloc(test, LK_GROW + 1, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	for (k = 0; k <= LK_GROW; k++) {
		d[k] = *DRVPROXY_DESC(dpx_lk_d);
		d[k].wrapper = (drvproxy_fn_t)&d[k];
	}
	for (k = 0; k < LK_GROW; k++) {
		KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, LK_ID + 1 + k, &d[k]), 0);
		KUNIT_EXPECT_TRUE_MSG(test, lk_found(f->ext, LK_ID, (drvproxy_fn_t)dpx_lk_a),
				      "batch %u", k);
		for (i = 0, bad = 0, first = 0; i <= k; i++) {
			if (!lk_found(f->ext, LK_ID + 1 + i, d[i].wrapper) && !bad++)
				first = LK_ID + 1 + i;
		}
		KUNIT_EXPECT_EQ_MSG(test, bad, 0U, "batch %u: first id not found %u", k, first);
		KUNIT_EXPECT_NULL_MSG(test, drvproxy_get_endpoint_wrapper(f->ext, LK_ID + 2 + k),
				      "batch %u: the id past the last", k);
		for (i = 0; i < LK_ID; i++)
			KUNIT_EXPECT_NULL_MSG(test, drvproxy_get_endpoint_wrapper(f->ext, i),
					      "batch %u: hole %u", k, i);
		w = d[LK_GROW].wrapper;
		KUNIT_EXPECT_EQ_MSG(test, __drvproxy_get_wrapper_from_endpoint(f->ext, w, &w),
				    -ENOENT, "batch %u: a copy never registered", k);
	}
}

/*
 * The largest id, DRVPROXY_MAX_ENDPOINT_ID, registers and is found by id
 * and by pointer; the ids between it and LK_ID are holes, the id past it
 * is not found.  A new id one above it, or U32_MAX, is -EINVAL and changes
 * nothing.
 */
static void largest_id_registers_and_one_more_is_einval(struct kunit *test)
{
	drvproxy_fn_t c = (drvproxy_fn_t)dpx_lk_c;
	struct lk_fixture *f = test->priv;
	int (*w)(int x) = NULL;
	u64 gen;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, DRVPROXY_MAX_ENDPOINT_ID,
					       DRVPROXY_DESC(dpx_lk_c)), 0);
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, DRVPROXY_MAX_ENDPOINT_ID, c));
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, LK_ID, (drvproxy_fn_t)dpx_lk_a));
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, LK_ID + 1, NULL));
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, DRVPROXY_MAX_ENDPOINT_ID - 1, NULL));
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, DRVPROXY_MAX_ENDPOINT_ID + 1, NULL));
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, U32_MAX, NULL));
	KUNIT_EXPECT_EQ(test, dpx_lk_c(1), 61);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, DRVPROXY_MAX_ENDPOINT_ID), 1ULL);

	gen = drvproxy_extension_generation(f->ext);
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext, DRVPROXY_MAX_ENDPOINT_ID + 1,
					       DRVPROXY_DESC(dpx_lk_d)), -EINVAL);
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext, U32_MAX, DRVPROXY_DESC(dpx_lk_d)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen);
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_lk_d)->ext);
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, DRVPROXY_MAX_ENDPOINT_ID + 1, NULL));
	KUNIT_EXPECT_EQ(test, drvproxy_get_wrapper_from_endpoint(f->ext, dpx_lk_d, &w), -ENOENT);
	KUNIT_EXPECT_TRUE(test, lk_found(f->ext, DRVPROXY_MAX_ENDPOINT_ID, c));
}

/* Every lookup, the feature query and an endpoint call, from where we run. */
static void lk_atomic_lookups(struct lk_fixture *f, struct lk_irq_result *r)
{
	union drvproxy_feature_flags flags;
	int (*w)(int x) = NULL;
	int (*u)(int x) = dpx_lk_a;

	r->in_hardirq = in_hardirq();
	r->irqs_disabled = irqs_disabled();
	r->ret_known = drvproxy_get_wrapper_from_endpoint(f->ext, dpx_lk_a, &w);
	r->wrapper_known = w == dpx_lk_a;
	r->ret_unknown = drvproxy_get_wrapper_from_endpoint(f->ext, dpx_lk_b, &u);
	r->wrapper_unknown_null = !u;
	r->by_id_known = drvproxy_get_endpoint_wrapper(f->ext, LK_ID) ==
			 (drvproxy_fn_t)dpx_lk_a;
	r->by_id_unknown_null = !drvproxy_get_endpoint_wrapper(f->ext, LK_ID + 1);
	r->extension_ok = drvproxy_get_extension(f->host.drv) == f->host.ext &&
			  !drvproxy_get_extension(NULL);
	drvproxy_get_features(f->host.drv, &flags);
	r->features = flags.as_u32;
	r->call = dpx_lk_a(1);
	r->v2_call = dpx_v2_bravo(0);
	r->generation = drvproxy_extension_generation(f->ext);
}

/*
 * Publish a new table of f->ext (register @desc as @id) and record the
 * generation it must have: one more than before.  The atomic-context read
 * that follows must see the new table's generation, not a stale one, and
 * the lookups and the call it makes must not move it.
 */
static void lk_publish(struct kunit *test, struct lk_fixture *f, u32 id,
		       struct drvproxy_endpoint_desc *desc)
{
	u64 gen = drvproxy_extension_generation(f->ext);

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, id, desc), 0);
	f->generation = drvproxy_extension_generation(f->ext);
	KUNIT_ASSERT_EQ(test, f->generation, gen + 1);
}

static void lk_expect_atomic_results(struct kunit *test, struct lk_fixture *f,
				     struct lk_irq_result *r)
{
	KUNIT_EXPECT_EQ(test, r->ret_known, 0);
	KUNIT_EXPECT_TRUE(test, r->wrapper_known);
	KUNIT_EXPECT_EQ(test, r->ret_unknown, -ENOENT);
	KUNIT_EXPECT_TRUE(test, r->wrapper_unknown_null);
	KUNIT_EXPECT_TRUE(test, r->by_id_known);
	KUNIT_EXPECT_TRUE(test, r->by_id_unknown_null);
	KUNIT_EXPECT_TRUE(test, r->extension_ok);
	KUNIT_EXPECT_EQ(test, r->features, 1U);
	KUNIT_EXPECT_EQ(test, r->call, 41);
	KUNIT_EXPECT_EQ(test, r->v2_call, DPX_V2_BOUND + 2);
	KUNIT_EXPECT_EQ(test, r->generation, f->generation);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), f->generation);
}

static enum hrtimer_restart lk_timer_fn(struct hrtimer *timer)
{
	struct lk_fixture *f = container_of(timer, struct lk_fixture, timer);

	lk_atomic_lookups(f, &f->irq);
	complete(&f->fired);
	return HRTIMER_NORESTART;
}

/*
 * From a hard-IRQ hrtimer callback: lookups by pointer and id, the
 * extension lookup and the feature query give the same answers as in
 * process context, and an endpoint call runs its current implementation.
 */
static void lookups_work_in_hard_irq_context(struct kunit *test)
{
	struct lk_fixture *f = test->priv;
	bool fired;

	dpx_host_init(test, &f->host, LK_DRV, true);
	lk_publish(test, f, LK_ID + 2, DRVPROXY_DESC(dpx_lk_c));
	init_completion(&f->fired);
	dpx_hrtimer_setup(&f->timer, lk_timer_fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	hrtimer_start(&f->timer, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
	fired = wait_for_completion_timeout(&f->fired, 5 * HZ);
	hrtimer_cancel(&f->timer);
	KUNIT_ASSERT_TRUE(test, fired);

	KUNIT_EXPECT_TRUE(test, f->irq.in_hardirq);
	KUNIT_EXPECT_TRUE(test, f->irq.irqs_disabled);
	lk_expect_atomic_results(test, f, &f->irq);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, LK_ID), 1ULL);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->ext, LK_ID), 0ULL);
}

/* The same with preemption disabled, and with interrupts off under a spinlock. */
static void lookups_work_with_preemption_disabled(struct kunit *test)
{
	/* Raw: a spinlock_t leaves interrupts on under PREEMPT_RT. */
	static DEFINE_RAW_SPINLOCK(lock);
	struct lk_fixture *f = test->priv;
	struct lk_irq_result r = {};
	unsigned long flags;

	dpx_host_init(test, &f->host, LK_DRV, true);
	lk_publish(test, f, LK_ID + 2, DRVPROXY_DESC(dpx_lk_c));

	preempt_disable();
	lk_atomic_lookups(f, &r);
	preempt_enable();
	lk_expect_atomic_results(test, f, &r);

	memset(&r, 0, sizeof(r));
	lk_publish(test, f, LK_ID + 3, DRVPROXY_DESC(dpx_lk_d));
	raw_spin_lock_irqsave(&lock, flags);
	lk_atomic_lookups(f, &r);
	raw_spin_unlock_irqrestore(&lock, flags);
	KUNIT_EXPECT_TRUE(test, r.irqs_disabled);
	lk_expect_atomic_results(test, f, &r);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, LK_ID), 2ULL);
}

static struct kunit_case drvproxy_lookup_cases[] = {
	KUNIT_CASE(wrapper_from_endpoint_returns_wrapper_of_registered_endpoint),
	KUNIT_CASE(wrapper_from_unknown_endpoint_returns_enoent_and_null),
	KUNIT_CASE(endpoint_wrapper_by_unknown_id_returns_null),
	KUNIT_CASE(lookups_find_every_endpoint_as_the_index_grows),
	KUNIT_CASE(largest_id_registers_and_one_more_is_einval),
	KUNIT_CASE(lookups_work_in_hard_irq_context),
	KUNIT_CASE(lookups_work_with_preemption_disabled),
	{}
};

static struct kunit_suite drvproxy_lookup_suite = {
	.name = "drvproxy_lookup",
	.init = lk_init,
	.exit = lk_exit,
	.test_cases = drvproxy_lookup_cases,
};

kunit_test_suites(&drvproxy_lookup_suite);
