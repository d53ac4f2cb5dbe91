// SPDX-License-Identifier: GPL-2.0
/*
 * transition_kunit.c - KUnit suites for the guarantees of a transition
 *
 *   drvproxy_stall     what a stalled transition holds back and waits for:
 *                      calls left in older tables, nested calls, killed
 *                      waiters, endpoints declared atomic
 *   drvproxy_restart   re-dispatch only for return types that carry an errno
 *   drvproxy_replace   state migration: a failed one changes nothing, a
 *                      migrated layer stays under the layers built on it
 *                      (pinned, or refused while its module is not live),
 *                      its module's exit or going takes it with the
 *                      module's layers above it,
 *                      an atomic replace takes migrated state back through
 *                      the layers it drops
 *   drvproxy_retire    a superseded table outlives every call that may
 *                      still enter it, and no call touches it after; an
 *                      extension outlives the reverts that found it, and a
 *                      going module the calls in its released layer
 *   drvproxy_depth     the stack of layers is bounded, so sysfs shows it whole
 *   drvproxy_context   the documented contexts of the statistics and events
 *
 * Each case registers its own host driver object (V1 ids 100..) and
 * reverts, unregisters and frees everything in the suite's exit.  Endpoint
 * bodies and callbacks only record; the test thread asserts.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/elf.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timer.h>

#include "drvproxy_kunit.h"

#define TR_DRV		"dpx_kunit_transition"
#define TR_OUTER	100
#define TR_INNER	101
#define TR_BLOCK	102
#define TR_ATOMIC	103
#define TR_TINY		104
#define TR_VALUE	105
#define TR_IOCTL	106
#define TR_RELEASE	107
#define TR_SIX		108
#define TR_SELF		109
#define TR_FLOCK	110
#define TR_LOCK		111

struct tr_fixture {
	struct dpx_host host;
	struct completion gate;		/* dpx_tr_block() and dpx_tr_tiny() wait here */
	atomic_t outer_entered;
	atomic_t inner_orig;
	atomic_t inner_repl;
	atomic_t block_entered;
	atomic_t tiny_runs;
	atomic_t atomic_orig;
	atomic_t value_orig;
	atomic_t value_repl;
	int outer_inner_result;
	struct dpx_thread caller;
	struct dpx_thread killed;
	/* STALLED callback records */
	bool kill_when_stalled;
	bool killed_slept;
	bool killed_done;
	long killed_result;
	bool release_when_stalled;
	bool release_done_in_stall;
	atomic_t release_runs;
	long (*unlock_call)(void *arg);	/* unlock_when_stalled: which method */
	bool unlock_when_stalled;
	atomic_t unlock_runs;
	bool atomic_when_stalled;
	int atomic_result;
	int atomic_orig_stalled;
	bool six_when_stalled;
	bool six_slept;
	int six_ran_stalled;
	atomic_t six_orig;
	atomic_t six_repl;
	atomic_t self_entered;
	atomic_t self_orig;
	/* state migration */
	long state;
	unsigned int migrations;
	bool fail_migrate;
	/* drvproxy_retire */
	struct completion apply_go;
	struct drvproxy_layer *apply_layer;
	struct dpx_thread blocker;
	struct task_struct *hook_task;	/* the thread tr_stall_left_hook() holds */
	bool hook_applied;
	bool hook_flushed;
	bool hook_unregister;		/* tr_stall_left_hook() unregisters the host */
	atomic_t ext_taken;		/* tr_ext_taken_hook() */
	atomic_t unlisted;		/* tr_unlisted_hook() */
	struct module *unpin_mod;	/* what tr_unpinned_hook() makes go */
	bool unpin_hook_ran;
	bool unpin_going_waited;	/* ... and whether its going waited */
};

static struct tr_fixture *tr_cur;	/* for the endpoint bodies */

DRVPROXY_ENDPOINT_MANUAL(int, dpx_tr_inner, int, a)
{
	atomic_inc(&tr_cur->inner_orig);
	return 10;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_tr_inner, dpx_tr_inner_l1, int, a)
{
	atomic_inc(&tr_cur->inner_repl);
	return 11;
}

/*
 * Calls dpx_tr_inner() from inside its own call, once a transition has
 * published another table (the stall table of a stalled one): the
 * compat_ioctl-calls-ioctl pattern, at the worst moment.
 */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_tr_outer, int, a)
{
	struct tr_fixture *f = tr_cur;

	atomic_inc(&f->outer_entered);
	if (!DPX_POLL(drvproxy_call_stale(__dpx_call), 5000))
		return -ETIME;
	f->outer_inner_result = dpx_tr_inner(a);
	return 20;
}

/* The driver's unlocked_ioctl: a method a killed caller may skip. */
DRVPROXY_ENDPOINT_MANUAL(long, dpx_tr_ioctl, struct file *, file, unsigned int, cmd,
			 unsigned long, arg)
{
	atomic_inc(&tr_cur->inner_orig);
	return 50;
}

DRVPROXY_REPLACEMENT_MANUAL(long, dpx_tr_ioctl, dpx_tr_ioctl_l1, struct file *, file,
			    unsigned int, cmd, unsigned long, arg)
{
	atomic_inc(&tr_cur->inner_repl);
	return 51;
}

/* The driver's release: always delivered, even to a killed caller. */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_tr_release, struct inode *, inode, struct file *, file)
{
	atomic_inc(&tr_cur->release_runs);
	return 60;
}

/*
 * The driver's flock and lock: __fput() calls them to drop a closing
 * file's locks, with the fatal signal that ends the task pending.
 */
DRVPROXY_ENDPOINT_MANUAL(int, dpx_tr_flock, struct file *, file, int, cmd,
			 struct file_lock *, fl)
{
	atomic_inc(&tr_cur->unlock_runs);
	return 70;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_tr_lock, struct file *, file, int, cmd,
			 struct file_lock *, fl)
{
	atomic_inc(&tr_cur->unlock_runs);
	return 71;
}

/*
 * Calls itself once, as its last action, once a transition has published
 * another table: an ioctl that re-issues itself with a translated command.
 * The compiler may make that a jump to the wrapper, so the outer call then
 * shows on the stack only as a return address in its wrapper, right below
 * the inner call's wrapper.
 */
static noinline bool tr_wait_stale(struct drvproxy_table *call)
{
	atomic_inc(&tr_cur->self_entered);
	return DPX_POLL(drvproxy_call_stale(call), 5000);
}

/* Nothing on its stack, so that the call of itself can be a jump. */
DRVPROXY_ENDPOINT_MANUAL(long, dpx_tr_self, long, depth)
{
	atomic_inc(&tr_cur->self_orig);
	if (!depth)
		return 40;
	if (!tr_wait_stale(__dpx_call))
		return -ETIME;
	return dpx_tr_self(depth - 1);
}

DRVPROXY_REPLACEMENT_MANUAL(long, dpx_tr_self, dpx_tr_self_l1, long, depth)
{
	return depth ? -EINVAL : 41;
}

/*
 * Six parameters: on x86-64 the wrapper's slow path takes eight, two on
 * the stack, so the wrapper calls it instead of jumping to it and both
 * are on the stack of a stalled caller (as every wrapper's is on arm64).
 */
DRVPROXY_ENDPOINT_MANUAL(long, dpx_tr_six, long, a, long, b, long, c, long, d, long, e,
			 long, g)
{
	atomic_inc(&tr_cur->six_orig);
	return a + b + c + d + e + g;
}

DRVPROXY_REPLACEMENT_MANUAL(long, dpx_tr_six, dpx_tr_six_l1, long, a, long, b, long, c,
			    long, d, long, e, long, g)
{
	atomic_inc(&tr_cur->six_repl);
	return 100 + a + b + c + d + e + g;
}

