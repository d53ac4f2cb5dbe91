// SPDX-License-Identifier: GPL-2.0
/*
 * evread.c - read the events of an input device by its name, for
 * test-driver-uhid.sh.
 *
 * Usage: evread NAME SECONDS COUNTFILE [--led]
 *
 * Waits (at most SECONDS) for an input device named NAME, opens its
 * /dev/input/eventN and prints "evread: ready"; ends early when the device
 * goes away. With --led it then writes
 * LED_NUML on, which the input core sends to the device's driver as an
 * output report.  Until SECONDS have passed (or it is killed) it prints
 * every event except EV_SYN reports as "type code value", as soon as read,
 * keeps their number in COUNTFILE, and reports a dropped-events marker (the
 * reader fell behind and events were lost) as "evread: dropped".  Exits 0
 * when no event was dropped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* The event node of the input device called @name, or -1. */
static int find_node(const char *name, char *node, size_t size)
{
	struct dirent *d;
	DIR *dir;
	int found = -1;

	dir = opendir("/sys/class/input");
	if (!dir)
		return -1;
	while (found < 0 && (d = readdir(dir))) {
		char path[300], buf[256];
		FILE *f;

		if (strncmp(d->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "/sys/class/input/%s/device/name", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = 0;
			if (!strcmp(buf, name)) {
				snprintf(node, size, "/dev/input/%s", d->d_name);
				found = 0;
			}
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

static void count_store(const char *file, unsigned long n)
{
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%lu\n", n);
	fclose(f);
	rename(tmp, file);
}

static int led_on(int fd)
{
	struct input_event ev[2];

	memset(ev, 0, sizeof(ev));
	ev[0].type = EV_LED;
	ev[0].code = LED_NUML;
	ev[0].value = 1;
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	return write(fd, ev, sizeof(ev)) == sizeof(ev) ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long events = 0, dropped = 0;
	struct input_event ev;
	char node[300];
	int fd = -1;
	long end;

	if (argc < 4) {
		fprintf(stderr, "usage: evread NAME SECONDS COUNTFILE [--led]\n");
		return 2;
	}
	end = now_ms() + atol(argv[2]) * 1000L;
	/* sysfs shows the device before devtmpfs has its node: retry both. */
	while (find_node(argv[1], node, sizeof(node)) ||
	       (fd = open(node, O_RDWR | O_NONBLOCK)) < 0) {
		if (now_ms() >= end) {
			fprintf(stderr, "evread: no input device \"%s\" to open\n", argv[1]);
			system("grep -H . /sys/class/input/*/name >&2");
			return 1;
		}
		usleep(20000);
	}
	count_store(argv[3], 0);
	printf("evread: ready %s\n", node);
	fflush(stdout);
	if (argc > 4 && !strcmp(argv[4], "--led") && led_on(fd)) {
		perror("evread: LED write");
		return 1;
	}
	while (now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (pfd.revents & (POLLERR | POLLHUP)) {
			printf("evread: the device went away\n");
			break;
		}
		while (read(fd, &ev, sizeof(ev)) == sizeof(ev)) {
			if (ev.type == EV_SYN && ev.code == SYN_DROPPED) {
				printf("evread: dropped\n");
				dropped++;
			}
			if (ev.type == EV_SYN)
				continue;
			printf("%u %u %d\n", ev.type, ev.code, ev.value);
			count_store(argv[3], ++events);
		}
		fflush(stdout);
	}
	fflush(stdout);
	return dropped ? 1 : 0;
}
