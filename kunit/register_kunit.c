// SPDX-License-Identifier: GPL-2.0
/*
 * register_kunit.c - KUnit suite drvproxy_register: V1 registration
 *
 * Covers drvproxy_register_endpoints(): atomic batches, replacement of an
 * existing id, the signature rule, the phased callback and its rollback,
 * re-entry detection and the drain of calls in flight.  Each case runs on an
 * extension without owner with DRVPROXY_ENDPOINT_MANUAL() endpoints, so it
 * controls exactly which endpoints exist.  Windows DriverProxy behaviours
 * (windows-driverproxy.md §2):
 *   7  an existing id with an identical signature is replaced; later calls
 *      through the existing wrapper reach the new function
 *   8  a different signature is INVALID_PARAMETER (-EINVAL) and nothing in
 *      the batch is applied
 *   9  callback phases PRE, (drain), STALLED, (swap), POST, same context,
 *      MAX never delivered
 *   10 a callback error in any phase fails the registration and rolls back
 *   11 a NULL callback is allowed
 *   12 registration waits for calls in flight; a drain timeout fails with
 *      -ETIMEDOUT (STATUS_UNSUCCESSFUL) and changes nothing
 *   17 a callback that re-enters the extension gets -EDEADLK
 *   21 the parameter list must match exactly (the signature rule of 8)
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/ktime.h>

#include "drvproxy_kunit.h"

struct reg_fixture;
static struct reg_fixture *reg_cur;	/* for the endpoint bodies */

DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_a, int, x)
{
	return 1;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_a2, int, x)
{
	return 2;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_a3, int, x)
{
	return 3;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_b, int, x)
{
	return 10;
}

/* Same return type, another parameter type. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_long, long, x)
{
	return 20;
}

/* Same return type, another parameter count (ParameterCount differs). */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_two, int, x, int, y)
{
	return 30;
}

/* Another return type. */
DRVPROXY_ENDPOINT_MANUAL(long, dpx_reg_ret, int, x)
{
	return 40;
}

struct reg_fixture {
	struct drvproxy_extension *ext;
	struct drvproxy_extension *ext2;
	/* dpx_reg_slow: blocks while x != 0 until @gate completes */
	struct completion gate;
	atomic_t slow_entered;
	atomic_t slow_left;
	struct dpx_thread caller;
	struct dpx_thread registrar;
	/* reg_probe(): calls dpx_reg_b() until probe_stop */
	struct dpx_thread probe;
	bool probe_stop;
	atomic_t probe_started;
	atomic_t probe_returned;
	int registrar_ret;
	/* callback record */
	enum drvproxy_phase phases[8];
	void *contexts[8];
	int calls_seen[8];
	unsigned int nr_phases;
	enum drvproxy_phase fail_phase;
	int fail_ret;
	int reenter_ret;
	bool reenter;
	/* reg_callback() registers dpx_reg_a in @other_ext at PRE */
	struct drvproxy_extension *other_ext;
	int other_ret;
	int slow_left_at_stalled;
	u64 gen_at[DRVPROXY_PHASE_MAX];
};

DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_slow, int, x)
{
	struct reg_fixture *f = reg_cur;

	atomic_inc(&f->slow_entered);
	if (x)
		wait_for_completion(&f->gate);
	atomic_inc(&f->slow_left);
	return 1;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_reg_slow2, int, x)
{
	return 2;
}

static int reg_init(struct kunit *test)
{
	struct reg_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	init_completion(&f->gate);
	f->fail_phase = DRVPROXY_PHASE_MAX;
	reg_cur = f;
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->ext), 0);
	return 0;
}

static void reg_exit(struct kunit *test)
{
	struct reg_fixture *f = test->priv;

	complete_all(&f->gate);
	WRITE_ONCE(f->probe_stop, true);
	dpx_thread_stop(&f->caller);
	dpx_thread_stop(&f->registrar);
	dpx_thread_stop(&f->probe);
	drvproxy_destroy_extension(f->ext2);
	drvproxy_destroy_extension(f->ext);
	reg_cur = NULL;
}

