// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs_kunit.c - KUnit suite drvproxy_sysfs: writes to a layer's "enabled",
 * reads of the driver's files while its extension goes
 *
 * Writing 0 to /sys/kernel/drvproxy/drivers/<driver>/layers/<module>/enabled
 * reverts the layer, which removes that very file: the store gives up its
 * sysfs active protection first, and from then on nothing keeps the layer,
 * its companion or the host's extension alive.  A host may release its
 * extension while its module stays loaded (it unregisters outside its
 * module exit), so the store must still hold what it touches afterwards.
 * The write goes through the real sysfs file (filp_open() and
 * kernel_write()), as a user's does.  The host and the companion layer are
 * this module; the driver is registered by the case.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/completion.h>
#include <linux/kobject.h>
#include <linux/slab.h>

#include "drvproxy_kunit.h"

#define SY_DRV		"dpx_kunit_sysfs"
#define SY_ID		100

struct sy_fixture {
	struct dpx_host host;
	struct drvproxy_layer *layer;
	char *enabled_path;
	struct dpx_thread remover;
	struct task_struct *hook_task;	/* the thread sy_unprotected_hook() holds */
	bool hook_ran;
	bool unregistered;
	struct completion released;	/* the remover released the extension */
	bool released_in_time;
	char *current_path;		/* what sy_unbound_hook() reads */
	ssize_t current_ret;
	char current_buf[64];
};

static struct sy_fixture *sy_cur;	/* for the test hook */

DRVPROXY_ENDPOINT_MANUAL(int, dpx_sy_ep, int, a)
{
	return 1;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_sy_ep, dpx_sy_ep_l1, int, a)
{
	return 2;
}

static const struct drvproxy_replacement *const sy_repl1[] = {
	DRVPROXY_REPL(dpx_sy_ep_l1),
};

/* The applied layer's .../layers/<module>/enabled; kfree() it. */
static char *sy_enabled_path(struct kunit *test, struct sy_fixture *f)
{
	char *drv_path = kobject_get_path(&f->host.drv->kobj, GFP_KERNEL);
	char *path;

	KUNIT_ASSERT_NOT_NULL(test, drv_path);
	path = kasprintf(GFP_KERNEL, "/sys%s/layers/%s/enabled", drv_path, KBUILD_MODNAME);
	kfree(drv_path);
	KUNIT_ASSERT_NOT_NULL(test, path);
	return path;
}

static int sy_init(struct kunit *test)
{
	struct sy_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	sy_cur = f;
	dpx_host_init(test, &f->host, SY_DRV, true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, SY_ID, DRVPROXY_DESC(dpx_sy_ep)), 0);
	f->layer = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, sy_repl1, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(f->layer), 0);
	KUNIT_ASSERT_EQ(test, dpx_sy_ep(0), 2);
	f->enabled_path = sy_enabled_path(test, f);
	return 0;
}

static void sy_exit(struct kunit *test)
{
	struct sy_fixture *f = test->priv;

	drvproxy_test_set_hook(NULL);
	dpx_thread_stop(&f->remover);
	dpx_host_exit(&f->host);
	kfree(f->enabled_path);
	kfree(f->current_path);
	sy_cur = NULL;
}

/* Write @val to @path as a user would; the write's result. */
static ssize_t sy_write(const char *path, const char *val)
{
	struct file *file = filp_open(path, O_WRONLY, 0);
	loff_t pos = 0;
	ssize_t ret;

	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = kernel_write(file, val, strlen(val), &pos);
	fput(file);
	return ret;
}

/* Writing 0 reverts the layer: calls reach the original again. */
static void writing_0_to_enabled_reverts_the_layer(struct kunit *test)
{
	struct sy_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, sy_write(f->enabled_path, "1"), (ssize_t)-EINVAL);
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 2);
	KUNIT_EXPECT_EQ(test, sy_write(f->enabled_path, "0"), (ssize_t)1);
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 1);
	/* The directory went with the layer. */
	KUNIT_EXPECT_EQ(test, sy_write(f->enabled_path, "0"), (ssize_t)-ENOENT);
}

