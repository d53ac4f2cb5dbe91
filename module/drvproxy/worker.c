// SPDX-License-Identifier: GPL-2.0
/*
 * worker.c - hot-swappable worker threads and the events they wait on
 *
 * A worker is a kthread that waits *outside* the proxy (so a swap never has
 * to wait for it), then calls its routine through the routine's wrapper.
 * A swap therefore takes effect at the next wake-up, without stopping the
 * thread.  The routine returns true to wait again, false to end the thread.
 *
 * Locking: an event's state is under its wait queue's lock; the extension's
 * list of workers is under ext->lock.  A worker's start context is copied at
 * creation.  Workers are stopped before their extension is released.
 *
 * Lifetime: a worker is freed only by drvproxy_stop_worker() or with its
 * extension.  drvproxy_delete_device() halts (stops the thread of) a worker
 * that waits on the device's events but leaves it on the list, so that the
 * driver's pointer to it stays valid; whoever then frees it waits for the
 * halt to finish (halt_done) instead of stopping the thread a second time.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "internal.h"

struct drvproxy_worker {
	struct list_head node;
	struct drvproxy_extension *ext;
	struct task_struct *task;
	struct drvproxy_worker_start start;
	struct wait_queue_entry waits[DRVPROXY_WORKER_MAX_EVENTS];
	/* start.events in lock order, for WaitAll (worker_take_all()) */
	struct drvproxy_event *locked[DRVPROXY_WORKER_MAX_EVENTS];
	unsigned int nr_locked;
	bool halted;			/* under ext->lock: its thread is another's to stop */
	struct completion halt_done;	/* that thread has been stopped */
};

/**
 * drvproxy_event_init() - initialise an event, not signalled
 * @ev: the event
 * @auto_reset: true for a synchronization event (a worker's wait consumes
 *	it: one set satisfies one waiting worker), false for a notification
 *	event (stays set until reset; one set satisfies every waiting worker)
 */
void drvproxy_event_init(struct drvproxy_event *ev, bool auto_reset)
{
	init_waitqueue_head(&ev->wq);
	ev->signalled = false;
	ev->auto_reset = auto_reset;
}
EXPORT_SYMBOL_GPL(drvproxy_event_init);

/**
 * drvproxy_event_set() - signal an event and wake its waiters
 * @ev: the event
 *
 * Context: wherever wake_up() may be called: process and softirq context,
 * and the hard IRQ of an interrupt handler or hrtimer that PREEMPT_RT runs
 * in a thread (request_irq() without IRQF_NO_THREAD, an hrtimer not in
 * HRTIMER_MODE_HARD).  Not from a context that stays hard on PREEMPT_RT
 * (IRQF_NO_THREAD, HRTIMER_MODE_HARD, a raw_spinlock_t held): the wait
 * queue's lock is a spinlock_t, which sleeps there, and lockdep with
 * PROVE_RAW_LOCK_NESTING reports such a call on every configuration.
 */
void drvproxy_event_set(struct drvproxy_event *ev)
{
	unsigned long flags;

	spin_lock_irqsave(&ev->wq.lock, flags);
	ev->signalled = true;
	wake_up_locked(&ev->wq);
	spin_unlock_irqrestore(&ev->wq.lock, flags);
}
EXPORT_SYMBOL_GPL(drvproxy_event_set);

/**
 * drvproxy_event_reset() - clear an event
 * @ev: the event
 *
 * Context: any context.
 */
void drvproxy_event_reset(struct drvproxy_event *ev)
{
	unsigned long flags;

	spin_lock_irqsave(&ev->wq.lock, flags);
	ev->signalled = false;
	spin_unlock_irqrestore(&ev->wq.lock, flags);
}
EXPORT_SYMBOL_GPL(drvproxy_event_reset);

/**
 * drvproxy_event_read_state() - is an event signalled (KeReadStateEvent)
 * @ev: the event
 *
 * Context: any context.
 * Return: true when @ev is signalled; reading does not consume it.
 */
