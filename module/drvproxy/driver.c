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
 * Locking: the list of driver objects is under drvproxy_lock; a driver's
 * device list under drv->lock.  A driver object is reference counted by its
 * kobject; drvproxy_driver_get() takes a reference by name.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "internal.h"

static LIST_HEAD(drvproxy_drivers);	/* registered drivers, under drvproxy_lock */

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
 *
 * Context: process context, may sleep.
 * Return: the driver object, ERR_PTR(-EINVAL) or ERR_PTR(-ENOMEM).
 */
struct drvproxy_driver *__drvproxy_driver_alloc(const char *name, struct module *owner)
{
	struct drvproxy_driver *drv;
	size_t len = name ? strlen(name) : 0;

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
	dpx_module_text(owner, &drv->driver_start, &drv->driver_size);
	INIT_LIST_HEAD(&drv->devices);
	INIT_LIST_HEAD(&drv->node);
	mutex_init(&drv->lock);
	return drv;
}
EXPORT_SYMBOL_GPL(__drvproxy_driver_alloc);

typedef int (*dpx_open_t)(struct inode *inode, struct file *file);

static int proxy_open(struct inode *inode, struct file *file)
{
	struct drvproxy_device *dev = drvproxy_file_device(file);
	dpx_open_t open = (dpx_open_t)dev->driver->major_function[DRVPROXY_MJ_CREATE];
	int ret = 0;

	if (open)
		ret = open(inode, file);
	if (!ret)
		atomic_inc(&dev->opens);
	return ret;
}

/* The registered driver whose proxy fops @fops are, and its device @devt. */
static struct drvproxy_device *find_device(const struct file_operations *fops, dev_t devt)
{
	struct drvproxy_device *dev, *found = NULL;
	struct drvproxy_driver *drv;

	mutex_lock(&drvproxy_lock);
	list_for_each_entry(drv, &drvproxy_drivers, node) {
		if (drv->fops != fops)
			continue;
		mutex_lock(&drv->lock);
		list_for_each_entry(dev, &drv->devices, node)
			if (dev->misc.this_device && dev->misc.this_device->devt == devt)
				found = dev;
		mutex_unlock(&drv->lock);
		break;
	}
	mutex_unlock(&drvproxy_lock);
	return found;
}

/*
 * Never refused: the release endpoint (whatever implementation is current)
 * always runs, so the state open created is always torn down.  The driver
 * owns file->private_data, so the device is found through the inode; an
 * open file pins the host, so the device cannot be gone.
 */
static int proxy_release(struct inode *inode, struct file *file)
{
	struct drvproxy_device *dev = find_device(file->f_op, inode->i_rdev);
	dpx_open_t release;
	int ret = 0;

	if (WARN_ON_ONCE(!dev))
		return 0;
	release = (dpx_open_t)dev->driver->major_function[DRVPROXY_MJ_CLOSE];
	if (release)
		ret = release(inode, file);
	atomic_dec(&dev->opens);
	return ret;
}

/*
 * The proxy fops: each method is the endpoint in the major-function table,
 * i.e. its wrapper; an unset code leaves the member NULL, so the VFS applies
 * its conventional default.
 */
