// SPDX-License-Identifier: GPL-2.0
/*
 * torture_main.c - drvproxy_torture.ko: a locktorture-style stress test of
 * drvproxy's swap engine
 *
 * Loading the module registers the driver object "drvproxy_torture" with
 * five endpoints (torture_impl.c), starts a hot-swappable worker on one of
 * them, and runs the test from kthreads:
 *
 *   callers      ncallers_per_cpu per online CPU; each calls the endpoints in
 *                random order: FAST in atomic context (preemption, interrupts
 *                or bottom halves disabled, a spinlock held, inside
 *                rcu_read_lock()), SLEEP (sleeps, so calls are in flight
 *                during swaps), WAIT (drvproxy_wait_event_interruptible() on
 *                the feed: re-dispatched by swaps), NOTE (returns void); and
 *                they signal the worker's event.
 *   feeder       advances the feed sequence the WAIT calls wait for.
 *   swappers     nswappers; each owns TORT_KINDS_PER_SWAPPER layer kinds and
 *                applies and reverts them in random order, live or stalled
 *                (stalled sometimes with a 1 ms drain timeout, so the timeout
 *                path runs), sometimes as an atomic replace, sometimes with
 *                phased callbacks that call endpoints themselves or fail in
 *                a chosen phase (so every rollback path runs).  Kinds of all
 *                swappers stack on the one driver, and any of them may be
 *                reverted while others sit above it.
 *   control      every quiesce_interval seconds parks the swappers at a
 *                quiescent point (below), every stat_interval seconds prints
 *                statistics, and after duration seconds stops everything,
 *                makes the final checks and prints
 *                "drvproxy_torture: End of test: SUCCESS" (or FAILURE).
 *                The module then stays loaded, idle, until rmmod; rmmod
 *                before the end stops the test early (and prints the line).
 *
 * What a call may reach.  A swapper publishes the state of each of its kinds
 * in a state word (&struct tort_kind.word): APPLYING before it calls
 * drvproxy_layer_apply(), APPLIED or IDLE after it returned, REVERTING before
 * drvproxy_layer_revert(), IDLE or APPLIED after.  Each change takes a ticket
 * from one global clock, so equal reads of a word mean "no change between
 * them", and tickets of different kinds order their events in time.  Atomic
 * replaces likewise publish a replace word.  Before each call a caller
 * snapshots every word (acquire), and the implementation the call reaches
 * reads them again (after its table was loaded).  With an unchanged word over
 * that window, a kind was IDLE for the whole call, or applied (APPLIED:
 * apply returned before, revert not started) for the whole call.  Then:
 *
 *   - a kind's implementation may run only if the kind was not IDLE for the
 *     whole call: after drvproxy_layer_revert() returned, new calls never
 *     reach the reverted code (any table they load was published after);
 *   - if, for the whole call and with no atomic replace in sight, a kind j
 *     covering the endpoint was applied (and started its apply after the
 *     last atomic replace ended), the original must not run, and neither
 *     must a kind k whose apply returned before j's apply started: j sits
 *     above k in the stack (applies are serialised, so ticket order is stack
 *     order).  This checks the table drvproxy builds for every stack shape:
 *     applies on top, reverts in the middle, atomic replaces;
 *   - a kind dropped by an atomic replace that started after its apply
 *     returned must not run while its state is unchanged;
 *   - the call completes in exactly one implementation, the one that
 *     implements the endpoint, with the caller's arguments (an echo), and
 *     the return value it produced (tort_encode());
 *   - the generation of the table the call ran in (white-box: the call's
 *     &drvproxy_generation) lies between drvproxy_extension_generation() before
 *     and after the call, never goes backwards for a caller, also when a
 *     swap-aware wait re-dispatched the call.
 *
 * What must never run (no freed implementation ever runs).  drvproxy promises
 * that code of a layer that left the stack stays pinned (its module cannot
 * go) while a call may be inside it, and that a failed apply changed nothing.
 * Every layer instance (&struct tort_inst, a fresh &struct drvproxy_layer per
 * apply) counts the calls inside its code (the instance is found through the
 * call's table slot, &drvproxy_generation.src) and has a "dead" flag:
 *
 *   - set at once when its apply failed: nothing pins this module for it, so
 *     a companion's init returning that error would be freed right away;
 *   - set at a quiescent point: the swappers revert everything and park,
 *     and the control thread waits until module_refcount() of this module
 *     is 0 again, i.e. drvproxy dropped every pin that applied and draining
 *     layers hold on their owner (this module is host and owner of every
 *     layer).  Then no call may be inside any instance's code, and every
 *     instance that left the stack is dead; it is freed at the next
 *     quiescent point (KASAN sees any later use).  While parked, every call
 *     must reach the originals.
 *
 * An implementation that runs (enters or leaves) a dead instance's code, or
 * a count that is not zero when an instance dies, is a FAILURE.  At the end,
 * the completed runs of all implementations per endpoint (per-CPU counters)
 * must add up to the calls the callers made, drvproxy must count at least as
 * many calls, and no call may be in flight.  Any unexpected result of an
 * apply or revert is a FAILURE: apply and revert may only fail with the
 * error a callback was told to return, with -ETIMEDOUT after a 1 ms stalled
 * drain, and revert with -ENOENT after an atomic replace dropped the layer.
 *
 * Locking and lifetime: the callers, feeder and worker never lock anything of
 * ours.  A kind's words and tickets are written only by its swapper; the
 * graveyards (instances that left the stack) only by their swapper, or by
 * the control thread while that swapper is parked or stopped.  The control
 * thread stops every other thread; module exit stops the control thread
 * and then unregisters the driver, which waits for calls still draining, and
 * frees the remaining instances.  Every applied layer pins this module (it
 * is the host), so rmmod succeeds only while no layer is applied.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "../../module/drvproxy/compat.h"
#include "torture.h"

static int ncallers_per_cpu = 4;
module_param(ncallers_per_cpu, int, 0444);
MODULE_PARM_DESC(ncallers_per_cpu, "Caller threads per online CPU (default 4)");

static int nswappers = 2;
module_param(nswappers, int, 0444);
MODULE_PARM_DESC(nswappers, "Swapper threads, 1-4; each owns 3 layer kinds (default 2)");

static int duration = 30;
module_param(duration, int, 0444);
MODULE_PARM_DESC(duration, "Test duration in seconds (default 30)");

static int stat_interval = 10;
module_param(stat_interval, int, 0444);
MODULE_PARM_DESC(stat_interval, "Seconds between statistics lines, 0: only at the end (default 10)");

static int quiesce_interval = 3;
module_param(quiesce_interval, int, 0444);
MODULE_PARM_DESC(quiesce_interval, "Seconds between quiescent points, 0: only at the end (default 3)");

static int quiesce_hold_ms = 20;
module_param(quiesce_hold_ms, int, 0444);
MODULE_PARM_DESC(quiesce_hold_ms, "Milliseconds the callers run at a quiescent point (default 20)");

static int replace_every = 16;
module_param(replace_every, int, 0444);
MODULE_PARM_DESC(replace_every, "One apply in N is an atomic replace, 0: never (default 16)");

static int stalled_every = 6;
module_param(stalled_every, int, 0444);
MODULE_PARM_DESC(stalled_every, "One layer in N is stalled, 0: never (default 6)");

static int short_timeout_every = 2;
module_param(short_timeout_every, int, 0444);
MODULE_PARM_DESC(short_timeout_every, "One stalled layer in N drains with a 1 ms timeout, 0: never (default 2)");

static int callback_every = 4;
module_param(callback_every, int, 0444);
MODULE_PARM_DESC(callback_every, "One layer in N has phased callbacks, 0: never (default 4)");

static int cb_fail_every = 4;
module_param(cb_fail_every, int, 0444);
MODULE_PARM_DESC(cb_fail_every, "One callback in N fails in a random phase, 0: never (default 4)");

static int cb_fail_phases = 7;
module_param(cb_fail_phases, int, 0444);
MODULE_PARM_DESC(cb_fail_phases, "Phases a failing callback may fail in: 1 PRE, 2 STALLED, 4 POST (default 7)");

static bool rcu_callers = true;
module_param(rcu_callers, bool, 0444);
MODULE_PARM_DESC(rcu_callers, "FAST is also called inside rcu_read_lock() (default 1)");

static unsigned int sleep_us_param = 200;
module_param_named(sleep_us, sleep_us_param, uint, 0444);
MODULE_PARM_DESC(sleep_us, "Longest sleep of a SLEEP call in microseconds (default 200)");

static int swap_delay_us;
module_param(swap_delay_us, int, 0444);
MODULE_PARM_DESC(swap_delay_us, "Sleep between two swaps of a swapper, microseconds (default 0)");

static int tort_verbose;
module_param_named(verbose, tort_verbose, int, 0444);
MODULE_PARM_DESC(verbose, "1: log quiescent points, 2: also every swap (default 0)");

/* The error a failing callback returns, so it is told apart from others. */
#define TORT_CB_ERR		(-EPROTO)
/* At most this many failure messages; the count goes on. */
#define TORT_MAX_MESSAGES	20

