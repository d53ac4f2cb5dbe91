// SPDX-License-Identifier: GPL-2.0
/*
 * worker_kunit.c - KUnit suite drvproxy_worker: hot-swappable worker threads
 *
 * Covers drvproxy_create_worker() / drvproxy_stop_worker() and the events:
 * the routine (an endpoint) runs when the events are signalled (WaitAny /
 * WaitAll / timeout), a layer that swaps the routine takes effect at the
 * next wake-up, returning false ends the thread, bad arguments and a
 * disabled drvproxy are refused, the start context is copied, and
 * unregistering the driver stops its workers.  Windows DriverProxy
 * behaviours (windows-driverproxy.md §2):
 *   17 creating a worker from a callback of the same extension: -EDEADLK
 *   18 INVALID_PARAMETER (-EINVAL) for a NULL routine or a bad event count,
 *      NOT_SUPPORTED (-EOPNOTSUPP) when off; the start context is copied
 *   19 wait on Events[0..EventCount) (any/all, optional timeout), call the
 *      routine with (Context, status); TRUE waits again, FALSE ends the
 *      thread; a swap changes the code run at the next wake-up
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "drvproxy_kunit.h"

#define WK_DRV		"dpx_kunit_worker"
#define WK_ROUTINE	130
#define WK_NEVENTS	3
/* The name of a worker that must not be created (at most 15 characters). */
#define WK_BAD_NAME	"dpx-kunit-bad"
#define WK_REENTER_NAME	"dpx-kunit-reent"

enum { WK_ORIG, WK_REPL, WK_NR };

struct wk_fixture {
	struct dpx_host host;
	struct drvproxy_extension *other;
	struct drvproxy_event ev[WK_NEVENTS];
	struct drvproxy_worker *worker;
	struct drvproxy_worker *worker2;
	struct completion called;
	atomic_t calls[WK_NR];
	long last_status;
	void *last_context;
	bool keep_going;
	struct task_struct *task;
	int reenter_ret;
	/* wk_satisfied_hook() */
	const char *hold_name;
	struct drvproxy_event *hold_ev;
	atomic_t satisfied;
	bool other_settled;
};

static struct wk_fixture *wk_cur;	/* for wk_satisfied_hook() */

DRVPROXY_ENDPOINT_MANUAL(bool, dpx_wk_routine, void *, context, long, status)
{
	struct wk_fixture *f = context;

	WRITE_ONCE(f->last_status, status);
	WRITE_ONCE(f->last_context, context);
	if (!f->task) {
		get_task_struct(current);
		f->task = current;
	}
	atomic_inc(&f->calls[WK_ORIG]);
	complete(&f->called);
	return READ_ONCE(f->keep_going);
}

DRVPROXY_REPLACEMENT_MANUAL(bool, dpx_wk_routine, dpx_wk_routine_l1, void *, context,
			    long, status)
{
	struct wk_fixture *f = context;

	WRITE_ONCE(f->last_status, status);
	atomic_inc(&f->calls[WK_REPL]);
	complete(&f->called);
	return READ_ONCE(f->keep_going);
}

static const struct drvproxy_replacement *const wk_repls[] = {
	DRVPROXY_REPL(dpx_wk_routine_l1),
};

/* Registered with another extension only. */
DRVPROXY_ENDPOINT_MANUAL(bool, dpx_wk_foreign, void *, context, long, status)
{
	return false;
}

/* Has the routine's prototype but is no endpoint. */
static bool dpx_wk_plain(void *context, long status)
{
	return false;
}

static int wk_init(struct kunit *test)
{
	struct wk_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	wk_cur = f;
	init_completion(&f->called);
	f->keep_going = true;
	for (i = 0; i < WK_NEVENTS; i++)
		drvproxy_event_init(&f->ev[i], true);
	dpx_add_restore_switches(test);
	dpx_host_init(test, &f->host, WK_DRV, true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, WK_ROUTINE,
					       DRVPROXY_DESC(dpx_wk_routine)), 0);
	return 0;
}

