/* bench_vpcd_echo — the least a vpcd card can do: answer every APDU
 * 9000 and every ATR request with a fixed ATR, with TCP_NODELAY and
 * TCP_QUICKACK.  `make bench` runs it under the same pcscd as `mynahil
 * serve card` to show the ceiling pcscd's round trip puts on any served
 * card on this machine.
 *
 *   bench_vpcd_echo [PORT]      (35963; runs until killed or pcscd leaves) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int get(int fd, uint8_t *b, size_t n)
{
	for (size_t off = 0; off < n;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int one = 1;
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
		r = recv(fd, b + off, n - off, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const uint8_t atr[] = { 0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12,
				       0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static uint8_t in[0x10000], out[2 + sizeof atr];
	int fd, one = 1;

	a.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 35963));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		fprintf(stderr, "bench_vpcd_echo: connect: %s\n", strerror(errno));
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (;;) {
		size_t n, m;

		if (get(fd, in, 2) < 0)
			break;
		n = (size_t)in[0] << 8 | in[1];
		if (get(fd, in, n) < 0)
			break;
		if (n == 1 && in[0] != 4)
			continue; /* power on, off, reset: no answer */
		if (n == 1) {
			memcpy(out + 2, atr, sizeof atr);
			m = sizeof atr;
		} else {
			out[2] = 0x90;
			out[3] = 0x00;
			m = 2;
		}
		out[0] = (uint8_t)(m >> 8);
		out[1] = (uint8_t)m;
		if (send(fd, out, m + 2, MSG_NOSIGNAL) != (ssize_t)(m + 2))
			break;
	}
	close(fd);
	return 0;
}
