// SPDX-License-Identifier: GPL-2.0
/*
 * extension_kunit.c - KUnit suite drvproxy_extension: the proxy extension
 *
 * Covers drvproxy_create_extension() / drvproxy_get_extension() /
 * drvproxy_destroy_extension(), the automatic release when the owning
 * driver object is unregistered, and V2 endpoint enumeration from the
 * module's drvproxy_endpoints section.  Windows DriverProxy behaviours
 * (windows-driverproxy.md §2):
 *   3  a second Create for the same owner fails with RESOURCE_IN_USE
 *      (-EBUSY) and keeps the first; a NULL owner is allowed
 *   4  creation flags are reserved: non-zero is -EINVAL
 *   5  GetExtensionFromDriverObject returns the created pointer, NULL for
 *      no driver or no extension
 *   6  unloading (unregistering) the owner frees the extension
 *   14/15 (V2 side) every DRVPROXY_ENDPOINT() of the module is found by
 *      pointer and by id (index in name order) with no hand-written list
 *
 * This file and lookup_kunit.c define the module's V2 endpoints (section
 * form): dpx_v2_alpha, dpx_v2_bravo, dpx_v2_charlie.  Every extension created
 * for a driver object by this module binds all three, so suites create one
 * such extension at a time.  Each returns its number, plus DPX_V2_BOUND when
 * the call went through an implementation table (the endpoint is bound).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "drvproxy_kunit.h"

#define EXT_DRV		"dpx_kunit_ext"
#define EXT_DRV2	"dpx_kunit_ext2"

const char *const dpx_v2_names[DPX_V2_NR] = {
	"dpx_v2_alpha", "dpx_v2_bravo", "dpx_v2_charlie",
};

/* Defined out of name order on purpose: ids follow names, not the section. */
DRVPROXY_ENDPOINT(int, dpx_v2_charlie, int, x)
{
	return (__dpx_call ? DPX_V2_BOUND : 0) + 3 + x;
}

DRVPROXY_ENDPOINT(int, dpx_v2_alpha, int, x)
{
	return (__dpx_call ? DPX_V2_BOUND : 0) + 1 + x;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_v2_alpha, dpx_ext_alpha_repl, int, x)
{
	return 50 + x;
}

static const struct drvproxy_replacement *const ext_alpha_repls[] = {
	DRVPROXY_REPL(dpx_ext_alpha_repl),
};

/* A V1 endpoint and a same-signature replacement for it. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_ext_v1, int, x)
{
	return 1;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_ext_v1_new, int, x)
{
	return 2;
}

struct ext_fixture {
	struct dpx_host host;
	struct dpx_host host2;
	struct drvproxy_extension *free_ext[2];
	/* A driver object never registered; freed by ext_exit() if still set. */
	struct drvproxy_driver *unreg_drv;
};

static int ext_init(struct kunit *test)
{
	struct ext_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	return 0;
}

static void ext_exit(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(f->free_ext); i++)
		drvproxy_destroy_extension(f->free_ext[i]);
	dpx_host_exit(&f->host2);
	dpx_host_exit(&f->host);
	/*
	 * A test that stopped half-way leaves its unregistered driver here;
	 * freeing it releases an extension it got early, which would bind
	 * this module's V2 endpoints for the rest of the run.
	 */
	drvproxy_driver_free(f->unreg_drv);
}

/* drvproxy_get_extension() returns exactly the pointer create returned. */
static void create_extension_then_get_extension_returns_same_pointer(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *ext = NULL;

	dpx_host_init(test, &f->host, EXT_DRV, false);
	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(f->host.drv, 0, &ext), 0);
	KUNIT_ASSERT_NOT_NULL(test, ext);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_extension(f->host.drv), ext);
	/* A fresh extension has published exactly one table. */
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(ext), 1ULL);
}

/* drvproxy_get_extension() is NULL for a NULL driver and for one without extension. */
static void get_extension_null_driver_or_no_extension_returns_null(struct kunit *test)
{
	struct ext_fixture *f = test->priv;

	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(NULL));
	dpx_host_init(test, &f->host, EXT_DRV, false);
	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));
}

