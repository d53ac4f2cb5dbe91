// SPDX-License-Identifier: GPL-2.0
/*
 * dpxtool.c - the selftests' helper for /dev/drvproxy_demo
 *
 * Built static (busybox guest, no libc surprises).  Subcommands:
 *
 *   insmod FILE [PARAMS]   finit_module() once; prints the errno name on
 *                          failure and exits 1 (busybox insmod retries a
 *                          failing init through init_module(), which would
 *                          run the module's init twice)
 *   rmmod NAME             delete_module(O_NONBLOCK) once; prints the errno
 *                          name on failure and exits 1
 *   info [FIELD]           GET_INFO: all fields as "name value" lines, or one
 *   xform N                SET_TRANSFORM N
 *   reset                  RESET
 *   heartbeat MS           HEARTBEAT MS (0 stops it)
 *   maphold                map one page of the device, close the descriptor,
 *                          print "mapped" and keep the mapping until killed
 *   readn N [-t SEC]       read until N bytes arrived (blocking), print them
 *   poll                   poll() once without waiting for IN, OUT and PRI;
 *                          prints the ready ones, e.g. "IN OUT PRI"
 *   stream -w W -r R -s SEC [-b BYTES]
 *                          W writers and R readers move a tagged byte stream
 *                          through the FIFO for SEC seconds, then drain it and
 *                          verify: every byte written was read exactly once,
 *                          each writer's bytes in order when R == 1; any
 *                          unexpected errno fails.  SIGUSR1 ends it early.
 *                          Prints a summary line.
 *   ui                     the device's user interface under bad input (KTAP)
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "uapi/drvproxy_demo.h"

#define DEV		"/dev/drvproxy_demo"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_WRITERS	8
#define MAX_READERS	8

static int open_dev(int flags)
{
	int fd = open(DEV, flags);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", DEV, strerror(errno));
		exit(1);
	}
	return fd;
}

static int cmd_insmod(int argc, char **argv)
{
	const char *params = argc > 3 ? argv[3] : "";
	int fd;

	if (argc < 3)
		return 2;
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "insmod: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (syscall(SYS_finit_module, fd, params, 0)) {
		int err = errno;

		printf("insmod: %s: %s\n", strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 :
		       argv[2], strerrorname_np(err) ?: strerror(err));
		return 1;
	}
	return 0;
}

static int cmd_rmmod(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	if (syscall(SYS_delete_module, argv[2], O_NONBLOCK)) {
		int err = errno;

		printf("rmmod: %s: %s\n", argv[2], strerrorname_np(err) ?: strerror(err));
		return 1;
	}
	return 0;
}

static int get_info(int fd, struct drvproxy_demo_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, DRVPROXY_DEMO_GET_INFO, info);
}

static int cmd_info(int argc, char **argv)
{
	struct drvproxy_demo_info in;
	int fd = open_dev(O_RDONLY | O_NONBLOCK);
	struct { const char *name; unsigned long long v; } f[] = {
		{ "impl_version", 0 }, { "bytes_in", 0 }, { "bytes_out", 0 },
		{ "opens", 0 }, { "fill", 0 }, { "worker_ticks", 0 },
		{ "worker_version", 0 }, { "transform", 0 }, { "reads_v1", 0 },
		{ "reads_v2", 0 }, { "peak_fill", 0 },
	};
	unsigned int i;

	if (get_info(fd, &in)) {
		fprintf(stderr, "GET_INFO: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	f[0].v = in.impl_version;
	f[1].v = in.bytes_in;
	f[2].v = in.bytes_out;
	f[3].v = in.opens - 1;	/* not counting our own open */
	f[4].v = in.fill;
	f[5].v = in.worker_ticks;
	f[6].v = in.worker_version;
	f[7].v = in.transform;
	f[8].v = in.reads_v1;
	f[9].v = in.reads_v2;
	f[10].v = in.peak_fill;
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		if (argc > 2 && strcmp(argv[2], f[i].name))
			continue;
		if (argc > 2)
			printf("%llu\n", f[i].v);
		else
			printf("%s %llu\n", f[i].name, f[i].v);
	}
	return 0;
}