DRVPROXY_ENDPOINT_MANUAL(int, dpx_tr_block, int, wait)
{
	atomic_inc(&tr_cur->block_entered);
	if (wait)
		wait_for_completion(&tr_cur->gate);
	return 30;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_tr_block, dpx_tr_block_l1, int, wait)
{
	return 31;
}

/* A replacement that, like the original, waits for the gate when asked. */
DRVPROXY_REPLACEMENT_MANUAL(int, dpx_tr_block, dpx_tr_block_l2, int, wait)
{
	atomic_inc(&tr_cur->block_entered);
	if (wait)
		wait_for_completion(&tr_cur->gate);
	return 32;
}

DRVPROXY_ENDPOINT_ATOMIC_MANUAL(int, dpx_tr_atomic, int, a)
{
	atomic_inc(&tr_cur->atomic_orig);
	return 40;
}

DRVPROXY_REPLACEMENT_MANUAL(int, dpx_tr_atomic, dpx_tr_atomic_l1, int, a)
{
	return 41;
}

/*
 * A u8 endpoint whose value is DRVPROXY_ERESTART truncated to 8 bits: it
 * must never be mistaken for a request to re-dispatch.
 */
DRVPROXY_ENDPOINT_MANUAL(u8, dpx_tr_tiny, int, wait)
{
	atomic_inc(&tr_cur->tiny_runs);
	if (wait)
		wait_for_completion(&tr_cur->gate);
	return (u8)DRVPROXY_ERESTART;
}

/* Reads the migrated state: layout 1 keeps it as is, layout 2 times 1000. */
DRVPROXY_ENDPOINT_MANUAL(long, dpx_tr_value, int, a)
{
	atomic_inc(&tr_cur->value_orig);
	return tr_cur->state;
}

DRVPROXY_REPLACEMENT_MANUAL(long, dpx_tr_value, dpx_tr_value_l2, int, a)
{
	atomic_inc(&tr_cur->value_repl);
	return tr_cur->state / 1000;
}

DRVPROXY_REPLACEMENT_MANUAL(long, dpx_tr_value, dpx_tr_value_r1, int, a)
{
	atomic_inc(&tr_cur->value_repl);
	return tr_cur->state + 1;
}

static const struct drvproxy_replacement *const tr_inner1[] = {
	DRVPROXY_REPL(dpx_tr_inner_l1),
};

static const struct drvproxy_replacement *const tr_ioctl1[] = {
	DRVPROXY_REPL(dpx_tr_ioctl_l1),
};

static const struct drvproxy_replacement *const tr_self1[] = {
	DRVPROXY_REPL(dpx_tr_self_l1),
};

static const struct drvproxy_replacement *const tr_six1[] = {
	DRVPROXY_REPL(dpx_tr_six_l1),
};

static const struct drvproxy_replacement *const tr_block1[] = {
	DRVPROXY_REPL(dpx_tr_block_l1),
};

static const struct drvproxy_replacement *const tr_block_wait1[] = {
	DRVPROXY_REPL(dpx_tr_block_l2),
};

static const struct drvproxy_replacement *const tr_atomic1[] = {
	DRVPROXY_REPL(dpx_tr_atomic_l1),
};

static const struct drvproxy_replacement *const tr_value2[] = {
	DRVPROXY_REPL(dpx_tr_value_l2),
};

static const struct drvproxy_replacement *const tr_value_r1[] = {
	DRVPROXY_REPL(dpx_tr_value_r1),
};

static int tr_init(struct kunit *test)
{
	struct tr_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct drvproxy_endpoint_info info[] = {
		{ .id = TR_OUTER, .endpoint = DRVPROXY_DESC(dpx_tr_outer) },
		{ .id = TR_INNER, .endpoint = DRVPROXY_DESC(dpx_tr_inner) },
		{ .id = TR_BLOCK, .endpoint = DRVPROXY_DESC(dpx_tr_block) },
		{ .id = TR_ATOMIC, .endpoint = DRVPROXY_DESC(dpx_tr_atomic) },
		{ .id = TR_TINY, .endpoint = DRVPROXY_DESC(dpx_tr_tiny) },
		{ .id = TR_VALUE, .endpoint = DRVPROXY_DESC(dpx_tr_value) },
		{ .id = TR_IOCTL, .endpoint = DRVPROXY_DESC(dpx_tr_ioctl) },
		{ .id = TR_RELEASE, .endpoint = DRVPROXY_DESC(dpx_tr_release) },
		{ .id = TR_SIX, .endpoint = DRVPROXY_DESC(dpx_tr_six) },
		{ .id = TR_SELF, .endpoint = DRVPROXY_DESC(dpx_tr_self) },
		{ .id = TR_FLOCK, .endpoint = DRVPROXY_DESC(dpx_tr_flock) },
		{ .id = TR_LOCK, .endpoint = DRVPROXY_DESC(dpx_tr_lock) },
	};
	struct drvproxy_driver *drv;

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	init_completion(&f->gate);
	init_completion(&f->apply_go);
	tr_cur = f;
	/* dpx_tr_ioctl() is the driver's unlocked_ioctl, dpx_tr_release() its release. */
	drv = drvproxy_driver_alloc(TR_DRV);
	if (!IS_ERR_OR_NULL(drv)) {
		drvproxy_set_major_function(drv, DEVICE_CONTROL, dpx_tr_ioctl);
		drvproxy_set_major_function(drv, CLOSE, dpx_tr_release);
		drvproxy_set_major_function(drv, FLOCK, dpx_tr_flock);
		drvproxy_set_major_function(drv, LOCK, dpx_tr_lock);
	}
	dpx_host_init_drv(test, &f->host, drv, true);
	KUNIT_ASSERT_EQ(test, drvproxy_register_endpoints(f->host.ext, info, ARRAY_SIZE(info),
							  NULL, NULL), 0);
	return 0;
}

static void tr_exit(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	drvproxy_test_set_hook(NULL);
	complete_all(&f->gate);
	dpx_thread_stop(&f->caller);
	dpx_thread_stop(&f->killed);
	dpx_thread_stop(&f->blocker);
	dpx_host_exit(&f->host);
	tr_cur = NULL;
}

static struct drvproxy_layer *tr_layer(struct tr_fixture *f, enum drvproxy_mode mode,
				       const struct drvproxy_replacement *const *r)
{
	return dpx_layer_new(&f->host, mode, r, 1);
}

static long tr_call_outer(void *arg)
{
	return dpx_tr_outer(1);
}

static long tr_call_self(void *arg)
{
	return dpx_tr_self(1);
}

static long tr_call_six(void *arg)
{
	return dpx_tr_six(1, 2, 3, 4, 5, 6);
}

static long tr_call_block(void *arg)
{
	return dpx_tr_block(1);
}

static long tr_call_tiny(void *arg)
{
	return dpx_tr_tiny(1);
}

/* @call() as a caller that a SIGKILL can reach: kthreads ignore signals by default. */
static long tr_killable(long (*call)(void))
{
	long ret;

	allow_signal(SIGKILL);
	ret = call();
	/* The thread stays until dpx_thread_stop(): let it sleep again. */
	disallow_signal(SIGKILL);
	flush_signals(current);
	return ret;
}

static long tr_ioctl(void)
{
	return dpx_tr_ioctl(NULL, 0, 0);
}

static long tr_call_killable(void *arg)
{
	return tr_killable(tr_ioctl);
}

/* release(), which a killed caller must still run. */
static long tr_release(void)
{
	return dpx_tr_release(NULL, NULL);
}

static long tr_call_killable_release(void *arg)
{
	return tr_killable(tr_release);
}

/* The same for flock() and lock() as a closing file drops its locks. */
static long tr_flock(void)
{
	return dpx_tr_flock(NULL, F_SETLKW, NULL);
}

static long tr_call_killable_flock(void *arg)
{
	return tr_killable(tr_flock);
}

static long tr_lock(void)
{
	return dpx_tr_lock(NULL, F_SETLK, NULL);
}