static void wk_exit(struct kunit *test)
{
	struct wk_fixture *f = test->priv;

	dpx_restore_switches(NULL);
	if (f->host.ext) {
		drvproxy_stop_worker(f->worker);
		drvproxy_stop_worker(f->worker2);
	}
	dpx_host_exit(&f->host);
	drvproxy_test_set_hook(NULL);
	wk_cur = NULL;
	drvproxy_destroy_extension(f->other);
	if (f->task)
		put_task_struct(f->task);
}

static void wk_start(struct wk_fixture *f, struct drvproxy_worker_start *s,
		     unsigned int nevents)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->routine = dpx_wk_routine;
	s->context = f;
	s->name = "dpx-kunit-worker";
	s->wait_type = DRVPROXY_WAIT_ANY;
	s->event_count = nevents;
	for (i = 0; i < nevents; i++)
		s->events[i] = &f->ev[i];
}

/*
 * Is a worker asleep waiting on @ev?  The worker puts itself on the wait
 * queues of its events while it waits, and only then; asleep means
 * TASK_INTERRUPTIBLE and not on a CPU, i.e. past its check of the events.
 * A positive signal for the claims "nothing ran without the events", which
 * a sleep would only make plausible.
 */
static unsigned int wk_asleep_count(struct drvproxy_event *ev)
{
	struct wait_queue_entry *e;
	unsigned int asleep = 0;
	unsigned long flags;

	/* A waiter leaves the queue under this lock: its task is alive here. */
	spin_lock_irqsave(&ev->wq.lock, flags);
	list_for_each_entry(e, &ev->wq.head, entry) {
		struct task_struct *t = e->private;

		if (t && (READ_ONCE(t->__state) & TASK_INTERRUPTIBLE) && !READ_ONCE(t->on_cpu))
			asleep++;
	}
	spin_unlock_irqrestore(&ev->wq.lock, flags);
	return asleep;
}

static bool wk_asleep_on(struct drvproxy_event *ev)
{
	return wk_asleep_count(ev) > 0;
}

/* Wait for the next routine call; true when it came. */
static bool wk_wait_call(struct wk_fixture *f)
{
	return wait_for_completion_timeout(&f->called, 5 * HZ) > 0;
}

/* Signal @ev and expect exactly one more call of implementation @impl. */
static void wk_kick(struct kunit *test, struct wk_fixture *f, unsigned int ev, int impl,
		    int expected_calls)
{
	drvproxy_event_set(&f->ev[ev]);
	KUNIT_ASSERT_TRUE(test, wk_wait_call(f));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[impl]), expected_calls);
	KUNIT_EXPECT_EQ(test, READ_ONCE(f->last_status), (long)ev);
}

/*
 * The worker waits without calling its routine until the event is set, then
 * calls it once per signal with the event's index and the context.
 */
static void worker_runs_routine_when_event_signalled(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	wk_start(f, &s, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	KUNIT_ASSERT_NOT_NULL(test, f->worker);
	/* It got as far as waiting: only now is "not called yet" a claim. */
	KUNIT_EXPECT_TRUE(test, DPX_POLL(wk_asleep_on(&f->ev[0]), 5000));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 0);

	wk_kick(test, f, 0, WK_ORIG, 1);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(f->last_context), (void *)f);
	wk_kick(test, f, 0, WK_ORIG, 2);
	/* Calls go through the wrapper: the endpoint counts them. */
	KUNIT_EXPECT_EQ(test, dpx_calls(f->host.ext, WK_ROUTINE), 2ULL);
}

/* WaitAny passes the index of the signalled event. */
static void worker_wait_any_reports_index_of_signalled_event(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	wk_start(f, &s, WK_NEVENTS);
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	wk_kick(test, f, 2, WK_ORIG, 1);
	wk_kick(test, f, 1, WK_ORIG, 2);
}

