// SPDX-License-Identifier: GPL-2.0
/*
 * device_kunit.c - KUnit suite drvproxy_device: device lifetime, as on
 * hot-unplug
 *
 * A device is reference counted: each open file holds it, so a device
 * deleted with files open keeps its state block until the last close; the
 * files' calls then fail with -ENODEV, and their release runs exactly once,
 * on the device they were opened on, even when a new device took the same
 * minor.  A device allocated but not added is invisible to open(), a failed
 * open holds nothing, and workers waiting on events inside a device's state
 * block are stopped before that memory goes.  The files are opened through
 * /dev (devtmpfs, which the guest mounts), as user space would.  The
 * lifetime cases run twice: on a misc device (drvproxy_device_add()) and on
 * a cdev of a class (drvproxy_device_add_cdev()).
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/namei.h>
#include <linux/stat.h>
#include <linux/poll.h>
#include <linux/uio.h>

#include "drvproxy_kunit.h"

#define DV_DRV		"dpx_kunit_device"
#define DV_DRV2		"dpx_kunit_device2"
#define DV_NAME		"dpx_kunit_dev"
#define DV_PATH		"/dev/" DV_NAME
#define DV_WORKER	"dpx-kunit-devwk"
#define DV_ROUTINE	160
#define DV_IOCTL	0x4401

/* The per-device state block of the test driver. */
struct dv_state {
	int id;				/* which device this is */
	atomic_t opens;			/* open() calls on this device */
	atomic_t releases;		/* release() calls on this device */
	struct drvproxy_event ev;	/* what a worker waits on */
};

/* What device_release saw: the state is gone after it. */
struct dv_freed {
	atomic_t count;
	int last_id;
	int last_opens;
	int last_releases;
};

static struct dv_freed dv_freed;
static int dv_open_error;
static int dv_open_error_late;	/* returned after the file is tracked */

static int dv_open(struct inode *inode, struct file *file)
{
	struct dv_state *st = drvproxy_file_device(file)->state;
	int ret;

	if (READ_ONCE(dv_open_error))
		return READ_ONCE(dv_open_error);
	atomic_inc(&st->opens);
	file->private_data = NULL;	/* the driver owns it, as any driver does */
	/* For drvproxy_iterate_files(): a migration may convert it. */
	ret = drvproxy_track_file(file);
	return ret ?: READ_ONCE(dv_open_error_late);
}

static int dv_release(struct inode *inode, struct file *file)
{
	struct dv_state *st = drvproxy_file_device(file)->state;

	drvproxy_untrack_file(file);
	atomic_inc(&st->releases);
	return 0;
}

/* Reads return the device's id as one byte. */
static ssize_t dv_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct dv_state *st = drvproxy_file_device(iocb->ki_filp)->state;
	u8 id = st->id;

	return copy_to_iter(&id, 1, to);
}

static long dv_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return cmd == DV_IOCTL ? 0 : -ENOTTY;
}

static __poll_t dv_poll(struct file *file, struct poll_table_struct *wait)
{
	return EPOLLIN | EPOLLRDNORM;
}

static void dv_device_release(struct drvproxy_device *dev)
{
	struct dv_state *st = dev->state;

	dv_freed.last_id = st->id;
	dv_freed.last_opens = atomic_read(&st->opens);
	dv_freed.last_releases = atomic_read(&st->releases);
	atomic_inc(&dv_freed.count);
}

DRVPROXY_ENDPOINT_MANUAL(bool, dpx_dv_routine, void *, context, long, status)
{
	return true;
}

struct dv_fixture {
	struct dpx_host host;
	struct dpx_host host2;
	struct drvproxy_device *dev[2];
	struct drvproxy_worker *worker;
	dev_t devt;			/* DV_MINORS numbers for cdev devices */
	bool class_registered;
	/* dv_registering_hook() */
	bool hook_ran;
	bool hook_lock_free;		/* drv->lock was free while registering */
	int hook_listed;		/* devices listed then */
	bool hook_unregister;		/* unregister the host meanwhile */
	bool unregister_waited;		/* ... which then waited for the add */
	struct dpx_thread unregisterer;
};

static struct dv_fixture *dv_cur;	/* for dv_registering_hook() */

/* How a case's devices become visible: its parameter, misc by default. */
enum dv_kind { DV_MISC, DV_CDEV };

static const enum dv_kind dv_kinds[] = { DV_MISC, DV_CDEV };