static long tr_call_killable_lock(void *arg)
{
	return tr_killable(tr_lock);
}

/* ---- drvproxy_stall ---- */

/*
 * A call still runs in a table that an earlier live apply superseded.  A
 * stalled apply must wait for it too, not only for the table it replaces:
 * it times out, and nothing changed.
 */
static void stalled_apply_waits_for_calls_in_older_tables(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *live = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);
	struct drvproxy_layer *stalled = tr_layer(f, DRVPROXY_MODE_STALLED, tr_block1);
	u64 gen;

	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_call_block, f, "dpx-tr-block"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, TR_BLOCK) == 1, 5000));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(live), 0);
	gen = drvproxy_extension_generation(f->host.ext);

	stalled->drain_timeout_ms = 100;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(stalled), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_tr_block(0), 30);
	KUNIT_EXPECT_FALSE(test, dpx_thread_done(&f->caller));

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 30L);
}

/*
 * Start @fn in a thread, wait until its outer call has entered (@entered
 * reads 1), apply @l (stalled) while it runs, and wait for the thread: the
 * apply must complete, because the call nested in the outer one does not
 * wait for it.
 */
static void tr_apply_across_outer_call(struct kunit *test, struct drvproxy_layer *l,
				       long (*fn)(void *arg), atomic_t *entered)
{
	struct tr_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, fn, f, "dpx-tr-outer"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(entered) == 1, 5000));
	l->drain_timeout_ms = 3000;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
}

/*
 * An endpoint that calls another endpoint of its driver while a stalled
 * transition starts: the inner call must not wait for the transition,
 * which waits for the outer call.  It runs the implementation the
 * transition supersedes, and the transition completes.
 */
static void stalled_apply_completes_across_nested_call(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	tr_apply_across_outer_call(test, tr_layer(f, DRVPROXY_MODE_STALLED, tr_inner1),
				   tr_call_outer, &f->outer_entered);
	KUNIT_EXPECT_EQ(test, f->caller.result, 20L);
	KUNIT_EXPECT_EQ(test, f->outer_inner_result, 10);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->inner_orig), 1);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 11);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, TR_INNER) == 0, 5000));
}

/*
 * The same when the inner call is of the outer call's own endpoint, made
 * as the outer implementation's last action: the nesting check must not
 * take the outer call's wrapper for the inner call's own.
 */
static void stalled_apply_completes_across_nested_call_of_same_endpoint(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	tr_apply_across_outer_call(test, tr_layer(f, DRVPROXY_MODE_STALLED, tr_self1),
				   tr_call_self, &f->self_entered);
	/* The inner call ran the original, in the stall table. */
	KUNIT_EXPECT_EQ(test, f->caller.result, 40L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->self_orig), 2);
	KUNIT_EXPECT_EQ(test, dpx_tr_self(0), 41L);
}

struct tr_irq {
	struct hrtimer timer;
	struct completion done;
	int result;
};

static enum hrtimer_restart tr_irq_call(struct hrtimer *timer)
{
	struct tr_irq *irq = container_of(timer, struct tr_irq, timer);

	irq->result = in_hardirq() ? dpx_tr_atomic(0) : -EINVAL;
	complete(&irq->done);
	return HRTIMER_NORESTART;
}

/* Call dpx_tr_atomic() once from a hard-IRQ hrtimer; its result, or -ETIME. */
static int tr_call_atomic_from_hardirq(void)
{
	struct tr_irq irq = { .result = -ETIME };

	init_completion(&irq.done);
	dpx_hrtimer_setup(&irq.timer, tr_irq_call, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	hrtimer_start(&irq.timer, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
	wait_for_completion_timeout(&irq.done, 5 * HZ);
	hrtimer_cancel(&irq.timer);
	return irq.result;
}

static int tr_stalled_cb(enum drvproxy_phase phase, void *context)
{
	struct tr_fixture *f = context;

	if (phase != DRVPROXY_PHASE_STALLED)
		return 0;
	if (f->kill_when_stalled &&
	    !dpx_thread_start(&f->killed, tr_call_killable, f, "dpx-tr-killed")) {
		/* It must sleep at wrapper entry, killable, in no implementation. */
		f->killed_slept = dpx_thread_sleeps(&f->killed, TASK_WAKEKILL, 5000);
		send_sig(SIGKILL, f->killed.task, 1);
		f->killed_done = dpx_thread_wait(&f->killed, 5000);
		f->killed_result = f->killed.result;
	}
	if (f->release_when_stalled &&
	    !dpx_thread_start(&f->killed, tr_call_killable_release, f, "dpx-tr-release")) {
		f->killed_slept = dpx_thread_sleeps(&f->killed, TASK_UNINTERRUPTIBLE, 5000);
		send_sig(SIGKILL, f->killed.task, 1);
		/* It must go on waiting for the transition, not give up. */
		f->release_done_in_stall = dpx_thread_wait(&f->killed, 200);
	}
	if (f->unlock_when_stalled &&
	    !dpx_thread_start(&f->killed, f->unlock_call, f, "dpx-tr-unlock")) {
		f->killed_slept = dpx_thread_sleeps(&f->killed, TASK_UNINTERRUPTIBLE, 5000);
		send_sig(SIGKILL, f->killed.task, 1);
		f->release_done_in_stall = dpx_thread_wait(&f->killed, 200);
	}
	if (f->six_when_stalled &&
	    !dpx_thread_start(&f->caller, tr_call_six, f, "dpx-tr-six")) {
		/* Not nested in any call: it must wait, running nothing. */
		f->six_slept = dpx_thread_sleeps(&f->caller, TASK_UNINTERRUPTIBLE, 5000);
		f->six_ran_stalled = atomic_read(&f->six_orig) + atomic_read(&f->six_repl);
	}
	if (f->atomic_when_stalled) {
		f->atomic_result = tr_call_atomic_from_hardirq();
		f->atomic_orig_stalled = atomic_read(&f->atomic_orig);
	}
	return 0;
}

/*
 * Apply a stalled layer of @r whose STALLED callback (tr_stalled_cb()) does
 * what *@when_stalled, set here, asks for.
 */
static int tr_apply_stalled_cb(struct tr_fixture *f, const struct drvproxy_replacement *const *r,
			       bool *when_stalled)
{
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_STALLED, r);

	l->callback = tr_stalled_cb;
	l->context = f;
	*when_stalled = true;
	return drvproxy_layer_apply(l);
}

/*
 * A call that is not nested in another call of the driver waits out a
 * stalled transition, also when its wrapper called its slow path (the
 * nesting check must not take the wrapper below the slow path for an
 * outer call), and then runs the new implementation.
 */
static void stalled_caller_below_its_slow_path_waits(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, tr_apply_stalled_cb(f, tr_six1, &f->six_when_stalled), 0);
	KUNIT_EXPECT_TRUE(test, f->six_slept);
	KUNIT_EXPECT_EQ(test, f->six_ran_stalled, 0);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 121L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->six_orig), 0);
}

/*
 * A caller of a file method held back by a stalled transition can be
 * killed: its call returns -EINTR at once and runs no implementation, old
 * or new.
 */
static void killed_stalled_caller_fails_with_eintr(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, tr_apply_stalled_cb(f, tr_ioctl1, &f->kill_when_stalled), 0);
	KUNIT_EXPECT_TRUE(test, f->killed_slept);
	KUNIT_EXPECT_TRUE(test, f->killed_done);
	KUNIT_EXPECT_EQ(test, f->killed_result, (long)-EINTR);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->inner_orig), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->inner_repl), 0);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->host.ext, TR_IOCTL), 0ULL);
	KUNIT_EXPECT_EQ(test, dpx_tr_ioctl(NULL, 0, 0), 51L);
}

/*
 * A file's release() is always delivered: a caller held back by a stalled
 * transition and killed meanwhile still waits for the transition, then
 * runs release() (its file is going away whatever happens), where a
 * killed ioctl() caller would fail with -EINTR.
 */
