/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torture.h - drvproxy_torture.ko: what the endpoints (torture_impl.c) and
 * the test threads (torture_main.c) share
 *
 * The invariants these structures serve are explained at the top of
 * torture_main.c.  In short: every swapper owns TORT_KINDS_PER_SWAPPER layer
 * *kinds*; a kind is a set of replacements (one function per endpoint it
 * covers) of which at most one layer instance is applied at any time.  The
 * owning swapper publishes the kind's state in a state word before and after
 * every apply and revert, stamped with a ticket from one global clock, so an
 * implementation can tell whether it may legitimately run for a call that
 * started when the caller took its snapshot of all state words.
 *
 * Locking: none.  A kind's fields are written only by its owning swapper (and
 * by the control thread while every swapper is parked); readers use the
 * seqlock-like protocol of tort_check_reach(): read the state word, then the
 * tickets, then the state word again.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_TORTURE_H
#define _DRVPROXY_TORTURE_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/percpu.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <drvproxy.h>

#define TORT_NAME		"drvproxy_torture"

/* The torture driver's endpoints. */
enum tort_ep {
	TORT_EP_FAST,		/* never sleeps; called in atomic context */
	TORT_EP_SLEEP,		/* sleeps, so it is often in flight during a swap */
	TORT_EP_WAIT,		/* drvproxy_wait_event_interruptible() on the feed */
	TORT_EP_NOTE,		/* returns void */
	TORT_EP_WORKER,		/* the hot-swappable worker's routine */
	TORT_EP_IOCTL,		/* unlocked_ioctl: stalled callers are killable */
	TORT_NR_EP
};

#define TORT_MAX_SWAPPERS	4
#define TORT_KINDS_PER_SWAPPER	3
#define TORT_MAX_KINDS		(TORT_MAX_SWAPPERS * TORT_KINDS_PER_SWAPPER)
/* The SLEEP argument that makes a call stay TORT_LINGER_MS inside. */
#define TORT_X_LINGER		0x6c696e6765720000ULL
#define TORT_LINGER_MS		100
/* The SLEEP argument TORT_X_BLOCK | ms makes a call stay ms milliseconds. */
#define TORT_X_BLOCK		0x626c6f636b000000ULL
#define TORT_X_BLOCK_MASK	GENMASK_ULL(15, 0)

/* Implementation ids: 0 is the original, k + 1 the replacement of kind k. */
#define TORT_NR_IMPL		(TORT_MAX_KINDS + 1)

/* The state of a kind: the low bits of its state word. */
enum tort_kstate {
	TORT_IDLE,		/* no instance applied, none being applied */
	TORT_APPLYING,		/* drvproxy_layer_apply() running */
	TORT_APPLIED,		/* apply returned 0, revert not started */
	TORT_REVERTING,		/* drvproxy_layer_revert() running */
};

#define TORT_STATE_BITS		2
#define TORT_STATE(w)		((unsigned long)(w) & (BIT(TORT_STATE_BITS) - 1))
#define TORT_TICKET(w)		((unsigned long)(w) >> TORT_STATE_BITS)
/* The replace word: ticket of the last change, replaces in progress below. */
#define TORT_REPL_BITS		3
#define TORT_REPL_BUSY(w)	((unsigned long)(w) & (BIT(TORT_REPL_BITS) - 1))
#define TORT_REPL_TICKET(w)	((unsigned long)(w) >> TORT_REPL_BITS)

/**
 * struct tort_kind - one layer kind
 * @word: (ticket << TORT_STATE_BITS) | &enum tort_kstate; every change takes
 *	a new ticket, so two equal reads mean "no change in between"
 * @start_ticket: ticket taken just before the current instance's apply
 * @applied_ticket: ticket taken just after that apply returned 0
 * @covers: BIT(&enum tort_ep) of every endpoint the kind replaces
 * @repl: the replacements of the layer, @nr_repl of them
 * @nr_repl: number of @repl
 */
struct tort_kind {
	atomic_long_t word;
	unsigned long start_ticket;
	unsigned long applied_ticket;
	unsigned long covers;
	const struct drvproxy_replacement *repl[TORT_NR_EP];
	unsigned int nr_repl;
};

struct tort_swapper;

/**
 * struct tort_inst - one layer instance: a fresh &struct drvproxy_layer per
 *	apply (a layer can be applied only once)
 * @layer: the layer; an implementation finds its instance from the table
 *	its call runs in (&drvproxy_generation.src)
 * @node: on its swapper's graveyard after it left the stack
 * @sw: the swapper that owns it
 * @kind: its kind
 * @dead: set when this module may no longer run the instance's code: at
 *	once when its apply failed, else at the first quiescent point after it
 *	left the stack (see torture_main.c)
 * @failed_apply: its apply failed
 * @in_impl: calls inside the instance's code now
 * @short_timeout: stalled with a 1 ms drain timeout
 * @fail_phase: the apply callback fails in this phase, plus one (0: never)
 * @revert_fail_phase: the same for the revert callback
 * @cb_calls: the callback calls endpoints itself
 * @reverting: the operation in progress is a revert
 * @seen: phases the current operation's callback saw, as BIT(phase)
 * @last_phase: the phase it saw last
 * @replaces_ended: tort_replaces_ended when the apply started
 */
