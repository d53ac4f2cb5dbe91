// SPDX-License-Identifier: GPL-2.0
/*
 * tun_count.c - drvproxy_tun_count.ko: a companion of the converted tun
 * driver (tun.patch) that counts the frames read and written through
 * /dev/net/tun while it is applied, and shows the counts in
 * /proc/<pid>/fdinfo/<fd> of every tun file.
 *
 * Each replacement does its own part and then calls the implementation
 * below it (DRVPROXY_CALL_BELOW()), so the companion needs none of tun's
 * static functions and no copy of its code: what a livepatch that wraps
 * the original would do.  Applied live: applying and reverting it under
 * traffic must lose no frame (test-driver-tun.sh).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uio.h>

#include <drvproxy.h>

static atomic_long_t tun_count_reads;
static atomic_long_t tun_count_writes;

DRVPROXY_REPLACEMENT(ssize_t, tun_chr_read_iter, tun_count_read_iter,
		     struct kiocb *, iocb, struct iov_iter *, to)
{
	ssize_t ret = DRVPROXY_CALL_BELOW(tun_count_read_iter, iocb, to);

	if (ret > 0)
		atomic_long_inc(&tun_count_reads);
	return ret;
}

DRVPROXY_REPLACEMENT(ssize_t, tun_chr_write_iter, tun_count_write_iter,
		     struct kiocb *, iocb, struct iov_iter *, from)
{
	ssize_t ret = DRVPROXY_CALL_BELOW(tun_count_write_iter, iocb, from);

	if (ret > 0)
		atomic_long_inc(&tun_count_writes);
	return ret;
}

DRVPROXY_REPLACEMENT(void, tun_chr_show_fdinfo, tun_count_show_fdinfo,
		     struct seq_file *, m, struct file *, file)
{
	DRVPROXY_CALL_BELOW_VOID(tun_count_show_fdinfo, m, file);
	seq_printf(m, "tun_count:\t%ld %ld\n", atomic_long_read(&tun_count_reads),
		   atomic_long_read(&tun_count_writes));
}

static struct drvproxy_layer tun_count_layer = {
	DRVPROXY_LAYER("tun", DRVPROXY_MODE_LIVE),
};

static int __init tun_count_init(void)
{
	return drvproxy_layer_apply(&tun_count_layer);
}

static void __exit tun_count_exit(void)
{
	drvproxy_layer_revert(&tun_count_layer);
}

module_init(tun_count_init);
module_exit(tun_count_exit);

MODULE_DESCRIPTION("drvproxy test companion: frame counts for the converted tun driver");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