static void killed_stalled_release_still_runs_after_transition(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, tr_apply_stalled_cb(f, tr_ioctl1, &f->release_when_stalled), 0);
	KUNIT_EXPECT_TRUE(test, f->killed_slept);
	KUNIT_EXPECT_FALSE(test, f->release_done_in_stall);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->killed, 5000));
	KUNIT_EXPECT_EQ(test, f->killed.result, 60L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->release_runs), 1);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->host.ext, TR_RELEASE), 0ULL);
}

/*
 * flock() and lock() are delivered like release(): __fput() calls them with
 * F_UNLCK to drop a closing file's locks while the fatal signal that ends
 * the task is pending, and a lock left behind would point at the freed
 * file.  A caller held back by a stalled transition and killed still runs
 * the method once the transition is over.
 */
static void killed_stalled_unlock_runs_after_transition(struct kunit *test,
							long (*call)(void *arg), long want)
{
	struct tr_fixture *f = test->priv;

	f->unlock_call = call;
	KUNIT_ASSERT_EQ(test, tr_apply_stalled_cb(f, tr_ioctl1, &f->unlock_when_stalled), 0);
	KUNIT_EXPECT_TRUE(test, f->killed_slept);
	KUNIT_EXPECT_FALSE(test, f->release_done_in_stall);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->killed, 5000));
	KUNIT_EXPECT_EQ(test, f->killed.result, want);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->unlock_runs), 1);
}

static void killed_stalled_flock_still_runs_after_transition(struct kunit *test)
{
	killed_stalled_unlock_runs_after_transition(test, tr_call_killable_flock, 70L);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(tr_cur->host.ext, TR_FLOCK), 0ULL);
}

static void killed_stalled_lock_still_runs_after_transition(struct kunit *test)
{
	killed_stalled_unlock_runs_after_transition(test, tr_call_killable_lock, 71L);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(tr_cur->host.ext, TR_LOCK), 0ULL);
}

/*
 * An endpoint declared atomic keeps running during STALLED, from hard IRQ
 * too, in the implementation that stays current; a stalled transition
 * that would change it is refused, a live one is not.
 */
static void stalled_transition_never_changes_atomic_endpoint(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *other = tr_layer(f, DRVPROXY_MODE_STALLED, tr_inner1);
	struct drvproxy_layer *stalled = tr_layer(f, DRVPROXY_MODE_STALLED, tr_atomic1);
	struct drvproxy_layer *live = tr_layer(f, DRVPROXY_MODE_LIVE, tr_atomic1);
	u64 gen;

	other->callback = tr_stalled_cb;
	other->context = f;
	f->atomic_when_stalled = true;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(other), 0);
	KUNIT_EXPECT_EQ(test, f->atomic_result, 40);
	KUNIT_EXPECT_EQ(test, f->atomic_orig_stalled, 1);

	gen = drvproxy_extension_generation(f->host.ext);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(stalled), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, tr_call_atomic_from_hardirq(), 40);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(live), 0);
	KUNIT_EXPECT_EQ(test, tr_call_atomic_from_hardirq(), 41);
}

static struct kunit_case drvproxy_stall_cases[] = {
	KUNIT_CASE(stalled_apply_waits_for_calls_in_older_tables),
	KUNIT_CASE(stalled_apply_completes_across_nested_call),
	KUNIT_CASE(stalled_apply_completes_across_nested_call_of_same_endpoint),
	KUNIT_CASE(stalled_caller_below_its_slow_path_waits),
	KUNIT_CASE(killed_stalled_caller_fails_with_eintr),
	KUNIT_CASE(killed_stalled_release_still_runs_after_transition),
	KUNIT_CASE(killed_stalled_flock_still_runs_after_transition),
	KUNIT_CASE(killed_stalled_lock_still_runs_after_transition),
	KUNIT_CASE(stalled_transition_never_changes_atomic_endpoint),
	{}
};

static struct kunit_suite drvproxy_stall_suite = {
	.name = "drvproxy_stall",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_stall_cases,
};

/* ---- drvproxy_restart ---- */

/*
 * A u8 endpoint returns (u8)DRVPROXY_ERESTART from a call whose table a
 * swap superseded: that is its value, not a request to run it again.
 */
static void truncated_return_value_is_not_redispatched(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_call_tiny, f, "dpx-tr-tiny"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, TR_TINY) == 1, 5000));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, (long)(u8)DRVPROXY_ERESTART);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->tiny_runs), 1);
}

static struct kunit_case drvproxy_restart_cases[] = {
	KUNIT_CASE(truncated_return_value_is_not_redispatched),
	{}
};

static struct kunit_suite drvproxy_restart_suite = {
	.name = "drvproxy_restart",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_restart_cases,
};

/* ---- drvproxy_replace ---- */

/* Layout 1: the value as is; layout 2: times 1000. */
static int tr_migrate(struct drvproxy_driver *drv, u32 from, u32 to, void *context)
{
	struct tr_fixture *f = context;

	if (from != 1 || to != 2)
		return -EINVAL;
	if (f->fail_migrate)
		return -EIO;
	f->state *= 1000;
	f->migrations++;
	return 0;
}

static int tr_unmigrate(struct drvproxy_driver *drv, u32 from, u32 to, void *context)
{
	struct tr_fixture *f = context;

	if (from != 2 || to != 1)
		return -EINVAL;
	f->state /= 1000;
	f->migrations++;
	return 0;
}

static struct drvproxy_layer *tr_migrating_layer(struct tr_fixture *f)
{
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_value2);

	l->state_layout = 2;
	l->migrate = tr_migrate;
	l->unmigrate = tr_unmigrate;
	l->context = f;
	return l;
}

/*
 * An atomic replace drops a layer that migrated the state: the state
 * comes back to the layout below it before the replacement runs, and
 * stays there when the replacement is reverted too.
 */
static void atomic_replace_unmigrates_dropped_layer(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct drvproxy_layer *repl = tr_layer(f, DRVPROXY_MODE_LIVE, tr_value_r1);

	f->host.drv->state_layout = 1;
	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	KUNIT_ASSERT_EQ(test, f->state, 7000L);
	KUNIT_ASSERT_EQ(test, dpx_tr_value(0), 7L);

	repl->replace = true;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(repl), 0);
	KUNIT_EXPECT_EQ(test, f->state, 7L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 8L);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(mig), -ENOENT);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(repl), 0);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 7L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
	KUNIT_EXPECT_EQ(test, f->migrations, 2U);
}

/* A callback that refuses the transition in its first phase. */
static int tr_refuse_cb(enum drvproxy_phase phase, void *context)
{
	return -EIO;
}

/*
 * A stand-in for a module in @state, nobody's reference taken: what a
 * layer's owner is read for (its name, state and reference count).
 * Freed after the case's exit.
 */
static struct module *tr_module(struct kunit *test, const char *name,
				enum module_state state)
{
	struct module *mod = kunit_kzalloc(test, sizeof(*mod), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mod);
	strscpy(mod->name, name, sizeof(mod->name));
	mod->state = state;
#ifdef CONFIG_MODULE_UNLOAD
	atomic_set(&mod->refcnt, 1);	/* MODULE_REF_BASE: no reference */
#endif
	return mod;
}

/*
 * No layer goes on top of a layer that migrated the state while that
 * layer's module runs its init, or goes away: the kernel frees a module
 * whose init fails whatever pins it, and with it the code the state's
 * layout needs.  Once that init is done, the apply pins the module.
 */
