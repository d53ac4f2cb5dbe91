// SPDX-License-Identifier: GPL-2.0
/*
 * util_kunit.c - helpers shared by drvproxy's KUnit suites (no tests here)
 *
 * See drvproxy_kunit.h for the rules the suites follow.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "drvproxy_kunit.h"

/**
 * dpx_host_init_drv() - register a driver object the test allocated
 * @test: the test
 * @h: the host to fill in
 * @drv: from drvproxy_driver_alloc(), its major functions set; the host
 *	owns it from here (dpx_host_exit() frees it)
 * @with_ext: also create its proxy extension (binds this module's V2
 *	endpoints to it)
 *
 * Asserts on failure.  Undo with dpx_host_exit() from the suite's exit.
 */
void dpx_host_init_drv(struct kunit *test, struct dpx_host *h, struct drvproxy_driver *drv,
		       bool with_ext)
{
	h->test = test;
	h->layers = kunit_kcalloc(test, DPX_MAX_LAYERS, sizeof(*h->layers), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h->layers);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	h->drv = drv;
	KUNIT_ASSERT_EQ(test, drvproxy_driver_register(drv), 0);
	if (with_ext) {
		KUNIT_ASSERT_EQ(test, drvproxy_create_extension(drv, 0, &h->ext), 0);
		KUNIT_ASSERT_NOT_NULL(test, h->ext);
	}
}

/**
 * dpx_host_init() - register a host driver object for a test
 * @test: the test
 * @h: the host to fill in
 * @name: driver name
 * @with_ext: also create its proxy extension
 *
 * dpx_host_init_drv() for a fresh driver object without major functions.
 */
void dpx_host_init(struct kunit *test, struct dpx_host *h, const char *name,
		   bool with_ext)
{
	dpx_host_init_drv(test, h, drvproxy_driver_alloc(name), with_ext);
}

/**
 * dpx_host_unregister() - unregister the host's driver object now
 * @h: the host
 *
 * Frees its extension (drvproxy does) and stops its workers.  Every layer
 * must have been reverted.
 */
void dpx_host_unregister(struct dpx_host *h)
{
	if (h->drv)
		drvproxy_driver_unregister(h->drv);
	h->ext = NULL;
}

/**
 * dpx_host_exit() - revert every layer, unregister and free everything
 * @h: the host; may be partly initialised or all zero
 */
void dpx_host_exit(struct dpx_host *h)
{
	unsigned int i;

	/* Top of the stack first; layers not applied give -ENOENT. */
	for (i = h->nr_layers; i-- > 0;)
		drvproxy_layer_revert(h->layers[i]);
	dpx_host_unregister(h);
	drvproxy_driver_free(h->drv);
	h->drv = NULL;
	/*
	 * The extension is gone, so no draining list holds a layer any more,
	 * and every layer's code has drained: none may still have its
	 * extension (it would stay on drvproxy's list of bound layers).
	 */
	for (i = 0; i < h->nr_layers; i++) {
		KUNIT_EXPECT_PTR_EQ(h->test, h->layers[i]->ext, NULL);
		kfree(h->layers[i]);
	}
	h->nr_layers = 0;
}

/**
 * dpx_layer_new() - a fresh layer targeting the host's driver
 * @h: the host
 * @mode: &enum drvproxy_mode
 * @repl: replacement list
 * @nr: number of entries in @repl
 *
 * Return: the layer, zeroed but for target, owner, mode and replacements;
 * reverted and freed by dpx_host_exit().  Asserts on failure.
 */
struct drvproxy_layer *dpx_layer_new(struct dpx_host *h, enum drvproxy_mode mode,
				     const struct drvproxy_replacement *const *repl,
				     unsigned int nr)
{
	struct drvproxy_layer *l;

	KUNIT_ASSERT_LT(h->test, h->nr_layers, DPX_MAX_LAYERS);
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(h->test, l);
	h->layers[h->nr_layers++] = l;
	l->target = h->drv->name;
	l->owner = THIS_MODULE;
	l->mode = mode;
	l->replacements = repl;
	l->nr_replacements = nr;
	return l;
}

/**
 * dpx_register_one() - V1-register one endpoint, no callback
 * @ext: the extension
 * @id: the id
 * @desc: DRVPROXY_DESC() of the endpoint
 *
 * Return: what drvproxy_register_endpoints() returned.
 */
int dpx_register_one(struct drvproxy_extension *ext, u32 id,
		     struct drvproxy_endpoint_desc *desc)
{
	struct drvproxy_endpoint_info info = { .id = id, .endpoint = desc };

