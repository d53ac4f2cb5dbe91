// SPDX-License-Identifier: GPL-2.0
/*
 * tunload.c - traffic through /dev/net/tun that notices a lost or changed
 * byte, for test-driver-tun.sh.
 *
 * Usage: tunload IFNAME SECONDS [STOPFILE]
 *
 * Creates the tun interface IFNAME (IFF_TUN | IFF_NO_PI), gives it
 * 10.199.0.1/24 and brings it up, then for SECONDS (or until STOPFILE
 * exists) writes ICMP echo requests from 10.199.0.2 to 10.199.0.1 into the
 * file -- the kernel answers each one back through the interface -- and
 * reads the replies.  Every request has its own sequence number and a
 * payload of its own length and bytes; a reply must carry the same.  Frames
 * the stack sends on its own (IPv6, other ICMP) are counted and skipped.
 * Reads are non-blocking after poll(), so no call sleeps inside the driver.
 *
 * Prints "tunload: IFNAME up" once the interface is up, at the end
 * "tunload: sent S received R lost L corrupt C other O", and exits 0
 * when every request got its reply, intact, and at least one was sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_ADDR	"10.199.0.1"
#define PEER_ADDR	"10.199.0.2"
#define MAX_PAYLOAD	1400
#define REPLY_WAIT_MS	2000

static __u16 csum(const void *data, size_t len)
{
	const __u8 *p = data;
	__u32 sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (__u32)p[0] << 8 | p[1];
	if (len)
		sum += (__u32)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

static int tun_open(char *ifname)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		perror("tunload: open /dev/net/tun");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("tunload: TUNSETIFF");
		close(fd);
		return -1;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	return fd;
}

static int if_configure(const char *ifname)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int s, ret = -1;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, LOCAL_ADDR, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
		perror("tunload: SIOCSIFADDR");
		goto out;
	}
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
		perror("tunload: SIOCSIFNETMASK");
		goto out;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		perror("tunload: SIOCGIFFLAGS");
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		perror("tunload: SIOCSIFFLAGS");
		goto out;
	}
	ret = 0;
out:
	close(s);
	return ret;
}

/* The payload of request @seq: its length and every byte follow from @seq. */
static size_t payload_fill(__u8 *p, __u16 seq)
{
	size_t len = 8 + (seq * 37u) % (MAX_PAYLOAD - 8);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (__u8)(seq * 131u + i * 7u);
	return len;
}

static size_t request_build(__u8 *buf, __u16 id, __u16 seq)
{
	struct iphdr *ip = (struct iphdr *)buf;
	struct icmphdr *icmp = (struct icmphdr *)(ip + 1);
	size_t plen = payload_fill((__u8 *)(icmp + 1), seq);
	size_t len = sizeof(*ip) + sizeof(*icmp) + plen;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(len);
	ip->id = htons(seq);
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	inet_pton(AF_INET, PEER_ADDR, &ip->saddr);
	inet_pton(AF_INET, LOCAL_ADDR, &ip->daddr);
	ip->check = csum(ip, sizeof(*ip));
	memset(icmp, 0, sizeof(*icmp));
	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(id);
	icmp->un.echo.sequence = htons(seq);
	icmp->checksum = csum(icmp, sizeof(*icmp) + plen);
	return len;
}

enum reply_kind { REPLY_OK, REPLY_OTHER, REPLY_CORRUPT };

/* Is @buf (@len bytes) the intact reply to request @seq of @id? */
static enum reply_kind reply_check(const __u8 *buf, ssize_t len, __u16 id,
				   __u16 seq)
{
	const struct iphdr *ip = (const struct iphdr *)buf;
	const struct icmphdr *icmp;
	__u8 want[MAX_PAYLOAD];
	size_t plen, hl;

	if (len < (ssize_t)sizeof(*ip) || ip->version != 4 || ip->protocol != IPPROTO_ICMP)
		return REPLY_OTHER;
	hl = ip->ihl * 4;
	if (len < (ssize_t)(hl + sizeof(*icmp)))
		return REPLY_CORRUPT;
	icmp = (const struct icmphdr *)(buf + hl);
	if (icmp->type != ICMP_ECHOREPLY || ntohs(icmp->un.echo.id) != id)
		return REPLY_OTHER;
	plen = payload_fill(want, seq);
	if (ntohs(icmp->un.echo.sequence) != seq ||
	    (size_t)len != hl + sizeof(*icmp) + plen ||
	    memcmp(icmp + 1, want, plen))
		return REPLY_CORRUPT;
	return REPLY_OK;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	unsigned long sent = 0, received = 0, lost = 0, corrupt = 0, other = 0;
	__u8 req[sizeof(struct iphdr) + sizeof(struct icmphdr) + MAX_PAYLOAD];
	__u8 rbuf[4096];
	char ifname[IFNAMSIZ] = "";
	const char *stopfile;
	__u16 id, seq = 0;
	long end;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: tunload IFNAME SECONDS [STOPFILE]\n");
		return 2;
	}
	snprintf(ifname, IFNAMSIZ, "%s", argv[1]);
	end = now_ms() + atol(argv[2]) * 1000L;
	stopfile = argc > 3 ? argv[3] : NULL;
	id = (__u16)getpid();

	fd = tun_open(ifname);
	if (fd < 0 || if_configure(ifname))
		return 1;
	printf("tunload: %s up\n", ifname);
	fflush(stdout);

	while (now_ms() < end && !(stopfile && access(stopfile, F_OK) == 0)) {
		size_t len = request_build(req, id, ++seq);
		long deadline;
		int done = 0;

		if (write(fd, req, len) != (ssize_t)len) {
			perror("tunload: write");
			lost++;
			continue;
		}
		sent++;
		deadline = now_ms() + REPLY_WAIT_MS;
		while (!done) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			long left = deadline - now_ms();
			ssize_t n;

			if (left <= 0 || poll(&pfd, 1, left) <= 0) {
				fprintf(stderr, "tunload: no reply to request %u\n", seq);
				lost++;
				break;
			}
			n = read(fd, rbuf, sizeof(rbuf));
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				perror("tunload: read");
				lost++;
				break;
			}
			switch (reply_check(rbuf, n, id, seq)) {
			case REPLY_OK:
				received++;
				done = 1;
				break;
			case REPLY_OTHER:
				other++;
				break;
			case REPLY_CORRUPT:
				fprintf(stderr, "tunload: reply to request %u differs\n", seq);
				corrupt++;
				done = 1;
				break;
			}
		}
	}
	printf("tunload: sent %lu received %lu lost %lu corrupt %lu other %lu\n",
	       sent, received, lost, corrupt, other);
	close(fd);
	return sent > 0 && received == sent && !lost && !corrupt ? 0 : 1;
}
