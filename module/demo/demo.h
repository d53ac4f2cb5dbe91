/* SPDX-License-Identifier: GPL-2.0 */
/*
 * demo.h - the demo device's state block, shared by every implementation
 *
 * The host (drvproxy_demo.ko) and its companions (drvproxy_demo_v2.ko,
 * drvproxy_demo_v3.ko) all include this file.  The state block is the
 * device's state block (drvproxy_create_device()): an implementation reaches
 * it through its arguments (file->private_data), so a newer implementation
 * works on the same data.  Helpers here are static inline on purpose: a
 * companion must not depend on symbols of the host module, only on its
 * data layout, which DEMO_STATE_LAYOUT versions.
 *
 * Layout: DEMO_STATE_LAYOUT versions struct demo_state; a build whose
 * layout differs from the running driver's must migrate the state both ways
 * (DRVPROXY_HOST_MODULE()), usually by taking over words of @spare.
 *
 * Locking: st->lock protects the FIFO and the counters; readers and writers
 * sleep outside it on rq/wq.  The worker reads the fill level locklessly.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_DEMO_INTERNAL_H
#define _DRVPROXY_DEMO_INTERNAL_H

#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <drvproxy.h>
#include <uapi/drvproxy_demo.h>

#define DEMO_NAME		"drvproxy_demo"
#define DEMO_STATE_LAYOUT	1
#define DEMO_FIFO_SIZE		DRVPROXY_DEMO_FIFO_SIZE
#define DEMO_WORKER_PERIOD_MS	100

struct demo_state {
	u32 layout;
	struct mutex lock;		/* the FIFO and the counters */
	wait_queue_head_t rq;		/* readers wait for data */
	wait_queue_head_t wq;		/* writers wait for room */
	struct fasync_struct *fasync;
	struct drvproxy_event tick;	/* kicks the worker on every write */
	bool gone;			/* unplugged: blocked calls give up */
	unsigned int head;
	unsigned int len;
	u32 transform;
	u64 bytes_in;
	u64 bytes_out;
	u64 opens_total;
	u64 opens_now;
	u64 worker_ticks;
	u64 worker_version;
	u64 reads[4];			/* read() calls served per version */
	u64 peak_fill;
	u8 buf[DEMO_FIFO_SIZE];
	/*
	 * Reserved for later state layouts, zero in layout 1: a newer image
	 * of this driver (make companion) can add fields here without moving
	 * anything, and its migration fills them in the running driver.
	 */
	u64 spare[4];
};

/* Per open file. */
struct demo_file {
	struct demo_state *st;
	u64 bytes_read;
	u64 bytes_written;
};

static inline struct demo_state *demo_st(struct file *file)
{
	return ((struct demo_file *)file->private_data)->st;
}

static inline unsigned int demo_room(struct demo_state *st)
{
	return DEMO_FIFO_SIZE - st->len;
}

/*
 * Copy up to @n bytes from the head of the FIFO into @dst (kernel) without
 * taking them out; returns bytes.  demo_fifo_drop() takes them out once
 * they reached the reader.
 */
static inline unsigned int demo_fifo_peek(struct demo_state *st, u8 *dst, unsigned int n)
{
	unsigned int first, done = min(n, st->len);

	first = min(done, DEMO_FIFO_SIZE - st->head);
	memcpy(dst, st->buf + st->head, first);
	memcpy(dst + first, st->buf, done - first);
	return done;
}

static inline void demo_fifo_drop(struct demo_state *st, unsigned int n)
{
	st->head = (st->head + n) % DEMO_FIFO_SIZE;
	st->len -= n;
}

/* Append up to @n bytes from user memory; returns bytes or -EFAULT. */
static inline ssize_t demo_fifo_put_user(struct demo_state *st,
					 const char __user *src, size_t n)
{
	unsigned int todo = min_t(size_t, n, demo_room(st));
	unsigned int tail = (st->head + st->len) % DEMO_FIFO_SIZE;
	unsigned int first = min(todo, DEMO_FIFO_SIZE - tail);

	if (copy_from_user(st->buf + tail, src, first) ||
	    copy_from_user(st->buf, src + first, todo - first))
		return -EFAULT;
	st->len += todo;
	return todo;
}