bool drvproxy_event_read_state(struct drvproxy_event *ev)
{
	unsigned long flags;
	bool set;

	spin_lock_irqsave(&ev->wq.lock, flags);
	set = ev->signalled;
	spin_unlock_irqrestore(&ev->wq.lock, flags);
	return set;
}
EXPORT_SYMBOL_GPL(drvproxy_event_read_state);

/*
 * Satisfying a wait tests its events and consumes the auto-reset ones in
 * one critical section of their locks: two workers waiting on one
 * auto-reset event must not both be satisfied by one set (the second
 * would otherwise see it between the first one's test and its consume).
 */

/* WaitAny: the first signalled event, in the order of @s->events. */
static long worker_take_any(struct drvproxy_worker_start *s)
{
	unsigned long flags;
	unsigned int i;
	bool set;

	for (i = 0; i < s->event_count; i++) {
		struct drvproxy_event *ev = s->events[i];

		spin_lock_irqsave(&ev->wq.lock, flags);
		set = ev->signalled;
		if (set && ev->auto_reset)
			ev->signalled = false;
		spin_unlock_irqrestore(&ev->wq.lock, flags);
		if (set)
			return i;
	}
	return -1;
}

/*
 * WaitAll: every event at once, or none.  The locks are taken in the
 * order of w->locked (by address, each event once), so two such waits on
 * the same events cannot deadlock; they share one lock class, hence the
 * subclasses (DRVPROXY_WORKER_MAX_EVENTS is within MAX_LOCKDEP_SUBCLASSES).
 */
static long worker_take_all(struct drvproxy_worker *w)
{
	struct drvproxy_event **ev = w->locked;
	unsigned int i, n = w->nr_locked;
	unsigned long flags;
	bool all = true;

	spin_lock_irqsave(&ev[0]->wq.lock, flags);
	for (i = 1; i < n; i++) {
		spin_lock_nested(&ev[i]->wq.lock, i);
		__release(&ev[i]->wq.lock);	/* for sparse: held until below */
	}
	for (i = 0; i < n; i++)
		all = all && ev[i]->signalled;
	for (i = 0; all && i < n; i++)
		if (ev[i]->auto_reset)
			ev[i]->signalled = false;
	for (i = n - 1; i > 0; i--) {
		__acquire(&ev[i]->wq.lock);	/* for sparse: taken above */
		spin_unlock(&ev[i]->wq.lock);
	}
	spin_unlock_irqrestore(&ev[0]->wq.lock, flags);
	return all ? 0 : -1;
}

/* The wait status when the wait is satisfied (and consumed), or -1. */
static long worker_take(struct drvproxy_worker *w)
{
	if (!w->start.event_count)
		return -1;
	if (w->start.wait_type == DRVPROXY_WAIT_ANY)
		return worker_take_any(&w->start);
	return worker_take_all(w);
}

static int event_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(struct drvproxy_event * const *)a;
	uintptr_t y = (uintptr_t)*(struct drvproxy_event * const *)b;

	return x < y ? -1 : x > y;
}

/* w->locked: the start context's events by address, each once. */
static void worker_lock_order(struct drvproxy_worker *w)
{
	unsigned int i, n = 0;

	BUILD_BUG_ON(DRVPROXY_WORKER_MAX_EVENTS > MAX_LOCKDEP_SUBCLASSES);
	memcpy(w->locked, w->start.events, sizeof(w->locked));
	sort(w->locked, w->start.event_count, sizeof(w->locked[0]), event_cmp, NULL);
	for (i = 0; i < w->start.event_count; i++)
		if (!n || w->locked[n - 1] != w->locked[i])
			w->locked[n++] = w->locked[i];
	w->nr_locked = n;
}

