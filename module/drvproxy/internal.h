/* SPDX-License-Identifier: GPL-2.0 */
/*
 * internal.h - drvproxy's private data structures
 *
 * Locking, in the order they nest:
 *
 *   drvproxy_lock (main.c)  the list of driver objects and the module
 *                           notifier.  Never held across a transition.
 *   ext->lock               everything that changes an extension: its
 *                           endpoints, its layer stack, publishing tables,
 *                           the history ring.  Held for a whole transition,
 *                           callbacks included (a callback that re-enters the
 *                           same extension gets -EDEADLK, see
 *                           drvproxy_lock_ext()).
 *   ext->retire_lock        the list of published tables and of those
 *                           still draining, and the call counts of freed
 *                           ones: a table leaves the list and adds its
 *                           count in one section, so a lock-free reader of
 *                           the statistics sees every call exactly once.
 *
 * The call path takes none of them: see drvproxy_call_try_enter().  Its slow
 * path (a call that meets a stall, wait.c) takes retire_lock to read the
 * tables.  transition.c lists every barrier and grace period of the swap
 * protocol with the access of the call path it pairs with.
 *
 * Lifetime:
 *   - A table is freed by the retire worker (transition.c) after a grace period,
 *     zero calls in flight, and a second grace period.
 *   - A layer's module is pinned from the moment its layer leaves the stack
 *     until the last table that references it is freed, except when the
 *     layer leaves from its own module's exit path, which then waits for
 *     that itself (drvproxy_layer_revert()).
 *   - An extension lives until its driver object is unregistered (or until
 *     drvproxy_destroy_extension() for one without owner); every layer pins
 *     the host module, so that cannot happen while a layer is applied.
 */
#ifndef _DRVPROXY_INTERNAL_H
#define _DRVPROXY_INTERNAL_H

#include <linux/fault-inject.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <drvproxy.h>

#define DRVPROXY_HISTORY_LEN	32
/* Module names (<= 55 characters) and spaces: the stack fits in a page. */
#define DRVPROXY_MAX_LAYERS	64

enum drvproxy_transition_state {
	DRVPROXY_TR_IDLE,
	DRVPROXY_TR_PRE,
	DRVPROXY_TR_STALLING,
	DRVPROXY_TR_STALLED,
	DRVPROXY_TR_POST,
	DRVPROXY_TR_MAX
};

enum drvproxy_layer_state {
	DRVPROXY_LAYER_NEW,
	DRVPROXY_LAYER_APPLIED,
	DRVPROXY_LAYER_REPLACED,	/* dropped by an atomic replace */
	DRVPROXY_LAYER_REVERTED,
};

enum drvproxy_op {
	DRVPROXY_OP_REGISTER,
	DRVPROXY_OP_APPLY,
	DRVPROXY_OP_REVERT,
	DRVPROXY_OP_MAX
};

/*
 * struct drvproxy_below - what a replacement calls below it in one table
 * @fn: the replacement
 * @below: the implementation under it: the next layer's replacement of the
 *	same endpoint, or the base
 * @layer: the layer @below belongs to (NULL: the base), which the table
 *	therefore keeps pinned like the layers that fill its slots
 */
struct drvproxy_below {
	drvproxy_fn_t fn;
	drvproxy_fn_t below;
	struct drvproxy_layer *layer;
};

/*
 * struct drvproxy_generation - a table and the engine's bookkeeping of it
 * @chunks: the per-CPU counters, DRVPROXY_COUNT_CHUNK slots each
 * @again: per slot, entries that were not new calls (a stalled call
 *	entering the next table, a re-dispatched call): slow paths only
 * @ext: the extension
 * @generation: its number; a rolled-back table keeps the one it copies
 * @held: in a stall table, the implementations held back
 * @atomic: slots of atomic endpoints (the stall slow path reads it)
 * @all_node: on ext->tables from its publish until it is freed
 * @retire_node: on ext->retiring once superseded
 * @retire_gp: the grace period its retirement waits for
 * @retire_stage: where its retirement is (transition.c)
 * @stall: a stall table
 * @src: per slot, the layer whose replacement fills it (NULL: the base)
 * @below: for each replacement in the table, what it calls below it
 *	(DRVPROXY_CALL_BELOW()), bottom of the stack first
 * @nr_below: number of @below
 * @table: what calls see; last, since it ends in the slots
 */