/* Records every phase; fails in f->fail_phase; optionally re-enters. */
static long reg_register_a_in_other(void *arg)
{
	struct reg_fixture *f = arg;

	return dpx_register_one(f->other_ext, 7, DRVPROXY_DESC(dpx_reg_a));
}

/*
 * While a registration is between its check and its bind (its PRE
 * callback), another task registers the same endpoint in @other_ext
 * (another task: a transition's callback may not lock another extension).
 */
static void reg_other_in_flight(struct reg_fixture *f)
{
	if (dpx_thread_start(&f->registrar, reg_register_a_in_other, f, "dpx-reg-other"))
		return;
	if (dpx_thread_wait(&f->registrar, 5000))
		f->other_ret = f->registrar.result;
}

static int reg_callback(enum drvproxy_phase phase, void *context)
{
	struct reg_fixture *f = reg_cur;
	unsigned int n = f->nr_phases;

	if (n < ARRAY_SIZE(f->phases)) {
		f->phases[n] = phase;
		f->contexts[n] = context;
		/* The transition's own task runs the superseded code while stalled. */
		f->calls_seen[n] = dpx_reg_a(0);
		f->nr_phases++;
	}
	if (phase < DRVPROXY_PHASE_MAX)
		f->gen_at[phase] = drvproxy_extension_generation(f->ext);
	if (phase == DRVPROXY_PHASE_STALLED)
		f->slow_left_at_stalled = atomic_read(&f->slow_left);
	if (f->reenter && phase == DRVPROXY_PHASE_PRE)
		f->reenter_ret = dpx_register_one(f->ext, 3, DRVPROXY_DESC(dpx_reg_b));
	if (f->other_ext && phase == DRVPROXY_PHASE_PRE)
		reg_other_in_flight(f);
	return phase == f->fail_phase ? f->fail_ret : 0;
}

/* A batch of new ids registers and binds every endpoint in it. */
static void register_new_ids_binds_whole_batch(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info info[] = {
		{ .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) },
		{ .id = 2, .endpoint = DRVPROXY_DESC(dpx_reg_b) },
	};
	u64 gen = drvproxy_extension_generation(f->ext);
	u64 global = drvproxy_generation();

	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->ext, info, 2, NULL, NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(f->ext, 1),
			    (drvproxy_fn_t)dpx_reg_a);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(f->ext, 2),
			    (drvproxy_fn_t)dpx_reg_b);
	KUNIT_EXPECT_PTR_EQ(test, DRVPROXY_DESC(dpx_reg_a)->ext, f->ext);
	KUNIT_EXPECT_PTR_EQ(test, DRVPROXY_DESC(dpx_reg_b)->ext, f->ext);
	/* One publish for the whole batch. */
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen + 1);
	KUNIT_EXPECT_GT(test, drvproxy_generation(), global);

	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_reg_b(0), 10);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, 1), 1ULL);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, 2), 1ULL);
}

/*
 * Registering an existing id with an identical signature replaces its
 * implementation: calls through the existing wrapper reach the new
 * function, and the id keeps the original wrapper.
 */
static void register_existing_id_same_signature_replaces_through_old_wrapper(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	u64 gen;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a)), 0);
	KUNIT_ASSERT_EQ(test, dpx_reg_a(0), 1);
	gen = drvproxy_extension_generation(f->ext);

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a2)), 0);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 2);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(f->ext, 1),
			    (drvproxy_fn_t)dpx_reg_a);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen + 1);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->ext, 1), 1ULL);

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a3)), 0);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 3);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->ext, 1), 2ULL);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, 1), 3ULL);
}

/*
 * An existing id with a different signature (parameter type, parameter
 * count or return type) is -EINVAL, and nothing in the batch applies: the
 * new id registered alongside is not added either.
 */