struct tort_kind tort_kinds[TORT_MAX_KINDS];
unsigned int tort_nkinds;
atomic_long_t tort_replace_word;
unsigned long tort_replace_ok_start;
atomic_long_t tort_feed_seq;
DECLARE_WAIT_QUEUE_HEAD(tort_feed_wq);
static struct tort_ctx tort_worker_ctx = { .name = "worker" };
unsigned int tort_sleep_us;

/* Endpoints each kind replaces, by kind number modulo 6. */
static const unsigned long tort_masks[6] = {
	BIT(TORT_EP_FAST) | BIT(TORT_EP_SLEEP) | BIT(TORT_EP_WAIT) |
		BIT(TORT_EP_NOTE) | BIT(TORT_EP_WORKER) | BIT(TORT_EP_IOCTL),
	BIT(TORT_EP_FAST) | BIT(TORT_EP_WAIT) | BIT(TORT_EP_WORKER),
	BIT(TORT_EP_SLEEP) | BIT(TORT_EP_NOTE) | BIT(TORT_EP_IOCTL),
	BIT(TORT_EP_FAST) | BIT(TORT_EP_SLEEP) | BIT(TORT_EP_NOTE),
	BIT(TORT_EP_WAIT) | BIT(TORT_EP_NOTE) | BIT(TORT_EP_WORKER) | BIT(TORT_EP_IOCTL),
	BIT(TORT_EP_FAST) | BIT(TORT_EP_WORKER),
};

struct tort_swapper {
	char name[24];
	struct task_struct *task;
	unsigned int kind[TORT_KINDS_PER_SWAPPER];
	struct tort_inst *cur[TORT_KINDS_PER_SWAPPER];
	struct list_head graveyard;	/* left the stack, not dead yet */
	struct list_head dead;		/* dead, freed at the next quiescent point */
	struct rnd_state rnd;
	struct tort_ctx cbctx;		/* calls made from its callbacks */
	unsigned long applies;
	unsigned long reverts;
	unsigned long replaces;
	unsigned long stalled;
	unsigned long timeouts;
	unsigned long refused;		/* stalled transitions that would change FAST */
	unsigned long cb_errors;
	unsigned long dropped;
};

struct tort_caller {
	struct tort_ctx ctx;
	struct tort_ctx nested;		/* calls nested in ctx's SLEEP calls */
	char nested_name[32];
	struct task_struct *task;
	spinlock_t lock;		/* only to call FAST with a spinlock held */
	char name[24];
};

static struct drvproxy_driver *tort_drv;
static struct drvproxy_extension *tort_ext;
static struct drvproxy_worker *tort_wk;
static struct drvproxy_event tort_event;
static struct task_struct *tort_ctl_task;
static struct task_struct *tort_feeder_task;
static struct tort_caller *tort_callers;
static int tort_ncallers;
static struct tort_swapper tort_swappers[TORT_MAX_SWAPPERS];
static int tort_nswappers;

static atomic_long_t tort_clock;
static atomic_long_t tort_failures;
static atomic_long_t tort_apply_failures;
static atomic_t tort_messages;
static DEFINE_SPINLOCK(tort_replace_lock);	/* writers of the replace word */
static atomic_long_t tort_replaces_started;
static atomic_long_t tort_replaces_ended;
static bool tort_quiesce_req;
static atomic_t tort_parked;
static DECLARE_WAIT_QUEUE_HEAD(tort_park_wq);	/* parked swappers */
static DECLARE_WAIT_QUEUE_HEAD(tort_ctl_wq);	/* the control thread */
static unsigned long tort_quiesces;
/*
 * Threads end on these flags, not on kthread_stop(): kthread_stop() makes
 * signal_pending() true, so drvproxy's interruptible locks and waits would
 * fail with -EINTR in the reverts that end a swapper.
 */
static bool tort_stop_req;		/* rmmod before the end */
static bool tort_swappers_stop;
static bool tort_callers_stop;
static bool tort_feeder_stop;
static atomic_t tort_running;		/* threads that did not finish yet */
static DECLARE_WAIT_QUEUE_HEAD(tort_done_wq);
static DECLARE_COMPLETION(tort_ctl_done);
static struct task_struct *tort_lingerer_task;
static struct tort_ctx tort_linger_ctx = { .name = "lingerer" };
static atomic_t tort_linger_req;
static bool tort_lingering;
static DECLARE_WAIT_QUEUE_HEAD(tort_linger_wq);
/* Long SLEEP calls that stay in their table across many swaps. */
static struct task_struct *tort_blocker_task;
static struct tort_ctx tort_blocker_ctx = { .name = "blocker" };
/* IOCTL calls of a thread that is killed while stalled transitions run. */
static struct task_struct *tort_victim_task;
static struct tort_ctx tort_victim_ctx = { .name = "victim", .killable = true };
static struct task_struct *tort_killer_task;
static atomic_t tort_stalling;		/* stalled applies and reverts running */
static DECLARE_WAIT_QUEUE_HEAD(tort_kill_wq);
static unsigned long tort_kills;

static void tort_vfail(const char *who, const char *fmt, va_list *args)
{
	struct va_format vaf = { .fmt = fmt, .va = args };

	atomic_long_inc(&tort_failures);
	/* The control thread's verdicts are few: always print them. */
	if (strcmp(who, "control") && atomic_inc_return(&tort_messages) > TORT_MAX_MESSAGES)
		return;
	pr_err("FAILURE: %s: %pV\n", who, &vaf);
}

void tort_fail(const char *who, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	tort_vfail(who, fmt, &args);
	va_end(args);
}

/* A failure in the code of a layer whose apply failed; counted apart. */
void tort_fail_apply(const char *who, const char *fmt, ...)
{
	va_list args;

	atomic_long_inc(&tort_apply_failures);
	va_start(args, fmt);
	tort_vfail(who, fmt, &args);
	va_end(args);
}

/* The lingerer's SLEEP call has started its long sleep. */
void tort_note_lingering(void)
{
	WRITE_ONCE(tort_lingering, true);
	wake_up_all(&tort_ctl_wq);
}

