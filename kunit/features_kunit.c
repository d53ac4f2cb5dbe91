// SPDX-License-Identifier: GPL-2.0
/*
 * features_kunit.c - KUnit suite drvproxy_features: the feature switches
 *
 * Covers drvproxy_get_features() and what the global switch ("enabled") and
 * the exclusion list ("exclude") do to extension creation, V1 registration
 * and layers.  Windows DriverProxy behaviours (windows-driverproxy.md §2):
 *   1  GetFeatures never fails; NULL driver = system-wide; Enabled is 0 when
 *      disabled globally or the driver is excluded (any context: see
 *      lookup_kunit.c)
 *   2  Create returns NOT_SUPPORTED (-EOPNOTSUPP) when off and
 *      DRIVER_BLOCKED (-EPERM) for an excluded driver
 *   20 Storport's "is enabled" has no analogue; the NULL-driver query of 1
 *      is the system-wide answer
 *
 * Every case that flips a switch restores both with a KUnit action.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>

#include "drvproxy_kunit.h"

#define FEAT_BLOCKED	"dpx_kunit_feat_blocked"
#define FEAT_OTHER	"dpx_kunit_feat_other"

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_v2_alpha, dpx_feat_alpha_repl, int, x)
{
	return 7;
}

static const struct drvproxy_replacement *const feat_repls[] = {
	DRVPROXY_REPL(dpx_feat_alpha_repl),
};

DRVPROXY_ENDPOINT_MANUAL(int, dpx_feat_ep, int, x)
{
	return x;
}

struct feat_fixture {
	struct dpx_host host;
	struct dpx_host other;
};

static int feat_init(struct kunit *test)
{
	struct feat_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	dpx_add_restore_switches(test);
	return 0;
}

static void feat_exit(struct kunit *test)
{
	struct feat_fixture *f = test->priv;

	dpx_restore_switches(NULL);
	dpx_host_exit(&f->host);
	dpx_host_exit(&f->other);
}

/* The NULL-driver query answers for the whole system and overwrites every bit. */
static void get_features_null_driver_reports_system_wide_enabled(struct kunit *test)
{
	union drvproxy_feature_flags flags = { .as_u32 = U32_MAX };

	drvproxy_get_features(NULL, &flags);
	KUNIT_EXPECT_EQ(test, (u32)flags.enabled, 1U);
	KUNIT_EXPECT_EQ(test, (u32)flags.reserved, 0U);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);
}

/* A driver object that is not excluded sees the feature enabled, registered or not. */
static void get_features_for_a_driver_reports_enabled(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	union drvproxy_feature_flags flags = { .as_u32 = U32_MAX };
	struct drvproxy_driver *drv;

	drv = drvproxy_driver_alloc(FEAT_OTHER);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	drvproxy_get_features(drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);
	drvproxy_driver_free(drv);

	dpx_host_init(test, &f->host, FEAT_OTHER, false);
	flags.as_u32 = U32_MAX;
	drvproxy_get_features(f->host.drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);
}

/*
 * With the global switch off every query reports enabled = 0 and creating
 * an extension fails with -EOPNOTSUPP; switching it back on makes creation
 * work again.
 */
static void get_features_disabled_reports_zero_and_create_returns_eopnotsupp(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	union drvproxy_feature_flags flags = { .as_u32 = U32_MAX };
	struct drvproxy_extension *ext = (void *)test;

	dpx_host_init(test, &f->host, FEAT_OTHER, false);
	drvproxy_test_set_enabled(false);

	drvproxy_get_features(NULL, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 0U);
	flags.as_u32 = U32_MAX;
	drvproxy_get_features(f->host.drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 0U);

	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(NULL, 0, &ext), -EOPNOTSUPP);
	KUNIT_EXPECT_NULL(test, ext);
	ext = (void *)test;
	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(f->host.drv, 0, &ext), -EOPNOTSUPP);
	KUNIT_EXPECT_NULL(test, ext);
	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));

	drvproxy_test_set_enabled(true);
	drvproxy_get_features(NULL, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(f->host.drv, 0, &ext), 0);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_extension(f->host.drv), ext);
}

/*
 * Disabling drvproxy after an extension exists refuses V1 registration and
 * layers with -EOPNOTSUPP and changes nothing; the existing endpoints keep
 * working.
 */
static void disabled_refuses_registration_and_layers_with_eopnotsupp(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	struct drvproxy_extension *ext;
	struct drvproxy_layer *layer;
	u64 gen;

	dpx_host_init(test, &f->host, FEAT_OTHER, true);
	ext = f->host.ext;
	gen = drvproxy_extension_generation(ext);
	layer = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, feat_repls,
			      ARRAY_SIZE(feat_repls));

	drvproxy_test_set_enabled(false);
	KUNIT_EXPECT_EQ(test, dpx_register_one(ext, 100, DRVPROXY_DESC(dpx_feat_ep)),
			-EOPNOTSUPP);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(ext, 100));
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(layer), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), DPX_V2_BOUND + 2);

	drvproxy_test_set_enabled(true);
	KUNIT_EXPECT_EQ(test, dpx_register_one(ext, 100, DRVPROXY_DESC(dpx_feat_ep)), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(layer), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(layer), 0);
}

