// SPDX-License-Identifier: GPL-2.0
/*
 * detect.c - a host driver whose image companion must use the running
 * driver's own symbols: image/build.sh builds it (the running build, OLD)
 * and detect-1.1.patch as its image; test-image.sh checks make companion's
 * report and loads both in the guest.
 *
 * /dev/drvproxy_detect: a write counts itself; a read returns one line,
 * "1.0 calls=<n> lines=<n>", or in 1.1
 * "1.1 <module> calls=<n> ops=<ok|foreign> reads=<n> lines=<n>".  What the update
 * changes, endpoint by endpoint:
 *
 *   det_read     counts the read (det_count(), an unchanged helper) and
 *                reports THIS_MODULE's name, the counter det_calls,
 *                whether the device's ops pointer is &det_ops and its own
 *                count of reads, a static local: one counter each, the
 *                driver's module and the driver's table only if the image
 *                binds to the driver's own
 *   det_open     pins THIS_MODULE while the file is open, det_release
 *                unpins it: the driver's module, not the image's
 *   det_write    unchanged: counts the write, keeps running the driver's
 *                code; a write of 4 bytes or more switches the static key
 *                det_loud on, which 1.1's read reports (" loud"): the
 *                driver's key switches the image's code only if the
 *                image's jump label is linked to it
 *   det_orphan   changed, but nothing in the driver refers to it: nothing
 *                can call it, so it is not installed
 *
 * det_total() is exported: the image must export nothing.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/fs.h>
#include <linux/jump_label.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include <drvproxy.h>

#include "detect.h"

#define DET_NAME	"drvproxy_detect"

/* A const table whose address identifies the driver's own devices. */
struct det_ops {
	const char *(*version)(void);
};

struct det_state {
	const struct det_ops *ops;
};

static struct drvproxy_driver *det_driver;
static struct drvproxy_device *det_device;

/* Reads and writes counted: writable module data. */
static unsigned long det_calls;
module_param_named(calls, det_calls, ulong, 0444);
MODULE_PARM_DESC(calls, "reads and writes so far");

/* Switched on by a long write, never off: a static key of the driver. */
static DEFINE_STATIC_KEY_FALSE(det_loud);

static noinline void det_count(void)
{
	WRITE_ONCE(det_calls, det_calls + 1);
}

static const char *det_version(void)
{
	return "1.0";
}

static const struct det_ops det_ops = {
	.version = det_version,
};

unsigned long det_total(void)
{
	return READ_ONCE(det_calls);
}
EXPORT_SYMBOL_GPL(det_total);

static struct det_state *det_st(struct file *file)
{
	return drvproxy_file_device(file)->state;
}

DRVPROXY_ENDPOINT(ssize_t, det_read, struct file *, file, char __user *, buf,
		  size_t, len, loff_t *, ppos)
{
	static unsigned int lines;	/* one per read: a static local */
	struct det_state *st = det_st(file);
	char line[96];
	int n;

	det_count();
	lines++;
	n = scnprintf(line, sizeof(line), "%s calls=%lu lines=%u\n", st->ops->version(),
		      READ_ONCE(det_calls), lines);
	return simple_read_from_buffer(buf, len, ppos, line, n);
}

DRVPROXY_ENDPOINT(ssize_t, det_write, struct file *, file, const char __user *, buf,
		  size_t, len, loff_t *, ppos)
{
	det_count();
	if (len >= 4)
		static_branch_enable(&det_loud);
	return len;
}

DRVPROXY_ENDPOINT(int, det_open, struct inode *, inode, struct file *, file)
{
	return 0;
}

DRVPROXY_ENDPOINT(int, det_release, struct inode *, inode, struct file *, file)
{
	return 0;
}

DRVPROXY_ENDPOINT(long, det_orphan, struct file *, file, unsigned int, cmd,
		  unsigned long, arg)
{
	return -ENOTTY;
}

static int __init det_init(void)
{
	struct drvproxy_extension *ext;
	struct det_state *st;
	int ret;

	det_driver = drvproxy_driver_alloc(DET_NAME);
	if (IS_ERR(det_driver))
		return PTR_ERR(det_driver);
	drvproxy_set_major_function(det_driver, CREATE, det_open);
	drvproxy_set_major_function(det_driver, CLOSE, det_release);
	drvproxy_set_major_function(det_driver, READ, det_read);
	drvproxy_set_major_function(det_driver, WRITE, det_write);
	ret = drvproxy_create_extension(det_driver, 0, &ext);
	if (ret)
		goto err_free;
	ret = drvproxy_driver_register(det_driver);
	if (ret)
		goto err_free;
	det_device = drvproxy_device_alloc(det_driver, DET_NAME, sizeof(*st));
	ret = PTR_ERR_OR_ZERO(det_device);
	if (ret)
		goto err_unregister;
	st = det_device->state;
	st->ops = &det_ops;
	ret = drvproxy_device_add(det_device);
	if (ret)
		goto err_delete;
	return 0;

err_delete:
	drvproxy_delete_device(det_device);
err_unregister:
	drvproxy_driver_unregister(det_driver);
err_free:
	drvproxy_driver_free(det_driver);
	return ret;
}

static void __exit det_exit(void)
{
	drvproxy_delete_device(det_device);
	drvproxy_driver_unregister(det_driver);
	drvproxy_driver_free(det_driver);
}

DRVPROXY_HOST_MODULE(DET_NAME, det_init, det_exit, 0, NULL, NULL);
MODULE_DESCRIPTION("drvproxy: a host whose image binds to its data, tables and module");
MODULE_LICENSE("GPL");
