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
 * no layer applied.  It unplugs the device (which stops the device's worker
 * first: the worker waits on an event in the device's state block), then
 * drvproxy_driver_unregister() waits for calls still draining.
 *
 * Hot-unplug: writing 0 to /sys/module/drvproxy_demo/parameters/present
 * removes the device as a bus would on unplug (1 brings a new one): files
 * still open then fail with ENODEV, calls blocked in read or write return
 * ENODEV, and the state block goes with the last close (parameter
 * states_freed counts them).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "demo.h"
#include "demo_ops.h"

static DEFINE_MUTEX(demo_plug_lock);	/* the three below */
static struct drvproxy_driver *demo_driver;	/* NULL while loading or unloading */
static struct drvproxy_device *demo_device;	/* NULL while unplugged */
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
	drvproxy_set_major_function(drv, MMAP, demo_mmap);
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

/* State blocks freed so far, for tests: each after its last close. */
static unsigned int demo_states_freed;
module_param_named(states_freed, demo_states_freed, uint, 0444);
MODULE_PARM_DESC(states_freed, "device state blocks freed since load (read-only)");

/* The last reference to a device is gone: every open had its release. */
static void demo_device_release(struct drvproxy_device *dev)
{
	struct demo_state *st = dev->state;

	if (st->opens_now)
		pr_err("%s: state freed with %llu files counted open\n", dev->misc.name,
		       st->opens_now);
	WRITE_ONCE(demo_states_freed, demo_states_freed + 1);
}

/* Plug a device in: state ready before /dev/drvproxy_demo appears. */
static int demo_plug(void)
{
	struct drvproxy_device *dev;
	int ret;

	lockdep_assert_held(&demo_plug_lock);
	dev = drvproxy_device_alloc(demo_driver, DEMO_NAME, sizeof(struct demo_state));
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	demo_state_init(dev->state);
	ret = drvproxy_device_add(dev);
	if (ret)
		goto err;
	ret = demo_start_worker(drvproxy_get_extension(demo_driver), dev->state);
	if (ret)
		goto err;
	demo_device = dev;
	return 0;

err:
	drvproxy_delete_device(dev);
	return ret;
}

/* Unplug: wake blocked calls, stop the worker, then remove the device. */
static void demo_unplug(void)
{
	struct demo_state *st = demo_device->state;

	lockdep_assert_held(&demo_plug_lock);
	mutex_lock(&st->lock);
	st->gone = true;
	mutex_unlock(&st->lock);
	demo_notify(st, true, true);
	drvproxy_stop_worker(demo_worker_thread);
	demo_worker_thread = NULL;
	drvproxy_delete_device(demo_device);
	demo_device = NULL;
}

/**
 * drvproxy_demo_present() - is the demo device plugged in?
 *
 * For other modules; a host driver's exports stay its own when an image
 * companion services it (make companion builds images without exports).
 *
 * Context: process context, may sleep.
 * Return: true while /dev/drvproxy_demo exists.
 */
bool drvproxy_demo_present(void)
{
	bool present;

	mutex_lock(&demo_plug_lock);
	present = demo_device;
	mutex_unlock(&demo_plug_lock);
	return present;
}
EXPORT_SYMBOL_GPL(drvproxy_demo_present);

static int demo_set_present(const char *val, const struct kernel_param *kp)
{
	bool present;
	int ret = kstrtobool(val, &present);

	if (ret)
		return ret;
	mutex_lock(&demo_plug_lock);
	if (!demo_driver)
		ret = -ENODEV;	/* loading or unloading */
	else if (present && !demo_device)
		ret = demo_plug();
	else if (!present && demo_device)
		demo_unplug();
	mutex_unlock(&demo_plug_lock);
	return ret;
}

static int demo_get_present(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(demo_device) ? 1 : 0);
}

static const struct kernel_param_ops demo_present_ops = {
	.set = demo_set_present,
	.get = demo_get_present,
};
module_param_cb(present, &demo_present_ops, NULL, 0644);
MODULE_PARM_DESC(present, "1 while the device is plugged in; write 0 to unplug it, 1 to plug a new one");

static int __init demo_init(void)
{
	struct drvproxy_extension *ext;
	struct drvproxy_driver *drv;
	int ret;

	drv = drvproxy_driver_alloc(DEMO_NAME);
	if (IS_ERR(drv))
		return PTR_ERR(drv);
	drv->state_layout = DEMO_STATE_LAYOUT;
	drv->device_release = demo_device_release;
	demo_set_major_functions(drv);
	ret = drvproxy_create_extension(drv, 0, &ext);
	if (ret)
		goto err_free;
	ret = drvproxy_driver_register(drv);
	if (ret)
		goto err_free;
	mutex_lock(&demo_plug_lock);
	demo_driver = drv;
	ret = demo_plug();
	if (ret)
		demo_driver = NULL;
	mutex_unlock(&demo_plug_lock);
	if (ret)
		goto err_unregister;
	pr_info("/dev/%s ready (implementation 1)\n", DEMO_NAME);
	return 0;

err_unregister:
	drvproxy_driver_unregister(drv);
err_free:
	drvproxy_driver_free(drv);
	pr_err("load failed: %d\n", ret);
	return ret;
}

static void __exit demo_exit(void)
{
	struct drvproxy_driver *drv;

	/* Unplug the device as a bus would; no plug or unplug after this. */
	mutex_lock(&demo_plug_lock);
	if (demo_device)
		demo_unplug();
	drv = demo_driver;
	demo_driver = NULL;
	mutex_unlock(&demo_plug_lock);
	drvproxy_driver_unregister(drv);
	drvproxy_driver_free(drv);
}

/*
 * As an image companion (make companion), this same file applies the
 * endpoints of its build to the running driver instead of registering one.
 */
DRVPROXY_HOST_MODULE(DEMO_NAME, demo_init, demo_exit, DEMO_STATE_LAYOUT, NULL, NULL);

MODULE_DESCRIPTION("drvproxy demo: a hot-swappable FIFO character device");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