/* WaitAll runs the routine only once every event is signalled, with status 0. */
static void worker_wait_all_runs_only_when_all_signalled(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	wk_start(f, &s, 2);
	s.wait_type = DRVPROXY_WAIT_ALL;
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(wk_asleep_on(&f->ev[1]), 5000));
	/*
	 * The set wakes the worker (it is no longer asleep when the set
	 * returns); asleep again means it saw ev[1] set and ev[0] not, and
	 * went back to waiting instead of calling the routine.
	 */
	drvproxy_event_set(&f->ev[1]);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(wk_asleep_on(&f->ev[1]), 5000));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 0);
	/* Still set: WaitAll consumes the events only when it is satisfied. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->ev[1].signalled));
	drvproxy_event_set(&f->ev[0]);
	KUNIT_ASSERT_TRUE(test, wk_wait_call(f));
	KUNIT_EXPECT_EQ(test, READ_ONCE(f->last_status), 0L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 1);
}

/*
 * At DRVPROXY_TP_WORKER_SATISFIED: hold the first worker satisfied until
 * the other one, woken by the same set, has tested the events too: it is
 * asleep on f->hold_ev again (the held worker has left that queue), or it
 * was satisfied as well.
 */
static void wk_satisfied_hook(enum drvproxy_test_point tp)
{
	struct wk_fixture *f = wk_cur;
	const char *hold = READ_ONCE(f->hold_name);

	/* The worker named f->hold_name tests only after another was satisfied. */
	if (tp == DRVPROXY_TP_WORKER_TESTING && hold && !strcmp(current->comm, hold))
		DPX_POLL(atomic_read(&f->satisfied) > 0, 5000);
	if (tp != DRVPROXY_TP_WORKER_SATISFIED || atomic_inc_return(&f->satisfied) > 1)
		return;
	WRITE_ONCE(f->other_settled,
		   DPX_POLL(wk_asleep_count(f->hold_ev) == 1 || atomic_read(&f->satisfied) > 1,
			    5000));
}

/* Start @s as the second worker, once both wait asleep on @ev. */
static void wk_start_second(struct kunit *test, struct wk_fixture *f,
			    struct drvproxy_worker_start *s, struct drvproxy_event *ev)
{
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, s, &f->worker2), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(wk_asleep_count(ev) == 2, 5000));
	f->hold_ev = ev;
}

/*
 * One set of an auto-reset event satisfies one of two workers waiting on
 * it (KeSetEvent on a synchronization event releases one waiter): the
 * other, woken too, finds it consumed and waits again, even when it tests
 * the event while the first is between its own test and its routine.
 */
static void one_set_of_auto_reset_event_runs_one_of_two_workers(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	drvproxy_test_set_hook(wk_satisfied_hook);
	wk_start(f, &s, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	wk_start_second(test, f, &s, &f->ev[0]);

	drvproxy_event_set(&f->ev[0]);
	KUNIT_ASSERT_TRUE(test, wk_wait_call(f));
	KUNIT_EXPECT_TRUE(test, DPX_POLL(wk_asleep_count(&f->ev[0]) == 2, 5000));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->other_settled));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->satisfied), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 1);
	KUNIT_EXPECT_FALSE(test, drvproxy_event_read_state(&f->ev[0]));
}

#define WK_ALL_NAME	"dpx-kunit-wall"
#define WK_ANY_NAME	"dpx-kunit-wany"

/*
 * One round of wait_all_and_wait_any_share_one_set_event(): the worker
 * named @held tests the events only after the other one was satisfied.
 */
