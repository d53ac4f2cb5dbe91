// SPDX-License-Identifier: GPL-2.0
/*
 * echo_plain.c - drvproxy_echo_plain.ko: a tiny misc device that keeps the
 * last message written to it and reads it back
 *
 * An ordinary driver, written without drvproxy: the "before" of
 * Documentation/howto.rst.  echo_main.c is the same driver made
 * hot-swappable by following that document step by step, and
 * echo_rot13.c a companion that replaces its read live.
 *
 *   $ echo hello > /dev/drvproxy_echo_plain
 *   $ cat /dev/drvproxy_echo_plain
 *   hello
 *
 * A write replaces the message (at most ECHO_SIZE bytes are kept; the
 * write reports how many); a read returns it from the file position on.
 *
 * Locking: echo_state.lock protects the message.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

#define ECHO_SIZE	256

struct echo_state {
	struct mutex lock;		/* protects everything below */
	size_t len;
	u64 writes;
	char msg[ECHO_SIZE];
};

static struct echo_state echo_state;

static ssize_t echo_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct echo_state *st = &echo_state;
	ssize_t ret;

	mutex_lock(&st->lock);
	ret = simple_read_from_buffer(buf, count, ppos, st->msg, st->len);
	mutex_unlock(&st->lock);
	return ret;
}

static ssize_t echo_write(struct file *file, const char __user *buf, size_t count,
			  loff_t *ppos)
{
	struct echo_state *st = &echo_state;
	char tmp[ECHO_SIZE];
	size_t n = min_t(size_t, count, ECHO_SIZE);

	if (copy_from_user(tmp, buf, n))
		return -EFAULT;
	mutex_lock(&st->lock);
	memcpy(st->msg, tmp, n);
	st->len = n;
	st->writes++;
	mutex_unlock(&st->lock);
	return n;
}

static const struct file_operations echo_fops = {
	.owner = THIS_MODULE,
	.read = echo_read,
	.write = echo_write,
	.llseek = default_llseek,
};

static struct miscdevice echo_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "drvproxy_echo_plain",
	.fops = &echo_fops,
	.mode = 0666,
};

static int __init echo_init(void)
{
	mutex_init(&echo_state.lock);
	return misc_register(&echo_misc);
}

static void __exit echo_exit(void)
{
	misc_deregister(&echo_misc);
}

module_init(echo_init);
module_exit(echo_exit);

MODULE_DESCRIPTION("drvproxy example: a message echo device, without drvproxy");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
