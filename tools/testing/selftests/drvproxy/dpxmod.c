// SPDX-License-Identifier: GPL-2.0
/*
 * dpxmod.c - module loading helpers of drvproxy's reliability selftests
 *
 * Built static (busybox guest).  Subcommands:
 *
 *   insmod [-f N] FILE [PARAMS]
 *   rmmod [-f N] NAME
 *	finit_module() / delete_module(O_NONBLOCK) once, with the calling
 *	thread's fail-nth counter (/proc/thread-self/fail-nth) set to N first:
 *	the Nth fault-injection site this thread passes fails.  Prints one line
 *	"result=OK|<errno name> injected=0|1": injected=1 when the counter
 *	reached zero, i.e. a failure was really injected.  Exit status 0 when
 *	the call succeeded.
 *
 *   churn [-n OPS] [-t SECONDS] [-S SEED] FILE...
 *	Load and unload the given modules in random order: each step picks
 *	one, unloads it when loaded, loads it otherwise; every call must
 *	succeed.  Stops after OPS steps or SECONDS, unloads what is left and
 *	prints "churn: ops=... loads=... unloads=... failures=... max_ms=...".
 *	Exit status 0 when nothing failed.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_MODS	8

static const char *err_name(int err)
{
	return strerrorname_np(err) ?: strerror(err);
}

/* Set this thread's fail-nth counter; -1 when fault injection is missing. */
static int set_fail_nth(unsigned int n)
{
	char buf[32];
	int fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC), len;

	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%u", n);
	if (write(fd, buf, len) != len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the counter set on @fd reached zero, i.e. a fault was injected. */
static int fail_injected(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	/* Disarm it, whatever happened. */
	if (pwrite(fd, "0", 1, 0) < 0)
		return -1;
	close(fd);
	return n > 0 && strtoul(buf, NULL, 10) == 0;
}

static int load(int fd, const char *params)
{
	return syscall(SYS_finit_module, fd, params, 0) ? errno : 0;
}

static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? errno : 0;
}

/* insmod/rmmod with an optional fail-nth; see the top of the file. */
static int cmd_one(int argc, char **argv, int is_insmod)
{
	unsigned int nth = 0;
	int fd = -1, ffd = -1, err, injected = 0, opt;

	optind = 2;
	while ((opt = getopt(argc, argv, "f:")) != -1) {
		if (opt != 'f')
			return 2;
		nth = strtoul(optarg, NULL, 0);
	}
	if (optind >= argc)
		return 2;
	if (is_insmod) {
		fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "dpxmod: %s: %s\n", argv[optind], strerror(errno));
			return 2;
		}
	}
	if (nth) {
		ffd = set_fail_nth(nth);
		if (ffd < 0) {
			printf("result=NOFAULTINJECTION injected=0\n");
			return 4;
		}
	}
	/* Nothing between arming the counter and the call. */
	if (is_insmod)
		err = load(fd, optind + 1 < argc ? argv[optind + 1] : "");
	else
		err = unload(argv[optind]);
	if (nth)
		injected = fail_injected(ffd);
	printf("result=%s injected=%d\n", err ? err_name(err) : "OK", injected);
	return err ? 1 : 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct mod {
	const char *file;
	char name[64];
	int fd;
	int loaded;
};

static int cmd_churn(int argc, char **argv)
{
	unsigned long ops = 1000, seconds = 60, done = 0, loads = 0, unloads = 0, failures = 0;
	unsigned int seed = time(NULL), n = 0, i;
	struct mod mods[MAX_MODS];
	double t0 = now_ms(), max_ms = 0;
	int opt;

	optind = 2;
	while ((opt = getopt(argc, argv, "n:t:S:")) != -1) {
		if (opt == 'n')
			ops = strtoul(optarg, NULL, 0);
		else if (opt == 't')
			seconds = strtoul(optarg, NULL, 0);
		else if (opt == 'S')
			seed = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	for (; optind < argc && n < MAX_MODS; optind++, n++) {
		struct mod *m = &mods[n];
		const char *base = strrchr(argv[optind], '/');
		char *dot, path[128];
		struct stat st;

		m->file = argv[optind];
		snprintf(m->name, sizeof(m->name), "%s", base ? base + 1 : m->file);
		dot = strstr(m->name, ".ko");
		if (dot)
			*dot = '\0';
		m->fd = open(m->file, O_RDONLY | O_CLOEXEC);
		if (m->fd < 0) {
			fprintf(stderr, "dpxmod: %s: %s\n", m->file, strerror(errno));
			return 2;
		}
		snprintf(path, sizeof(path), "/sys/module/%s", m->name);
		m->loaded = !stat(path, &st);
	}
	if (!n)
		return 2;
	srand(seed);
	printf("churn: seed=%u modules=%u\n", seed, n);
	while (done < ops && now_ms() - t0 < seconds * 1e3) {
		struct mod *m = &mods[rand() % n];
		double t = now_ms();
		int err;

		if (m->loaded)
			err = unload(m->name);
		else
			err = load(m->fd, "");
		t = now_ms() - t;
		if (t > max_ms)
			max_ms = t;
		if (err) {
			failures++;
			if (failures <= 10)
				printf("churn: %s %s: %s\n", m->loaded ? "rmmod" : "insmod",
				       m->name, err_name(err));
		} else if (m->loaded) {
			unloads++;
			m->loaded = 0;
		} else {
			loads++;
			m->loaded = 1;
		}
		done++;
	}
	for (i = 0; i < n; i++) {
		if (mods[i].loaded && unload(mods[i].name)) {
			failures++;
			printf("churn: final rmmod %s: %s\n", mods[i].name, err_name(errno));
		}
		close(mods[i].fd);
	}
	printf("churn: ops=%lu loads=%lu unloads=%lu failures=%lu seconds=%.1f max_ms=%.1f\n",
	       done, loads, unloads, failures, (now_ms() - t0) / 1e3, max_ms);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "insmod"))
		return cmd_one(argc, argv, 1);
	if (argc >= 2 && !strcmp(argv[1], "rmmod"))
		return cmd_one(argc, argv, 0);
	if (argc >= 2 && !strcmp(argv[1], "churn"))
		return cmd_churn(argc, argv);
	fprintf(stderr, "usage: dpxmod insmod [-f N] FILE [PARAMS] | rmmod [-f N] NAME |\n"
		"       churn [-n OPS] [-t SECONDS] [-S SEED] FILE...\n");
	return 2;
}