static void dv_kind_desc(const enum dv_kind *kind, char *desc)
{
	strscpy(desc, *kind == DV_CDEV ? "cdev" : "misc", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(dv_kind, dv_kinds, dv_kind_desc);

#define DV_MINORS	2
#define DV_CLASS	"dpx_kunit_class"

/* Not const: class_register() took a non-const class before 6.4. */
static struct class dv_class = {
	.name = DV_CLASS,
};

static void dv_set_methods(struct drvproxy_driver *drv)
{
	drvproxy_set_major_function(drv, CREATE, dv_open);
	drvproxy_set_major_function(drv, CLOSE, dv_release);
	drvproxy_set_major_function(drv, READ_ITER, dv_read_iter);
	drvproxy_set_major_function(drv, DEVICE_CONTROL, dv_ioctl);
	drvproxy_set_major_function(drv, POLL, dv_poll);
	drv->device_release = dv_device_release;
}

static struct drvproxy_driver *dv_driver(struct kunit *test, const char *name)
{
	struct drvproxy_driver *drv = drvproxy_driver_alloc(name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	dv_set_methods(drv);
	return drv;
}

static int dv_init(struct kunit *test)
{
	struct dv_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	test->priv = f;
	memset(&dv_freed, 0, sizeof(dv_freed));
	dv_open_error = 0;
	dpx_host_init_drv(test, &f->host, dv_driver(test, DV_DRV), true);
	KUNIT_ASSERT_EQ(test, dpx_register_one(f->host.ext, DV_ROUTINE,
					       DRVPROXY_DESC(dpx_dv_routine)), 0);
	/* What a cdev driver sets up in its module init. */
	KUNIT_ASSERT_EQ(test, alloc_chrdev_region(&f->devt, 0, DV_MINORS, DV_DRV), 0);
	KUNIT_ASSERT_EQ(test, class_register(&dv_class), 0);
	f->class_registered = true;
	return 0;
}

static void dv_exit(struct kunit *test)
{
	struct dv_fixture *f = test->priv;

	drvproxy_test_set_hook(NULL);
	dpx_thread_stop(&f->unregisterer);
	dv_cur = NULL;
	drvproxy_stop_worker(f->worker);
	drvproxy_delete_device(f->dev[0]);
	drvproxy_delete_device(f->dev[1]);
	dpx_host_exit(&f->host2);
	dpx_host_exit(&f->host);
	if (f->class_registered)
		class_unregister(&dv_class);
	if (f->devt)
		unregister_chrdev_region(f->devt, DV_MINORS);
}

static enum dv_kind dv_kind(struct kunit *test)
{
	return test->param_value ? *(const enum dv_kind *)test->param_value : DV_MISC;
}

/* Make @dev visible as the case's kind of device, with minor @minor for a cdev. */
static int dv_add(struct kunit *test, struct drvproxy_device *dev, unsigned int minor)
{
	struct dv_fixture *f = test->priv;

	if (dv_kind(test) == DV_MISC)
		return drvproxy_device_add(dev);
	return drvproxy_device_add_cdev(dev, MKDEV(MAJOR(f->devt), MINOR(f->devt) + minor),
					&dv_class, NULL);
}

/* A device of the host with state id @id, visible as /dev/dpx_kunit_dev. */
static struct drvproxy_device *dv_create(struct kunit *test, struct dpx_host *h, int id)
{
	struct drvproxy_device *dev;
	struct dv_state *st;

	dev = drvproxy_device_alloc(h->drv, DV_NAME, sizeof(*st));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	st = dev->state;
	st->id = id;
	drvproxy_event_init(&st->ev, true);
	if (dv_add(test, dev, 0)) {
		drvproxy_delete_device(dev);
		KUNIT_FAIL_AND_ABORT(test, "drvproxy_device_add() failed");
	}
	return dev;
}

static struct file *dv_open_path(struct kunit *test)
{
	struct file *file = filp_open(DV_PATH, O_RDWR, 0);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open %s: %ld", DV_PATH,
			       PTR_ERR(file));
	return file;
}

/* The error of a filp_open(), or 0. */
static long dv_errno(struct file *file)
{
	return IS_ERR(file) ? PTR_ERR(file) : 0;
}

/* One byte read from @file: the device id, or a negative errno. */
static int dv_read_byte(struct file *file)
{
	loff_t pos = 0;
	u8 id = 0xff;
	ssize_t ret = kernel_read(file, &id, 1, &pos);

	return ret == 1 ? id : (int)ret;
}

/*
 * Deleting a device with a file open on it: the file's read, ioctl and
 * poll no longer reach the driver, read and ioctl fail with -ENODEV and
 * poll reports a hang-up; the close still reaches the driver's release.
 */
static void deleted_device_fails_calls_of_open_files_with_enodev(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev = dv_create(test, &f->host, 7);
	struct dv_state *st = dev->state;
	struct file *file = dv_open_path(test);

	KUNIT_EXPECT_EQ(test, dv_read_byte(file), 7);
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, DV_IOCTL, 0), 0L);
	drvproxy_delete_device(dev);
	KUNIT_EXPECT_TRUE(test, drvproxy_device_removed(dev));
	KUNIT_EXPECT_EQ(test, dv_read_byte(file), -ENODEV);
	KUNIT_EXPECT_EQ(test, file->f_op->unlocked_ioctl(file, DV_IOCTL, 0), (long)-ENODEV);
	KUNIT_EXPECT_EQ(test, vfs_poll(file, NULL), EPOLLERR | EPOLLHUP);
	/* The state block is still there: the file holds the device. */
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&st->releases), 0);
	fput(file);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_releases, 1);
}

/*
 * The state block of a device deleted with files open is freed after the
 * last of them is closed, once, and every open got its release.
 */
static void state_block_is_freed_after_the_last_close(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev = dv_create(test, &f->host, 3);
	struct file *a = dv_open_path(test);
	struct file *b = dv_open_path(test);

	drvproxy_delete_device(dev);
	fput(a);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 0);
	fput(b);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_id, 3);
	KUNIT_EXPECT_EQ(test, dv_freed.last_opens, 2);
	KUNIT_EXPECT_EQ(test, dv_freed.last_releases, 2);
}

/* Without files open, deleting a device frees its state at once. */
static void unused_device_is_freed_by_delete(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev = dv_create(test, &f->host, 4);

	drvproxy_delete_device(dev);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_id, 4);
}

/*
 * A file opened on a deleted device whose minor and name a new device took
 * is released on its own device: the new device's counts do not move.
 */
static void release_reaches_its_own_device_after_the_minor_is_reused(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *old = dv_create(test, &f->host, 1);
	struct dv_state *st_new;
	struct file *file = dv_open_path(test);
	int old_minor = old->misc.minor;

	drvproxy_delete_device(old);
	f->dev[0] = dv_create(test, &f->host, 2);
	st_new = f->dev[0]->state;
	/* A cdev device takes the same number again: its driver's first minor. */
	if (dv_kind(test) == DV_MISC)
		kunit_info(test, "old minor %d, new minor %d\n", old_minor,
			   f->dev[0]->misc.minor);
	KUNIT_EXPECT_EQ(test, dv_read_byte(file), -ENODEV);
	fput(file);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&st_new->releases), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_id, 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_releases, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->dev[0]->opens), 0);
}

