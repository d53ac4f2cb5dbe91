// SPDX-License-Identifier: GPL-2.0
/*
 * raw_main.c - drvproxy_demo_raw.ko: the demo device without drvproxy
 *
 * The same endpoint code (demo_ops.c compiled with DRVPROXY_RAW, where every
 * endpoint is a plain function) behind plain file_operations on a plain misc
 * device, so benchmarks can compare a call through the proxy with the same
 * driver built without it.  No swapping; the swap-aware waits degrade to
 * plain waits.  A plain kthread stands in for the demo's hot-swappable
 * worker, so that a write wakes a worker in both builds and the benchmarks
 * compare the dispatch, not the wake-up.  Registers /dev/drvproxy_demo_raw.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "demo.h"
#include "demo_ops.h"

/* What drvproxy_file_device() returns in the raw build. */
static struct drvproxy_device raw_device;
static struct task_struct *raw_worker;

/*
 * The demo's worker without the proxy: it waits on the same auto-reset
 * event, which every write signals, or for the same period, and runs the
 * same routine, as drvproxy's worker loop does for the proxied demo.
 */
static int raw_worker_fn(void *context)
{
	struct demo_state *st = context;
	long left;

	for (;;) {
		left = wait_event_interruptible_timeout(st->tick.wq,
							READ_ONCE(st->tick.signalled) ||
							kthread_should_stop(),
							msecs_to_jiffies(DEMO_WORKER_PERIOD_MS));
		if (kthread_should_stop())
			return 0;
		if (READ_ONCE(st->tick.signalled))
			drvproxy_event_reset(&st->tick);
		demo_worker(st, left ? 0 : DRVPROXY_WAIT_TIMEOUT);
	}
}

static const struct file_operations raw_fops = {
	.owner = THIS_MODULE,
	.open = demo_open,
	.release = demo_release,
	.read = demo_read,
	.write = demo_write,
	.poll = demo_poll,
	.llseek = demo_llseek,
	.fasync = demo_fasync,
	.unlocked_ioctl = demo_ioctl,
	.compat_ioctl = demo_compat_ioctl,
};

static int __init raw_init(void)
{
	struct demo_state *st;
	int ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->layout = DEMO_STATE_LAYOUT;
	mutex_init(&st->lock);
	init_waitqueue_head(&st->rq);
	init_waitqueue_head(&st->wq);
	drvproxy_event_init(&st->tick, true);
	raw_device.state = st;
	raw_device.misc.minor = MISC_DYNAMIC_MINOR;
	raw_device.misc.name = DEMO_NAME "_raw";
	/* drvproxy_file_device() finds the device through the file's f_op. */
	raw_device.fops = raw_fops;
	raw_device.misc.fops = &raw_device.fops;
	raw_device.misc.mode = 0666;
	raw_worker = kthread_run(raw_worker_fn, st, DEMO_NAME "_raw");
	if (IS_ERR(raw_worker)) {
		ret = PTR_ERR(raw_worker);
		goto free_state;
	}
	ret = misc_register(&raw_device.misc);
	if (ret)
		goto stop_worker;
	return 0;

stop_worker:
	kthread_stop(raw_worker);
free_state:
	kfree(st);
	return ret;
}

static void __exit raw_exit(void)
{
	misc_deregister(&raw_device.misc);
	kthread_stop(raw_worker);
	kfree(raw_device.state);
}

module_init(raw_init);
module_exit(raw_exit);

MODULE_DESCRIPTION("drvproxy demo device built without the proxy (benchmark baseline)");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
