/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvproxy.h - Driver Hot-Swap for Linux: the public API
 *
 * A host driver describes itself with a &struct drvproxy_driver (the
 * DRIVER_OBJECT analogue) and marks the functions the rest of the kernel
 * calls -- its file_operations methods, worker routines, callbacks -- as
 * *endpoints* with DRVPROXY_ENDPOINT().  The name given to an endpoint is
 * bound at compile time to its *wrapper*: every call, including a direct call
 * from inside the host, enters the driver's drain domain, reads the active
 * implementation table once and calls the current implementation.
 *
 * A companion module publishes replacements with DRVPROXY_REPLACEMENT() and
 * applies them as one &struct drvproxy_layer: from that instant new calls run
 * the new code, calls already running finish in the old code, and the old
 * code's module cannot go away while a call is inside it.  Reverting the layer
 * (rmmod of the companion) swaps back, live.
 *
 * Windows DriverProxy -> drvproxy
 *
 *   IoGetDriverProxyFeatures                   drvproxy_get_features()
 *   IoCreateDriverProxyExtension               drvproxy_create_extension()
 *   IoGetDriverProxyExtensionFromDriverObject  drvproxy_get_extension()
 *   IoRegisterDriverProxyEndpoints (V1)        drvproxy_register_endpoints()
 *   IoGetDriverProxyWrapperFromEndpoint (V2)   drvproxy_get_wrapper_from_endpoint()
 *   IoGetDriverProxyEndpointWrapper (V1)       drvproxy_get_endpoint_wrapper()
 *   IoDriverProxyCreateHotSwappableWorkerThread drvproxy_create_worker()
 *   .shsept section (V2)                       the drvproxy_endpoints ELF section
 *
 * Windows status -> errno
 *
 *   STATUS_SUCCESS                  0
 *   STATUS_NOT_SUPPORTED            -EOPNOTSUPP  (feature disabled globally)
 *   STATUS_DRIVER_BLOCKED           -EPERM       (driver excluded by parameter)
 *   STATUS_INSUFFICIENT_RESOURCES   -ENOMEM
 *   STATUS_RESOURCE_IN_USE          -EBUSY       (driver already has an extension,
 *                                                 endpoint already bound elsewhere)
 *   STATUS_INVALID_PARAMETER(_3)    -EINVAL      (bad flags, bad argument,
 *                                                 signature mismatch)
 *   STATUS_NOT_FOUND                -ENOENT      (unknown endpoint or id)
 *   (companion's target driver
 *    absent or going away)          -ENODEV
 *   STATUS_UNSUCCESSFUL (drain
 *                      timed out)   -ETIMEDOUT
 *   (callback re-entered the
 *    extension: deadlock on Windows) -EDEADLK
 *   (interrupted while waiting for
 *    another transition)            -EINTR
 *
 * IRP_MJ -> file_operations: see &enum drvproxy_major_function.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_H
#define _DRVPROXY_H

#include <linux/compiler.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct drvproxy_cdev;
struct drvproxy_device;
struct drvproxy_extension;
struct drvproxy_table;
struct drvproxy_layer;
struct drvproxy_worker;
struct drvproxy_layer_kobj;

/* An untyped function pointer; "void (*)(void)" casts to and from any function. */
typedef void (*drvproxy_fn_t)(void);

/**
 * enum drvproxy_major_function - the major-function codes of a driver object
 * @DRVPROXY_MJ_CREATE: IRP_MJ_CREATE -> file_operations.open
 * @DRVPROXY_MJ_CLOSE: IRP_MJ_CLOSE -> .release (always delivered)
 * @DRVPROXY_MJ_READ: IRP_MJ_READ -> .read
 * @DRVPROXY_MJ_READ_ITER: IRP_MJ_READ -> .read_iter (used when .read is absent)
 * @DRVPROXY_MJ_WRITE: IRP_MJ_WRITE -> .write
 * @DRVPROXY_MJ_WRITE_ITER: IRP_MJ_WRITE -> .write_iter
 * @DRVPROXY_MJ_LLSEEK: (Linux only) .llseek
 * @DRVPROXY_MJ_DEVICE_CONTROL: IRP_MJ_DEVICE_CONTROL -> .unlocked_ioctl
 * @DRVPROXY_MJ_DEVICE_CONTROL_COMPAT: IRP_MJ_DEVICE_CONTROL from a 32-bit
 *	process -> .compat_ioctl
 * @DRVPROXY_MJ_POLL: (Linux only) .poll
 * @DRVPROXY_MJ_MMAP: (Linux only) .mmap
 * @DRVPROXY_MJ_FLUSH_BUFFERS: IRP_MJ_FLUSH_BUFFERS -> .fsync
 * @DRVPROXY_MJ_CLEANUP: IRP_MJ_CLEANUP (last handle of a file object closed)
 *	-> .flush (called on every close(2) of a descriptor)
 * @DRVPROXY_MJ_FASYNC: (Linux only) .fasync
 * @DRVPROXY_MJ_IOPOLL: (Linux only) .iopoll, polled completion of an async
 *	read or write (io_uring, O_DIRECT)
 * @DRVPROXY_MJ_LOCK: (Linux only) .lock, POSIX record locks (fcntl F_SETLK)
 * @DRVPROXY_MJ_GET_UNMAPPED_AREA: (Linux only) .get_unmapped_area, where mmap places a mapping
 * @DRVPROXY_MJ_CHECK_FLAGS: (Linux only) .check_flags, accepts or refuses fcntl(F_SETFL) flags
 * @DRVPROXY_MJ_FLOCK: (Linux only) .flock, flock(2)
 * @DRVPROXY_MJ_SPLICE_WRITE: (Linux only) .splice_write, splice(2) from a pipe
 * @DRVPROXY_MJ_SPLICE_READ: (Linux only) .splice_read, splice(2) to a pipe
 * @DRVPROXY_MJ_SPLICE_EOF: (Linux only) .splice_eof, the end of a splice
 * @DRVPROXY_MJ_SETLEASE: (Linux only) .setlease, file leases (fcntl F_SETLEASE)
 * @DRVPROXY_MJ_FALLOCATE: (Linux only) .fallocate, fallocate(2)
 * @DRVPROXY_MJ_SHOW_FDINFO: (Linux only) .show_fdinfo, lines of /proc/<pid>/fdinfo/<fd>
 * @DRVPROXY_MJ_COPY_FILE_RANGE: (Linux only) .copy_file_range, copy_file_range(2)
 * @DRVPROXY_MJ_REMAP_FILE_RANGE: (Linux only) .remap_file_range, FICLONE, FIDEDUPERANGE
 * @DRVPROXY_MJ_FADVISE: (Linux only) .fadvise, posix_fadvise(2)
 * @DRVPROXY_MJ_URING_CMD: (Linux only) .uring_cmd, io_uring IORING_OP_URING_CMD
 * @DRVPROXY_MJ_URING_CMD_IOPOLL: (Linux only) .uring_cmd_iopoll, polled completion of a uring_cmd
 * @DRVPROXY_MJ_MAX: number of codes; never a valid index
 *
 * A code left unset gets the VFS's conventional default, exactly as for a
 * file_operations member left NULL: read/write -EINVAL, llseek -ESPIPE,
 * ioctl -ENOTTY, poll DEFAULT_POLLMASK, mmap -ENODEV, fsync -EINVAL, and
 * flush/fasync do nothing.  Release is never refused.  Every method of
 * file_operations has a code; its value members have fields of their own
 * (&drvproxy_driver.fop_flags).
 */
enum drvproxy_major_function {
	DRVPROXY_MJ_CREATE,
	DRVPROXY_MJ_CLOSE,
	DRVPROXY_MJ_READ,
	DRVPROXY_MJ_READ_ITER,
	DRVPROXY_MJ_WRITE,
	DRVPROXY_MJ_WRITE_ITER,
	DRVPROXY_MJ_LLSEEK,
	DRVPROXY_MJ_DEVICE_CONTROL,
	DRVPROXY_MJ_DEVICE_CONTROL_COMPAT,
	DRVPROXY_MJ_POLL,
	DRVPROXY_MJ_MMAP,
	DRVPROXY_MJ_FLUSH_BUFFERS,
	DRVPROXY_MJ_CLEANUP,
	DRVPROXY_MJ_FASYNC,
	DRVPROXY_MJ_IOPOLL,
	DRVPROXY_MJ_LOCK,
	DRVPROXY_MJ_GET_UNMAPPED_AREA,
	DRVPROXY_MJ_CHECK_FLAGS,
	DRVPROXY_MJ_FLOCK,
	DRVPROXY_MJ_SPLICE_WRITE,
	DRVPROXY_MJ_SPLICE_READ,
	DRVPROXY_MJ_SPLICE_EOF,
	DRVPROXY_MJ_SETLEASE,
	DRVPROXY_MJ_FALLOCATE,
	DRVPROXY_MJ_SHOW_FDINFO,
	DRVPROXY_MJ_COPY_FILE_RANGE,
	DRVPROXY_MJ_REMAP_FILE_RANGE,
	DRVPROXY_MJ_FADVISE,
	DRVPROXY_MJ_URING_CMD,
	DRVPROXY_MJ_URING_CMD_IOPOLL,
	DRVPROXY_MJ_MAX
};

/* The file_operations member each code maps to (used by the typed setter). */
#define __DPX_MJ_MEMBER_CREATE			open
#define __DPX_MJ_MEMBER_CLOSE			release
#define __DPX_MJ_MEMBER_READ			read
#define __DPX_MJ_MEMBER_READ_ITER		read_iter
#define __DPX_MJ_MEMBER_WRITE			write
#define __DPX_MJ_MEMBER_WRITE_ITER		write_iter
#define __DPX_MJ_MEMBER_LLSEEK			llseek
#define __DPX_MJ_MEMBER_DEVICE_CONTROL		unlocked_ioctl
#define __DPX_MJ_MEMBER_DEVICE_CONTROL_COMPAT	compat_ioctl
#define __DPX_MJ_MEMBER_POLL			poll
#define __DPX_MJ_MEMBER_MMAP			mmap
#define __DPX_MJ_MEMBER_FLUSH_BUFFERS		fsync
#define __DPX_MJ_MEMBER_CLEANUP			flush
#define __DPX_MJ_MEMBER_FASYNC			fasync
#define __DPX_MJ_MEMBER_IOPOLL			iopoll
#define __DPX_MJ_MEMBER_LOCK			lock
#define __DPX_MJ_MEMBER_GET_UNMAPPED_AREA	get_unmapped_area
#define __DPX_MJ_MEMBER_CHECK_FLAGS		check_flags
#define __DPX_MJ_MEMBER_FLOCK			flock
#define __DPX_MJ_MEMBER_SPLICE_WRITE		splice_write
#define __DPX_MJ_MEMBER_SPLICE_READ		splice_read
#define __DPX_MJ_MEMBER_SPLICE_EOF		splice_eof
#define __DPX_MJ_MEMBER_SETLEASE		setlease
#define __DPX_MJ_MEMBER_FALLOCATE		fallocate
#define __DPX_MJ_MEMBER_SHOW_FDINFO		show_fdinfo
#define __DPX_MJ_MEMBER_COPY_FILE_RANGE		copy_file_range
#define __DPX_MJ_MEMBER_REMAP_FILE_RANGE	remap_file_range
#define __DPX_MJ_MEMBER_FADVISE			fadvise
#define __DPX_MJ_MEMBER_URING_CMD		uring_cmd
#define __DPX_MJ_MEMBER_URING_CMD_IOPOLL	uring_cmd_iopoll

/**
 * drvproxy_set_major_function() - set one major-function entry, type-checked
 * @drv: the driver object
 * @code: the code without its prefix, e.g. READ or DEVICE_CONTROL
 * @fn: an endpoint (or a plain function; not a pointer variable) with
 *	exactly the prototype of the file_operations member the code maps to;
 *	anything else fails to build
 */