/* open() cannot reach a device before drvproxy_device_add(). */
static void device_is_invisible_until_added(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev;
	struct file *file;

	dev = drvproxy_device_alloc(f->host.drv, DV_NAME, sizeof(struct dv_state));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	f->dev[0] = dev;
	file = filp_open(DV_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, dv_errno(file), (long)-ENOENT);
	if (!IS_ERR(file))
		fput(file);
	KUNIT_ASSERT_EQ(test, dv_add(test, dev, 0), 0);
	KUNIT_EXPECT_EQ(test, dv_add(test, dev, 0), -EINVAL);
	file = dv_open_path(test);
	fput(file);
	flush_delayed_fput();
}

/* An open the driver fails holds no reference: delete frees at once. */
static void failed_open_keeps_no_reference(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev = dv_create(test, &f->host, 5);
	struct file *file;

	WRITE_ONCE(dv_open_error, -EBUSY);
	file = filp_open(DV_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, dv_errno(file), (long)-EBUSY);
	if (!IS_ERR(file))
		fput(file);
	drvproxy_delete_device(dev);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
}

/* Only the files of a driver's own devices are recognised as its files. */
static void is_driver_file_recognises_only_its_own_files(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct file *file, *null;

	dpx_host_init_drv(test, &f->host2, dv_driver(test, DV_DRV2), false);
	f->dev[0] = dv_create(test, &f->host, 1);
	file = dv_open_path(test);
	null = filp_open("/dev/null", O_RDONLY, 0);
	KUNIT_EXPECT_TRUE(test, drvproxy_is_driver_file(file, f->host.drv));
	KUNIT_EXPECT_FALSE(test, drvproxy_is_driver_file(file, f->host2.drv));
	if (!IS_ERR(null)) {
		KUNIT_EXPECT_FALSE(test, drvproxy_is_driver_file(null, f->host.drv));
		fput(null);
	}
	KUNIT_EXPECT_FALSE(test, drvproxy_is_driver_file(NULL, f->host.drv));
	fput(file);
	flush_delayed_fput();
}

/*
 * The worker thread has been stopped: kthread_stop() returned after it
 * exited, and it leaves the task list once reaped, right after.
 */
static bool dv_worker_gone(void)
{
	return DPX_POLL(dpx_threads_named(DV_WORKER) == 0, 5000);
}

static void dv_start_worker(struct kunit *test, struct dv_fixture *f,
			    struct drvproxy_device *dev)
{
	struct dv_state *st = dev->state;
	struct drvproxy_worker_start s = {
		.routine = dpx_dv_routine,
		.name = DV_WORKER,
		.wait_type = DRVPROXY_WAIT_ANY,
		.event_count = 1,
		.events = { &st->ev },
	};

	KUNIT_ASSERT_EQ(test, drvproxy_create_worker(f->host.ext, &s, &f->worker), 0);
	KUNIT_ASSERT_EQ(test, dpx_threads_named(DV_WORKER), 1U);
}

/*
 * Unregistering a driver whose worker waits on an event inside a device's
 * state block stops the worker before the device is removed.
 */
static void unregister_stops_workers_before_removing_devices(struct kunit *test)
{
	struct dv_fixture *f = test->priv;

	f->dev[0] = dv_create(test, &f->host, 1);
	dv_start_worker(test, f, f->dev[0]);
	f->worker = NULL;	/* unregister frees the worker */
	dpx_host_unregister(&f->host);
	KUNIT_EXPECT_TRUE(test, dv_worker_gone());
	KUNIT_EXPECT_TRUE(test, drvproxy_device_removed(f->dev[0]));
}

/*
 * A device still present at unregister is removed (its node goes, as on
 * hot-unplug) but stays the creator's: its pointer is valid until the
 * driver deletes it, which then frees it.  Unregister used to free it, and
 * a driver's delete after the unregister wrote to freed memory.
 */
static void device_removed_by_unregister_stays_valid_until_deleted(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev = dv_create(test, &f->host, 6);

	dpx_host_unregister(&f->host);
	KUNIT_EXPECT_TRUE(test, drvproxy_device_removed(dev));
	KUNIT_EXPECT_EQ(test, dv_errno(filp_open(DV_PATH, O_RDWR, 0)), -ENOENT);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 0);
	drvproxy_delete_device(dev);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_id, 6);
}

/* What drvproxy_driver_alloc() gives a driver of @mod: only .owner set. */
static const struct file_operations *dv_owner_fops(struct kunit *test, struct module *mod)
{
	const struct file_operations proto = { .owner = mod };
	void *mem = kunit_kzalloc(test, sizeof(proto), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mem);
	return memcpy(mem, &proto, sizeof(proto));
}

/*
 * A driver object of a stand-in module in @state, registered, with the
 * test driver's methods: what the owner is read for (its name, its state,
 * its reference count, taken by an open).
 */
static struct drvproxy_driver *dv_standin_driver(struct kunit *test, const char *name,
						 enum module_state state,
						 struct module **mod)
{
	struct drvproxy_driver *drv;

	*mod = kunit_kzalloc(test, sizeof(**mod), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, *mod);
	strscpy((*mod)->name, name, sizeof((*mod)->name));
	(*mod)->state = state;
#ifdef CONFIG_MODULE_UNLOAD
	atomic_set(&(*mod)->refcnt, 1);	/* MODULE_REF_BASE: no reference */
#endif
	drv = __drvproxy_driver_alloc(name, *mod, dv_owner_fops(test, *mod));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	dv_set_methods(drv);
	KUNIT_ASSERT_EQ(test, drvproxy_driver_register(drv), 0);
	return drv;
}

/*
 * The devices a module never deleted, the one its unregister removed and
 * one it allocated but never added, are freed when the module goes: they
 * would keep their memory and their driver object's forever.  Each holds
 * a reference on the driver object, which the case holds too: only its
 * own is left afterwards.
 */