static void wk_share_round(struct kunit *test, struct wk_fixture *f, const char *held,
			   int round)
{
	/* The WaitAll wakes, finds ev[1] not set and waits again. */
	drvproxy_event_set(&f->ev[0]);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(wk_asleep_count(&f->ev[1]) == 2, 5000));
	atomic_set(&f->satisfied, 0);
	WRITE_ONCE(f->other_settled, false);
	WRITE_ONCE(f->hold_name, held);

	drvproxy_event_set(&f->ev[1]);
	KUNIT_ASSERT_TRUE(test, wk_wait_call(f));
	KUNIT_ASSERT_TRUE(test, DPX_POLL(wk_asleep_count(&f->ev[1]) == 2, 5000));
	WRITE_ONCE(f->hold_name, NULL);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->other_settled));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->satisfied), 1);
	KUNIT_ASSERT_EQ(test, atomic_read(&f->calls[WK_ORIG]), round);
	KUNIT_EXPECT_FALSE(test, drvproxy_event_read_state(&f->ev[1]));
}

/*
 * WaitAll takes its events at once or not at all: a WaitAll on ev[0] and
 * ev[1] and a WaitAny on ev[2] and ev[1] (status 1 for ev[1]) compete for
 * one set of ev[1], and exactly one runs.  When the WaitAll tests first
 * it takes ev[0] too, and the WaitAny finds ev[1] taken; when the WaitAny
 * tests first, the WaitAll finds ev[1] taken and leaves ev[0] set.
 */
static void wait_all_and_wait_any_share_one_set_event(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	drvproxy_test_set_hook(wk_satisfied_hook);
	wk_start(f, &s, 2);
	s.wait_type = DRVPROXY_WAIT_ALL;
	s.name = WK_ALL_NAME;
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	s.wait_type = DRVPROXY_WAIT_ANY;
	s.name = WK_ANY_NAME;
	s.events[0] = &f->ev[2];
	wk_start_second(test, f, &s, &f->ev[1]);

	wk_share_round(test, f, WK_ANY_NAME, 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(f->last_status), 0L);
	KUNIT_EXPECT_FALSE(test, drvproxy_event_read_state(&f->ev[0]));

	wk_share_round(test, f, WK_ALL_NAME, 2);
	KUNIT_EXPECT_EQ(test, READ_ONCE(f->last_status), 1L);
	KUNIT_EXPECT_TRUE(test, drvproxy_event_read_state(&f->ev[0]));
}

/* With a timeout and no events the routine runs periodically with DRVPROXY_WAIT_TIMEOUT. */
static void worker_timeout_passes_wait_timeout_status(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	wk_start(f, &s, 0);
	s.has_timeout = true;
	s.timeout_ms = 10;
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	KUNIT_ASSERT_TRUE(test, wk_wait_call(f));
	KUNIT_ASSERT_TRUE(test, wk_wait_call(f));
	KUNIT_EXPECT_EQ(test, READ_ONCE(f->last_status), (long)DRVPROXY_WAIT_TIMEOUT);
}

/*
 * A layer that replaces the routine takes effect at the next wake-up of the
 * running worker; reverting it brings the original back, without restarting
 * the thread.
 */
static void worker_runs_new_routine_after_layer_swap(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_layer *l = dpx_layer_new(&f->host, DRVPROXY_MODE_LIVE, wk_repls,
						 ARRAY_SIZE(wk_repls));
	struct drvproxy_worker_start s;
	struct task_struct *task;

	wk_start(f, &s, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	wk_kick(test, f, 0, WK_ORIG, 1);
	task = f->task;

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	wk_kick(test, f, 0, WK_REPL, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	wk_kick(test, f, 0, WK_ORIG, 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_REPL]), 1);
	/* Still the same thread. */
	KUNIT_EXPECT_PTR_EQ(test, f->task, task);
}