static void register_signature_mismatch_returns_einval_and_applies_nothing(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_desc *bad[] = {
		DRVPROXY_DESC(dpx_reg_long),
		DRVPROXY_DESC(dpx_reg_two),
		DRVPROXY_DESC(dpx_reg_ret),
	};
	u64 gen, global;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a)), 0);
	gen = drvproxy_extension_generation(f->ext);
	global = drvproxy_generation();

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct drvproxy_endpoint_info info[] = {
			{ .id = 2, .endpoint = DRVPROXY_DESC(dpx_reg_b) },
			{ .id = 1, .endpoint = bad[i] },
		};

		KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, info, 2, NULL, NULL),
				-EINVAL);
		KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 2));
		KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_reg_b)->ext);
		KUNIT_EXPECT_NULL(test, bad[i]->ext);
		KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	}
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), global);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->ext, 1), 0ULL);
	/* The batch's new id was not taken: registering it alone works. */
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext, 2, DRVPROXY_DESC(dpx_reg_b)), 0);
}

/* A batch that repeats an id or an endpoint is -EINVAL and applies nothing. */
static void register_repeated_id_or_endpoint_returns_einval(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info same_id[] = {
		{ .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) },
		{ .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_b) },
	};
	struct drvproxy_endpoint_info same_ep[] = {
		{ .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) },
		{ .id = 2, .endpoint = DRVPROXY_DESC(dpx_reg_a) },
	};
	u64 gen = drvproxy_extension_generation(f->ext);

	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, same_id, 2, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, same_ep, 2, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 1));
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 2));
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_reg_a)->ext);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen);
}

/*
 * One endpoint has one id: registering it again under another id is -EBUSY
 * and changes nothing.
 */
static void register_same_endpoint_under_second_id_returns_ebusy(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	u64 gen;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a)), 0);
	gen = drvproxy_extension_generation(f->ext);
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext, 2, DRVPROXY_DESC(dpx_reg_a)), -EBUSY);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 2));
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
}

/* NULL extension, NULL array, an empty batch or a NULL endpoint are -EINVAL. */
static void register_bad_arguments_return_einval(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info ok = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) };
	struct drvproxy_endpoint_info null_ep[] = {
		{ .id = 2, .endpoint = DRVPROXY_DESC(dpx_reg_b) },
		{ .id = 1, .endpoint = NULL },
	};

	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(NULL, &ok, 1, NULL, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, NULL, 1, NULL, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, &ok, 0, NULL, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, null_ep, 2, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 1));
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 2));
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_reg_a)->ext);
}

/* An endpoint bound to another extension cannot be added here: -EBUSY. */
static void register_endpoint_bound_elsewhere_returns_ebusy(struct kunit *test)
{
	struct reg_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->ext2), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext2, 1, DRVPROXY_DESC(dpx_reg_a)), 0);
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a)), -EBUSY);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 1));
	KUNIT_EXPECT_PTR_EQ(test, DRVPROXY_DESC(dpx_reg_a)->ext, f->ext2);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext2, 1), 1ULL);
}

/*
 * Two extensions registering one endpoint at the same time: one gets it,
 * the other -EBUSY.  The second registration runs while the first one is
 * in its PRE callback, after it checked the endpoint and before it binds it;
 * both used to pass the check and both bind, leaving the descriptor with
 * one extension's pointer and the other's slot index.
 */
static void register_endpoint_claimed_by_a_registration_in_flight_returns_ebusy(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info info = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) };

	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->ext2), 0);
	f->other_ext = f->ext2;
	f->other_ret = 1;
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, &info, 1, reg_callback, f),
			0);
	KUNIT_EXPECT_EQ(test, f->other_ret, -EBUSY);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext2, 7));
	KUNIT_EXPECT_PTR_EQ(test, DRVPROXY_DESC(dpx_reg_a)->ext, f->ext);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext, 1), 1ULL);
	/* Released with its extension: then another may take it. */
	drvproxy_destroy_extension(f->ext);
	f->ext = NULL;
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext2, 7, DRVPROXY_DESC(dpx_reg_a)), 0);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext2, 7), 0ULL);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->ext2, 7), 1ULL);
}

