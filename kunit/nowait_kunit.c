// SPDX-License-Identifier: GPL-2.0
/*
 * nowait_kunit.c - KUnit suite drvproxy_nowait: endpoints declared never to
 * wait
 *
 * An endpoint declared with DRVPROXY_ENDPOINT_NOWAIT*() gets the wrapper
 * without re-dispatch: no swap-aware wait builds in it nor in a helper it
 * passes its __dpx_call to (build-fail wait_nowait*.c), so its wrapper
 * keeps no arguments for a second dispatch,
 * and a call that returns DRVPROXY_ERESTART from a superseded table returns
 * it to its caller instead of running again.  What keeps that safe is the
 * other half: only a replacement in which no swap-aware wait builds either
 * (DRVPROXY_REPLACEMENT_NOWAIT*(), or a return type without errno) may
 * replace such an endpoint, at apply and at a V1 re-registration of its id.
 * sysfs shows the kind (endpoints/<endpoint>/kind).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/slab.h>

#include "drvproxy_kunit.h"

#define NW_DRV		"dpx_kunit_nowait"

/* Ids above those of the module's V2 endpoints, which every extension here gets. */
enum { NW_EP = 130, NW_PLAIN, NW_NR, NW_ATOMIC, NW_ATOMIC_NOWAIT };

struct nw_fixture {
	struct dpx_host host;
	bool block;			/* the originals block until @release */
	int ret;			/* what a blocked original returns */
	struct completion entered;
	struct completion release;
	atomic_t orig_calls;
	atomic_t repl_calls;
	struct dpx_thread caller;
};

static struct nw_fixture *nw_cur;	/* for the endpoint bodies */

/*
 * The originals' body: when told to, block (in a plain wait, which the
 * swap does not end) until released, then return what the test set.
 */
static int nw_original(struct nw_fixture *f)
{
	atomic_inc(&f->orig_calls);
	if (!READ_ONCE(f->block))
		return 1;
	complete(&f->entered);
	wait_for_completion(&f->release);
	return READ_ONCE(f->ret);
}

DRVPROXY_ENDPOINT_NOWAIT_MANUAL(int, dpx_nw_ep, int, unused)
{
	return nw_original(nw_cur);
}

/* The control: the same body behind the wrapper that re-dispatches. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_nw_plain, int, unused)
{
	return nw_original(nw_cur);
}

DRVPROXY_ENDPOINT_NOWAIT_MANUAL(unsigned long, dpx_nw_nr, int, unused)
{
	return 10;
}

DRVPROXY_ENDPOINT_ATOMIC_MANUAL(int, dpx_nw_atomic, int, unused)
{
	return 7;
}

DRVPROXY_ENDPOINT_ATOMIC_NOWAIT_MANUAL(int, dpx_nw_atomic_nowait, int, unused)
{
	return 8;
}

/* For a V1 re-registration of NW_EP's id. */
DRVPROXY_ENDPOINT_NOWAIT_MANUAL(int, dpx_nw_ep_base2, int, unused)
{
	return 5;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_nw_ep_base_waits, int, unused)
{
	return 6;
}

DRVPROXY_REPLACEMENT_NOWAIT_MANUAL(int, dpx_nw_ep, dpx_nw_ep_v2, int, unused)
{
	atomic_inc(&nw_cur->repl_calls);
	return 2;
}

/* No wait in its body, but nothing stops one building there. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_nw_ep, dpx_nw_ep_may_wait, int, unused)
{
	return 3;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_nw_atomic_nowait, dpx_nw_atomic_nowait_may_wait, int, unused)
{
	return 9;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_nw_plain, dpx_nw_plain_v2, int, unused)
{
	atomic_inc(&nw_cur->repl_calls);
	return 2;
}

/* unsigned long carries no errno: no swap-aware wait builds here anyway. */
DRVPROXY_REPLACEMENT_MANUAL(unsigned long, dpx_nw_nr, dpx_nw_nr_v2, int, unused)
{
	return 20;
}

static int nw_init(struct kunit *test)
{
	struct nw_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct drvproxy_endpoint_info info[] = {
		{ .id = NW_EP, .endpoint = DRVPROXY_DESC(dpx_nw_ep) },
		{ .id = NW_PLAIN, .endpoint = DRVPROXY_DESC(dpx_nw_plain) },
		{ .id = NW_NR, .endpoint = DRVPROXY_DESC(dpx_nw_nr) },
		{ .id = NW_ATOMIC, .endpoint = DRVPROXY_DESC(dpx_nw_atomic) },
		{ .id = NW_ATOMIC_NOWAIT, .endpoint = DRVPROXY_DESC(dpx_nw_atomic_nowait) },
	};

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	init_completion(&f->entered);
	init_completion(&f->release);
	nw_cur = f;
	dpx_host_init(test, &f->host, NW_DRV, true);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->host.ext, info, ARRAY_SIZE(info),
							  NULL, NULL), 0);
	return 0;
}

