// SPDX-License-Identifier: GPL-2.0
/*
 * below_kunit.c - suite drvproxy_below: a replacement calls the
 * implementation below it (DRVPROXY_CALL_BELOW())
 *
 * One host endpoint, dpx_bl_x (original: a + 1), and replacements that
 * each do their part and pass the call down: times ten, plus a thousand,
 * and one that answers a new "command" (42) itself.  The results show which
 * implementations ran, in which order.  A void endpoint shows the same for
 * DRVPROXY_CALL_BELOW_VOID().  The last case blocks a call in the top
 * layer, reverts the layer below it and checks, white-box, that drvproxy
 * keeps that layer pinned until the call has run its code and left.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include "drvproxy_kunit.h"
/* White-box: the extension's table list and a layer's pin. */
#include "../module/drvproxy/internal.h"

#define BL_DRV		"dpx_kunit_below"
#define BL_X		100
#define BL_NOTE		101
#define BL_Y		102
#define BL_CMD		42

struct bl_fixture {
	struct dpx_host host;
	struct dpx_thread caller;
	struct completion entered;	/* the blocking call is in its layer */
	struct completion gate;		/* lets it call below */
	int stalled_result;		/* what a call in STALLED returned */
};

static struct bl_fixture *bl_cur;

DRVPROXY_ENDPOINT_MANUAL(int, dpx_bl_x, int, a)
{
	return a + 1;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_bl_y, int, a)
{
	return -a;
}

DRVPROXY_ENDPOINT_VOID_MANUAL(dpx_bl_note, int *, out)
{
	*out += 1;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_bl_x, dpx_bl_x_times10, int, a)
{
	return DRVPROXY_CALL_BELOW(dpx_bl_x_times10, a) * 10;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_bl_x, dpx_bl_x_plus1000, int, a)
{
	return DRVPROXY_CALL_BELOW(dpx_bl_x_plus1000, a) + 1000;
}

/* Adds one command, as a companion adding one ioctl command would. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_bl_x, dpx_bl_x_cmd, int, a)
{
	if (a == BL_CMD)
		return 4242;
	return DRVPROXY_CALL_BELOW(dpx_bl_x_cmd, a);
}

/* Stops (a == 1) until the test opens the gate, then passes the call down. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_bl_x, dpx_bl_x_gated, int, a)
{
	if (a == 1 && bl_cur) {
		complete(&bl_cur->entered);
		wait_for_completion(&bl_cur->gate);
	}
	return DRVPROXY_CALL_BELOW(dpx_bl_x_gated, a) + 5;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_bl_y, dpx_bl_y_l1, int, a)
{
	return a;
}

DRVPROXY_REPLACEMENT_MANUAL(void, dpx_bl_note, dpx_bl_note_plus10, int *, out)
{
	DRVPROXY_CALL_BELOW_VOID(dpx_bl_note_plus10, out);
	*out += 10;
}

static const struct drvproxy_replacement *const bl_times10[] = {
	DRVPROXY_REPL(dpx_bl_x_times10),
};

static const struct drvproxy_replacement *const bl_plus1000[] = {
	DRVPROXY_REPL(dpx_bl_x_plus1000),
};

static const struct drvproxy_replacement *const bl_cmd[] = { DRVPROXY_REPL(dpx_bl_x_cmd) };
static const struct drvproxy_replacement *const bl_gated[] = { DRVPROXY_REPL(dpx_bl_x_gated) };
static const struct drvproxy_replacement *const bl_y1[] = { DRVPROXY_REPL(dpx_bl_y_l1) };
static const struct drvproxy_replacement *const bl_note10[] = {
	DRVPROXY_REPL(dpx_bl_note_plus10),
};

static int bl_init(struct kunit *test)
{
	struct bl_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct drvproxy_endpoint_info info[] = {
		{ .id = BL_X, .endpoint = DRVPROXY_DESC(dpx_bl_x) },
		{ .id = BL_NOTE, .endpoint = DRVPROXY_DESC(dpx_bl_note) },
		{ .id = BL_Y, .endpoint = DRVPROXY_DESC(dpx_bl_y) },
	};

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	init_completion(&f->entered);
	init_completion(&f->gate);
	bl_cur = f;
	dpx_host_init(test, &f->host, BL_DRV, true);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->host.ext, info, ARRAY_SIZE(info),
							  NULL, NULL), 0);
	return 0;
}

static void bl_exit(struct kunit *test)
{
	struct bl_fixture *f = test->priv;

	complete_all(&f->gate);
	dpx_thread_stop(&f->caller);
	dpx_host_exit(&f->host);
	bl_cur = NULL;
}

/* Apply a live layer of @r; 0 or the errno. */
static int bl_apply(struct bl_fixture *f, const struct drvproxy_replacement *const *r,
		    unsigned int nr, bool replace, struct drvproxy_layer **out)
{
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, r, nr);

	l->replace = replace;
	if (out)
		*out = l;
	return drvproxy_layer_apply(l);
}

static void replacement_calls_the_original_below_it(struct kunit *test)
{
	struct bl_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, NULL), 0);
	/* (1 + 1) * 10: the original ran below the replacement. */
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 20);
}

static void each_layer_calls_the_one_below_it(struct kunit *test)
{
	struct bl_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, NULL), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_plus1000, 1, false, NULL), 0);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 1020);
}

