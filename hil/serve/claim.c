/* claim.c — one `mynahil serve` per vpcd port and per pty path.
 *
 * Two `serve card --vpcd` on one port both connect: the driver talks to
 * the first, the kernel queues the second, which takes the reader over
 * unseen when the first goes.  Two `serve pn532 --pty PATH` re-link PATH
 * under the first one's clients.  So a server claims what it serves by
 * binding a Linux abstract unix socket named after it: a second bind
 * fails with EADDRINUSE, and the name is free again the moment its
 * holder dies, however (no stale lock file after a kill -9, nothing
 * written anywhere).  The holder listens, so that a refused server can
 * name it (SO_PEERCRED of a connection it never accepts).  Abstract
 * names belong to the network namespace: the vpcd ports they stand for
 * do too. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hil/serve/claim.h"

/* The socket address of NAME: "\0mynahil serve NAME", or, when that
 * does not fit, NAME's 64-bit FNV-1a hash in its place. */
static socklen_t claim_addr(const char *name, struct sockaddr_un *sa)
{
	size_t cap = sizeof sa->sun_path - 1;
	int n;

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, cap, "mynahil serve %s", name);
	if (n < 0 || (size_t)n >= cap) {
		uint64_t h = 0xcbf29ce484222325ull;
		for (const char *p = name; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
		n = snprintf(sa->sun_path + 1, cap, "mynahil serve #%016llx", (unsigned long long)h);
	}
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The pid of the process listening on sa, or 0 when it cannot be told
 * (its queue full of earlier askers, say). */
static long claim_holder(const struct sockaddr_un *sa, socklen_t len)
{
	struct ucred cr = { 0 };
	socklen_t cl = sizeof cr;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	long pid = 0;

	if (fd < 0)
		return 0;
	if (connect(fd, (const struct sockaddr *)sa, len) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
		pid = cr.pid;
	close(fd);
	return pid;
}

int claim_take(const char *name, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t len = claim_addr(name, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "cannot check that no other mynahil serve has it: %s", strerror(errno));
		return -2;
	}
	if (bind(fd, (const struct sockaddr *)&sa, len) == 0 && listen(fd, 4) == 0)
		return fd;
	if (errno != EADDRINUSE) {
		snprintf(err, errlen, "cannot check that no other mynahil serve has it: %s", strerror(errno));
		close(fd);
		return -2;
	}
	close(fd);
	long pid = claim_holder(&sa, len);
	if (pid > 0)
		snprintf(err, errlen, "another mynahil serve (pid %ld)", pid);
	else
		snprintf(err, errlen, "another mynahil serve");
	return -1;
}
