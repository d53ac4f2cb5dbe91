// SPDX-License-Identifier: GPL-2.0
/*
 * dpxfuzz.c - throw random and boundary input at every user-facing surface
 * of drvproxy and its demo driver
 *
 * Built static (busybox guest).  Subcommands:
 *
 *   run [-n OPS] [-t SECONDS] [-S SEED] [-m MODDIR]
 *	With drvproxy and the demo host loaded: two threads until OPS
 *	operations or SECONDS have passed.
 *	The device thread works on /dev/drvproxy_demo through a pool of
 *	descriptors opened with random flags: read, write, readv, writev,
 *	pread (random sizes up to 1 MiB, NULL, unmapped, kernel and misaligned
 *	pointers), ioctl (the demo's commands with random arguments and sizes,
 *	random commands, the VFS's FIO* commands), poll, mmap, lseek, fsync,
 *	fcntl F_SETFL with O_ASYNC/O_NONBLOCK (the fasync method), F_SETOWN,
 *	dup, close, and blocking reads and writes that an interval timer
 *	interrupts.
 *	The control thread reads every file under /sys/kernel/drvproxy (random
 *	sizes, offsets, bad buffers), writes random, huge, empty, boolean,
 *	negative and numeric data to every writable one (a layer's "enabled":
 *	writing a false value reverts the layer), reads and writes
 *	the files in /sys/module/drvproxy/parameters, and loads and unloads the demo's
 *	companions from MODDIR, sometimes with garbage module parameters.
 *	At the end the parameters are restored and the companions unloaded.
 *
 *   params [-n OPS] [-S SEED] [-m MODDIR] [-k MODULE]
 *	Load MODULE (default drvproxy, which must not be loaded then) from
 *	MODDIR OPS times with garbage module parameters (random bytes,
 *	drvproxy's parameter names with random values, huge values); a load
 *	that succeeds must be unloadable.
 *
 * Checks (exit status 1 when one fails): no errno of the kernel's internal
 * restart range (>= 512, e.g. drvproxy's DRVPROXY_ERESTART) ever reaches
 * userspace; each device call fails only with an errno its interface
 * allows; no sysfs file shows anything that looks like a raw kernel
 * pointer; a sysfs read never returns more than a page; GET_INFO on a good
 * descriptor always answers consistently (uapi version, implementation 1-3,
 * fill <= FIFO size, bytes out + fill <= bytes in).  Prints the operation
 * counts per surface and the errno histogram.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "uapi/drvproxy_demo.h"

#ifndef FIGETBSZ
#define FIGETBSZ	_IO(0x00, 2)
#endif

#define DEV		"/dev/drvproxy_demo"
#define SYSFS		"/sys/kernel/drvproxy"
#define PARAMS		"/sys/module/drvproxy/parameters"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NFDS		8
#define MAX_FILES	512
#define BIG		(1024 * 1024)
#define MAX_ERRNO	600

enum { S_DEV, S_SYSFS, S_PARAM, S_MODULE, S_MAX };
static const char * const surface_names[S_MAX] = { "device", "sysfs", "params", "modules" };

static unsigned long long ops[S_MAX], errs[MAX_ERRNO];
static unsigned long long total_ops, max_ops = 1000000;
static double deadline;
static int failures;
static int stop;		/* under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* the counters */
static const char *moddir = "/lib/drvproxy";
static const char *module = "drvproxy";
static char *big;		/* BIG bytes, readable and writable */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&lock);
	if (++failures <= 20) {
		printf("# FAILURE: ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		fflush(stdout);
	}
	pthread_mutex_unlock(&lock);
}

/* Count one operation; false once the run is over. */
static int count(int surface)
{
	int more;

	pthread_mutex_lock(&lock);
	ops[surface]++;
	total_ops++;
	more = !stop && total_ops < max_ops && now() < deadline;
	if (!more)
		stop = 1;
	pthread_mutex_unlock(&lock);
	return more;
}