/*
 * The callback is optional: initial registration and replacement both work
 * without one.
 */
static void register_null_callback_allowed(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info add = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) };
	struct drvproxy_endpoint_info repl = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a2) };

	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, &add, 1, NULL, f), 0);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, &repl, 1, NULL, f), 0);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 2);
}

/*
 * A replacing batch delivers PRE, STALLED, POST in this order, each with the
 * caller's context, never MAX.  The transition's own task still runs the old
 * implementation in PRE and STALLED and the new one in POST; the generation
 * moves between STALLED and POST.  A batch that only adds endpoints runs
 * live: PRE, POST.
 */
static void register_callback_phases_in_order_with_same_context(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info add = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) };
	struct drvproxy_endpoint_info repl = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a2) };
	void *ctx = (void *)0x5a5a5a5aUL;
	u64 gen;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->ext, &add, 1, reg_callback, ctx),
			0);
	KUNIT_ASSERT_EQ(test, f->nr_phases, 2U);
	KUNIT_EXPECT_EQ(test, f->phases[0], DRVPROXY_PHASE_PRE);
	KUNIT_EXPECT_EQ(test, f->phases[1], DRVPROXY_PHASE_POST);

	f->nr_phases = 0;
	gen = drvproxy_extension_generation(f->ext);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->ext, &repl, 1, reg_callback, ctx),
			0);
	KUNIT_ASSERT_EQ(test, f->nr_phases, 3U);
	KUNIT_EXPECT_EQ(test, f->phases[0], DRVPROXY_PHASE_PRE);
	KUNIT_EXPECT_EQ(test, f->phases[1], DRVPROXY_PHASE_STALLED);
	KUNIT_EXPECT_EQ(test, f->phases[2], DRVPROXY_PHASE_POST);
	for (i = 0; i < f->nr_phases; i++)
		KUNIT_EXPECT_PTR_EQ(test, f->contexts[i], ctx);
	KUNIT_EXPECT_EQ(test, f->calls_seen[0], 1);
	KUNIT_EXPECT_EQ(test, f->calls_seen[1], 1);
	KUNIT_EXPECT_EQ(test, f->calls_seen[2], 2);
	KUNIT_EXPECT_EQ(test, f->gen_at[DRVPROXY_PHASE_PRE], gen);
	KUNIT_EXPECT_EQ(test, f->gen_at[DRVPROXY_PHASE_STALLED], gen);
	KUNIT_EXPECT_EQ(test, f->gen_at[DRVPROXY_PHASE_POST], gen + 1);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 2);
}

static const enum drvproxy_phase reg_fail_phases[] = {
	DRVPROXY_PHASE_PRE, DRVPROXY_PHASE_STALLED, DRVPROXY_PHASE_POST,
};

