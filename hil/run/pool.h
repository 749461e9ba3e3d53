/* pool.h — work items in child processes, -j at a time, each under a
 * deadline (hil/run/runner.c): the runner's scenarios and the tear
 * sweep's points.  A child answers by writing to a pipe; a crash, a hang
 * or a leak fails that item and nothing else. */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>

enum { KILL_DEADLINE = 1, KILL_STOP = 2 }; /* why the pool killed a child */

typedef struct pool_ops {
	/* In the child: do item i and write the answer to fd. */
	void (*work)(void *ud, size_t i, int fd);
	/* In the parent: item i may take this long (ms) before SIGKILL. */
	int64_t (*limit_ms)(void *ud, size_t i);
	/* In the parent: what item i's child wrote, how it ended (a wait
	 * status; killed: KILL_DEADLINE the deadline passed, KILL_STOP the
	 * run was stopped by a signal), and how long it took. */
	void (*done)(void *ud, size_t i, const char *out, size_t len, int status, int killed, int64_t ms);
} pool_ops_t;

/* n items, jobs at once.  0 when all n are done, 1 when stopped by a
 * signal (the items not started never reach done()), -1 on error. */
int pool_run(size_t n, int jobs, const pool_ops_t *ops, void *ud);
/* All of p to fd (a child's answer). */
void pool_write_all(int fd, const char *p, size_t n);

#endif