/* What a companion's timer pins: code of this module. */
static void sy_pinned_fn(void)
{
}

/*
 * Writing 0 does not revert a layer whose module holds pins (a timer it
 * armed): the request that would stop them, served by the layer, would go
 * with it, and the pins would hold the module forever.  Nothing changes;
 * once the pins are gone the write reverts it.
 */
static void writing_0_while_its_module_holds_pins_fails_with_ebusy(struct kunit *test)
{
	struct sy_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(sy_pinned_fn, "kunit timer"), 0);
	KUNIT_EXPECT_EQ(test, sy_write(f->enabled_path, "0"), (ssize_t)-EBUSY);
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 2);
	drvproxy_unpin_code(sy_pinned_fn);
	KUNIT_EXPECT_EQ(test, sy_write(f->enabled_path, "0"), (ssize_t)1);
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 1);
}

static long sy_unregister(void *arg)
{
	struct sy_fixture *f = arg;

	dpx_host_unregister(&f->host);
	return 0;
}

/*
 * Held where the store has given up its active protection: the host
 * unregisters its driver object, which reverts the layer and releases the
 * extension, and the store goes on only when that is complete.
 */
static void sy_unprotected_hook(enum drvproxy_test_point tp)
{
	struct sy_fixture *f = sy_cur;

	if (tp != DRVPROXY_TP_ENABLED_UNPROTECTED || !f || current != f->hook_task)
		return;
	f->hook_task = NULL;
	f->hook_ran = true;
	if (dpx_thread_start(&f->remover, sy_unregister, f, "dpx-sy-unreg"))
		return;
	f->unregistered = dpx_thread_wait(&f->remover, 10000);
}

/*
 * The host releases its extension (unregistering outside its module exit)
 * while a write to "enabled" is between giving up its active protection and
 * locking the extension.  The write must find the layer gone and fail with
 * -ENOENT, touching no freed memory (KASAN reports it if it does).
 */
static void enabled_write_survives_host_release_in_between(struct kunit *test)
{
	struct sy_fixture *f = test->priv;
	ssize_t ret;

	f->hook_task = current;
	drvproxy_test_set_hook(sy_unprotected_hook);
	ret = sy_write(f->enabled_path, "0");
	drvproxy_test_set_hook(NULL);

	KUNIT_EXPECT_TRUE(test, f->hook_ran);
	KUNIT_EXPECT_TRUE(test, f->unregistered);
	KUNIT_EXPECT_EQ(test, ret, (ssize_t)-ENOENT);
	/* Unbound: calls run the original directly. */
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 1);
}

/* Read @path as a user would into @buf (NUL-terminated); the read's result. */
static ssize_t sy_read(const char *path, char *buf, size_t size)
{
	struct file *file = filp_open(path, O_RDONLY, 0);
	loff_t pos = 0;
	ssize_t ret;

	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = kernel_read(file, buf, size - 1, &pos);
	fput(file);
	buf[ret > 0 ? ret : 0] = '\0';
	return ret;
}

/*
 * Held where a read of the driver's "stack" holds the extension and has not
 * locked it yet: the host unregisters its driver object, and the read goes
 * on once the extension is released (the unregister itself then waits for
 * the read to leave the driver's directory).
 */
static void sy_attr_hook(enum drvproxy_test_point tp)
{
	struct sy_fixture *f = sy_cur;

	if (!f)
		return;
	if (tp == DRVPROXY_TP_EXT_RELEASED) {
		complete(&f->released);
		return;
	}
	if (tp != DRVPROXY_TP_DRIVER_ATTR_HELD || current != f->hook_task)
		return;
	f->hook_task = NULL;
	f->hook_ran = true;
	if (dpx_thread_start(&f->remover, sy_unregister, f, "dpx-sy-unreg"))
		return;
	f->released_in_time = wait_for_completion_timeout(&f->released, 10 * HZ);
}