static void layer_above_migrated_layer_of_module_not_live_is_refused(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_coming", MODULE_STATE_COMING);
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct drvproxy_layer *top = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);
	u64 gen;

	mig->owner = mod;
	f->host.drv->state_layout = 1;
	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	gen = drvproxy_extension_generation(f->host.ext);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(top), -EBUSY);
	mod->state = MODULE_STATE_GOING;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(top), -EBUSY);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 10);

	mod->state = MODULE_STATE_LIVE;
	/* An apply that fails after the pin drops it. */
	top->callback = tr_refuse_cb;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(top), -EIO);
#ifdef CONFIG_MODULE_UNLOAD
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
#endif
	top->callback = NULL;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(top), 0);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 11);
#ifdef CONFIG_MODULE_UNLOAD
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 1);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(top), 0);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
#endif
}

/*
 * Two layers of one module, the lower one migrated the state; the upper
 * one does not pin the module, which would keep it from ever being
 * removed.  Applies both and marks the module going.
 */
static void tr_apply_own_pair(struct kunit *test, struct module *mod,
			      struct drvproxy_layer *mig, struct drvproxy_layer *top)
{
	struct tr_fixture *f = test->priv;

	mig->owner = mod;
	top->owner = mod;
	f->host.drv->state_layout = 1;
	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(top), 0);
#ifdef CONFIG_MODULE_UNLOAD
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
#endif
	KUNIT_ASSERT_EQ(test, f->state, 7000L);
	KUNIT_ASSERT_EQ(test, dpx_tr_inner(0), 11);
	mod->state = MODULE_STATE_GOING;
}

/* Both layers are gone and the state is back in the driver's layout. */
static void tr_expect_own_pair_gone(struct kunit *test, struct module *mod,
				    struct drvproxy_layer *top)
{
	struct tr_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, f->state, 7L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 10);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 7L);
	KUNIT_EXPECT_EQ(test, f->migrations, 2U);
	mod->state = MODULE_STATE_LIVE;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(top), -ENOENT);
}

/*
 * A module's exit that reverts its layer that migrated the state first,
 * under another layer of its own, takes that one along, top down, before
 * it returns: the exit may free what both use right after.
 */
static void exit_revert_of_migrated_layer_takes_own_layers_above(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_exit", MODULE_STATE_LIVE);
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct drvproxy_layer *top = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	tr_apply_own_pair(test, mod, mig, top);
	KUNIT_EXPECT_EQ(test, drvproxy_test_revert_as_exit(mig), 0);
	tr_expect_own_pair_gone(test, mod, top);
}

/*
 * A module that goes (its init failed, or its exit left layers applied)
 * with a layer of its own on top of its layer that migrated the state
 * loses both before its memory goes.
 */
static void going_module_loses_its_layers(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_going", MODULE_STATE_COMING);
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct drvproxy_layer *top = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	tr_apply_own_pair(test, mod, mig, top);
	drvproxy_test_module_going(mod);
	tr_expect_own_pair_gone(test, mod, top);
}

/* Reverts @arg, a layer, as its module's exit would, with a signal pending. */
static long tr_revert_as_exit_signalled(void *arg)
{
	long ret;

	allow_signal(SIGKILL);
	send_sig(SIGKILL, current, 1);
	ret = drvproxy_test_revert_as_exit(arg);
	disallow_signal(SIGKILL);
	flush_signals(current);
	return ret;
}

/*
 * The revert of a layer that migrated the state, from its module's exit,
 * converts the state back even when a call stays in flight and the
 * remover has a signal pending (rmmod interrupted): it waits for the call
 * instead of giving up and leaving the state in the layout of code that
 * is about to go.
 */
static void exit_revert_of_migrated_layer_waits_out_call_and_signal(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct dpx_thread *reverter = &f->killed;

	f->host.drv->state_layout = 1;
	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	KUNIT_ASSERT_EQ(test, f->state, 7000L);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->blocker, tr_call_block, f, "dpx-tr-block"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(&f->block_entered) == 1, 5000));

	KUNIT_ASSERT_EQ(test, dpx_thread_start(reverter, tr_revert_as_exit_signalled, mig,
					       "dpx-tr-revert"), 0);
	KUNIT_EXPECT_FALSE(test, dpx_thread_wait(reverter, 500));
	KUNIT_EXPECT_EQ(test, f->state, 7000L);

	complete_all(&f->gate);
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->blocker, 5000));
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(reverter, 5000));
	KUNIT_EXPECT_EQ(test, reverter->result, 0L);
	KUNIT_EXPECT_EQ(test, f->state, 7L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
	KUNIT_EXPECT_EQ(test, f->migrations, 2U);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 7L);
}

/* The replacement may migrate the state itself, from the layout below. */
static void atomic_replace_migrates_from_layout_below_dropped_layers(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct drvproxy_layer *again = tr_migrating_layer(f);

	f->host.drv->state_layout = 1;
	f->state = 5;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	again->replace = true;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(again), 0);
	KUNIT_EXPECT_EQ(test, f->state, 5000L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 2U);
	KUNIT_EXPECT_EQ(test, f->migrations, 3U);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(again), 0);
	KUNIT_EXPECT_EQ(test, f->state, 5L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
}

/*
 * A failing migration fails the apply: the state, its layout and the
 * implementations stay as they were, and the generation does not move.
 */
static void failed_state_migration_fails_apply_and_changes_nothing(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	f->host.drv->state_layout = 1;
	f->state = 7;
	f->fail_migrate = true;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(mig), -EIO);
	KUNIT_EXPECT_EQ(test, f->state, 7L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 7L);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->value_repl), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(mig), -ENOENT);
}

/*
 * A layer applied on top of one that migrated the state was built for the
 * new layout: the migrated layer cannot be reverted from under it (that
 * would migrate the state back beneath it), only after it.
 */
static void migrated_layer_under_another_refuses_revert_with_ebusy(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	struct drvproxy_layer *top = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	f->host.drv->state_layout = 1;
	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(top), 0);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(mig), -EBUSY);
	KUNIT_EXPECT_EQ(test, f->state, 7000L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 2U);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 7L);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 11);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(top), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(mig), 0);
	KUNIT_EXPECT_EQ(test, f->state, 7L);
	KUNIT_EXPECT_EQ(test, f->host.drv->state_layout, 1U);
}

/*
 * The text of the host driver's sysfs file @name (under its directory),
 * NUL-terminated in @buf; its length, or a negative errno.
 */
static ssize_t tr_read_sysfs(struct tr_fixture *f, const char *name, char *buf, size_t size)
{
	char *dir = kobject_get_path(&f->host.drv->kobj, GFP_KERNEL);
	char *path = dir ? kasprintf(GFP_KERNEL, "/sys%s/%s", dir, name) : NULL;
	struct file *file;
	loff_t pos = 0;
	ssize_t n = -ENOMEM;

	if (path) {
		file = filp_open(path, O_RDONLY, 0);
		n = IS_ERR(file) ? PTR_ERR(file) : kernel_read(file, buf, size - 1, &pos);
		if (!IS_ERR(file))
			fput(file);
	}
	buf[n > 0 ? n : 0] = '\0';
	kfree(path);
	kfree(dir);
	return n;
}

/*
 * A layer declared live that migrates the state is swapped in and out
 * stalled, and says so: its "mode" file and the history record the mode
 * the transition ran in, not the one declared.
 */
static void live_layer_that_migrates_shows_and_records_stalled(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *mig = tr_migrating_layer(f);
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	f->host.drv->state_layout = 1;
	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(mig), 0);
	KUNIT_EXPECT_GT(test, tr_read_sysfs(f, "layers/" KBUILD_MODNAME "/mode", buf,
					    PAGE_SIZE), 0);
	KUNIT_EXPECT_STREQ(test, buf, "stalled\n");
	KUNIT_EXPECT_GT(test, tr_read_sysfs(f, "history", buf, PAGE_SIZE), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, " apply " KBUILD_MODNAME " stalled "));
	KUNIT_EXPECT_NULL(test, strstr(buf, " apply " KBUILD_MODNAME " live "));
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(mig), 0);
	KUNIT_EXPECT_GT(test, tr_read_sysfs(f, "history", buf, PAGE_SIZE), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, " revert " KBUILD_MODNAME " stalled "));
}