/*
 * Record the result of a call.  @allowed: errnos its interface may return,
 * 0-terminated, or NULL for "any ordinary errno".
 */
static void result(const char *what, long ret, int err, const int *allowed)
{
	const int *a;

	if (ret >= 0)
		return;
	pthread_mutex_lock(&lock);
	errs[err < MAX_ERRNO ? err : MAX_ERRNO - 1]++;
	pthread_mutex_unlock(&lock);
	if (err >= 512) {
		fail("%s: kernel-internal errno %d reached userspace", what, err);
		return;
	}
	if (!allowed)
		return;
	for (a = allowed; *a; a++)
		if (*a == err)
			return;
	fail("%s: unexpected errno %s", what, strerrorname_np(err) ?: "?");
}

#define CALL(what, allowed, expr)						\
	do {									\
		long __r;							\
		errno = 0;							\
		__r = (long)(expr);						\
		result(what, __r, errno, allowed);				\
	} while (0)

/* ---- random data ---- */

struct rnd {
	__u64 s;
};

static __u64 rnd64(struct rnd *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static __u32 rnd_below(struct rnd *r, __u32 n)
{
	return n ? rnd64(r) % n : 0;
}

/* A size: often small, sometimes at a boundary, sometimes huge. */
static size_t rnd_size(struct rnd *r)
{
	static const size_t edges[] = {
		0, 1, 2, 255, 256, 257, 4095, 4096, 4097, 8192, 65536, BIG,
	};

	switch (rnd_below(r, 4)) {
	case 0:
		return edges[rnd_below(r, ARRAY_SIZE(edges))];
	case 1:
		return rnd_below(r, BIG + 1);
	default:
		return rnd_below(r, 600);
	}
}

/* A user buffer for @len bytes: mostly good, else NULL, bad or kernel. */
static void *rnd_buf(struct rnd *r, size_t len)
{
	switch (rnd_below(r, 12)) {
	case 0:
		return NULL;
	case 1:
		return (void *)16;
	case 2:
		return (void *)0xffff888000000000ULL;	/* the direct map */
	case 3:
		return (void *)0x7ffffffff000ULL;	/* unmapped */
	case 4:
		return big + BIG - (len < BIG ? len : BIG) / 2;	/* runs off the end */
	default:
		return big + rnd_below(r, 64);		/* misaligned, good */
	}
}

static void rnd_fill(struct rnd *r, char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (char)rnd64(r);
}

/* ---- the device ---- */

static const int rw_errs[] = { EAGAIN, EFAULT, EINTR, EBADF, EINVAL, 0 };
static const int ioctl_errs[] = { ENOTTY, EFAULT, EINVAL, EBADF, 0 };
static const int mmap_errs[] = { ENODEV, EINVAL, EACCES, EBADF, ENOMEM, EPERM, EOVERFLOW, 0 };
static const int seek_errs[] = { ESPIPE, EINVAL, EBADF, 0 };
static const int fcntl_errs[] = { EINVAL, EBADF, EPERM, 0 };
static const int open_errs[] = { EINVAL, ENOTDIR, EISDIR, EACCES, EPERM, ENXIO, EEXIST, 0 };
static const int fsync_errs[] = { EINVAL, EBADF, EROFS, 0 };

static int fds[NFDS];

static void alarm_handler(int sig)
{
	(void)sig;
}

/*
 * Before a read or write: on a blocking descriptor (O_NONBLOCK may have been
 * dropped by F_SETFL or FIONBIO) arm a timer that interrupts the call, and
 * keeps interrupting it should the first signal come before the call.
 */
static int arm(struct rnd *r, int fd)
{
	struct itimerval it = {
		.it_value = { .tv_usec = 2000 + rnd_below(r, 8000) },
		.it_interval = { .tv_usec = 5000 },
	};
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_NONBLOCK))
		return 0;
	setitimer(ITIMER_REAL, &it, NULL);
	return 1;
}

