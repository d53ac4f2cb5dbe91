// SPDX-License-Identifier: GPL-2.0
/*
 * demo_heartbeat.c - drvproxy_demo_heartbeat.ko: a companion whose code
 * outlives its calls
 *
 * Its demo_ioctl adds DRVPROXY_DEMO_HEARTBEAT and passes every other
 * command down to the implementation below it (DRVPROXY_CALL_BELOW()).
 * The heartbeat is a periodic timer with this module's own callback,
 * which queues a work item with this module's own function.  Both are
 * called long after the ioctl returned, from outside
 * any endpoint, so no drain covers them: they are pinned instead
 * (drvproxy_timer_setup(), drvproxy_init_work()), and rmmod of this module
 * fails ("in use") while the heartbeat runs; /sys/kernel/drvproxy/pins
 * names the timer and the work.  DRVPROXY_DEMO_HEARTBEAT 0 ends both and
 * drops the pins.  Parameters beats and works count the calls.
 *
 * Its demo_mmap adds mappings with this module's own vm_operations, called
 * until the mapping goes, long after mmap returned (and after the file
 * descriptor was closed: a mapping holds its file).  They are pinned until
 * the file is released (drvproxy_pin_for_file()); parameter maps counts
 * the mappings alive.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "demo.h"

static DEFINE_MUTEX(hb_lock);		/* hb_period_ms, and starting/stopping */
static unsigned int hb_period_ms;	/* 0: stopped */
static struct timer_list hb_timer;
static struct work_struct hb_work;
static unsigned int hb_beats;
static unsigned int hb_works;
module_param_named(beats, hb_beats, uint, 0444);
MODULE_PARM_DESC(beats, "heartbeat timer calls (read-only)");
module_param_named(works, hb_works, uint, 0444);
MODULE_PARM_DESC(works, "heartbeat work calls (read-only)");

static void hb_work_fn(struct work_struct *work)
{
	WRITE_ONCE(hb_works, hb_works + 1);
}

static void hb_timer_fn(struct timer_list *t)
{
	WRITE_ONCE(hb_beats, hb_beats + 1);
	queue_work(system_wq, &hb_work);
	/* A no-op once drvproxy_timer_shutdown_sync() has begun. */
	mod_timer(&hb_timer, jiffies + msecs_to_jiffies(READ_ONCE(hb_period_ms)));
}

static long hb_start(unsigned int ms)
{
	int ret;

	lockdep_assert_held(&hb_lock);
	if (hb_period_ms) {
		WRITE_ONCE(hb_period_ms, ms);
		return 0;
	}
	ret = drvproxy_timer_setup(&hb_timer, hb_timer_fn, 0);
	if (ret)
		return ret;
	ret = drvproxy_init_work(&hb_work, hb_work_fn);
	if (ret) {
		drvproxy_timer_shutdown_sync(&hb_timer);
		return ret;
	}
	WRITE_ONCE(hb_period_ms, ms);
	mod_timer(&hb_timer, jiffies + msecs_to_jiffies(ms));
	return 0;
}

static void hb_stop(void)
{
	lockdep_assert_held(&hb_lock);
	if (!hb_period_ms)
		return;
	/* The timer queues the work: end it first. */
	drvproxy_timer_shutdown_sync(&hb_timer);
	drvproxy_cancel_work_sync(&hb_work);
	WRITE_ONCE(hb_period_ms, 0);
}

static long hb_ioctl(u32 __user *arg)
{
	u32 ms;
	long ret = 0;

	if (get_user(ms, arg))
		return -EFAULT;
	if (ms > 60 * MSEC_PER_SEC)
		return -EINVAL;
	mutex_lock(&hb_lock);
	if (ms)
		ret = hb_start(ms);
	else
		hb_stop();
	mutex_unlock(&hb_lock);
	return ret;
}

static unsigned int hb_maps;
module_param_named(maps, hb_maps, uint, 0444);
MODULE_PARM_DESC(maps, "mappings alive with this module's vm_operations (read-only)");

static void hb_vm_open(struct vm_area_struct *vma)
{
	WRITE_ONCE(hb_maps, hb_maps + 1);
}

static void hb_vm_close(struct vm_area_struct *vma)
{
	WRITE_ONCE(hb_maps, hb_maps - 1);
}

/* Nothing is backed: the mapping exists to be unmapped later. */
static vm_fault_t hb_vm_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct hb_vm_ops = {
	.open = hb_vm_open,
	.close = hb_vm_close,
	.fault = hb_vm_fault,
};

DRVPROXY_REPLACEMENT(int, demo_mmap, demo_hb_mmap, struct file *, file,
		     struct vm_area_struct *, vma)
{
	int ret = drvproxy_pin_for_file(file, &hb_vm_ops, "vm_operations");

	if (ret)
		return ret;
	vma->vm_ops = &hb_vm_ops;
	hb_vm_open(vma);
	return 0;
}

/*
 * Adds one command and passes every other one down to whatever
 * implements the ioctl below this layer (the driver, v2 or v3), so that
 * stacking the heartbeat on a version keeps that version's commands.
 */
DRVPROXY_REPLACEMENT(long, demo_ioctl, demo_hb_ioctl, struct file *, file,
		     unsigned int, cmd, unsigned long, arg)
{
	if (cmd == DRVPROXY_DEMO_HEARTBEAT)
		return hb_ioctl((u32 __user *)arg);
	return DRVPROXY_CALL_BELOW(demo_hb_ioctl, file, cmd, arg);
}

static struct drvproxy_layer demo_hb_layer = {
	DRVPROXY_LAYER(DEMO_NAME, DRVPROXY_MODE_LIVE),
};

static int __init demo_hb_init(void)
{
	return drvproxy_layer_apply(&demo_hb_layer);
}

/* Runs only once the heartbeat has stopped: until then its pins hold us. */
static void __exit demo_hb_exit(void)
{
	drvproxy_layer_revert(&demo_hb_layer);
}

module_init(demo_hb_init);
module_exit(demo_hb_exit);

MODULE_DESCRIPTION("drvproxy demo companion: a heartbeat timer and work that pin it");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
