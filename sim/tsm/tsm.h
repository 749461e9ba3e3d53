/* tsm.h — the SP-TSM simulator (docs/domain.md#actors): a registry of devices
 * (SE identity from CPLC and IDm, holder, applet state, certificate
 * serials) and one session type per certificate operation, each a series
 * of steps.  The TSM never touches the SE: a step answers either an
 * SCP03-wrapped APDU script for the phone app to relay, or a DigestInfo
 * for the holder's card to sign; the app hands the responses back with
 * the next step.  The certificates come from the CA (sim/ca), which the
 * TSM drives in process.
 *
 * Its API is JSON (jansson), the same in process and over HTTP
 * (docs/tsm.md): tsm_handle() takes a method, a path under /v1/tsm and a
 * body, and answers an HTTP status and a JSON object.  Randomness and
 * time come from the context; the records live in SQLite (":memory:" or
 * a file), one transaction per step, so a TSM killed at any point loses
 * no committed record and leaves no half-applied step.  A tsm_t is not
 * thread-safe: callers serialise. */
#ifndef TSM_H
#define TSM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../ca/ca.h"
#include "../core/sim.h"
#include "../gp/scp03.h"

typedef struct tsm_config {
	const char *db;        /* SQLite path; NULL or ":memory:" */
	scp03_keyset_t keys;   /* the SEs' ISD key set, or with diversify their master */
	uint8_t diversify;     /* 1: each SE's set is keys diversified by its KDD, its CPLC
				* identity (sim/gp/gpkdiv.h), derived at first contact and
				* stored per SE; 0: keys is every SE's (a bench's test SE) */
	uint8_t level;         /* SCP03 level of the scripts; 0 = 13 (C-MAC, C-DECRYPTION,
				* R-MAC: every answer's R-MAC is checked); 33 adds R-ENC */
	json_t *policy;        /* default policy switches (copied; may be NULL) */
	ca_blob_t auth_ca, sign_ca; /* CA certificates written to the applet (DGI 03ss); borrowed */
	/* se_model = ssd (docs/tsm.md#two-tsms): the SE issuer's TSM (borrowed;
	 * NULL: none, ssd refused), this SP's name there, its SSD's AID (NULL:
	 * ITSM_SSD_JPKI) and the master its SSD key sets are diversified from
	 * by each SE's KDD (KVN ITSM_SSD_KVN). */
	struct itsm *issuer;
	const char *sp, *ssd_aid;
	scp03_keyset_t ssd_keys;
} tsm_config_t;

typedef struct tsm tsm_t;

/* ca is borrowed (the caller closes it after the TSM).  err says why. */
int tsm_open(tsm_t **out, sim_ctx_t *ctx, ca_t *ca, const tsm_config_t *cfg, char *err, size_t errlen);
void tsm_close(tsm_t *t);

/* One request of the JSON API.  path starts with /v1/tsm; body may be
 * NULL (GET).  Returns the HTTP status; *out is a new JSON object (on an
 * error {"error": "...", "field": "..." | null}). */
int tsm_handle(tsm_t *t, const char *method, const char *path, json_t *body, json_t **out);

/* Finish every request whose write-ahead intent is still pending (a
 * crash between the CA's commit and the TSM's): tsm_open does it.
 * Returns how many could not be finished. */
int tsm_recover(tsm_t *t);

/* Tests: make the request in progress "die" just before (before != 0)
 * or just after the nth mutating CA call from now, as a kill -9 would:
 * the TSM's transaction is rolled back, the intent stays, the request
 * answers 500.  The tsm_t is then to be closed and reopened; 0 = off. */
void tsm_fault(tsm_t *t, int nth_ca_call, int before);

/* The card's authorisation of an operation (docs/tsm.md, Modelled
 * assumptions), shared with a platform's provisioning service
 * (sim/wallet), which authorises its operations the same way: the text
 * the card signs, "mynahil tsm-authorisation v1\nOP\nSESSION\nDEVICE\nNONCE"
 * (device NULL: "-"), into out; its length, or -1 when it does not fit.
 * tsm_digestinfo: the SHA-256 DigestInfo of m, what the card's 80 2A
 * signs; the signature is checked with ca_verify_card(). */
int tsm_auth_message(char *out, size_t cap, const char *op, const char *session, const char *device,
		     const char *nonce_hex);
void tsm_digestinfo(const uint8_t *m, size_t n, uint8_t di[51]);

/* The JSON helpers of the TSM's API, shared with the platform's service:
 * an error object {"error": message, "field": field or null}; bytes as
 * an upper-case hex string; a hex string as malloc'd bytes (-1 if not
 * hex; NULL gives 0 bytes). */
json_t *tsm_jerr(const char *field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *tsm_jhex(const uint8_t *p, size_t n);
int tsm_unhex(const char *s, uint8_t **out, size_t *n);

/* Counters for benches and tests. */
typedef struct tsm_stats {
	uint64_t sessions, steps, done, failed, reopens;
} tsm_stats_t;
void tsm_get_stats(const tsm_t *t, tsm_stats_t *s);

#endif