/*
 * A second create for the same driver fails with -EBUSY, sets *out to NULL
 * and leaves the first extension in place and dispatching.
 */
static void create_extension_twice_returns_ebusy_and_keeps_first(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *first, *second = (void *)test;
	u64 gen, ext_gen, calls;

	dpx_host_init(test, &f->host, EXT_DRV, true);
	first = f->host.ext;
	KUNIT_ASSERT_EQ(test, dpx_register_one(first, 100, DRVPROXY_DESC(dpx_ext_v1)), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(first, 100, DRVPROXY_DESC(dpx_ext_v1_new)), 0);
	gen = drvproxy_generation();
	ext_gen = drvproxy_extension_generation(first);
	calls = dpx_calls(first, 0);

	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(f->host.drv, 0, &second), -EBUSY);
	KUNIT_EXPECT_NULL(test, second);

	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_extension(f->host.drv), first);
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(first), ext_gen);
	/* Still dispatching: the V1 replacement and the bound V2 endpoints. */
	KUNIT_EXPECT_EQ(test, dpx_ext_v1(0), 2);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), DPX_V2_BOUND + 1);
	KUNIT_EXPECT_EQ(test, dpx_calls(first, 0), calls + 1);
}

/* Reserved creation flags must be zero: anything else is -EINVAL, nothing created. */
static void create_extension_nonzero_flags_returns_einval(struct kunit *test)
{
	static const u32 bad[] = { 1, 2, 0x80000000, U32_MAX };
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *ext;
	u64 gen = drvproxy_generation();
	unsigned int i;

	dpx_host_init(test, &f->host, EXT_DRV, false);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ext = (void *)test;
		KUNIT_EXPECT_EQ(test, drvproxy_create_extension(f->host.drv, bad[i], &ext),
				-EINVAL);
		KUNIT_EXPECT_NULL(test, ext);
		ext = (void *)test;
		KUNIT_EXPECT_EQ(test, drvproxy_create_extension(NULL, bad[i], &ext), -EINVAL);
		KUNIT_EXPECT_NULL(test, ext);
	}
	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));
	KUNIT_EXPECT_EQ(test, drvproxy_generation(), gen);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), 1);
}

/* A NULL result pointer is -EINVAL. */
static void create_extension_null_out_returns_einval(struct kunit *test)
{
	struct ext_fixture *f = test->priv;

	dpx_host_init(test, &f->host, EXT_DRV, false);
	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(f->host.drv, 0, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_create_extension(NULL, 0, NULL), -EINVAL);
	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));
}

/*
 * An extension without owner (NULL driver) can be created, has no automatic
 * endpoints, takes V1 registrations, and several can exist at once.
 */
static void create_extension_null_owner_allowed(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *a, *b;

	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->free_ext[0]), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->free_ext[1]), 0);
	a = f->free_ext[0];
	b = f->free_ext[1];
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_PTR_NE(test, a, b);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(a), 1ULL);

	/* No section endpoints were bound to it. */
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(a, 0));
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), 1);
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_v2_alpha)->ext);

	KUNIT_EXPECT_EQ(test, dpx_register_one(a, 5, DRVPROXY_DESC(dpx_ext_v1)), 0);
	KUNIT_EXPECT_PTR_EQ(test, DRVPROXY_DESC(dpx_ext_v1)->ext, a);
	KUNIT_EXPECT_EQ(test, dpx_ext_v1(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_calls(a, 5), 1ULL);
}

/*
 * Destroying an extension without owner unbinds its endpoints: they run the
 * original directly and can be registered with another extension.
 */
static void destroy_extension_unbinds_its_endpoints(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *ext;

	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &ext), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(ext, 5, DRVPROXY_DESC(dpx_ext_v1)), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(ext, 5, DRVPROXY_DESC(dpx_ext_v1_new)), 0);
	KUNIT_EXPECT_EQ(test, dpx_ext_v1(0), 2);

	drvproxy_destroy_extension(ext);
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_ext_v1)->ext);
	KUNIT_EXPECT_EQ(test, dpx_ext_v1(0), 1);

	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->free_ext[0]), 0);
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->free_ext[0], 9, DRVPROXY_DESC(dpx_ext_v1)),
			0);
	/* NULL is ignored. */
	drvproxy_destroy_extension(NULL);
}