static int cmd_ioctl(int argc, char **argv)
{
	int fd = open_dev(O_RDONLY | O_NONBLOCK);
	int ret;

	if (!strcmp(argv[1], "reset")) {
		ret = ioctl(fd, DRVPROXY_DEMO_RESET, 0);
	} else if (!strcmp(argv[1], "heartbeat")) {
		uint32_t ms = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;

		ret = ioctl(fd, DRVPROXY_DEMO_HEARTBEAT, &ms);
	} else {
		uint32_t x = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;

		ret = ioctl(fd, DRVPROXY_DEMO_SET_TRANSFORM, &x);
	}
	if (ret) {
		printf("%s: %s\n", argv[1], strerrorname_np(errno) ?: strerror(errno));
		return 1;
	}
	return 0;
}

static int cmd_readn(int argc, char **argv)
{
	size_t want = argc > 2 ? strtoul(argv[2], NULL, 0) : 1, got = 0;
	char *buf = calloc(1, want + 1);
	int fd = open_dev(O_RDONLY);

	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);

		if (n < 0) {
			printf("read: %s\n", strerrorname_np(errno) ?: strerror(errno));
			return 1;
		}
		if (n == 0) {
			printf("read: unexpected end of file\n");
			return 1;
		}
		got += n;
	}
	fwrite(buf, 1, got, stdout);
	putchar('\n');
	return 0;
}

static int cmd_maphold(void)
{
	int fd = open_dev(O_RDWR);
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		printf("mmap: %s\n", strerrorname_np(errno) ?: strerror(errno));
		return 1;
	}
	/* The mapping alone keeps the file open now. */
	close(fd);
	printf("mapped\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_poll(void)
{
	struct pollfd p = { .events = POLLIN | POLLOUT | POLLPRI };
	static const struct { short bit; const char *name; } names[] = {
		{ POLLIN, "IN" }, { POLLOUT, "OUT" }, { POLLPRI, "PRI" },
		{ POLLERR, "ERR" }, { POLLHUP, "HUP" },
	};
	const char *sep = "";
	unsigned int i;

	p.fd = open_dev(O_RDONLY | O_NONBLOCK);
	if (poll(&p, 1, 0) < 0) {
		printf("poll: %s\n", strerrorname_np(errno) ?: strerror(errno));
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (p.revents & names[i].bit) {
			printf("%s%s", sep, names[i].name);
			sep = " ";
		}
	}
	putchar('\n');
	return 0;
}

/* ---- stream ---- */

struct stream {
	int writers, readers;
	int stop;		/* set by the main thread, read with __atomic */
	unsigned long long written[MAX_WRITERS];
	unsigned long long read[MAX_READERS][MAX_WRITERS];
	unsigned long long sum[MAX_READERS][MAX_WRITERS];
	unsigned long long order_errors;
	unsigned long long errors;
	unsigned long long short_writes;
	size_t chunk;
};

static struct stream *the_stream;

static void stream_stop(int sig)
{
	(void)sig;
	__atomic_store_n(&the_stream->stop, 1, __ATOMIC_RELAXED);
}

struct worker {
	struct stream *s;
	int id;
	pthread_t tid;
};

static void bad_errno(struct stream *s, const char *what)
{
	__sync_fetch_and_add(&s->errors, 1);
	fprintf(stderr, "stream: %s: %s\n", what, strerror(errno));
}

/* Writer w's byte number i: its id in the top 3 bits, i mod 32 below. */
static unsigned char tag(int w, unsigned long long i)
{
	return (unsigned char)((w << 5) | (i & 31));
}

static void *writer(void *arg)
{
	struct worker *wk = arg;
	struct stream *s = wk->s;
	int fd = open_dev(O_WRONLY);
	unsigned char buf[512];
	unsigned long long seq = 0;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		size_t n = 1 + (seq * 7 + wk->id) % s->chunk, i;
		ssize_t done;

		for (i = 0; i < n; i++)
			buf[i] = tag(wk->id, seq + i);
		done = write(fd, buf, n);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			bad_errno(s, "write");
			break;
		}
		if ((size_t)done < n)
			s->short_writes++;
		seq += done;
	}
	s->written[wk->id] = seq;
	close(fd);
	return NULL;
}

