/* SPDX-License-Identifier: GPL-2.0 */
/*
 * demo_ops.h - the version 1 endpoints, for the host's driver setup
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_DEMO_OPS_H
#define _DRVPROXY_DEMO_OPS_H

#include <linux/fs.h>
#include <linux/poll.h>

int demo_open(struct inode *inode, struct file *file);
int demo_release(struct inode *inode, struct file *file);
ssize_t demo_read(struct file *file, char __user *buf, size_t count, loff_t *ppos);
ssize_t demo_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos);
__poll_t demo_poll(struct file *file, struct poll_table_struct *wait);
loff_t demo_llseek(struct file *file, loff_t offset, int whence);
int demo_fasync(int fd, struct file *file, int on);
long demo_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
long demo_compat_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
bool demo_worker(void *context, long status);
int demo_mmap(struct file *file, struct vm_area_struct *vma);

#endif /* _DRVPROXY_DEMO_OPS_H */