/* What a companion's timer pins: code of this module. */
static void tr_pinned_fn(void)
{
}

/*
 * An atomic replace does not drop the layer of another module that holds
 * pins (a timer it armed): the request that would stop them, served by
 * that layer, would go, and the pins would hold the module forever.  Once
 * its pins are gone, the replace goes through.
 */
static void atomic_replace_of_layer_whose_module_holds_pins_is_refused(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_replacer", MODULE_STATE_LIVE);
	struct drvproxy_layer *pinned = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);
	struct drvproxy_layer *repl = tr_layer(f, DRVPROXY_MODE_LIVE, tr_value_r1);
	u64 gen;

	f->state = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(pinned), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_pin_code(tr_pinned_fn, "kunit timer"), 0);
	repl->owner = mod;
	repl->replace = true;
	gen = drvproxy_extension_generation(f->host.ext);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(repl), -EBUSY);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 11);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 7L);

	drvproxy_unpin_code(tr_pinned_fn);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(repl), 0);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 10);
	KUNIT_EXPECT_EQ(test, dpx_tr_value(0), 8L);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(pinned), -ENOENT);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(repl), 0);
}

static struct kunit_case drvproxy_replace_cases[] = {
	KUNIT_CASE(failed_state_migration_fails_apply_and_changes_nothing),
	KUNIT_CASE(migrated_layer_under_another_refuses_revert_with_ebusy),
	KUNIT_CASE(layer_above_migrated_layer_of_module_not_live_is_refused),
	KUNIT_CASE(exit_revert_of_migrated_layer_takes_own_layers_above),
	KUNIT_CASE(going_module_loses_its_layers),
	KUNIT_CASE(atomic_replace_unmigrates_dropped_layer),
	KUNIT_CASE(atomic_replace_of_layer_whose_module_holds_pins_is_refused),
	KUNIT_CASE(live_layer_that_migrates_shows_and_records_stalled),
	KUNIT_CASE(atomic_replace_migrates_from_layout_below_dropped_layers),
	KUNIT_CASE(exit_revert_of_migrated_layer_waits_out_call_and_signal),
	{}
};

static struct kunit_suite drvproxy_replace_suite = {
	.name = "drvproxy_replace",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_replace_cases,
};

/* ---- drvproxy_depth ---- */

#define TR_MAX_LAYERS	64

/*
 * A driver takes TR_MAX_LAYERS layers; the next is refused with -ENOSPC
 * and changes nothing, while an atomic replace of them all is accepted.
 */
static void apply_beyond_stack_limit_returns_enospc(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *l;
	unsigned int k;
	u64 gen;

	for (k = 0; k < TR_MAX_LAYERS; k++) {
		l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);
		KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	}
	gen = drvproxy_extension_generation(f->host.ext);
	l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_block1);
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -ENOSPC);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_tr_block(0), 30);
	l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_block1);
	l->replace = true;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_tr_block(0), 31);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 10);
}

static struct kunit_case drvproxy_depth_cases[] = {
	KUNIT_CASE(apply_beyond_stack_limit_returns_enospc),
	{}
};

static struct kunit_suite drvproxy_depth_suite = {
	.name = "drvproxy_depth",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_depth_cases,
};

/* ---- drvproxy_build ---- */

/*
 * This module's build id in hex, as drvproxy reads it: the note that
 * drvproxy.lds keeps from the link with --build-id (12-byte header,
 * "GNU\0", the id).
 */
static void tr_own_build_id(struct kunit *test, char *hex, size_t size)
{
	const struct elf64_note *note = (const void *)__start_drvproxy_build_id;

	KUNIT_ASSERT_GT_MSG(test, __stop_drvproxy_build_id - __start_drvproxy_build_id,
			    (long)sizeof(*note) + 4, "drvproxy_kunit.ko has no build id note");
	KUNIT_ASSERT_LT(test, (size_t)note->n_descsz * 2, size);
	snprintf(hex, size, "%*phN", (int)note->n_descsz, (const u8 *)(note + 1) + 4);
}

/* A layer made from the running build of the driver applies. */
static void layer_made_from_the_running_build_applies(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_block1);
	char *hex = kunit_kzalloc(test, 129, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, hex);
	tr_own_build_id(test, hex, 129);
	l->host_build = hex;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, dpx_tr_block(0), 31);
}

/*
 * One made from another build is refused with -EINVAL and changes
 * nothing: the endpoints it would skip as unchanged are that build's.
 */
static void layer_made_from_another_build_is_refused(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_block1);
	char *hex = kunit_kzalloc(test, 129, GFP_KERNEL);
	u64 gen = drvproxy_extension_generation(f->host.ext);

	KUNIT_ASSERT_NOT_NULL(test, hex);
	tr_own_build_id(test, hex, 129);
	hex[0] = hex[0] == '0' ? '1' : '0';
	l->host_build = hex;
	KUNIT_EXPECT_EQ(test, drvproxy_layer_apply(l), -EINVAL);
	KUNIT_EXPECT_EQ(test, drvproxy_extension_generation(f->host.ext), gen);
	KUNIT_EXPECT_EQ(test, dpx_tr_block(0), 30);
}

static struct kunit_case drvproxy_build_cases[] = {
	KUNIT_CASE(layer_made_from_the_running_build_applies),
	KUNIT_CASE(layer_made_from_another_build_is_refused),
	{}
};

static struct kunit_suite drvproxy_build_suite = {
	.name = "drvproxy_build",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_build_cases,
};

/* ---- drvproxy_context ---- */

struct tr_ctx_result {
	struct completion done;
	bool in_softirq;
	bool in_hardirq;
	int stats_ret;
	u64 calls;
};

static struct tr_ctx_result *tr_ctx_cur;

static void tr_read_stats(struct tr_ctx_result *r)
{
	struct drvproxy_endpoint_stats st = {};

	r->stats_ret = drvproxy_endpoint_stats(tr_cur->host.ext, TR_INNER, &st);
	r->calls = st.calls;
}

static void tr_timer_fn(struct timer_list *t)
{
	struct tr_ctx_result *r = tr_ctx_cur;

	r->in_softirq = in_serving_softirq();
	tr_read_stats(r);
	complete(&r->done);
}

/*
 * The statistics are readable in process context, under a spinlock, and
 * in softirq context (a timer), with the same answer.
 */
static void endpoint_stats_work_in_documented_contexts(struct kunit *test)
{
	static DEFINE_SPINLOCK(lock);
	struct tr_fixture *f = test->priv;
	struct tr_ctx_result r = {};
	struct timer_list *timer = kunit_kzalloc(test, sizeof(*timer), GFP_KERNEL);

	dpx_tr_inner(0);
	dpx_tr_inner(0);
	tr_read_stats(&r);
	KUNIT_EXPECT_EQ(test, r.stats_ret, 0);
	KUNIT_EXPECT_EQ(test, r.calls, 2ULL);

	memset(&r, 0, sizeof(r));
	spin_lock(&lock);
	tr_read_stats(&r);
	spin_unlock(&lock);
	KUNIT_EXPECT_EQ(test, r.calls, 2ULL);

	KUNIT_ASSERT_NOT_NULL(test, timer);
	memset(&r, 0, sizeof(r));
	init_completion(&r.done);
	tr_ctx_cur = &r;
	timer_setup(timer, tr_timer_fn, 0);
	mod_timer(timer, jiffies + 1);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r.done, 5 * HZ), 0UL);
	timer_delete_sync(timer);
	tr_ctx_cur = NULL;
	KUNIT_EXPECT_TRUE(test, r.in_softirq);
	KUNIT_EXPECT_EQ(test, r.stats_ret, 0);
	KUNIT_EXPECT_EQ(test, r.calls, 2ULL);
	KUNIT_EXPECT_EQ(test, dpx_in_flight(f->host.ext, TR_INNER), 0ULL);
}

