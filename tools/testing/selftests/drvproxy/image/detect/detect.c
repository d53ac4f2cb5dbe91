// SPDX-License-Identifier: GPL-2.0
/*
 * detect.c - a host driver for make companion's change detector, never
 * loaded: image/build.sh builds it as the running build (OLD) and
 * detect-1.1.patch as its image, and test-image.sh reads the report.
 *
 * Each endpoint is one case the report must get right:
 *
 *   det_read     changed; reaches the writable counter det_calls only
 *                through the unchanged helper det_count()
 *   det_write    unchanged; reaches det_calls the same way, but keeps
 *                running the host's code, so no warning
 *   det_open     changed; compares file->f_op with &det_fops, a const
 *                table whose address matters
 *   det_release  changed; drops a reference on THIS_MODULE
 *   det_orphan   changed, but nothing in the driver refers to it: nothing
 *                can call it, so it is not installed
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/fs.h>
#include <linux/module.h>

#include <drvproxy.h>

static const struct file_operations det_fops;

/* Calls counted by the helper below: writable module data. */
static unsigned long det_calls;

static noinline void det_count(void)
{
	WRITE_ONCE(det_calls, det_calls + 1);
}

/* Exported, so an image must export nothing (__DISABLE_EXPORTS). */
unsigned long det_total(void);
unsigned long det_total(void)
{
	return READ_ONCE(det_calls);
}
EXPORT_SYMBOL_GPL(det_total);

DRVPROXY_ENDPOINT(ssize_t, det_read, struct file *, file, char __user *, buf,
		  size_t, len, loff_t *, ppos)
{
	det_count();
	return 0;
}

DRVPROXY_ENDPOINT(ssize_t, det_write, struct file *, file, const char __user *, buf,
		  size_t, len, loff_t *, ppos)
{
	det_count();
	return len;
}

DRVPROXY_ENDPOINT(int, det_open, struct inode *, inode, struct file *, file)
{
	return 0;
}

DRVPROXY_ENDPOINT(int, det_release, struct inode *, inode, struct file *, file)
{
	return 0;
}

DRVPROXY_ENDPOINT(long, det_orphan, struct file *, file, unsigned int, cmd,
		  unsigned long, arg)
{
	return -ENOTTY;
}

static const struct file_operations det_fops = {
	.owner = THIS_MODULE,
	.read = det_read,
	.write = det_write,
	.open = det_open,
	.release = det_release,
};

static int det_major;

static int __init det_init(void)
{
	det_major = register_chrdev(0, "drvproxy_detect", &det_fops);
	return det_major < 0 ? det_major : 0;
}

static void __exit det_exit(void)
{
	unregister_chrdev(det_major, "drvproxy_detect");
}

DRVPROXY_HOST_MODULE("drvproxy_detect", det_init, det_exit, 1, NULL, NULL);
MODULE_DESCRIPTION("drvproxy: a fixture for make companion's change detector");
MODULE_LICENSE("GPL");