static void reg_phase_desc(const enum drvproxy_phase *p, char *desc)
{
	static const char * const names[] = { "PRE", "STALLED", "POST" };

	strscpy(desc, names[*p], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(reg_fail_phase, reg_fail_phases, reg_phase_desc);

/*
 * A callback error in any phase fails the whole registration with that
 * error and rolls every change back: the old implementation is served, the
 * batch's new id is not added, no phase runs after the failing one.  A
 * failure in PRE or STALLED publishes nothing; a failure in POST publishes a
 * rollback table, so only the implementation (not the generation) is back.
 * The extension is usable afterwards.
 */
static void register_callback_error_fails_and_rolls_back(struct kunit *test)
{
	const enum drvproxy_phase *phase = test->param_value;
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info info[] = {
		{ .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a2) },
		{ .id = 2, .endpoint = DRVPROXY_DESC(dpx_reg_b) },
	};
	u64 gen;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_a)), 0);
	gen = drvproxy_extension_generation(f->ext);
	f->fail_phase = *phase;
	f->fail_ret = -ENOTRECOVERABLE;

	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, info, 2, reg_callback, f),
			-ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, f->nr_phases, (unsigned int)*phase + 1);
	KUNIT_EXPECT_EQ(test, f->phases[f->nr_phases - 1], *phase);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 2));
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_reg_b)->ext);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->ext, 1), 0ULL);
	if (*phase != DRVPROXY_PHASE_POST)
		KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen);

	/* Nothing is left stuck: the same batch without callback applies. */
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, info, 2, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 2);
	KUNIT_EXPECT_EQ(test, dpx_reg_b(0), 10);
}

/*
 * A callback that calls back into its own extension gets -EDEADLK instead of
 * deadlocking; the outer registration is unaffected.
 */
static void register_callback_reentering_extension_returns_edeadlk(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info info = { .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_a) };

	f->reenter = true;
	f->reenter_ret = 1;
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, &info, 1, reg_callback, f),
			0);
	KUNIT_EXPECT_EQ(test, f->reenter_ret, -EDEADLK);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 3));
	KUNIT_EXPECT_EQ(test, dpx_reg_a(0), 1);
	/* The lock was released: another registration works. */
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->ext, 3, DRVPROXY_DESC(dpx_reg_b)), 0);
}

static long reg_call_slow(void *arg)
{
	return dpx_reg_slow(1);
}

static long reg_register_slow2(void *arg)
{
	struct reg_fixture *f = arg;
	struct drvproxy_endpoint_info info = {
		.id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_slow2),
	};

	return drvproxy_register_endpoints(f->ext, &info, 1, reg_callback, f);
}

/* Call dpx_reg_b() over and over, counting calls begun and returned. */
static long reg_probe(void *arg)
{
	struct reg_fixture *f = arg;

	while (!READ_ONCE(f->probe_stop)) {
		atomic_inc(&f->probe_started);
		dpx_reg_b(0);
		atomic_inc(&f->probe_returned);
		cond_resched();
	}
	return 0;
}

/*
 * Is the probe held inside a call?  dpx_reg_b() never sleeps, so a probe
 * asleep uninterruptibly between beginning and returning a call is held at
 * wrapper entry by a stall.
 */
static bool reg_probe_held(struct reg_fixture *f)
{
	struct task_struct *t = f->probe.task;

	if (!t || !(READ_ONCE(t->__state) & TASK_UNINTERRUPTIBLE))
		return false;
	/* Pairs with the barrier in set_current_state() of the sleep. */
	smp_rmb();
	return atomic_read(&f->probe_started) != atomic_read(&f->probe_returned);
}

/*
 * A replacing registration waits until the call in flight in the old
 * implementation returned, and only then runs STALLED and publishes; the
 * call finishes in the old code, later calls reach the new one.
 */
static void register_waits_for_calls_in_flight(struct kunit *test)
{
	struct reg_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_slow)), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 2, DRVPROXY_DESC(dpx_reg_b)), 0);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, reg_call_slow, f, "dpx-reg-call"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->ext, 1) == 1, 5000));
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->probe, reg_probe, f, "dpx-reg-probe"), 0);

	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->registrar, reg_register_slow2, f,
					       "dpx-reg-reg"), 0);
	/*
	 * Positive signals first, not a sleep: PRE ran, and the registrar's
	 * stall is published (the probe, which calls another endpoint of the
	 * extension without pause, is held in a call).  So the registrar has
	 * reached its drain.  Only then the negative claims: it has not
	 * returned, STALLED has not run, the call in flight has not left.
	 */
	KUNIT_EXPECT_TRUE(test, DPX_POLL(READ_ONCE(f->nr_phases) >= 1, 5000));
	KUNIT_EXPECT_TRUE(test, DPX_POLL(reg_probe_held(f), 5000));
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->registrar));
	KUNIT_EXPECT_EQ(test, READ_ONCE(f->nr_phases), 1U);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->slow_left), 0);

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->registrar, 10000));
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 10000));
	/* The publish released the probe too: it stops when asked. */
	WRITE_ONCE(f->probe_stop, true);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->probe, 10000));
	KUNIT_EXPECT_EQ(test, f->registrar.result, 0L);
	KUNIT_EXPECT_EQ(test, f->caller.result, 1L);
	KUNIT_EXPECT_EQ(test, f->slow_left_at_stalled, 1);
	KUNIT_EXPECT_EQ(test, dpx_reg_slow(0), 2);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->ext, 1), 0ULL);
}