static void *reader(void *arg)
{
	struct worker *wk = arg;
	struct stream *s = wk->s;
	int fd = open_dev(O_RDONLY | O_NONBLOCK);
	unsigned long long *got = s->read[wk->id];
	unsigned long long *sum = s->sum[wk->id];
	unsigned char buf[512];
	int idle = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n, i;

		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			/* Writers done and FIFO empty for a while: finished. */
			if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED) && ++idle > 20)
				break;
			poll(&p, 1, 10);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			bad_errno(s, "read");
			break;
		}
		idle = 0;
		for (i = 0; i < n; i++) {
			int w = buf[i] >> 5;

			if (w >= s->writers) {
				s->order_errors++;
				continue;
			}
			if (s->readers == 1 && (buf[i] & 31) != (got[w] & 31))
				s->order_errors++;
			sum[w] += buf[i] & 31;
			got[w]++;
		}
	}
	close(fd);
	return NULL;
}

/* Sum of (i mod 32) for i < n. */
static unsigned long long tag_sum(unsigned long long n)
{
	return (n / 32) * (31 * 32 / 2) + (n % 32) * (n % 32 - 1) / 2;
}

static int cmd_stream(int argc, char **argv)
{
	struct worker wk[MAX_WRITERS + MAX_READERS];
	struct stream *s = calloc(1, sizeof(*s));
	unsigned long long total_w = 0, total_r = 0;
	int secs = 5, opt, i, j, ok = 1;

	the_stream = s;
	signal(SIGUSR1, stream_stop);
	s->writers = 2;
	s->readers = 2;
	s->chunk = 64;
	optind = 2;
	while ((opt = getopt(argc, argv, "w:r:s:b:")) != -1) {
		if (opt == 'w')
			s->writers = atoi(optarg);
		else if (opt == 'r')
			s->readers = atoi(optarg);
		else if (opt == 's')
			secs = atoi(optarg);
		else if (opt == 'b')
			s->chunk = strtoul(optarg, NULL, 0);
	}
	if (s->writers < 1 || s->writers > MAX_WRITERS || s->readers < 1 ||
	    s->readers > MAX_READERS || !s->chunk || s->chunk > 512)
		return 2;
	for (i = 0; i < s->readers; i++) {
		wk[i] = (struct worker){ .s = s, .id = i };
		pthread_create(&wk[i].tid, NULL, reader, &wk[i]);
	}
	for (j = 0; j < s->writers; j++) {
		wk[s->readers + j] = (struct worker){ .s = s, .id = j };
		pthread_create(&wk[s->readers + j].tid, NULL, writer, &wk[s->readers + j]);
	}
	while (secs-- > 0 && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		sleep(1);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	for (j = 0; j < s->writers; j++)
		pthread_join(wk[s->readers + j].tid, NULL);
	for (i = 0; i < s->readers; i++)
		pthread_join(wk[i].tid, NULL);

	for (j = 0; j < s->writers; j++) {
		unsigned long long got = 0, sum = 0;

		for (i = 0; i < s->readers; i++) {
			got += s->read[i][j];
			sum += s->sum[i][j];
		}
		total_w += s->written[j];
		total_r += got;
		if (got != s->written[j] || sum != tag_sum(s->written[j])) {
			ok = 0;
			printf("# writer %d: wrote %llu, read %llu (checksum %llu, want %llu)\n",
			       j, s->written[j], got, sum, tag_sum(s->written[j]));
		}
	}
	if (s->order_errors || s->errors)
		ok = 0;
	printf("stream: writers=%d readers=%d written=%llu read=%llu ",
	       s->writers, s->readers, total_w, total_r);
	printf("order_errors=%llu errors=%llu short_writes=%llu %s\n",
	       s->order_errors, s->errors, s->short_writes, ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}

/* ---- ui: KTAP ---- */

/* The plan: every ui_result() cmd_ui() reports, counted by hand. */
#define UI_PLAN	24

static int ui_n, ui_failed;
/* A bad pointer the compiler cannot see through. */
static __attribute__((noipa)) void *bad_ptr(void)
{
	return NULL;
}

static void ui_result(int ok, const char *desc)
{
	ui_n++;
	if (!ok)
		ui_failed++;
	printf("%sok %d %s\n", ok ? "" : "not ", ui_n, desc);
}

/* The call must fail with errno @want. */
static void expect_err(long ret, int err, int want, const char *desc)
{
	if (!(ret == -1 && err == want))
		printf("# %s: got %ld errno %d, want -1 errno %d\n", desc, ret,
		       ret == -1 ? err : 0, want);
	ui_result(ret == -1 && err == want, desc);
}

/* The call must return @want. */
static void expect_eq(long ret, int err, long want, const char *desc)
{
	if (ret != want)
		printf("# %s: got %ld (errno %d), want %ld\n", desc, ret, err, want);
	ui_result(ret == want, desc);
}

/* errno is read after the call: the arguments are evaluated in order. */
#define EXPECT_ERR(call, e, desc)					\
	do {								\
		long __r = (call);					\
		expect_err(__r, errno, e, desc);			\
	} while (0)
#define EXPECT_EQ(call, v, desc)					\
	do {								\
		long __r = (call);					\
		expect_eq(__r, errno, v, desc);				\
	} while (0)

/* Bytes in the FIFO now (GET_INFO), -1 if GET_INFO fails. */
static long fifo_fill(int fd)
{
	struct drvproxy_demo_info info;

	return get_info(fd, &info) ? -1 : (long)info.fill;
}

/*
 * 300 writable bytes followed by an inaccessible page, so that a read of
 * more than 300 bytes faults part-way.
 */
static char *faulting_tail(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + pg, pg, PROT_NONE)) {
		perror("mmap");
		exit(1);
	}
	return p + pg - 300;
}

