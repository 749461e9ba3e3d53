/* serve.h — put simulators where real client software can reach them:
 * behind pcscd's vpcd driver, or behind a software PN532 on a pty. */
#ifndef SERVE_H
#define SERVE_H

#include <signal.h>
#include "hil/link/link.h"


/* vsmartcard's card side for pcscd's vpcd driver: connect to host:port,
 * relay frames to l, reconnect when pcscd restarts, until util_stop. */
int serve_vpcd_run(link_t *l, const char *host, const char *port);

/* serve_vpcd_run's framing without the socket (fuzzing): bytes as the
 * driver sends them, received chunk bytes at a time (0: all at once);
 * each answer (length prefix included) goes to out, whose -1 ends the
 * feed.  Returns 0, or -1 (out of memory, out failed). */
int serve_vpcd_feed(link_t *l, const uint8_t *p, size_t n, size_t chunk,
		    int (*out)(void *arg, const uint8_t *frame, size_t len), void *arg);

/* A PN532 behind the pseudo-terminal at pty_path (a symlink to the pty
 * slave is created there) for libnfc's pn532_uart driver.  card is
 * offered as an ISO 14443-4 Type B target, se (may be NULL) as FeliCa
 * and Type A. */
int serve_pn532_run(link_t *card, link_t *se, const char *pty_path);

#endif
