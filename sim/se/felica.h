/* felica.h — the SE's FeliCa front end (JIS X 6319-4, docs/se.md#felica):
 * Polling, Request Service, Request Response, Search Service Code,
 * Request System Code, and Read / Write Without Encryption on a small
 * service area whose blocks live in NVM ("fe/SSSS", one record per
 * service number, 16 bytes a block). */
#ifndef FELICA_H
#define FELICA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/sim.h"
#include "se.h"

#define FELICA_BLOCK 16
#define FELICA_MAX_BLOCKS 15 /* per Read/Write command */

/* Status flag 2 values (FeliCa card user's manual; SF1 is FF for all the
 * errors this SE reports). */
#define FELICA_SF_SERVICES 0xA1   /* illegal number of services */
#define FELICA_SF_BLOCKS 0xA2     /* illegal number of blocks */
#define FELICA_SF_LIST_ORDER 0xA3 /* block list names a service index >= m */
#define FELICA_SF_ACCESS 0xA5     /* service needs a key (mutual authentication) */
#define FELICA_SF_SERVICE 0xA6    /* unknown service code */
#define FELICA_SF_MODE 0xA7       /* access mode other than 000 */
#define FELICA_SF_BLOCKNO 0xA8    /* block number past the service's data */
#define FELICA_SF_WRITE 0xA9      /* write to a read-only service */

typedef struct felica {
	sim_ctx_t *ctx;
	uint8_t idm[8], pmm[8];
	uint16_t systems[SE_FELICA_MAX_SYSTEMS];
	size_t n_systems;
	se_felica_service_t services[SE_FELICA_MAX_SERVICES]; /* data blobs not kept */
	size_t n_services;
	uint8_t mode; /* Request Response: 0 after power-on (no mutual authentication here) */
} felica_t;

/* Copies the identity and the service table from p. */
void felica_init(felica_t *f, const se_profile_t *p, sim_ctx_t *ctx);
/* Writes each service number's initial blocks (inside the caller's NVM
 * transaction); NVM_* code. */
int felica_personalise(nvm_t *nvm, const se_profile_t *p);
void felica_reset(felica_t *f);
/* What is wrong with record key = v[0..n) of a loaded image (NULL:
 * nothing): a canonical "fe/SSSS" name and whole blocks, at most the 255
 * a service number can have. */
const char *felica_check(const char *key, const uint8_t *v, size_t n);
/* One frame in, one out.  0 with *outlen = 0: no answer (not for us, or
 * malformed).  SIM_ERR_MUTE on a tear, SIM_ERR_ARG if out is too small. */
int felica_frame(felica_t *f, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
		 size_t *outlen);

#endif
