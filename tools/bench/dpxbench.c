// SPDX-License-Identifier: GPL-2.0
/*
 * dpxbench.c - the user-space half of make bench (runs in the QEMU guest;
 * built with gcc -static)
 *
 *   dpxbench syscall ITERS REPS
 *	small read()/write() and ioctl(GET_INFO) loops on /dev/drvproxy_demo
 *	(through drvproxy) and /dev/drvproxy_demo_raw (the same code without
 *	it).  The demo FIFO holds 4096 bytes, so writes fill it in one batch
 *	and reads empty it in the next: nothing blocks.  Each batch is timed
 *	as a whole.  ITERS is the number of operations per kind and size.
 *
 *   dpxbench livepatch KO CYCLES
 *	CYCLES times: load the livepatch module KO (its init enables the
 *	patch) and time until /sys/kernel/livepatch/<name>/transition reads 0,
 *	then write 0 to .../enabled and time until the disable transition is
 *	over (transition reads 0 or the directory is gone), then unload it.
 *
 * Prints "DPXB ..." lines that tools/bench/bench.py parses.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <uapi/drvproxy_demo.h>

#define FIFO_SIZE	DRVPROXY_DEMO_FIFO_SIZE

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "dpxbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- syscall ---- */

struct sys_result {
	unsigned long long ns;
	unsigned long ops;
};

/*
 * ITERS writes of @size bytes and as many reads, in batches that fill the
 * FIFO and empty it again; the write and read batches are timed apart.
 * Every write to /dev/drvproxy_demo also wakes the demo's worker thread
 * (drvproxy_event_set()), which the raw build does not have: a short pause
 * after each batch lets it go back to sleep before the next batch is timed.
 */
static void rw_loop(int fd, size_t size, unsigned long iters,
		    struct sys_result *wr, struct sys_result *rd)
{
	unsigned long per_batch = FIFO_SIZE / size, done = 0, k;
	unsigned long long t0;
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	wr->ns = 0;
	rd->ns = 0;
	while (done < iters) {
		unsigned long n = iters - done < per_batch ? iters - done : per_batch;

		t0 = now_ns();
		for (k = 0; k < n; k++)
			if (write(fd, buf, size) != (ssize_t)size)
				die("write");
		wr->ns += now_ns() - t0;
		pause_us(200);
		t0 = now_ns();
		for (k = 0; k < n; k++)
			if (read(fd, buf, size) != (ssize_t)size)
				die("read");
		rd->ns += now_ns() - t0;
		pause_us(200);
		done += n;
	}
	wr->ops = done;
	rd->ops = done;
}

static void ioctl_loop(int fd, unsigned long iters, struct sys_result *r)
{
	struct drvproxy_demo_info info;
	unsigned long long t0;
	unsigned long k;

	t0 = now_ns();
	for (k = 0; k < iters; k++) {
		info.size = sizeof(info);
		if (ioctl(fd, DRVPROXY_DEMO_GET_INFO, &info))
			die("ioctl GET_INFO");
	}
	r->ns = now_ns() - t0;
	r->ops = iters;
}

static void report(const char *dev, const char *op, unsigned int rep,
		   const struct sys_result *r)
{
	printf("DPXB syscall dev=%s op=%s rep=%u iters=%lu ns=%llu\n",
	       dev, op, rep, r->ops, r->ns);
}

static void syscall_one(const char *dev, const char *path, unsigned long iters,
			unsigned int rep)
{
	struct sys_result wr, rd;
	int fd = open(path, O_RDWR | O_NONBLOCK);

	if (fd < 0)
		die(path);
	rw_loop(fd, 1, iters, &wr, &rd);
	report(dev, "write1", rep, &wr);
	report(dev, "read1", rep, &rd);
	rw_loop(fd, 64, iters, &wr, &rd);
	report(dev, "write64", rep, &wr);
	report(dev, "read64", rep, &rd);
	ioctl_loop(fd, iters, &wr);
	report(dev, "ioctl", rep, &wr);
	close(fd);
}

static int do_syscall(unsigned long iters, unsigned int reps)
{
	unsigned int rep;

	/* Warm up both, then alternate which one goes first. */
	syscall_one("raw", "/dev/drvproxy_demo_raw", iters / 16 + 1, ~0U);
	syscall_one("dpx", "/dev/drvproxy_demo", iters / 16 + 1, ~0U);
	for (rep = 0; rep < reps; rep++) {
		if (rep & 1) {
			syscall_one("dpx", "/dev/drvproxy_demo", iters, rep);
			syscall_one("raw", "/dev/drvproxy_demo_raw", iters, rep);
		} else {
			syscall_one("raw", "/dev/drvproxy_demo_raw", iters, rep);
			syscall_one("dpx", "/dev/drvproxy_demo", iters, rep);
		}
		fflush(stdout);
	}
	return 0;
}

/* ---- livepatch ---- */

/* Contents of a small sysfs file as a number; -1 when it does not exist. */
static long read_num(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		die(path);
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die(path);
	close(fd);
}

/* Poll until @path reads 0 or is gone; returns when, or 0 after 60 s. */
static unsigned long long wait_zero(const char *path, unsigned long long t0)
{
	unsigned long long t;

	for (;;) {
		t = now_ns();
		if (read_num(path) <= 0)
			return t;
		if (t - t0 > 60000000000ULL)
			return 0;
		pause_us(50);
	}
}

static int do_livepatch(const char *ko, unsigned int cycles)
{
	char name[64], transition[160], enabled[160], refcnt[160];
	unsigned long long t0, t_load, t_done;
	const char *base = strrchr(ko, '/');
	unsigned int i, tries;
	char *dot;
	int fd;

	snprintf(name, sizeof(name), "%s", base ? base + 1 : ko);
	dot = strstr(name, ".ko");
	if (dot)
		*dot = '\0';
	snprintf(transition, sizeof(transition), "/sys/kernel/livepatch/%s/transition", name);
	snprintf(enabled, sizeof(enabled), "/sys/kernel/livepatch/%s/enabled", name);
	snprintf(refcnt, sizeof(refcnt), "/sys/module/%s/refcnt", name);

	for (i = 0; i < cycles; i++) {
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(ko);
		t0 = now_ns();
		if (syscall(SYS_finit_module, fd, "", 0))
			die("finit_module");
		t_load = now_ns();
		close(fd);
		t_done = wait_zero(transition, t0);
		printf("DPXB lp op=enable i=%u insmod=%llu transition=%llu\n", i,
		       t_load - t0, t_done ? t_done - t0 : 0);

		t0 = now_ns();
		write_str(enabled, "0");
		t_load = now_ns();
		t_done = wait_zero(transition, t0);
		printf("DPXB lp op=disable i=%u write=%llu transition=%llu\n", i,
		       t_load - t0, t_done ? t_done - t0 : 0);
		fflush(stdout);

		/* The patch drops its module reference once it is freed. */
		for (tries = 0; tries < 20000; tries++) {
			if (read_num(refcnt) <= 0 &&
			    !syscall(SYS_delete_module, name, O_NONBLOCK))
				break;
			pause_us(500);
		}
		if (tries == 20000)
			die("delete_module");
	}
	return 0;
}

int main(int argc, char **argv)
{
	cpu_set_t set;

	/* One CPU: the numbers do not depend on where the scheduler puts us. */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc == 4 && !strcmp(argv[1], "syscall"))
		return do_syscall(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "livepatch"))
		return do_livepatch(argv[2], strtoul(argv[3], NULL, 0));
	fprintf(stderr, "usage: dpxbench syscall ITERS REPS | livepatch KO CYCLES\n");
	return 2;
}
