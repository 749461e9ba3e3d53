/* itsm.h — the SE issuer's TSM (docs/tsm.md#two-tsms): it owns every SE's
 * issuer security domain (ISD) keys, creates a service provider's
 * supplementary security domain (SSD) on the SE at the SP's first
 * contact, signs the delegated-management tokens the SP-TSM asks for,
 * and checks the receipts the SP-TSM hands back, keeping each SE's
 * confirmation counter.
 *
 * The SP-TSM (sim/tsm under se_model = ssd) never holds an ISD key: the
 * SSD's creation is the issuer's script, opened on the ISD with the
 * issuer's own SCP03 session, which the SP-TSM relays as opaque APDUs.
 *
 * Its API is JSON (jansson), the same in process and over HTTP (routes
 * under /v1/issuer, docs/tsm.md#the-issuers-api):
 *
 *   POST /v1/issuer/ssd          {sp, device, keys:{kvn,enc,mac,dek}}
 *        -> 200 {state:"exists", ssd}  or  201 {state:"script", id, apdus}
 *   POST /v1/issuer/ssd/ID       {responses:[hex...]}
 *        -> 200 {state:"script", apdus} | {state:"done", ssd}
 *   POST /v1/issuer/tokens       {sp, device, ins:"E6"|"E4", p1, p2, data}
 *        -> 200 {token}   (403: not this SP's to ask)
 *   POST /v1/issuer/receipts     {sp, device, kind:"load"|"install"|"delete",
 *                                 aids:[hex...], confirmation}
 *        -> 200 {counter}  (422: a receipt that does not verify)
 *   GET  /v1/issuer/ses/DEVICE   what the issuer knows of one SE
 *
 * Randomness (host challenges) comes from the context; records live in
 * SQLite (":memory:" or a file).  An itsm_t is not thread-safe. */
#ifndef ITSM_H
#define ITSM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../core/sim.h"
#include "../gp/scp03.h"

/* A service provider the issuer knows: its SSD's AID and the only
 * content it may load, install and delete under delegated management
 * (upper-case hex). */
typedef struct itsm_sp {
	const char *name;
	const char *ssd;
	const char *elf, *module, *app;
} itsm_sp_t;

/* The JPKI service provider every world registers. */
#define ITSM_SP_JPKI "jpki-sp"
#define ITSM_SSD_JPKI "D392F000265344"
#define ITSM_SSD_KVN 0x30

typedef struct itsm_config {
	const char *db;          /* SQLite path; NULL or ":memory:" */
	scp03_keyset_t keys;     /* the SEs' ISD key set, or with diversify their master */
	uint8_t diversify;       /* 1: each SE's ISD set is keys by KDF3 of its KDD; 0: keys */
	uint8_t level;           /* SCP03 level of the issuer's scripts; 0 = 13 */
	const uint8_t *token_key; /* the token private key (DER); NULL: the built-in test key */
	size_t token_key_len;
	const itsm_sp_t *sps;    /* NULL: one SP, the JPKI one (ITSM_SP_JPKI) */
	size_t nsps;
} itsm_config_t;

/* The built-in token key (RSA 1024, DER, hex): an issuer opened without
 * a token_key of its own signs with it; public, test use only. */
extern const char itsm_test_token_key[];

typedef struct itsm itsm_t;

int itsm_open(itsm_t **out, sim_ctx_t *ctx, const itsm_config_t *cfg, char *err, size_t errlen);
void itsm_close(itsm_t *it);

/* One request; path starts with /v1/issuer; body may be NULL (GET).
 * Returns the HTTP status; *out is a new JSON object ({"error", "field"}
 * on an error). */
int itsm_handle(itsm_t *it, const char *method, const char *path, json_t *body, json_t **out);

/* Counters for benches and tests. */
typedef struct itsm_stats {
	uint64_t ssds, tokens, refused, receipts, bad_receipts;
} itsm_stats_t;
void itsm_get_stats(const itsm_t *it, itsm_stats_t *s);

#endif