static void reverting_the_middle_layer_links_the_upper_to_the_lower(struct kunit *test)
{
	struct bl_fixture *f = test->priv;
	struct drvproxy_layer *mid;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_cmd, 1, false, NULL), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, &mid), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_plus1000, 1, false, NULL), 0);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 1020);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(BL_CMD), 43420);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(mid), 0);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 1002);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(BL_CMD), 5242);
}

static void replacement_adding_a_command_passes_the_others_down(struct kunit *test)
{
	struct bl_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, NULL), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_cmd, 1, false, NULL), 0);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(BL_CMD), 4242);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 20);
}

static void atomic_replace_calls_the_original_below(struct kunit *test)
{
	struct bl_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, NULL), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_plus1000, 1, true, NULL), 0);
	/* The replace dropped times10: only the original is below. */
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 1002);
}

static void void_replacement_calls_below(struct kunit *test)
{
	struct bl_fixture *f = test->priv;
	int out = 0;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_note10, 1, false, NULL), 0);
	dpx_bl_note(&out);
	KUNIT_EXPECT_EQ(test, out, 11);
}

static void replacement_called_directly_gets_eopnotsupp(struct kunit *test)
{
	struct bl_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_cmd, 1, false, NULL), 0);
	/* Not through drvproxy: no table, nothing below to call. */
	KUNIT_EXPECT_EQ(test, dpx_bl_x_cmd(1, NULL), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, dpx_bl_x_cmd(BL_CMD, NULL), 4242);
}

/* In STALLED, the callback's own call runs the held implementations. */
static int bl_call_when_stalled(enum drvproxy_phase phase, void *context)
{
	struct bl_fixture *f = context;

	if (phase == DRVPROXY_PHASE_STALLED)
		f->stalled_result = dpx_bl_x(1);
	return 0;
}

static void call_in_stall_table_calls_below_the_held_implementation(struct kunit *test)
{
	struct bl_fixture *f = test->priv;
	struct drvproxy_layer *l;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, NULL), 0);
	l = dpx_layer_new(&f->host, DRVPROXY_MODE_STALLED, bl_plus1000, 1);
	l->callback = bl_call_when_stalled;
	l->context = f;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	/* times10 was held back, with the original below it. */
	KUNIT_EXPECT_EQ(test, f->stalled_result, 20);
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 1020);
}

static long bl_call_gated(void *arg)
{
	return dpx_bl_x(1);
}

/* Tables the extension still has (published, not yet freed). */
static unsigned int bl_tables(struct drvproxy_extension *ext)
{
	struct drvproxy_generation *t;
	unsigned int n = 0;

	spin_lock_bh(&ext->retire_lock);
	list_for_each_entry(t, &ext->tables, all_node)
		n++;
	spin_unlock_bh(&ext->retire_lock);
	return n;
}

/*
 * A call that entered the top layer before the layer below was reverted
 * still calls below into that layer's code, in the table it entered.  So
 * drvproxy must keep the lower layer pinned (its module cannot go) until
 * the call left, although no slot of any table names it any more.  The
 * retire worker drops the pin of a layer no table uses; a pass of it after
 * the revert is proved by two more tables coming and going (a layer on
 * another endpoint applied and reverted), and only then is the pin read.
 */
static void layer_below_stays_pinned_while_a_call_above_may_reach_it(struct kunit *test)
{
	struct bl_fixture *f = test->priv;
	struct drvproxy_extension *ext = f->host.ext;
	struct drvproxy_layer *low, *other;

	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_times10, 1, false, &low), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_gated, 1, false, NULL), 0);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, bl_call_gated, f, "dpx-bl-call"), 0);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&f->entered, 5 * HZ) > 0);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(low), 0);
	KUNIT_ASSERT_EQ(test, bl_apply(f, bl_y1, 1, false, &other), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(other), 0);
	/* Left: the table the call is in, and the active one. */
	KUNIT_ASSERT_TRUE(test, DPX_POLL(bl_tables(ext) == 2, 10000));
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(low->ext), ext);

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	/* It ran below, in its own table: ((1 + 1) * 10) + 5. */
	KUNIT_EXPECT_EQ(test, f->caller.result, 25L);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(!READ_ONCE(low->ext), 10000));
	KUNIT_EXPECT_EQ(test, dpx_bl_x(1), 7L);
}

static struct kunit_case drvproxy_below_cases[] = {
	KUNIT_CASE(replacement_calls_the_original_below_it),
	KUNIT_CASE(each_layer_calls_the_one_below_it),
	KUNIT_CASE(reverting_the_middle_layer_links_the_upper_to_the_lower),
	KUNIT_CASE(replacement_adding_a_command_passes_the_others_down),
	KUNIT_CASE(atomic_replace_calls_the_original_below),
	KUNIT_CASE(void_replacement_calls_below),
	KUNIT_CASE(replacement_called_directly_gets_eopnotsupp),
	KUNIT_CASE(call_in_stall_table_calls_below_the_held_implementation),
	KUNIT_CASE(layer_below_stays_pinned_while_a_call_above_may_reach_it),
	{}
};

static struct kunit_suite drvproxy_below_suite = {
	.name = "drvproxy_below",
	.init = bl_init,
	.exit = bl_exit,
	.test_cases = drvproxy_below_cases,
};

kunit_test_suite(drvproxy_below_suite);