static void devices_never_deleted_are_freed_when_their_module_goes(struct kunit *test)
{
	struct drvproxy_device *added, *never_added;
	struct drvproxy_driver *drv;
	struct module *mod;

	drv = dv_standin_driver(test, DV_DRV2, MODULE_STATE_LIVE, &mod);
	added = drvproxy_device_alloc(drv, DV_NAME, sizeof(struct dv_state));
	never_added = drvproxy_device_alloc(drv, DV_NAME "x", 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, added);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, never_added);
	((struct dv_state *)added->state)->id = 7;
	KUNIT_ASSERT_EQ(test, drvproxy_device_add(added), 0);
	kobject_get(&drv->kobj);
	drvproxy_driver_unregister(drv);
	drvproxy_driver_free(drv);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&drv->kobj.kref), 3U);

	mod->state = MODULE_STATE_GOING;
	drvproxy_test_module_going(mod);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_id, 7);
	KUNIT_EXPECT_EQ(test, kref_read(&drv->kobj.kref), 1U);
	kobject_put(&drv->kobj);
}

/*
 * An open while the device's module is still in its init is refused with
 * -EAGAIN, keeping nothing: the kernel frees a module whose init fails
 * whatever holds it, so the file's release would run freed code.  Once
 * the module is live the open goes through.
 */
static void open_while_the_module_is_in_its_init_fails_with_eagain(struct kunit *test)
{
	struct drvproxy_device *dev;
	struct drvproxy_driver *drv;
	struct module *mod;
	struct dv_state *st;
	struct file *file;

	drv = dv_standin_driver(test, DV_DRV2, MODULE_STATE_COMING, &mod);
	dev = drvproxy_device_alloc(drv, DV_NAME, sizeof(*st));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	st = dev->state;
	KUNIT_ASSERT_EQ(test, drvproxy_device_add(dev), 0);

	KUNIT_EXPECT_EQ(test, dv_errno(filp_open(DV_PATH, O_RDWR, 0)), -EAGAIN);
	KUNIT_EXPECT_EQ(test, atomic_read(&st->opens), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&dev->opens), 0);

	mod->state = MODULE_STATE_LIVE;
	file = filp_open(DV_PATH, O_RDWR, 0);
	KUNIT_EXPECT_EQ(test, dv_errno(file), 0);
	if (!IS_ERR(file)) {
		KUNIT_EXPECT_EQ(test, atomic_read(&st->opens), 1);
		fput(file);
		flush_delayed_fput();
	}
	drvproxy_delete_device(dev);
	drvproxy_driver_unregister(drv);
	drvproxy_driver_free(drv);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
}

/*
 * Deleting a device stops a worker still waiting on an event inside its
 * state block; the driver's pointer to the worker stays valid until it
 * stops it.
 */
static void delete_stops_workers_waiting_on_the_device(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev = dv_create(test, &f->host, 1);

	dv_start_worker(test, f, dev);
	drvproxy_delete_device(dev);
	KUNIT_EXPECT_TRUE(test, dv_worker_gone());
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	drvproxy_stop_worker(f->worker);
	f->worker = NULL;
}

/*
 * A driver object unregistered and freed while a file is still open on its
 * deleted device: the device keeps the driver object, and the file's close
 * still runs the release and frees the state, touching nothing freed.
 */
static void driver_freed_with_a_file_open_releases_safely(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev;
	struct file *file;

	dpx_host_init_drv(test, &f->host2, dv_driver(test, DV_DRV2), false);
	dev = dv_create(test, &f->host2, 9);
	file = dv_open_path(test);
	drvproxy_delete_device(dev);
	dpx_host_exit(&f->host2);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 0);
	fput(file);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
	KUNIT_EXPECT_EQ(test, dv_freed.last_releases, 1);
}

/* A stand-in for any method: only its address is compared. */
static void dv_marker(void)
{
}

/*
 * Every major-function code a driver sets becomes its file_operations
 * member in the device's fops, none dropped; open and release are
 * drvproxy's own, and the value member fop_flags is copied.
 */
static void every_major_function_reaches_its_fops_member(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_driver *drv = drvproxy_driver_alloc(DV_DRV2);
	const struct file_operations *fops;
	drvproxy_fn_t m = dv_marker;
	unsigned int code;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	for (code = 0; code < DRVPROXY_MJ_MAX; code++)
		drv->major_function[code] = m;
	dpx_host_init_drv(test, &f->host2, drv, false);
	f->dev[0] = dv_create(test, &f->host2, 1);
	fops = &f->dev[0]->fops;
#define DV_HAS(code) KUNIT_EXPECT_PTR_EQ_MSG(test, (void *)fops->__DPX_MJ_MEMBER_##code, \
					     (void *)m, "code " #code)
	DV_HAS(READ);
	DV_HAS(READ_ITER);
	DV_HAS(WRITE);
	DV_HAS(WRITE_ITER);
	DV_HAS(LLSEEK);
	DV_HAS(DEVICE_CONTROL);
	DV_HAS(DEVICE_CONTROL_COMPAT);
	DV_HAS(POLL);
	DV_HAS(MMAP);
	DV_HAS(FLUSH_BUFFERS);
	DV_HAS(CLEANUP);
	DV_HAS(FASYNC);
	DV_HAS(IOPOLL);
	DV_HAS(LOCK);
	DV_HAS(GET_UNMAPPED_AREA);
	DV_HAS(CHECK_FLAGS);
	DV_HAS(FLOCK);
	DV_HAS(SPLICE_WRITE);
	DV_HAS(SPLICE_READ);
	DV_HAS(SPLICE_EOF);
	DV_HAS(SETLEASE);
	DV_HAS(FALLOCATE);
	DV_HAS(SHOW_FDINFO);
	DV_HAS(COPY_FILE_RANGE);
	DV_HAS(REMAP_FILE_RANGE);
	DV_HAS(FADVISE);
	DV_HAS(URING_CMD);
	DV_HAS(URING_CMD_IOPOLL);
#undef DV_HAS
	KUNIT_EXPECT_PTR_NE(test, (void *)fops->open, (void *)m);
	KUNIT_EXPECT_PTR_NE(test, (void *)fops->release, (void *)m);
	KUNIT_EXPECT_EQ(test, DRVPROXY_MJ_MAX, DRVPROXY_MJ_URING_CMD_IOPOLL + 1);
}