/*
 * Unregistering the owning driver frees its extension: the driver has none
 * any more, every endpoint (V2 and V1) is unbound and runs its original
 * directly, and the endpoints can be bound again elsewhere.
 */
static void driver_unregister_frees_extension_and_unbinds_endpoints(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *ext;
	unsigned int i;

	dpx_host_init(test, &f->host, EXT_DRV, true);
	ext = f->host.ext;
	KUNIT_ASSERT_EQ(test, dpx_register_one(ext, 100, DRVPROXY_DESC(dpx_ext_v1)), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(ext, 100, DRVPROXY_DESC(dpx_ext_v1_new)), 0);
	KUNIT_ASSERT_EQ(test, dpx_ext_v1(0), 2);
	KUNIT_ASSERT_EQ(test, dpx_v2_alpha(0), DPX_V2_BOUND + 1);

	dpx_host_unregister(&f->host);

	KUNIT_EXPECT_NULL(test, drvproxy_get_extension(f->host.drv));
	KUNIT_EXPECT_NULL(test, DRVPROXY_DESC(dpx_ext_v1)->ext);
	KUNIT_EXPECT_EQ(test, dpx_ext_v1(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), 2);
	KUNIT_EXPECT_EQ(test, dpx_v2_charlie(0), 3);
	for (i = 0; i < DPX_V2_NR; i++)
		KUNIT_EXPECT_NULL(test, __start_drvproxy_endpoints[i]->ext);

	/* Free to bind again: another driver's extension takes them all. */
	dpx_host_init(test, &f->host2, EXT_DRV2, true);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), DPX_V2_BOUND + 1);
	KUNIT_EXPECT_EQ(test, dpx_register_one(f->host2.ext, 100,
					       DRVPROXY_DESC(dpx_ext_v1)), 0);
	KUNIT_EXPECT_EQ(test, dpx_ext_v1(0), 1);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

/*
 * V2 enumeration: the section holds exactly this module's DRVPROXY_ENDPOINT()s
 * (from two source files), and create binds every one of them -- nobody
 * listed them by hand.  Each is found by pointer, and calls go through the
 * extension.
 */
static void v2_enumeration_binds_every_section_endpoint(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	const char *names[DPX_V2_NR];
	unsigned int i, n = __stop_drvproxy_endpoints - __start_drvproxy_endpoints;

	KUNIT_ASSERT_EQ(test, n, DPX_V2_NR);
	for (i = 0; i < n; i++)
		names[i] = __start_drvproxy_endpoints[i]->name;
	sort(names, n, sizeof(names[0]), cmp_name, NULL);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_STREQ(test, names[i], dpx_v2_names[i]);

	/* Unbound before: the original runs directly. */
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), 1);
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), 2);
	KUNIT_EXPECT_EQ(test, dpx_v2_charlie(0), 3);

	dpx_host_init(test, &f->host, EXT_DRV, true);
	for (i = 0; i < n; i++) {
		struct drvproxy_endpoint_desc *d = __start_drvproxy_endpoints[i];
		drvproxy_fn_t w = NULL;
		int ret;

		KUNIT_EXPECT_PTR_EQ(test, d->ext, f->host.ext);
		ret = __drvproxy_get_wrapper_from_endpoint(f->host.ext, d->wrapper, &w);
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_PTR_EQ(test, w, d->wrapper);
	}
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(0), DPX_V2_BOUND + 1);
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), DPX_V2_BOUND + 2);
	KUNIT_EXPECT_EQ(test, dpx_v2_charlie(0), DPX_V2_BOUND + 3);
}

