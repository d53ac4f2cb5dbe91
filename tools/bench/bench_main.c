// SPDX-License-Identifier: GPL-2.0
/*
 * bench_main.c - drvproxy_bench.ko: setup, the debugfs command interface
 * and the load threads
 *
 * At load the module registers a driver object named drvproxy_bench and
 * creates its proxy extension, which enumerates the module's endpoints
 * (bench_ep, bench_ep_app, bench_ep_nr, bench_swap_ep in bench_targets.c).
 * Nothing runs until a command is written to
 * /sys/kernel/debug/drvproxy_bench/run; the command runs in the writer's
 * context, and its result lines (prefixed "DPXB ") are read back from
 * .../result:
 *
 *   dispatch ITERS REPS           per-call cost of each variant
 *   swap live|stalled idle|load COUNT
 *                                 swap latency, COUNT applies and reverts
 *   lookup NR ITERS               wrapper lookups with NR endpoints
 *   load dpx                      start one thread per CPU calling
 *                                 bench_swap_ep(); "load stop" ends them
 *
 * Commands are serialised by bench_lock; each one replaces the result.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "bench.h"

#define BENCH_OUT_SIZE	(1024 * 1024)
#define BENCH_LOAD_BATCH	64

struct drvproxy_extension *bench_ext;
static struct drvproxy_driver *bench_drv;
static struct dentry *bench_dir;
static DEFINE_MUTEX(bench_lock);	/* one command at a time; bench_buf */
static char *bench_buf;
static size_t bench_len;

/* Append one formatted line to the result (caller runs a command). */
void bench_out(const char *fmt, ...)
{
	va_list args;
	int n;

	if (bench_len >= BENCH_OUT_SIZE - 1)
		return;
	va_start(args, fmt);
	n = vscnprintf(bench_buf + bench_len, BENCH_OUT_SIZE - bench_len, fmt, args);
	va_end(args);
	bench_len += n;
}

/* ---- load threads ---- */

struct bench_load {
	struct bench_ctx ctx;
	struct task_struct *task;
	long (*fn)(void *ctx, long x);
	unsigned long calls;
};

static struct bench_load *bench_loads;
static unsigned int bench_nr_loads;

static int bench_load_fn(void *data)
{
	struct bench_load *l = data;
	long i;

	while (!kthread_should_stop()) {
		for (i = 0; i < BENCH_LOAD_BATCH; i++)
			l->ctx.acc += l->fn(&l->ctx, i);
		l->calls += BENCH_LOAD_BATCH;
		/*
		 * Also a Tasks-RCU quiescent state: without it a thread that
		 * never sleeps blocks synchronize_rcu_tasks(), and with it
		 * every ftrace (so livepatch) update, forever.
		 */
		cond_resched_tasks_rcu_qs();
	}
	return 0;
}

/* One thread per online CPU calling @fn in a loop.  Caller holds bench_lock. */
int bench_start_load(long (*fn)(void *ctx, long x))
{
	int cpu;

	if (bench_loads)
		return -EBUSY;
	bench_loads = kcalloc(nr_cpu_ids, sizeof(*bench_loads), GFP_KERNEL);
	if (!bench_loads)
		return -ENOMEM;
	bench_nr_loads = 0;
	for_each_online_cpu(cpu) {
		struct bench_load *l = &bench_loads[bench_nr_loads];

		l->fn = fn;
		l->ctx.seed = cpu + 1;
		l->task = kthread_create_on_cpu(bench_load_fn, l, cpu, "dpxload/%u");
		if (IS_ERR(l->task)) {
			int ret = PTR_ERR(l->task);

			bench_stop_load();
			return ret;
		}
		bench_nr_loads++;
	}
	for (cpu = 0; cpu < bench_nr_loads; cpu++)
		wake_up_process(bench_loads[cpu].task);
	return 0;
}

/* Stop the load threads, if any.  Caller holds bench_lock. */
void bench_stop_load(void)
{
	unsigned long calls = 0;
	unsigned int i;

	if (!bench_loads)
		return;
	for (i = 0; i < bench_nr_loads; i++) {
		kthread_stop(bench_loads[i].task);
		calls += bench_loads[i].calls;
	}
	bench_out("DPXB load threads=%u calls=%lu\n", bench_nr_loads, calls);
	kfree(bench_loads);
	bench_loads = NULL;
	bench_nr_loads = 0;
}