static void disarm(int armed)
{
	struct itimerval off = {};

	if (armed)
		setitimer(ITIMER_REAL, &off, NULL);
}

static int open_flags(struct rnd *r)
{
	static const int extra[] = {
		O_NONBLOCK, O_NONBLOCK, O_NONBLOCK, O_APPEND, O_SYNC, O_NOCTTY,
		O_CLOEXEC, O_TRUNC, O_CREAT, O_DIRECTORY, O_NOATIME, O_DIRECT,
	};
	int f = rnd_below(r, 3);	/* O_RDONLY, O_WRONLY, O_RDWR */
	int i, n = rnd_below(r, 3);

	for (i = 0; i < n; i++)
		f |= extra[rnd_below(r, ARRAY_SIZE(extra))];
	return f;
}

/* The interface's own commands with damaged size, direction and number. */
static unsigned long rnd_cmd(struct rnd *r)
{
	static const unsigned long vfs[] = {
		FIONBIO, FIOASYNC, FIONREAD, FIOCLEX, FIONCLEX, FIOQSIZE, FIGETBSZ,
	};
	static const unsigned long demo[] = {
		DRVPROXY_DEMO_GET_INFO, DRVPROXY_DEMO_RESET, DRVPROXY_DEMO_SET_TRANSFORM,
	};
	unsigned long cmd;

	switch (rnd_below(r, 5)) {
	case 0:
		return vfs[rnd_below(r, ARRAY_SIZE(vfs))];
	case 1:
	case 2:
		return demo[rnd_below(r, ARRAY_SIZE(demo))];
	case 3:
		return _IOC(rnd_below(r, 4), DRVPROXY_DEMO_IOC_MAGIC, rnd_below(r, 9),
			    rnd_below(r, 1 << 14));
	default:
		cmd = (__u32)rnd64(r);
		/* The VFS's commands that act on the file system, not the driver. */
		if (_IOC_TYPE(cmd) == 'X' || _IOC_TYPE(cmd) == 'f' || _IOC_TYPE(cmd) == 0x94 ||
		    _IOC_TYPE(cmd) == 0x15)
			cmd = DRVPROXY_DEMO_RESET;
		return cmd;
	}
}

static void dev_ioctl(struct rnd *r, int fd)
{
	struct drvproxy_demo_info *info = (void *)(big + 4096);
	unsigned long cmd = rnd_cmd(r);
	unsigned long arg;

	switch (rnd_below(r, 4)) {
	case 0:
		memset(info, 0, sizeof(*info));
		info->size = rnd_below(r, 3) ? sizeof(*info) : (__u32)rnd64(r);
		arg = (unsigned long)info;
		break;
	case 1:
		*(__u32 *)info = rnd_below(r, 2) ? rnd_below(r, 5) : (__u32)rnd64(r);
		arg = (unsigned long)info;
		break;
	case 2:
		arg = rnd_below(r, 4);
		break;
	default:
		arg = (unsigned long)rnd_buf(r, 128);
		break;
	}
	CALL("ioctl", ioctl_errs, ioctl(fd, cmd, arg));
}

/* A blocking read or write that SIGALRM interrupts. */
static void dev_blocking(struct rnd *r)
{
	int fd = open(DEV, O_RDWR), armed;

	if (fd < 0) {
		result("open", -1, errno, open_errs);
		return;
	}
	armed = arm(r, fd);
	if (rnd_below(r, 2))
		CALL("blocking read", rw_errs, read(fd, big, 1 + rnd_below(r, 8192)));
	else
		CALL("blocking write", rw_errs, write(fd, big, 1 + rnd_below(r, 8192)));
	disarm(armed);
	close(fd);
}