struct drvproxy_generation {
	struct drvproxy_count __percpu **chunks;
	atomic_long_t *again;
	struct drvproxy_extension *ext;
	u64 generation;
	drvproxy_fn_t *held;
	unsigned long *atomic;
	struct list_head all_node;
	struct list_head retire_node;
	unsigned long retire_gp;
	u8 retire_stage;
	bool stall;
	struct drvproxy_layer **src;
	struct drvproxy_below *below;
	unsigned int nr_below;
	struct drvproxy_table table;
};

/* The generation of a table that calls see; NULL for NULL. */
static inline struct drvproxy_generation *drvproxy_gen(struct drvproxy_table *t)
{
	return t ? container_of(t, struct drvproxy_generation, table) : NULL;
}

/* The runtime state of one endpoint of an extension. */
struct drvproxy_endpoint {
	struct drvproxy_endpoint_desc *desc;
	struct drvproxy_extension *ext;
	u32 id;
	unsigned int index;
	drvproxy_fn_t wrapper;		/* ext->index's key; never changes */
	drvproxy_fn_t base;		/* original, or the last V1 replacement */
	u64 calls_retired;		/* calls of freed tables; retire_lock */
	u64 swaps;
	struct kobject kobj;
};

/*
 * struct drvproxy_index_slot - one entry of an endpoint index
 * @wrapper: the endpoint's wrapper; NULL in a free slot.  Kept next to @ep
 *	so that a lookup reads one slot and no endpoint.
 * @ep: the endpoint
 */
struct drvproxy_index_slot {
	drvproxy_fn_t wrapper;
	struct drvproxy_endpoint *ep;
};

/*
 * struct drvproxy_index - an extension's endpoints by id and by wrapper
 * @rcu: frees a superseded index once no lookup can hold it
 * @nr_ids: the slots of @by_id: the highest id plus one
 * @hash_bits: @by_wrapper has 1 << @hash_bits slots, at least twice as
 *	many as endpoints, so that a probe of it ends within about 1.5 slots
 *	on average at any size
 * @by_wrapper: open addressing with linear probing on hash_long() of the
 *	wrapper's address; it follows @by_id in the same allocation
 * @by_id: indexed by id; ids are dense (V2: 0..n-1; V1: at most
 *	DRVPROXY_MAX_ENDPOINT_ID), holes have a NULL wrapper
 *
 * Both lookups cost a fixed number of loads whatever the number of
 * endpoints.  An index is never changed once published: a registration
 * builds a new one and replaces it whole (extension.c), so a lock-free
 * reader sees one index or the other, never a half-made one.
 */
struct drvproxy_index {
	struct rcu_head rcu;
	u32 nr_ids;
	u32 hash_bits;
	struct drvproxy_index_slot *by_wrapper;
	struct drvproxy_index_slot by_id[];
};

struct drvproxy_history {
	u64 time_ns;
	u64 generation;
	u64 duration_ns;
	enum drvproxy_op op;
	enum drvproxy_mode mode;
	int result;
	char who[MODULE_NAME_LEN];
};

struct drvproxy_layer_kobj {
	struct kobject kobj;
	struct drvproxy_layer *layer;	/* NULL once the layer left; under ext->lock */
	struct drvproxy_extension *ext;
};

/* The longest build id note drvproxy keeps (sha1 is 20 bytes, md5 16). */
#define DRVPROXY_BUILD_ID_MAX	32

struct drvproxy_extension {
	struct drvproxy_domain domain;	/* must stay first: see drvproxy_call_try_enter() */
	struct drvproxy_driver *drv;
	struct module *owner;
	struct list_head node_all;	/* all extensions, under drvproxy_lock */
	struct mutex lock;		/* see the top of this file */
	struct task_struct *lock_owner;
	enum drvproxy_transition_state transition;
	u64 generation;
	unsigned long publish_seq;	/* +1 per publish, see drvproxy_publish() */
	u64 applied_seq;

	struct drvproxy_endpoint **eps;
	unsigned int nr_eps;
	/* Written under @lock, read under RCU; NULL without endpoints. */
	struct drvproxy_index __rcu *index;
	struct module **v1_pins;
	unsigned int nr_v1_pins;