/* Sleep until kthread_stop(), which reaps this thread. */
static void tort_wait_for_stop(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/* A thread finished its work: wait for kthread_stop(). */
static void tort_thread_done(void)
{
	atomic_dec(&tort_running);
	wake_up_all(&tort_done_wq);
	tort_wait_for_stop();
}

/* Raise @flag and wait until every thread it ends is done. */
static void tort_end_threads(bool *flag, int n)
{
	int left = atomic_read(&tort_running) - n;

	WRITE_ONCE(*flag, true);
	wake_up_all(&tort_park_wq);
	wait_event(tort_done_wq, atomic_read(&tort_running) <= left);
}

static unsigned long tort_tick(void)
{
	return atomic_long_inc_return(&tort_clock);
}

/* Before a call: the generation and every state word, in that order. */
void tort_snapshot(struct tort_ctx *c)
{
	unsigned int j;

	c->gen0 = drvproxy_extension_generation(tort_ext);
	for (j = 0; j < tort_nkinds; j++)
		c->kind[j] = atomic_long_read_acquire(&tort_kinds[j].word);
	c->replace = atomic_long_read_acquire(&tort_replace_word);
}

/* ---- calls ---- */

static void tort_validate(struct tort_ctx *c, enum tort_ep ep, u64 x, u64 ret,
			  bool has_ret, u64 gen1)
{
	const char *what = tort_ep_names[ep];
	unsigned int impl = c->impl;
	u64 want;

	if (c->completions != 1) {
		tort_fail(c->name, "%s: call completed by %u implementations", what,
			  c->completions);
		return;
	}
	if (impl >= TORT_NR_IMPL || (impl && (impl > tort_nkinds ||
					      !(tort_kinds[impl - 1].covers & BIT(ep))))) {
		tort_fail(c->name, "%s: implementation %u does not implement it", what, impl);
		return;
	}
	want = tort_encode(impl, c->gen);
	if (ep == TORT_EP_WAIT)
		want &= LONG_MAX;
	if (has_ret && ret != want)
		tort_fail(c->name, "%s: returned %#llx, implementation %u returns %#llx",
			  what, ret, impl, want);
	if (c->echo != tort_echo(x, impl, ep))
		tort_fail(c->name, "%s: implementation %u saw other arguments", what, impl);
	if (c->gen < c->gen0 || c->gen > gen1)
		tort_fail(c->name, "%s: ran in table generation %llu, outside [%llu, %llu]",
			  what, c->gen, c->gen0, gen1);
	if (c->gen < c->last_gen)
		tort_fail(c->name, "%s: table generation went back from %llu to %llu", what,
			  c->last_gen, c->gen);
	/*
	 * A re-dispatched call may end in the very table it left: a stalled
	 * transition that failed publishes the old table again.
	 */
	if (c->restart_gen) {
		c->redispatched++;
		if (c->gen < c->restart_gen)
			tort_fail(c->name, "%s: re-dispatched from generation %llu into %llu", what,
				  c->restart_gen, c->gen);
	}
	c->last_gen = c->gen;
	c->calls[ep]++;
}

/*
 * A call that returned -EINTR, which no implementation returns: only a
 * killable caller, killed while it waited at wrapper entry for a stalled
 * transition, may get it, and then no implementation may have run.
 */
static bool tort_killed_waiter(struct tort_ctx *c)
{
	if (!c->killable || !fatal_signal_pending(current))
		return false;
	if (c->entered || c->completions)
		tort_fail(c->name, "ioctl: killed caller got -EINTR after %u implementations ran",
			  c->entered);
	c->killed++;
	return true;
}

/* One call of @ep; @how picks the context FAST runs in. */
static void tort_do_call(struct tort_ctx *c, spinlock_t *lock, enum tort_ep ep, u64 x,
			 u32 how)
{
	unsigned long flags;
	bool has_ret = true;
	u64 ret = 0;
	long lret;

	tort_snapshot(c);
	c->completions = 0;
	c->entered = 0;
	c->impl = TORT_NR_IMPL;
	c->restart_gen = 0;
	switch (ep) {
	case TORT_EP_FAST:
		switch (how % 5) {
		case 0:
			preempt_disable();
			ret = tort_fast(c, x);
			preempt_enable();
			break;
		case 1:
			local_irq_save(flags);
			ret = tort_fast(c, x);
			local_irq_restore(flags);
			break;
		case 2:
			local_bh_disable();
			ret = tort_fast(c, x);
			local_bh_enable();
			break;
		case 3:
			if (rcu_callers) {
				rcu_read_lock();
				ret = tort_fast(c, x);
				rcu_read_unlock();
				break;
			}
			fallthrough;
		default:
			if (lock) {
				spin_lock(lock);
				ret = tort_fast(c, x);
				spin_unlock(lock);
			} else {
				ret = tort_fast(c, x);
			}
			break;
		}
		break;
	case TORT_EP_SLEEP:
		ret = tort_sleep(c, x);
		break;
	case TORT_EP_WAIT:
		c->feed_seen = atomic_long_read(&tort_feed_seq);
		lret = tort_wait(c, x);
		if (lret < 0) {
			tort_fail(c->name, "wait: returned %ld", lret);
			return;
		}
		ret = (u64)lret;
		break;
	case TORT_EP_NOTE:
		tort_call_note(c, x);
		has_ret = false;
		break;
	case TORT_EP_IOCTL:
		c->ioctl_x = x;
		lret = tort_ioctl(NULL, 0, (unsigned long)c);
		if (lret == -EINTR && tort_killed_waiter(c))
			return;
		if (lret < 0) {
			tort_fail(c->name, "ioctl: returned %ld", lret);
			return;
		}
		ret = (u64)lret;
		break;
	default:
		return;
	}
	tort_validate(c, ep, x, ret, has_ret, drvproxy_extension_generation(tort_ext));
}

/* What the callers call: FAST most, then SLEEP, then WAIT, NOTE and IOCTL. */
static const enum tort_ep tort_pick[8] = {
	TORT_EP_FAST, TORT_EP_FAST, TORT_EP_FAST, TORT_EP_SLEEP,
	TORT_EP_SLEEP, TORT_EP_WAIT, TORT_EP_NOTE, TORT_EP_IOCTL,
};

/* What a call nested in a SLEEP call calls; see tort_sleep_body(). */
static const enum tort_ep tort_nest_pick[5] = {
	TORT_EP_FAST, TORT_EP_SLEEP, TORT_EP_WAIT, TORT_EP_NOTE, TORT_EP_IOCTL,
};

/*
 * Called from inside a SLEEP implementation of @c's call: one call of
 * another endpoint, in @c->nested (which does not nest any further).  It
 * is checked like any call; a stalled transition that begins meanwhile
 * must let it run (in the superseded implementation) rather than wait for
 * it while its drain waits for the outer call.
 */
void tort_nest(struct tort_ctx *c, u64 x)
{
	u64 y = get_random_u64();

	tort_do_call(c->nested, NULL, tort_nest_pick[(x >> 48) % ARRAY_SIZE(tort_nest_pick)],
		     y, (u32)(y >> 8));
	c->nests++;
}

static int tort_caller_fn(void *arg)
{
	struct tort_caller *tc = arg;
	struct rnd_state rnd;
	unsigned long n = 0;

	prandom_seed_state(&rnd, get_random_u64());
	while (!READ_ONCE(tort_callers_stop)) {
		u32 r = prandom_u32_state(&rnd);
		u64 x = (u64)prandom_u32_state(&rnd) << 32 | r;

		tort_do_call(&tc->ctx, &tc->lock, tort_pick[r % 8], x, r >> 8);
		if (!(++n % 32))
			drvproxy_event_set(&tort_event);
		cond_resched();
	}
	tort_thread_done();
	return 0;
}

/* Moves the feed on for the WAIT calls, until it is stopped last. */
static int tort_feeder_fn(void *arg)
{
	while (!READ_ONCE(tort_feeder_stop)) {
		atomic_long_inc(&tort_feed_seq);
		wake_up_all(&tort_feed_wq);
		usleep_range(500, 1000);
	}
	tort_thread_done();
	return 0;
}

/*
 * The blocker: SLEEP calls of 20 to 250 ms, each in flight across many
 * swaps, so that stalled transitions start while a call is still running in
 * a table that earlier live swaps and timed-out stalls superseded.  The
 * STALLED rule (torture_impl.c) fails if a stalled drain does not wait for
 * it too.
 */
static int tort_blocker_fn(void *arg)
{
	struct tort_ctx *c = arg;

	while (!READ_ONCE(tort_callers_stop)) {
		u32 ms = 20 + get_random_u32_below(231);

		tort_do_call(c, NULL, TORT_EP_SLEEP, TORT_X_BLOCK | ms, 0);
		usleep_range(1000, 20000);
	}
	tort_thread_done();
	return 0;
}

/*
 * The victim calls IOCTL, a file method, over and over; the killer sends it
 * SIGKILL while stalled transitions run.  A call killed while it waits at
 * wrapper entry must return -EINTR at once without running anything
 * (tort_killed_waiter()); any other call completes as usual.  A kthread
 * takes SIGKILL only if it allows it, and must flush it itself.
 */
static int tort_victim_fn(void *arg)
{
	struct tort_ctx *c = arg;

	allow_signal(SIGKILL);
	while (!READ_ONCE(tort_callers_stop)) {
		u32 r = get_random_u32();

		tort_do_call(c, NULL, TORT_EP_IOCTL, (u64)get_random_u32() << 32 | r, r >> 8);
		if (signal_pending(current))
			flush_signals(current);
		cond_resched();
	}
	/* Ignore and drop a last kill: it would keep the wait for stop awake. */
	disallow_signal(SIGKILL);
	tort_thread_done();
	return 0;
}

static void tort_stalling_mark(int delta)
{
	atomic_add(delta, &tort_stalling);
	if (delta > 0)
		wake_up(&tort_kill_wq);
}

static int tort_killer_fn(void *arg)
{
	while (!READ_ONCE(tort_callers_stop)) {
		wait_event_timeout(tort_kill_wq, atomic_read(&tort_stalling) ||
				   READ_ONCE(tort_callers_stop), HZ / 10);
		if (!atomic_read(&tort_stalling))
			continue;
		/* Give the victim time to reach the stall and wait there. */
		usleep_range(100, 2000);
		if (atomic_read(&tort_stalling)) {
			send_sig(SIGKILL, tort_victim_task, 1);
			WRITE_ONCE(tort_kills, tort_kills + 1);
		}
		usleep_range(1000, 5000);
	}
	tort_thread_done();
	return 0;
}

/* ---- swaps ---- */

static bool tort_one_in(struct tort_swapper *sw, int n)
{
	return n > 0 && prandom_u32_state(&sw->rnd) % n == 0;
}

static void tort_set_word(struct tort_kind *kd, unsigned long ticket, enum tort_kstate st)
{
	atomic_long_set_release(&kd->word, (long)(ticket << TORT_STATE_BITS | st));
}

static bool tort_going(void)
{
	return THIS_MODULE->state == MODULE_STATE_GOING;
}

/* Begin (@delta 1) or end (@delta -1) an atomic replace started at @start. */
static void tort_replace_mark(int delta, bool ok, unsigned long start)
{
	long old;

	spin_lock(&tort_replace_lock);
	if (ok && start > tort_replace_ok_start)
		WRITE_ONCE(tort_replace_ok_start, start);
	old = atomic_long_read(&tort_replace_word);
	atomic_long_set_release(&tort_replace_word,
				(long)(tort_tick() << TORT_REPL_BITS |
				       (TORT_REPL_BUSY(old) + delta)));
	spin_unlock(&tort_replace_lock);
	if (delta > 0)
		atomic_long_inc(&tort_replaces_started);
	else
		atomic_long_inc(&tort_replaces_ended);
}

/* The phased callback of apply and revert; see struct tort_inst. */
/*
 * The STALLED phase begins: every call of a process-context endpoint must
 * have left its implementation, and none may enter one until it ends
 * (tort_stall_rule_enter()).  The window stays open a little, so that a
 * stall that does not hold callers back is caught in the act.
 */
static void tort_stalled_begin(struct tort_swapper *sw)
{
	WRITE_ONCE(tort_stalled_task, current);
	/* Pairs with smp_mb__after_atomic() in tort_stall_rule_enter(). */
	smp_mb();
	if (atomic_read(&tort_in_sleepable))
		tort_fail(sw->name, "STALLED began with %d calls inside implementations",
			  atomic_read(&tort_in_sleepable));
	usleep_range(50, 200);
}

static void tort_stalled_end(void)
{
	WRITE_ONCE(tort_stalled_task, NULL);
}

static int tort_cb(enum drvproxy_phase phase, void *context)
{
	struct tort_inst *inst = context;
	struct tort_swapper *sw = inst->sw;
	unsigned int fail = inst->reverting ? inst->revert_fail_phase : inst->fail_phase;

	if (inst->seen && (int)phase <= inst->last_phase)
		tort_fail(sw->name, "callback: phase %d after phase %d", phase, inst->last_phase);
	if (phase == DRVPROXY_PHASE_STALLED && inst->layer.mode != DRVPROXY_MODE_STALLED)
		tort_fail(sw->name, "callback: STALLED phase of a live layer");
	inst->seen |= BIT(phase);
	inst->last_phase = phase;
	if (phase == DRVPROXY_PHASE_STALLED)
		tort_stalled_begin(sw);
	if (inst->cb_calls) {
		u32 r = prandom_u32_state(&sw->rnd);

		/* The transition's own task: it never waits for the stall. */
		tort_do_call(&sw->cbctx, NULL, r & 1 ? TORT_EP_NOTE : TORT_EP_FAST,
			     get_random_u64(), r >> 8);
	}
	if (phase == DRVPROXY_PHASE_STALLED)
		tort_stalled_end();
	if (fail != phase + 1)
		return 0;
	/* Let callers enter the table a failing POST publishes and rolls back. */
	if (phase == DRVPROXY_PHASE_POST)
		usleep_range(1000, 2000);
	sw->cb_errors++;
	return TORT_CB_ERR;
}

/*
 * The phases a callback must have seen when the operation returned @ret;
 * @fail: the phase it was told to fail in, plus one.
 */
static void tort_check_phases(struct tort_swapper *sw, struct tort_inst *inst, int ret,
			      unsigned int fail, const char *op)
{
	bool stalled = inst->layer.mode == DRVPROXY_MODE_STALLED;
	unsigned int want = BIT(DRVPROXY_PHASE_PRE);

	if (!inst->layer.callback || tort_going())
		return;
	if (!ret) {
		want |= BIT(DRVPROXY_PHASE_POST);
		if (stalled)
			want |= BIT(DRVPROXY_PHASE_STALLED);
	} else if (ret == TORT_CB_ERR) {
		if (stalled && fail - 1 >= DRVPROXY_PHASE_STALLED)
			want |= BIT(DRVPROXY_PHASE_STALLED);
		if (fail - 1 == DRVPROXY_PHASE_POST)
			want |= BIT(DRVPROXY_PHASE_POST);
	}
	if (inst->seen != want)
		tort_fail(sw->name, "%s of kind %u returned %d after callback phases %#x, want %#x",
			  op, inst->kind, ret, inst->seen, want);
}

static unsigned int tort_pick_fail(struct tort_swapper *sw, bool stalled)
{
	unsigned int phases[DRVPROXY_PHASE_MAX], p, n = 0;

	if (!tort_one_in(sw, cb_fail_every))
		return 0;
	for (p = 0; p < DRVPROXY_PHASE_MAX; p++)
		if ((cb_fail_phases & BIT(p)) && (stalled || p != DRVPROXY_PHASE_STALLED))
			phases[n++] = p;
	return n ? phases[prandom_u32_state(&sw->rnd) % n] + 1 : 0;
}

static void tort_apply(struct tort_swapper *sw, unsigned int slot)
{
	unsigned int k = sw->kind[slot];
	struct tort_kind *kd = &tort_kinds[k];
	struct tort_inst *inst = kzalloc(sizeof(*inst), GFP_KERNEL);
	struct drvproxy_layer *l;
	unsigned long start;
	bool stalled;
	int ret;

	if (!inst) {
		tort_fail(sw->name, "out of memory");
		return;
	}
	inst->sw = sw;
	inst->kind = k;
	atomic_set(&inst->in_impl, 0);
	l = &inst->layer;
	l->target = TORT_NAME;
	l->owner = THIS_MODULE;
	stalled = tort_one_in(sw, stalled_every);
	l->mode = stalled ? DRVPROXY_MODE_STALLED : DRVPROXY_MODE_LIVE;
	inst->short_timeout = stalled && tort_one_in(sw, short_timeout_every);
	l->drain_timeout_ms = inst->short_timeout ? 1 : 0;
	l->replace = tort_one_in(sw, replace_every);
	if (tort_one_in(sw, callback_every)) {
		l->callback = tort_cb;
		l->revert_callback = tort_cb;
		l->context = inst;
		inst->cb_calls = prandom_u32_state(&sw->rnd) & 1;
		inst->fail_phase = tort_pick_fail(sw, stalled);
		inst->revert_fail_phase = tort_pick_fail(sw, stalled);
	}
	l->replacements = kd->repl;
	l->nr_replacements = kd->nr_repl;

	inst->replaces_ended = atomic_long_read(&tort_replaces_ended);
	start = tort_tick();
	if (l->replace)
		tort_replace_mark(1, false, start);
	WRITE_ONCE(kd->start_ticket, start);
	tort_set_word(kd, start, TORT_APPLYING);
	inst->last_phase = -1;
	if (stalled)
		tort_stalling_mark(1);
	ret = drvproxy_layer_apply(l);
	if (stalled)
		tort_stalling_mark(-1);
	if (l->replace)
		tort_replace_mark(-1, !ret, start);
	if (!ret && stalled && (kd->covers & BIT(TORT_EP_FAST)))
		tort_fail(sw->name, "stalled apply of kind %u changed the atomic FAST", k);
	if (!ret) {
		unsigned long t = tort_tick();

		WRITE_ONCE(kd->applied_ticket, t);
		tort_set_word(kd, t, TORT_APPLIED);
		sw->cur[slot] = inst;
		sw->applies++;
		sw->replaces += l->replace;
		sw->stalled += stalled;
		tort_check_phases(sw, inst, ret, 0, "apply");
		if (tort_verbose > 1)
			pr_info("%s: kind %u applied (%s%s)\n", sw->name, k,
				stalled ? "stalled" : "live", l->replace ? ", replace" : "");
		return;
	}
	tort_set_word(kd, tort_tick(), TORT_IDLE);
	/* Nothing pins this module for a failed apply: its code must be idle. */
	inst->failed_apply = true;
	WRITE_ONCE(inst->dead, true);
	/* Order the dead flag before the count, as an implementation does. */
	smp_mb();
	if (atomic_read(&inst->in_impl))
		tort_fail_apply(sw->name, "apply of kind %u failed (%d), %d calls in its code",
				k, ret, atomic_read(&inst->in_impl));
	if (ret == -ETIMEDOUT && inst->short_timeout) {
		sw->timeouts++;
	} else if (ret == -EOPNOTSUPP && stalled &&
		   ((kd->covers & BIT(TORT_EP_FAST)) || l->replace)) {
		/* It would change FAST, which is atomic: refused, rightly. */
		sw->refused++;
	} else if (ret == TORT_CB_ERR && inst->fail_phase) {
		tort_check_phases(sw, inst, ret, inst->fail_phase, "apply");
	} else if (!(ret == -ENODEV && tort_going())) {
		tort_fail(sw->name, "apply of kind %u (%s%s%s) returned %d", k,
			  stalled ? "stalled" : "live", l->replace ? ", replace" : "",
			  inst->short_timeout ? ", 1 ms timeout" : "", ret);
	}
	list_add_tail(&inst->node, &sw->graveyard);
}

/* Revert the instance in @slot; true when it left the stack. */
static bool tort_revert(struct tort_swapper *sw, unsigned int slot)
{
	struct tort_inst *inst = sw->cur[slot];
	unsigned int k = sw->kind[slot];
	struct tort_kind *kd = &tort_kinds[k];
	unsigned int fail = inst->revert_fail_phase;
	bool stalled = inst->layer.mode == DRVPROXY_MODE_STALLED;
	int ret;

	inst->seen = 0;
	inst->last_phase = -1;
	inst->reverting = true;
	tort_set_word(kd, tort_tick(), TORT_REVERTING);
	if (stalled)
		tort_stalling_mark(1);
	ret = drvproxy_layer_revert(&inst->layer);
	if (stalled)
		tort_stalling_mark(-1);
	if (!ret || ret == -ENOENT) {
		tort_set_word(kd, tort_tick(), TORT_IDLE);
		sw->cur[slot] = NULL;
		list_add_tail(&inst->node, &sw->graveyard);
		if (ret) {
			sw->dropped++;
			if (atomic_long_read(&tort_replaces_started) <= inst->replaces_ended)
				tort_fail(sw->name, "revert of kind %u: unexplained -ENOENT", k);
		} else {
			sw->reverts++;
			tort_check_phases(sw, inst, ret, 0, "revert");
		}
		if (tort_verbose > 1)
			pr_info("%s: kind %u reverted (%d)\n", sw->name, k, ret);
		return true;
	}
	tort_set_word(kd, tort_tick(), TORT_APPLIED);
	if (ret == -ETIMEDOUT && inst->short_timeout) {
		sw->timeouts++;
		/* Sometimes give it the default timeout, so it can leave. */
		if (tort_one_in(sw, 4))
			inst->layer.drain_timeout_ms = 0;
	} else if (ret == TORT_CB_ERR && fail) {
		tort_check_phases(sw, inst, ret, fail, "revert");
		inst->revert_fail_phase = 0;
	} else {
		tort_fail(sw->name, "revert of kind %u returned %d", k, ret);
		/* Do not retry an unexpected error forever. */
		inst->layer.revert_callback = NULL;
		inst->layer.drain_timeout_ms = 0;
	}
	return false;
}

static void tort_revert_all(struct tort_swapper *sw)
{
	unsigned int slot, tries;

	for (slot = 0; slot < TORT_KINDS_PER_SWAPPER; slot++) {
		for (tries = 0; sw->cur[slot] && tries < 50; tries++) {
			if (tries >= 10)
				sw->cur[slot]->layer.drain_timeout_ms = 0;
			tort_revert(sw, slot);
		}
		if (sw->cur[slot]) {
			tort_fail(sw->name, "kind %u could not be reverted", sw->kind[slot]);
			/* Leave it to module exit: drvproxy reverts it then. */
		}
	}
}

static void tort_park(struct tort_swapper *sw)
{
	tort_revert_all(sw);
	atomic_inc(&tort_parked);
	wake_up(&tort_ctl_wq);
	wait_event(tort_park_wq, !READ_ONCE(tort_quiesce_req) || READ_ONCE(tort_swappers_stop));
	atomic_dec(&tort_parked);
	wake_up(&tort_ctl_wq);
}

static int tort_swapper_fn(void *arg)
{
	struct tort_swapper *sw = arg;

	while (!READ_ONCE(tort_swappers_stop)) {
		unsigned int slot = prandom_u32_state(&sw->rnd) % TORT_KINDS_PER_SWAPPER;

		if (READ_ONCE(tort_quiesce_req)) {
			tort_park(sw);
			continue;
		}
		if (sw->cur[slot])
			tort_revert(sw, slot);
		else
			tort_apply(sw, slot);
		if (swap_delay_us > 0)
			usleep_range(swap_delay_us, 2 * swap_delay_us);
		else
			cond_resched();
	}
	tort_revert_all(sw);
	tort_thread_done();
	return 0;
}

/* ---- control ---- */

static u64 tort_sum_calls(enum tort_ep ep)
{
	u64 sum = tort_worker_ctx.calls[ep] + tort_linger_ctx.calls[ep] +
		  tort_blocker_ctx.calls[ep] + tort_victim_ctx.calls[ep];
	int i;

	for (i = 0; i < tort_ncallers; i++)
		sum += READ_ONCE(tort_callers[i].ctx.calls[ep]) +
		       READ_ONCE(tort_callers[i].nested.calls[ep]);
	for (i = 0; i < tort_nswappers; i++)
		sum += READ_ONCE(tort_swappers[i].cbctx.calls[ep]);
	return sum;
}

/*
 * The result and the last statistics line, also in
 * /sys/module/drvproxy_torture/{result,stats}: drvproxy logs every apply
 * and revert, so in a long run the kernel log wraps long before the end.
 */
static DEFINE_MUTEX(tort_status_lock);
static const char *tort_result = "running";
static char tort_stats[640];

static ssize_t result_show(DPX_MODULE_ATTR_CONST struct module_attribute *attr,
			   struct module_kobject *mk, char *buf)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(tort_result));
}