static void check_info(int fd)
{
	struct drvproxy_demo_info in = { .size = sizeof(in) };

	if (ioctl(fd, DRVPROXY_DEMO_GET_INFO, &in)) {
		fail("GET_INFO on a good descriptor: %s", strerror(errno));
		return;
	}
	if (in.uapi_version != DRVPROXY_DEMO_UAPI_VERSION || in.impl_version < 1 ||
	    in.impl_version > 3 || in.fill > DRVPROXY_DEMO_FIFO_SIZE ||
	    in.bytes_out + in.fill > in.bytes_in)
		fail("GET_INFO: uapi %u impl %u fill %llu in %llu out %llu", in.uapi_version,
		     in.impl_version, (unsigned long long)in.fill,
		     (unsigned long long)in.bytes_in, (unsigned long long)in.bytes_out);
}

static void *device_thread(void *arg)
{
	struct rnd r = { .s = (unsigned long)arg | 1 };
	int good = open(DEV, O_RDWR | O_NONBLOCK), i;
	sigset_t set;

	/* The only thread SIGALRM may interrupt: see cmd_run(). */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (good < 0) {
		fail("open %s: %s", DEV, strerror(errno));
		return NULL;
	}
	for (i = 0; i < NFDS; i++)
		fds[i] = -1;
	while (count(S_DEV)) {
		int slot = rnd_below(&r, NFDS), fd = fds[slot];
		size_t len = rnd_size(&r);
		struct pollfd p;
		struct iovec iov[4];
		int armed;
		void *m;

		if (fd < 0 || !rnd_below(&r, 64)) {
			if (fd >= 0)
				close(fd);
			fds[slot] = open(DEV, open_flags(&r));
			if (fds[slot] < 0)
				result("open", -1, errno, open_errs);
			continue;
		}
		switch (rnd_below(&r, 20)) {
		case 0: case 1: case 2:
			armed = arm(&r, fd);
			CALL("read", rw_errs, read(fd, rnd_buf(&r, len), len));
			disarm(armed);
			break;
		case 3: case 4: case 5:
			rnd_fill(&r, big, len < 4096 ? len : 4096);
			armed = arm(&r, fd);
			CALL("write", rw_errs, write(fd, rnd_buf(&r, len), len));
			disarm(armed);
			break;
		case 6:
			for (i = 0; i < 4; i++) {
				iov[i].iov_len = rnd_size(&r) / 4;
				iov[i].iov_base = rnd_buf(&r, iov[i].iov_len);
			}
			armed = arm(&r, fd);
			if (rnd_below(&r, 2))
				CALL("readv", rw_errs, readv(fd, iov, 1 + rnd_below(&r, 4)));
			else
				CALL("writev", rw_errs, writev(fd, iov, 1 + rnd_below(&r, 4)));
			disarm(armed);
			break;
		case 7: case 8: case 9:
			dev_ioctl(&r, fd);
			break;
		case 10:
			p.fd = fd;
			p.events = (short)rnd64(&r);
			CALL("poll", NULL, poll(&p, 1, 0));
			break;
		case 11:
			errno = 0;
			m = mmap(NULL, rnd_size(&r) + 1, rnd_below(&r, 8),
				 rnd_below(&r, 2) ? MAP_SHARED : MAP_PRIVATE, fd,
				 (off_t)rnd_below(&r, 4) << 12);
			if (m == MAP_FAILED)
				result("mmap", -1, errno, mmap_errs);
			else
				munmap(m, 4096);
			break;
		case 12:
			CALL("lseek", seek_errs, lseek(fd, (off_t)rnd64(&r), rnd_below(&r, 6)));
			CALL("pread", seek_errs, pread(fd, big, len, rnd_below(&r, 4096)));
			break;
		case 13:
			CALL("fcntl F_SETFL", fcntl_errs,
			     fcntl(fd, F_SETFL, (rnd_below(&r, 2) ? O_ASYNC : 0) |
				   (rnd_below(&r, 2) ? O_NONBLOCK : 0)));
			break;
		case 14:
			CALL("fcntl F_SETOWN", fcntl_errs, fcntl(fd, F_SETOWN, getpid()));
			CALL("fcntl F_SETSIG", fcntl_errs,
			     fcntl(fd, F_SETSIG, rnd_below(&r, 2) ? SIGIO : 0));
			break;
		case 15:
			CALL("fsync", fsync_errs, fsync(fd));
			break;
		case 16:
			i = dup(fd);
			if (i >= 0) {
				close(fds[slot]);
				fds[slot] = i;
			}
			break;
		case 17:
			if (!rnd_below(&r, 4)) {
				dev_blocking(&r);
			} else {
				armed = arm(&r, fd);
				CALL("read", rw_errs, read(fd, big, rnd_below(&r, 64)));
				disarm(armed);
			}
			break;
		case 18:
			if (!rnd_below(&r, 200))
				CALL("RESET", NULL, ioctl(good, DRVPROXY_DEMO_RESET, 0));
			check_info(good);
			break;
		default:
			close(fd);
			fds[slot] = -1;
			break;
		}
	}
	for (i = 0; i < NFDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	check_info(good);
	close(good);
	return NULL;
}

/* ---- sysfs, parameters and modules ---- */

static char *files[MAX_FILES];
static int writable[MAX_FILES];
static int nfiles;

static void scan(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp)) && nfiles < MAX_FILES) {
		char path[512];
		struct stat st;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			scan(path);
		} else if (S_ISREG(st.st_mode)) {
			writable[nfiles] = !!(st.st_mode & 0222);
			files[nfiles++] = strdup(path);
		}
	}
	closedir(dp);
}

