// SPDX-License-Identifier: GPL-2.0
/*
 * fault_kunit.c - KUnit suite drvproxy_fault: allocation failure injection
 *
 * Every allocation site of drvproxy asks drvproxy_fail_alloc() first, which
 * honours the task's fail-nth counter (the kernel's fault-injection
 * framework; failslab leaves GFP_KERNEL allocations alone, so only
 * drvproxy's own sites count).  Each case fails the 1st, 2nd, ... site of
 * one operation in turn until it succeeds, and checks after every failure
 * that the operation returned -ENOMEM and that nothing observable changed:
 * the implementation served, the generations, the lookups, the layer stack
 * (by behaviour).  Needs CONFIG_FAULT_INJECTION; skipped otherwise.  The
 * guest script restricts failslab to opted-in caches: otherwise xarray's
 * GFP_NOWAIT first attempts would eat the counter (and succeed on retry),
 * ending a loop early; the minimum site counts below catch that.
 * Windows DriverProxy behaviours (windows-driverproxy.md §2):
 *   2  Create returns INSUFFICIENT_RESOURCES (-ENOMEM) when allocation fails
 *   8/10/12 a failed operation makes no changes
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/sched.h>

#include "drvproxy_kunit.h"

#define FI_DRV		"dpx_kunit_fault"
#define FI_X		100
#define FI_Y		101
#define FI_NEW		102
/* Far more sites than any operation has: a loop that reaches it is stuck. */
#define FI_MAX_SITES	200
/* The name of the worker create_worker_alloc_failure_changes_nothing() makes. */
#define FI_WORKER_NAME	"dpx-kunit-fi-wk"

DRVPROXY_ENDPOINT_MANUAL(int, dpx_fi_x, int, a)
{
	return 100;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_fi_x2, int, a)
{
	return 110;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_fi_y, int, a)
{
	return 200;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_fi_new, int, a)
{
	return 300;
}

DRVPROXY_ENDPOINT_MANUAL(bool, dpx_fi_routine, void *, context, long, status)
{
	atomic_inc(context);
	return true;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_fi_x, dpx_fi_x_l1, int, a)
{
	return 101;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_fi_y, dpx_fi_y_l1, int, a)
{
	return 201;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_fi_x, dpx_fi_x_l2, int, a)
{
	return 102;
}

static const struct drvproxy_replacement *const fi_l1[] = {
	DRVPROXY_REPL(dpx_fi_x_l1), DRVPROXY_REPL(dpx_fi_y_l1),
};

static const struct drvproxy_replacement *const fi_l2[] = { DRVPROXY_REPL(dpx_fi_x_l2) };

struct fi_fixture {
	struct dpx_host host;
	struct drvproxy_extension *ext;
	struct drvproxy_event ev;
	atomic_t routine_calls;
};

#ifdef CONFIG_FAULT_INJECTION
static void fi_set_fail_nth(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

static unsigned int fi_fail_nth(void)
{
	return READ_ONCE(current->fail_nth);
}
#else
static void fi_set_fail_nth(unsigned int n)
{
}

static unsigned int fi_fail_nth(void)
{
	return 1;
}
#endif

/*
 * After the operation succeeded at @n: the counter must be left, i.e. no
 * n-th site was reached.  Used up, the n-th site failed and the operation
 * succeeded anyway, ignoring a failure (a sysfs directory once was).
 */
static void fi_report(struct kunit *test, unsigned int n, unsigned int left)
{
	KUNIT_EXPECT_NE_MSG(test, left, 0, "the failure injected at site %u was ignored", n);
	kunit_info(test, "%u allocation sites failed in turn\n", n - 1);
}

static int fi_init(struct kunit *test)
{
	struct fi_fixture *f;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	drvproxy_event_init(&f->ev, true);
	return 0;
}

static void fi_exit(struct kunit *test)
{
	struct fi_fixture *f = test->priv;

	fi_set_fail_nth(0);
	if (!f)
		return;
	drvproxy_destroy_extension(f->ext);
	dpx_host_exit(&f->host);
}

/* Register the host with x and y (ids FI_X, FI_Y) on its extension. */
static void fi_host(struct kunit *test, struct fi_fixture *f)
{
	struct drvproxy_endpoint_info info[] = {
		{ .id = FI_X, .endpoint = DRVPROXY_DESC(dpx_fi_x) },
		{ .id = FI_Y, .endpoint = DRVPROXY_DESC(dpx_fi_y) },
	};

	dpx_host_init(test, &f->host, FI_DRV, true);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->host.ext, info, 2, NULL, NULL), 0);
}