static ssize_t stats_show(DPX_MODULE_ATTR_CONST struct module_attribute *attr,
			  struct module_kobject *mk, char *buf)
{
	ssize_t n;

	mutex_lock(&tort_status_lock);
	n = sysfs_emit(buf, "%s", tort_stats);
	mutex_unlock(&tort_status_lock);
	return n;
}

static struct module_attribute tort_result_attr = __ATTR_RO(result);
static struct module_attribute tort_stats_attr = __ATTR_RO(stats);
static struct attribute *tort_status_attrs[] = {
	&tort_result_attr.attr, &tort_stats_attr.attr, NULL
};

static const struct attribute_group tort_status_group = { .attrs = tort_status_attrs };

static void tort_print_stats(const char *tag)
{
	unsigned long st[7] = {}, redisp = 0;
	size_t sz = sizeof(tort_stats), n;
	char *b = tort_stats;
	u64 calls[TORT_NR_EP], total = 0, nests = 0;
	int i, e;

	for (e = 0; e < TORT_NR_EP; e++) {
		calls[e] = tort_sum_calls(e);
		total += calls[e];
	}
	for (i = 0; i < tort_ncallers; i++) {
		redisp += READ_ONCE(tort_callers[i].ctx.redispatched) +
			  READ_ONCE(tort_callers[i].nested.redispatched);
		nests += READ_ONCE(tort_callers[i].ctx.nests);
	}
	for (i = 0; i < tort_nswappers; i++) {
		struct tort_swapper *sw = &tort_swappers[i];

		st[0] += READ_ONCE(sw->applies);
		st[1] += READ_ONCE(sw->reverts);
		st[2] += READ_ONCE(sw->replaces);
		st[3] += READ_ONCE(sw->stalled);
		st[4] += READ_ONCE(sw->timeouts);
		st[5] += READ_ONCE(sw->cb_errors);
		st[6] += READ_ONCE(sw->dropped);
	}
	mutex_lock(&tort_status_lock);
	n = scnprintf(b, sz,
		      "Calls: %llu (fast %llu sleep %llu wait %llu note %llu worker %llu ioctl %llu)",
		      total, calls[TORT_EP_FAST], calls[TORT_EP_SLEEP], calls[TORT_EP_WAIT],
		      calls[TORT_EP_NOTE], calls[TORT_EP_WORKER], calls[TORT_EP_IOCTL]);
	n += scnprintf(b + n, sz - n,
		       " redispatched %lu nested %llu blocked %llu kills %lu killed %llu",
		       redisp, nests, READ_ONCE(tort_blocker_ctx.calls[TORT_EP_SLEEP]),
		       READ_ONCE(tort_kills), READ_ONCE(tort_victim_ctx.killed));
	n += scnprintf(b + n, sz - n, "  Swaps: %lu (applies %lu reverts %lu",
		       st[0] + st[1] + st[6], st[0], st[1]);
	n += scnprintf(b + n, sz - n,
		       " replaces %lu stalled %lu timeouts %lu callback-errors %lu dropped %lu)",
		       st[2], st[3], st[4], st[5], st[6]);
	scnprintf(b + n, sz - n, "  Quiesces: %lu  Fail: %ld\n", tort_quiesces,
		  atomic_long_read(&tort_failures));
	pr_alert("%s%s", tag, tort_stats);
	mutex_unlock(&tort_status_lock);
}

