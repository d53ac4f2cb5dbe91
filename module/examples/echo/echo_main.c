// SPDX-License-Identifier: GPL-2.0
/*
 * echo_main.c - drvproxy_echo.ko: echo_plain.c made hot-swappable
 *
 * The message echo device of echo_plain.c, converted by following
 * Documentation/howto.rst and nothing else: the state moved into echo.h
 * and into the device's state block (step 2), read and write became
 * endpoints (step 3), and the file_operations and miscdevice became a
 * driver object with a major-function table, a proxy extension and a
 * device (step 4).  A companion (echo_rot13.c) replaces echo_read live.
 *
 *   $ echo hello > /dev/drvproxy_echo
 *   $ cat /dev/drvproxy_echo
 *   hello
 *
 * Lifetime: open files and applied companion layers pin this module, so
 * exit runs with neither.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/uaccess.h>

#include "echo.h"

static struct drvproxy_driver *echo_driver;
static struct drvproxy_device *echo_device;

DRVPROXY_ENDPOINT(ssize_t, echo_read, struct file *, file, char __user *, buf,
		  size_t, count, loff_t *, ppos)
{
	struct echo_state *st = echo_st(file);
	ssize_t ret;

	mutex_lock(&st->lock);
	ret = simple_read_from_buffer(buf, count, ppos, st->msg, st->len);
	mutex_unlock(&st->lock);
	return ret;
}

DRVPROXY_ENDPOINT(ssize_t, echo_write, struct file *, file, const char __user *, buf,
		  size_t, count, loff_t *, ppos)
{
	struct echo_state *st = echo_st(file);
	char tmp[ECHO_SIZE];
	size_t n = min_t(size_t, count, ECHO_SIZE);

	if (copy_from_user(tmp, buf, n))
		return -EFAULT;
	mutex_lock(&st->lock);
	memcpy(st->msg, tmp, n);
	st->len = n;
	st->writes++;
	mutex_unlock(&st->lock);
	return n;
}

static int __init echo_init(void)
{
	struct drvproxy_extension *ext;
	struct echo_state *st;
	int ret;

	echo_driver = drvproxy_driver_alloc(ECHO_NAME);
	if (IS_ERR(echo_driver))
		return PTR_ERR(echo_driver);
	drvproxy_set_major_function(echo_driver, READ, echo_read);
	drvproxy_set_major_function(echo_driver, WRITE, echo_write);
	drvproxy_set_major_function(echo_driver, LLSEEK, default_llseek);
	ret = drvproxy_create_extension(echo_driver, 0, &ext);
	if (ret)
		goto err_free;
	ret = drvproxy_driver_register(echo_driver);
	if (ret)
		goto err_free;
	echo_device = drvproxy_device_alloc(echo_driver, ECHO_NAME, sizeof(*st));
	ret = PTR_ERR_OR_ZERO(echo_device);
	if (ret)
		goto err_unregister;
	st = echo_device->state;
	mutex_init(&st->lock);		/* before the node appears */
	ret = drvproxy_device_add(echo_device);
	if (ret)
		goto err_delete;
	return 0;

err_delete:
	drvproxy_delete_device(echo_device);
err_unregister:
	drvproxy_driver_unregister(echo_driver);
err_free:
	drvproxy_driver_free(echo_driver);
	return ret;
}

static void __exit echo_exit(void)
{
	drvproxy_delete_device(echo_device);
	drvproxy_driver_unregister(echo_driver);
	drvproxy_driver_free(echo_driver);
}

module_init(echo_init);
module_exit(echo_exit);

MODULE_DESCRIPTION("drvproxy example: a hot-swappable message echo device");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