static void nw_exit(struct kunit *test)
{
	struct nw_fixture *f = test->priv;

	complete_all(&f->release);
	dpx_thread_stop(&f->caller);
	dpx_host_exit(&f->host);
	nw_cur = NULL;
}

/* Apply a live layer of the one replacement @r; what apply returned. */
static int nw_apply(struct nw_fixture *f, const struct drvproxy_replacement *r)
{
	const struct drvproxy_replacement *const repl[] = { r };
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, repl, 1);

	return drvproxy_layer_apply(l);
}

static long nw_call_ep(void *arg)
{
	return dpx_nw_ep(0);
}

static long nw_call_plain(void *arg)
{
	return dpx_nw_plain(0);
}

/*
 * A call of @call blocks in the original; a live swap to @r supersedes its
 * table; then the original returns DRVPROXY_ERESTART, as a swap-aware wait
 * would have.  Returns what the caller got.
 */
static long nw_erestart_after_swap(struct kunit *test, struct nw_fixture *f,
				   long (*call)(void *arg), const struct drvproxy_replacement *r)
{
	WRITE_ONCE(f->block, true);
	WRITE_ONCE(f->ret, DRVPROXY_ERESTART);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, call, f, "dpx-nw-call"), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&f->entered, 5 * HZ), 0UL);
	KUNIT_ASSERT_EQ(test, nw_apply(f, r), 0);
	complete(&f->release);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	return f->caller.result;
}

/*
 * The control: an endpoint that may wait re-dispatches a call whose
 * superseded implementation returned DRVPROXY_ERESTART, to the replacement.
 */
static void may_wait_endpoint_redispatches_erestart_of_superseded_call(struct kunit *test)
{
	struct nw_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, nw_erestart_after_swap(test, f, nw_call_plain,
						     DRVPROXY_REPL(dpx_nw_plain_v2)), 2L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->repl_calls), 1);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, NW_PLAIN) == 0, 5000));
}

/*
 * The same call of a _NOWAIT endpoint is not dispatched again: the caller
 * gets what the implementation returned, and the call leaves the table it
 * entered (nothing stays in flight).
 */
static void nowait_endpoint_returns_erestart_of_superseded_call_unchanged(struct kunit *test)
{
	struct nw_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, nw_erestart_after_swap(test, f, nw_call_ep,
						     DRVPROXY_REPL(dpx_nw_ep_v2)),
			(long)DRVPROXY_ERESTART);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->orig_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->repl_calls), 0);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, NW_EP) == 0, 5000));
	/* New calls run the replacement (and the original, if wrongly, returns). */
	WRITE_ONCE(f->block, false);
	KUNIT_EXPECT_EQ(test, dpx_nw_ep(0), 2);
}

/* The kind travels in the descriptors, where drvproxy checks it. */
static void nowait_kind_is_recorded_in_endpoint_and_replacement(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, DRVPROXY_DESC(dpx_nw_ep)->flags,
			(unsigned int)(DRVPROXY_EP_NOWAIT | DRVPROXY_EP_ERRNO));
	KUNIT_EXPECT_EQ(test, DRVPROXY_DESC(dpx_nw_plain)->flags,
			(unsigned int)DRVPROXY_EP_ERRNO);
	KUNIT_EXPECT_EQ(test, DRVPROXY_DESC(dpx_nw_atomic_nowait)->flags,
			(unsigned int)(DRVPROXY_EP_ATOMIC | DRVPROXY_EP_NOWAIT |
				       DRVPROXY_EP_ERRNO));
	KUNIT_EXPECT_EQ(test, DRVPROXY_REPL(dpx_nw_ep_v2)->flags, DRVPROXY_REPL_NOWAIT);
	KUNIT_EXPECT_EQ(test, DRVPROXY_REPL(dpx_nw_ep_may_wait)->flags, 0UL);
	KUNIT_EXPECT_EQ(test, DRVPROXY_REPL(dpx_nw_nr_v2)->flags, DRVPROXY_REPL_NOWAIT);
}

/* The first line of endpoint @ep's sysfs file @file, as a user reads it. */
static void nw_read_ep_file(struct kunit *test, struct nw_fixture *f, const char *ep,
			    const char *file, char *buf, size_t size)
{
	char *drv_path = kobject_get_path(&f->host.drv->kobj, GFP_KERNEL);
	char *path, *nl;
	struct file *filp;
	loff_t pos = 0;
	ssize_t n;

	KUNIT_ASSERT_NOT_NULL(test, drv_path);
	path = kasprintf(GFP_KERNEL, "/sys%s/endpoints/%s/%s", drv_path, ep, file);
	kfree(drv_path);
	KUNIT_ASSERT_NOT_NULL(test, path);
	filp = filp_open(path, O_RDONLY, 0);
	kfree(path);
	KUNIT_ASSERT_FALSE(test, IS_ERR(filp));
	n = kernel_read(filp, buf, size - 1, &pos);
	fput(filp);
	KUNIT_ASSERT_GT(test, n, 0L);
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
}