static void tort_print_params(const char *tag)
{
	pr_alert("--- %s: ncallers_per_cpu=%d (%d callers) nswappers=%d duration=%d stat_interval=%d quiesce_interval=%d replace_every=%d stalled_every=%d short_timeout_every=%d callback_every=%d cb_fail_every=%d cb_fail_phases=%d rcu_callers=%d sleep_us=%u swap_delay_us=%d\n",
		 tag, ncallers_per_cpu, tort_ncallers, tort_nswappers, duration, stat_interval,
		 quiesce_interval, replace_every, stalled_every, short_timeout_every,
		 callback_every, cb_fail_every, cb_fail_phases, rcu_callers, tort_sleep_us,
		 swap_delay_us);
}

/* At a quiescent point: no call may be in @inst's code from now on. */
static void tort_inst_dies(struct tort_inst *inst)
{
	int in = atomic_read(&inst->in_impl);

	if (in && inst->failed_apply)
		tort_fail_apply("control", "%d calls in kind %u's code after its apply failed",
				in, inst->kind);
	else if (in)
		tort_fail("control", "%d calls in kind %u's code after its pins were dropped",
			  in, inst->kind);
	WRITE_ONCE(inst->dead, true);
}

/*
 * Have the lingerer enter SLEEP and stay there TORT_LINGER_MS: when its
 * implementation is a layer's, the layer is reverted under it, and drvproxy
 * must keep this module pinned until it returned.
 */
