/* serve_vpcd.c — the card side of vsmartcard's vpcd protocol, so pcscd
 * (with Debian's vsmartcard-vpcd driver) sees a simulator as a card.
 *
 * pcscd's driver listens (127.0.0.1:35963 and :35964 in Debian's
 * /etc/reader.conf.d/vpcd); the card connects to it as a TCP client.
 * Every message, both ways, is a 2-byte big-endian length and a payload.
 * A 1-byte payload from the driver is a control code: 0 power off, 1
 * power on, 2 reset (no answer to any of these), 4 "send the ATR" —
 * which is also how the driver polls for presence, several times a
 * second.  Any longer payload is a command APDU, answered with the
 * response APDU.  An empty answer makes the driver report an error and
 * drop the connection.
 *
 * Everything here is non-blocking with poll() and a timeout: an idle
 * wait wakes up every TICK_MS to look at util_stop, a frame once begun
 * must complete within IO_TIMEOUT_MS.  When pcscd goes away the server
 * reconnects with a capped exponential backoff, waiting in poll() so
 * SIGTERM cuts the wait short.
 *
 * Latency: Debian's driver writes the length and the payload in two
 * send() calls.  With Nagle on the driver side and delayed ACKs on ours,
 * the second write waits for our ACK of the first: about 40 ms per
 * APDU.  TCP_QUICKACK on our socket (re-armed around every recv, since
 * the kernel clears it) makes us ACK at once; TCP_NODELAY sends our
 * answers, one write each, without waiting either. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hil/serve/claim.h"
#include "hil/serve/serve.h"
#include "hil/base/util.h"

#define VPCD_CTRL_OFF 0
#define VPCD_CTRL_ON 1
#define VPCD_CTRL_RESET 2
#define VPCD_CTRL_ATR 4

#define VPCD_MAX 0xFFFF           /* the length prefix is 16 bits */
#define TICK_MS 200               /* idle waits look at util_stop this often */
#define IO_TIMEOUT_MS 5000        /* a begun frame, a send, a connect */
#define APDU_TIMEOUT_MS 5000      /* handed to the link */
#define BACKOFF_MIN_MS 20
#define BACKOFF_MAX_MS 500

typedef struct vpcd {
	link_t *l;
	const char *host, *port;
	int fd;
	size_t have;                     /* bytes in rx */
	uint8_t rx[2 + VPCD_MAX];
	uint8_t tx[2 + VPCD_MAX];
	uint64_t apdus;
	/* serve_vpcd_feed: answers go here instead of the socket. */
	int (*out)(void *arg, const uint8_t *frame, size_t len);
	void *out_arg;
} vpcd_t;

enum { SESSION_STOP, SESSION_LOST };