/* V2 endpoint ids are their index in name order, starting at 0. */
static void v2_ids_are_index_in_name_order(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *ext;
	int (*w)(int x);

	dpx_host_init(test, &f->host, EXT_DRV, true);
	ext = f->host.ext;

	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(ext, 0),
			    (drvproxy_fn_t)dpx_v2_alpha);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(ext, 1),
			    (drvproxy_fn_t)dpx_kunit_v2_bravo);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_endpoint_wrapper(ext, 2),
			    (drvproxy_fn_t)dpx_v2_charlie);
	KUNIT_EXPECT_NULL(test, drvproxy_get_endpoint_wrapper(ext, DPX_V2_NR));

	/* The id reaches the same endpoint's counters. */
	w = (int (*)(int))drvproxy_get_endpoint_wrapper(ext, 2);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w(10), DPX_V2_BOUND + 13);
	KUNIT_EXPECT_EQ(test, dpx_v2_charlie(0), DPX_V2_BOUND + 3);
	KUNIT_EXPECT_EQ(test, dpx_calls(ext, 2), 2ULL);
	KUNIT_EXPECT_EQ(test, dpx_calls(ext, 0), 0ULL);
}

/* A layer replaces a V2 endpoint by its name; reverting restores it. */
static void layer_replaces_v2_endpoint_by_name(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_layer *l;

	dpx_host_init(test, &f->host, EXT_DRV, true);
	l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, ext_alpha_repls,
			  ARRAY_SIZE(ext_alpha_repls));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(1), 51);
	KUNIT_EXPECT_EQ(test, dpx_kunit_v2_bravo(0), DPX_V2_BOUND + 2);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, 0), 1ULL);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(1), DPX_V2_BOUND + 2);
	KUNIT_EXPECT_EQ(test, dpx_swaps(f->host.ext, 0), 2ULL);
}

/*
 * DriverEntry creates the extension before anything else (Windows): a driver
 * object may get its extension before it is registered, and a driver that
 * never gets registered takes its extension with it when it is freed.
 */
static void create_extension_before_register_then_free_releases_it(struct kunit *test)
{
	struct ext_fixture *f = test->priv;
	struct drvproxy_extension *ext = NULL;
	struct drvproxy_driver *drv;

	drv = drvproxy_driver_alloc(EXT_DRV);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	/* From here a failed assertion leaves the driver to ext_exit(). */
	f->unreg_drv = drv;
	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(drv, 0, &ext), 0);
	KUNIT_EXPECT_PTR_EQ(test, drvproxy_get_extension(drv), ext);
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(1), DPX_V2_BOUND + 2);
	f->unreg_drv = NULL;
	drvproxy_driver_free(drv);
	/* Unbound again: the original runs directly, without a table. */
	KUNIT_EXPECT_EQ(test, dpx_v2_alpha(1), 2);
}

static struct kunit_case drvproxy_extension_cases[] = {
	KUNIT_CASE(create_extension_then_get_extension_returns_same_pointer),
	KUNIT_CASE(get_extension_null_driver_or_no_extension_returns_null),
	KUNIT_CASE(create_extension_twice_returns_ebusy_and_keeps_first),
	KUNIT_CASE(create_extension_nonzero_flags_returns_einval),
	KUNIT_CASE(create_extension_null_out_returns_einval),
	KUNIT_CASE(create_extension_null_owner_allowed),
	KUNIT_CASE(destroy_extension_unbinds_its_endpoints),
	KUNIT_CASE(driver_unregister_frees_extension_and_unbinds_endpoints),
	KUNIT_CASE(v2_enumeration_binds_every_section_endpoint),
	KUNIT_CASE(v2_ids_are_index_in_name_order),
	KUNIT_CASE(layer_replaces_v2_endpoint_by_name),
	KUNIT_CASE(create_extension_before_register_then_free_releases_it),
	{}
};

static struct kunit_suite drvproxy_extension_suite = {
	.name = "drvproxy_extension",
	.init = ext_init,
	.exit = ext_exit,
	.test_cases = drvproxy_extension_cases,
};

kunit_test_suites(&drvproxy_extension_suite);
