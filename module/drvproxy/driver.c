// SPDX-License-Identifier: GPL-2.0
/*
 * driver.c - driver objects (the DRIVER_OBJECT analogue) and their devices
 *
 * A driver object is allocated by drvproxy for its host module, and its
 * major-function table is turned into the proxy file_operations of every
 * device it creates.  Each installed method is the endpoint itself, i.e. its
 * wrapper, so a call from the VFS costs one direct call into the wrapper and
 * one indirect call into the current implementation.  A method left unset
 * stays NULL and the VFS applies its conventional default.  open and
 * release are always installed: they keep the device's open count, and
 * release is never refused, whatever implementation is current.
 *
 * The proxy fops's owner is the host module, so every open file pins the
 * host: rmmod of the host while a file is open fails with EBUSY ("in use"),
 * as for any char driver, and open files never see a vanished driver.
 *
 * Device lifetime, as in a driver that survives hot-unplug: a device is
 * reference counted (the creator's reference, dropped by
 * drvproxy_delete_device(), and one per open file), and each device has its
 * own copy of the proxy fops, which is what file->f_op of its files points
 * to.  So release reaches its own device through the file, never through a
 * device number that a new device may reuse; deleting a device with files
 * open rewrites its copy's methods into ones that fail with -ENODEV (zero
 * cost on the call path); and the state block is freed after the last
 * close.  A device also pins its driver object (a kobject reference).
 *
 * Locking: the list of driver objects is under drvproxy_lock; a driver's
 * device list under drv->lock.  drv->lock is never held across
 * misc_register(), which takes misc_mtx: an open waiting out a stalled
 * transition holds misc_mtx while the transition's migration may take
 * drv->lock.  A driver object is reference counted by its kobject;
 * drvproxy_driver_get() takes a reference by name.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait_bit.h>

#include "compat.h"
#include "internal.h"

static LIST_HEAD(drvproxy_drivers);	/* registered drivers, under drvproxy_lock */

/*
 * Devices whose creator's reference drvproxy_delete_device() has not
 * dropped yet, so that those of a module that goes without deleting them
 * are freed then (drvproxy_driver_going()).
 */
static LIST_HEAD(drvproxy_created_devices);
static DEFINE_SPINLOCK(drvproxy_created_lock);

struct drvproxy_driver *drvproxy_find_driver_locked(const char *name)
{
	struct drvproxy_driver *drv;

	lockdep_assert_held(&drvproxy_lock);
	list_for_each_entry(drv, &drvproxy_drivers, node)
		if (!strcmp(drv->name, name))
			return drv;
	return NULL;
}

/**
 * __drvproxy_driver_alloc() - allocate a driver object; use the
 *	drvproxy_driver_alloc() macro
 * @name: driver name: 1 to 55 characters, no '/', no white space
 * @owner: the host module
 * @owner_fops: file_operations in @owner's own memory with only .owner set;
 *	what a file leaving its device points at (see file_leaves_device())
 *
 * Context: process context, may sleep.
 * Return: the driver object, ERR_PTR(-EINVAL) or ERR_PTR(-ENOMEM).
 */
struct drvproxy_driver *__drvproxy_driver_alloc(const char *name, struct module *owner,
						const struct file_operations *owner_fops)
{
	struct drvproxy_driver *drv;
	size_t len = name ? strlen(name) : 0;

	if (!owner_fops || owner_fops->owner != owner) {
		pr_err("driver_alloc: use the drvproxy_driver_alloc() macro\n");
		return ERR_PTR(-EINVAL);
	}
	if (!len || len >= sizeof(drv->name) || strpbrk(name, "/ \t\n")) {
		pr_err("driver name \"%s\" is empty, too long or has '/' or blanks\n",
		       name ?: "(null)");
		return ERR_PTR(-EINVAL);
	}
	if (drvproxy_fail_alloc())
		return ERR_PTR(-ENOMEM);
	drv = kzalloc(sizeof(*drv), GFP_KERNEL);
	if (!drv)
		return ERR_PTR(-ENOMEM);
	strscpy(drv->name, name, sizeof(drv->name));
	drv->owner = owner;
	drv->owner_fops = owner_fops;
	dpx_module_text(owner, &drv->driver_start, &drv->driver_size);
	INIT_LIST_HEAD(&drv->devices);
	INIT_LIST_HEAD(&drv->node);
	mutex_init(&drv->lock);
	return drv;
}
EXPORT_SYMBOL_GPL(__drvproxy_driver_alloc);

typedef int (*dpx_open_t)(struct inode *inode, struct file *file);

/* A file open on a device, for drvproxy_iterate_files(). */
struct open_file {
	struct list_head node;
	struct file *file;
};

static void device_free(struct kref *ref)
{
	struct drvproxy_device *dev = container_of(ref, struct drvproxy_device, ref);
	struct drvproxy_driver *drv = dev->driver;

	if (drv->device_release && test_bit(DRVPROXY_DEVICE_ADDED, &dev->flags))
		drv->device_release(dev);
	kfree(dev->state);
	kfree(dev->misc.name);
	kfree(dev);
	kobject_put(&drv->kobj);
}

static void device_put(struct drvproxy_device *dev)
{
	kref_put(&dev->ref, device_free);
}

static void device_remove(struct drvproxy_device *dev);

/*
 * @file no longer uses @dev: drop its reference.  After a failed open,
 * do_dentry_open(), and after release, __fput(), still read
 * file->f_op->owner for fops_put(), and the put may have freed @dev with its
 * fops, and with the device's reference the driver object too (unregistered
 * and freed while the file was open).  So point the file first at the
 * owner-only fops that drvproxy_driver_alloc() placed in the host module's
 * own memory: same owner, and the host cannot go before that fops_put()
 * drops the file's reference on it.
 */
static void file_leaves_device(struct file *file, struct drvproxy_device *dev)
{
	file->f_op = dev->driver->owner_fops;
	device_put(dev);
}