/*
 * Deleting a device leaves its open files only the methods of close (flush,
 * fasync; release is drvproxy's own) and of I/O already under way (iopoll,
 * uring_cmd_iopoll, splice_eof), and setlease: every other method the
 * driver has, get_unmapped_area, check_flags and show_fdinfo included, no
 * longer enters the driver.
 */
static void deleted_device_keeps_only_close_and_in_flight_io_methods(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_driver *drv = drvproxy_driver_alloc(DV_DRV2);
	const struct file_operations *fops;
	drvproxy_fn_t m = dv_marker;
	struct drvproxy_device *dev;
	struct file *file;
	unsigned int code;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drv);
	for (code = 0; code < DRVPROXY_MJ_MAX; code++)
		drv->major_function[code] = m;
	drv->major_function[DRVPROXY_MJ_CREATE] = NULL;
	drv->major_function[DRVPROXY_MJ_CLOSE] = NULL;
	drv->major_function[DRVPROXY_MJ_CLEANUP] = NULL;	/* flush on close */
	drv->major_function[DRVPROXY_MJ_FASYNC] = NULL;	/* fasync on close */
	dpx_host_init_drv(test, &f->host2, drv, false);
	dev = dv_create(test, &f->host2, 1);
	file = dv_open_path(test);
	drvproxy_delete_device(dev);
	fops = file->f_op;
#define DV_KEPT(code, kept)							\
	KUNIT_EXPECT_EQ_MSG(test, (void *)fops->__DPX_MJ_MEMBER_##code == (void *)m,	\
			    kept, "code " #code)
	DV_KEPT(READ, false);
	DV_KEPT(READ_ITER, false);
	DV_KEPT(WRITE, false);
	DV_KEPT(WRITE_ITER, false);
	DV_KEPT(LLSEEK, false);
	DV_KEPT(DEVICE_CONTROL, false);
	DV_KEPT(DEVICE_CONTROL_COMPAT, false);
	DV_KEPT(POLL, false);
	DV_KEPT(MMAP, false);
	DV_KEPT(FLUSH_BUFFERS, false);
	DV_KEPT(IOPOLL, true);
	DV_KEPT(LOCK, false);
	DV_KEPT(GET_UNMAPPED_AREA, false);
	DV_KEPT(CHECK_FLAGS, false);
	DV_KEPT(FLOCK, false);
	DV_KEPT(SPLICE_WRITE, false);
	DV_KEPT(SPLICE_READ, false);
	DV_KEPT(SPLICE_EOF, true);
	DV_KEPT(SETLEASE, true);
	DV_KEPT(FALLOCATE, false);
	DV_KEPT(SHOW_FDINFO, false);
	DV_KEPT(COPY_FILE_RANGE, false);
	DV_KEPT(REMAP_FILE_RANGE, false);
	DV_KEPT(FADVISE, false);
	DV_KEPT(URING_CMD, false);
	DV_KEPT(URING_CMD_IOPOLL, true);
#undef DV_KEPT
	KUNIT_EXPECT_EQ(test, fops->check_flags(O_NONBLOCK), -ENODEV);
	KUNIT_EXPECT_EQ(test, IS_ERR_VALUE(fops->get_unmapped_area(file, 0, PAGE_SIZE, 0, 0)),
			true);
	fput(file);
	flush_delayed_fput();
}

/* ---- drvproxy_iterate_files() ---- */

/* What a walk saw. */
struct dv_walk {
	struct file *seen[8];
	unsigned int n;
	unsigned int stop_at;		/* fail the walk at this visit (1-based) */
};

static int dv_visit(struct file *file, void *ctx)
{
	struct dv_walk *w = ctx;

	if (w->n < ARRAY_SIZE(w->seen))
		w->seen[w->n] = file;
	w->n++;
	return w->n == w->stop_at ? -ECANCELED : 0;
}

static unsigned int dv_seen(struct dv_walk *w, struct file *file)
{
	unsigned int i, times = 0;

	for (i = 0; i < w->n && i < ARRAY_SIZE(w->seen); i++)
		times += w->seen[i] == file;
	return times;
}

static void iterate_files_visits_every_open_file_once(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct dv_walk w = {};
	struct file *a, *b, *c;

	f->dev[0] = dv_create(test, &f->host, 1);
	a = dv_open_path(test);
	b = dv_open_path(test);
	c = dv_open_path(test);
	KUNIT_EXPECT_EQ(test, drvproxy_iterate_files(f->host.drv, dv_visit, &w), 0);
	KUNIT_EXPECT_EQ(test, w.n, 3U);
	KUNIT_EXPECT_EQ(test, dv_seen(&w, a), 1U);
	KUNIT_EXPECT_EQ(test, dv_seen(&w, b), 1U);
	KUNIT_EXPECT_EQ(test, dv_seen(&w, c), 1U);
	fput(a);
	fput(b);
	fput(c);
	flush_delayed_fput();
}

