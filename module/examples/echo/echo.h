/* SPDX-License-Identifier: GPL-2.0 */
/*
 * echo.h - the echo device's state, shared by every implementation
 *
 * The host (drvproxy_echo.ko) and its companion (drvproxy_echo_rot13.ko)
 * include this file (Documentation/howto.rst, step 2).  The state is the
 * device's state block: an implementation reaches it through the open file,
 * never through a symbol of the host, so a newer implementation works on
 * the same data.  Append fields, never reorder them.
 *
 * Locking: echo_state.lock protects the message and the counter.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_EXAMPLE_ECHO_H
#define _DRVPROXY_EXAMPLE_ECHO_H

#include <linux/fs.h>
#include <linux/mutex.h>

#include <drvproxy.h>

#define ECHO_NAME	"drvproxy_echo"
#define ECHO_SIZE	256

struct echo_state {
	struct mutex lock;		/* protects everything below */
	size_t len;
	u64 writes;
	char msg[ECHO_SIZE];
};

/* The state of the device @file is open on (file->private_data is the misc device). */
static inline struct echo_state *echo_st(struct file *file)
{
	return drvproxy_file_device(file)->state;
}

#endif /* _DRVPROXY_EXAMPLE_ECHO_H */