/* The observable state the operations under test must not change on failure. */
struct fi_state {
	int x, y, v2;
	u64 global, gen;
	bool new_id;
	struct drvproxy_extension *drv_ext;
};

static void fi_snapshot(struct fi_fixture *f, struct drvproxy_extension *ext,
			struct fi_state *s)
{
	s->x = dpx_fi_x(0);
	s->y = dpx_fi_y(0);
	s->v2 = dpx_kunit_v2_bravo(0);
	s->global = drvproxy_generation();
	s->gen = ext ? drvproxy_extension_generation(ext) : 0;
	s->new_id = ext && drvproxy_get_endpoint_wrapper(ext, FI_NEW);
	s->drv_ext = f->host.drv ? drvproxy_get_extension(f->host.drv) : NULL;
}

static void fi_expect_unchanged(struct kunit *test, struct fi_fixture *f,
				struct drvproxy_extension *ext, const struct fi_state *before,
				unsigned int n)
{
	struct fi_state now;

	fi_snapshot(f, ext, &now);
	KUNIT_EXPECT_EQ_MSG(test, now.x, before->x, "site %u", n);
	KUNIT_EXPECT_EQ_MSG(test, now.y, before->y, "site %u", n);
	KUNIT_EXPECT_EQ_MSG(test, now.v2, before->v2, "site %u", n);
	KUNIT_EXPECT_EQ_MSG(test, now.global, before->global, "site %u", n);
	KUNIT_EXPECT_EQ_MSG(test, now.gen, before->gen, "site %u", n);
	KUNIT_EXPECT_EQ_MSG(test, now.new_id, before->new_id, "site %u", n);
	KUNIT_EXPECT_PTR_EQ_MSG(test, now.drv_ext, before->drv_ext, "site %u", n);
}

/*
 * Creating a driver's extension with each allocation site failing in turn:
 * -ENOMEM, no extension, nothing bound, no generation published (also when
 * the last sites, the sysfs directories, fail).
 */
static void create_extension_alloc_failure_changes_nothing(struct kunit *test)
{
	struct fi_fixture *f = test->priv;
	struct drvproxy_extension *ext;
	struct fi_state before;
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	dpx_host_init(test, &f->host, FI_DRV, false);
	fi_snapshot(f, NULL, &before);
	for (n = 1; n < FI_MAX_SITES; n++) {
		ext = (void *)test;
		fi_set_fail_nth(n);
		ret = drvproxy_create_extension(f->host.drv, 0, &ext);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		KUNIT_EXPECT_NULL_MSG(test, ext, "site %u", n);
		fi_expect_unchanged(test, f, NULL, &before, n);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/*
	 * The section list, the extension, the endpoint array, per endpoint
	 * its record, the index, the table (three), the sysfs directories
	 * (two).
	 */
	KUNIT_EXPECT_GE(test, n - 1, 1 + 1 + 1 + DPX_V2_NR + 1 + 3 + 2);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_extension(f->host.drv), ext);
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), DPX_V2_BOUND + 2);
}

static atomic_t fi_inits, fi_unloads;

static int fi_driver_init(struct drvproxy_driver *drv)
{
	atomic_inc(&fi_inits);
	return 0;
}

static void fi_driver_unload(struct drvproxy_driver *drv)
{
	atomic_inc(&fi_unloads);
}

/*
 * Registering a driver object with each allocation site failing in turn:
 * -ENOMEM, not registered, and what driver_init set up is undone by
 * driver_unload, as an unregister would.
 */
static void driver_register_alloc_failure_unloads_what_init_did(struct kunit *test)
{
	struct drvproxy_driver *drv = drvproxy_driver_alloc(FI_DRV);
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(drv));
	drv->driver_init = fi_driver_init;
	drv->driver_unload = fi_driver_unload;
	atomic_set(&fi_inits, 0);
	atomic_set(&fi_unloads, 0);
	for (n = 1; n < FI_MAX_SITES; n++) {
		fi_set_fail_nth(n);
		ret = drvproxy_driver_register(drv);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&fi_unloads), atomic_read(&fi_inits),
				    "site %u", n);
	}
	KUNIT_EXPECT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/* The proxy file_operations and the sysfs directory at least. */
	KUNIT_EXPECT_GE(test, n - 1, 2U);
	if (!ret)
		drvproxy_driver_unregister(drv);
	KUNIT_EXPECT_EQ(test, atomic_read(&fi_unloads), atomic_read(&fi_inits));
	drvproxy_driver_free(drv);
}