/*
 * When a call in flight does not return within drain_timeout_ms (module
 * parameter, 5 s by default: this case takes that long) the registration
 * fails with -ETIMEDOUT and changes nothing; new calls were only held for
 * the drain and run the old implementation again.
 */
static void register_drain_timeout_returns_etimedout_and_changes_nothing(struct kunit *test)
{
	struct reg_fixture *f = test->priv;
	struct drvproxy_endpoint_info info[] = {
		{ .id = 1, .endpoint = DRVPROXY_DESC(dpx_reg_slow2) },
		{ .id = 2, .endpoint = DRVPROXY_DESC(dpx_reg_b) },
	};
	u64 gen, global;

	KUNIT_ASSERT_EQ(test, dpx_register_one(f->ext, 1, DRVPROXY_DESC(dpx_reg_slow)), 0);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, reg_call_slow, f, "dpx-reg-call"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->ext, 1) == 1, 5000));
	gen = drvproxy_extension_generation(f->ext);
	global = drvproxy_generation();

	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, info, 2, reg_callback, f),
			-ETIMEDOUT);
	/* PRE ran; STALLED never did. */
	KUNIT_EXPECT_EQ(test, f->nr_phases, 1U);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->ext), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), global);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(f->ext, 2));
	KUNIT_EXPECT_EQ(test, dpx_reg_slow(0), 1);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->caller));

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 10000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 1L);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->ext, 1), 0ULL);
	/* With nothing in flight the same batch applies. */
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->ext, info, 2, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, dpx_reg_slow(0), 2);
}

static struct kunit_case drvproxy_register_cases[] = {
	KUNIT_CASE(register_new_ids_binds_whole_batch),
	KUNIT_CASE(register_existing_id_same_signature_replaces_through_old_wrapper),
	KUNIT_CASE(register_signature_mismatch_returns_einval_and_applies_nothing),
	KUNIT_CASE(register_repeated_id_or_endpoint_returns_einval),
	KUNIT_CASE(register_same_endpoint_under_second_id_returns_ebusy),
	KUNIT_CASE(register_bad_arguments_return_einval),
	KUNIT_CASE(register_endpoint_bound_elsewhere_returns_ebusy),
	KUNIT_CASE(register_endpoint_claimed_by_a_registration_in_flight_returns_ebusy),
	KUNIT_CASE(register_null_callback_allowed),
	KUNIT_CASE(register_callback_phases_in_order_with_same_context),
	KUNIT_CASE_PARAM(register_callback_error_fails_and_rolls_back,
			 reg_fail_phase_gen_params),
	KUNIT_CASE(register_callback_reentering_extension_returns_edeadlk),
	KUNIT_CASE(register_waits_for_calls_in_flight),
	KUNIT_CASE_SLOW(register_drain_timeout_returns_etimedout_and_changes_nothing),
	{}
};

static struct kunit_suite drvproxy_register_suite = {
	.name = "drvproxy_register",
	.init = reg_init,
	.exit = reg_exit,
	.test_cases = drvproxy_register_cases,
};

kunit_test_suites(&drvproxy_register_suite);
