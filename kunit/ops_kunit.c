// SPDX-License-Identifier: GPL-2.0
/*
 * ops_kunit.c - suite drvproxy_ops_table: ops tables other than
 * file_operations
 *
 * An endpoint is a function, so any ops table can point at endpoints: a
 * net_device_ops, an ethtool_ops, a driver's own callback table.  The
 * table stays const and is filled at compile time with the wrappers (the
 * compiler checks each against the member's type); a layer then changes
 * what every call through the table runs, and a revert changes it back.
 * An ops member the kernel calls in atomic context (ndo_start_xmit,
 * ndo_get_stats64) is declared DRVPROXY_ENDPOINT_ATOMIC*().
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/netdevice.h>

#include "drvproxy_kunit.h"

#define OT_DRV		"dpx_kunit_ops"
#define OT_GET		100
#define OT_PUT		101
#define OT_NDO_OPEN	102
#define OT_NDO_STATS	103

/* A driver's own callback table, as many drivers have. */
struct ot_ops {
	int (*get)(int key);
	void (*put)(int *counter);
};

DRVPROXY_ENDPOINT_MANUAL(int, dpx_ot_get, int, key)
{
	return key + 1;
}

DRVPROXY_ENDPOINT_VOID_MANUAL(dpx_ot_put, int *, counter)
{
	*counter += 1;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_ot_ndo_open, struct net_device *, dev)
{
	return -ENODEV;
}

/* Called by the networking core in atomic context: an atomic endpoint. */
DRVPROXY_ENDPOINT_ATOMIC_MANUAL(int, dpx_ot_ndo_stats_seen, struct net_device *, dev)
{
	return 1;
}

static void dpx_ot_ndo_get_stats64(struct net_device *dev, struct rtnl_link_stats64 *s)
{
	s->rx_packets = dpx_ot_ndo_stats_seen(dev);
}

static const struct ot_ops ot_ops = {
	.get = dpx_ot_get,
	.put = dpx_ot_put,
};

static const struct net_device_ops ot_netdev_ops = {
	.ndo_open = dpx_ot_ndo_open,
	.ndo_get_stats64 = dpx_ot_ndo_get_stats64,
};

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_ot_get, dpx_ot_get_v2, int, key)
{
	return key * 100;
}

DRVPROXY_REPLACEMENT_MANUAL(void, dpx_ot_put, dpx_ot_put_v2, int *, counter)
{
	*counter += 10;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_ot_ndo_open, dpx_ot_ndo_open_v2, struct net_device *, dev)
{
	return 0;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_ot_ndo_stats_seen, dpx_ot_ndo_stats_seen_v2,
			    struct net_device *, dev)
{
	return 2;
}

static const struct drvproxy_replacement *const ot_own_v2[] = {
	DRVPROXY_REPL(dpx_ot_get_v2), DRVPROXY_REPL(dpx_ot_put_v2),
};

static const struct drvproxy_replacement *const ot_net_v2[] = {
	DRVPROXY_REPL(dpx_ot_ndo_open_v2), DRVPROXY_REPL(dpx_ot_ndo_stats_seen_v2),
};

struct ot_fixture {
	struct dpx_host host;
};

static int ot_init(struct kunit *test)
{
	struct ot_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct drvproxy_endpoint_info info[] = {
		{ .id = OT_GET, .endpoint = DRVPROXY_DESC(dpx_ot_get) },
		{ .id = OT_PUT, .endpoint = DRVPROXY_DESC(dpx_ot_put) },
		{ .id = OT_NDO_OPEN, .endpoint = DRVPROXY_DESC(dpx_ot_ndo_open) },
		{ .id = OT_NDO_STATS, .endpoint = DRVPROXY_DESC(dpx_ot_ndo_stats_seen) },
	};

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	dpx_host_init(test, &f->host, OT_DRV, true);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->host.ext, info, ARRAY_SIZE(info),
							  NULL, NULL), 0);
	return 0;
}

static void ot_exit(struct kunit *test)
{
	struct ot_fixture *f = test->priv;

	dpx_host_exit(&f->host);
}

/* Through a const table of this driver's own: swapped, then back. */
static void own_callback_table_runs_the_current_implementation(struct kunit *test)
{
	struct ot_fixture *f = test->priv;
	struct drvproxy_layer *l;
	int counter = 0;

	KUNIT_EXPECT_EQ(test, ot_ops.get(4), 5);
	ot_ops.put(&counter);
	KUNIT_EXPECT_EQ(test, counter, 1);

	l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, ot_own_v2, ARRAY_SIZE(ot_own_v2));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, ot_ops.get(4), 400);
	ot_ops.put(&counter);
	KUNIT_EXPECT_EQ(test, counter, 11);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, ot_ops.get(4), 5);
	ot_ops.put(&counter);
	KUNIT_EXPECT_EQ(test, counter, 12);
	KUNIT_EXPECT_EQ(test, dpx_calls(f->host.ext, OT_GET), 3ULL);
}

/*
 * Through a net_device_ops: ndo_open (process context) and a helper of
 * ndo_get_stats64 (atomic: called under rcu_read_lock() here, as the core
 * may) are swapped by one layer; no net_device is needed to call them.
 */
static void net_device_ops_members_are_swapped_by_a_layer(struct kunit *test)
{
	struct ot_fixture *f = test->priv;
	struct rtnl_link_stats64 stats = {};
	struct drvproxy_layer *l;

	KUNIT_EXPECT_EQ(test, ot_netdev_ops.ndo_open(NULL), -ENODEV);
	l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, ot_net_v2, ARRAY_SIZE(ot_net_v2));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, ot_netdev_ops.ndo_open(NULL), 0);
	rcu_read_lock();
	ot_netdev_ops.ndo_get_stats64(NULL, &stats);
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, stats.rx_packets, 2ULL);
}

static struct kunit_case ot_cases[] = {
	KUNIT_CASE(own_callback_table_runs_the_current_implementation),
	KUNIT_CASE(net_device_ops_members_are_swapped_by_a_layer),
	{}
};

static struct kunit_suite ot_suite = {
	.name = "drvproxy_ops_table",
	.init = ot_init,
	.exit = ot_exit,
	.test_cases = ot_cases,
};

kunit_test_suite(ot_suite);