/*
 * An excluded driver sees enabled = 0; other drivers and the system-wide
 * query do not.  Names match exactly, not as prefixes.
 */
static void get_features_excluded_driver_reports_zero_only_for_it(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	union drvproxy_feature_flags flags;

	dpx_host_init(test, &f->host, FEAT_BLOCKED, false);
	dpx_host_init(test, &f->other, FEAT_OTHER, false);
	KUNIT_ASSERT_EQ(test, drvproxy_test_set_exclude("x," FEAT_BLOCKED ",y"), 0);

	flags.as_u32 = U32_MAX;
	drvproxy_get_features(f->host.drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 0U);
	flags.as_u32 = U32_MAX;
	drvproxy_get_features(f->other.drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);
	flags.as_u32 = U32_MAX;
	drvproxy_get_features(NULL, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);

	/* A prefix or an extension of the name is another name. */
	KUNIT_ASSERT_EQ(test, drvproxy_test_set_exclude("dpx_kunit_feat,"
							FEAT_BLOCKED "_x"), 0);
	flags.as_u32 = U32_MAX;
	drvproxy_get_features(f->host.drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 1U);
}

/*
 * The list ends at a newline (echo's); text after it is refused with
 * -EINVAL, and the list in effect stays.
 */
static void exclude_with_text_after_newline_returns_einval_and_keeps_list(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	union drvproxy_feature_flags flags;

	dpx_host_init(test, &f->host, FEAT_BLOCKED, false);
	KUNIT_ASSERT_EQ(test, drvproxy_test_set_exclude(FEAT_BLOCKED "\n"), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_test_set_exclude("x\n" FEAT_OTHER), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_test_set_exclude("x\n\n"), -EINVAL);
	flags.as_u32 = U32_MAX;
	drvproxy_get_features(f->host.drv, &flags);
	KUNIT_EXPECT_EQ(test, flags.as_u32, 0U);
}

/*
 * Creating an extension for an excluded driver fails with -EPERM and leaves
 * the driver without one; once the exclusion is lifted it works.
 */
static void create_extension_excluded_driver_returns_eperm(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	struct drvproxy_extension *ext = (void *)test;
	u64 gen = drvproxy_generation();

	dpx_host_init(test, &f->host, FEAT_BLOCKED, false);
	KUNIT_ASSERT_EQ(test, drvproxy_test_set_exclude(FEAT_BLOCKED), 0);

	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(f->host.drv, 0, &ext), -EPERM);
	KUNIT_EXPECT_NULL(test, ext);
	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), gen);
	/* Nothing was bound: the V2 endpoints still run their original directly. */
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), 2);

	/* An extension without owner is not subject to the list. */
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &ext), 0);
	drvproxy_destroy_extension(ext);

	KUNIT_ASSERT_EQ(test, drvproxy_test_set_exclude(""), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(f->host.drv, 0, &ext), 0);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_extension(f->host.drv), ext);
}

/*
 * Excluding a driver that already has an extension refuses further V1
 * registration and layers with -EPERM and changes nothing.
 */
static void excluded_driver_refuses_registration_and_layers_with_eperm(struct kunit *test)
{
	struct feat_fixture *f = test->priv;
	struct drvproxy_layer *layer;
	u64 gen;

	dpx_host_init(test, &f->host, FEAT_BLOCKED, true);
	gen = drvproxy_extension_generation(f->host.ext);
	layer = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, feat_repls,
			      ARRAY_SIZE(feat_repls));
	KUNIT_ASSERT_EQ(test, drvproxy_test_set_exclude(FEAT_BLOCKED), 0);

	KUNIT_EXPECT_EQ(test, dpx_register_one(f->host.ext, 100,
					       DRVPROXY_DESC(dpx_feat_ep)), -EPERM);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(layer), -EPERM);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_feat_ep)->ext);
}

static struct kunit_case drvproxy_features_cases[] = {
	KUNIT_CASE(get_features_null_driver_reports_system_wide_enabled),
	KUNIT_CASE(get_features_for_a_driver_reports_enabled),
	KUNIT_CASE(get_features_disabled_reports_zero_and_create_returns_eopnotsupp),
	KUNIT_CASE(disabled_refuses_registration_and_layers_with_eopnotsupp),
	KUNIT_CASE(get_features_excluded_driver_reports_zero_only_for_it),
	KUNIT_CASE(exclude_with_text_after_newline_returns_einval_and_keeps_list),
	KUNIT_CASE(create_extension_excluded_driver_returns_eperm),
	KUNIT_CASE(excluded_driver_refuses_registration_and_layers_with_eperm),
	{}
};

static struct kunit_suite drvproxy_features_suite = {
	.name = "drvproxy_features",
	.init = feat_init,
	.exit = feat_exit,
	.test_cases = drvproxy_features_cases,
};

kunit_test_suites(&drvproxy_features_suite);