/* Wait outside the proxy; return the wait status (*@stop set: stop). */
static long worker_wait(struct drvproxy_worker *w, bool *stop)
{
	struct drvproxy_worker_start *s = &w->start;
	long timeout = s->has_timeout ? msecs_to_jiffies(s->timeout_ms) : MAX_SCHEDULE_TIMEOUT;
	long status = -1;
	unsigned int i;

	for (i = 0; i < s->event_count; i++)
		add_wait_queue(&s->events[i]->wq, &w->waits[i]);
	for (;;) {
		drvproxy_test_point(DRVPROXY_TP_WORKER_TESTING);
		set_current_state(TASK_INTERRUPTIBLE);
		*stop = kthread_should_stop();
		if (*stop)
			break;
		status = worker_take(w);
		if (status >= 0)
			break;
		if (!timeout) {
			status = DRVPROXY_WAIT_TIMEOUT;
			break;
		}
		timeout = schedule_timeout(timeout);
		if (!timeout && s->has_timeout) {
			status = worker_take(w);
			if (status < 0)
				status = DRVPROXY_WAIT_TIMEOUT;
			break;
		}
	}
	__set_current_state(TASK_RUNNING);
	for (i = 0; i < s->event_count; i++)
		remove_wait_queue(&s->events[i]->wq, &w->waits[i]);
	if (!*stop)
		drvproxy_test_point(DRVPROXY_TP_WORKER_SATISFIED);
	return status;
}

