/* wallet_int.h — what the provisioning service's files share (private to
 * sim/wallet):
 *   wallet.c         the API: open / close, routing, sessions and steps
 *   wallet_ops.c     what each operation asks of the app, the card and the CA
 *   wallet_crypto.c  the device attestation's checks, the credential's signature */
#ifndef WALLET_INT_H
#define WALLET_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wallet.h"
#include "../ios/ios.h"

#define WALLET_SESSIONS 64 /* kept in memory; the oldest finished one makes room */
#define WALLET_CHALLENGE 32

struct wallet {
	sim_ctx_t *ctx;
	ca_t *ca;
	tsm_t *tsm;
	rng_t rng;
	json_t *policy;
	X509 *platform_ca;
	EVP_PKEY *issuer;
	uint8_t *auth_ca, *sign_ca;
	size_t auth_ca_n, sign_ca_n;
	json_t *sessions[WALLET_SESSIONS];
	uint64_t counter;
	wallet_stats_t st;
	int fault_at, ca_calls, crashed; /* wallet_fault() */
};

/* A session in flight: its record (owned by the table) and the status of
 * a failure. */
typedef struct wsess {
	wallet_t *w;
	json_t *doc;
	json_t *facts; /* borrowed from doc */
	int status;
} wsess_t;

/* ---- helpers (wallet.c) */
/* JSON errors and hex: tsm_jerr, tsm_jhex (tsm.h, the TSM API's). */
/* hex -> malloc'd bytes; -1 when not even-length hex, or NULL. */
int wallet_unhex(const char *s, uint8_t **out, size_t *n);
static inline const char *wallet_jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}
/* The session failed: status, field, message. */
void wallet_fail(wsess_t *x, int status, const char *field, const char *msg);
/* The TSM's answer to a request of its API (the registry, the broker). */
int wallet_tsm(wallet_t *w, const char *method, const char *path, json_t *body, json_t **out);

/* ---- operations (wallet_ops.c): the first action of a session, and the
 * next one after the app's answer; NULL when the session failed. */
json_t *wallet_op_begin(wsess_t *x, json_t *dev);
json_t *wallet_op_step(wsess_t *x, json_t *b);

/* ---- crypto (wallet_crypto.c) */
/* The attestation of device_id over challenge and the keys: 0, or -1 with
 * why (a message for the answer). */
int wallet_attest_check(wallet_t *w, const uint8_t device_id[IOS_DEVICE_ID_LEN], const uint8_t *challenge,
			size_t cn, const uint8_t *cert, size_t certn, const uint8_t *sig, size_t sn,
			const uint8_t *auth, size_t an, const uint8_t *sign, size_t gn, char *why, size_t whylen);
/* The credential signed by the issuer key: a JSON object (hex fields). */
json_t *wallet_credential(wallet_t *w, const uint8_t device_id[IOS_DEVICE_ID_LEN], const uint8_t *auth_cert,
			  size_t an, const uint8_t *sign_cert, size_t sn);

#endif
