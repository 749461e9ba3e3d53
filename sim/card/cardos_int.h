/* cardos_int.h — the ISO/IEC 7816-4 card OS under the card's applications
 * (private to sim/card, and to whoever hosts the JPKI AP elsewhere, e.g.
 * the SE's smartphone applet).
 *
 * An application (a DF selected by AID) is a table of EF definitions plus
 * a "personality": a table of per-INS handlers that extends or overrides
 * the ISO base commands, the way OpenSC's card drivers sit over iso7816.c.
 * File contents, PIN values and retry counters live in NVM under
 * "<ns>/ef/<FID>", "<ns>/pin/<FID>/val", "<ns>/pin/<FID>/ctr" and
 * "<ns>/key/<FID or name>"; an object is present when its record is.
 * Security status and the current selection live in RAM only. */
#ifndef CARDOS_INT_H
#define CARDOS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "../core/apdu.h"
#include "../core/mutate.h"
#include "../core/sim.h"

/* ISO status words apdu.h does not name. */
#define SW_FILE_INCOMPATIBLE 0x6981 /* READ BINARY on a PIN or key object */

/* Handler results besides a status word (which are all > 0). */
#define CARDOS_TORN (-1)   /* NVM lost power: the card goes mute */
#define CARDOS_NOROOM (-2) /* the caller's response buffer is too small */

#define CARDOS_MAX_EFS 16
#define CARDOS_MAX_APPS 4
#define CARDOS_ACL_MAX 3
#define CARDOS_NAME_MAX 32
#define CARDOS_PIN_MAX 16 /* JICSAP VERIFY carries at most 16 bytes (docs/card.md#pins) */
#define CARDOS_AID_MAX 16

enum cardos_ef_type {
	CARDOS_EF_BINARY = 1, /* transparent EF */
	CARDOS_EF_PIN,        /* reference data with a persistent retry counter */
	CARDOS_EF_KEY,        /* RSA private key (PKCS#8 DER in NVM) */
};

typedef struct cardos_ef_def {
	uint16_t fid;      /* 0: internal object, neither selectable nor an SFI */
	uint8_t type;      /* enum cardos_ef_type */
	uint8_t max_tries; /* PIN: the counter's reset value */
	/* Access rule, for reading (binary) or using (key): the FIDs of PIN
	 * objects of the same application, any one of which, verified in
	 * this session, opens the object.  All zero: always allowed. */
	uint16_t acl[CARDOS_ACL_MAX];
	const char *name;  /* NVM name for an internal object (fid 0) */
} cardos_ef_def_t;

typedef struct cardos cardos_t;

/* A command handler.  Returns the status word to answer (data already
 * appended to r when it is 9000), CARDOS_TORN or CARDOS_NOROOM. */
typedef int (*cardos_fn)(cardos_t *os, const apdu_t *a, apdu_rsp_t *r);

typedef struct cardos_cmd {
	uint8_t cla; /* 0x00 or 0x80: the only class the INS is accepted in */
	uint8_t ins;
	cardos_fn fn;
} cardos_cmd_t;

typedef struct cardos_app_def {
	const char *ns; /* NVM namespace: "jpki", "text" */
	uint8_t aid[CARDOS_AID_MAX];
	size_t aid_len;
	const cardos_ef_def_t *efs;
	size_t n_efs;
	const cardos_cmd_t *cmds; /* personality; may be NULL */
	size_t n_cmds;
} cardos_app_def_t;

/* An EF of a live application: its definition with the NVM names and the
 * access rule resolved once, so the APDU path formats nothing. */
typedef struct cardos_ef {
	const cardos_ef_def_t *def;
	uint32_t acl;                /* bits of PIN objects (index in app) */
	uint32_t bit;                /* this object's own bit */
	char key[CARDOS_NAME_MAX];   /* value record */
	char ctr[CARDOS_NAME_MAX];   /* PIN: counter record */
	EVP_PKEY *pkey;              /* KEY: parsed on first use, kept */
	EVP_PKEY_CTX *sign;          /* KEY: initialised for PKCS#1 type 1 */
} cardos_ef_t;

typedef struct cardos_app {
	const cardos_app_def_t *def;
	cardos_ef_t efs[CARDOS_MAX_EFS];
	size_t n_efs;
	const cardos_cmd_t *disp[256]; /* INS -> handler, base then personality */
} cardos_app_t;