static void tort_linger(void)
{
	WRITE_ONCE(tort_lingering, false);
	atomic_inc(&tort_linger_req);
	wake_up_all(&tort_linger_wq);
	wait_event_timeout(tort_ctl_wq, READ_ONCE(tort_lingering), HZ);
}

static int tort_lingerer_fn(void *arg)
{
	struct tort_ctx *c = arg;
	int seen = 0;

	while (!READ_ONCE(tort_callers_stop)) {
		wait_event_timeout(tort_linger_wq, atomic_read(&tort_linger_req) != seen ||
				   READ_ONCE(tort_callers_stop), HZ);
		if (atomic_read(&tort_linger_req) == seen)
			continue;
		seen = atomic_read(&tort_linger_req);
		tort_do_call(c, NULL, TORT_EP_SLEEP, TORT_X_LINGER, 0);
	}
	tort_thread_done();
	return 0;
}

/*
 * A quiescent point: the swappers have reverted everything (parked, or
 * stopped when @final).  Wait until drvproxy drops its last pin on this
 * module, then no call may be inside a layer's code any more.
 */
static void tort_free_dead(struct tort_swapper *sw)
{
	struct tort_inst *inst, *n;

	list_for_each_entry_safe(inst, n, &sw->dead, node) {
		list_del(&inst->node);
		kfree(inst);
	}
}