static void rescan(void)
{
	while (nfiles > 0)
		free(files[--nfiles]);
	scan(SYSFS);
	scan(PARAMS);
}

/* Anything that looks like a raw kernel address: 0xffff... or ffff + 12 hex. */
static int has_pointer(const char *s, size_t n)
{
	size_t i, j;

	for (i = 0; i + 16 <= n; i++) {
		if (strncmp(s + i, "ffff", 4))
			continue;
		for (j = 4; j < 16 && i + j < n; j++)
			if (!strchr("0123456789abcdef", s[i + j]))
				break;
		if (j == 16)
			return 1;
	}
	return 0;
}

static void sysfs_read(struct rnd *r, const char *path)
{
	char buf[8192];
	size_t len = rnd_below(r, 4) ? sizeof(buf) : rnd_below(r, 64);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		result("sysfs open", -1, errno, NULL);
		return;
	}
	if (!rnd_below(r, 16)) {
		CALL("sysfs read", NULL, read(fd, rnd_buf(r, len), len));
	} else {
		errno = 0;
		n = pread(fd, buf, len, rnd_below(r, 8) ? 0 : rnd_below(r, 5000));
		result("sysfs read", n, errno, NULL);
		if (n > 4096)
			fail("%s: read returned %zd bytes", path, n);
		if (n > 0 && has_pointer(buf, n))
			fail("%s shows a raw kernel pointer: %.*s", path, (int)n, buf);
	}
	close(fd);
}

static size_t payload(struct rnd *r, char *p)
{
	static const char * const words[] = {
		"", "0", "1", "-1", "2", "0\n", "1\n", " 0", "y", "n", "Y", "N", "on", "off",
		"true", "false", "\n", "4294967295", "4294967296", "-2147483648",
		"18446744073709551616", "0x10", "1e9", "drvproxy_demo", "drvproxy_demo,x,,",
		"a,b,c", "\xff\xfe", "%s%n%p",
	};
	const char *w;
	size_t n;

	switch (rnd_below(r, 4)) {
	case 0:
		n = rnd_below(r, 300);
		rnd_fill(r, p, n);
		return n;
	case 1:
		n = 4096 + rnd_below(r, 60000);
		memset(p, 'A' + rnd_below(r, 26), n);
		return n;
	default:
		w = words[rnd_below(r, ARRAY_SIZE(words))];
		n = strlen(w);
		memcpy(p, w, n);
		return n;
	}
}