/* The same for an extension without owner. */
static void create_extension_without_driver_alloc_failure_changes_nothing(struct kunit *test)
{
	struct fi_fixture *f = test->priv;
	struct fi_state before;
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	fi_snapshot(f, NULL, &before);
	for (n = 1; n < FI_MAX_SITES; n++) {
		f->ext = (void *)test;
		fi_set_fail_nth(n);
		ret = drvproxy_create_extension(NULL, 0, &f->ext);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		KUNIT_EXPECT_NULL_MSG(test, f->ext, "site %u", n);
		fi_expect_unchanged(test, f, NULL, &before, n);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/* The extension, the table (three); no endpoint, so no index. */
	KUNIT_EXPECT_GE(test, n - 1, 1U + 3);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), 1ULL);
}

/*
 * A V1 batch that replaces x and adds a new id, with each allocation site
 * failing in turn: -ENOMEM, x still original, the new id absent and its
 * endpoint unbound, no generation published, no swap counted.
 */
static void register_endpoints_alloc_failure_changes_nothing(struct kunit *test)
{
	struct fi_fixture *f = test->priv;
	struct drvproxy_endpoint_info info[] = {
		{ .id = FI_X, .endpoint = DRVPROXY_DESC(dpx_fi_x2) },
		{ .id = FI_NEW, .endpoint = DRVPROXY_DESC(dpx_fi_new) },
	};
	struct fi_state before;
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	fi_host(test, f);
	fi_snapshot(f, f->host.ext, &before);
	for (n = 1; n < FI_MAX_SITES; n++) {
		fi_set_fail_nth(n);
		ret = drvproxy_register_endpoints(f->host.ext, info, 2, NULL, NULL);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		fi_expect_unchanged(test, f, f->host.ext, &before, n);
		KUNIT_EXPECT_NULL_MSG(test, DRVPROXY_DESC(dpx_fi_new)->ext, "site %u", n);
		KUNIT_EXPECT_EQ_MSG(test, dpx_swaps(f->host.ext, FI_X), 0ULL, "site %u", n);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/*
	 * Two batch arrays, the grown endpoint and pin arrays, the new
	 * record, the new index, the base array and the table (three), the
	 * rollback and stall tables (three each).
	 */
	KUNIT_EXPECT_GE(test, n - 1, 2U + 2 + 1 + 1 + 1 + 3 + 3 + 3);
	KUNIT_EXPECT_EQ(test, dpx_fi_x(0), 110);
	KUNIT_EXPECT_EQ(test, dpx_fi_new(0), 300);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(f->host.ext, FI_NEW),
			    (drvproxy_fn_t)dpx_fi_new);
}

static const enum drvproxy_mode fi_modes[] = { DRVPROXY_MODE_LIVE, DRVPROXY_MODE_STALLED };

static void fi_mode_desc(const enum drvproxy_mode *m, char *desc)
{
	strscpy(desc, *m == DRVPROXY_MODE_LIVE ? "live" : "stalled", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fi_mode, fi_modes, fi_mode_desc);

/*
 * Applying a layer on top of another with each allocation site failing in
 * turn (a fresh layer every time): -ENOMEM, the stack below unchanged, the
 * failed layer not applied.
 */
static void layer_apply_alloc_failure_changes_nothing(struct kunit *test)
{
	const enum drvproxy_mode *mode = test->param_value;
	struct fi_fixture *f = test->priv;
	struct drvproxy_layer *below, *l = NULL;
	struct fi_state before;
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	fi_host(test, f);
	below = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, fi_l1, ARRAY_SIZE(fi_l1));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(below), 0);
	fi_snapshot(f, f->host.ext, &before);
	for (n = 1; n < FI_MAX_SITES; n++) {
		l = dpx_layer_new(&f->host, *mode, fi_l2, ARRAY_SIZE(fi_l2));
		fi_set_fail_nth(n);
		ret = drvproxy_layer_apply(l);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		fi_expect_unchanged(test, f, f->host.ext, &before, n);
		KUNIT_EXPECT_EQ_MSG(test, drvproxy_layer_revert(l), -ENOENT, "site %u", n);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/* Slots and functions, the table and the rollback table, the stall table. */
	KUNIT_EXPECT_GE(test, n - 1, 2U + 3 + 3 + (*mode == DRVPROXY_MODE_STALLED ? 3 : 0));
	KUNIT_EXPECT_EQ(test, dpx_fi_x(0), 102);
	KUNIT_EXPECT_EQ(test, dpx_fi_y(0), 201);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_fi_x(0), 101);
}