static void tort_quiesce(bool final)
{
	unsigned long deadline;
	struct tort_inst *inst;
	int i, ref;

	if (!final) {
		wait_event_timeout(tort_ctl_wq, !atomic_read(&tort_parked), 60 * HZ);
		tort_linger();
		WRITE_ONCE(tort_quiesce_req, true);
		if (!wait_event_timeout(tort_ctl_wq,
					atomic_read(&tort_parked) == tort_nswappers, 120 * HZ)) {
			tort_fail("control", "swappers did not park within 120 s");
			goto resume;
		}
	}
	deadline = jiffies + 60 * HZ;
	while ((ref = module_refcount(THIS_MODULE)) > 0) {
		if (time_after(jiffies, deadline)) {
			tort_fail("control", "module pinned (%d) 60 s after every layer left",
				  ref);
			goto resume;
		}
		usleep_range(1000, 2000);
	}
	/* Pairs with the full barrier of drvproxy's module_put(). */
	smp_rmb();
	for (i = 0; i < tort_nswappers; i++) {
		struct tort_swapper *sw = &tort_swappers[i];

		tort_free_dead(sw);
		list_for_each_entry(inst, &sw->graveyard, node)
			tort_inst_dies(inst);
		list_splice_tail_init(&sw->graveyard, &sw->dead);
	}
	tort_quiesces++;
	if (tort_verbose)
		pr_info("quiescent point %lu: every layer drained\n", tort_quiesces);
	/* The callers must reach only the originals now. */
	if (quiesce_hold_ms > 0)
		msleep(quiesce_hold_ms);
resume:
	if (!final) {
		WRITE_ONCE(tort_quiesce_req, false);
		wake_up_all(&tort_park_wq);
	}
}

static int tort_endpoint_id(enum tort_ep ep)
{
	u32 id;

	for (id = 0; id < TORT_NR_EP; id++)
		if (drvproxy_get_endpoint_wrapper(tort_ext, id) == tort_wrappers[ep])
			return id;
	return -1;
}

static void tort_final_checks(void)
{
	struct drvproxy_endpoint_stats st;
	int e, cpu, impl;

	for (e = 0; e < TORT_NR_EP; e++) {
		u64 runs = 0, calls = tort_sum_calls(e);
		int id = tort_endpoint_id(e);

		for_each_possible_cpu(cpu)
			for (impl = 0; impl < TORT_NR_IMPL; impl++)
				runs += per_cpu_ptr(&tort_pcpu, cpu)->runs[impl][e];
		if (runs != calls)
			tort_fail("control", "%s: %llu calls, but implementations completed %llu",
				  tort_ep_names[e], calls, runs);
		if (id < 0 || drvproxy_endpoint_stats(tort_ext, id, &st)) {
			tort_fail("control", "%s: no endpoint statistics", tort_ep_names[e]);
			continue;
		}
		if (st.in_flight)
			tort_fail("control", "%s: %llu calls in flight after the test",
				  tort_ep_names[e], st.in_flight);
		if (st.calls < calls)
			tort_fail("control", "%s: drvproxy counted %llu calls, the test made %llu",
				  tort_ep_names[e], st.calls, calls);
		pr_info("%s: %llu calls (drvproxy counted %llu entries), %llu swaps\n",
			tort_ep_names[e], calls, st.calls, st.swaps);
	}
	for (e = 0; e < tort_nswappers; e++)
		if (tort_swappers[e].applies + tort_swappers[e].reverts == 0)
			tort_fail("control", "%s made no progress", tort_swappers[e].name);
	if (tort_sum_calls(TORT_EP_FAST) == 0 || tort_sum_calls(TORT_EP_WORKER) == 0)
		tort_fail("control", "callers or worker made no progress");
}

static void tort_reap(struct task_struct **task)
{
	if (!IS_ERR_OR_NULL(*task))
		kthread_stop(*task);
	*task = NULL;
}

static void tort_reap_all(void)
{
	int i;

	for (i = 0; i < tort_nswappers; i++)
		tort_reap(&tort_swappers[i].task);
	for (i = 0; i < tort_ncallers; i++)
		tort_reap(&tort_callers[i].task);
	tort_reap(&tort_lingerer_task);
	tort_reap(&tort_blocker_task);
	tort_reap(&tort_victim_task);
	tort_reap(&tort_killer_task);
	tort_reap(&tort_feeder_task);
}

/* Stop every thread but this one, check, print the end line. */
static void tort_finish(void)
{
	tort_end_threads(&tort_swappers_stop, tort_nswappers);
	tort_quiesce(true);
	/* The callers, the lingerer, the blocker, the victim and the killer. */
	tort_end_threads(&tort_callers_stop, tort_ncallers + 4);
	tort_end_threads(&tort_feeder_stop, 1);
	tort_reap_all();
	drvproxy_stop_worker(tort_wk);
	tort_wk = NULL;
	tort_final_checks();
	tort_print_stats("");
	if (atomic_long_read(&tort_apply_failures))
		pr_alert("%ld of the failures: calls inside the code of a layer after its apply failed\n",
			 atomic_long_read(&tort_apply_failures));
	if (atomic_long_read(&tort_failures))
		tort_print_params("End of test: FAILURE");
	else
		tort_print_params("End of test: SUCCESS");
	WRITE_ONCE(tort_result, atomic_long_read(&tort_failures) ? "FAILURE" : "SUCCESS");
	pr_alert("End of test: %s\n", tort_result);
}

static int tort_ctl_fn(void *arg)
{
	unsigned long end = jiffies + duration * HZ;
	unsigned long next_stat = jiffies + stat_interval * HZ;
	unsigned long next_q = jiffies + quiesce_interval * HZ;

	while (!READ_ONCE(tort_stop_req) && time_before(jiffies, end)) {
		wait_event_timeout(tort_ctl_wq, READ_ONCE(tort_stop_req), HZ / 10);
		if (quiesce_interval > 0 && time_after_eq(jiffies, next_q)) {
			tort_quiesce(false);
			next_q = jiffies + quiesce_interval * HZ;
		}
		if (stat_interval > 0 && time_after_eq(jiffies, next_stat)) {
			tort_print_stats("");
			next_stat = jiffies + stat_interval * HZ;
		}
	}
	tort_finish();
	complete(&tort_ctl_done);
	tort_wait_for_stop();
	return 0;
}

/* ---- setup ---- */

static void tort_free_insts(void)
{
	int i;

	for (i = 0; i < tort_nswappers; i++) {
		struct tort_swapper *sw = &tort_swappers[i];

		list_splice_tail_init(&sw->graveyard, &sw->dead);
		tort_free_dead(sw);
	}
}

