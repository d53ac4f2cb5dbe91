// SPDX-License-Identifier: GPL-2.0
/*
 * demo_main.c - drvproxy_demo.ko: a stateful FIFO device that can be
 * hot-swapped
 *
 * The reference host driver: it describes itself with a driver object,
 * fills the major-function table with its endpoints (demo_ops.c), creates
 * the proxy extension (which enumerates those endpoints from this module's
 * drvproxy_endpoints section), creates /dev/drvproxy_demo and a
 * hot-swappable worker thread.  Companions (drvproxy_demo_v2.ko, ...) then
 * replace endpoints live.
 *
 * Lifetime: open files pin this module (the proxy fops's owner), and so does
 * every applied companion layer; exit therefore runs with no file open and
 * no layer applied.  It stops the worker first, because the worker waits on
 * an event in the device's state block, which drvproxy_delete_device()
 * frees; drvproxy_driver_unregister() then waits for calls still draining.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "demo.h"
#include "demo_ops.h"

static struct drvproxy_driver *demo_driver;
static struct drvproxy_device *demo_device;
static struct drvproxy_worker *demo_worker_thread;

static void demo_state_init(struct demo_state *st)
{
	st->layout = DEMO_STATE_LAYOUT;
	mutex_init(&st->lock);
	init_waitqueue_head(&st->rq);
	init_waitqueue_head(&st->wq);
	drvproxy_event_init(&st->tick, true);
}

static void demo_set_major_functions(struct drvproxy_driver *drv)
{
	drvproxy_set_major_function(drv, CREATE, demo_open);
	drvproxy_set_major_function(drv, CLOSE, demo_release);
	drvproxy_set_major_function(drv, READ, demo_read);
	drvproxy_set_major_function(drv, WRITE, demo_write);
	drvproxy_set_major_function(drv, POLL, demo_poll);
	drvproxy_set_major_function(drv, LLSEEK, demo_llseek);
	drvproxy_set_major_function(drv, FASYNC, demo_fasync);
	drvproxy_set_major_function(drv, DEVICE_CONTROL, demo_ioctl);
	drvproxy_set_major_function(drv, DEVICE_CONTROL_COMPAT, demo_compat_ioctl);
}

static int demo_start_worker(struct drvproxy_extension *ext, struct demo_state *st)
{
	struct drvproxy_worker_start start = {
		.routine = demo_worker,
		.context = st,
		.name = "drvproxy_demo",
		.wait_type = DRVPROXY_WAIT_ANY,
		.has_timeout = true,
		.timeout_ms = DEMO_WORKER_PERIOD_MS,
		.event_count = 1,
		.events = { &st->tick },
	};

	return drvproxy_create_worker(ext, &start, &demo_worker_thread);
}

static int __init demo_init(void)
{
	struct drvproxy_extension *ext;
	int ret;

	demo_driver = drvproxy_driver_alloc(DEMO_NAME);
	if (IS_ERR(demo_driver))
		return PTR_ERR(demo_driver);
	demo_driver->state_layout = DEMO_STATE_LAYOUT;
	demo_set_major_functions(demo_driver);
	ret = drvproxy_create_extension(demo_driver, 0, &ext);
	if (ret)
		goto err_free;
	ret = drvproxy_driver_register(demo_driver);
	if (ret)
		goto err_free;
	ret = drvproxy_create_device(demo_driver, DEMO_NAME, sizeof(struct demo_state),
				     &demo_device);
	if (ret)
		goto err_unregister;
	demo_state_init(demo_device->extension);
	ret = demo_start_worker(ext, demo_device->extension);
	if (ret)
		goto err_delete;
	pr_info("/dev/%s ready (implementation 1)\n", DEMO_NAME);
	return 0;

err_delete:
	drvproxy_delete_device(demo_device);
err_unregister:
	drvproxy_driver_unregister(demo_driver);
err_free:
	drvproxy_driver_free(demo_driver);
	pr_err("load failed: %d\n", ret);
	return ret;
}

static void __exit demo_exit(void)
{
	/* The worker waits on an event in the device's state block: stop it first. */
	drvproxy_stop_worker(demo_worker_thread);
	drvproxy_delete_device(demo_device);
	drvproxy_driver_unregister(demo_driver);
	drvproxy_driver_free(demo_driver);
}

/*
 * As an image companion (make companion), this same file applies the
 * endpoints of its build to the running driver instead of registering one.
 */
DRVPROXY_HOST_MODULE(DEMO_NAME, demo_init, demo_exit, DEMO_STATE_LAYOUT, NULL, NULL);

MODULE_DESCRIPTION("drvproxy demo: a hot-swappable FIFO character device");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
