/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvproxy_kunit.h - helpers shared by drvproxy's KUnit suites
 *
 * Every suite of drvproxy_kunit.ko runs against the real drvproxy.ko.  The
 * helpers here set up what most suites need: a registered host driver object
 * with its proxy extension (struct dpx_host), companion layers that are
 * reverted and freed when the test ends, and helper kthreads that call
 * endpoints while the test thread swaps them (struct dpx_thread).
 *
 * Rules the suites follow:
 *  - Never assert from a callback, an endpoint body or a helper thread: a
 *    failed KUNIT_ASSERT ends the calling thread, which would leave an
 *    extension's transition lock held.  They record what they saw; the test
 *    thread asserts.
 *  - Teardown order: release what blocks helper threads, stop the threads,
 *    revert layers, unregister the driver, free the layers (drvproxy keeps a
 *    reverted layer on its draining list until its code drained).
 *  - V1 ids on a driver's extension start at 100: ids below are the V2
 *    endpoints of this module (see extension_kunit.c).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_KUNIT_H
#define _DRVPROXY_KUNIT_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sched.h>

#include <drvproxy.h>

#include "../module/drvproxy/compat.h"

/* Most layers one test may create. */
#define DPX_MAX_LAYERS		256

/* What a V2 endpoint adds to its result when it ran through a table. */
#define DPX_V2_BOUND		1000

/* The V2 endpoints of this module, in name order, and how many there are. */
#define DPX_V2_NR		3
extern const char *const dpx_v2_names[DPX_V2_NR];

/* dpx_v2_bravo() lives in lookup_kunit.c; the other files reach it here. */
extern int (*const dpx_kunit_v2_bravo)(int x);

/**
 * struct dpx_host - a registered host driver object for one test
 * @test: the test
 * @drv: the driver object
 * @ext: its proxy extension, or NULL
 * @layers: every layer created with dpx_layer_new(), in creation order
 * @nr_layers: number of @layers
 */
struct dpx_host {
	struct kunit *test;
	struct drvproxy_driver *drv;
	struct drvproxy_extension *ext;
	struct drvproxy_layer **layers;
	unsigned int nr_layers;
};

void dpx_host_init_drv(struct kunit *test, struct dpx_host *h, struct drvproxy_driver *drv,
		       bool with_ext);
void dpx_host_init(struct kunit *test, struct dpx_host *h, const char *name,
		   bool with_ext);
void dpx_host_unregister(struct dpx_host *h);
void dpx_host_exit(struct dpx_host *h);
struct drvproxy_layer *dpx_layer_new(struct dpx_host *h, enum drvproxy_mode mode,
				     const struct drvproxy_replacement *const *repl,
				     unsigned int nr);

int dpx_register_one(struct drvproxy_extension *ext, u32 id,
		     struct drvproxy_endpoint_desc *desc);
u64 dpx_calls(struct drvproxy_extension *ext, u32 id);
u64 dpx_in_flight(struct drvproxy_extension *ext, u32 id);
u64 dpx_swaps(struct drvproxy_extension *ext, u32 id);

void dpx_restore_switches(void *unused);
void dpx_add_restore_switches(struct kunit *test);

/**
 * struct dpx_thread - a helper kthread running one function once
 * @task: the thread, NULL when not running
 * @done: completed when @fn returned
 * @fn: the function
 * @arg: its argument
 * @result: what @fn returned (LONG_MIN until then)
 */
struct dpx_thread {
	struct task_struct *task;
	struct completion done;
	long (*fn)(void *arg);
	void *arg;
	long result;
};

int dpx_thread_start(struct dpx_thread *t, long (*fn)(void *arg), void *arg,
		     const char *name);
bool dpx_thread_wait(struct dpx_thread *t, unsigned int ms);
bool dpx_thread_done(struct dpx_thread *t);
void dpx_thread_stop(struct dpx_thread *t);
bool dpx_thread_sleeps(struct dpx_thread *t, unsigned int state, unsigned int ms);
unsigned int dpx_threads_named(const char *name);

/*
 * DPX_POLL() - wait until @cond is true, at most @ms milliseconds
 * Return: the final value of @cond.
 */
#define DPX_POLL(cond, ms)							\
({										\
	unsigned long __dpx_end = jiffies + msecs_to_jiffies(ms);		\
	bool __dpx_ok;								\
										\
	while (!(__dpx_ok = (cond)) && time_before(jiffies, __dpx_end))	\
		usleep_range(500, 1000);					\
	__dpx_ok;								\
})

#endif /* _DRVPROXY_KUNIT_H */
