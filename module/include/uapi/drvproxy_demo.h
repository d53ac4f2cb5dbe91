/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * drvproxy_demo.h - user interface of /dev/drvproxy_demo
 *
 * The demo device is a bounded byte FIFO shared by all openers.  Its
 * implementation can be swapped live (drvproxy_demo_v2.ko adds read
 * transforms and fixes the "opens" statistic); this interface stays the
 * same across implementations.
 *
 * Versioning: struct drvproxy_demo_info starts with its size; callers set
 * @size to sizeof(struct drvproxy_demo_info) of the header they were built
 * with, the driver fills what both know and writes back the size it filled.
 * New fields are only ever appended.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _UAPI_DRVPROXY_DEMO_H
#define _UAPI_DRVPROXY_DEMO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DRVPROXY_DEMO_UAPI_VERSION	1
#define DRVPROXY_DEMO_FIFO_SIZE		4096

/* Transforms applied by read(2) (implementation version 2 and later). */
enum drvproxy_demo_transform {
	DRVPROXY_DEMO_XFORM_NONE = 0,
	DRVPROXY_DEMO_XFORM_UPPER = 1,	/* ASCII a-z -> A-Z */
	DRVPROXY_DEMO_XFORM_ROT13 = 2,	/* ASCII letters rotated by 13 */
	DRVPROXY_DEMO_XFORM_MAX
};

/**
 * struct drvproxy_demo_info - DRVPROXY_DEMO_GET_INFO
 * @size: in: sizeof() known to the caller (>= offsetof(..., reserved));
 *	out: bytes the driver filled
 * @impl_version: version of the ioctl implementation that answered
 * @uapi_version: DRVPROXY_DEMO_UAPI_VERSION of the driver
 * @bytes_in: bytes accepted by write(2) since load or RESET
 * @bytes_out: bytes returned by read(2) since load or RESET
 * @opens: files open on the device now (version 1 reports every open(2)
 *	since load: a documented bug, fixed in version 2)
 * @fill: bytes in the FIFO now
 * @worker_ticks: wake-ups of the hot-swappable worker thread
 * @worker_version: version of the worker routine that ran last
 * @transform: current &enum drvproxy_demo_transform (used by version >= 2)
 * @reads_v1: read(2) calls served by implementation version 1
 * @reads_v2: read(2) calls served by implementation version 2
 * @peak_fill: highest fill level the worker has seen since load or RESET
 * @reserved: zero
 */
struct drvproxy_demo_info {
	__u32 size;
	__u32 impl_version;
	__u32 uapi_version;
	__u32 transform;
	__u64 bytes_in;
	__u64 bytes_out;
	__u64 opens;
	__u64 fill;
	__u64 worker_ticks;
	__u64 worker_version;
	__u64 reads_v1;
	__u64 reads_v2;
	__u64 peak_fill;
	__u64 reserved;
};

#define DRVPROXY_DEMO_IOC_MAGIC		0xd7
/* Fill a struct drvproxy_demo_info; -EINVAL if size is too small. */
#define DRVPROXY_DEMO_GET_INFO		_IOWR(DRVPROXY_DEMO_IOC_MAGIC, 1, struct drvproxy_demo_info)
/* Empty the FIFO and zero the byte and read counters; arg must be 0. */
#define DRVPROXY_DEMO_RESET		_IO(DRVPROXY_DEMO_IOC_MAGIC, 2)
/* Select the read transform (__u32); version 1 answers -ENOTTY. */
#define DRVPROXY_DEMO_SET_TRANSFORM	_IOW(DRVPROXY_DEMO_IOC_MAGIC, 3, __u32)
/*
 * Start a heartbeat timer with this period in ms (__u32), or stop it (0);
 * only drvproxy_demo_heartbeat.ko implements it, the others answer -ENOTTY.
 */
#define DRVPROXY_DEMO_HEARTBEAT		_IOW(DRVPROXY_DEMO_IOC_MAGIC, 4, __u32)

#endif /* _UAPI_DRVPROXY_DEMO_H */