	struct list_head layers;	/* applied, bottom first */

	spinlock_t retire_lock;		/* @tables, @retiring, calls_retired */
	struct list_head tables;	/* every published table not yet freed */
	struct list_head retiring;
	struct list_head draining_layers;
	struct delayed_work retire_work;
	unsigned int retire_backoff;
	wait_queue_head_t retire_wq;

	wait_queue_head_t stall_wq;	/* callers waiting out a stalled transition */
	wait_queue_head_t swap_wq;	/* calls in swap-aware waits */

	struct list_head workers;	/* under lock */

	struct drvproxy_history history[DRVPROXY_HISTORY_LEN];
	unsigned int history_next;
	unsigned int history_count;

	struct kobject *endpoints_kobj;
	struct kobject *layers_kobj;
	bool dying;
	/*
	 * A migrated layer's module is going (drvproxy_layer_revert_locked()):
	 * its stalled drain ignores signals, since an interrupted rmmod is no
	 * reason to leave the state converted.  Under ext->lock.
	 */
	bool drain_uninterruptible;
	/* The owner's build id in hex ("" without one), set before it is shared. */
	char build_id[2 * DRVPROXY_BUILD_ID_MAX + 1];
	/*
	 * The memory only: drvproxy_extension_release() drops the first
	 * reference; a sysfs writer that gave up its active protection holds
	 * another (drvproxy_ext_get()), so the lock it then takes still exists.
	 */
	struct kref ref;
};

/* main.c */
extern struct mutex drvproxy_lock;
extern unsigned int drvproxy_drain_timeout_ms;
bool drvproxy_enabled_for(const char *name);
bool drvproxy_globally_enabled(void);
u64 drvproxy_next_generation(void);
void drvproxy_taint(const char *drv, const char *who);
bool drvproxy_fail_alloc(void);
#if IS_ENABLED(CONFIG_KUNIT)
/* Call the KUnit test hook, if one is set: see enum drvproxy_test_point. */
void drvproxy_test_point(enum drvproxy_test_point tp);
#else
static inline void drvproxy_test_point(enum drvproxy_test_point tp) { }
#endif
const char *drvproxy_module_name(const struct module *mod);

/* driver.c */
struct drvproxy_driver *drvproxy_find_driver_locked(const char *name);
int drvproxy_device_count(struct drvproxy_driver *drv);
unsigned int drvproxy_open_count(struct drvproxy_driver *drv);
void drvproxy_driver_going(struct module *mod);

/* extension.c */
void drvproxy_ext_get(struct drvproxy_extension *ext);
void drvproxy_ext_put(struct drvproxy_extension *ext);
int drvproxy_lock_ext(struct drvproxy_extension *ext);
void drvproxy_unlock_ext(struct drvproxy_extension *ext);
struct drvproxy_endpoint *drvproxy_find_endpoint(struct drvproxy_extension *ext,
						 const char *name);
bool drvproxy_same_signature(const char *a, const char *b);
int drvproxy_format_signature(char *buf, size_t size, const char *sig);
void drvproxy_extension_release(struct drvproxy_extension *ext);
struct drvproxy_endpoint_desc *drvproxy_wrapper_desc(struct drvproxy_extension *ext,
						     drvproxy_fn_t fn);

/* table.c: the tables as data */
struct drvproxy_generation *drvproxy_table_alloc(struct drvproxy_extension *ext,
						 unsigned int nr);
void drvproxy_table_free(struct drvproxy_generation *t);
struct drvproxy_generation *drvproxy_table_build(struct drvproxy_extension *ext,
						 struct drvproxy_layer *add,
						 struct drvproxy_layer *drop);
struct drvproxy_generation *drvproxy_table_copy(struct drvproxy_generation *t, bool stall);
void drvproxy_table_sum(struct drvproxy_generation *t, unsigned int i,
			unsigned long *enter, unsigned long *exit);