/* A released file and an open that failed are not visited. */
static void iterate_files_leaves_out_closed_files_and_failed_opens(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct dv_walk w = {};
	struct file *a, *b, *failed;

	f->dev[0] = dv_create(test, &f->host, 1);
	a = dv_open_path(test);
	b = dv_open_path(test);
	fput(a);
	flush_delayed_fput();
	WRITE_ONCE(dv_open_error, -EBUSY);
	failed = filp_open(DV_PATH, O_RDWR, 0);
	WRITE_ONCE(dv_open_error, 0);
	KUNIT_EXPECT_EQ(test, dv_errno(failed), -EBUSY);
	if (!IS_ERR(failed))
		fput(failed);
	KUNIT_EXPECT_EQ(test, drvproxy_iterate_files(f->host.drv, dv_visit, &w), 0);
	KUNIT_EXPECT_EQ(test, w.n, 1U);
	KUNIT_EXPECT_EQ(test, dv_seen(&w, b), 1U);
	fput(b);
	flush_delayed_fput();
	w.n = 0;
	KUNIT_EXPECT_EQ(test, drvproxy_iterate_files(f->host.drv, dv_visit, &w), 0);
	KUNIT_EXPECT_EQ(test, w.n, 0U);
}

/*
 * An open that tracked its file and then failed (a driver whose open fails
 * after its last step, without undoing it) leaves no tracked file behind:
 * the file is freed, and a migration would be handed it.
 */
static void iterate_files_leaves_out_open_that_failed_after_tracking(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct dv_walk w = {};
	struct file *failed;

	f->dev[0] = dv_create(test, &f->host, 1);
	WRITE_ONCE(dv_open_error_late, -EBUSY);
	failed = filp_open(DV_PATH, O_RDWR, 0);
	WRITE_ONCE(dv_open_error_late, 0);
	KUNIT_EXPECT_EQ(test, dv_errno(failed), -EBUSY);
	if (!IS_ERR(failed))
		fput(failed);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, drvproxy_iterate_files(f->host.drv, dv_visit, &w), 0);
	KUNIT_EXPECT_EQ(test, w.n, 0U);
}

/* Only files of drvproxy devices, each once. */
static void track_file_refuses_other_files_and_a_second_track(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct file *a, *null;

	f->dev[0] = dv_create(test, &f->host, 1);
	a = dv_open_path(test);
	KUNIT_EXPECT_EQ(test, drvproxy_track_file(a), -EINVAL);
	null = filp_open("/dev/null", O_RDONLY, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(null));
	KUNIT_EXPECT_EQ(test, drvproxy_track_file(null), -EINVAL);
	drvproxy_untrack_file(null);
	fput(null);
	fput(a);
	flush_delayed_fput();
}

static void iterate_files_stops_at_the_first_error(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct dv_walk w = { .stop_at = 2 };
	struct file *a, *b, *c;

	f->dev[0] = dv_create(test, &f->host, 1);
	a = dv_open_path(test);
	b = dv_open_path(test);
	c = dv_open_path(test);
	KUNIT_EXPECT_EQ(test, drvproxy_iterate_files(f->host.drv, dv_visit, &w), -ECANCELED);
	KUNIT_EXPECT_EQ(test, w.n, 2U);
	fput(a);
	fput(b);
	fput(c);
	flush_delayed_fput();
}

/* A driver's per-file data, in two layouts. */
struct dv_file_data {
	u32 layout;
	u32 value;
};

static int dv_file_to_2(struct file *file, void *ctx)
{
	struct dv_file_data *d = file->private_data;

	if (d && d->layout == 1) {
		d->layout = 2;
		d->value *= 10;
	}
	return 0;
}

static int dv_file_to_1(struct file *file, void *ctx)
{
	struct dv_file_data *d = file->private_data;

	if (d && d->layout == 2) {
		d->layout = 1;
		d->value /= 10;
	}
	return 0;
}

DRVPROXY_REPLACEMENT_MANUAL(bool, dpx_dv_routine, dpx_dv_routine_l2, void *, context,
			    long, status)
{
	return true;
}

static const struct drvproxy_replacement *const dv_routine_l2[] = {
	DRVPROXY_REPL(dpx_dv_routine_l2),
};

static int dv_migrate(struct drvproxy_driver *drv, u32 from, u32 to, void *context)
{
	return drvproxy_iterate_files(drv, to == 2 ? dv_file_to_2 : dv_file_to_1, context);
}

/*
 * A layer that changes the per-file layout migrates every open file in its
 * STALLED phase, and its revert converts them back; a file closed before
 * is not touched.
 */
static void migration_converts_every_open_file_and_back(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct dv_file_data da = { 1, 3 }, db = { 1, 4 }, dc = { 1, 5 };
	struct drvproxy_layer *l;
	struct file *a, *b, *c;

	f->dev[0] = dv_create(test, &f->host, 1);
	a = dv_open_path(test);
	b = dv_open_path(test);
	c = dv_open_path(test);
	a->private_data = &da;
	b->private_data = &db;
	c->private_data = NULL;
	fput(c);
	flush_delayed_fput();
	c = NULL;

	l = dpx_layer_new(&f->host, DRVPROXY_MODE_STALLED, dv_routine_l2, 1);
	l->state_layout = 2;
	l->migrate = dv_migrate;
	l->unmigrate = dv_migrate;
	KUNIT_ASSERT_EQ(test, drvproxy_layer_apply(l), 0);
	KUNIT_EXPECT_EQ(test, da.layout, 2U);
	KUNIT_EXPECT_EQ(test, da.value, 30U);
	KUNIT_EXPECT_EQ(test, db.layout, 2U);
	KUNIT_EXPECT_EQ(test, db.value, 40U);
	KUNIT_EXPECT_EQ(test, dc.layout, 1U);

	KUNIT_ASSERT_EQ(test, drvproxy_layer_revert(l), 0);
	KUNIT_EXPECT_EQ(test, da.layout, 1U);
	KUNIT_EXPECT_EQ(test, da.value, 3U);
	KUNIT_EXPECT_EQ(test, db.layout, 1U);
	KUNIT_EXPECT_EQ(test, db.value, 4U);
	a->private_data = NULL;
	b->private_data = NULL;
	fput(a);
	fput(b);
	flush_delayed_fput();
}

/* ---- device identity ---- */

/* A misc minor in the range devices.txt keeps for local use. */
#define DV_FIXED_MINOR	243
#define DV_SUBDIR_NODE	"dpx_kunit/sub"

