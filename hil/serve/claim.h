/* claim.h — one `mynahil serve` per vpcd port and per pty path. */
#ifndef CLAIM_H
#define CLAIM_H

#include <stddef.h>

/* Claim NAME (e.g. "vpcd 127.0.0.1:35963", "pty /tmp/pn532") for this
 * process's lifetime.  Returns a descriptor to keep open (the claim goes
 * with the process, however it ends); -1 when another process holds it,
 * err then says who ("another mynahil serve (pid N)"); -2 when it cannot
 * be checked (err says why: the caller warns and serves anyway). */
int claim_take(const char *name, char *err, size_t errlen);

#endif