bool drvproxy_table_drained(struct drvproxy_generation *t);
void drvproxy_table_mark_atomic(struct drvproxy_extension *ext, struct drvproxy_generation *t);
u64 drvproxy_table_calls(struct drvproxy_generation *t, unsigned int i);
bool drvproxy_table_uses_layer(struct drvproxy_generation *t, struct drvproxy_layer *l);
drvproxy_fn_t drvproxy_table_below(struct drvproxy_generation *t, drvproxy_fn_t self);
u64 drvproxy_in_flight(struct drvproxy_extension *ext, unsigned int i);
u64 drvproxy_calls(struct drvproxy_extension *ext, struct drvproxy_endpoint *ep);

/* transition.c: the swap protocol */
void drvproxy_first_publish(struct drvproxy_extension *ext, struct drvproxy_generation *t);
void drvproxy_bind_endpoint(struct drvproxy_extension *ext, struct drvproxy_endpoint *ep);
void drvproxy_unbind(struct drvproxy_extension *ext);
struct drvproxy_generation *drvproxy_active(struct drvproxy_extension *ext);
void drvproxy_publish(struct drvproxy_extension *ext, struct drvproxy_generation *t);
void drvproxy_retire(struct drvproxy_extension *ext, struct drvproxy_generation *t);
void drvproxy_retire_work(struct work_struct *work);
bool drvproxy_layer_draining(struct drvproxy_extension *ext, struct drvproxy_layer *l);
void drvproxy_layer_forget_ext(struct drvproxy_layer *l);
void drvproxy_retire_flush(struct drvproxy_extension *ext);
bool drvproxy_stall_drained(struct drvproxy_extension *ext, struct drvproxy_generation *stall);
int drvproxy_transition(struct drvproxy_extension *ext, struct drvproxy_generation *next,
			enum drvproxy_mode mode, drvproxy_callback_t cb, void *ctx,
			unsigned int timeout_ms);

/* wait.c: which stalled callers wait, and how */
bool drvproxy_may_wait(struct drvproxy_extension *ext, struct drvproxy_endpoint_desc *desc);
bool drvproxy_stall_wait(struct drvproxy_extension *ext, struct drvproxy_endpoint_desc *desc,
			 unsigned long seq);

/* layer.c: layers, their stack and their history */
void drvproxy_history_add(struct drvproxy_extension *ext, enum drvproxy_op op,
			  enum drvproxy_mode mode, const char *who, int result,
			  u64 start_ns);
int drvproxy_layer_revert_locked(struct drvproxy_extension *ext,
				 struct drvproxy_layer *layer, bool from_exit);
int drvproxy_layer_check_unpinned(struct drvproxy_extension *ext, struct drvproxy_layer *l,
				  const char *what);
enum drvproxy_mode drvproxy_layer_revert_mode(struct drvproxy_layer *l);
void drvproxy_module_going(struct module *mod);
const char *drvproxy_transition_name(enum drvproxy_transition_state s);
const char *drvproxy_mode_name(enum drvproxy_mode m);
const char *drvproxy_op_name(enum drvproxy_op op);

/* pin.c */
ssize_t drvproxy_pins_show(char *buf);
unsigned int drvproxy_pins_held(const struct module *mod, const void **addr);
void drvproxy_pins_going(struct module *mod);
void drvproxy_unpin_file(const struct file *file);

/* driver.c */
bool drvproxy_file_is_proxied(const struct file *file);

/* worker.c */
void drvproxy_stop_workers(struct drvproxy_extension *ext);
void drvproxy_halt_workers_in(struct drvproxy_extension *ext, const void *start,
			      size_t size, const char *what);

/* sysfs.c */
int drvproxy_sysfs_init(void);
void drvproxy_sysfs_exit(void);
int drvproxy_sysfs_add_driver(struct drvproxy_driver *drv);
void drvproxy_sysfs_del_driver(struct drvproxy_driver *drv);
int drvproxy_sysfs_add_extension(struct drvproxy_extension *ext);
void drvproxy_sysfs_del_extension(struct drvproxy_extension *ext);
int drvproxy_sysfs_add_endpoint(struct drvproxy_endpoint *ep);
void drvproxy_sysfs_del_endpoint(struct drvproxy_endpoint *ep);
int drvproxy_sysfs_add_layer(struct drvproxy_extension *ext, struct drvproxy_layer *layer);
void drvproxy_sysfs_del_layer(struct drvproxy_layer *layer);
void drvproxy_endpoint_release(struct kobject *kobj);

#endif /* _DRVPROXY_INTERNAL_H */