struct tort_inst {
	struct drvproxy_layer layer;
	struct list_head node;
	struct tort_swapper *sw;
	unsigned int kind;
	bool dead;
	bool failed_apply;
	atomic_t in_impl;
	bool short_timeout;
	unsigned int fail_phase;
	unsigned int revert_fail_phase;
	bool cb_calls;
	bool reverting;
	unsigned int seen;
	int last_phase;
	long replaces_ended;
};

/**
 * struct tort_ctx - one calling context (a caller thread, a swapper calling
 *	from its layer callback, the worker)
 * @name: for failure messages
 * @kind: the state words of every kind, read before the call
 * @replace: the replace word, read before the call
 * @gen0: drvproxy_extension_generation() before the call
 * @last_gen: generation of the table the previous call ran in
 * @impl: written by the implementation: its id
 * @gen: written by the implementation: generation of the call's table
 * @echo: written by the implementation: tort_echo() of the arguments
 * @completions: implementations that completed the call (must be 1)
 * @restart_gen: generation of the table a re-dispatched call left, or 0
 * @feed_seen: the feed sequence the wait endpoint waits to change
 * @entered: implementations the call entered (0 for a killed waiter)
 * @ioctl_x: the argument of an IOCTL call (its own are a file method's)
 * @nested: the context of calls nested in this one's SLEEP implementation
 *	(NULL: no nesting)
 * @killable: its thread may be killed while it waits at a stall
 * @calls: completed calls per endpoint
 * @redispatched: calls that a swap-aware wait sent to a newer table
 * @nests: calls nested in a SLEEP call of this context
 * @killed: calls that ended with -EINTR: killed while they waited at a stall
 */
struct tort_ctx {
	const char *name;
	long kind[TORT_MAX_KINDS];
	long replace;
	u64 gen0;
	u64 last_gen;
	unsigned int impl;
	u64 gen;
	u64 echo;
	unsigned int completions;
	u64 restart_gen;
	unsigned long feed_seen;
	unsigned int entered;
	u64 ioctl_x;
	struct tort_ctx *nested;
	bool killable;
	u64 calls[TORT_NR_EP];
	u64 redispatched;
	u64 nests;
	u64 killed;
};

/* Completed implementation runs, per CPU. */
struct tort_pcpu {
	unsigned long runs[TORT_NR_IMPL][TORT_NR_EP];
	unsigned long restarts[TORT_NR_IMPL];
};

DECLARE_PER_CPU(struct tort_pcpu, tort_pcpu);

extern struct tort_kind tort_kinds[TORT_MAX_KINDS];
extern unsigned int tort_nkinds;
extern atomic_long_t tort_replace_word;
extern unsigned long tort_replace_ok_start;
extern atomic_long_t tort_feed_seq;
extern wait_queue_head_t tort_feed_wq;
extern const struct drvproxy_replacement *const tort_all_repl[TORT_MAX_KINDS][TORT_NR_EP];
extern const drvproxy_fn_t tort_wrappers[TORT_NR_EP];
extern const char *const tort_ep_names[TORT_NR_EP];
extern unsigned int tort_sleep_us;

/*
 * The STALLED oracle (torture_impl.c): while a STALLED callback runs, only
 * its own task and the atomic FAST may be inside any implementation.
 */
extern struct task_struct *tort_stalled_task;
extern atomic_t tort_in_sleepable;

__printf(2, 3) void tort_fail(const char *who, const char *fmt, ...);
__printf(2, 3) void tort_fail_apply(const char *who, const char *fmt, ...);
void tort_snapshot(struct tort_ctx *c);
void tort_note_lingering(void);
void tort_nest(struct tort_ctx *c, u64 x);

/* Encodings the implementations return and the callers verify. */
static inline u64 tort_encode(unsigned int impl, u64 gen)
{
	return (u64)impl << 48 | (gen & GENMASK_ULL(47, 0));
}

static inline u64 tort_echo(u64 x, unsigned int impl, enum tort_ep ep)
{
	return x ^ (0x9e3779b97f4a7c15ULL * (impl * TORT_NR_EP + ep + 1));
}

/* The endpoints (torture_impl.c); each name is its wrapper. */
u64 tort_fast(struct tort_ctx *c, u64 x);
u64 tort_sleep(struct tort_ctx *c, u64 x);
long tort_wait(struct tort_ctx *c, u64 x);
void tort_call_note(struct tort_ctx *c, u64 x);
bool tort_worker(void *context, long status);
long tort_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _DRVPROXY_TORTURE_H */