/* Take @file off its device's list of tracked files; true if it was on. */
static bool file_unlist(struct drvproxy_device *dev, struct file *file)
{
	struct open_file *of;
	bool found = false;

	mutex_lock(&dev->files_lock);
	list_for_each_entry(of, &dev->files, node) {
		if (of->file == file) {
			list_del(&of->node);
			kfree(of);
			found = true;
			break;
		}
	}
	mutex_unlock(&dev->files_lock);
	return found;
}

/*
 * Is @drv's module not live: still running its init, or going after its
 * init failed?  (An rmmod sets GOING only once no file holds the module,
 * and no open gets past fops_get() after.)
 */
static bool owner_not_live(struct drvproxy_driver *drv)
{
	return drv->owner && READ_ONCE(drv->owner->state) != MODULE_STATE_LIVE;
}

static int proxy_open(struct inode *inode, struct file *file)
{
	struct drvproxy_device *dev = drvproxy_file_device(file);
	dpx_open_t open = (dpx_open_t)dev->driver->major_function[DRVPROXY_MJ_CREATE];
	int ret = 0;

	/*
	 * @dev is alive: misc_open() calls us under misc_mtx, which
	 * misc_deregister() takes, and chrdev_open() holds the cdev, which
	 * holds the class device, which holds @dev (struct drvproxy_cdev).
	 * But a cdev open may have found the cdev just before
	 * drvproxy_delete_device() removed it: refuse it as a removed
	 * device's, keeping nothing.
	 */
	if (test_bit(DRVPROXY_DEVICE_REMOVED, &dev->flags)) {
		file->f_op = dev->driver->owner_fops;
		return -ENODEV;
	}
	/*
	 * The file would pin nothing: the kernel frees a module whose init
	 * fails whatever its reference count, and the file's release would
	 * then run freed code.  While its init runs, try again; once it
	 * failed, the device is going.
	 */
	if (owner_not_live(dev->driver)) {
		bool coming = READ_ONCE(dev->driver->owner->state) == MODULE_STATE_COMING;

		pr_info_ratelimited("%s: open of %s refused: module %s is %s\n",
				    dev->driver->name, dev->misc.name, dev->driver->owner->name,
				    coming ? "still in its init" : "going away");
		file->f_op = dev->driver->owner_fops;
		return coming ? -EAGAIN : -ENODEV;
	}
	kref_get(&dev->ref);
	if (open)
		ret = open(inode, file);
	if (ret) {
		/* As release does: a failed open keeps nothing of the file. */
		file_unlist(dev, file);
		drvproxy_unpin_file(file);
		file_leaves_device(file, dev);
		return ret;
	}
	atomic_inc(&dev->opens);
	return 0;
}

/*
 * Never refused: the release endpoint (whatever implementation is current)
 * always runs, so the state open created is always torn down, and on the
 * device the file was opened on, also after that device was deleted.
 */
static int proxy_release(struct inode *inode, struct file *file)
{
	struct drvproxy_device *dev = drvproxy_file_device(file);
	dpx_open_t release = (dpx_open_t)dev->driver->major_function[DRVPROXY_MJ_CLOSE];
	int ret = 0;

	if (release)
		ret = release(inode, file);
	/* A release that did not untrack its file: do not leave it listed. */
	file_unlist(dev, file);
	atomic_dec(&dev->opens);
	/* Nothing of the driver's can be called through the file now. */
	drvproxy_unpin_file(file);
	file_leaves_device(file, dev);
	return ret;
}

/* Whether @file is open on a drvproxy device (its f_op is a device's copy). */
bool drvproxy_file_is_proxied(const struct file *file)
{
	return file && file->f_op && file->f_op->open == proxy_open;
}

/**
 * drvproxy_is_driver_file() - whether a file was opened on a device of a driver
 * @file: any open file
 * @drv: the driver object
 *
 * What a driver that compares file->f_op with its own file_operations (to
 * recognise its files, for example in a helper exported to other modules)
 * uses instead after conversion: every device has its own proxy fops.
 *
 * Context: any context.
 * Return: true if @file is open on a device of @drv, whose driver did not
 * replace @file->f_op.
 */
bool drvproxy_is_driver_file(const struct file *file, const struct drvproxy_driver *drv)
{
	return drv && drvproxy_file_is_proxied(file) &&
	       drvproxy_file_device(file)->driver == drv;
}
EXPORT_SYMBOL_GPL(drvproxy_is_driver_file);

/**
 * drvproxy_track_file() - list a file for drvproxy_iterate_files()
 * @file: a file being opened on a device of a drvproxy driver
 *
 * Call it in the driver's open, once the file's private data is set up,
 * if a migration may have to convert that data: inside the open endpoint's
 * call, so the stalled drain orders it against the migration (a file is
 * either tracked with its data complete before the STALLED phase, or opened
 * by the new implementation after it).  Pair it with drvproxy_untrack_file()
 * in release.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL when @file is not open on a drvproxy device, or is
 * tracked already; -ENOMEM.
 */