struct tr_event_irq {
	struct hrtimer timer;
	struct drvproxy_event *ev;
	bool in_hardirq;
};

static enum hrtimer_restart tr_event_timer(struct hrtimer *timer)
{
	struct tr_event_irq *e = container_of(timer, struct tr_event_irq, timer);

	e->in_hardirq = in_hardirq();
	drvproxy_event_set(e->ev);
	return HRTIMER_NORESTART;
}

/*
 * drvproxy_event_set() works from the hard IRQ of an hrtimer that
 * PREEMPT_RT would thread (HRTIMER_MODE_REL: hard IRQ elsewhere, the
 * softirq thread there), as documented, and wakes a waiter in process
 * context.  Not HRTIMER_MODE_REL_HARD: a spinlock_t is invalid there, which
 * lockdep reports with PROVE_RAW_LOCK_NESTING (the newest kernel's
 * default) even where it does not sleep.
 */
static void event_set_works_from_hard_irq(struct kunit *test)
{
	struct drvproxy_event ev;
	struct tr_event_irq e = { .ev = &ev };
	enum hrtimer_mode mode = HRTIMER_MODE_REL;

	drvproxy_event_init(&ev, false);
	dpx_hrtimer_setup(&e.timer, tr_event_timer, CLOCK_MONOTONIC, mode);
	hrtimer_start(&e.timer, ms_to_ktime(1), mode);
	KUNIT_EXPECT_GT(test, wait_event_timeout(ev.wq, READ_ONCE(ev.signalled), 5 * HZ), 0L);
	hrtimer_cancel(&e.timer);
	KUNIT_EXPECT_EQ(test, e.in_hardirq, !IS_ENABLED(CONFIG_PREEMPT_RT));
}

static struct kunit_case drvproxy_context_cases[] = {
	KUNIT_CASE(endpoint_stats_work_in_documented_contexts),
	KUNIT_CASE(event_set_works_from_hard_irq),
	{}
};

static struct kunit_suite drvproxy_context_suite = {
	.name = "drvproxy_context",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_context_cases,
};

/* ---- drvproxy_retire ---- */

static long tr_apply_when_told(void *arg)
{
	struct tr_fixture *f = arg;

	wait_for_completion(&f->apply_go);
	return drvproxy_layer_apply(f->apply_layer);
}

/*
 * A call loads the active table and counts its entry in one
 * preempt-disabled section (drvproxy_call_try_enter()), so a superseded table
 * whose counters say "empty" may still be entered by a call that loaded it
 * before the publish: the retire worker must let a grace period pass
 * before it believes the counters.  Done here by hand: load the table,
 * let another thread apply a layer and the worker run, all with
 * preemption off, then count the entry.  The table must still be there,
 * with that call inside it, until the call leaves.
 */
static void superseded_table_outlives_call_that_loaded_it_before_publish(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_domain *dom = (struct drvproxy_domain *)f->host.ext;
	unsigned int i = DRVPROXY_DESC(dpx_tr_inner)->index;
	struct drvproxy_table *t;
	bool published;
	int ms;

	f->apply_layer = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_apply_when_told, f,
					       "dpx-tr-apply"), 0);
	KUNIT_ASSERT_EQ(test, dpx_in_flight(f->host.ext, TR_INNER), 0ULL);

	preempt_disable();
	/* As drvproxy_call_try_enter() loads it: acquire, pairs with the publish. */
	t = (struct drvproxy_table __force *)smp_load_acquire(&dom->active);
	complete(&f->apply_go);
	/*
	 * The apply, then time for the retire worker: it polls every few
	 * jiffies.  The other vCPU may get little host time under load:
	 * wait up to 10 s for the publish.
	 */
	for (ms = 0; ms < 10000 && !drvproxy_call_stale(t); ms++)
		mdelay(1);
	published = drvproxy_call_stale(t);
	if (published)
		mdelay(100);
	this_cpu_inc(t->slot[i].count->enter);
	preempt_enable();

	if (!published) {
		/* Still the active table: leave it, or the exit waits forever. */
		this_cpu_inc(t->slot[i].count->exit);
		KUNIT_FAIL_AND_ABORT(test, "the apply did not publish within 10 s");
	}
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, 0L);
	/* Grace periods and worker passes enough to free an empty table. */
	msleep(300);
	if (dpx_in_flight(f->host.ext, TR_INNER) != 1) {
		/* Freed under the call: do not touch it again. */
		KUNIT_FAIL(test, "the superseded table was freed with a call inside it");
		return;
	}
	this_cpu_inc(t->slot[i].count->exit);
	KUNIT_EXPECT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, TR_INNER) == 0, 5000));
}

/*
 * Held where a stalled caller has counted its exit from the stall table:
 * let the blocked call return, so the drain ends, and wait until the apply
 * has returned.  Then either wait until the retire worker freed every
 * superseded table, the stall table included, or (@hook_unregister) let the
 * host go away: drvproxy_driver_unregister() drains (the caller is counted
 * in no table) and releases the extension.  Only once, and only for the
 * test thread.
 */
static void tr_stall_left_hook(enum drvproxy_test_point tp)
{
	struct tr_fixture *f = tr_cur;

	if (tp != DRVPROXY_TP_STALL_LEFT || !f || current != f->hook_task)
		return;
	f->hook_task = NULL;
	complete_all(&f->gate);
	f->hook_applied = dpx_thread_wait(&f->caller, 5000);
	if (!f->hook_applied)
		return;
	if (f->hook_unregister)
		dpx_host_unregister(&f->host);
	else
		drvproxy_test_retire_flush(f->host.ext);
	f->hook_flushed = true;
}

/*
 * A call of dpx_tr_block() that arrives while a stalled apply of layer 1
 * waits for a blocked call, held at DRVPROXY_TP_STALL_LEFT by
 * tr_stall_left_hook(); returns what the call returned.
 */
static int tr_call_through_stall_left(struct kunit *test, struct tr_fixture *f)
{
	struct drvproxy_domain *dom = (struct drvproxy_domain *)f->host.ext;
	struct drvproxy_table *before = rcu_access_pointer(dom->active);
	int ret;

	f->apply_layer = tr_layer(f, DRVPROXY_MODE_STALLED, tr_block1);
	f->apply_layer->drain_timeout_ms = 10000;
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->blocker, tr_call_block, f, "dpx-tr-block"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(dpx_in_flight(f->host.ext, TR_BLOCK) == 1, 5000));
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_apply_when_told, f,
					       "dpx-tr-apply"), 0);
	complete(&f->apply_go);
	/* The stall table is out; the drain waits for the blocked call. */
	KUNIT_ASSERT_TRUE(test, DPX_POLL(drvproxy_call_stale(before), 5000));

	f->hook_task = current;
	drvproxy_test_set_hook(tr_stall_left_hook);
	ret = dpx_tr_block(0);
	drvproxy_test_set_hook(NULL);

	KUNIT_EXPECT_TRUE(test, f->hook_applied);
	KUNIT_EXPECT_TRUE(test, f->hook_flushed);
	KUNIT_EXPECT_EQ(test, f->caller.result, 0L);
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->blocker, 5000));
	KUNIT_EXPECT_EQ(test, f->blocker.result, 30L);
	return ret;
}

/*
 * A call that arrives during a stall leaves the stall table (counts its
 * exit) before it waits for the next publish.  From that instant the stall
 * may end and the stall table be retired and freed, all before the caller
 * runs again; it must not touch that table any more (KASAN reports it if it
 * does) and completes in the implementation the transition installed.
 */
static void stalled_caller_touches_no_table_after_leaving_it(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, tr_call_through_stall_left(test, f), 31);
}