static void file_write(struct rnd *r, const char *path, int surface)
{
	char *p = big + BIG / 2;
	size_t n = payload(r, p);
	int fd = open(path, O_WRONLY);

	if (fd < 0) {
		result("sysfs open", -1, errno, NULL);
		return;
	}
	CALL(surface == S_PARAM ? "parameter write" : "sysfs write", NULL,
	     write(fd, rnd_below(r, 32) ? p : rnd_buf(r, n), n));
	close(fd);
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		fail("restore %s=%s: %s", path, s, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void restore_params(void)
{
	write_str(PARAMS "/enabled", "1");
	write_str(PARAMS "/drain_timeout_ms", "5000");
	write_str(PARAMS "/exclude", "\n");
}

/* Random module parameters: junk, known names with junk, huge values. */
static void garbage_params(struct rnd *r, char *p, size_t size)
{
	static const char * const names[] = {
		"enabled", "drain_timeout_ms", "exclude", "dyndbg", "x", "", "=",
	};
	size_t n = 0, i;

	switch (rnd_below(r, 4)) {
	case 0:
		n = rnd_below(r, 200);
		for (i = 0; i < n; i++)
			p[i] = 1 + rnd_below(r, 255);
		break;
	case 1:
		n = snprintf(p, size, "exclude=%0*d", (int)rnd_below(r, 8000), 7);
		break;
	default:
		for (i = 0; i < 1 + rnd_below(r, 4) && n + 64 < size; i++)
			n += snprintf(p + n, size - n, "%s%s=%s ", i ? " " : "",
				      names[rnd_below(r, ARRAY_SIZE(names))],
				      rnd_below(r, 2) ? "garbage\"quote" : "-1");
		break;
	}
	p[n < size ? n : size - 1] = '\0';
}

struct companion {
	const char *name;
	int fd;
	int loaded;
};

static struct companion comps[] = {
	{ .name = "drvproxy_demo_v2" }, { .name = "drvproxy_demo_v3" },
};

static void module_op(struct rnd *r)
{
	struct companion *c = &comps[rnd_below(r, ARRAY_SIZE(comps))];
	char params[9000];
	long ret;

	if (c->loaded) {
		errno = 0;
		ret = syscall(SYS_delete_module, c->name, O_NONBLOCK);
		result("rmmod", ret, errno, NULL);
		if (!ret)
			c->loaded = 0;
		return;
	}
	if (rnd_below(r, 3))
		params[0] = '\0';
	else
		garbage_params(r, params, sizeof(params));
	errno = 0;
	ret = syscall(SYS_finit_module, c->fd, params, 0);
	result("insmod", ret, errno, NULL);
	if (!ret)
		c->loaded = 1;
}

static void *control_thread(void *arg)
{
	struct rnd r = { .s = (unsigned long)arg | 1 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(comps); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s.ko", moddir, comps[i].name);
		comps[i].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (comps[i].fd < 0)
			fail("%s: %s", path, strerror(errno));
	}
	rescan();
	for (;;) {
		unsigned int k = rnd_below(&r, 100);
		int f;

		if (k < 2) {
			if (!count(S_MODULE))
				break;
			module_op(&r);
			rescan();
			continue;
		}
		if (k < 4) {
			rescan();
			continue;
		}
		if (!nfiles) {
			if (!count(S_SYSFS))
				break;
			continue;
		}
		f = rnd_below(&r, nfiles);
		if (!count(strncmp(files[f], PARAMS, strlen(PARAMS)) ? S_SYSFS : S_PARAM))
			break;
		if (writable[f] && k < 30)
			file_write(&r, files[f], strncmp(files[f], PARAMS, strlen(PARAMS)) ?
				   S_SYSFS : S_PARAM);
		else
			sysfs_read(&r, files[f]);
		if (k == 99)
			restore_params();
	}
	restore_params();
	for (i = 0; i < ARRAY_SIZE(comps); i++) {
		int tries;

		/* A layer reverted from sysfs keeps its module pinned a while. */
		for (tries = 0; comps[i].loaded && tries < 500; tries++) {
			if (!syscall(SYS_delete_module, comps[i].name, O_NONBLOCK))
				comps[i].loaded = 0;
			else
				usleep(10000);
		}
		if (comps[i].loaded)
			fail("%s does not unload: %s", comps[i].name, strerror(errno));
		close(comps[i].fd);
	}
	return NULL;
}

static void report(double t0)
{
	int e, s;

	printf("# dpxfuzz: %llu operations in %.1f s:", total_ops, now() - t0);
	for (s = 0; s < S_MAX; s++)
		printf(" %s %llu", surface_names[s], ops[s]);
	printf("\n# errno:");
	for (e = 1; e < MAX_ERRNO; e++)
		if (errs[e])
			printf(" %s=%llu", strerrorname_np(e) ?: "?", errs[e]);
	printf("\n# dpxfuzz: %d failures\n", failures);
}

static int cmd_run(struct rnd *r)
{
	pthread_t dev, ctl;
	double t0 = now();
	struct sigaction sa = { .sa_handler = alarm_handler };
	sigset_t set;

	sigaction(SIGALRM, &sa, NULL);		/* no SA_RESTART: EINTR */
	/*
	 * The timer's SIGALRM goes to any thread that does not block it: only
	 * the device thread, whose blocking calls it must interrupt, unblocks it.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGIO, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&dev, NULL, device_thread, (void *)(unsigned long)rnd64(r));
	pthread_create(&ctl, NULL, control_thread, (void *)(unsigned long)rnd64(r));
	pthread_join(dev, NULL);
	pthread_join(ctl, NULL);
	report(t0);
	return failures ? 1 : 0;
}

static int cmd_params(struct rnd *r)
{
	char path[512], params[9000];
	double t0 = now();
	int fd;

	snprintf(path, sizeof(path), "%s/%s.ko", moddir, module);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("%s: %s", path, strerror(errno));
		return 1;
	}
	while (count(S_MODULE)) {
		long ret;

		garbage_params(r, params, sizeof(params));
		errno = 0;
		ret = syscall(SYS_finit_module, fd, params, 0);
		result("insmod", ret, errno, NULL);
		if (ret)
			continue;
		if (syscall(SYS_delete_module, module, O_NONBLOCK))
			fail("%s loaded with \"%s\" does not unload: %s", module, params,
			     strerror(errno));
	}
	close(fd);
	report(t0);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct rnd r = { .s = (__u64)time(NULL) };
	double seconds = 1e9;
	int opt;

	if (argc < 2)
		goto usage;
	optind = 2;
	while ((opt = getopt(argc, argv, "n:t:S:m:k:")) != -1) {
		if (opt == 'n')
			max_ops = strtoull(optarg, NULL, 0);
		else if (opt == 't')
			seconds = strtod(optarg, NULL);
		else if (opt == 'S')
			r.s = strtoull(optarg, NULL, 0);
		else if (opt == 'm')
			moddir = optarg;
		else if (opt == 'k')
			module = optarg;
		else
			goto usage;
	}
	printf("# dpxfuzz %s: seed %llu\n", argv[1], (unsigned long long)r.s);
	r.s |= 1;
	deadline = now() + seconds;
	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED)
		return 2;
	if (!strcmp(argv[1], "run"))
		return cmd_run(&r);
	if (!strcmp(argv[1], "params"))
		return cmd_params(&r);
usage:
	fprintf(stderr, "usage: dpxfuzz run|params [-n OPS] [-t SECONDS] [-S SEED] [-m MODDIR]\n"
		"                          [-k MODULE]\n");
	return 2;
}