#define drvproxy_set_major_function(drv, code, fn)				\
do {										\
	BUILD_BUG_ON_MSG(!__builtin_types_compatible_p(typeof(fn) *,		\
		typeof_member(const struct file_operations, __DPX_MJ_MEMBER_##code)), \
		"drvproxy: " #fn " does not have the prototype of "		\
		"file_operations." __stringify(__DPX_MJ_MEMBER_##code));	\
	(drv)->major_function[DRVPROXY_MJ_##code] = (drvproxy_fn_t)(fn);	\
} while (0)

/**
 * union drvproxy_feature_flags - what drvproxy_get_features() reports
 * @as_u32: all flags as one word
 * @enabled: 1 when drvproxy_create_extension() and
 *	drvproxy_register_endpoints() can succeed for the queried driver
 * @reserved: ignore
 */
union drvproxy_feature_flags {
	u32 as_u32;
	struct {
		u32 enabled:1;
		u32 reserved:31;
	};
};

/**
 * struct drvproxy_driver - the driver object (DRIVER_OBJECT analogue)
 * @name: driver name; the directory under /sys/kernel/drvproxy/drivers/ and
 *	the name companions target.  At most 55 characters, no '/'.
 * @owner: the host module (THIS_MODULE, set by drvproxy_driver_alloc())
 * @driver_start: start of the owner's core text (DriverStart)
 * @driver_size: size of the owner's core text (DriverSize)
 * @flags: DRVPROXY_DRIVER_* state flags (read-only for drivers)
 * @state_layout: version of the layout of the driver's per-device state,
 *	set by the host before registering (0: unversioned); a layer built
 *	for another layout is refused unless it migrates the state, and a
 *	migrating layer updates it
 * @device_mode: permissions of the device nodes drvproxy_create_device()
 *	creates (&miscdevice.mode); 0, the default, gives 0600, root only:
 *	a driver widens it only on purpose, as its original would have
 * @companions: NULL-terminated list of the module names allowed to apply
 *	layers to this driver (-EPERM for any other); NULL, the default,
 *	accepts any module that names the driver
 * @driver_init: DriverInit analogue; called by drvproxy_driver_register()
 * @driver_unload: DriverUnload analogue; called by drvproxy_driver_unregister()
 *	after the devices are removed and before the extension is freed; a
 *	device the driver has not deleted yet gets its @device_release later
 *	(delete each device first)
 * @driver_start_io: DriverStartIo analogue; called by drvproxy_start_io()
 * @fop_flags: FOP_* flags for the devices' file_operations (kernels that
 *	have &file_operations.fop_flags; elsewhere registering with any set
 *	fails with -EINVAL)
 * @device_release: called once for each device that was added
 *	(drvproxy_device_add()), when its last reference is gone
 *	(drvproxy_delete_device() with no file open, or the close of the
 *	last file opened before it; for a device the module never deleted,
 *	when the module goes, after its exit), just before drvproxy frees
 *	the state block: free what the state block holds here.  Optional;
 *	may sleep; runs in the host module, which the file being closed
 *	pins.
 * @devices: the devices created through this driver (DeviceObject list),
 *	protected by @lock
 * @lock: protects @devices
 * @extension: the proxy extension, or NULL (DriverExtension analogue)
 * @fops: the proxy file_operations of this driver, built from
 *	@major_function by drvproxy_driver_register() and freed with the
 *	driver; each device uses a copy of them (&drvproxy_device.fops)
 * @major_function: the dispatch table, indexed by &enum drvproxy_major_function.
 *	Must be the last member so that it remains extensible.
 *
 * Allocate with drvproxy_driver_alloc(), fill @major_function with
 * drvproxy_set_major_function(), then drvproxy_driver_register().
 */
struct drvproxy_driver {
	char name[56];
	struct module *owner;
	void *driver_start;
	unsigned long driver_size;
	unsigned long flags;
	u32 state_layout;
	umode_t device_mode;
	const char *const *companions;
	int (*driver_init)(struct drvproxy_driver *drv);
	void (*driver_unload)(struct drvproxy_driver *drv);
	void (*driver_start_io)(struct drvproxy_driver *drv, void *request);
	unsigned int fop_flags;
	void (*device_release)(struct drvproxy_device *dev);
	struct list_head devices;
	struct mutex lock;		/* protects @devices */
	struct drvproxy_extension *extension;
	const struct file_operations *fops;
	/* private: */
	const struct file_operations *owner_fops;
	unsigned int adding;		/* drvproxy_device_add()s in misc_register() */
	struct list_head node;
	struct kobject kobj;
	struct kobject *devices_kobj;
	/* public: */
	drvproxy_fn_t major_function[DRVPROXY_MJ_MAX];
};

#define DRVPROXY_DRIVER_REGISTERED	BIT(0)
#define DRVPROXY_DRIVER_UNLOADING	BIT(1)

/* &drvproxy_device.flags bit numbers */
#define DRVPROXY_DEVICE_ADDED		0	/* its node was registered */
#define DRVPROXY_DEVICE_REMOVED		1	/* deleted, or removed by unregister */

/**
 * struct drvproxy_device - a device object created through a driver object
 * @misc: the misc character device (minor, name, the proxy fops).  A
 *	device added with drvproxy_device_add_cdev() uses only @misc.name
 *	(its name) and @misc.mode (its node's permissions, 0 for 0600)
 * @driver: the driver object that created it
 * @node: entry in &drvproxy_driver.devices while the device is present
 * @opens: number of open files, for sysfs
 * @state: the per-device state block (Windows' DeviceExtension): zeroed
 *	memory of the size given at creation; every implementation version reaches it
 *	through drvproxy_file_device(), so a newer implementation works on the
 *	same data.  It lives until the last file opened on the device is
 *	closed, after drvproxy_delete_device() if files were still open.
 * @fops: this device's copy of the driver's proxy file_operations, the
 *	file_operations of every file opened on it: drvproxy_file_device()
 *	finds the device from the file in O(1), and drvproxy_delete_device()
 *	turns the methods of files still open into ones that fail with
 *	-ENODEV without a test on the call path
 * @uid: owner of the device node of a device added with
 *	drvproxy_device_add_cdev() (default root); set before adding it
 * @gid: group of that node (default root)
 *
 * The device is reference counted: drvproxy_device_alloc() gives the
 * creator a reference, which drvproxy_delete_device() drops (or, for a
 * device its module never deleted, drvproxy when that module goes); each
 * open file holds one until its release.  So the creator's pointer stays
 * valid until it deletes the device, also after
 * drvproxy_driver_unregister() removed it.
 */
struct drvproxy_device {
	struct miscdevice misc;
	struct drvproxy_driver *driver;
	struct list_head node;
	atomic_t opens;
	void *state;
	struct file_operations fops;	/* not const: revoked in place */
	kuid_t uid;
	kgid_t gid;
	/* private: */
	struct drvproxy_cdev *cdev;	/* drvproxy_device_add_cdev() */
	struct list_head created;	/* until the creator's reference goes */
	struct kref ref;
	size_t state_size;
	unsigned long flags;
	struct mutex files_lock;	/* protects @files */
	struct list_head files;		/* see drvproxy_track_file() */
};

struct drvproxy_driver *__drvproxy_driver_alloc(const char *name, struct module *owner,
						const struct file_operations *owner_fops);
/**
 * drvproxy_driver_alloc() - allocate a driver object owned by the calling module
 * @name: driver name (copied)
 *
 * Context: process context, may sleep.
 * Return: the driver object, or ERR_PTR(-EINVAL) for a bad name,
 * ERR_PTR(-ENOMEM).
 */
#define drvproxy_driver_alloc(name)						\
({										\
	static const struct file_operations __dpx_owner_fops = {		\
		.owner = THIS_MODULE,						\
	};									\
	__drvproxy_driver_alloc(name, THIS_MODULE, &__dpx_owner_fops);		\
})

int drvproxy_driver_register(struct drvproxy_driver *drv);
void drvproxy_driver_unregister(struct drvproxy_driver *drv);
void drvproxy_driver_free(struct drvproxy_driver *drv);
struct drvproxy_driver *drvproxy_driver_get(const char *name);
void drvproxy_driver_put(struct drvproxy_driver *drv);
void drvproxy_start_io(struct drvproxy_driver *drv, void *request);

struct drvproxy_device *drvproxy_device_alloc(struct drvproxy_driver *drv, const char *name,
					      size_t state_size);
int drvproxy_device_add(struct drvproxy_device *dev);
int drvproxy_device_add_cdev(struct drvproxy_device *dev, dev_t devt,
			     const struct class *class, struct device *parent);
int drvproxy_create_device(struct drvproxy_driver *drv, const char *name,
			   size_t state_size, struct drvproxy_device **out);
void drvproxy_delete_device(struct drvproxy_device *dev);
bool drvproxy_is_driver_file(const struct file *file, const struct drvproxy_driver *drv);
int drvproxy_track_file(struct file *file);
void drvproxy_untrack_file(struct file *file);
int drvproxy_iterate_files(struct drvproxy_driver *drv,
			   int (*fn)(struct file *file, void *ctx), void *ctx);

/**
 * drvproxy_file_device() - the device object behind an open file
 * @file: a file opened on a drvproxy device (drvproxy_is_driver_file()),
 *	from its open to its release, whatever the driver keeps in
 *	@file->private_data
 *
 * Return: the device object.
 */
static inline struct drvproxy_device *drvproxy_file_device(const struct file *file)
{
	return container_of(file->f_op, struct drvproxy_device, fops);
}

/**
 * drvproxy_device_removed() - whether a device was removed (deleted, or
 *	removed by drvproxy_driver_unregister())
 * @dev: the device, from drvproxy_file_device()
 *
 * A driver whose calls block (a read waiting for data) checks this in its
 * wait condition and wakes its waiters before drvproxy_delete_device(), as
 * any driver does on hot-unplug; new calls on files still open fail with
 * -ENODEV without reaching the driver.
 *
 * Return: true once the device is being deleted.
 */
static inline bool drvproxy_device_removed(const struct drvproxy_device *dev)
{
	return test_bit(DRVPROXY_DEVICE_REMOVED, &dev->flags);
}

/* ------------------------------------------------------------------------ */
/* Features and the proxy extension                                          */

void drvproxy_get_features(const struct drvproxy_driver *drv,
			   union drvproxy_feature_flags *flags);

struct drvproxy_endpoint_desc;

int __drvproxy_create_extension(struct drvproxy_driver *drv, u32 flags,
				struct drvproxy_extension **out,
				struct drvproxy_endpoint_desc *const *start,
				struct drvproxy_endpoint_desc *const *stop,
				const void *build_id, const void *build_id_end,
				struct module *owner);

extern struct drvproxy_endpoint_desc *const __start_drvproxy_endpoints[];
extern struct drvproxy_endpoint_desc *const __stop_drvproxy_endpoints[];
/* The host's build id note, from its link with --build-id (drvproxy.lds). */
extern const u8 __start_drvproxy_build_id[];
extern const u8 __stop_drvproxy_build_id[];

/**
 * drvproxy_create_extension() - create a driver's proxy extension (V2)
 * @drv: the owning driver object, or NULL for an extension without owner
 *	(which has no automatic endpoints and must be freed with
 *	drvproxy_destroy_extension())
 * @flags: reserved, must be 0
 * @out: receives the extension
 *
 * Enumerates every DRVPROXY_ENDPOINT() of the calling module from its
 * drvproxy_endpoints section (the module must be linked with drvproxy.lds)
 * and makes their wrappers live: from the return of this call, calls through
 * them are counted and can be swapped.  The module's build id (its link with
 * --build-id=sha1, which drvproxy.lds keeps) identifies the build image
 * companions must be made from.  V2 endpoint ids are their index in
 * name order, starting at 0.  The extension is freed automatically by
 * drvproxy_driver_unregister().  Every V2 endpoint of the module goes to
 * this one extension, so a module has one driver object with an extension
 * (a second create fails with -EBUSY): a driver with several devices
 * creates them all from that driver object.
 *
 * Context: process context, may sleep.
 * @drv may be registered before or after.
 *
 * Return: 0; -EINVAL for non-zero @flags, a NULL @out or two endpoints with
 * the same name; -EOPNOTSUPP when drvproxy is disabled;
 * -EPERM when @drv is excluded; -EBUSY when @drv already has an extension or
 * an endpoint is already bound to another extension; -ENOMEM.
 */
#define drvproxy_create_extension(drv, flags, out)				\
	__drvproxy_create_extension(drv, flags, out,				\
				    __start_drvproxy_endpoints,			\
				    __stop_drvproxy_endpoints,			\
				    __start_drvproxy_build_id,			\
				    __stop_drvproxy_build_id, THIS_MODULE)

void drvproxy_destroy_extension(struct drvproxy_extension *ext);

/**
 * drvproxy_get_extension() - the extension a driver object owns
 * @drv: driver object, may be NULL
 *
 * Context: any context, including hard IRQ; does not allocate.
 * Return: the extension, or NULL if @drv is NULL or has none.
 */
static inline struct drvproxy_extension *
drvproxy_get_extension(const struct drvproxy_driver *drv)
{
	/* Pairs with smp_store_release() in __drvproxy_create_extension(). */
	return drv ? smp_load_acquire(&drv->extension) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Endpoints, wrappers and the hot path                                      */

/* Per-CPU call accounting of one endpoint in one table. */
struct drvproxy_count {
	unsigned long enter;
	unsigned long exit;
};

/*
 * The per-CPU counters of a table are allocated in chunks of this many
 * endpoints (16 KiB per chunk; the per-CPU allocator takes at most 32 KiB at
 * once), and each slot points at its own.
 */
#define DRVPROXY_COUNT_CHUNK		1024U

/* One endpoint in one table: the implementation and where its calls count. */
struct drvproxy_slot {
	drvproxy_fn_t fn;
	struct drvproxy_count __percpu *count;
};

/**
 * struct drvproxy_table - one generation of implementations, as calls see it
 * @nr: number of slots
 * @slot: per endpoint, the implementation its calls run (NULL in a stall
 *	table: callers that may sleep wait for the next publish) and the
 *	per-CPU counters they count themselves in
 *
 * Readers see it only between entering (drvproxy_call_try_enter()) and
 * leaving (drvproxy_call_leave_counted()).  Every implementation receives
 * the table its call entered as its hidden last parameter, ``__dpx_call``
 * (last, so the
 * wrapper passes the caller's arguments on in the registers they came in;
 * NULL when the endpoint is not bound to an extension), which the
 * swap-aware waits compare with the active table.  Everything else about a
 * table (its generation, the layers that filled its slots, its retirement)
 * is the swap engine's and not part of this header.
 */
struct drvproxy_table {
	unsigned int nr;
	struct drvproxy_slot slot[];
};

/**
 * struct drvproxy_endpoint_desc - an endpoint as its macro emits it
 * @name: the endpoint's name
 * @signature: the prototype as the macro received it, "type(ptype, pname,
 *	...)"; drvproxy compares only the return and parameter types
 * @impl: the original implementation (takes the call's table last)
 * @wrapper: the wrapper, i.e. the function the endpoint's name denotes
 * @slow: the wrapper's slow path, __dpx_slow_<name>() (NULL in a build
 *	without wrappers); the nesting check of a stalled call looks for it
 *	on the stack
 * @owner: the module that contains @impl and @wrapper
 * @ext: the extension it is bound to (written by drvproxy; NULL when unbound)
 * @index: its slot in @ext's tables (written by drvproxy)
 * @flags: DRVPROXY_EP_ATOMIC: declared with a DRVPROXY_ENDPOINT_ATOMIC*()
 *	macro, callable from any context and never stalled;
 *	DRVPROXY_EP_ERRNO: its return type carries a negative errno (int,
 *	long, long long: ssize_t, loff_t), so it can be re-dispatched and a
 *	killed stalled caller can fail with -EINTR;
 *	DRVPROXY_EP_NOWAIT: declared with a DRVPROXY_ENDPOINT_NOWAIT*() macro:
 *	no swap-aware wait builds in it nor in a replacement that may be
 *	applied to it, so its wrapper never re-dispatches and keeps no
 *	arguments for it
 * @claim: the extension that owns the endpoint, from the check of its
 *	registration until its release (written by drvproxy, with cmpxchg())
 */
struct drvproxy_endpoint_desc {
	const char *name;
	const char *signature;
	drvproxy_fn_t impl;
	drvproxy_fn_t wrapper;
	drvproxy_fn_t slow;
	struct module *owner;
	struct drvproxy_extension *ext;
	unsigned int index;
	unsigned int flags;
	struct drvproxy_extension *claim;
};

#define DRVPROXY_EP_ATOMIC	BIT(0)
#define DRVPROXY_EP_ERRNO	BIT(1)
#define DRVPROXY_EP_NOWAIT	BIT(2)

/*
 * The extension's hot-path view (private; first member of the extension so
 * the inline fast path needs no other definition).
 */
struct drvproxy_domain {
	struct drvproxy_table __rcu *active;
};

/* What drvproxy_call_enter() returns: in two registers, not on the stack. */
struct drvproxy_entry {
	drvproxy_fn_t fn;
	struct drvproxy_table *table;
};

/*
 * What drvproxy_call_try_enter() returns (inlined only): the entry and the
 * counters it counted the call in, which the wrapper keeps across the call
 * for its exit count instead of finding them again in the table.
 */
struct drvproxy_fast_entry {
	struct drvproxy_entry e;
	struct drvproxy_count __percpu *count;
};

struct drvproxy_entry drvproxy_call_stalled(struct drvproxy_endpoint_desc *desc,
					    struct drvproxy_table *t);
bool __drvproxy_call_stale(struct drvproxy_table *call);
bool drvproxy_call_redispatch(struct drvproxy_endpoint_desc *desc,
			      struct drvproxy_table *t);

/**
 * drvproxy_call_try_enter() - the fast part of entering an endpoint (used by
 *	the generated wrappers)
 * @desc: the endpoint
 *
 * The hot path: one preempt-count increment and decrement, one load of the
 * endpoint's binding, one acquire load of the active table, one
 * per-CPU increment, one load of the implementation.  No lock, no atomic
 * read-modify-write, no full memory barrier (the acquire loads are plain
 * loads on x86, LDAR on arm64), no write outside this CPU's data, nothing
 * on the stack.  The loads
 * and the per-CPU count sit in one preempt-disabled region, so the swap
 * engine's synchronize_rcu() after a publish (or an unbind) guarantees that
 * every call which loaded the old table has counted itself in it.
 *
 * Return: the implementation to call, the table the call is counted in and
 * that table's counters of @desc.  A NULL table: @desc is not bound,
 * nothing was counted.  A NULL implementation with a table: the call is
 * counted in a stall table and must go on with drvproxy_call_stalled().
 * Neither is handled here, so that the wrapper's fast path makes no call
 * but the implementation's.
 */
static __always_inline struct drvproxy_fast_entry
drvproxy_call_try_enter(struct drvproxy_endpoint_desc *desc)
{
	struct drvproxy_extension *ext;
	struct drvproxy_domain *dom;
	struct drvproxy_fast_entry f;
	struct drvproxy_slot *slot;

	preempt_disable_notrace();
	/* Pairs with smp_store_release() when drvproxy binds the endpoint. */
	ext = smp_load_acquire(&desc->ext);
	if (unlikely(!ext)) {
		preempt_enable_notrace();
		f.e.fn = NULL;
		f.e.table = NULL;
		f.count = NULL;
		return f;
	}
	dom = (struct drvproxy_domain *)ext;
	/*
	 * Acquire: pairs with rcu_assign_pointer() in drvproxy_publish(), so
	 * an implementation that a stalled transition published sees what
	 * the STALLED callback wrote (state it migrated, not only the table).
	 * A plain load on x86; ldar on arm64.
	 */
	f.e.table = (struct drvproxy_table __force *)smp_load_acquire(&dom->active);
	slot = &f.e.table->slot[desc->index];
	f.count = slot->count;
	this_cpu_inc(f.count->enter);
	f.e.fn = slot->fn;
	preempt_enable_notrace();
	return f;
}

/**
 * drvproxy_call_enter() - enter an endpoint (used by the generated wrappers'
 *	slow path)
 * @desc: the endpoint
 *
 * drvproxy_call_try_enter(), then what it leaves to the caller.
 *
 * Return: the implementation to call and the table the call is counted in
 * (NULL when @desc is not bound: the original then runs directly).  Both
 * are NULL when a stalled caller of a DRVPROXY_EP_ERRNO endpoint was
 * killed while it waited: the wrapper then fails the call with -EINTR.
 */
static __always_inline struct drvproxy_entry
drvproxy_call_enter(struct drvproxy_endpoint_desc *desc)
{
	struct drvproxy_entry e = drvproxy_call_try_enter(desc).e;

	if (unlikely(!e.table))
		e.fn = desc->impl;
	else if (unlikely(!e.fn))
		e = drvproxy_call_stalled(desc, e.table);
	return e;
}

/**
 * drvproxy_call_leave_counted() - leave an endpoint (used by the generated
 *	wrappers)
 * @count: the counters drvproxy_call_try_enter() counted the call in, not
 *	NULL
 *
 * One per-CPU increment, on whichever CPU the call ends.  The swap engine
 * orders it against freeing the table with synchronize_rcu().  Neither
 * @count nor the table may be touched afterwards: they may be freed as
 * soon as this returns.
 */
static __always_inline void drvproxy_call_leave_counted(struct drvproxy_count __percpu *count)
{
	this_cpu_inc(count->exit);
}

/**
 * drvproxy_call_leave() - leave an endpoint (used by the wrappers' slow path)
 * @desc: the endpoint
 * @table: the table drvproxy_call_enter() returned; NULL (the endpoint was
 *	not bound) counts nothing
 */
static __always_inline void drvproxy_call_leave(struct drvproxy_endpoint_desc *desc,
						struct drvproxy_table *table)
{
	if (likely(table))
		drvproxy_call_leave_counted(table->slot[desc->index].count);
}

/*
 * Returned by a swap-aware wait that ended because of a swap.  The wrapper
 * re-dispatches a call that returns it while its table is no longer active,
 * so userspace never sees it; -ERESTARTNOINTR ("run the call again") means
 * just that anyway, should an implementation return it on its own.
 */
#define DRVPROXY_ERESTART	(-ERESTARTNOINTR)

/*
 * Can @type carry a negative errno?  Only then may a call be re-dispatched
 * (a u8, char or short would truncate DRVPROXY_ERESTART to a value the
 * implementation may return on its own) or failed with -EINTR.  A compile
 * time constant for any type, void included.
 */
#define __DPX_ERRNO_TYPE(type) _Generic((type *)0, int *: 1, long *: 1, long long *: 1, default: 0)
/* The same for the type of @v (not evaluated); DRVPROXY_EP_ERRNO or 0. */
#define __DPX_ERRNO_VAL(v)	__DPX_ERRNO_TYPE(typeof(v))
#define __DPX_ERRNO_FLAG(type)	(__DPX_ERRNO_TYPE(type) * DRVPROXY_EP_ERRNO)
/* The flags of an endpoint or replacement of @type declared with @flags. */
#define __DPX_FLAGS(type, flags)	((flags) | __DPX_ERRNO_FLAG(type))
/*
 * May an endpoint with these flags be re-dispatched, i.e. may a swap-aware
 * wait run in it?  Only when its type carries an errno and it was not
 * declared to never wait.  A compile-time constant.
 */
#define __DPX_CAN_RESTART(flags)						\
	(((flags) & (DRVPROXY_EP_ERRNO | DRVPROXY_EP_NOWAIT)) == DRVPROXY_EP_ERRNO)

/*
 * Did the call return DRVPROXY_ERESTART for a re-dispatch?  Only endpoints
 * that may be re-dispatched (@flags) can; the test is compile-time false in
 * the others, which keeps their wrappers from keeping the arguments.  The
 * bool and type tests are redundant but for sparse, which folds them and so
 * does not warn about the constant cast to bool behind them.
 */
#define __DPX_RESTARTED(type, flags, r)						\
	(__DPX_CAN_RESTART(flags) && !__builtin_types_compatible_p(type, bool) &&	\
	 __DPX_ERRNO_VAL(r) && unlikely((r) == (__force type)(long)DRVPROXY_ERESTART))

/*
 * The table a call entered, as ``__dpx_call`` holds it in an endpoint or
 * replacement that is never re-dispatched (declared _NOWAIT, or whose type
 * carries no errno): a type of its own (never defined), so that passing it
 * to a helper whose ``struct drvproxy_table *__dpx_call`` parameter lets a
 * swap-aware wait build fails to compile (-Werror=incompatible-pointer-types).
 */
struct drvproxy_nowait_table;

/*
 * The type of the hidden ``__dpx_call`` parameter of an endpoint or
 * replacement with @flags: the table the call entered, a struct
 * drvproxy_table when it may be re-dispatched and a struct
 * drvproxy_nowait_table when not, so that the swap-aware waits (which must
 * return DRVPROXY_ERESTART) refuse to build in it, directly or in a helper;
 * see __DPX_ASSERT_CAN_RESTART().
 */
struct __dpx_call_types {
	struct drvproxy_table *may_restart;
	struct drvproxy_nowait_table *nowait;
};

#define __DPX_CALL_T(flags)							\
	typeof(*__builtin_choose_expr(__DPX_CAN_RESTART(flags),			\
		&((struct __dpx_call_types *)NULL)->may_restart,		\
		&((struct __dpx_call_types *)NULL)->nowait))

/* @t, a table, as the ``__dpx_call`` argument of an implementation with @flags. */
#define __DPX_CALL_ARG(flags, t)	((__DPX_CALL_T(flags))(t))

/*
 * @call, a ``__dpx_call`` of either type, as the table it is, for the
 * functions that accept any call's table (they never wait).  Anything else
 * is passed on as it is, for the compiler to check.
 */
#define __DPX_ANY_CALL(call)							\
	__builtin_choose_expr(__builtin_types_compatible_p(typeof(call),	\
				struct drvproxy_nowait_table *),		\
			      (struct drvproxy_table *)(call), (call))

/**
 * drvproxy_call_stale() - has the table of a call been superseded
 * @call: the table the call entered (``__dpx_call`` in an endpoint or
 *	replacement body, of any kind), or NULL
 *
 * Context: any context, while the call has not counted its exit.
 * Return: true when a swap or revert published another table since the call
 * entered, so the implementation running it may be old code.
 */
#define drvproxy_call_stale(call)	__drvproxy_call_stale(__DPX_ANY_CALL(call))

#define __DPX_ASSERT_CAN_RESTART(call)						\
	BUILD_BUG_ON_MSG(!__builtin_types_compatible_p(typeof(call) *,		\
				struct drvproxy_table **),			\
		"drvproxy: a swap-aware wait needs an endpoint returning int, "	\
		"long or long long (ssize_t, loff_t), not declared _NOWAIT: "	\
		"its re-dispatch returns an errno")

/*
 * What a killed stalled call returns: -EINTR.  Only errno-typed endpoints
 * get there; the bool case is for sparse, which would warn about the dead
 * constant cast to bool otherwise.
 */
#define __DPX_KILLED(type)							\
	__builtin_choose_expr(__builtin_types_compatible_p(type, bool), (type)0,	\
			      (__force type)(long)-EINTR)

/* @call, once it is known to be a table a swap-aware wait may use. */
#define __DPX_CHECKED_CALL(call) ({ __DPX_ASSERT_CAN_RESTART(call); (call); })

/* The hidden last parameter of every implementation (@flags: its kind). */
#define __DPX_CALL_PARAM(flags) __DPX_CALL_T(flags) __dpx_call
#define __DPX_CALL_PARAM_UNUSED(flags) __DPX_CALL_T(flags) __dpx_call __maybe_unused

/*
 * Macro plumbing.  Parameters come as (type, name) pairs, as for
 * SYSCALL_DEFINEx(), and are mapped with __DPX_MAP(), a copy of the
 * kernel's __MAP(): <linux/syscalls.h> would bring tracing and perf types
 * into every driver that includes this header, which changes the
 * modversions CRCs of the driver's own exports (a module built against the
 * unconverted driver would refuse the converted one).  The
 * signature is the stringified prototype, parameter names included;
 * drvproxy compares only the return type and the parameter types.
 */
/* Linkage of a global endpoint: none, i.e. external. */
#define __DPX_EXTERN

#define __DPX_HALF_2	1
#define __DPX_HALF_4	2
#define __DPX_HALF_6	3
#define __DPX_HALF_8	4
#define __DPX_HALF_10	5
#define __DPX_HALF_12	6
#define __DPX_NPAIRS(...)	CONCATENATE(__DPX_HALF_, COUNT_ARGS(__VA_ARGS__))
#define __DPX_MAP0(m, ...)
#define __DPX_MAP1(m, t, a, ...) m(t, a)
#define __DPX_MAP2(m, t, a, ...) m(t, a), __DPX_MAP1(m, __VA_ARGS__)
#define __DPX_MAP3(m, t, a, ...) m(t, a), __DPX_MAP2(m, __VA_ARGS__)
#define __DPX_MAP4(m, t, a, ...) m(t, a), __DPX_MAP3(m, __VA_ARGS__)
#define __DPX_MAP5(m, t, a, ...) m(t, a), __DPX_MAP4(m, __VA_ARGS__)
#define __DPX_MAP6(m, t, a, ...) m(t, a), __DPX_MAP5(m, __VA_ARGS__)
/* Two steps, so that n (a __DPX_NPAIRS()) is expanded before the paste. */
#define __DPX_MAP(n, ...)	__DPX_MAP_N(n, __VA_ARGS__)
#define __DPX_MAP_N(n, ...)	__DPX_MAP##n(__VA_ARGS__)
#define __DPX_DECL(t, a)	t a
#define __DPX_ARG(t, a)		a
#define __DPX_PARAMS(...)	__DPX_MAP(__DPX_NPAIRS(__VA_ARGS__), __DPX_DECL, __VA_ARGS__)
#define __DPX_ARGS(...)		__DPX_MAP(__DPX_NPAIRS(__VA_ARGS__), __DPX_ARG, __VA_ARGS__)

/* An endpoint's descriptor, and its entry in the module's section. */
#define __DPX_DESC(epn, type, ...)						\
	static struct drvproxy_endpoint_desc __dpx_desc_##epn __maybe_unused = { \
		.name = #epn,							\
		.signature = #type "(" #__VA_ARGS__ ")",			\
		.impl = (drvproxy_fn_t)__dpx_impl_##epn,			\
		.wrapper = (drvproxy_fn_t)epn,					\
		.slow = __DPX_SLOW_FN(epn),					\
		.owner = THIS_MODULE,						\
		.flags = __dpx_flags_##epn,					\
	}

#define __DPX_IN_SECTION(epn, ...)						\
	static struct drvproxy_endpoint_desc *const __dpx_ptr_##epn		\
	__used __aligned(sizeof(void *)) __section("drvproxy_endpoints") =	\
		&__dpx_desc_##epn

#define __DPX_NOT_IN_SECTION(epn, ...)						\
	static_assert(sizeof(__dpx_desc_##epn))

#if !defined(DRVPROXY_RAW) && !defined(DRVPROXY_IMAGE_COMPANION)
#define __DPX_SLOW_FN(epn)	((drvproxy_fn_t)__dpx_slow_##epn)

/*
 * What an errno-typed call that returned DRVPROXY_ERESTART returned, as
 * @type; the bool case is for sparse, as in __DPX_KILLED().
 */
#define __DPX_ERESTART_AS(type)							\
	__builtin_choose_expr(__builtin_types_compatible_p(type, bool), (type)0,	\
			      (__force type)(long)DRVPROXY_ERESTART)

/*
 * The wrapper is split in two.  The fast path, under the endpoint's name,
 * handles the call that finds its endpoint bound, its implementation in the
 * active table and no re-dispatch to do: enter, call, leave.  Everything
 * else goes to the slow path, a separate function, so that the fast path
 * calls nothing but the implementation: no frame is kept for calls it does
 * not make (a struct returned in two registers, as drvproxy_call_stalled()
 * returns one, costs a frame pointer with GCC), and the arguments are kept
 * across the call only where a re-dispatch may need them again.
 *
 * The slow path: @__t is the table the fast path counted the call in (a
 * stall table, or the table whose implementation returned
 * DRVPROXY_ERESTART when @__restarted), or NULL when the endpoint was
 * unbound (nothing counted: the original runs, as the fast path found).
 * It is never cloned (__noclone), so that the nesting check of a stalled
 * call (wait.c) finds it on the stack at the address its descriptor
 * holds.  A call that left a swap-aware wait because of a swap is
 * dispatched again, to the implementation that is current now; the
 * staleness check reads the table before the exit count releases it.
 * Both extra tests are compile-time false unless @type carries an errno,
 * and only a stalled caller can have been killed (drvproxy_call_stalled()
 * returns a NULL implementation from there alone).
 */
#define __DPX_SLOW(type, epn, ...)						\
static noinline __noclone type							\
__dpx_slow_##epn(__DPX_PARAMS(__VA_ARGS__), struct drvproxy_table *__t,		\
		 bool __restarted)						\
{										\
	struct drvproxy_entry __e = { .fn = __dpx_desc_##epn.impl, .table = __t }; \
	type __r = __DPX_ERESTART_AS(type);					\
										\
	if (__t && !__restarted)						\
		__e = drvproxy_call_stalled(&__dpx_desc_##epn, __t);		\
	for (;;) {								\
		if (!__restarted) {						\
			if (__DPX_ERRNO_VAL(__r) && unlikely(!__e.fn))		\
				return __DPX_KILLED(type);			\
			__r = ((typeof(__dpx_impl_##epn) *)__e.fn)(		\
					__DPX_ARGS(__VA_ARGS__),		\
					__DPX_CALL_ARG(__dpx_flags_##epn, __e.table)); \
		}								\
		__restarted = false;						\
		if (!__DPX_RESTARTED(type, __dpx_flags_##epn, __r) ||		\
		    !drvproxy_call_redispatch(&__dpx_desc_##epn, __e.table))	\
			break;							\
		drvproxy_call_leave(&__dpx_desc_##epn, __e.table);		\
		__e = drvproxy_call_enter(&__dpx_desc_##epn);			\
	}									\
	drvproxy_call_leave(&__dpx_desc_##epn, __e.table);			\
	return __r;								\
}

/*
 * The wrapper calls its slow path; the barrier after the call keeps the
 * compiler from jumping to it instead.  A stalled caller's stack then
 * always shows drvproxy's frames, the slow path and the wrapper, in that
 * order, which is what the nesting check (wait.c) skips before it looks
 * for an outer call: were the wrapper to jump, the frame after the slow
 * path would be the caller's, which may be this endpoint's own wrapper in
 * an outer call (an implementation ending with a call of its own
 * endpoint) and must not be skipped.
 */
#define __DPX_CALL_SLOW(type, epn, table, restarted, ...) ({			\
	type __s = __dpx_slow_##epn(__DPX_ARGS(__VA_ARGS__), table, restarted);	\
	barrier();								\
	__s;									\
})

#define __DPX_WRAPPER(linkage, type, epn, ...)					\
__DPX_SLOW(type, epn, __VA_ARGS__)						\
linkage type epn(__DPX_PARAMS(__VA_ARGS__))					\
{										\
	struct drvproxy_fast_entry __f = drvproxy_call_try_enter(&__dpx_desc_##epn); \
	type __r;								\
										\
	if (unlikely(!__f.e.fn))						\
		return __DPX_CALL_SLOW(type, epn, __f.e.table, false, __VA_ARGS__); \
	__r = ((typeof(__dpx_impl_##epn) *)__f.e.fn)(__DPX_ARGS(__VA_ARGS__),	\
		__DPX_CALL_ARG(__dpx_flags_##epn, __f.e.table));		\
	if (__DPX_RESTARTED(type, __dpx_flags_##epn, __r))			\
		return __DPX_CALL_SLOW(type, epn, __f.e.table, true, __VA_ARGS__); \
	drvproxy_call_leave_counted(__f.count);					\
	return __r;								\
}

/* The same for a void endpoint, which is never re-dispatched nor killed. */
#define __DPX_WRAPPER_VOID(linkage, type, epn, ...)				\
static noinline __noclone void							\
__dpx_slow_##epn(__DPX_PARAMS(__VA_ARGS__), struct drvproxy_table *__t)	\
{										\
	struct drvproxy_entry __e = { .fn = __dpx_desc_##epn.impl, .table = NULL }; \
										\
	if (__t)								\
		__e = drvproxy_call_stalled(&__dpx_desc_##epn, __t);		\
	((typeof(__dpx_impl_##epn) *)__e.fn)(__DPX_ARGS(__VA_ARGS__),		\
		__DPX_CALL_ARG(__dpx_flags_##epn, __e.table));			\
	drvproxy_call_leave(&__dpx_desc_##epn, __e.table);			\
}										\
										\
linkage type epn(__DPX_PARAMS(__VA_ARGS__))					\
{										\
	struct drvproxy_fast_entry __f = drvproxy_call_try_enter(&__dpx_desc_##epn); \
										\
	if (unlikely(!__f.e.fn)) {						\
		__dpx_slow_##epn(__DPX_ARGS(__VA_ARGS__), __f.e.table);		\
		barrier();	/* called, not jumped to: see __DPX_CALL_SLOW() */ \
		return;								\
	}									\
	((typeof(__dpx_impl_##epn) *)__f.e.fn)(__DPX_ARGS(__VA_ARGS__),		\
		__DPX_CALL_ARG(__dpx_flags_##epn, __f.e.table));		\
	drvproxy_call_leave_counted(__f.count);					\
}
#else
#undef __DPX_IN_SECTION
#define __DPX_SLOW_FN(epn)	NULL
/*
 * DRVPROXY_RAW: endpoints are plain functions (the original, called without
 * a table), for baselines that measure what the proxy costs.  An image
 * companion (below) calls its own endpoints the same way.
 */
#define __DPX_WRAPPER(linkage, type, epn, ...)					\
linkage type epn(__DPX_PARAMS(__VA_ARGS__))					\
{										\
	return __dpx_impl_##epn(__DPX_ARGS(__VA_ARGS__), NULL);		\
}

#define __DPX_WRAPPER_VOID(linkage, type, epn, ...)				\
linkage type epn(__DPX_PARAMS(__VA_ARGS__))					\
{										\
	__dpx_impl_##epn(__DPX_ARGS(__VA_ARGS__), NULL);			\
}

#ifdef DRVPROXY_IMAGE_COMPANION
/*
 * Image companion build (make companion): this module is a newer build of a
 * host driver's own source.  Each endpoint becomes a replacement of the
 * running host's endpoint of the same name, matched by signature; one the
 * running host does not have is new (nothing there calls it), and one the
 * build found compiled identically (-D__DPX_UNCHANGED_<name>=1) is skipped.
 */
#define __DPX_IN_SECTION(epn, type, ...)					\
	static const struct drvproxy_replacement __dpx_repl_##epn = {		\
		.target = #epn,							\
		.name = #epn,							\
		.signature = #type "(" #__VA_ARGS__ ")",			\
		.fn = (drvproxy_fn_t)__dpx_impl_##epn,				\
		.flags = DRVPROXY_REPL_NEW |					\
			 __DPX_REPL_NOWAIT_FLAG(__dpx_flags_##epn) |		\
			 (__is_defined(__DPX_UNCHANGED_##epn) ?			\
			  DRVPROXY_REPL_UNCHANGED : 0) |			\
			 (__is_defined(__DPX_UNREACHABLE_##epn) ?		\
			  DRVPROXY_REPL_UNREACHABLE : 0),			\
	};									\
	__DPX_REPL_IN_SECTION(epn)
#else
#define __DPX_IN_SECTION(epn, ...)	__DPX_NOT_IN_SECTION(epn)
#endif
#endif

/*
 * Declares the original and the descriptor, defines the wrapper under the
 * endpoint's name (with @linkage), emits the descriptor and opens the
 * original's definition, whose body follows the macro.
 */
#define __DPX_ENDPOINT(section, linkage, body, epflags, type, epn, ...)	\
	enum { __dpx_flags_##epn = __DPX_FLAGS(type, epflags) };		\
	static type __dpx_impl_##epn(__DPX_PARAMS(__VA_ARGS__),		\
				     __DPX_CALL_PARAM(__dpx_flags_##epn));	\
	static struct drvproxy_endpoint_desc __dpx_desc_##epn;			\
	body(linkage, type, epn, __VA_ARGS__)					\
	__DPX_DESC(epn, type, __VA_ARGS__);					\
	section(epn, type, __VA_ARGS__);					\
	static type __dpx_impl_##epn(__DPX_PARAMS(__VA_ARGS__),		\
				     __DPX_CALL_PARAM_UNUSED(__dpx_flags_##epn))

/**
 * DRVPROXY_ENDPOINT() - define a hot-swappable endpoint (V2)
 * @type: return type (not void: use DRVPROXY_ENDPOINT_VOID())
 * @name: the endpoint's name; it denotes the wrapper, so every call through
 *	it is proxied
 * @...: 1 to 6 parameters as type, name pairs
 *
 * Follow it with the function body, which is the original implementation.
 * Inside the body ``__dpx_call`` is the table the call entered (used by the
 * swap-aware waits).  A descriptor (name, signature, original, wrapper,
 * owner) goes into the module's drvproxy_endpoints section, which
 * drvproxy_create_extension() enumerates.  Example::
 *
 *	DRVPROXY_ENDPOINT(ssize_t, demo_read, struct file *, file,
 *			  char __user *, buf, size_t, len, loff_t *, ppos)
 *	{
 *		...
 *	}
 */
#define DRVPROXY_ENDPOINT(type, name, ...)					\
	__DPX_ENDPOINT(__DPX_IN_SECTION, static, __DPX_WRAPPER, 0, type, name,	\
		       __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_GLOBAL() - DRVPROXY_ENDPOINT() with external linkage
 * @type: return type (not void)
 * @name: the endpoint's name; declare its prototype in a header, as for any
 *	global function, so other files of the module can use it
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_GLOBAL(type, name, ...)				\
	__DPX_ENDPOINT(__DPX_IN_SECTION, __DPX_EXTERN, __DPX_WRAPPER, 0, type,	\
		       name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_VOID() - DRVPROXY_ENDPOINT() for a function returning void
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_VOID(name, ...)					\
	__DPX_ENDPOINT(__DPX_IN_SECTION, static, __DPX_WRAPPER_VOID, 0, void,	\
		       name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_VOID_GLOBAL() - DRVPROXY_ENDPOINT_VOID() with external
 *	linkage
 * @name: the endpoint's name; declare its prototype in a header
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_VOID_GLOBAL(name, ...)				\
	__DPX_ENDPOINT(__DPX_IN_SECTION, __DPX_EXTERN, __DPX_WRAPPER_VOID, 0,	\
		       void, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_MANUAL() - define an endpoint for manual (V1) registration
 * @type: return type (not void)
 * @name: the endpoint's name (denotes the wrapper)
 * @...: 1 to 6 parameters as type, name pairs
 *
 * Like DRVPROXY_ENDPOINT(), but the descriptor stays out of the module's
 * section; pass DRVPROXY_DESC(@name) to drvproxy_register_endpoints().
 */
#define DRVPROXY_ENDPOINT_MANUAL(type, name, ...)				\
	__DPX_ENDPOINT(__DPX_NOT_IN_SECTION, static, __DPX_WRAPPER, 0, type,	\
		       name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_VOID_MANUAL() - DRVPROXY_ENDPOINT_MANUAL() returning void
 * @name: the endpoint's name (denotes the wrapper)
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_VOID_MANUAL(name, ...)				\
	__DPX_ENDPOINT(__DPX_NOT_IN_SECTION, static, __DPX_WRAPPER_VOID, 0, void, \
		       name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC() - an endpoint that may be called from any context
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 *
 * Like DRVPROXY_ENDPOINT(), for functions the kernel calls in atomic
 * context: timer and softirq callbacks, interrupt handlers, anything under
 * a spinlock, with preemption or interrupts disabled, or inside
 * rcu_read_lock().  Such a call never waits: during a stalled transition
 * it runs the implementation that is current, and a stalled transition
 * that would change this endpoint's implementation is refused with
 * -EOPNOTSUPP (apply such a layer live).  An endpoint declared with the
 * other macros may sleep at wrapper entry while a stalled transition runs,
 * like a function that takes a mutex.
 */
#define DRVPROXY_ENDPOINT_ATOMIC(type, name, ...)				\
	__DPX_ENDPOINT(__DPX_IN_SECTION, static, __DPX_WRAPPER,		\
		       DRVPROXY_EP_ATOMIC, type, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_GLOBAL() - DRVPROXY_ENDPOINT_ATOMIC(), external linkage
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_GLOBAL(type, name, ...)			\
	__DPX_ENDPOINT(__DPX_IN_SECTION, __DPX_EXTERN, __DPX_WRAPPER,		\
		       DRVPROXY_EP_ATOMIC, type, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_VOID() - DRVPROXY_ENDPOINT_ATOMIC() returning void
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_VOID(name, ...)				\
	__DPX_ENDPOINT(__DPX_IN_SECTION, static, __DPX_WRAPPER_VOID,		\
		       DRVPROXY_EP_ATOMIC, void, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_VOID_GLOBAL() - DRVPROXY_ENDPOINT_ATOMIC_VOID(),
 *	external linkage
 * @name: the endpoint's name; declare its prototype in a header
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_VOID_GLOBAL(name, ...)			\
	__DPX_ENDPOINT(__DPX_IN_SECTION, __DPX_EXTERN, __DPX_WRAPPER_VOID,	\
		       DRVPROXY_EP_ATOMIC, void, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_VOID_MANUAL() - DRVPROXY_ENDPOINT_ATOMIC_VOID()
 *	for V1
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_VOID_MANUAL(name, ...)			\
	__DPX_ENDPOINT(__DPX_NOT_IN_SECTION, static, __DPX_WRAPPER_VOID,	\
		       DRVPROXY_EP_ATOMIC, void, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_MANUAL() - DRVPROXY_ENDPOINT_ATOMIC() for V1
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_MANUAL(type, name, ...)			\
	__DPX_ENDPOINT(__DPX_NOT_IN_SECTION, static, __DPX_WRAPPER,		\
		       DRVPROXY_EP_ATOMIC, type, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_NOWAIT() - an endpoint that never uses a swap-aware wait
 * @type: return type (not void: a void endpoint is never re-dispatched)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 *
 * Like DRVPROXY_ENDPOINT(), for the many methods that never block in a
 * swap-aware wait (drvproxy_wait_event_interruptible() and the like).  A
 * swap-aware wait in its body, or in a replacement of it, refuses to build
 * (the replacement must be a DRVPROXY_REPLACEMENT_NOWAIT(), and drvproxy
 * refuses any other with -EINVAL); ``__dpx_call`` is a struct
 * drvproxy_nowait_table pointer there, which a helper taking a struct
 * drvproxy_table pointer refuses to compile.  So its calls are never
 * re-dispatched and its wrapper keeps no copy of the arguments for a second
 * dispatch: the cheapest wrapper drvproxy has.  Everything else is
 * unchanged: it may sleep otherwise, and it waits at wrapper entry while a
 * stalled transition runs.
 */
#define DRVPROXY_ENDPOINT_NOWAIT(type, name, ...)				\
	__DPX_ENDPOINT(__DPX_IN_SECTION, static, __DPX_WRAPPER,		\
		       DRVPROXY_EP_NOWAIT, type, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_NOWAIT_GLOBAL() - DRVPROXY_ENDPOINT_NOWAIT(), external
 *	linkage
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_NOWAIT_GLOBAL(type, name, ...)			\
	__DPX_ENDPOINT(__DPX_IN_SECTION, __DPX_EXTERN, __DPX_WRAPPER,		\
		       DRVPROXY_EP_NOWAIT, type, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_NOWAIT_MANUAL() - DRVPROXY_ENDPOINT_NOWAIT() for V1
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_NOWAIT_MANUAL(type, name, ...)			\
	__DPX_ENDPOINT(__DPX_NOT_IN_SECTION, static, __DPX_WRAPPER,		\
		       DRVPROXY_EP_NOWAIT, type, name, __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_NOWAIT() - an endpoint that may be called from
 *	any context and never uses a swap-aware wait
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 *
 * DRVPROXY_ENDPOINT_ATOMIC() with the wrapper of DRVPROXY_ENDPOINT_NOWAIT():
 * never held back by a stalled transition, never re-dispatched, and only a
 * replacement in which no swap-aware wait builds may replace it.
 */
#define DRVPROXY_ENDPOINT_ATOMIC_NOWAIT(type, name, ...)			\
	__DPX_ENDPOINT(__DPX_IN_SECTION, static, __DPX_WRAPPER,		\
		       DRVPROXY_EP_ATOMIC | DRVPROXY_EP_NOWAIT, type, name,	\
		       __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_NOWAIT_GLOBAL() - DRVPROXY_ENDPOINT_ATOMIC_NOWAIT(),
 *	external linkage
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_NOWAIT_GLOBAL(type, name, ...)		\
	__DPX_ENDPOINT(__DPX_IN_SECTION, __DPX_EXTERN, __DPX_WRAPPER,		\
		       DRVPROXY_EP_ATOMIC | DRVPROXY_EP_NOWAIT, type, name,	\
		       __VA_ARGS__)

/**
 * DRVPROXY_ENDPOINT_ATOMIC_NOWAIT_MANUAL() - DRVPROXY_ENDPOINT_ATOMIC_NOWAIT()
 *	for V1
 * @type: return type (not void)
 * @name: the endpoint's name
 * @...: 1 to 6 parameters as type, name pairs
 */
#define DRVPROXY_ENDPOINT_ATOMIC_NOWAIT_MANUAL(type, name, ...)		\
	__DPX_ENDPOINT(__DPX_NOT_IN_SECTION, static, __DPX_WRAPPER,		\
		       DRVPROXY_EP_ATOMIC | DRVPROXY_EP_NOWAIT, type, name,	\
		       __VA_ARGS__)

/**
 * DRVPROXY_DESC() - the descriptor of an endpoint defined in this file
 * @name: the endpoint's name
 */
#define DRVPROXY_DESC(name) (&__dpx_desc_##name)

/*
 * The largest id a V1 registration may add.  Ids index an array (a lookup by
 * id costs the same for any number of endpoints), so every id up to the
 * largest registered one costs a slot: keep them dense, from 0.
 */
#define DRVPROXY_MAX_ENDPOINT_ID	65535

/**
 * struct drvproxy_endpoint_info - one entry of a V1 registration
 * @id: endpoint id; unique in the extension.  An existing id replaces that
 *	endpoint's original implementation (signatures must be identical),
 *	a new id adds the endpoint; a new id must be at most
 *	DRVPROXY_MAX_ENDPOINT_ID.
 * @endpoint: the endpoint's descriptor, DRVPROXY_DESC(name)
 */
struct drvproxy_endpoint_info {
	u32 id;
	struct drvproxy_endpoint_desc *endpoint;
};

/**
 * enum drvproxy_phase - phases of a registration or swap callback
 * @DRVPROXY_PHASE_PRE: before anything changes (take locks, save state)
 * @DRVPROXY_PHASE_STALLED: stalled mode only; transfer state.  No call of
 *	a process-context endpoint is inside any implementation of the
 *	driver (but calls this callback makes itself); atomic endpoints
 *	(DRVPROXY_ENDPOINT_ATOMIC()) keep running implementations the
 *	transition does not change.  See "What a stalled transition
 *	guarantees" in Documentation/drvproxy.rst.
 * @DRVPROXY_PHASE_POST: after the new implementations were published
 * @DRVPROXY_PHASE_MAX: never passed to a callback
 */
enum drvproxy_phase {
	DRVPROXY_PHASE_PRE,
	DRVPROXY_PHASE_STALLED,
	DRVPROXY_PHASE_POST,
	DRVPROXY_PHASE_MAX
};

/**
 * typedef drvproxy_callback_t - a phased registration/swap callback
 * @phase: the phase being entered
 * @context: the caller's context
 *
 * Runs in process context with the extension's transition lock held: it must
 * not call back into the same extension (that returns -EDEADLK), nor apply,
 * revert or register on another one (lock order).
 *
 * Return: 0 to continue; any other value fails the whole operation and rolls
 * every change back; it is what the operation returns.
 */
typedef int (*drvproxy_callback_t)(enum drvproxy_phase phase, void *context);

int drvproxy_register_endpoints(struct drvproxy_extension *ext,
				const struct drvproxy_endpoint_info *info,
				unsigned int count, drvproxy_callback_t callback,
				void *context);

int __drvproxy_get_wrapper_from_endpoint(struct drvproxy_extension *ext,
					 drvproxy_fn_t endpoint,
					 drvproxy_fn_t *wrapper);

/**
 * drvproxy_get_wrapper_from_endpoint() - the wrapper of an endpoint (V2)
 * @ext: the extension
 * @endpoint: an endpoint function (its name), exactly as defined with
 *	DRVPROXY_ENDPOINT()
 * @wrapper: pointer to a function pointer of @endpoint's type; set to the
 *	wrapper, or to NULL when @endpoint is not registered with @ext
 *
 * Type-safe: a @wrapper of another type fails to build; no casts are needed.
 * In drvproxy an endpoint's name already denotes its wrapper, so on success
 * *@wrapper == @endpoint; the lookup proves the function is live in @ext.
 *
 * Context: any context, including hard IRQ and preemption disabled.
 * Lock-free, O(1) in the number of endpoints and drivers.
 * Return: 0, or -ENOENT.
 */
#define drvproxy_get_wrapper_from_endpoint(ext, endpoint, wrapper)		\
({										\
	typeof(wrapper) __dpx_out = (wrapper);					\
	drvproxy_fn_t __dpx_w;							\
	int __dpx_ret;								\
										\
	BUILD_BUG_ON_MSG(!__builtin_types_compatible_p(typeof(endpoint) **,	\
						       typeof(wrapper)),	\
			 "drvproxy: wrapper type differs from endpoint type");	\
	__dpx_ret = __drvproxy_get_wrapper_from_endpoint(ext,			\
				(drvproxy_fn_t)(endpoint), &__dpx_w);		\
	*__dpx_out = (typeof(*__dpx_out))__dpx_w;				\
	__dpx_ret;								\
})

drvproxy_fn_t drvproxy_get_endpoint_wrapper(struct drvproxy_extension *ext, u32 id);

/* ------------------------------------------------------------------------ */
/* Companions: replacements and layers                                       */

/**
 * struct drvproxy_replacement - a replacement implementation
 * @target: name of the endpoint it replaces
 * @name: the replacement's own function name
 * @signature: generated like &drvproxy_endpoint_desc.signature; its types
 *	must equal the target's (names and white space are ignored)
 * @fn: the implementation (takes the call's table last)
 * @flags: DRVPROXY_REPL_NEW: the target may be absent (an endpoint a newer
 *	image of the driver added; nothing in the running one calls it);
 *	DRVPROXY_REPL_UNCHANGED: compiled identically to the running
 *	implementation, so it is not installed;
 *	DRVPROXY_REPL_UNREACHABLE: nothing in the running build refers to
 *	the endpoint (no ops table, call or export), so nothing can call it
 *	and it is not installed;
 *	DRVPROXY_REPL_NOWAIT: no swap-aware wait builds in it (declared with
 *	a _NOWAIT macro, or a return type without errno), so it may replace
 *	an endpoint declared with DRVPROXY_ENDPOINT_NOWAIT()
 */
struct drvproxy_replacement {
	const char *target;
	const char *name;
	const char *signature;
	drvproxy_fn_t fn;
	unsigned long flags;
};

#define DRVPROXY_REPL_NEW	BIT(0)
#define DRVPROXY_REPL_UNCHANGED	BIT(1)
#define DRVPROXY_REPL_UNREACHABLE	BIT(2)
#define DRVPROXY_REPL_NOWAIT	BIT(3)

/*
 * DRVPROXY_REPL_NOWAIT for a replacement or image endpoint with endpoint
 * flags @flags: no swap-aware wait builds in it, so it may replace an
 * endpoint declared _NOWAIT, whose wrapper does not re-dispatch.
 */
#define __DPX_REPL_NOWAIT_FLAG(flags)						\
	(__DPX_CAN_RESTART(flags) ? 0 : DRVPROXY_REPL_NOWAIT)

extern const struct drvproxy_replacement *const __start_drvproxy_replacements[];
extern const struct drvproxy_replacement *const __stop_drvproxy_replacements[];

#define __DPX_REPL_DESC(tgt, fnn, type, ...)				\
	static const struct drvproxy_replacement __dpx_repl_##fnn = {		\
		.target = #tgt,						\
		.name = #fnn,							\
		.signature = #type "(" #__VA_ARGS__ ")",			\
		.fn = (drvproxy_fn_t)fnn,					\
		.flags = __DPX_REPL_NOWAIT_FLAG(__dpx_rflags_##fnn),		\
	}

#define __DPX_REPL_IN_SECTION(fnn)						\
	static const struct drvproxy_replacement *const __dpx_rptr_##fnn	\
	__used __aligned(sizeof(void *)) __section("drvproxy_replacements") =	\
		&__dpx_repl_##fnn

#define __DPX_REPL_NOT_IN_SECTION(fnn)						\
	static_assert(sizeof(__dpx_repl_##fnn))

/* @rflags: DRVPROXY_EP_NOWAIT for a replacement that never waits, or 0. */
#define __DPX_REPLACEMENT(section, rflags, type, tgt, fnn, ...)		\
	enum { __dpx_rflags_##fnn = __DPX_FLAGS(type, rflags) };		\
	static type fnn(__DPX_PARAMS(__VA_ARGS__),				\
			__DPX_CALL_PARAM(__dpx_rflags_##fnn));			\
	__DPX_REPL_DESC(tgt, fnn, type, __VA_ARGS__);				\
	section(fnn);								\
	static type fnn(__DPX_PARAMS(__VA_ARGS__),				\
			__DPX_CALL_PARAM_UNUSED(__dpx_rflags_##fnn))

/**
 * DRVPROXY_REPLACEMENT() - define a replacement for a host endpoint
 * @type: return type, as the endpoint's
 * @target: the endpoint's name (a bare identifier; the host's symbol is not
 *	referenced)
 * @name: this implementation's function name
 * @...: the endpoint's parameters as type, name pairs
 *
 * Follow it with the body.  The descriptor goes into the module's
 * drvproxy_replacements section, which a &struct drvproxy_layer declared
 * with DRVPROXY_LAYER() collects.
 */
#define DRVPROXY_REPLACEMENT(type, target, name, ...)				\
	__DPX_REPLACEMENT(__DPX_REPL_IN_SECTION, 0, type, target, name,	\
			  __VA_ARGS__)

/**
 * DRVPROXY_REPLACEMENT_MANUAL() - a replacement outside the module's section
 * @type: return type
 * @target: the endpoint's name
 * @name: this implementation's function name
 * @...: parameters as type, name pairs
 *
 * List DRVPROXY_REPL(@name) in &drvproxy_layer.replacements.
 */
#define DRVPROXY_REPLACEMENT_MANUAL(type, target, name, ...)			\
	__DPX_REPLACEMENT(__DPX_REPL_NOT_IN_SECTION, 0, type, target, name,	\
			  __VA_ARGS__)

/**
 * DRVPROXY_REPLACEMENT_NOWAIT() - a replacement that never uses a swap-aware
 *	wait
 * @type: return type, as the endpoint's
 * @target: the endpoint's name
 * @name: this implementation's function name
 * @...: the endpoint's parameters as type, name pairs
 *
 * Like DRVPROXY_REPLACEMENT(), but a swap-aware wait in the body refuses to
 * build, and so the replacement may replace an endpoint declared with a
 * DRVPROXY_ENDPOINT_NOWAIT*() macro (drvproxy refuses a replacement that
 * may wait for such an endpoint with -EINVAL: its wrapper could not
 * re-dispatch the call the wait ends).  A replacement whose return type
 * carries no errno never waits and needs no _NOWAIT.
 */
#define DRVPROXY_REPLACEMENT_NOWAIT(type, target, name, ...)			\
	__DPX_REPLACEMENT(__DPX_REPL_IN_SECTION, DRVPROXY_EP_NOWAIT, type,	\
			  target, name, __VA_ARGS__)

/**
 * DRVPROXY_REPLACEMENT_NOWAIT_MANUAL() - DRVPROXY_REPLACEMENT_NOWAIT() outside
 *	the module's section
 * @type: return type
 * @target: the endpoint's name
 * @name: this implementation's function name
 * @...: parameters as type, name pairs
 */
#define DRVPROXY_REPLACEMENT_NOWAIT_MANUAL(type, target, name, ...)		\
	__DPX_REPLACEMENT(__DPX_REPL_NOT_IN_SECTION, DRVPROXY_EP_NOWAIT, type,	\
			  target, name, __VA_ARGS__)

/** DRVPROXY_REPL() - the descriptor of a replacement defined in this file */
#define DRVPROXY_REPL(name) (&__dpx_repl_##name)

/**
 * enum drvproxy_mode - how a layer is swapped in and out
 * @DRVPROXY_MODE_LIVE: new calls go to the new code at once; calls in the
 *	old code drain in the background while its module stays pinned
 * @DRVPROXY_MODE_STALLED: new calls of process-context endpoints wait (they
 *	do not fail, but a killed waiter's call returns -EINTR) at wrapper
 *	entry, every call in flight in any of the driver's tables drains
 *	within the layer's timeout, the STALLED callback runs, then the new
 *	table is published and the waiters released.  Atomic endpoints are
 *	never held back, so a stalled transition that would change one is
 *	refused with -EOPNOTSUPP; a call nested in a call of the same driver
 *	runs the superseded implementation instead of waiting.
 */
enum drvproxy_mode {
	DRVPROXY_MODE_LIVE,
	DRVPROXY_MODE_STALLED,
};

/**
 * typedef drvproxy_migrate_t - convert a driver's per-device state
 * @drv: the driver object (its devices list reaches every state block)
 * @from: the layout the state has
 * @to: the layout it must have afterwards
 * @context: the layer's context
 *
 * Runs in the STALLED phase: no call of a process-context endpoint is inside
 * any implementation of the driver and new ones wait; atomic endpoints may
 * run (the driver keeps them out of state they read with its own lock).
 *
 * Return: 0, or an errno that fails the transition with nothing changed
 * (the migration must leave the state as it found it when it fails).
 */
typedef int (*drvproxy_migrate_t)(struct drvproxy_driver *drv, u32 from, u32 to,
				  void *context);

/**
 * struct drvproxy_binding - a running driver's symbol an image is linked to
 * @name: the symbol's name in the running driver
 * @pos: which of the driver's symbols of that name (0: the first), in the
 *	order of its symbol table, as /proc/kallsyms lists them
 * @addr: where the image's code reaches it: the address drvproxyctl load
 *	wrote into the image before loading it, NULL when it was loaded
 *	without (a weak reference nothing resolved)
 *
 * make companion generates the table; drvproxy refuses the image unless
 * every @addr is the start of @name in the running driver.
 */
struct drvproxy_binding {
	const char *name;
	unsigned int pos;
	const void *addr;
};

/**
 * struct drvproxy_layer - a companion's set of replacements for one driver
 * @target: name of the driver object to change
 * @owner: the companion module (THIS_MODULE; DRVPROXY_LAYER() sets it)
 * @mode: &enum drvproxy_mode
 * @replace: atomic replace: drop every layer applied before this one; their
 *	endpoints not covered here return to the original implementation
 * @callback: optional phased callback for apply
 * @revert_callback: optional phased callback for revert; its errors are
 *	logged and ignored when the revert comes from module removal
 * @context: passed to both callbacks
 * @drain_timeout_ms: stalled mode: how long in-flight calls may take to
 *	drain (0: the module parameter drain_timeout_ms)
 * @replacements: explicit replacement list, or NULL to use the module's
 *	drvproxy_replacements section (DRVPROXY_LAYER() sets the bounds)
 * @nr_replacements: number of entries in @replacements
 * @state_layout: the per-device state layout the replacements expect (0:
 *	any); must equal the driver's &drvproxy_driver.state_layout unless
 *	@migrate is set
 * @migrate: converts the driver's state from its layout to @state_layout;
 *	runs in the STALLED phase of a stalled apply (set with @unmigrate)
 * @unmigrate: converts it back; runs in the STALLED phase of the revert
 * @host_build: the build id (hex) of the driver build these replacements
 *	were made from, or NULL: the apply is refused unless the running
 *	driver is that build (image companions: make companion sets it)
 * @bindings: image companions: the running driver's symbols the image's
 *	code was linked to at load time (drvproxyctl load), each checked
 *	before anything is installed
 * @nr_bindings: number of entries in @bindings, or 0 when @bindings ends
 *	with an entry whose name is NULL (make companion's table)
 *
 * Apply it in module_init with drvproxy_layer_apply() and revert it in
 * module_exit with drvproxy_layer_revert(); if the module goes away with the
 * layer still applied, drvproxy reverts it before the module's memory is
 * freed.
 */
struct drvproxy_layer {
	const char *target;
	struct module *owner;
	enum drvproxy_mode mode;
	bool replace;
	drvproxy_callback_t callback;
	drvproxy_callback_t revert_callback;
	void *context;
	unsigned int drain_timeout_ms;
	const struct drvproxy_replacement *const *replacements;
	unsigned int nr_replacements;
	u32 state_layout;
	drvproxy_migrate_t migrate;
	drvproxy_migrate_t unmigrate;
	const char *host_build;
	const struct drvproxy_binding *bindings;
	unsigned int nr_bindings;
	/* private: filled by drvproxy */
	u32 prev_layout;
	unsigned int nr_unchanged;
	unsigned int nr_unreachable;
	unsigned int nr_new;
	struct module *pinned_below;
	const struct drvproxy_replacement *const *sec_start;
	const struct drvproxy_replacement *const *sec_stop;
	struct drvproxy_extension *ext;
	struct list_head node;
	struct list_head bound_node;
	bool unpinned;
	struct drvproxy_layer_kobj *ko;
	int state;
	u64 applied_ns;
	u64 generation;
	unsigned int order;
	unsigned int nr;
	unsigned int *slots;
	drvproxy_fn_t *fns;
};

/**
 * DRVPROXY_LAYER() - initialiser for a layer made of this module's
 *	DRVPROXY_REPLACEMENT()s
 * @drv_name: the target driver's name
 * @swap_mode: &enum drvproxy_mode
 */
#define DRVPROXY_LAYER(drv_name, swap_mode)					\
	.target = (drv_name),							\
	.owner = THIS_MODULE,							\
	.mode = (swap_mode),							\
	.sec_start = __start_drvproxy_replacements,				\
	.sec_stop = __stop_drvproxy_replacements

#ifndef DRVPROXY_IMAGE_COMPANION
/**
 * DRVPROXY_HOST_MODULE() - a host driver's module entry points
 * @drv_name: its driver object's name
 * @ifn: its module_init function
 * @efn: its module_exit function
 * @layout: the per-device state layout this source expects
 * @mig: a &drvproxy_migrate_t from the previous layout to @layout, or NULL
 * @unmig: the reverse migration, or NULL
 *
 * In the host build, module_init(@ifn) and module_exit(@efn).  Built as an
 * image companion (make companion), the same source instead applies its
 * endpoints to the running driver @drv_name at insmod (stalled, migrating
 * the state when @layout differs) and reverts them at rmmod; @ifn and @efn
 * are not run.
 */
#define DRVPROXY_HOST_MODULE(drv_name, ifn, efn, layout, mig, unmig)		\
	static const drvproxy_migrate_t __dpx_image_migrations[2] __maybe_unused = \
		{ mig, unmig };							\
	module_init(ifn);							\
	module_exit(efn)
#else
/*
 * The running build the image was made from (make companion passes its
 * build id); without one (make companion without OLD) any build is taken.
 */
#ifdef __DPX_HOST_BUILD_ID
#define __DPX_HOST_BUILD	__DPX_HOST_BUILD_ID
#else
#define __DPX_HOST_BUILD	NULL
#endif
/*
 * The bindings make companion generates (its dpx_bindings.c, ended by an
 * entry without a name); weak, so an image made without OLD, which binds
 * nothing, links without them.  Only the layer's initialiser refers to
 * them: code that tests a weak symbol's address needs a GOT on arm64,
 * which the module loader does not support.
 */
extern const struct drvproxy_binding __dpx_image_bindings[] __weak;

/*
 * An image answers to none of the driver's module aliases: modprobe of
 * its char-major, devname or device-table alias must find the host, never
 * an image, which only services a running host.  The table stays
 * referenced, as the driver's code may use it.
 */
#undef MODULE_ALIAS
#define MODULE_ALIAS(alias)	static_assert(sizeof(alias) > 1)
#undef MODULE_DEVICE_TABLE
#define MODULE_DEVICE_TABLE(type, name)					\
	static const void *const __dpx_no_alias_##name __maybe_unused = &(name)

#define DRVPROXY_HOST_MODULE(drv_name, ifn, efn, layout, mig, unmig)		\
	static struct drvproxy_layer __dpx_image_layer = {			\
		DRVPROXY_LAYER(drv_name, DRVPROXY_MODE_STALLED),		\
		.state_layout = (layout),					\
		.migrate = (mig),						\
		.unmigrate = (unmig),						\
		.host_build = __DPX_HOST_BUILD,					\
		.bindings = __dpx_image_bindings,				\
	};									\
	static int __init __dpx_image_init(void)				\
	{									\
		if (0)								\
			ifn();							\
		return drvproxy_layer_apply(&__dpx_image_layer);		\
	}									\
	static void __exit __dpx_image_exit(void)				\
	{									\
		if (0)								\
			efn();							\
		drvproxy_layer_revert(&__dpx_image_layer);			\
	}									\
	module_init(__dpx_image_init);						\
	module_exit(__dpx_image_exit)
#endif

int drvproxy_layer_apply(struct drvproxy_layer *layer);
int drvproxy_layer_revert(struct drvproxy_layer *layer);
drvproxy_fn_t drvproxy_below(struct drvproxy_table *call, drvproxy_fn_t self);

/* What DRVPROXY_CALL_BELOW() gives when there is nothing below to call. */
#define __DPX_NO_BELOW(type)							\
	__builtin_choose_expr(__DPX_ERRNO_TYPE(type), (type)-EOPNOTSUPP, (type)0)

/**
 * DRVPROXY_CALL_BELOW() - call the implementation below this replacement
 * @name: the replacement whose body this is
 * @...: every argument the endpoint takes
 *
 * Only inside a DRVPROXY_REPLACEMENT() body.  Runs what the endpoint would
 * run without this replacement's layer -- the replacement of the next
 * layer down that covers the endpoint, or the driver's own implementation
 * -- as part of the same call: in the table the call entered, counted
 * once, drained and pinned with it.  It is what calling the original is in
 * a livepatch, so a replacement that adds one ioctl command handles that
 * command and passes every other one down, and layers that each add one
 * compose.  Evaluates to what that implementation returns; -EOPNOTSUPP (0
 * for a type that cannot carry an errno) when the replacement was called
 * directly, not through drvproxy, which is logged.  Example::
 *
 *	DRVPROXY_REPLACEMENT(long, demo_ioctl, demo_ioctl_v2, struct file *, file,
 *			     unsigned int, cmd, unsigned long, arg)
 *	{
 *		if (cmd == DEMO_NEW_CMD)
 *			return demo_new_cmd(file, arg);
 *		return DRVPROXY_CALL_BELOW(demo_ioctl_v2, file, cmd, arg);
 *	}
 */
#define DRVPROXY_CALL_BELOW(name, ...)						\
({										\
	typeof(name) *__dpx_self = name;					\
	drvproxy_fn_t __dpx_b = drvproxy_below((struct drvproxy_table *)__dpx_call,	\
					       (drvproxy_fn_t)__dpx_self);	\
	typeof(__dpx_self(__VA_ARGS__, __dpx_call)) __dpx_r;			\
										\
	__dpx_r = likely(__dpx_b) ?						\
		((typeof(__dpx_self))__dpx_b)(__VA_ARGS__, __dpx_call) :	\
		__DPX_NO_BELOW(typeof(__dpx_r));				\
	__dpx_r;								\
})

/**
 * DRVPROXY_CALL_BELOW_VOID() - DRVPROXY_CALL_BELOW() for a void endpoint
 * @name: the replacement whose body this is
 * @...: every argument the endpoint takes
 */
#define DRVPROXY_CALL_BELOW_VOID(name, ...)					\
do {										\
	typeof(name) *__dpx_self = name;					\
	drvproxy_fn_t __dpx_b = drvproxy_below((struct drvproxy_table *)__dpx_call,	\
					       (drvproxy_fn_t)__dpx_self);	\
										\
	if (likely(__dpx_b))							\
		((typeof(__dpx_self))__dpx_b)(__VA_ARGS__, __dpx_call);	\
} while (0)

/* ------------------------------------------------------------------------ */
/* Swap-aware waits                                                          */

struct drvproxy_swap_waiter {
	struct wait_queue_entry entry;
	wait_queue_head_t *head;
};

void drvproxy_swap_wait_begin(struct drvproxy_table *call,
			      struct drvproxy_swap_waiter *w);
void drvproxy_swap_wait_end(struct drvproxy_swap_waiter *w);
int drvproxy_swap_wait_redispatch(struct drvproxy_table *call);

#define __drvproxy_wait_event(call, wq_head, condition, state)		\
({										\
	struct drvproxy_table *__dc = __DPX_CHECKED_CALL(call);		\
	struct wait_queue_head *__wqh = &(wq_head);				\
	unsigned int __state = (state);						\
	struct drvproxy_swap_waiter __sw;					\
	struct wait_queue_entry __we;						\
	long __ret = 0;								\
										\
	init_wait_entry(&__we, 0);						\
	drvproxy_swap_wait_begin(__dc, &__sw);					\
	for (;;) {								\
		long __int = prepare_to_wait_event(__wqh, &__we, __state);	\
										\
		if (condition)							\
			break;							\
		if (drvproxy_call_stale(__dc)) {				\
			__ret = drvproxy_swap_wait_redispatch(__dc);		\
			break;							\
		}								\
		if (___wait_is_interruptible(__state) && __int) {		\
			__ret = __int;						\
			break;							\
		}								\
		schedule();							\
	}									\
	finish_wait(__wqh, &__we);						\
	drvproxy_swap_wait_end(&__sw);						\
	__ret;									\
})

/**
 * drvproxy_wait_event_interruptible() - a swap-aware wait_event_interruptible()
 * @wq_head: the wait queue
 * @condition: the condition to wait for
 *
 * Only inside a DRVPROXY_ENDPOINT()/DRVPROXY_REPLACEMENT() body, or a helper
 * it passes its ``__dpx_call`` to (under that name), of an endpoint that
 * returns an integer type, and before the call has side effects that a
 * second dispatch would repeat.  When a swap or revert publishes a new table
 * while the call waits, the wait ends and returns DRVPROXY_ERESTART: return
 * it at once; the wrapper then leaves the old code and dispatches the same
 * call to the current implementation, so userspace sees no EINTR and no
 * short read, and a swap never waits for a call that is merely blocked
 * here.
 *
 * Context: process context, may sleep.
 * Return: 0 when @condition became true, -ERESTARTSYS on a signal,
 * DRVPROXY_ERESTART after a swap.
 */
#define drvproxy_wait_event_interruptible(wq_head, condition)			\
	((int)__drvproxy_wait_event(__dpx_call, wq_head, condition, TASK_INTERRUPTIBLE))

/**
 * drvproxy_wait_event_killable() - a swap-aware wait_event_killable()
 * @wq_head: the wait queue
 * @condition: the condition to wait for
 *
 * As drvproxy_wait_event_interruptible(), but only fatal signals interrupt.
 * Return: 0, -ERESTARTSYS on a fatal signal, DRVPROXY_ERESTART after a swap.
 */
#define drvproxy_wait_event_killable(wq_head, condition)			\
	((int)__drvproxy_wait_event(__dpx_call, wq_head, condition, TASK_KILLABLE))

/* ------------------------------------------------------------------------ */
/* Hot-swappable worker threads                                              */

/**
 * struct drvproxy_event - an event a worker waits on (KEVENT analogue)
 * @wq: waiters
 * @signalled: the state
 * @auto_reset: a synchronization event: a worker's wait consumes it
 */
struct drvproxy_event {
	wait_queue_head_t wq;
	bool signalled;
	bool auto_reset;
};

void drvproxy_event_init(struct drvproxy_event *ev, bool auto_reset);
void drvproxy_event_set(struct drvproxy_event *ev);
void drvproxy_event_reset(struct drvproxy_event *ev);
bool drvproxy_event_read_state(struct drvproxy_event *ev);

/**
 * enum drvproxy_wait_type - how a worker waits on its events
 * @DRVPROXY_WAIT_ANY: wake when any event is signalled (WaitAny)
 * @DRVPROXY_WAIT_ALL: wake when all events are signalled (WaitAll)
 */
enum drvproxy_wait_type {
	DRVPROXY_WAIT_ANY,
	DRVPROXY_WAIT_ALL,
};

#define DRVPROXY_WORKER_MAX_EVENTS	8

/*
 * Wait status passed to a worker routine: the index of the signalled event
 * (WaitAny), 0 (WaitAll), or DRVPROXY_WAIT_TIMEOUT.
 */
#define DRVPROXY_WAIT_TIMEOUT	(-ETIMEDOUT)

/**
 * struct drvproxy_worker_start - start context of a hot-swappable worker
 * @routine: an endpoint (its wrapper) ``bool routine(void *context, long status)``;
 *	true means wait again, false ends the thread
 * @context: passed to @routine
 * @name: thread name (copied), "drvproxy/<driver>" when NULL
 * @wait_type: &enum drvproxy_wait_type
 * @has_timeout: false waits indefinitely
 * @timeout_ms: relative timeout of each wait when @has_timeout; 0 does not
 *	wait at all
 * @event_count: number of @events, 0..DRVPROXY_WORKER_MAX_EVENTS (0 requires
 *	@has_timeout: a periodic worker)
 * @events: the events
 */
struct drvproxy_worker_start {
	bool (*routine)(void *context, long status);
	void *context;
	const char *name;
	enum drvproxy_wait_type wait_type;
	bool has_timeout;
	unsigned int timeout_ms;
	unsigned int event_count;
	struct drvproxy_event *events[DRVPROXY_WORKER_MAX_EVENTS];
};

int drvproxy_create_worker(struct drvproxy_extension *ext,
			   const struct drvproxy_worker_start *start,
			   struct drvproxy_worker **out);
void drvproxy_stop_worker(struct drvproxy_worker *worker);

/* ------------------------------------------------------------------------ */
/* Code that outlives a call (pin.c)                                         */
/*
 * A function handed out to be called later (timer, work, a stored callback)
 * is either an endpoint of the host -- hand out the host's wrapper -- or
 * pinned: its module cannot be removed while the pin is held.
 */

int __drvproxy_pin_code(const void *addr, const char *why, struct module *owner);
void drvproxy_unpin_code(const void *addr);
int __drvproxy_pin_for_file(struct file *file, const void *addr, const char *why,
			    struct module *owner);
int __drvproxy_timer_setup(struct timer_list *timer, void (*fn)(struct timer_list *),
			   unsigned int flags, struct module *owner);
void drvproxy_timer_shutdown_sync(struct timer_list *timer);
int __drvproxy_init_work(struct work_struct *work, work_func_t fn, struct module *owner);
bool drvproxy_cancel_work_sync(struct work_struct *work);

/**
 * drvproxy_pin_code() - pin the calling module while @addr is handed out
 * @addr: a function of the calling module
 * @why: what holds it, for /sys/kernel/drvproxy/pins
 *
 * See __drvproxy_pin_code(); drop with drvproxy_unpin_code().
 */
#define drvproxy_pin_code(addr, why) __drvproxy_pin_code(addr, why, THIS_MODULE)

/**
 * drvproxy_pin_for_file() - pin the calling module until @file is closed
 * @file: a file open on a drvproxy device
 * @addr: code or data of the calling module (e.g. its vm_operations)
 * @why: what holds it, for /sys/kernel/drvproxy/pins
 *
 * See __drvproxy_pin_for_file(); drvproxy drops it after the release.
 */
#define drvproxy_pin_for_file(file, addr, why) \
	__drvproxy_pin_for_file(file, addr, why, THIS_MODULE)

/**
 * drvproxy_timer_setup() - timer_setup() pinning the calling module
 * @timer: the timer
 * @fn: its callback, a function of the calling module
 * @flags: TIMER_* flags
 *
 * See __drvproxy_timer_setup(); end with drvproxy_timer_shutdown_sync().
 */
#define drvproxy_timer_setup(timer, fn, flags) \
	__drvproxy_timer_setup(timer, fn, flags, THIS_MODULE)

/**
 * drvproxy_init_work() - INIT_WORK() pinning the calling module
 * @work: the work item
 * @fn: its function, a function of the calling module
 *
 * See __drvproxy_init_work(); end with drvproxy_cancel_work_sync().
 */
#define drvproxy_init_work(work, fn) __drvproxy_init_work(work, fn, THIS_MODULE)

/* ------------------------------------------------------------------------ */
/* Observability                                                             */

/**
 * struct drvproxy_endpoint_stats - counters of one endpoint
 * @calls: calls made since the endpoint was registered
 * @in_flight: calls inside any implementation now
 * @swaps: how often its implementation changed
 */
struct drvproxy_endpoint_stats {
	u64 calls;
	u64 in_flight;
	u64 swaps;
};

int drvproxy_endpoint_stats(struct drvproxy_extension *ext, u32 id,
			    struct drvproxy_endpoint_stats *stats);
u64 drvproxy_generation(void);
u64 drvproxy_extension_generation(struct drvproxy_extension *ext);

/**
 * enum drvproxy_test_point - where the framework calls a KUnit test hook
 * @DRVPROXY_TP_STALL_LEFT: a caller waiting out a stall has counted its exit
 *	from the stall table (drvproxy_call_stalled()): from here on that table
 *	may be freed under it
 * @DRVPROXY_TP_ENABLED_UNPROTECTED: a write to a layer's sysfs "enabled" has
 *	given up its sysfs active protection and not yet locked the extension:
 *	from here on the layer, its companion and its host may go
 * @DRVPROXY_TP_DRIVER_ATTR_HELD: a read of a file of the driver's sysfs
 *	directory holds the driver's extension and has not used it yet: from
 *	here on the extension may be released
 * @DRVPROXY_TP_EXT_RELEASED: drvproxy_driver_unregister() (or the owner-less
 *	destroy) has released an extension and dropped its reference
 * @DRVPROXY_TP_EXT_UNBOUND: the release of an extension has unbound its
 *	endpoints and freed its last table; its sysfs files are still there
 * @DRVPROXY_TP_DEVICE_REGISTERING: drvproxy_device_add() is about to
 *	register the misc device
 * @DRVPROXY_TP_WORKER_TESTING: a worker is about to test its events
 * @DRVPROXY_TP_WORKER_SATISFIED: a worker's wait is satisfied (or timed
 *	out) and its routine has not run yet: from here on another worker
 *	waiting on the same events may test them
 * @DRVPROXY_TP_LAYER_EXT_TAKEN: a revert has found the layer's extension
 *	and not locked it yet: from here on the host may release it
 * @DRVPROXY_TP_EXT_UNLISTED: the release of an extension has taken it off
 *	the list of extensions and not reverted its layers yet
 * @DRVPROXY_TP_LAYER_UNPINNED: the retire worker has dropped the pin of a
 *	drained layer's module and still uses the layer: from here on that
 *	module may go
 *
 * Each point is a window in which a race with another thread used to touch
 * freed memory or state another thread had taken; a KUnit case holds the
 * thread there while it runs the other side to completion.
 */
enum drvproxy_test_point {
	DRVPROXY_TP_STALL_LEFT,
	DRVPROXY_TP_ENABLED_UNPROTECTED,
	DRVPROXY_TP_DRIVER_ATTR_HELD,
	DRVPROXY_TP_EXT_RELEASED,
	DRVPROXY_TP_EXT_UNBOUND,
	DRVPROXY_TP_DEVICE_REGISTERING,
	DRVPROXY_TP_WORKER_TESTING,
	DRVPROXY_TP_WORKER_SATISFIED,
	DRVPROXY_TP_LAYER_EXT_TAKEN,
	DRVPROXY_TP_EXT_UNLISTED,
	DRVPROXY_TP_LAYER_UNPINNED,
};

#if IS_ENABLED(CONFIG_KUNIT)
/* KUnit only (namespace EXPORTED_FOR_KUNIT_TESTING): the feature switches. */
void drvproxy_test_set_enabled(bool on);
int drvproxy_test_set_exclude(const char *list);
/* ... a hook the framework calls at each test point (may sleep), or NULL ... */
void drvproxy_test_set_hook(void (*hook)(enum drvproxy_test_point tp));
/* ... and waiting until every superseded table of @ext is freed. */
void drvproxy_test_retire_flush(struct drvproxy_extension *ext);
/* ... and reverting a layer as its module's exit does (it cannot fail). */
int drvproxy_test_revert_as_exit(struct drvproxy_layer *layer);
/* ... and what drvproxy does when a module goes (exit done or init failed). */
void drvproxy_test_module_going(struct module *mod);
#endif

#endif /* _DRVPROXY_H */