/*
 * Reverting the top layer with each allocation site failing in turn:
 * -ENOMEM, the layer still applied and serving; then it reverts.
 */
static void layer_revert_alloc_failure_changes_nothing(struct kunit *test)
{
	const enum drvproxy_mode *mode = test->param_value;
	struct fi_fixture *f = test->priv;
	struct drvproxy_layer *below, *l;
	struct fi_state before;
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	fi_host(test, f);
	below = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, fi_l1, ARRAY_SIZE(fi_l1));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(below), 0);
	l = dpx_layer_new(&f->host, *mode, fi_l2, ARRAY_SIZE(fi_l2));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	fi_snapshot(f, f->host.ext, &before);
	KUNIT_ASSERT_EQ(test, before.x, 102);
	for (n = 1; n < FI_MAX_SITES; n++) {
		fi_set_fail_nth(n);
		ret = drvproxy_layer_revert(l);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		fi_expect_unchanged(test, f, f->host.ext, &before, n);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/* The table and the rollback table, the stall table. */
	KUNIT_EXPECT_GE(test, n - 1, 3U + 3 + (*mode == DRVPROXY_MODE_STALLED ? 3 : 0));
	KUNIT_EXPECT_EQ(test, dpx_fi_x(0), 101);
	KUNIT_EXPECT_EQ(test, dpx_fi_y(0), 201);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), -ENOENT);
}

/*
 * Creating a worker with each allocation site failing in turn: -ENOMEM and
 * no thread (a signal runs no routine); then it works.
 */
static void create_worker_alloc_failure_changes_nothing(struct kunit *test)
{
	struct fi_fixture *f = test->priv;
	struct drvproxy_worker_start s = {
		.routine = dpx_fi_routine,
		.context = &f->routine_calls,
		.name = FI_WORKER_NAME,
		.wait_type = DRVPROXY_WAIT_ANY,
		.event_count = 1,
		.events = { &f->ev },
	};
	struct drvproxy_worker *w;
	unsigned int n, left = 0;
	int ret = -ENOMEM;

	dpx_host_init(test, &f->host, FI_DRV, true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, FI_X,
					       DRVPROXY_DESC(dpx_fi_routine)), 0);
	KUNIT_ASSERT_EQ(test, dpx_threads_named(FI_WORKER_NAME), 0U);
	for (n = 1; n < FI_MAX_SITES; n++) {
		w = (void *)test;
		fi_set_fail_nth(n);
		ret = drvproxy_create_worker(f->host.ext, &s, &w);
		left = fi_fail_nth();
		fi_set_fail_nth(0);
		if (!ret)
			break;
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "site %u", n);
		KUNIT_EXPECT_NULL_MSG(test, w, "site %u", n);
		/*
		 * No thread: a created kthread has its name when create
		 * returns, so this needs no waiting (unlike "the routine has
		 * not run yet", which a sleep would only make plausible).
		 */
		KUNIT_EXPECT_EQ_MSG(test, dpx_threads_named(FI_WORKER_NAME), 0U, "site %u", n);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	fi_report(test, n, left);
	/* The worker record. */
	KUNIT_EXPECT_GE(test, n - 1, 1U);
	/* The control: the worker that was created is seen, and runs. */
	KUNIT_EXPECT_EQ(test, dpx_threads_named(FI_WORKER_NAME), 1U);
	drvproxy_event_set(&f->ev);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(atomic_read(&f->routine_calls) == 1, 5000));
	drvproxy_stop_worker(w);
}

static struct kunit_case drvproxy_fault_cases[] = {
	KUNIT_CASE(create_extension_alloc_failure_changes_nothing),
	KUNIT_CASE(create_extension_without_driver_alloc_failure_changes_nothing),
	KUNIT_CASE(driver_register_alloc_failure_unloads_what_init_did),
	KUNIT_CASE(register_endpoints_alloc_failure_changes_nothing),
	KUNIT_CASE_PARAM(layer_apply_alloc_failure_changes_nothing, fi_mode_gen_params),
	KUNIT_CASE_PARAM(layer_revert_alloc_failure_changes_nothing, fi_mode_gen_params),
	KUNIT_CASE(create_worker_alloc_failure_changes_nothing),
	{}
};

static struct kunit_suite drvproxy_fault_suite = {
	.name = "drvproxy_fault",
	.init = fi_init,
	.exit = fi_exit,
	.test_cases = drvproxy_fault_cases,
};

kunit_test_suites(&drvproxy_fault_suite);