/* A routine that returns false ends the thread: later signals run nothing. */
static void worker_routine_returning_false_ends_thread(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	f->keep_going = false;
	wk_start(f, &s, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	wk_kick(test, f, 0, WK_ORIG, 1);
	/*
	 * Positive signal: the thread has parked for good (asleep, and no
	 * longer waiting on its event).  A worker that went on would be back
	 * on the event's queue.
	 */
	KUNIT_ASSERT_NOT_NULL(test, f->task);
	KUNIT_EXPECT_TRUE(test, DPX_POLL((READ_ONCE(f->task->__state) & TASK_INTERRUPTIBLE) &&
					 !READ_ONCE(f->task->on_cpu), 5000));
	/* Unlocked peek: the worker is asleep, its queue membership is settled. */
	KUNIT_EXPECT_FALSE(test, waitqueue_active(&f->ev[0].wq));
	drvproxy_event_set(&f->ev[0]);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 1);
	/* Nobody consumed the (auto-reset) event. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->ev[0].signalled));
	/* Stopping an ended worker still works. */
	drvproxy_stop_worker(f->worker);
	f->worker = NULL;
}

/*
 * Bad start contexts are -EINVAL: NULL extension or start, NULL routine, a
 * routine that is no endpoint or an endpoint of another extension, more
 * than DRVPROXY_WORKER_MAX_EVENTS events, no events and no timeout, a NULL
 * event, an unknown wait type.  *out is NULL afterwards.
 */
static void create_worker_rejects_bad_arguments_with_einval(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_extension *ext = f->host.ext;
	struct drvproxy_worker *w = (void *)test;
	struct drvproxy_worker_start s;

	/* No thread of this name may appear (see the end). */
	KUNIT_ASSERT_EQ(test, dpx_threads_named(WK_BAD_NAME), 0U);
	wk_start(f, &s, 1);
	s.name = WK_BAD_NAME;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(NULL, &s, &w), -EINVAL);
	KUNIT_EXPECT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, NULL, &w), -EINVAL);

	s.routine = NULL;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);

	s.routine = dpx_wk_plain;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);

	KUNIT_ASSERT_EQ(test, drvproxy_create_extension(NULL, 0, &f->other), 0);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->other, 1, DRVPROXY_DESC(dpx_wk_foreign)), 0);
	s.routine = dpx_wk_foreign;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);

	wk_start(f, &s, 1);
	s.name = WK_BAD_NAME;
	s.event_count = DRVPROXY_WORKER_MAX_EVENTS + 1;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);

	wk_start(f, &s, 0);
	s.name = WK_BAD_NAME;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);

	wk_start(f, &s, 2);
	s.name = WK_BAD_NAME;
	s.events[1] = NULL;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);

	wk_start(f, &s, 1);
	s.name = WK_BAD_NAME;
	s.wait_type = 5;
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(ext, &s, &w), -EINVAL);
	KUNIT_EXPECT_NULL(test, w);

	/*
	 * None of them started a thread: a created kthread has its name when
	 * drvproxy_create_worker() returns, so no waiting is needed.  Then the
	 * control: a valid start under the same name is seen.
	 */
	KUNIT_EXPECT_EQ(test, dpx_threads_named(WK_BAD_NAME), 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 0);
	wk_start(f, &s, 1);
	s.name = WK_BAD_NAME;
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(ext, &s, &f->worker), 0);
	KUNIT_EXPECT_EQ(test, dpx_threads_named(WK_BAD_NAME), 1U);
}

/* With drvproxy disabled a valid worker is refused with -EOPNOTSUPP. */
static void create_worker_when_disabled_returns_eopnotsupp(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	wk_start(f, &s, 1);
	drvproxy_test_set_enabled(false);
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker),
			-EOPNOTSUPP);
	KUNIT_EXPECT_NULL(test, f->worker);
	drvproxy_test_set_enabled(true);
	KUNIT_EXPECT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
}