struct cardos {
	sim_ctx_t *ctx;
	cardos_app_t apps[CARDOS_MAX_APPS];
	size_t n_apps;
	const cardos_cmd_t *mf_disp[256]; /* no application selected */
	cardos_app_t *cur_app;            /* NULL: nothing selected */
	cardos_ef_t *cur_ef;              /* NULL: no current EF */
	uint32_t verified;                /* security status of cur_app */
};

/* Set up os over ctx with the applications in defs (which must outlive
 * os).  Returns SIM_OK, SIM_ERR_ARG for an inconsistent definition. */
int cardos_init(cardos_t *os, sim_ctx_t *ctx, const cardos_app_def_t *const *defs, size_t n);
void cardos_free(cardos_t *os);
/* Reset: nothing selected, no PIN verified. */
void cardos_reset(cardos_t *os);
/* Mutation pin_power (core/mutate.h): every PIN's retry counter back to
 * its maximum, as if the counters lived in RAM; a no-op without hooks. */
#ifdef MYNAHIL_MUTANTS
void cardos_mut_refill(cardos_t *os);
#else
static inline void cardos_mut_refill(cardos_t *os) { (void)os; }
#endif
/* One APDU.  Returns SIM_OK with the response in r, SIM_ERR_MUTE after a
 * tear (r empty), SIM_ERR_ARG if r cannot hold the answer. */
int cardos_transmit(cardos_t *os, const uint8_t *cmd, size_t len, apdu_rsp_t *r);
/* A chip's APDU entry over os (the card, the iPhone): SIM_ERR_MUTE while
 * *powered is 0; a tear clears *powered and the session, so the chip
 * stays mute until its next power-up, which recovers the journal. */
int cardos_chip_transmit(cardos_t *os, int *powered, const uint8_t *cmd, size_t len, uint8_t *rsp,
			 size_t cap, size_t *rsplen);
/* Drop cached keys (after something rewrote a key record). */
void cardos_forget_keys(cardos_t *os);

/* For personalities. */
int cardos_present(const cardos_t *os, const cardos_ef_t *ef);
int cardos_allowed(const cardos_t *os, const cardos_ef_t *ef);
/* Resolve a P2 key/PIN reference: 80 = the current EF, 80|SFI = that EF.
 * Returns 0 with *ef set, or the status word to answer. */
int cardos_ref(cardos_t *os, uint8_t p2, enum cardos_ef_type type, cardos_ef_t **ef);
/* The ISO VERIFY (00 20 00 P2): the retries query without data, else a
 * try spent before comparing, the counter back to full on a match.  For a
 * personality that replaces VERIFY for some of its PINs. */
int cardos_verify(cardos_t *os, const apdu_t *a, apdu_rsp_t *r);
/* COMPUTE DIGITAL SIGNATURE body: PKCS#1 v1.5 type 1 padding of exactly
 * a->data (no hashing, docs/card.md#commands) and the private-key operation of
 * key, after its access rule.  Lc 1..k-11, Le absent or >= k. */
int cardos_sign(cardos_t *os, cardos_ef_t *key, const apdu_t *a, apdu_rsp_t *r);

/* For personalisation (inside the caller's NVM transaction). */
/* The NVM record name of def's value (ctr = 0) or counter (ctr = 1). */
int cardos_nvm_name(char *out, size_t cap, const char *ns, const cardos_ef_def_t *def, int ctr);
/* Write def's value (and, for a PIN, its counter at max_tries).
 * Returns an NVM_* code. */
int cardos_perso(nvm_t *nvm, const char *ns, const cardos_ef_def_t *def,
		 const void *val, size_t len);
const cardos_ef_def_t *cardos_def_by_fid(const cardos_app_def_t *app, uint16_t fid);
/* The retry counters of app's PINs as NVM holds them (tries -1: no
 * counter record), read without touching any state: the oracle's view
 * (docs/invariants.md).  Returns how many were written to out. */
size_t cardos_pins(const nvm_t *nvm, const cardos_app_def_t *app, sim_pin_view_t *out, size_t cap);
/* What is wrong with record key = v[0..n) of app (NULL: nothing): its
 * name must be one of app's objects and its value fit the object (a
 * retry counter at most the PIN's tries, a key an RSA key...).  For the
 * check of a loaded image. */
const char *cardos_check(const cardos_app_def_t *app, const char *key, const uint8_t *v, size_t n);
/* Parse a PKCS#8 (or traditional) DER RSA private key of exactly bits
 * bits (0: any); NULL if it is anything else. */
EVP_PKEY *cardos_key_parse(const uint8_t *der, size_t n, int bits);

#endif