/*
 * The host releases its extension while a read of the driver's "stack" is
 * between taking the extension and locking it.  The read must finish on
 * memory that is still there (KASAN reports it if not), with the stack the
 * release left: empty, the layer reverted.
 */
static void driver_file_read_survives_extension_release_in_between(struct kunit *test)
{
	struct sy_fixture *f = test->priv;
	char *drv_path = kobject_get_path(&f->host.drv->kobj, GFP_KERNEL);
	char *path, buf[64];
	ssize_t ret;

	KUNIT_ASSERT_NOT_NULL(test, drv_path);
	path = kasprintf(GFP_KERNEL, "/sys%s/stack", drv_path);
	kfree(drv_path);
	KUNIT_ASSERT_NOT_NULL(test, path);
	init_completion(&f->released);
	f->hook_task = current;
	drvproxy_test_set_hook(sy_attr_hook);
	ret = sy_read(path, buf, sizeof(buf));
	drvproxy_test_set_hook(NULL);
	kfree(path);

	KUNIT_EXPECT_TRUE(test, f->hook_ran);
	KUNIT_EXPECT_TRUE(test, f->released_in_time);
	KUNIT_EXPECT_EQ(test, ret, (ssize_t)1);
	KUNIT_EXPECT_STREQ(test, buf, "\n");
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->remover, 10000));
	/* Unbound: calls run the original directly. */
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 1);
}

/* Reads the endpoint's "current" where the release has freed the last table. */
static void sy_unbound_hook(enum drvproxy_test_point tp)
{
	struct sy_fixture *f = sy_cur;

	if (tp != DRVPROXY_TP_EXT_UNBOUND || !f || !f->current_path)
		return;
	f->hook_ran = true;
	f->current_ret = sy_read(f->current_path, f->current_buf, sizeof(f->current_buf));
}

/*
 * A user reads an endpoint's "current" after the host's release has
 * unbound the endpoints and freed the last table, before the endpoint's
 * directory goes: the read finds no table (an empty line) instead of
 * reading the freed one (KASAN reports it if it does).
 */
static void endpoint_current_read_after_unbind_finds_no_table(struct kunit *test)
{
	struct sy_fixture *f = test->priv;
	char *drv_path = kobject_get_path(&f->host.drv->kobj, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, drv_path);
	f->current_path = kasprintf(GFP_KERNEL, "/sys%s/endpoints/dpx_sy_ep/current", drv_path);
	kfree(drv_path);
	KUNIT_ASSERT_NOT_NULL(test, f->current_path);
	drvproxy_test_set_hook(sy_unbound_hook);
	dpx_host_unregister(&f->host);
	drvproxy_test_set_hook(NULL);

	KUNIT_EXPECT_TRUE(test, f->hook_ran);
	KUNIT_EXPECT_EQ(test, f->current_ret, (ssize_t)1);
	KUNIT_EXPECT_STREQ(test, f->current_buf, "\n");
	KUNIT_EXPECT_EQ(test, dpx_sy_ep(0), 1);
}

static struct kunit_case sy_cases[] = {
	KUNIT_CASE(writing_0_to_enabled_reverts_the_layer),
	KUNIT_CASE(writing_0_while_its_module_holds_pins_fails_with_ebusy),
	KUNIT_CASE(enabled_write_survives_host_release_in_between),
	KUNIT_CASE(driver_file_read_survives_extension_release_in_between),
	KUNIT_CASE(endpoint_current_read_after_unbind_finds_no_table),
	{}
};

static struct kunit_suite drvproxy_sysfs_suite = {
	.name = "drvproxy_sysfs",
	.init = sy_init,
	.exit = sy_exit,
	.test_cases = sy_cases,
};

kunit_test_suites(&drvproxy_sysfs_suite);