/* The start context is copied: the caller may overwrite and free it at once. */
static void create_worker_copies_start_context(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start *s = kzalloc(sizeof(*s), GFP_KERNEL);
	char *name = kstrdup("dpx-kunit-copied", GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, s);
	wk_start(f, s, 1);
	s->name = name;
	ret = drvproxy_create_worker(f->host.ext, s, &f->worker);
	memset(s, 0x6b, sizeof(*s));
	kfree(s);
	if (name)
		memset(name, 0, strlen(name));
	kfree(name);
	KUNIT_ASSERT_EQ(test, ret, 0);

	wk_kick(test, f, 0, WK_ORIG, 1);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(f->last_context), (void *)f);
	KUNIT_EXPECT_STREQ(test, f->task->comm, "dpx-kunit-copie");
}

/*
 * Unregistering the driver stops its workers: the thread has exited when
 * unregister returns, and later signals run nothing.
 */
static void driver_unregister_stops_its_workers(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_worker_start s;

	wk_start(f, &s, 1);
	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, NULL), 0);
	wk_kick(test, f, 0, WK_ORIG, 1);
	KUNIT_ASSERT_NOT_NULL(test, f->task);

	dpx_host_unregister(&f->host);
	/* Exiting, and no longer waiting on the event: nothing can run it. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->task->flags) & PF_EXITING);
	/* Unlocked peek: kthread_stop() returned, the worker left its queues. */
	KUNIT_EXPECT_FALSE(test, waitqueue_active(&f->ev[0].wq));
	drvproxy_event_set(&f->ev[0]);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 1);
	/* Nobody consumed the (auto-reset) event. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->ev[0].signalled));
}

static int wk_callback(enum drvproxy_phase phase, void *context)
{
	struct wk_fixture *f = context;
	struct drvproxy_worker_start s;

	if (phase == DRVPROXY_PHASE_PRE) {
		wk_start(f, &s, 1);
		s.name = WK_REENTER_NAME;
		f->reenter_ret = drvproxy_create_worker(f->host.ext, &s, NULL);
	}
	return 0;
}

/* Creating a worker from a callback of the same extension is -EDEADLK. */
static void create_worker_from_callback_returns_edeadlk(struct kunit *test)
{
	struct wk_fixture *f = test->priv;
	struct drvproxy_endpoint_info info = {
		.id = WK_ROUTINE + 1, .endpoint = DRVPROXY_DESC(dpx_wk_foreign),
	};

	f->reenter_ret = 1;
	KUNIT_EXPECT_EQ(test, drvproxy_register_endpoints(f->host.ext, &info, 1,
							  wk_callback, f), 0);
	KUNIT_EXPECT_EQ(test, f->reenter_ret, -EDEADLK);
	/* It started no thread (named when created: no waiting needed). */
	KUNIT_EXPECT_EQ(test, dpx_threads_named(WK_REENTER_NAME), 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->calls[WK_ORIG]), 0);
}

static struct kunit_case drvproxy_worker_cases[] = {
	KUNIT_CASE(worker_runs_routine_when_event_signalled),
	KUNIT_CASE(worker_wait_any_reports_index_of_signalled_event),
	KUNIT_CASE(worker_wait_all_runs_only_when_all_signalled),
	KUNIT_CASE(one_set_of_auto_reset_event_runs_one_of_two_workers),
	KUNIT_CASE(wait_all_and_wait_any_share_one_set_event),
	KUNIT_CASE(worker_timeout_passes_wait_timeout_status),
	KUNIT_CASE(worker_runs_new_routine_after_layer_swap),
	KUNIT_CASE(worker_routine_returning_false_ends_thread),
	KUNIT_CASE(create_worker_rejects_bad_arguments_with_einval),
	KUNIT_CASE(create_worker_when_disabled_returns_eopnotsupp),
	KUNIT_CASE(create_worker_copies_start_context),
	KUNIT_CASE(driver_unregister_stops_its_workers),
	KUNIT_CASE(create_worker_from_callback_returns_edeadlk),
	{}
};

static struct kunit_suite drvproxy_worker_suite = {
	.name = "drvproxy_worker",
	.init = wk_init,
	.exit = wk_exit,
	.test_cases = drvproxy_worker_cases,
};

kunit_test_suites(&drvproxy_worker_suite);