int drvproxy_track_file(struct file *file)
{
	struct drvproxy_device *dev;
	struct open_file *of, *it;
	int ret = 0;

	if (!drvproxy_file_is_proxied(file)) {
		pr_err("track_file: not a file of a drvproxy device\n");
		return -EINVAL;
	}
	dev = drvproxy_file_device(file);
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	of = kmalloc(sizeof(*of), GFP_KERNEL);
	if (!of)
		return -ENOMEM;
	of->file = file;
	mutex_lock(&dev->files_lock);
	list_for_each_entry(it, &dev->files, node) {
		if (it->file == file) {
			ret = -EINVAL;
			break;
		}
	}
	if (!ret)
		list_add_tail(&of->node, &dev->files);
	mutex_unlock(&dev->files_lock);
	if (ret) {
		pr_err("%s: track_file: file tracked already\n", dev->driver->name);
		kfree(of);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_track_file);

/**
 * drvproxy_untrack_file() - take a file off the list drvproxy_iterate_files()
 *	walks
 * @file: a file drvproxy_track_file() listed; anything else is ignored
 *
 * Call it in the driver's release before the file's private data is freed,
 * inside the release endpoint's call for the same reason as
 * drvproxy_track_file().  drvproxy takes a file that is still tracked off
 * the list after release returned, but then a migration starting at that
 * moment could still visit it.
 *
 * Context: process context, may sleep.
 */
void drvproxy_untrack_file(struct file *file)
{
	if (drvproxy_file_is_proxied(file))
		file_unlist(drvproxy_file_device(file), file);
}
EXPORT_SYMBOL_GPL(drvproxy_untrack_file);

/**
 * drvproxy_iterate_files() - visit every tracked file open on a driver's
 *	devices
 * @drv: the driver object
 * @fn: called once per file; may sleep; a non-zero return stops the walk
 * @ctx: passed to @fn
 *
 * For a state migration (&drvproxy_layer.migrate and .unmigrate) that must
 * convert what a driver keeps per open file (file->private_data) as well as
 * the devices' state blocks.  Every file the driver tracks
 * (drvproxy_track_file() in open, drvproxy_untrack_file() in release) is
 * visited, on every device still present.  A device already deleted is
 * not: the files still open on it keep their old layout, and their
 * flush, fasync and release, which still reach the driver, run whatever
 * implementation is current then, which must accept that layout.
 * During the STALLED phase no endpoint runs, so the files' data is still;
 * an open or release that arrives meanwhile waits, and then runs in the
 * new implementation with the new layout.  A migration that fails
 * part-way must convert the files it already converted back before it
 * returns its error.
 *
 * Context: process context; takes the driver's device lock and each
 * device's file lock, so @fn must not open, close, track or untrack files
 * of the driver.
 * Return: 0, or the first non-zero value @fn returned.
 */
int drvproxy_iterate_files(struct drvproxy_driver *drv,
			   int (*fn)(struct file *file, void *ctx), void *ctx)
{
	struct drvproxy_device *dev;
	struct open_file *of;
	int ret = 0;

	mutex_lock(&drv->lock);
	list_for_each_entry(dev, &drv->devices, node) {
		mutex_lock(&dev->files_lock);
		list_for_each_entry(of, &dev->files, node) {
			ret = fn(of->file, ctx);
			if (ret)
				break;
		}
		mutex_unlock(&dev->files_lock);
		if (ret)
			break;
	}
	mutex_unlock(&drv->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_iterate_files);

/*
 * The methods of a deleted device's files: what a hot-unplugged device
 * answers.  flush, fasync and release stay: the VFS calls them on close,
 * and they tear down what open set up (a fasync entry, per-file state);
 * so do the methods that finish I/O already under way (iopoll,
 * uring_cmd_iopoll: an in-flight polled request must still complete;
 * splice_eof: the end of a splice already started) and setlease (its
 * prototype differs between kernels; a lease on a gone device breaks
 * nothing).  Everything else fails with -ENODEV, but poll, which reports
 * EPOLLERR | EPOLLHUP, and show_fdinfo, which shows nothing.
 */
static ssize_t dead_read(struct file *file, char __user *buf, size_t n, loff_t *pos)
{
	return -ENODEV;
}

static ssize_t dead_write(struct file *file, const char __user *buf, size_t n, loff_t *pos)
{
	return -ENODEV;
}

static ssize_t dead_rw_iter(struct kiocb *iocb, struct iov_iter *iter)
{
	return -ENODEV;
}

static loff_t dead_llseek(struct file *file, loff_t offset, int whence)
{
	return -ENODEV;
}

static long dead_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return -ENODEV;
}

static __poll_t dead_poll(struct file *file, struct poll_table_struct *wait)
{
	return EPOLLERR | EPOLLHUP;
}

static int dead_mmap(struct file *file, struct vm_area_struct *vma)
{
	return -ENODEV;
}

static int dead_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	return -ENODEV;
}

static ssize_t dead_splice_read(struct file *file, loff_t *pos, struct pipe_inode_info *pipe,
				size_t len, unsigned int flags)
{
	return -ENODEV;
}

static ssize_t dead_splice_write(struct pipe_inode_info *pipe, struct file *file, loff_t *pos,
				 size_t len, unsigned int flags)
{
	return -ENODEV;
}

static long dead_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	return -ENODEV;
}

static ssize_t dead_copy_file_range(struct file *in, loff_t pos_in, struct file *out,
				    loff_t pos_out, size_t len, unsigned int flags)
{
	return -ENODEV;
}

static loff_t dead_remap_file_range(struct file *in, loff_t pos_in, struct file *out,
				    loff_t pos_out, loff_t len, unsigned int flags)
{
	return -ENODEV;
}

static int dead_lock(struct file *file, int cmd, struct file_lock *fl)
{
	return -ENODEV;
}

static int dead_fadvise(struct file *file, loff_t offset, loff_t len, int advice)
{
	return -ENODEV;
}

static int dead_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	return -ENODEV;
}

static unsigned long dead_get_unmapped_area(struct file *file, unsigned long addr,
					    unsigned long len, unsigned long pgoff,
					    unsigned long flags)
{
	return -ENODEV;
}

static int dead_check_flags(int flags)
{
	return -ENODEV;
}

static void dead_show_fdinfo(struct seq_file *m, struct file *file)
{
}

/*
 * Only a method the device has is replaced, never a NULL one: the VFS
 * tests a method and then calls it with two separate loads (vfs_read():
 * "if (file->f_op->read) ... file->f_op->read(...)"), and either value is
 * a function of the right type.  Each store is of one aligned pointer, so
 * a call reads the old or the new method whole; the old one is safe to
 * run, because the call's file keeps the device and its state alive.
 */
