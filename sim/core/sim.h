/* sim.h — what every simulator receives from the harness.
 *
 * Simulators are pure state machines: randomness, time and persistent
 * storage come in through this context, which the harness owns.  No
 * simulator calls time(), rand(), opens a file or a socket. */
#ifndef SIM_H
#define SIM_H

#include "rng.h"
#include "vclock.h"
#include "nvm.h"

typedef struct sim_ctx {
	rng_t *rng;       /* every random byte of the run */
	vclock_t *clock;  /* virtual time */
	nvm_t *nvm;       /* the card's persistent memory */
	/* The oracle's tally (docs/invariants.md): how many times a PIN retry
	 * counter was set back by a legitimate path (a correct PIN, a PIN set
	 * or reset).  The harness reads it to tell an explained increase of a
	 * counter from one nothing explains; no simulator decides by it. */
	unsigned long pin_restores;
} sim_ctx_t;

/* One PIN's retry counter as the harness's oracle reads it, straight
 * from NVM without spending a try (docs/invariants.md): tries -1 when the
 * PIN has no counter record. */
typedef struct sim_pin_view {
	uint16_t fid;
	uint8_t max;
	int tries;
} sim_pin_view_t;

/* Power transitions, shared by every simulated chip and by the links. */
enum sim_power { SIM_POWER_OFF = 0, SIM_POWER_COLD = 1, SIM_POWER_WARM = 2 };

/* Simulator-level errors (negative); status words are not errors. */
#define SIM_OK 0
#define SIM_ERR_MUTE -1    /* no answer: powered off or power lost (tear) */
#define SIM_ERR_ARG -2     /* caller passed something impossible */
#define SIM_ERR_NOMEM -3
#define SIM_ERR_PROFILE -4 /* profile inconsistent or incomplete */
#define SIM_ERR_IMAGE -5   /* the NVM holds a record the chip cannot use (damaged or foreign image) */

#endif
