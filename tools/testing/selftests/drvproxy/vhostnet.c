// SPDX-License-Identifier: GPL-2.0
/*
 * vhostnet.c - hand a file to vhost-net as the backend of its receive
 * queue, for test-driver-tun.sh: vhost-net asks tun_get_socket() whether
 * the file is a tun file, which upstream tun answers by comparing
 * file->f_op with its own file_operations.
 *
 * Usage: vhostnet FILE
 *
 * Opens FILE (a tun file is attached to an interface first: IFF_TAP, any
 * name), sets up /dev/vhost-net with one memory region and a receive ring in
 * this process's memory, and calls VHOST_NET_SET_BACKEND with it, then
 * detaches it again.  Prints "backend: 0" or "backend: <errno name>"
 * (ENOTSOCK: vhost-net did not recognise the file) and exits 0 only when
 * the backend was accepted and detached.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RING_NUM	256
#define MEM_SIZE	0x100000	/* 1 MiB */

static int open_backend(const char *path)
{
	struct ifreq ifr;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	if (strcmp(path, "/dev/net/tun"))
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("TUNSETIFF");
		close(fd);
		return -1;
	}
	return fd;
}

/* One region mapping "guest" addresses 0.. to @mem, and ring 0 in it. */
static int vhost_setup(int vfd, char *mem)
{
	struct {
		struct vhost_memory hdr;
		struct vhost_memory_region region;
	} table = {
		.hdr.nregions = 1,
		.region = {
			.guest_phys_addr = 0,
			.memory_size = MEM_SIZE,
			.userspace_addr = (unsigned long)mem,
		},
	};
	struct vhost_vring_state num = { .index = 0, .num = RING_NUM };
	struct vhost_vring_state base = { .index = 0, .num = 0 };
	struct vhost_vring_addr addr = {
		.index = 0,
		.desc_user_addr = (unsigned long)mem,
		.avail_user_addr = (unsigned long)mem + 0x4000,
		.used_user_addr = (unsigned long)mem + 0x8000,
	};

	if (ioctl(vfd, VHOST_SET_OWNER) < 0) {
		perror("VHOST_SET_OWNER");
		return -1;
	}
	if (ioctl(vfd, VHOST_SET_MEM_TABLE, &table) < 0) {
		perror("VHOST_SET_MEM_TABLE");
		return -1;
	}
	if (ioctl(vfd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(vfd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(vfd, VHOST_SET_VRING_ADDR, &addr) < 0) {
		perror("VHOST_SET_VRING_*");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vhost_vring_file backend = { .index = 0 };
	int vfd, bfd, ret;
	char *mem;

	if (argc != 2) {
		fprintf(stderr, "usage: vhostnet FILE\n");
		return 2;
	}
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	vfd = open("/dev/vhost-net", O_RDWR);
	if (vfd < 0) {
		perror("/dev/vhost-net");
		return 1;
	}
	bfd = open_backend(argv[1]);
	if (bfd < 0 || vhost_setup(vfd, mem))
		return 1;
	backend.fd = bfd;
	ret = ioctl(vfd, VHOST_NET_SET_BACKEND, &backend);
	printf("backend: %s\n", ret ? strerrorname_np(errno) : "0");
	if (!ret) {
		backend.fd = -1;
		ret = ioctl(vfd, VHOST_NET_SET_BACKEND, &backend);
		if (ret)
			perror("VHOST_NET_SET_BACKEND -1");
	}
	close(bfd);
	close(vfd);
	return ret ? 1 : 0;
}