static int cmd_ui(void)
{
	int fd = open_dev(O_RDWR | O_NONBLOCK);
	struct drvproxy_demo_info info;
	static char big[1 << 20], back[1 << 20];
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	char *tail = faulting_tail();
	long got, kept, i;
	uint32_t x;
	int version;

	printf("TAP version 13\n1..%d\n", UI_PLAN);
	ioctl(fd, DRVPROXY_DEMO_RESET, 0);
	EXPECT_EQ(get_info(fd, &info), 0, "GET_INFO succeeds");
	version = info.impl_version;
	printf("# implementation version %d\n", version);
	EXPECT_ERR(ioctl(fd, _IO(0x42, 7), 0), ENOTTY, "unknown ioctl is ENOTTY");
	EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_GET_INFO, NULL), EFAULT, "GET_INFO with NULL is EFAULT");
	EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_GET_INFO, (void *)16), EFAULT,
		   "GET_INFO with a bad pointer is EFAULT");
	info.size = 4;
	EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_GET_INFO, &info), EINVAL,
		   "GET_INFO with a too small size is EINVAL");
	info.size = 100000;
	EXPECT_EQ(ioctl(fd, DRVPROXY_DEMO_GET_INFO, &info), 0,
		  "GET_INFO with a larger size is accepted");
	EXPECT_EQ(info.size, sizeof(info), "GET_INFO reports the size it filled");
	EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_RESET, 1), EINVAL, "RESET with an argument is EINVAL");
	x = DRVPROXY_DEMO_XFORM_MAX;
	if (version == 1) {
		EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_SET_TRANSFORM, &x), ENOTTY,
			   "SET_TRANSFORM is ENOTTY in version 1");
		EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_SET_TRANSFORM, NULL), ENOTTY,
			   "SET_TRANSFORM NULL is ENOTTY in version 1");
	} else {
		EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_SET_TRANSFORM, &x), EINVAL,
			   "SET_TRANSFORM out of range is EINVAL");
		EXPECT_ERR(ioctl(fd, DRVPROXY_DEMO_SET_TRANSFORM, NULL), EFAULT,
			   "SET_TRANSFORM NULL is EFAULT");
	}
	/* Reads below compare bytes: no transform (version 1 has none). */
	x = DRVPROXY_DEMO_XFORM_NONE;
	if (version != 1 && ioctl(fd, DRVPROXY_DEMO_SET_TRANSFORM, &x))
		printf("# SET_TRANSFORM NONE: %s\n", strerror(errno));
	EXPECT_ERR(read(fd, big, 10), EAGAIN, "read of an empty FIFO with O_NONBLOCK is EAGAIN");
	EXPECT_EQ(read(fd, big, 0), 0, "zero-length read returns 0");
	EXPECT_EQ(write(fd, big, 0), 0, "zero-length write returns 0");
	EXPECT_ERR(write(fd, bad_ptr(), 10), EFAULT, "write from NULL is EFAULT");
	EXPECT_EQ(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, 1,
		  "poll of an empty FIFO: writable only");
	for (i = 0; i < (long)sizeof(big); i++)
		big[i] = 'a' + i % 26;
	EXPECT_EQ(write(fd, big, sizeof(big)), DRVPROXY_DEMO_FIFO_SIZE,
		  "huge write is partial: the FIFO size");
	EXPECT_ERR(write(fd, big, 1), EAGAIN, "write to a full FIFO with O_NONBLOCK is EAGAIN");
	p.revents = 0;
	EXPECT_EQ(poll(&p, 1, 0) == 1 && p.revents == POLLIN, 1,
		  "poll of a full FIFO: readable only");
	/*
	 * A read whose copy to user memory fails takes nothing out of the
	 * FIFO (pipe_read() does the same): EFAULT when nothing was copied,
	 * else the bytes copied, and every byte not returned stays readable.
	 */
	EXPECT_ERR(read(fd, bad_ptr(), 10), EFAULT, "read into NULL is EFAULT");
	EXPECT_EQ(fifo_fill(fd), DRVPROXY_DEMO_FIFO_SIZE,
		  "a read that failed with EFAULT consumed nothing");
	got = read(fd, tail, 600);
	kept = DRVPROXY_DEMO_FIFO_SIZE - (got > 0 ? got : 0);
	printf("# read of 600 bytes into 300 writable ones returned %ld\n", got);
	EXPECT_EQ(got <= 300 && fifo_fill(fd) == kept && (got <= 0 || !memcmp(tail, big, got)), 1,
		  "a read faulting part-way consumed exactly the bytes it returned");
	EXPECT_EQ(read(fd, back, sizeof(back)), kept, "huge read returns what is there");
	EXPECT_EQ(!memcmp(back, big + DRVPROXY_DEMO_FIFO_SIZE - kept, kept), 1,
		  "every byte written was read once, in order, faults or not");
	EXPECT_ERR(lseek(fd, 0, SEEK_SET), ESPIPE, "lseek is ESPIPE");
	close(fd);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       ui_n - ui_failed, ui_failed);
	if (ui_n != UI_PLAN) {
		printf("# plan 1..%d, but %d results\n", UI_PLAN, ui_n);
		return 1;
	}
	return ui_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "insmod"))
		return cmd_insmod(argc, argv);
	if (!strcmp(argv[1], "rmmod"))
		return cmd_rmmod(argc, argv);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc, argv);
	if (!strcmp(argv[1], "xform") || !strcmp(argv[1], "reset") ||
	    !strcmp(argv[1], "heartbeat"))
		return cmd_ioctl(argc, argv);
	if (!strcmp(argv[1], "poll"))
		return cmd_poll();
	if (!strcmp(argv[1], "maphold"))
		return cmd_maphold();
	if (!strcmp(argv[1], "readn"))
		return cmd_readn(argc, argv);
	if (!strcmp(argv[1], "stream"))
		return cmd_stream(argc, argv);
	if (!strcmp(argv[1], "ui"))
		return cmd_ui();
usage:
	fprintf(stderr,
		"usage: dpxtool insmod|info|xform|reset|heartbeat|readn|poll|maphold|stream|ui ...\n");
	return 2;
}