/* sysfs shows each endpoint's kind: its context, and whether it re-dispatches. */
static void kind_file_shows_how_each_endpoint_was_declared(struct kunit *test)
{
	static const struct { const char *ep, *kind; } want[] = {
		{ "dpx_nw_ep", "process nowait" },
		{ "dpx_nw_plain", "process redispatch" },
		{ "dpx_nw_nr", "process nowait" },
		{ "dpx_nw_atomic", "atomic redispatch" },
		{ "dpx_nw_atomic_nowait", "atomic nowait" },
	};
	struct nw_fixture *f = test->priv;
	char buf[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		nw_read_ep_file(test, f, want[i].ep, "kind", buf, sizeof(buf));
		KUNIT_EXPECT_STREQ_MSG(test, buf, want[i].kind, "endpoint %s", want[i].ep);
	}
}

/*
 * Applying @r is refused with -EINVAL, and nothing changes: @call(0) still
 * returns @want.
 */
static void nw_expect_refused(struct kunit *test, const struct drvproxy_replacement *r,
			      int (*call)(int unused), int want)
{
	struct nw_fixture *f = test->priv;
	u64 gen = drvproxy_extension_generation(f->host.ext);

	KUNIT_EXPECT_EQ(test, nw_apply(f, r), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, call(0), want);
}

/*
 * A replacement in which a swap-aware wait could build is refused for a
 * _NOWAIT endpoint with -EINVAL, and nothing changes.
 */
static void replacement_that_may_wait_for_nowait_endpoint_returns_einval(struct kunit *test)
{
	nw_expect_refused(test, DRVPROXY_REPL(dpx_nw_ep_may_wait), dpx_nw_ep, 1);
}

/* The same for an endpoint declared both atomic and _NOWAIT. */
static void replacement_that_may_wait_for_atomic_nowait_endpoint_returns_einval(struct kunit *test)
{
	nw_expect_refused(test, DRVPROXY_REPL(dpx_nw_atomic_nowait_may_wait),
			  dpx_nw_atomic_nowait, 8);
}

static void nowait_replacement_for_nowait_endpoint_applies(struct kunit *test)
{
	struct nw_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, nw_apply(f, DRVPROXY_REPL(dpx_nw_ep_v2)), 0);
	KUNIT_EXPECT_EQ(test, dpx_nw_ep(0), 2);
}

/* A return type without errno makes any replacement one that cannot wait. */
static void replacement_without_errno_for_nowait_endpoint_applies(struct kunit *test)
{
	struct nw_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, nw_apply(f, DRVPROXY_REPL(dpx_nw_nr_v2)), 0);
	KUNIT_EXPECT_EQ(test, dpx_nw_nr(0), 20UL);
}

/*
 * A V1 registration that replaces a _NOWAIT endpoint's base implementation
 * is checked the same way: calls keep going through the _NOWAIT wrapper.
 */
static void v1_base_that_may_wait_for_nowait_id_returns_einval(struct kunit *test)
{
	struct nw_fixture *f = test->priv;
	u64 gen = drvproxy_extension_generation(f->host.ext);

	KUNIT_EXPECT_EQ(test, dpx_register_one(f->host.ext, NW_EP,
					       DRVPROXY_DESC(dpx_nw_ep_base_waits)), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_nw_ep(0), 1);

	KUNIT_EXPECT_EQ(test, dpx_register_one(f->host.ext, NW_EP,
					       DRVPROXY_DESC(dpx_nw_ep_base2)), 0);
	KUNIT_EXPECT_EQ(test, dpx_nw_ep(0), 5);
}

static struct kunit_case drvproxy_nowait_cases[] = {
	KUNIT_CASE(may_wait_endpoint_redispatches_erestart_of_superseded_call),
	KUNIT_CASE(nowait_endpoint_returns_erestart_of_superseded_call_unchanged),
	KUNIT_CASE(nowait_kind_is_recorded_in_endpoint_and_replacement),
	KUNIT_CASE(kind_file_shows_how_each_endpoint_was_declared),
	KUNIT_CASE(replacement_that_may_wait_for_nowait_endpoint_returns_einval),
	KUNIT_CASE(replacement_that_may_wait_for_atomic_nowait_endpoint_returns_einval),
	KUNIT_CASE(nowait_replacement_for_nowait_endpoint_applies),
	KUNIT_CASE(replacement_without_errno_for_nowait_endpoint_applies),
	KUNIT_CASE(v1_base_that_may_wait_for_nowait_id_returns_einval),
	{}
};

static struct kunit_suite drvproxy_nowait_suite = {
	.name = "drvproxy_nowait",
	.init = nw_init,
	.exit = nw_exit,
	.test_cases = drvproxy_nowait_cases,
};

kunit_test_suites(&drvproxy_nowait_suite);