static void device_revoke_methods(struct drvproxy_device *dev)
{
	struct file_operations *f = &dev->fops;	/* not const: the device's own copy */

	if (f->read)
		WRITE_ONCE(f->read, dead_read);
	if (f->write)
		WRITE_ONCE(f->write, dead_write);
	if (f->read_iter)
		WRITE_ONCE(f->read_iter, dead_rw_iter);
	if (f->write_iter)
		WRITE_ONCE(f->write_iter, dead_rw_iter);
	if (f->llseek)
		WRITE_ONCE(f->llseek, dead_llseek);
	if (f->unlocked_ioctl)
		WRITE_ONCE(f->unlocked_ioctl, dead_ioctl);
	if (f->compat_ioctl)
		WRITE_ONCE(f->compat_ioctl, dead_ioctl);
	if (f->poll)
		WRITE_ONCE(f->poll, dead_poll);
	if (f->mmap)
		WRITE_ONCE(f->mmap, dead_mmap);
	if (f->fsync)
		WRITE_ONCE(f->fsync, dead_fsync);
	if (f->splice_read)
		WRITE_ONCE(f->splice_read, dead_splice_read);
	if (f->splice_write)
		WRITE_ONCE(f->splice_write, dead_splice_write);
	if (f->fallocate)
		WRITE_ONCE(f->fallocate, dead_fallocate);
	if (f->copy_file_range)
		WRITE_ONCE(f->copy_file_range, dead_copy_file_range);
	if (f->remap_file_range)
		WRITE_ONCE(f->remap_file_range, dead_remap_file_range);
	if (f->lock)
		WRITE_ONCE(f->lock, dead_lock);
	if (f->flock)
		WRITE_ONCE(f->flock, dead_lock);
	if (f->fadvise)
		WRITE_ONCE(f->fadvise, dead_fadvise);
	if (f->uring_cmd)
		WRITE_ONCE(f->uring_cmd, dead_uring_cmd);
	if (f->get_unmapped_area)
		WRITE_ONCE(f->get_unmapped_area, dead_get_unmapped_area);
	if (f->check_flags)
		WRITE_ONCE(f->check_flags, dead_check_flags);
	if (f->show_fdinfo)
		WRITE_ONCE(f->show_fdinfo, dead_show_fdinfo);
}

/*
 * The proxy fops: each method is the endpoint in the major-function table,
 * i.e. its wrapper; an unset code leaves the member NULL, so the VFS applies
 * its conventional default.
 */
static const struct file_operations *build_fops(struct drvproxy_driver *drv)
{
	drvproxy_fn_t *mj = drv->major_function;
	struct file_operations *f;	/* not const until built */

	if (drvproxy_fail_alloc())
		return NULL;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return NULL;
	f->owner = drv->owner;
	f->open = proxy_open;
	f->release = proxy_release;
	/* Each other member is the endpoint (or plain function) the driver set. */
#define DPX_FOP(code) (f->__DPX_MJ_MEMBER_##code = (void *)mj[DRVPROXY_MJ_##code])
	DPX_FOP(READ);
	DPX_FOP(READ_ITER);
	DPX_FOP(WRITE);
	DPX_FOP(WRITE_ITER);
	DPX_FOP(LLSEEK);
	DPX_FOP(DEVICE_CONTROL);
	DPX_FOP(DEVICE_CONTROL_COMPAT);
	DPX_FOP(POLL);
	DPX_FOP(MMAP);
	DPX_FOP(FLUSH_BUFFERS);
	DPX_FOP(CLEANUP);
	DPX_FOP(FASYNC);
	DPX_FOP(IOPOLL);
	DPX_FOP(LOCK);
	DPX_FOP(GET_UNMAPPED_AREA);
	DPX_FOP(CHECK_FLAGS);
	DPX_FOP(FLOCK);
	DPX_FOP(SPLICE_WRITE);
	DPX_FOP(SPLICE_READ);
	DPX_FOP(SPLICE_EOF);
	DPX_FOP(SETLEASE);
	DPX_FOP(FALLOCATE);
	DPX_FOP(SHOW_FDINFO);
	DPX_FOP(COPY_FILE_RANGE);
	DPX_FOP(REMAP_FILE_RANGE);
	DPX_FOP(FADVISE);
	DPX_FOP(URING_CMD);
	DPX_FOP(URING_CMD_IOPOLL);
#undef DPX_FOP
	dpx_set_fop_flags(f, drv->fop_flags);
	return f;
}

/* A value member this kernel's file_operations lacks: refused, not dropped. */
static int check_fop_values(struct drvproxy_driver *drv)
{
	if (drv->fop_flags && !dpx_have_fop_flags()) {
		pr_err("%s: fop_flags set, but this kernel's file_operations has none\n",
		       drv->name);
		return -EINVAL;
	}
	return 0;
}

/**
 * drvproxy_driver_register() - make a driver object live
 * @drv: from drvproxy_driver_alloc(), major functions filled in
 *
 * Builds the proxy file_operations from the major-function table, calls
 * @drv->driver_init if set, publishes the driver under
 * /sys/kernel/drvproxy/drivers/<name>/ and makes it a target for companions.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (NULL, registered before, or @drv->fop_flags set on a
 * kernel without them); -EEXIST (a driver of that name exists); -ENOMEM;
 * or the error of @drv->driver_init.  On error the driver is not
 * registered and may be freed with drvproxy_driver_free(); when
 * @drv->driver_init succeeded before the error, @drv->driver_unload has
 * been called.
 */