/* ---- commands ---- */

static int bench_command(char *cmd)
{
	char a[16] = "", b[16] = "";
	unsigned long x, y;
	unsigned int n;

	if (sscanf(cmd, "dispatch %lu %u", &x, &n) == 2) {
		if (!x || !n || n > 100)
			return -EINVAL;
		return bench_dispatch(x, n);
	}
	if (sscanf(cmd, "swap %15s %15s %u", a, b, &n) == 3) {
		if (!n || n > 10000)
			return -EINVAL;
		if ((strcmp(a, "live") && strcmp(a, "stalled")) ||
		    (strcmp(b, "idle") && strcmp(b, "load")))
			return -EINVAL;
		return bench_swap(!strcmp(a, "stalled"), !strcmp(b, "load"), n);
	}
	if (sscanf(cmd, "lookup %u %lu", &n, &y) == 2) {
		if (!n || n > 100000 || !y)
			return -EINVAL;
		return bench_lookup(n, y);
	}
	if (sscanf(cmd, "load %15s", a) == 1) {
		if (!strcmp(a, "stop")) {
			bench_stop_load();
			return 0;
		}
		if (!strcmp(a, "dpx"))
			return bench_start_load(bench_swap_ep);
	}
	return -EINVAL;
}

static ssize_t bench_run_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	char *cmd;
	int ret;

	if (count > 128)
		return -EINVAL;
	cmd = memdup_user_nul(ubuf, count);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	strim(cmd);
	if (mutex_lock_interruptible(&bench_lock)) {
		kfree(cmd);
		return -EINTR;
	}
	bench_len = 0;
	bench_buf[0] = '\0';
	ret = bench_command(cmd);
	bench_out("DPXB done cmd=\"%s\" ret=%d\n", cmd, ret);
	mutex_unlock(&bench_lock);
	kfree(cmd);
	return ret ? ret : count;
}

static ssize_t bench_result_read(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	ssize_t ret;

	if (mutex_lock_interruptible(&bench_lock))
		return -EINTR;
	ret = simple_read_from_buffer(ubuf, count, ppos, bench_buf, bench_len);
	mutex_unlock(&bench_lock);
	return ret;
}

static const struct file_operations bench_run_fops = {
	.owner = THIS_MODULE,
	.write = bench_run_write,
	.llseek = noop_llseek,
};

static const struct file_operations bench_result_fops = {
	.owner = THIS_MODULE,
	.read = bench_result_read,
	.llseek = default_llseek,
};

static int __init bench_init(void)
{
	int ret;

	bench_buf = vzalloc(BENCH_OUT_SIZE);
	if (!bench_buf)
		return -ENOMEM;
	bench_drv = drvproxy_driver_alloc(BENCH_DRV_NAME);
	if (IS_ERR(bench_drv)) {
		ret = PTR_ERR(bench_drv);
		goto err_buf;
	}
	ret = drvproxy_create_extension(bench_drv, 0, &bench_ext);
	if (ret)
		goto err_free;
	ret = drvproxy_driver_register(bench_drv);
	if (ret)
		goto err_free;
	ret = bench_swap_init();
	if (ret)
		goto err_unregister;
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0200, bench_dir, NULL, &bench_run_fops);
	debugfs_create_file("result", 0400, bench_dir, NULL, &bench_result_fops);
	return 0;

err_unregister:
	drvproxy_driver_unregister(bench_drv);
err_free:
	drvproxy_driver_free(bench_drv);
err_buf:
	vfree(bench_buf);
	return ret;
}

static void __exit bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	mutex_lock(&bench_lock);
	bench_stop_load();
	mutex_unlock(&bench_lock);
	bench_swap_exit();
	drvproxy_driver_unregister(bench_drv);
	drvproxy_driver_free(bench_drv);
	vfree(bench_buf);
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_DESCRIPTION("drvproxy benchmarks: dispatch cost, swap latency, lookup scaling");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
