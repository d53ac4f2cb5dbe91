// SPDX-License-Identifier: GPL-2.0
/*
 * tunif - persistent tun interfaces for test-driver-tun.sh, through the
 * driver's own ioctls only (busybox ip has no tuntap).
 *
 * Usage: tunif create NAME tun|tap
 *        tunif attach NAME tun|tap
 *        tunif unpersist NAME tun|tap
 *
 * create: a new interface NAME of that type, made persistent (TUNSETIFF,
 * TUNSETPERSIST 1): it outlives this process, and tun holds a reference
 * to its own module for it.  attach: TUNSETIFF on the existing NAME with
 * that type, then TUNGETIFF, which must give NAME back; tun accepts the
 * type the interface was created with and refuses the other one with
 * EINVAL, which it tells apart by comparing the interface's net_device_ops
 * with its own tables.  unpersist: attach, then TUNSETPERSIST 0, so the
 * interface goes away with this process's file and tun drops the module
 * reference.
 *
 * Prints "<command>: 0" or "<command>: <errno name>" and exits 0 only for
 * "0".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int bad_usage(void)
{
	fprintf(stderr, "usage: tunif create|attach|unpersist NAME tun|tap\n");
	return 2;
}

/* TUNSETIFF on a new file of /dev/net/tun: the file, or -errno. */
static int tun_attach(const char *name, int type)
{
	struct ifreq ifr;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = type | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));	/* < IFNAMSIZ: main() */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto err_close;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		goto err_close;
	if (strcmp(ifr.ifr_name, name)) {
		fprintf(stderr, "tunif: TUNGETIFF gave \"%s\", not \"%s\"\n",
			ifr.ifr_name, name);
		errno = EPROTO;
		goto err_close;
	}
	return fd;

err_close:
	err = errno;
	close(fd);
	return -err;
}

int main(int argc, char **argv)
{
	int type, fd, err = 0;

	if (argc != 4 || strlen(argv[2]) >= IFNAMSIZ)
		return bad_usage();
	if (!strcmp(argv[3], "tun"))
		type = IFF_TUN;
	else if (!strcmp(argv[3], "tap"))
		type = IFF_TAP;
	else
		return bad_usage();
	if (strcmp(argv[1], "create") && strcmp(argv[1], "attach") &&
	    strcmp(argv[1], "unpersist"))
		return bad_usage();

	fd = tun_attach(argv[2], type);
	if (fd < 0) {
		err = -fd;
	} else {
		if (strcmp(argv[1], "attach") &&
		    ioctl(fd, TUNSETPERSIST, !strcmp(argv[1], "create")) < 0)
			err = errno;
		close(fd);
	}
	printf("%s: %s\n", argv[1], err ? strerrorname_np(err) ?: strerror(err) : "0");
	return err ? 1 : 0;
}
