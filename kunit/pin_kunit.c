// SPDX-License-Identifier: GPL-2.0
/*
 * pin_kunit.c - KUnit suite drvproxy_pin: code that outlives a call
 *
 * A function handed out to be called later (timer, work, stored callback)
 * pins its module: drvproxy_pin_code() and the timer and work helpers take
 * a reference on the calling module until the matching unpin, nest, refuse
 * code that is not the caller's, and are listed in
 * /sys/kernel/drvproxy/pins.  The module whose references are counted is
 * this test module itself; the companion's rmmod refused while pinned is
 * tools/testing/selftests/drvproxy/test-pin.sh.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "drvproxy_kunit.h"

#define PN_PINS		"/sys/kernel/drvproxy/pins"

static void pn_callback(void)
{
}

static void pn_timer_fn(struct timer_list *t)
{
}

static void pn_work_fn(struct work_struct *work)
{
}

static int pn_refs(void)
{
	return module_refcount(THIS_MODULE);
}

/* A pin holds one reference on the calling module until it is dropped. */
static void pin_code_holds_a_module_reference_until_unpinned(struct kunit *test)
{
	int base = pn_refs();

	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(pn_callback, "test"), 0);
	KUNIT_EXPECT_EQ(test, pn_refs(), base + 1);
	drvproxy_unpin_code(pn_callback);
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
}

/* Pins on one address nest: each needs its unpin. */
static void pins_on_one_address_nest(struct kunit *test)
{
	int base = pn_refs();

	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(pn_callback, "test"), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(pn_callback, "test"), 0);
	KUNIT_EXPECT_EQ(test, pn_refs(), base + 2);
	drvproxy_unpin_code(pn_callback);
	KUNIT_EXPECT_EQ(test, pn_refs(), base + 1);
	drvproxy_unpin_code(pn_callback);
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
}

/* Only the caller's own code can be pinned; nothing changes otherwise. */
static void pin_code_refuses_code_of_another_module_with_einval(struct kunit *test)
{
	int base = pn_refs();

	KUNIT_EXPECT_EQ(test, drvproxy_pin_code(kfree, "test"), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_pin_code(NULL, "test"), -EINVAL);
	KUNIT_EXPECT_EQ(test, __drvproxy_pin_code(pn_callback, "test", NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
	drvproxy_unpin_code(pn_timer_fn);	/* never pinned: ignored */
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
}

/* A pin for a file is only for files of drvproxy devices. */
static void pin_for_file_refuses_other_files_with_einval(struct kunit *test)
{
	struct file *null = filp_open("/dev/null", O_RDONLY, 0);
	int base = pn_refs();

	KUNIT_ASSERT_FALSE(test, IS_ERR(null));
	KUNIT_EXPECT_EQ(test, drvproxy_pin_for_file(null, pn_callback, "test"), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_pin_for_file(NULL, pn_callback, "test"), -EINVAL);
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
	fput(null);
}

/* The contents of /sys/kernel/drvproxy/pins, NUL-terminated. */
static char *pn_read_pins(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE + 1, GFP_KERNEL);
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	f = filp_open(PN_PINS, O_RDONLY, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(f), "open %s: %ld", PN_PINS, PTR_ERR(f));
	n = kernel_read(f, buf, PAGE_SIZE, &pos);
	fput(f);
	KUNIT_ASSERT_GE(test, n, 0L);
	return buf;
}

/* Each pinned function is listed with its module, reason and count. */
static void pins_are_listed_in_sysfs(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(pn_callback, "stored callback"), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(pn_callback, "stored callback"), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(pn_read_pins(test),
					   "drvproxy_kunit pn_callback 2 stored callback\n"));
	drvproxy_unpin_code(pn_callback);
	drvproxy_unpin_code(pn_callback);
	KUNIT_EXPECT_NULL(test, strstr(pn_read_pins(test), "pn_callback"));
}

static void pn_going_fn(void)
{
}

/*
 * A module that goes with pins still taken (its init failed after its code
 * armed a timer) loses them, with an error: its records, which name it,
 * would otherwise outlive it, and reading the pins file then read freed
 * memory.  The stand-in module's code is pn_going_fn().
 */
static void going_module_loses_its_pins(struct kunit *test)
{
	struct module *mod = kunit_kzalloc(test, sizeof(*mod), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mod);
	strscpy(mod->name, "dpx_pn_going", sizeof(mod->name));
	mod->state = MODULE_STATE_COMING;
#ifdef CONFIG_MODULE_UNLOAD
	atomic_set(&mod->refcnt, 1);	/* MODULE_REF_BASE: no reference */
#endif
	mod->mem[MOD_TEXT].base = (void *)pn_going_fn;
	mod->mem[MOD_TEXT].size = 1;
	KUNIT_ASSERT_EQ(test, __drvproxy_pin_code(pn_going_fn, "timer", mod), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(pn_read_pins(test),
					   "dpx_pn_going pn_going_fn 1 timer\n"));
	mod->state = MODULE_STATE_GOING;
	drvproxy_test_module_going(mod);
	KUNIT_EXPECT_NULL(test, strstr(pn_read_pins(test), "dpx_pn_going"));
}

/* drvproxy_timer_setup() pins until drvproxy_timer_shutdown_sync(). */
static void timer_setup_pins_until_shutdown(struct kunit *test)
{
	struct timer_list *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	int base = pn_refs();

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_EQ(test, drvproxy_timer_setup(t, pn_timer_fn, 0), 0);
	KUNIT_EXPECT_EQ(test, pn_refs(), base + 1);
	mod_timer(t, jiffies + HZ);
	drvproxy_timer_shutdown_sync(t);
	KUNIT_EXPECT_FALSE(test, timer_pending(t));
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
}

/* drvproxy_init_work() pins until drvproxy_cancel_work_sync(). */
static void init_work_pins_until_cancelled(struct kunit *test)
{
	struct work_struct *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	int base = pn_refs();

	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_ASSERT_EQ(test, drvproxy_init_work(w, pn_work_fn), 0);
	KUNIT_EXPECT_EQ(test, pn_refs(), base + 1);
	schedule_work(w);
	drvproxy_cancel_work_sync(w);
	KUNIT_EXPECT_FALSE(test, work_pending(w));
	KUNIT_EXPECT_EQ(test, pn_refs(), base);
}

static struct kunit_case pn_cases[] = {
	KUNIT_CASE(pin_code_holds_a_module_reference_until_unpinned),
	KUNIT_CASE(pins_on_one_address_nest),
	KUNIT_CASE(pin_code_refuses_code_of_another_module_with_einval),
	KUNIT_CASE(pin_for_file_refuses_other_files_with_einval),
	KUNIT_CASE(pins_are_listed_in_sysfs),
	KUNIT_CASE(going_module_loses_its_pins),
	KUNIT_CASE(timer_setup_pins_until_shutdown),
	KUNIT_CASE(init_work_pins_until_cancelled),
	{}
};

static struct kunit_suite pn_suite = {
	.name = "drvproxy_pin",
	.test_cases = pn_cases,
};

kunit_test_suite(pn_suite);