	return drvproxy_register_endpoints(ext, &info, 1, NULL, NULL);
}

static struct drvproxy_endpoint_stats dpx_stats(struct drvproxy_extension *ext, u32 id)
{
	struct drvproxy_endpoint_stats st = {
		.calls = U64_MAX, .in_flight = U64_MAX, .swaps = U64_MAX,
	};

	if (drvproxy_endpoint_stats(ext, id, &st)) {
		st.calls = U64_MAX;
		st.in_flight = U64_MAX;
		st.swaps = U64_MAX;
	}
	return st;
}

/* The stats counters of one endpoint; U64_MAX when they cannot be read. */
u64 dpx_calls(struct drvproxy_extension *ext, u32 id)
{
	return dpx_stats(ext, id).calls;
}

u64 dpx_in_flight(struct drvproxy_extension *ext, u32 id)
{
	return dpx_stats(ext, id).in_flight;
}

u64 dpx_swaps(struct drvproxy_extension *ext, u32 id)
{
	return dpx_stats(ext, id).swaps;
}

/* Put drvproxy's feature switches back to their defaults (a kunit action). */
void dpx_restore_switches(void *unused)
{
	drvproxy_test_set_enabled(true);
	drvproxy_test_set_exclude("");
}

/**
 * dpx_add_restore_switches() - restore the feature switches when the test ends
 * @test: the test
 */
void dpx_add_restore_switches(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, dpx_restore_switches,
							NULL), 0);
}

/*
 * The thread runs its function once, then stays until dpx_thread_stop(),
 * so kthread_stop() never races with its exit.
 */
static int dpx_thread_main(void *data)
{
	struct dpx_thread *t = data;

	t->result = t->fn(t->arg);
	complete(&t->done);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/**
 * dpx_thread_start() - run @fn(@arg) once in a new kthread
 * @t: the thread record (zeroed or stopped)
 * @fn: the function; its return value lands in @t->result
 * @arg: its argument
 * @name: thread name
 *
 * Return: 0 or the error of kthread_run().
 */
int dpx_thread_start(struct dpx_thread *t, long (*fn)(void *arg), void *arg,
		     const char *name)
{
	struct task_struct *task;

	init_completion(&t->done);
	t->fn = fn;
	t->arg = arg;
	t->result = LONG_MIN;
	task = kthread_run(dpx_thread_main, t, "%s", name);
	if (IS_ERR(task))
		return PTR_ERR(task);
	t->task = task;
	return 0;
}

/* Wait at most @ms for the thread's function to return. */
bool dpx_thread_wait(struct dpx_thread *t, unsigned int ms)
{
	if (!t->task)
		return false;
	return wait_for_completion_timeout(&t->done, msecs_to_jiffies(ms)) > 0;
}

/* True when the thread's function has returned. */
bool dpx_thread_done(struct dpx_thread *t)
{
	return t->task && completion_done(&t->done);
}

/**
 * dpx_thread_sleeps() - wait until the thread sleeps in @state
 * @t: the thread
 * @state: TASK_INTERRUPTIBLE or TASK_UNINTERRUPTIBLE
 * @ms: how long to wait at most
 *
 * Return: true when the thread was seen in @state before its function
 * returned.
 */
bool dpx_thread_sleeps(struct dpx_thread *t, unsigned int state, unsigned int ms)
{
	if (!t->task)
		return false;
	return DPX_POLL(!completion_done(&t->done) &&
			(READ_ONCE(t->task->__state) & state), ms) &&
	       !completion_done(&t->done);
}

/**
 * dpx_thread_stop() - stop the thread
 * @t: the thread record; may never have been started
 *
 * Whatever the thread's function waits for must have been released.
 */
void dpx_thread_stop(struct dpx_thread *t)
{
	if (!t->task)
		return;
	kthread_stop(t->task);
	t->task = NULL;
}

/**
 * dpx_threads_named() - how many tasks are called @name now
 * @name: a task name (truncated to TASK_COMM_LEN - 1, as the comm is)
 *
 * A kthread has its name from the moment kthread_create() returns until it
 * is reaped, so "no thread of that name" right after a call that must not
 * have started one is a claim that needs no waiting.
 *
 * Return: the number of tasks whose comm is @name.
 */
unsigned int dpx_threads_named(const char *name)
{
	struct task_struct *p;
	unsigned int n = 0;

	rcu_read_lock();
	for_each_process(p) {
		if (!strncmp(p->comm, name, sizeof(p->comm) - 1))
			n++;
	}
	rcu_read_unlock();
	return n;
}

MODULE_DESCRIPTION("KUnit suites of the drvproxy framework");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
DPX_MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