/*
 * A caller that left the stall table waits counted in no table.  If the
 * host unregisters in that window, the extension and its tables are freed
 * before the caller runs again: it must touch neither (KASAN reports it if
 * it does) and run the original implementation, as a call that finds the
 * endpoint unbound does.
 */
static void stalled_caller_survives_unregister_while_uncounted(struct kunit *test)
{
	struct tr_fixture *f = test->priv;

	f->hook_unregister = true;
	KUNIT_EXPECT_EQ(test, tr_call_through_stall_left(test, f), 30);
}

/* At DRVPROXY_TP_LAYER_EXT_TAKEN: hold the reverting thread at the gate. */
static void tr_ext_taken_hook(enum drvproxy_test_point tp)
{
	struct tr_fixture *f = tr_cur;

	if (tp != DRVPROXY_TP_LAYER_EXT_TAKEN)
		return;
	atomic_inc(&f->ext_taken);
	wait_for_completion(&f->gate);
}

static long tr_revert_layer(void *arg)
{
	return drvproxy_layer_revert(arg);
}

static long tr_unregister(void *arg)
{
	dpx_host_unregister(arg);
	return 0;
}

static long tr_module_going(void *arg)
{
	drvproxy_test_module_going(arg);
	return 0;
}

/*
 * A revert that has found its layer's extension keeps it: the host may
 * release the extension (it unregisters outside its module exit) before
 * the revert locks it, and the revert then finds the layer reverted by
 * that release, in memory still its own (KASAN reports it if not).
 */
static void revert_keeps_extension_host_releases_meanwhile(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	drvproxy_test_set_hook(tr_ext_taken_hook);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_revert_layer, l, "dpx-tr-revert"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(&f->ext_taken) == 1, 5000));
	dpx_host_unregister(&f->host);
	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_EQ(test, f->caller.result, (long)-ENOENT);
	drvproxy_test_set_hook(NULL);
}

/*
 * At DRVPROXY_TP_LAYER_UNPINNED: the module the retire worker just
 * unpinned goes (its init failed meanwhile); its going must wait for the
 * worker, which still uses the layer in the module's memory.
 */
static void tr_unpinned_hook(enum drvproxy_test_point tp)
{
	struct tr_fixture *f = tr_cur;

	if (tp != DRVPROXY_TP_LAYER_UNPINNED || !f || f->unpin_hook_ran)
		return;
	f->unpin_hook_ran = true;
	if (!dpx_thread_start(&f->killed, tr_module_going, f->unpin_mod, "dpx-tr-going"))
		f->unpin_going_waited = dpx_thread_sleeps(&f->killed, TASK_UNINTERRUPTIBLE,
							  500) &&
					!completion_done(&f->killed.done);
}

/*
 * The retire worker unpins a drained layer's module while it still uses
 * the layer: a module whose init fails at that moment is freed as soon
 * as its going finds nothing of it.  So the layer stays where the going
 * finds it, and the going waits, until the worker is done with it.  The
 * worker used to forget the layer first and unpin after, into a module
 * the going had let go.
 */
static void going_module_waits_for_retire_worker_done_with_its_layer(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_unpin", MODULE_STATE_LIVE);
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	l->owner = mod;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
#ifdef CONFIG_MODULE_UNLOAD
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 1);
#endif
	mod->state = MODULE_STATE_GOING;
	f->unpin_mod = mod;
	drvproxy_test_set_hook(tr_unpinned_hook);
	drvproxy_test_retire_flush(f->host.ext);
	drvproxy_test_set_hook(NULL);

	KUNIT_EXPECT_TRUE(test, f->unpin_hook_ran);
	KUNIT_EXPECT_TRUE(test, f->unpin_going_waited);
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->killed, 5000));
#ifdef CONFIG_MODULE_UNLOAD
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
#endif
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(l->ext), NULL);
}

/*
 * The release of a host's extension reverts the layer of a module that is
 * going (its exit about to run, or its init failed), which it cannot pin
 * for the drain: the module's going waits for the call still in the
 * layer's code before the module's memory may go, and the exit's revert
 * afterwards finds nothing left to do.
 */
static void going_module_waits_for_its_code_after_host_release(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_orphan", MODULE_STATE_LIVE);
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_block_wait1);

	l->owner = mod;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->blocker, tr_call_block, f, "dpx-tr-block"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(&f->block_entered) == 1, 5000));
	mod->state = MODULE_STATE_GOING;

	/* The release reverts the layer at once, then drains the call. */
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_unregister, &f->host,
					       "dpx-tr-unreg"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(READ_ONCE(l->unpinned), 5000));
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->killed, tr_module_going, mod,
					       "dpx-tr-going"), 0);
	KUNIT_EXPECT_TRUE(test, dpx_thread_sleeps(&f->killed, TASK_UNINTERRUPTIBLE, 500));

	complete_all(&f->gate);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->blocker, 5000));
	KUNIT_EXPECT_EQ(test, f->blocker.result, 32L);
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->killed, 5000));
	KUNIT_EXPECT_EQ(test, drvproxy_layer_revert(l), 0);
}

/* At DRVPROXY_TP_EXT_UNLISTED: hold the release at the gate. */
static void tr_unlisted_hook(enum drvproxy_test_point tp)
{
	struct tr_fixture *f = tr_cur;

	if (tp != DRVPROXY_TP_EXT_UNLISTED)
		return;
	atomic_inc(&f->unlisted);
	wait_for_completion(&f->gate);
}

/*
 * A module that goes while its host releases the extension, the release
 * already off the list of extensions but not yet at their layers: the
 * module's going still reverts its layer, before its memory goes.
 */
static void going_module_reverts_layer_of_extension_being_released(struct kunit *test)
{
	struct tr_fixture *f = test->priv;
	struct module *mod = tr_module(test, "dpx_tr_racing", MODULE_STATE_LIVE);
	struct drvproxy_layer *l = tr_layer(f, DRVPROXY_MODE_LIVE, tr_inner1);

	l->owner = mod;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_ASSERT_EQ(test, dpx_tr_inner(0), 11);
	drvproxy_test_set_hook(tr_unlisted_hook);
	KUNIT_ASSERT_EQ(test, dpx_thread_start(&f->caller, tr_unregister, &f->host,
					       "dpx-tr-unreg"), 0);
	KUNIT_ASSERT_TRUE(test, DPX_POLL(atomic_read(&f->unlisted) == 1, 5000));

	mod->state = MODULE_STATE_GOING;
	drvproxy_test_module_going(mod);
	KUNIT_EXPECT_EQ(test, dpx_tr_inner(0), 10);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(l->ext), NULL);
	complete_all(&f->gate);
	KUNIT_EXPECT_TRUE(test, dpx_thread_wait(&f->caller, 5000));
	drvproxy_test_set_hook(NULL);
}

static struct kunit_case drvproxy_retire_cases[] = {
	KUNIT_CASE(superseded_table_outlives_call_that_loaded_it_before_publish),
	KUNIT_CASE(stalled_caller_touches_no_table_after_leaving_it),
	KUNIT_CASE(stalled_caller_survives_unregister_while_uncounted),
	KUNIT_CASE(revert_keeps_extension_host_releases_meanwhile),
	KUNIT_CASE(going_module_waits_for_its_code_after_host_release),
	KUNIT_CASE(going_module_waits_for_retire_worker_done_with_its_layer),
	KUNIT_CASE(going_module_reverts_layer_of_extension_being_released),
	{}
};

static struct kunit_suite drvproxy_retire_suite = {
	.name = "drvproxy_retire",
	.init = tr_init,
	.exit = tr_exit,
	.test_cases = drvproxy_retire_cases,
};

kunit_test_suites(&drvproxy_stall_suite, &drvproxy_restart_suite, &drvproxy_replace_suite,
		  &drvproxy_depth_suite, &drvproxy_build_suite, &drvproxy_context_suite,
		  &drvproxy_retire_suite);