static void quickack(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void tune(int fd)
{
	int one = 1, idle = 10, intvl = 5, cnt = 3;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	quickack(fd);
	/* A pcscd on another host that vanishes without a FIN is noticed. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

/* poll() one fd; 1 ready, 0 timeout or signal, -1 error. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return errno == EINTR ? 0 : -1;
	if (r == 0)
		return 0;
	return (p.revents & (events | POLLHUP | POLLERR)) ? 1 : 0;
}

/* Wait ms (or less, if a signal comes): the reconnect backoff. */
static void pause_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* A non-blocking connect to one of the resolved addresses, bounded by
 * IO_TIMEOUT_MS.  Returns the socket or -1 with errno set. */
static int dial(const struct addrinfo *res)
{
	int saved = ECONNREFUSED;

	for (const struct addrinfo *ai = res; ai && !util_stop; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		int64_t deadline = util_now_ms() + IO_TIMEOUT_MS;
		int soerr = 0;
		socklen_t sl = sizeof soerr;

		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return fd;
		if (errno != EINPROGRESS) {
			saved = errno;
			close(fd);
			continue;
		}
		while (!util_stop) {
			int64_t left = deadline - util_now_ms();
			int r;

			if (left <= 0) {
				soerr = ETIMEDOUT;
				break;
			}
			r = wait_fd(fd, POLLOUT, left < TICK_MS ? (int)left : TICK_MS);
			if (r < 0) {
				soerr = errno;
				break;
			}
			if (r > 0) {
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
					soerr = errno;
				break;
			}
		}
		if (!util_stop && soerr == 0)
			return fd;
		saved = soerr ? soerr : EINTR;
		close(fd);
	}
	errno = saved;
	return -1;
}

/* Send len bytes of v->tx, bounded by IO_TIMEOUT_MS. */
static int send_all(vpcd_t *v, size_t len)
{
	int64_t deadline = util_now_ms() + IO_TIMEOUT_MS;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(v->fd, v->tx + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		int64_t left = deadline - util_now_ms();
		if (left <= 0 || wait_fd(v->fd, POLLOUT, (int)left) < 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* Frame payload (already at v->tx + 2) of len bytes and send it. */
static int send_frame(vpcd_t *v, size_t len)
{
	v->tx[0] = (uint8_t)(len >> 8);
	v->tx[1] = (uint8_t)len;
	if (v->out)
		return v->out(v->out_arg, v->tx, 2 + len);
	return send_all(v, 2 + len);
}

static int on_control(vpcd_t *v, uint8_t code)
{
	static const enum sim_power how[] = {
		[VPCD_CTRL_OFF] = SIM_POWER_OFF, [VPCD_CTRL_ON] = SIM_POWER_COLD, [VPCD_CTRL_RESET] = SIM_POWER_WARM,
	};

	switch (code) {
	case VPCD_CTRL_ATR: {
		size_t n = link_atr(v->l, v->tx + 2, VPCD_MAX);
		return send_frame(v, n);
	}
	case VPCD_CTRL_OFF:
	case VPCD_CTRL_ON:
	case VPCD_CTRL_RESET:
		if (link_power(v->l, how[code]) < 0)
			fprintf(stderr, "mynahil: serve: %s\n", link_error(v->l));
		return 0; /* the driver expects no answer */
	}
	fprintf(stderr, "mynahil: serve: vpcd sent unknown control code %u; ignored\n", code);
	return 0;
}

static int on_apdu(vpcd_t *v, const uint8_t *cmd, size_t len)
{
	size_t rn = 0;

	v->apdus++;
	if (link_transmit(v->l, cmd, len, v->tx + 2, VPCD_MAX, &rn, APDU_TIMEOUT_MS) < 0) {
		/* A mute card: an empty answer is the driver's "no response". */
		fprintf(stderr, "mynahil: serve: %s\n", link_error(v->l));
		rn = 0;
	}
	return send_frame(v, rn);
}

/* Answer every complete frame in rx; -1 if the connection broke. */
static int drain_frames(vpcd_t *v)
{
	size_t off = 0;

	while (v->have - off >= 2) {
		size_t len = (size_t)v->rx[off] << 8 | v->rx[off + 1];
		const uint8_t *p = v->rx + off + 2;
		int rc;

		if (v->have - off - 2 < len)
			break;
		if (len == 0)
			rc = 0;
		else if (len == 1)
			rc = on_control(v, p[0]);
		else
			rc = on_apdu(v, p, len);
		off += 2 + len;
		if (rc < 0)
			return -1;
	}
	if (off) {
		memmove(v->rx, v->rx + off, v->have - off);
		v->have -= off;
	}
	return 0;
}

/* Serve one connection until it breaks or util_stop is set. */
static int session(vpcd_t *v)
{
	int64_t frame_deadline = 0; /* set while a frame is incomplete */

	v->have = 0;
	while (!util_stop) {
		int timeout = TICK_MS, r;
		ssize_t n;

		if (v->have) {
			int64_t left = frame_deadline - util_now_ms();
			if (left <= 0) {
				fprintf(stderr, "mynahil: serve: vpcd at %s:%s stalled in the middle of a frame\n",
					v->host, v->port);
				return SESSION_LOST;
			}
			if (left < timeout)
				timeout = (int)left;
		}
		r = wait_fd(v->fd, POLLIN, timeout);
		if (r < 0)
			return SESSION_LOST;
		if (r == 0)
			continue;
		quickack(v->fd);
		n = recv(v->fd, v->rx + v->have, sizeof v->rx - v->have, 0);
		quickack(v->fd);
		if (n == 0) {
			fprintf(stderr, "mynahil: serve: vpcd at %s:%s closed the connection\n", v->host, v->port);
			return SESSION_LOST;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			fprintf(stderr, "mynahil: serve: vpcd at %s:%s: %s\n", v->host, v->port, strerror(errno));
			return SESSION_LOST;
		}
		if (!v->have)
			frame_deadline = util_now_ms() + IO_TIMEOUT_MS;
		v->have += (size_t)n;
		if (drain_frames(v) < 0) {
			fprintf(stderr, "mynahil: serve: vpcd at %s:%s: cannot answer: %s\n", v->host, v->port,
				strerror(errno));
			return SESSION_LOST;
		}
		if (v->have)
			frame_deadline = util_now_ms() + IO_TIMEOUT_MS;
	}
	return SESSION_STOP;
}

int serve_vpcd_feed(link_t *l, const uint8_t *p, size_t n, size_t chunk,
		    int (*out)(void *arg, const uint8_t *frame, size_t len), void *arg)
{
	vpcd_t *v = calloc(1, sizeof *v);
	int rc = 0;

	if (!v)
		return -1;
	v->l = l;
	v->fd = -1;
	v->out = out;
	v->out_arg = arg;
	while (n && rc == 0) {
		size_t m = chunk && chunk < n ? chunk : n;

		/* rx holds a whole frame, so a read never finds it full. */
		if (m > sizeof v->rx - v->have)
			m = sizeof v->rx - v->have;
		memcpy(v->rx + v->have, p, m);
		v->have += m;
		p += m;
		n -= m;
		rc = drain_frames(v);
	}
	free(v);
	return rc;
}

/* Claim the port for this process (claim.c): the driver behind it
 * serves one card, and a second server would wait in its queue unseen.
 * The claim names the first address HOST resolves to, in numbers, so
 * that a name and its address are one port.  Returns the
 * claim's descriptor, -2 when the claim cannot be checked (served
 * anyway), -1 (said) when another server has the port. */
static int claim_port(const struct addrinfo *res, const char *host, const char *port)
{
	char h[NI_MAXHOST], s[NI_MAXSERV], name[NI_MAXHOST + NI_MAXSERV + 16], err[256];
	int fd;

	if (getnameinfo(res->ai_addr, res->ai_addrlen, h, sizeof h, s, sizeof s, NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(name, sizeof name, "vpcd %s:%s", host, port);
	else
		snprintf(name, sizeof name, res->ai_family == AF_INET6 ? "vpcd [%s]:%s" : "vpcd %s:%s", h, s);
	fd = claim_take(name, err, sizeof err);
	if (fd == -1)
		fprintf(stderr, "mynahil: serve: vpcd port %s:%s is in use: %s serves it\n", host, port, err);
	else if (fd == -2)
		fprintf(stderr, "mynahil: serve: warning: vpcd port %s:%s: %s\n", host, port, err);
	return fd;
}

int serve_vpcd_run(link_t *l, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int backoff = BACKOFF_MIN_MS, waiting = 0, rc, claim;
	vpcd_t *v;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "mynahil: serve: --vpcd %s:%s: %s\n", host, port, gai_strerror(rc));
		return 2;
	}
	if ((claim = claim_port(res, host, port)) == -1) {
		freeaddrinfo(res);
		return 2;
	}
	if (!(v = calloc(1, sizeof *v))) {
		if (claim >= 0)
			close(claim);
		freeaddrinfo(res);
		fprintf(stderr, "mynahil: serve: out of memory\n");
		return 2;
	}
	v->l = l;
	v->host = host;
	v->port = port;
	v->fd = -1;
	while (!util_stop) {
		v->fd = dial(res);
		if (v->fd < 0) {
			if (util_stop)
				break;
			if (!waiting)
				fprintf(stderr, "mynahil: serve: waiting for vpcd at %s:%s (%s)\n", host, port,
					strerror(errno));
			waiting = 1;
			pause_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		tune(v->fd);
		fprintf(stderr, "mynahil: serve: %s connected to vpcd at %s:%s\n", l->uri, host, port);
		waiting = 0;
		backoff = BACKOFF_MIN_MS;
		rc = session(v);
		close(v->fd);
		v->fd = -1;
		if (rc == SESSION_STOP)
			break;
	}
	fprintf(stderr, "mynahil: serve: stopped after %llu APDUs\n", (unsigned long long)v->apdus);
	if (claim >= 0)
		close(claim);
	freeaddrinfo(res);
	free(v);
	return 0;
}