static const struct file_operations *build_fops(struct drvproxy_driver *drv)
{
	drvproxy_fn_t *mj = drv->major_function;

	if (drvproxy_fail_alloc())
		return NULL;
	return kmemdup(&(const struct file_operations) {
		.owner = drv->owner,
		.open = proxy_open,
		.release = proxy_release,
		.read = (void *)mj[DRVPROXY_MJ_READ],
		.read_iter = (void *)mj[DRVPROXY_MJ_READ_ITER],
		.write = (void *)mj[DRVPROXY_MJ_WRITE],
		.write_iter = (void *)mj[DRVPROXY_MJ_WRITE_ITER],
		.llseek = (void *)mj[DRVPROXY_MJ_LLSEEK],
		.unlocked_ioctl = (void *)mj[DRVPROXY_MJ_DEVICE_CONTROL],
		.compat_ioctl = (void *)mj[DRVPROXY_MJ_DEVICE_CONTROL_COMPAT],
		.poll = (void *)mj[DRVPROXY_MJ_POLL],
		.mmap = (void *)mj[DRVPROXY_MJ_MMAP],
		.fsync = (void *)mj[DRVPROXY_MJ_FLUSH_BUFFERS],
		.flush = (void *)mj[DRVPROXY_MJ_CLEANUP],
		.fasync = (void *)mj[DRVPROXY_MJ_FASYNC],
	}, sizeof(*drv->fops), GFP_KERNEL);
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
 * Return: 0; -EINVAL (NULL or registered before); -EEXIST (a driver of that
 * name exists); -ENOMEM; or the error of @drv->driver_init.  On error the
 * driver is not registered and may be freed with drvproxy_driver_free().
 */
int drvproxy_driver_register(struct drvproxy_driver *drv)
{
	int ret;

	if (!drv || (drv->flags & DRVPROXY_DRIVER_REGISTERED) || drv->fops) {
		pr_err("driver_register: NULL driver, or registered before\n");
		return -EINVAL;
	}
	if (drv->driver_init) {
		ret = drv->driver_init(drv);
		if (ret) {
			pr_err("%s: driver_init failed: %d\n", drv->name, ret);
			return ret;
		}
	}
	drv->fops = build_fops(drv);
	if (!drv->fops)
		return -ENOMEM;
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
		drvproxy_sysfs_del_driver(drv);
		mutex_unlock(&drv->lock);
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
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_driver_register);

/**
 * drvproxy_driver_unregister() - take a driver object down
 * @drv: a registered driver object
 *
 * Deletes the devices it still has, calls @drv->driver_unload, stops its
 * workers, waits until no call is inside any of its implementations, frees
 * its extension and removes it from sysfs.  Does not free @drv: call
 * drvproxy_driver_free().  No companion layer can be applied at this point:
 * each pins the host module.
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
	list_splice_init(&drv->devices, &devices);
	mutex_unlock(&drv->lock);
	list_for_each_entry_safe(dev, n, &devices, node) {
		pr_warn("%s: device %s still present at unregister; deleting it\n",
			drv->name, dev->misc.name);
		INIT_LIST_HEAD(&dev->node);
		drvproxy_delete_device(dev);
	}
	if (drv->driver_unload)
		drv->driver_unload(drv);

	mutex_lock(&drv->lock);
	ext = drv->extension;
	mutex_unlock(&drv->lock);
	if (ext)
		drvproxy_extension_release(ext);
	mutex_lock(&drv->lock);
	WRITE_ONCE(drv->extension, NULL);
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
	/* An extension created before a failed registration goes with it. */
	if (drv->extension) {
		drvproxy_extension_release(drv->extension);
		WRITE_ONCE(drv->extension, NULL);
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
 * drvproxy_create_device() - create a misc character device of a driver
 * @drv: a registered driver object
 * @name: device name (/dev/@name), copied
 * @extension_size: size of the zeroed per-device state block, 0 for none
 * @out: receives the device
 *
 * The device uses the driver's proxy file_operations; its node gets
 * @drv->device_mode (0: 0600).
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (bad argument, driver not registered); -ENOMEM; or the
 * error of misc_register() (-EBUSY for a name in use).
 */
int drvproxy_create_device(struct drvproxy_driver *drv, const char *name,
			   size_t extension_size, struct drvproxy_device **out)
{
	struct drvproxy_device *dev;
	int ret = -ENOMEM;

	if (!drv || !name || !*name || !out ||
	    !(drv->flags & DRVPROXY_DRIVER_REGISTERED)) {
		pr_err("create_device: bad argument or unregistered driver\n");
		return -EINVAL;
	}
	*out = NULL;
	if (drvproxy_fail_alloc())
		return -ENOMEM;
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	if (drvproxy_fail_alloc())
		goto err;
	dev->misc.name = kstrdup(name, GFP_KERNEL);
	if (!dev->misc.name)
		goto err;
	if (extension_size) {
		if (drvproxy_fail_alloc())
			goto err;
		dev->extension = kzalloc(extension_size, GFP_KERNEL);
		if (!dev->extension)
			goto err;
	}
	dev->driver = drv;
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.fops = drv->fops;
	dev->misc.mode = drv->device_mode;
	atomic_set(&dev->opens, 0);
	ret = misc_register(&dev->misc);
	if (ret) {
		pr_err("%s: misc_register(%s) failed: %d\n", drv->name, name, ret);
		goto err;
	}
	mutex_lock(&drv->lock);
	list_add_tail(&dev->node, &drv->devices);
	mutex_unlock(&drv->lock);
	*out = dev;
	return 0;

err:
	kfree(dev->extension);
	kfree(dev->misc.name);
	kfree(dev);
	return ret;
}
EXPORT_SYMBOL_GPL(drvproxy_create_device);

/**
 * drvproxy_delete_device() - remove a device created by drvproxy_create_device()
 * @dev: the device; NULL is ignored
 *
 * Frees the device and its state block.  Open files pin the host module, so
 * the host's exit (the usual caller) never runs while one is open.
 *
 * Context: process context, may sleep.
 */
void drvproxy_delete_device(struct drvproxy_device *dev)
{
	struct drvproxy_driver *drv;

	if (!dev)
		return;
	drv = dev->driver;
	mutex_lock(&drv->lock);
	list_del_init(&dev->node);
	mutex_unlock(&drv->lock);
	misc_deregister(&dev->misc);
	kfree(dev->extension);
	kfree(dev->misc.name);
	kfree(dev);
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
void drvproxy_driver_going(struct module *mod)
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