static int dv_stat(const char *path, struct kstat *st)
{
	struct path p;
	int ret = kern_path(path, 0, &p);

	if (ret)
		return ret;
	ret = vfs_getattr(&p, st, STATX_BASIC_STATS, AT_STATX_SYNC_AS_STAT);
	path_put(&p);
	return ret;
}

/*
 * Between drvproxy_device_alloc() and drvproxy_device_add() a driver sets
 * a fixed minor, a node path with a directory and the node's mode, as on
 * any misc device, and the node shows them; a second device asking for the
 * same minor is refused with -EBUSY and stays invisible.
 */
static void device_keeps_a_fixed_minor_its_node_path_and_mode(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev, *dup;
	struct kstat st;

	dev = drvproxy_device_alloc(f->host.drv, DV_NAME, sizeof(struct dv_state));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	f->dev[0] = dev;
	dev->misc.minor = DV_FIXED_MINOR;
	dev->misc.nodename = DV_SUBDIR_NODE;
	dev->misc.mode = 0640;
	KUNIT_ASSERT_EQ(test, drvproxy_device_add(dev), 0);
	KUNIT_ASSERT_EQ(test, dv_stat("/dev/" DV_SUBDIR_NODE, &st), 0);
	KUNIT_EXPECT_EQ(test, MAJOR(st.rdev), (unsigned int)MISC_MAJOR);
	KUNIT_EXPECT_EQ(test, MINOR(st.rdev), (unsigned int)DV_FIXED_MINOR);
	KUNIT_EXPECT_EQ(test, st.mode & 0777, 0640U);
	KUNIT_EXPECT_TRUE(test, S_ISCHR(st.mode));

	dup = drvproxy_device_alloc(f->host.drv, "dpx_kunit_dup", 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dup);
	f->dev[1] = dup;
	dup->misc.minor = DV_FIXED_MINOR;
	KUNIT_EXPECT_EQ(test, drvproxy_device_add(dup), -EBUSY);
	KUNIT_EXPECT_EQ(test, dv_stat("/dev/dpx_kunit_dup", &st), -ENOENT);
}

/* One byte read from a fresh file of @path: the device id, or an errno. */
static int dv_read_path(const char *path)
{
	struct file *file = filp_open(path, O_RDWR, 0);
	int ret;

	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = dv_read_byte(file);
	fput(file);
	return ret;
}

/*
 * A driver with its own device numbers and class adds each minor as a cdev
 * device: the node has the number it was added with and the mode, owner
 * and group set before, the class lists it, a name with a directory makes
 * a directory under /dev, and each minor reaches its own state.  A device
 * number without a major is refused with -EINVAL.
 */