/* Wake whoever waits for what just changed. */
static inline void demo_notify(struct demo_state *st, bool data, bool room)
{
	if (data) {
		wake_up_interruptible(&st->rq);
		kill_fasync(&st->fasync, SIGIO, POLL_IN);
	}
	if (room) {
		wake_up_interruptible(&st->wq);
		kill_fasync(&st->fasync, SIGIO, POLL_OUT);
	}
}

typedef void (*demo_xform_t)(u8 *buf, unsigned int n, u32 transform);

/*
 * Move up to @count bytes from the FIFO to user memory through a bounce
 * buffer, applying @xform to each chunk (NULL: none); a chunk the copy to
 * user memory fails on is not consumed, as with a pipe.  Blocks in the
 * swap-aware wait while the FIFO is empty, before any side effect, so a swap
 * can re-dispatch the call.  @__dpx_call is the table the endpoint's call
 * entered, passed on under the name the swap-aware waits expect.
 */
static inline ssize_t demo_read_common(struct drvproxy_table *__dpx_call,
				       struct file *file, char __user *buf,
				       size_t count, unsigned int version,
				       demo_xform_t xform)
{
	struct demo_file *df = file->private_data;
	struct demo_state *st = df->st;
	ssize_t done = 0;
	u8 bounce[256];
	int ret;

	for (;;) {
		mutex_lock(&st->lock);
		if (st->gone) {
			mutex_unlock(&st->lock);
			return -ENODEV;
		}
		if (st->len || !count)
			break;
		mutex_unlock(&st->lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = drvproxy_wait_event_interruptible(st->rq, READ_ONCE(st->len) > 0 ||
							READ_ONCE(st->gone));
		if (ret)
			return ret;
	}
	while (done < count && st->len) {
		unsigned int n = demo_fifo_peek(st, bounce,
						min_t(size_t, count - done, sizeof(bounce)));

		if (xform)
			xform(bounce, n, st->transform);
		if (copy_to_user(buf + done, bounce, n)) {
			/*
			 * Like pipe_read(): a chunk that did not reach the
			 * reader stays in the FIFO; what earlier chunks
			 * delivered is the (short) result.
			 */
			if (!done)
				done = -EFAULT;
			break;
		}
		demo_fifo_drop(st, n);
		done += n;
	}
	if (done > 0) {
		st->bytes_out += done;
		df->bytes_read += done;
	}
	st->reads[version]++;
	mutex_unlock(&st->lock);
	demo_notify(st, false, done > 0);
	return done;
}

/* Fill a GET_INFO answer; @opens is what this version reports. */
static inline long demo_get_info(struct demo_state *st, void __user *arg,
				 u32 version, u64 opens)
{
	struct drvproxy_demo_info info = {};
	u32 size;

	if (get_user(size, (u32 __user *)arg))
		return -EFAULT;
	if (size < offsetof(struct drvproxy_demo_info, reserved))
		return -EINVAL;
	size = min_t(u32, size, sizeof(info));
	mutex_lock(&st->lock);
	info.size = size;
	info.impl_version = version;
	info.uapi_version = DRVPROXY_DEMO_UAPI_VERSION;
	info.transform = st->transform;
	info.bytes_in = st->bytes_in;
	info.bytes_out = st->bytes_out;
	info.opens = opens;
	info.fill = st->len;
	info.worker_ticks = st->worker_ticks;
	info.worker_version = st->worker_version;
	info.reads_v1 = st->reads[1];
	info.reads_v2 = st->reads[2];
	info.peak_fill = st->peak_fill;
	mutex_unlock(&st->lock);
	return copy_to_user(arg, &info, size) ? -EFAULT : 0;
}

static inline long demo_reset(struct demo_state *st, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	mutex_lock(&st->lock);
	st->head = 0;
	st->len = 0;
	st->bytes_in = 0;
	st->bytes_out = 0;
	st->peak_fill = 0;
	memset(st->reads, 0, sizeof(st->reads));
	mutex_unlock(&st->lock);
	demo_notify(st, false, true);
	return 0;
}

/* One worker wake-up: sample the fill level. */
static inline void demo_worker_tick(struct demo_state *st, u64 version)
{
	unsigned int fill = READ_ONCE(st->len);

	mutex_lock(&st->lock);
	st->worker_ticks++;
	st->worker_version = version;
	if (fill > st->peak_fill)
		st->peak_fill = fill;
	mutex_unlock(&st->lock);
}

/* demo_main.c, exported */
bool drvproxy_demo_present(void);

#endif /* _DRVPROXY_DEMO_INTERNAL_H */
