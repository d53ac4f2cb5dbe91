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
 * One wait of drvproxy's worker loop (worker.c) for one auto-reset event
 * with a timeout, done the same way: its wait-queue entry stays queued from
 * before the first test until after the last, so a write that signals the
 * event while the worker runs wakes it as it does the proxied demo's.
 * Returns 0 when the event was signalled (and consumes it), or
 * DRVPROXY_WAIT_TIMEOUT.
 */
static long raw_worker_wait(struct demo_state *st, wait_queue_entry_t *wait)
{
	long timeout = msecs_to_jiffies(DEMO_WORKER_PERIOD_MS);
	long status;

	add_wait_queue(&st->tick.wq, wait);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop() || drvproxy_event_read_state(&st->tick)) {
			status = 0;
			break;
		}
		timeout = schedule_timeout(timeout);
		if (!timeout) {
			status = drvproxy_event_read_state(&st->tick) ? 0 : DRVPROXY_WAIT_TIMEOUT;
			break;
		}
	}
	__set_current_state(TASK_RUNNING);
	remove_wait_queue(&st->tick.wq, wait);
	if (!status && !kthread_should_stop())
		drvproxy_event_reset(&st->tick);
	return status;
}

/*
 * The demo's worker without the proxy: it waits on the same auto-reset
 * event, which every write signals, or for the same period, the way
 * drvproxy's worker does, and runs the same routine (a plain function
 * here, behind a wrapper in the proxied demo).
 */
static int raw_worker_fn(void *context)
{
	struct demo_state *st = context;
	wait_queue_entry_t wait;
	long status;

	init_waitqueue_entry(&wait, current);
	for (;;) {
		status = raw_worker_wait(st, &wait);
		if (kthread_should_stop())
			return 0;
		demo_worker(st, status);
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
