// SPDX-License-Identifier: GPL-2.0
/*
 * taint_kunit.c - KUnit suite drvproxy_taint: the first apply taints K
 *
 * Like livepatch, a driver running a companion's code taints the kernel
 * with TAINT_LIVEPATCH (K), and the taint is sticky.  The taint can only be
 * seen to appear once per boot, so this suite is a module of its own
 * (drvproxy_taint_kunit.ko), which the KUnit runner (kunit-guest.sh) loads
 * right after drvproxy.ko, before any other suite applied a layer.  Each
 * case checks the transition from untainted; loaded in a boot where some
 * apply already tainted the kernel, it skips with that reason instead of
 * passing on a taint it did not cause.  Self-contained (no util_kunit.c):
 * an object file belongs to one module only.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/panic.h>

#include <drvproxy.h>

#define TT_DRV		"dpx_kunit_taint"
#define TT_ID		100

DRVPROXY_ENDPOINT_MANUAL(int, dpx_tt_x, int, a)
{
	return 100;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_tt_x, dpx_tt_x_l1, int, a)
{
	return 101;
}

static const struct drvproxy_replacement *const tt_repls[] = {
	DRVPROXY_REPL(dpx_tt_x_l1),
};

struct tt_fixture {
	struct drvproxy_driver *drv;
	struct drvproxy_extension *ext;
	struct drvproxy_layer layer;
};

static int tt_init(struct kunit *test)
{
	struct drvproxy_endpoint_info info = { .id = TT_ID, .endpoint = DRVPROXY_DESC(dpx_tt_x) };
	struct tt_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	f->drv = drvproxy_driver_alloc(TT_DRV);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, f->drv);
	KUNIT_ASSERT_EQ(test, drvproxy_driver_register(f->drv), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(f->drv, 0, &f->ext), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->ext, &info, 1, NULL, NULL), 0);
	f->layer.target = TT_DRV;
	f->layer.owner = THIS_MODULE;
	f->layer.mode = DRVPROXY_MODE_LIVE;
	f->layer.replacements = tt_repls;
	f->layer.nr_replacements = ARRAY_SIZE(tt_repls);
	return 0;
}

static void tt_exit(struct kunit *test)
{
	struct tt_fixture *f = test->priv;

	if (IS_ERR_OR_NULL(f->drv))
		return;
	drvproxy_layer_revert(&f->layer);
	drvproxy_driver_unregister(f->drv);
	drvproxy_driver_free(f->drv);
}

/* The cases prove a transition: from a tainted kernel they prove nothing. */
static void tt_require_untainted(struct kunit *test)
{
	if (test_taint(TAINT_LIVEPATCH))
		kunit_skip(test, "kernel already tainted K by an earlier apply in this boot");
}

static int tt_fail_pre(enum drvproxy_phase phase, void *context)
{
	return phase == DRVPROXY_PHASE_PRE ? -ENOTRECOVERABLE : 0;
}

/*
 * An apply that fails before anything is published ran none of the
 * companion's code: no taint.  (Runs first, while the kernel is clean.)
 */
static void failed_apply_does_not_taint(struct kunit *test)
{
	struct tt_fixture *f = test->priv;

	tt_require_untainted(test);
	f->layer.callback = tt_fail_pre;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(&f->layer), -ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, dpx_tt_x(0), 100);
	KUNIT_EXPECT_FALSE(test, test_taint(TAINT_LIVEPATCH));
}

/* The first successful apply taints K, and the taint survives the revert. */
static void first_apply_taints_kernel_livepatch_for_good(struct kunit *test)
{
	struct tt_fixture *f = test->priv;

	tt_require_untainted(test);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(&f->layer), 0);
	KUNIT_EXPECT_EQ(test, dpx_tt_x(0), 101);
	KUNIT_EXPECT_TRUE(test, test_taint(TAINT_LIVEPATCH));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(&f->layer), 0);
	KUNIT_EXPECT_EQ(test, dpx_tt_x(0), 100);
	/* Sticky: the companion's code ran. */
	KUNIT_EXPECT_TRUE(test, test_taint(TAINT_LIVEPATCH));
}

static struct kunit_case drvproxy_taint_cases[] = {
	KUNIT_CASE(failed_apply_does_not_taint),
	KUNIT_CASE(first_apply_taints_kernel_livepatch_for_good),
	{}
};

static struct kunit_suite drvproxy_taint_suite = {
	.name = "drvproxy_taint",
	.init = tt_init,
	.exit = tt_exit,
	.test_cases = drvproxy_taint_cases,
};

kunit_test_suites(&drvproxy_taint_suite);

MODULE_DESCRIPTION("KUnit suite of drvproxy's TAINT_LIVEPATCH, loaded first in its boot");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
