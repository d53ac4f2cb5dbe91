// SPDX-License-Identifier: GPL-2.0
/*
 * demo_ops.c - the demo device's endpoints, implementation version 1
 *
 * Every method of the device and the worker routine is an endpoint:
 * DRVPROXY_ENDPOINT() puts its descriptor into this module's
 * drvproxy_endpoints section, which drvproxy_create_extension() enumerates,
 * so there is no hand-written list anywhere.  Companions replace these by
 * name (demo_v2.c, demo_v3.c).
 *
 * Version 1 has one deliberate, documented bug: GET_INFO reports every
 * open(2) since load as "opens", where the interface promises the files
 * open now.  Version 2 fixes it.
 *
 * Compiled with DRVPROXY_RAW (raw_ops.c), the same endpoints are plain
 * functions: drvproxy_demo_raw.ko, the benchmarks' baseline.
 *
 * Locking and lifetime: see demo.h.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/compat.h>
#include <linux/slab.h>

#include "demo.h"
#include "demo_ops.h"

DRVPROXY_ENDPOINT_GLOBAL(int, demo_open, struct inode *, inode, struct file *, file)
{
	struct drvproxy_device *dev = drvproxy_file_device(file);
	struct demo_state *st = dev->state;
	struct demo_file *df;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	df->st = st;
	file->private_data = df;
	mutex_lock(&st->lock);
	st->opens_total++;
	st->opens_now++;
	mutex_unlock(&st->lock);
	return stream_open(inode, file);
}

DRVPROXY_ENDPOINT_GLOBAL(int, demo_release, struct inode *, inode, struct file *, file)
{
	struct demo_file *df = file->private_data;
	struct demo_state *st = df->st;

	mutex_lock(&st->lock);
	st->opens_now--;
	mutex_unlock(&st->lock);
	fasync_helper(-1, file, 0, &st->fasync);
	kfree(df);
	return 0;
}

DRVPROXY_ENDPOINT_GLOBAL(ssize_t, demo_read, struct file *, file, char __user *, buf,
			 size_t, count, loff_t *, ppos)
{
	return demo_read_common(__dpx_call, file, buf, count, 1, NULL);
}

DRVPROXY_ENDPOINT_GLOBAL(ssize_t, demo_write, struct file *, file, const char __user *, buf,
			 size_t, count, loff_t *, ppos)
{
	struct demo_file *df = file->private_data;
	struct demo_state *st = df->st;
	ssize_t done;
	int ret;

	for (;;) {
		mutex_lock(&st->lock);
		if (st->gone) {
			mutex_unlock(&st->lock);
			return -ENODEV;
		}
		if (demo_room(st) || !count)
			break;
		mutex_unlock(&st->lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = drvproxy_wait_event_interruptible(st->wq,
							READ_ONCE(st->len) < DEMO_FIFO_SIZE ||
							READ_ONCE(st->gone));
		if (ret)
			return ret;
	}
	/* Like a pipe: take what fits, a short count tells the caller. */
	done = demo_fifo_put_user(st, buf, count);
	if (done > 0) {
		st->bytes_in += done;
		df->bytes_written += done;
	}
	mutex_unlock(&st->lock);
	if (done > 0) {
		demo_notify(st, true, false);
		drvproxy_event_set(&st->tick);
	}
	return done;
}

DRVPROXY_ENDPOINT_GLOBAL(__poll_t, demo_poll, struct file *, file, struct poll_table_struct *, wait)
{
	struct demo_state *st = demo_st(file);
	__poll_t mask = 0;

	poll_wait(file, &st->rq, wait);
	poll_wait(file, &st->wq, wait);
	if (READ_ONCE(st->len))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(st->len) < DEMO_FIFO_SIZE)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* Never waits: _NOWAIT gives it the wrapper without re-dispatch. */
DRVPROXY_ENDPOINT_NOWAIT_GLOBAL(loff_t, demo_llseek, struct file *, file, loff_t, offset,
				int, whence)
{
	return -ESPIPE;
}

DRVPROXY_ENDPOINT_GLOBAL(int, demo_fasync, int, fd, struct file *, file, int, on)
{
	return fasync_helper(fd, file, on, &demo_st(file)->fasync);
}

DRVPROXY_ENDPOINT_GLOBAL(long, demo_ioctl, struct file *, file, unsigned int, cmd,
			 unsigned long, arg)
{
	struct demo_state *st = demo_st(file);

	switch (cmd) {
	case DRVPROXY_DEMO_GET_INFO:
		/* Version 1 bug: opens since load, not files open now. */
		return demo_get_info(st, (void __user *)arg, 1, st->opens_total);
	case DRVPROXY_DEMO_RESET:
		return demo_reset(st, arg);
	default:
		return -ENOTTY;
	}
}

DRVPROXY_ENDPOINT_GLOBAL(long, demo_compat_ioctl, struct file *, file, unsigned int, cmd,
			 unsigned long, arg)
{
	/* Through the wrapper: a companion's demo_ioctl serves 32-bit callers too. */
	return demo_ioctl(file, cmd, (unsigned long)compat_ptr(arg));
}

DRVPROXY_ENDPOINT_GLOBAL(bool, demo_worker, void *, context, long, status)
{
	demo_worker_tick(context, 1);
	return true;
}

/*
 * Version 1 maps nothing, as the device did before it had an mmap method;
 * a companion may add mappings (drvproxy_demo_heartbeat.ko).
 */
DRVPROXY_ENDPOINT_GLOBAL(int, demo_mmap, struct file *, file, struct vm_area_struct *, vma)
{
	return -ENODEV;
}