int drvproxy_driver_register(struct drvproxy_driver *drv)
{
	int ret;

	if (!drv || (drv->flags & DRVPROXY_DRIVER_REGISTERED) || drv->fops) {
		pr_err("driver_register: NULL driver, or registered before\n");
		return -EINVAL;
	}
	ret = check_fop_values(drv);
	if (ret)
		return ret;
	if (drv->driver_init) {
		ret = drv->driver_init(drv);
		if (ret) {
			pr_err("%s: driver_init failed: %d\n", drv->name, ret);
			return ret;
		}
	}
	drv->fops = build_fops(drv);
	if (!drv->fops) {
		ret = -ENOMEM;
		goto err_unload;
	}
	mutex_lock(&drvproxy_lock);
	if (drvproxy_find_driver_locked(drv->name)) {
		mutex_unlock(&drvproxy_lock);
		pr_err("%s: a driver object of that name is registered already\n", drv->name);
		ret = -EEXIST;
		goto err_fops;
	}
	mutex_lock(&drv->lock);
	ret = drvproxy_sysfs_add_driver(drv);
	if (!ret && drv->extension)
		ret = drvproxy_sysfs_add_extension(drv->extension);
	if (ret) {
		mutex_unlock(&drv->lock);
		/* Not under drv->lock: the removal waits for readers, which take it. */
		drvproxy_sysfs_del_driver(drv);
		mutex_unlock(&drvproxy_lock);
		goto err_fops;
	}
	drv->flags |= DRVPROXY_DRIVER_REGISTERED;
	mutex_unlock(&drv->lock);
	list_add_tail(&drv->node, &drvproxy_drivers);
	mutex_unlock(&drvproxy_lock);
	pr_debug("%s: registered\n", drv->name);
	return 0;

err_fops:
	kfree(drv->fops);
	drv->fops = NULL;
err_unload:
	/*
	 * Undo what driver_init did, as unregister would: the workers first,
	 * since they may wait on events that driver_unload frees.
	 */
	if (drv->driver_init && drv->driver_unload) {
		if (drv->extension)
			drvproxy_stop_workers(drv->extension);
		drv->driver_unload(drv);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_driver_register);

/**
 * drvproxy_driver_unregister() - take a driver object down
 * @drv: a registered driver object
 *
 * Stops its workers, removes the devices it still has as
 * drvproxy_delete_device() does (the driver's pointers to them stay valid:
 * it still deletes them, or drvproxy does when its module goes; their
 * state blocks outlive it while files are open on them), calls
 * @drv->driver_unload, waits until no call is inside any of its
 * implementations, frees its extension and removes it from sysfs.  The
 * workers go first because they may wait on events inside the devices'
 * state blocks; a pointer to a worker is invalid afterwards.  Does not
 * free @drv: call drvproxy_driver_free().  No companion layer can be
 * applied at this point: each pins the host module.
 *
 * Context: process context, may sleep; the host's module_exit.
 */
void drvproxy_driver_unregister(struct drvproxy_driver *drv)
{
	struct drvproxy_device *dev, *n;
	struct drvproxy_extension *ext;
	LIST_HEAD(devices);

	if (!drv || !(drv->flags & DRVPROXY_DRIVER_REGISTERED))
		return;
	mutex_lock(&drvproxy_lock);
	list_del_init(&drv->node);
	mutex_unlock(&drvproxy_lock);

	mutex_lock(&drv->lock);
	drv->flags |= DRVPROXY_DRIVER_UNLOADING;
	mutex_unlock(&drv->lock);
	/*
	 * An add that passed the UNLOADING test lists its device before it
	 * drops @adding: pairs with the smp_mb() before wake_up_var() in
	 * drvproxy_device_add().
	 */
	wait_var_event(&drv->adding, !READ_ONCE(drv->adding));
	mutex_lock(&drv->lock);
	list_splice_init(&drv->devices, &devices);
	/* Still the creator's: held here only while they are removed. */
	list_for_each_entry(dev, &devices, node)
		kref_get(&dev->ref);
	ext = drv->extension;
	mutex_unlock(&drv->lock);
	if (ext)
		drvproxy_stop_workers(ext);
	list_for_each_entry_safe(dev, n, &devices, node) {
		pr_warn("%s: device %s still present at unregister; removing it\n",
			drv->name, dev->misc.name);
		list_del_init(&dev->node);
		device_remove(dev);
		device_put(dev);
	}
	if (drv->driver_unload)
		drv->driver_unload(drv);

	/*
	 * Unpublish the extension before releasing it: a sysfs show of the
	 * driver's directory (still there until the end) takes a reference
	 * to it under this lock, which keeps its memory (sysfs.c).
	 */
	mutex_lock(&drv->lock);
	ext = drv->extension;
	WRITE_ONCE(drv->extension, NULL);
	mutex_unlock(&drv->lock);
	if (ext)
		drvproxy_extension_release(ext);
	mutex_lock(&drv->lock);
	drv->flags &= ~(DRVPROXY_DRIVER_REGISTERED | DRVPROXY_DRIVER_UNLOADING);
	mutex_unlock(&drv->lock);
	drvproxy_sysfs_del_driver(drv);
}
EXPORT_SYMBOL_GPL(drvproxy_driver_unregister);

/**
 * drvproxy_driver_free() - drop the creator's reference to a driver object
 * @drv: the driver object (unregistered); NULL and error pointers are ignored
 *
 * An extension the driver still owns (created, then registration failed) is
 * released first.
 *
 * Context: process context.
 */
void drvproxy_driver_free(struct drvproxy_driver *drv)
{
	if (IS_ERR_OR_NULL(drv))
		return;
	if (WARN(drv->flags & DRVPROXY_DRIVER_REGISTERED,
		 "drvproxy: %s: freed while registered\n", drv->name))
		return;
	/*
	 * An extension created before a failed registration goes with it;
	 * unpublished first, as drvproxy_driver_unregister() does, so that
	 * drvproxy_get_extension() never returns one being released.
	 */
	if (drv->extension) {
		struct drvproxy_extension *ext = drv->extension;

		WRITE_ONCE(drv->extension, NULL);
		drvproxy_extension_release(ext);
	}
	if (drv->kobj.state_initialized) {
		kobject_put(&drv->kobj);
	} else {
		kfree(drv->fops);
		kfree(drv);
	}
}
EXPORT_SYMBOL_GPL(drvproxy_driver_free);

/**
 * drvproxy_driver_get() - find a registered driver object by name
 * @name: the driver name
 *
 * Context: process context, may sleep.
 * Return: the driver object with a reference (drop it with
 * drvproxy_driver_put()), or NULL.
 */
struct drvproxy_driver *drvproxy_driver_get(const char *name)
{
	struct drvproxy_driver *drv;

	if (!name)
		return NULL;
	mutex_lock(&drvproxy_lock);
	drv = drvproxy_find_driver_locked(name);
	if (drv)
		kobject_get(&drv->kobj);
	mutex_unlock(&drvproxy_lock);
	return drv;
}
EXPORT_SYMBOL_GPL(drvproxy_driver_get);

/**
 * drvproxy_driver_put() - drop a reference from drvproxy_driver_get()
 * @drv: the driver object, or NULL
 */
void drvproxy_driver_put(struct drvproxy_driver *drv)
{
	if (drv)
		kobject_put(&drv->kobj);
}
EXPORT_SYMBOL_GPL(drvproxy_driver_put);

/**
 * drvproxy_start_io() - hand a request to the driver's StartIo entry point
 * @drv: the driver object
 * @request: the driver-defined request
 *
 * Calls @drv->driver_start_io when set (an endpoint, so it is swappable).
 *
 * Context: whatever the driver's start-io routine allows.
 */
void drvproxy_start_io(struct drvproxy_driver *drv, void *request)
{
	if (drv && drv->driver_start_io)
		drv->driver_start_io(drv, request);
}
EXPORT_SYMBOL_GPL(drvproxy_start_io);

/**
 * drvproxy_device_alloc() - allocate a device of a driver, not yet visible
 * @drv: a registered driver object
 * @name: device name (/dev/@name), copied
 * @state_size: size of the zeroed per-device state block, 0 for none
 *
 * Initialise the state block (locks, wait queues), then make the device
 * visible with drvproxy_device_add(): no open() can see the state before
 * it is ready.  Undo with drvproxy_delete_device().
 *
 * Its identity can be set in between, in &drvproxy_device.misc, as for any
 * misc device: @misc.minor, a fixed minor instead of a dynamic one (a
 * driver loaded on demand through a static /dev node and
 * MODULE_ALIAS_MISCDEV() keeps its reserved minor); @misc.nodename, a path
 * under /dev other than @name ("net/tun"); @misc.mode, the node's
 * permissions (default &drvproxy_driver.device_mode).
 *
 * Context: process context, may sleep.
 * Return: the device; ERR_PTR(-EINVAL) (bad argument, driver not
 * registered) or ERR_PTR(-ENOMEM).
 */
struct drvproxy_device *drvproxy_device_alloc(struct drvproxy_driver *drv, const char *name,
					      size_t state_size)
{
	struct drvproxy_device *dev;

	if (!drv || !name || !*name || !(drv->flags & DRVPROXY_DRIVER_REGISTERED)) {
		pr_err("device_alloc: bad argument or unregistered driver\n");
		return ERR_PTR(-EINVAL);
	}
	if (drvproxy_fail_alloc())
		return ERR_PTR(-ENOMEM);
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	if (drvproxy_fail_alloc())
		goto err;
	dev->misc.name = kstrdup(name, GFP_KERNEL);
	if (!dev->misc.name)
		goto err;
	if (state_size) {
		if (drvproxy_fail_alloc())
			goto err;
		dev->state = kzalloc(state_size, GFP_KERNEL);
		if (!dev->state)
			goto err;
	}
	kref_init(&dev->ref);
	kobject_get(&drv->kobj);
	dev->driver = drv;
	dev->state_size = state_size;
	INIT_LIST_HEAD(&dev->node);
	mutex_init(&dev->files_lock);
	INIT_LIST_HEAD(&dev->files);
	dev->fops = *drv->fops;
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.fops = &dev->fops;
	dev->misc.mode = drv->device_mode;
	atomic_set(&dev->opens, 0);
	spin_lock(&drvproxy_created_lock);
	list_add_tail(&dev->created, &drvproxy_created_devices);
	spin_unlock(&drvproxy_created_lock);
	return dev;

err:
	kfree(dev->state);
	kfree(dev->misc.name);
	kfree(dev);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(drvproxy_device_alloc);

/**
 * drvproxy_device_add() - make a device from drvproxy_device_alloc() visible
 * @dev: the device, its state block initialised
 *
 * Registers the misc device: /dev/<name> appears, with the driver's
 * device_mode (0: 0600), and open() reaches the driver.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (NULL, added before, or the driver is unloading); or
 * the error of misc_register(): -EBUSY for a fixed minor in use, -EEXIST
 * for a name in use (with the kernel's "duplicate filename" warning).  On
 * error the device is not visible; delete it with drvproxy_delete_device().
 */
int drvproxy_device_add(struct drvproxy_device *dev)
{
	struct drvproxy_driver *drv;
	int ret;

	if (!dev || test_bit(DRVPROXY_DEVICE_ADDED, &dev->flags)) {
		pr_err("device_add: NULL device, or added before\n");
		return -EINVAL;
	}
	drv = dev->driver;
	mutex_lock(&drv->lock);
	if (drv->flags & DRVPROXY_DRIVER_UNLOADING) {
		mutex_unlock(&drv->lock);
		pr_err("%s: device_add(%s) while the driver unregisters\n",
		       drv->name, dev->misc.name);
		return -EINVAL;
	}
	/*
	 * Registered outside drv->lock: misc_register() takes misc_mtx, which
	 * an open waiting out a stalled transition holds (misc_open() calls
	 * the driver's open under it), while that transition's migration may
	 * take drv->lock (drvproxy_iterate_files()).  Listed before, so that
	 * a migration reaches the files opened as soon as the node appears;
	 * unregister waits for @adding to drop to 0 before it takes the list.
	 */
	drv->adding++;
	list_add_tail(&dev->node, &drv->devices);
	mutex_unlock(&drv->lock);
	drvproxy_test_point(DRVPROXY_TP_DEVICE_REGISTERING);
	ret = misc_register(&dev->misc);
	mutex_lock(&drv->lock);
	if (!ret)
		set_bit(DRVPROXY_DEVICE_ADDED, &dev->flags);
	else
		list_del_init(&dev->node);
	drv->adding--;
	mutex_unlock(&drv->lock);
	/* Orders the store above before the waiter test: pairs with wait_var_event(). */
	smp_mb();
	wake_up_var(&drv->adding);
	if (ret)
		pr_err("%s: misc_register(%s) failed: %d\n", drv->name, dev->misc.name, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_device_add);

/*
 * A device added with drvproxy_device_add_cdev(): the cdev that the VFS
 * opens and the class device that gives it a node and a place in sysfs.
 * The class device holds a reference on @dev, dropped by its release; the
 * cdev holds the class device (cdev_device_add() makes it the cdev's
 * parent); chrdev_open() holds the cdev for as long as the file lives.  So
 * @dev outlives every open, also one racing drvproxy_delete_device(), and
 * this structure outlives the cdev.
 */
struct drvproxy_cdev {
	struct cdev cdev;
	struct device device;
	struct drvproxy_device *dev;
};

static void cdev_device_release(struct device *d)
{
	struct drvproxy_cdev *c = container_of(d, struct drvproxy_cdev, device);

	device_put(c->dev);
	kfree(c);
}

/* The node's permissions and owner, from the device (devtmpfs, udev). */
static char *cdev_devnode(DPX_DEVNODE_CONST struct device *d, umode_t *mode, kuid_t *uid,
			  kgid_t *gid)
{
	const struct drvproxy_cdev *c = container_of(d, struct drvproxy_cdev, device);
	const struct drvproxy_device *dev = c->dev;

	if (mode && dev->misc.mode)
		*mode = dev->misc.mode;
	if (uid)
		*uid = dev->uid;
	if (gid)
		*gid = dev->gid;
	return NULL;
}

static const struct device_type cdev_device_type = {
	.devnode = cdev_devnode,
};

static struct drvproxy_cdev *cdev_alloc_for(struct drvproxy_device *dev, dev_t devt,
					    const struct class *class, struct device *parent)
{
	struct drvproxy_cdev *c;

	if (drvproxy_fail_alloc())
		return NULL;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return NULL;
	c->dev = dev;
	kref_get(&dev->ref);		/* the class device's, see above */
	cdev_init(&c->cdev, &dev->fops);
	c->cdev.owner = dev->fops.owner;
	device_initialize(&c->device);
	c->device.devt = devt;
	/* const since 6.4; before, the field was not, but nothing writes it */
	c->device.class = (void *)class;
	c->device.parent = parent;
	c->device.type = &cdev_device_type;
	c->device.release = cdev_device_release;
	/* A '/' in the name becomes '!' in sysfs and a directory under /dev. */
	if (drvproxy_fail_alloc() || dev_set_name(&c->device, "%s", dev->misc.name)) {
		put_device(&c->device);
		return NULL;
	}
	return c;
}

/**
 * drvproxy_device_add_cdev() - make a device visible as a cdev of a class
 * @dev: from drvproxy_device_alloc(), its state block initialised
 * @devt: its device number, from the driver's own alloc_chrdev_region()
 *	or register_chrdev_region(), which the driver keeps and releases
 *	after deleting its devices
 * @class: the driver's class (sysfs /sys/class/<class>/<name>, uevents,
 *	and the class's devnode()), or NULL for none
 * @parent: the parent device, or NULL
 *
 * What a driver that uses cdev_add() and device_create() rather than a
 * misc device calls instead of drvproxy_device_add(): registers a cdev with
 * the device's proxy fops at @devt and a class device named
 * @dev->misc.name, so /dev/<name> appears with @dev->misc.mode (0: 0600),
 * @dev->uid and @dev->gid.  A driver with several minors adds one device
 * per minor.  Lifetime and deletion are those of any drvproxy device:
 * drvproxy_delete_device() removes the node; files still open keep the
 * device until their release.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (NULL, added before, no major in @devt, or the driver
 * is unloading); -ENOMEM; or the error of cdev_device_add() (-EEXIST for
 * a name in use).  On error the device is not visible; delete it with
 * drvproxy_delete_device().
 */
int drvproxy_device_add_cdev(struct drvproxy_device *dev, dev_t devt,
			     const struct class *class, struct device *parent)
{
	struct drvproxy_driver *drv;
	struct drvproxy_cdev *c;
	int ret;

	if (!dev || test_bit(DRVPROXY_DEVICE_ADDED, &dev->flags) || !MAJOR(devt)) {
		pr_err("device_add_cdev: NULL device, added before, or no major number\n");
		return -EINVAL;
	}
	drv = dev->driver;
	c = cdev_alloc_for(dev, devt, class, parent);
	if (!c)
		return -ENOMEM;
	mutex_lock(&drv->lock);
	if (drv->flags & DRVPROXY_DRIVER_UNLOADING) {
		mutex_unlock(&drv->lock);
		pr_err("%s: device_add_cdev(%s) while the driver unregisters\n",
		       drv->name, dev->misc.name);
		put_device(&c->device);
		return -EINVAL;
	}
	/* Under drv->lock, so that unregister finds every visible device. */
	ret = cdev_device_add(&c->cdev, &c->device);
	if (!ret) {
		dev->cdev = c;
		set_bit(DRVPROXY_DEVICE_ADDED, &dev->flags);
		list_add_tail(&dev->node, &drv->devices);
	}
	mutex_unlock(&drv->lock);
	if (ret) {
		pr_err("%s: cdev_device_add(%s) failed: %d\n", drv->name, dev->misc.name, ret);
		put_device(&c->device);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_device_add_cdev);

/**
 * drvproxy_create_device() - create a misc character device of a driver
 * @drv: a registered driver object
 * @name: device name (/dev/@name), copied
 * @state_size: size of the zeroed per-device state block, 0 for none
 * @out: receives the device
 *
 * drvproxy_device_alloc() and drvproxy_device_add() in one: only for a
 * driver whose state needs no initialisation before the first open (all
 * zero is ready); otherwise use the two steps.
 *
 * Context: process context, may sleep.
 * Return: 0, or the error of either step.
 */
int drvproxy_create_device(struct drvproxy_driver *drv, const char *name,
			   size_t state_size, struct drvproxy_device **out)
{
	struct drvproxy_device *dev;
	int ret;

	if (!out) {
		pr_err("create_device: NULL out\n");
		return -EINVAL;
	}
	*out = NULL;
	dev = drvproxy_device_alloc(drv, name, state_size);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	ret = drvproxy_device_add(dev);
	if (ret) {
		drvproxy_delete_device(dev);
		return ret;
	}
	*out = dev;
	return 0;
}
EXPORT_SYMBOL_GPL(drvproxy_create_device);

/*
 * A worker waiting on an event inside the state block would be left on a
 * freed wait queue: stop it, and say so, since the driver should have.
 */
static void device_stop_workers(struct drvproxy_device *dev)
{
	struct drvproxy_driver *drv = dev->driver;
	struct drvproxy_extension *ext;

	if (!dev->state_size)
		return;
	mutex_lock(&drv->lock);
	ext = drv->extension;
	mutex_unlock(&drv->lock);
	if (ext)
		drvproxy_halt_workers_in(ext, dev->state, dev->state_size,
					 dev->misc.name);
}

/* Take @dev's node away: no new open finds the device after this. */
static void device_unregister_node(struct drvproxy_device *dev)
{
	struct drvproxy_cdev *c = dev->cdev;

	if (!c) {
		/* No open is in misc_open() now, and none will find the device. */
		misc_deregister(&dev->misc);
		return;
	}
	/* An open already past the cdev lookup sees DRVPROXY_DEVICE_REMOVED. */
	dev->cdev = NULL;
	cdev_device_del(&c->cdev, &c->device);
	put_device(&c->device);
}

/*
 * Take @dev away, once, if it was added: its node, its methods, the workers
 * waiting inside its state block.  Its memory stays until the creator's
 * reference and every open file's are dropped.
 */
static void device_remove(struct drvproxy_device *dev)
{
	struct drvproxy_driver *drv = dev->driver;

	if (!test_bit(DRVPROXY_DEVICE_ADDED, &dev->flags) ||
	    test_and_set_bit(DRVPROXY_DEVICE_REMOVED, &dev->flags))
		return;
	mutex_lock(&drv->lock);
	list_del_init(&dev->node);
	mutex_unlock(&drv->lock);
	device_unregister_node(dev);
	device_revoke_methods(dev);
	device_stop_workers(dev);
}

/**
 * drvproxy_delete_device() - remove a device, as on hot-unplug
 * @dev: from drvproxy_device_alloc() or drvproxy_create_device(); NULL is
 *	ignored
 *
 * /dev/<name> disappears and no new open reaches the driver.  Files still
 * open keep the device and its state block: their next calls fail with
 * -ENODEV (poll, if the driver has it, reports EPOLLERR | EPOLLHUP)
 * without entering the driver; calls already inside the driver finish (a
 * driver wakes its blocked calls first, see drvproxy_device_removed());
 * flush, fasync and release still reach the driver, release exactly once
 * per file, and so do iopoll, uring_cmd_iopoll and splice_eof, which
 * finish I/O already under way, and setlease.  The state block is freed,
 * after &drvproxy_driver.device_release, when the last of those files is
 * closed, or now if none is open.  Workers still waiting on an event
 * inside the state block are stopped with a warning: stop them first.
 *
 * Drops the creator's reference, so @dev is invalid afterwards.  A device
 * that drvproxy_driver_unregister() removed is still the creator's to
 * delete; one its module never deletes is freed when the module goes.
 *
 * Context: process context, may sleep; not from a worker routine waiting on
 * the device's events, nor from a phased callback or a state migration of
 * the driver's extension (stopping the workers takes the extension's lock,
 * which the transition holds).
 */
void drvproxy_delete_device(struct drvproxy_device *dev)
{
	if (!dev)
		return;
	device_remove(dev);
	spin_lock(&drvproxy_created_lock);
	list_del_init(&dev->created);
	spin_unlock(&drvproxy_created_lock);
	device_put(dev);
}
EXPORT_SYMBOL_GPL(drvproxy_delete_device);

int drvproxy_device_count(struct drvproxy_driver *drv)
{
	struct drvproxy_device *dev;
	int n = 0;

	mutex_lock(&drv->lock);
	list_for_each_entry(dev, &drv->devices, node)
		n++;
	mutex_unlock(&drv->lock);
	return n;
}

unsigned int drvproxy_open_count(struct drvproxy_driver *drv)
{
	struct drvproxy_device *dev;
	unsigned int n = 0;

	mutex_lock(&drv->lock);
	list_for_each_entry(dev, &drv->devices, node)
		n += atomic_read(&dev->opens);
	mutex_unlock(&drv->lock);
	return n;
}

/*
 * A host module is going away with its driver object still registered: its
 * exit forgot drvproxy_driver_unregister().  Its code is about to be freed,
 * so take the driver down now rather than leave wrappers pointing into it.
 */
static void unregister_forgotten_drivers(struct module *mod)
{
	struct drvproxy_driver *drv;

	for (;;) {
		mutex_lock(&drvproxy_lock);
		list_for_each_entry(drv, &drvproxy_drivers, node)
			if (drv->owner == mod)
				goto found;
		mutex_unlock(&drvproxy_lock);
		return;
found:
		kobject_get(&drv->kobj);
		mutex_unlock(&drvproxy_lock);
		pr_warn("%s: module %s exited without unregistering it; unregistering\n",
			drv->name, mod->name);
		drvproxy_driver_unregister(drv);
		kobject_put(&drv->kobj);
	}
}

/* The next device of @mod's drivers its creator did not delete, unlisted. */
static struct drvproxy_device *next_created_device(struct module *mod)
{
	struct drvproxy_device *dev;

	spin_lock(&drvproxy_created_lock);
	list_for_each_entry(dev, &drvproxy_created_devices, created) {
		if (dev->driver->owner == mod) {
			list_del_init(&dev->created);
			spin_unlock(&drvproxy_created_lock);
			return dev;
		}
	}
	spin_unlock(&drvproxy_created_lock);
	return NULL;
}

/*
 * @mod is going away: unregister the driver objects its exit forgot, then
 * delete the devices it never deleted (those unregister removed, and
 * those it allocated but never added), which would otherwise keep their
 * memory and their driver object's forever.
 */
void drvproxy_driver_going(struct module *mod)
{
	struct drvproxy_device *dev;

	unregister_forgotten_drivers(mod);
	while ((dev = next_created_device(mod))) {
		pr_warn("%s: module %s did not delete device %s; deleting it\n",
			dev->driver->name, mod->name, dev->misc.name);
		device_remove(dev);
		device_put(dev);
	}
}
