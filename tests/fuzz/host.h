/* host.h — a GlobalPlatform host for the SE targets: an SCP03 session
 * opened and used through sim/gp's host side, as the TSM does, so that
 * fuzzed commands reach the card manager past the secure channel. */
#ifndef FUZZ_HOST_H
#define FUZZ_HOST_H

#include "sim/core/apdu.h"
#include "sim/gp/scp03.h"
#include "tests/fuzz/fuzz.h"

typedef struct fz_host {
	sim_se_t *se;
	scp03_session_t s;
	uint8_t level; /* EXTERNAL AUTHENTICATE P1 */
	uint8_t s16;   /* 16-byte host challenge */
	uint8_t chan;  /* logical channel of the session */
	int open;
	uint8_t rsp[APDU_MAX_RSP];
	size_t rsplen;
} fz_host_t;

/* The levels of Amd D Table 7-3, for an input byte to pick from. */
extern const uint8_t fz_levels[6];

/* Raw transmit; a mute SE (off or torn) is powered up again and the
 * session forgotten.  Returns the sim_se_transmit code. */
int fz_host_raw(fz_host_t *h, const uint8_t *cmd, size_t n);
/* INITIALIZE UPDATE + EXTERNAL AUTHENTICATE at h->level on h->chan with
 * the profile's first key set; 1 if the session is open. */
int fz_host_open(fz_host_t *h);
/* Wrap, send, unwrap; opens the session first if needed.  A command the
 * host cannot wrap, or no session, goes out raw. */
void fz_host_send(fz_host_t *h, const uint8_t *cmd, size_t n);
void fz_host_close(fz_host_t *h);

/* fuzz_se's input, for the seed writer to run the same way: byte 0 sets
 * up the session (level, S16, channel: fuzz_se.c), then each record is
 * one step. */
void fz_host_start(fz_host_t *h, uint8_t b0);
void fz_host_step(fz_host_t *h, nvm_t *nvm, const fz_rec_t *r);
enum { FZ_SE_WRAPPED, FZ_SE_RAW, FZ_SE_TEAR, FZ_SE_COLD, FZ_SE_FELICA, FZ_SE_REOPEN };

#endif