static int worker_fn(void *data)
{
	struct drvproxy_worker *w = data;
	bool stop = false;

	while (!stop) {
		long status = worker_wait(w, &stop);

		if (stop)
			break;
		/* The routine is a wrapper: the current implementation runs. */
		if (!w->start.routine(w->start.context, status))
			break;
	}
	/* Stay until drvproxy_stop_worker() collects us. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static int worker_check(struct drvproxy_extension *ext,
			const struct drvproxy_worker_start *s)
{
	drvproxy_fn_t wrapper;
	unsigned int i;

	if (!ext || !s || !s->routine) {
		pr_err("create_worker: NULL extension, start context or routine\n");
		return -EINVAL;
	}
	if (s->event_count > DRVPROXY_WORKER_MAX_EVENTS ||
	    (!s->event_count && !s->has_timeout) ||
	    (s->wait_type != DRVPROXY_WAIT_ANY && s->wait_type != DRVPROXY_WAIT_ALL)) {
		pr_err("create_worker: bad event count %u or wait type %d\n",
		       s->event_count, s->wait_type);
		return -EINVAL;
	}
	for (i = 0; i < s->event_count; i++) {
		if (!s->events[i]) {
			pr_err("create_worker: event %u is NULL\n", i);
			return -EINVAL;
		}
	}
	if (__drvproxy_get_wrapper_from_endpoint(ext, (drvproxy_fn_t)s->routine, &wrapper)) {
		pr_err("create_worker: routine %ps is not an endpoint of this extension\n",
		       s->routine);
		return -EINVAL;
	}
	if (!drvproxy_globally_enabled() ||
	    (ext->drv && !drvproxy_enabled_for(ext->drv->name))) {
		pr_err("create_worker: drvproxy is disabled for this driver\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

/**
 * drvproxy_create_worker() - start a hot-swappable worker thread
 * @ext: the extension the routine belongs to
 * @start: start context; copied, the caller may discard it on return
 * @out: receives the worker (for drvproxy_stop_worker()); may be NULL
 *
 * The thread waits on the events (any or all, optionally with a timeout),
 * then calls @start->routine, which must be an endpoint of @ext, with the
 * wait status.  A swap of the routine takes effect at the next wake-up.
 * Workers still running are stopped when the extension is released.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (NULL routine, routine not an endpoint of @ext, bad
 * event count or wait type); -EOPNOTSUPP; -ENOMEM; -ENODEV (extension going
 * away); -EINTR; or the error of kthread_run().
 */
int drvproxy_create_worker(struct drvproxy_extension *ext,
			   const struct drvproxy_worker_start *start,
			   struct drvproxy_worker **out)
{
	struct drvproxy_worker *w;
	unsigned int i;
	int ret;

	if (out)
		*out = NULL;
	ret = worker_check(ext, start);
	if (ret)
		return ret;
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->start = *start;
	w->start.name = NULL;
	w->ext = ext;
	worker_lock_order(w);
	for (i = 0; i < start->event_count; i++)
		init_waitqueue_entry(&w->waits[i], NULL);
	init_completion(&w->halt_done);
	ret = drvproxy_lock_ext(ext);
	if (ret)
		goto err_free;
	if (ext->dying) {
		ret = -ENODEV;
		goto err_unlock;
	}
	w->task = kthread_create(worker_fn, w, "%s", start->name ?: (ext->drv ?
				 ext->drv->name : "drvproxy"));
	if (IS_ERR(w->task)) {
		ret = PTR_ERR(w->task);
		goto err_unlock;
	}
	for (i = 0; i < start->event_count; i++)
		w->waits[i].private = w->task;
	get_task_struct(w->task);
	list_add_tail(&w->node, &ext->workers);
	drvproxy_unlock_ext(ext);
	wake_up_process(w->task);
	if (out)
		*out = w;
	return 0;

err_unlock:
	drvproxy_unlock_ext(ext);
err_free:
	kfree(w);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_create_worker);

/* Free a worker taken off its list; @halted: as it was under ext->lock. */
static void worker_reap(struct drvproxy_worker *w, bool halted)
{
	if (halted)
		wait_for_completion(&w->halt_done);
	else
		kthread_stop(w->task);
	put_task_struct(w->task);
	kfree(w);
}

/**
 * drvproxy_stop_worker() - stop a worker and wait for it
 * @worker: the worker; NULL is ignored
 *
 * Waits for a routine call in progress to return.
 *
 * Context: process context, may sleep; not from the worker's own routine.
 */
void drvproxy_stop_worker(struct drvproxy_worker *worker)
{
	struct drvproxy_extension *ext;
	bool halted;

	if (!worker)
		return;
	ext = worker->ext;
	if (WARN(READ_ONCE(ext->lock_owner) == current,
		 "drvproxy: worker stopped from a callback of its extension\n"))
		return;
	mutex_lock(&ext->lock);
	list_del(&worker->node);
	halted = worker->halted;
	mutex_unlock(&ext->lock);
	worker_reap(worker, halted);
}
EXPORT_SYMBOL_GPL(drvproxy_stop_worker);

/* Stop every worker of an extension that is being released. */
void drvproxy_stop_workers(struct drvproxy_extension *ext)
{
	struct drvproxy_worker *w;

	for (;;) {
		bool halted;

		mutex_lock(&ext->lock);
		w = list_first_entry_or_null(&ext->workers, struct drvproxy_worker, node);
		if (w) {
			list_del(&w->node);
			halted = w->halted;
		}
		mutex_unlock(&ext->lock);
		if (!w)
			return;
		worker_reap(w, halted);
	}
}

static bool worker_waits_in(const struct drvproxy_worker *w, const void *start, size_t size)
{
	unsigned int i;

	for (i = 0; i < w->start.event_count; i++) {
		const void *ev = w->start.events[i];

		if (ev >= start && ev < start + size)
			return true;
	}
	return false;
}

/*
 * Stop the thread of every worker of @ext waiting on an event inside
 * [@start, @start + @size), the state block of device @what being deleted;
 * the worker stays listed (see Lifetime above).
 */
void drvproxy_halt_workers_in(struct drvproxy_extension *ext, const void *start,
			      size_t size, const char *what)
{
	struct drvproxy_worker *w;

	for (;;) {
		bool found = false;

		mutex_lock(&ext->lock);
		list_for_each_entry(w, &ext->workers, node) {
			if (!w->halted && worker_waits_in(w, start, size) &&
			    !WARN_ON_ONCE(w->task == current)) {
				w->halted = true;
				found = true;
				break;
			}
		}
		mutex_unlock(&ext->lock);
		if (!found)
			return;
		pr_warn("worker %s waits on an event of device %s, which is deleted; stopping it\n",
			w->task->comm, what);
		kthread_stop(w->task);
		complete_all(&w->halt_done);
	}
}