static int tort_start_worker(void)
{
	struct drvproxy_worker_start start = {
		.routine = tort_worker,
		.context = &tort_worker_ctx,
		.name = "drvproxy_tortw",
		.wait_type = DRVPROXY_WAIT_ANY,
		.has_timeout = true,
		.timeout_ms = 5,
		.event_count = 1,
		.events = { &tort_event },
	};

	drvproxy_event_init(&tort_event, true);
	tort_snapshot(&tort_worker_ctx);
	return drvproxy_create_worker(tort_ext, &start, &tort_wk);
}

static void tort_setup_kinds(void)
{
	unsigned int k, e;

	tort_nkinds = tort_nswappers * TORT_KINDS_PER_SWAPPER;
	for (k = 0; k < tort_nkinds; k++) {
		struct tort_kind *kd = &tort_kinds[k];

		kd->covers = tort_masks[k % ARRAY_SIZE(tort_masks)];
		kd->nr_repl = 0;
		for (e = 0; e < TORT_NR_EP; e++)
			if (kd->covers & BIT(e))
				kd->repl[kd->nr_repl++] = tort_all_repl[k][e];
		atomic_long_set(&kd->word, TORT_IDLE);
	}
}

/* Module exit: end the test early if it still runs, then the control thread. */
static void tort_stop_threads(void)
{
	if (!tort_ctl_task)
		return;
	WRITE_ONCE(tort_stop_req, true);
	wake_up_all(&tort_ctl_wq);
	wait_for_completion(&tort_ctl_done);
	kthread_stop(tort_ctl_task);
	put_task_struct(tort_ctl_task);
	tort_ctl_task = NULL;
}

static int tort_start_threads(void)
{
	int i, cpus = num_online_cpus();

	tort_ncallers = ncallers_per_cpu * cpus;
	tort_callers = kcalloc(tort_ncallers, sizeof(*tort_callers), GFP_KERNEL);
	if (!tort_callers)
		return -ENOMEM;
	atomic_set(&tort_running, 1);
	tort_feeder_task = kthread_run(tort_feeder_fn, NULL, "dpxt_feeder");
	if (IS_ERR(tort_feeder_task))
		goto err;
	for (i = 0; i < tort_ncallers; i++) {
		struct tort_caller *tc = &tort_callers[i];

		snprintf(tc->name, sizeof(tc->name), "caller%d", i);
		snprintf(tc->nested_name, sizeof(tc->nested_name), "caller%d/nested", i);
		tc->ctx.name = tc->name;
		tc->nested.name = tc->nested_name;
		tc->ctx.nested = &tc->nested;
		spin_lock_init(&tc->lock);
		atomic_inc(&tort_running);
		tc->task = kthread_run(tort_caller_fn, tc, "dpxt_caller/%d", i);
		if (IS_ERR(tc->task))
			goto err;
	}
	atomic_inc(&tort_running);
	tort_lingerer_task = kthread_run(tort_lingerer_fn, &tort_linger_ctx, "dpxt_lingerer");
	if (IS_ERR(tort_lingerer_task))
		goto err;
	atomic_inc(&tort_running);
	tort_blocker_task = kthread_run(tort_blocker_fn, &tort_blocker_ctx, "dpxt_blocker");
	if (IS_ERR(tort_blocker_task))
		goto err;
	atomic_inc(&tort_running);
	tort_victim_task = kthread_run(tort_victim_fn, &tort_victim_ctx, "dpxt_victim");
	if (IS_ERR(tort_victim_task))
		goto err;
	atomic_inc(&tort_running);
	tort_killer_task = kthread_run(tort_killer_fn, NULL, "dpxt_killer");
	if (IS_ERR(tort_killer_task))
		goto err;
	for (i = 0; i < tort_nswappers; i++) {
		struct tort_swapper *sw = &tort_swappers[i];

		atomic_inc(&tort_running);
		sw->task = kthread_run(tort_swapper_fn, sw, "dpxt_swapper/%d", i);
		if (IS_ERR(sw->task))
			goto err;
	}
	tort_ctl_task = kthread_create(tort_ctl_fn, NULL, "dpxt_control");
	if (IS_ERR(tort_ctl_task))
		goto err_ctl;
	get_task_struct(tort_ctl_task);
	wake_up_process(tort_ctl_task);
	return 0;

err:
	/* The thread that failed to start counts as done. */
	atomic_dec(&tort_running);
err_ctl:
	tort_ctl_task = NULL;
	WRITE_ONCE(tort_swappers_stop, true);
	WRITE_ONCE(tort_callers_stop, true);
	wake_up_all(&tort_park_wq);
	wait_event(tort_done_wq, atomic_read(&tort_running) <= 1);
	WRITE_ONCE(tort_feeder_stop, true);
	wait_event(tort_done_wq, atomic_read(&tort_running) <= 0);
	tort_reap_all();
	return -ENOMEM;
}

static int __init tort_init(void)
{
	int ret, i;

	if (nswappers < 1 || nswappers > TORT_MAX_SWAPPERS || ncallers_per_cpu < 1 ||
	    ncallers_per_cpu > 64 || duration < 1 || sleep_us_param > 100000) {
		pr_err("bad parameters: nswappers 1-%d, ncallers_per_cpu 1-64, duration >= 1, sleep_us <= 100000\n",
		       TORT_MAX_SWAPPERS);
		return -EINVAL;
	}
	tort_nswappers = nswappers;
	tort_sleep_us = sleep_us_param;
	tort_setup_kinds();
	for (i = 0; i < tort_nswappers; i++) {
		struct tort_swapper *sw = &tort_swappers[i];
		unsigned int s;

		snprintf(sw->name, sizeof(sw->name), "swapper%d", i);
		sw->cbctx.name = sw->name;
		for (s = 0; s < TORT_KINDS_PER_SWAPPER; s++)
			sw->kind[s] = i * TORT_KINDS_PER_SWAPPER + s;
		INIT_LIST_HEAD(&sw->graveyard);
		INIT_LIST_HEAD(&sw->dead);
		prandom_seed_state(&sw->rnd, get_random_u64());
	}

	tort_drv = drvproxy_driver_alloc(TORT_NAME);
	if (IS_ERR(tort_drv))
		return PTR_ERR(tort_drv);
	/* A file method, so its stalled callers are killable (no device). */
	drvproxy_set_major_function(tort_drv, DEVICE_CONTROL, tort_ioctl);
	ret = drvproxy_create_extension(tort_drv, 0, &tort_ext);
	if (ret)
		goto err_free;
	ret = drvproxy_driver_register(tort_drv);
	if (ret)
		goto err_free;
	ret = sysfs_create_group(&THIS_MODULE->mkobj.kobj, &tort_status_group);
	if (ret)
		goto err_unregister;
	ret = tort_start_worker();
	if (ret)
		goto err_status;
	ret = tort_start_threads();
	if (ret)
		goto err_status;
	tort_print_params("Start of test");
	return 0;

err_status:
	sysfs_remove_group(&THIS_MODULE->mkobj.kobj, &tort_status_group);
err_unregister:
	drvproxy_driver_unregister(tort_drv);
err_free:
	drvproxy_driver_free(tort_drv);
	kfree(tort_callers);
	pr_err("setup failed: %d\n", ret);
	return ret;
}

static void __exit tort_exit(void)
{
	sysfs_remove_group(&THIS_MODULE->mkobj.kobj, &tort_status_group);
	tort_stop_threads();
	drvproxy_stop_worker(tort_wk);
	drvproxy_driver_unregister(tort_drv);
	drvproxy_driver_free(tort_drv);
	tort_free_insts();
	kfree(tort_callers);
}

module_init(tort_init);
module_exit(tort_exit);

MODULE_DESCRIPTION("drvproxy torture test: concurrent calls against continuous live and stalled swaps");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