static void cdev_devices_have_their_number_mode_owner_and_class(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	dev_t second = MKDEV(MAJOR(f->devt), MINOR(f->devt) + 1);
	struct drvproxy_device *dev;
	struct kstat st;

	dev = drvproxy_device_alloc(f->host.drv, DV_NAME, sizeof(struct dv_state));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	f->dev[0] = dev;
	((struct dv_state *)dev->state)->id = 8;
	dev->misc.mode = 0640;
	dev->uid = KUIDT_INIT(1000);
	dev->gid = KGIDT_INIT(1001);
	KUNIT_EXPECT_EQ(test, drvproxy_device_add_cdev(dev, MKDEV(0, 1), &dv_class, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dv_stat(DV_PATH, &st), -ENOENT);
	KUNIT_ASSERT_EQ(test, drvproxy_device_add_cdev(dev, f->devt, &dv_class, NULL), 0);
	KUNIT_ASSERT_EQ(test, dv_stat(DV_PATH, &st), 0);
	KUNIT_EXPECT_TRUE(test, S_ISCHR(st.mode));
	KUNIT_EXPECT_EQ(test, st.rdev, f->devt);
	KUNIT_EXPECT_EQ(test, st.mode & 0777, 0640U);
	KUNIT_EXPECT_EQ(test, from_kuid(&init_user_ns, st.uid), 1000U);
	KUNIT_EXPECT_EQ(test, from_kgid(&init_user_ns, st.gid), 1001U);
	KUNIT_EXPECT_EQ(test, dv_stat("/sys/class/" DV_CLASS "/" DV_NAME, &st), 0);

	dev = drvproxy_device_alloc(f->host.drv, DV_SUBDIR_NODE, sizeof(struct dv_state));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	f->dev[1] = dev;
	((struct dv_state *)dev->state)->id = 9;
	KUNIT_ASSERT_EQ(test, drvproxy_device_add_cdev(dev, second, &dv_class, NULL), 0);
	KUNIT_ASSERT_EQ(test, dv_stat("/dev/" DV_SUBDIR_NODE, &st), 0);
	KUNIT_EXPECT_EQ(test, st.rdev, second);
	KUNIT_EXPECT_EQ(test, st.mode & 0777, 0600U);
	KUNIT_EXPECT_EQ(test, dv_read_path("/dev/" DV_SUBDIR_NODE), 9);
	KUNIT_EXPECT_EQ(test, dv_read_path(DV_PATH), 8);
	flush_delayed_fput();

	drvproxy_delete_device(f->dev[1]);
	f->dev[1] = NULL;
	KUNIT_EXPECT_EQ(test, dv_stat("/dev/" DV_SUBDIR_NODE, &st), -ENOENT);
	KUNIT_EXPECT_EQ(test, dv_read_path(DV_PATH), 8);
	flush_delayed_fput();
}

static long dv_unregister(void *arg)
{
	struct dv_fixture *f = arg;

	dpx_host_unregister(&f->host);
	return 0;
}

/*
 * Where drvproxy_device_add() is about to register the misc device: is the
 * driver's lock free, and (@hook_unregister) does an unregister started now
 * wait for this add to finish?
 */
static void dv_registering_hook(enum drvproxy_test_point tp)
{
	struct dv_fixture *f = dv_cur;
	struct list_head *pos;

	if (tp != DRVPROXY_TP_DEVICE_REGISTERING || !f || f->hook_ran)
		return;
	f->hook_ran = true;
	f->hook_lock_free = mutex_trylock(&f->host.drv->lock);
	if (f->hook_lock_free) {
		list_for_each(pos, &f->host.drv->devices)
			f->hook_listed++;
		mutex_unlock(&f->host.drv->lock);
	}
	if (f->hook_unregister &&
	    !dpx_thread_start(&f->unregisterer, dv_unregister, f, "dpx-dv-unreg"))
		f->unregister_waited = dpx_thread_sleeps(&f->unregisterer,
							 TASK_UNINTERRUPTIBLE, 5000) &&
				       !completion_done(&f->unregisterer.done);
}

/*
 * drvproxy_device_add() registers a misc device without the driver's
 * lock: misc_register() takes misc_mtx, which an open waiting out a
 * stalled transition holds (misc_open() calls the driver's open under it),
 * while that transition's migration takes the driver's lock
 * (drvproxy_iterate_files()).  Holding the lock across the registration
 * deadlocked the three.  The device is listed already, so that a
 * migration reaches a file opened as soon as its node appears.
 */
static void device_add_registers_misc_device_without_driver_lock(struct kunit *test)
{
	struct dv_fixture *f = test->priv;

	dv_cur = f;
	drvproxy_test_set_hook(dv_registering_hook);
	f->dev[0] = dv_create(test, &f->host, 1);
	drvproxy_test_set_hook(NULL);

	KUNIT_EXPECT_TRUE(test, f->hook_ran);
	KUNIT_EXPECT_TRUE(test, f->hook_lock_free);
	KUNIT_EXPECT_EQ(test, f->hook_listed, 1);
	KUNIT_EXPECT_EQ(test, dv_read_path(DV_PATH), 1);
}

/*
 * An unregister that starts while an add registers its device waits for
 * the add, and then removes that device too: no device stays visible after
 * its driver's registration.
 */
static void unregister_waits_for_add_in_progress_and_removes_its_device(struct kunit *test)
{
	struct dv_fixture *f = test->priv;
	struct drvproxy_device *dev;

	dv_cur = f;
	f->hook_unregister = true;
	drvproxy_test_set_hook(dv_registering_hook);
	dev = drvproxy_device_alloc(f->host.drv, DV_NAME, sizeof(struct dv_state));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_EXPECT_EQ(test, drvproxy_device_add(dev), 0);
	drvproxy_test_set_hook(NULL);

	KUNIT_EXPECT_TRUE(test, f->hook_ran);
	KUNIT_EXPECT_TRUE(test, f->unregister_waited);
	KUNIT_ASSERT_TRUE(test, dpx_thread_wait(&f->unregisterer, 5000));
	/* Removed by the unregister; freed once its creator deletes it. */
	KUNIT_EXPECT_TRUE(test, drvproxy_device_removed(dev));
	KUNIT_EXPECT_EQ(test, dv_read_path(DV_PATH), -ENOENT);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 0);
	drvproxy_delete_device(dev);
	KUNIT_EXPECT_EQ(test, atomic_read(&dv_freed.count), 1);
}

static struct kunit_case dv_cases[] = {
	KUNIT_CASE_PARAM(deleted_device_fails_calls_of_open_files_with_enodev, dv_kind_gen_params),
	KUNIT_CASE_PARAM(state_block_is_freed_after_the_last_close, dv_kind_gen_params),
	KUNIT_CASE_PARAM(unused_device_is_freed_by_delete, dv_kind_gen_params),
	KUNIT_CASE_PARAM(release_reaches_its_own_device_after_the_minor_is_reused,
			 dv_kind_gen_params),
	KUNIT_CASE_PARAM(device_is_invisible_until_added, dv_kind_gen_params),
	KUNIT_CASE_PARAM(failed_open_keeps_no_reference, dv_kind_gen_params),
	KUNIT_CASE(is_driver_file_recognises_only_its_own_files),
	KUNIT_CASE(unregister_stops_workers_before_removing_devices),
	KUNIT_CASE_PARAM(device_removed_by_unregister_stays_valid_until_deleted,
			 dv_kind_gen_params),
	KUNIT_CASE(devices_never_deleted_are_freed_when_their_module_goes),
	KUNIT_CASE(open_while_the_module_is_in_its_init_fails_with_eagain),
	KUNIT_CASE(delete_stops_workers_waiting_on_the_device),
	KUNIT_CASE(every_major_function_reaches_its_fops_member),
	KUNIT_CASE(deleted_device_keeps_only_close_and_in_flight_io_methods),
	KUNIT_CASE(driver_freed_with_a_file_open_releases_safely),
	KUNIT_CASE(iterate_files_visits_every_open_file_once),
	KUNIT_CASE(iterate_files_leaves_out_closed_files_and_failed_opens),
	KUNIT_CASE(iterate_files_leaves_out_open_that_failed_after_tracking),
	KUNIT_CASE(iterate_files_stops_at_the_first_error),
	KUNIT_CASE(track_file_refuses_other_files_and_a_second_track),
	KUNIT_CASE(migration_converts_every_open_file_and_back),
	KUNIT_CASE(device_keeps_a_fixed_minor_its_node_path_and_mode),
	KUNIT_CASE(device_add_registers_misc_device_without_driver_lock),
	KUNIT_CASE(unregister_waits_for_add_in_progress_and_removes_its_device),
	KUNIT_CASE(cdev_devices_have_their_number_mode_owner_and_class),
	{}
};

static struct kunit_suite dv_suite = {
	.name = "drvproxy_device",
	.init = dv_init,
	.exit = dv_exit,
	.test_cases = dv_cases,
};

kunit_test_suite(dv_suite);
