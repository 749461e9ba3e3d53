/* wallet.h — the simulated platform provisioning service: it stands where
 * Apple's is for the JPKI credential in Apple Wallet
 * (docs/ios.md#the-provisioning-service).  Public sources describe the holder's steps
 * (liveness check, the card's 入力補助 PIN and sign password, the card
 * read over NFC, new iPhone PINs, add with biometrics) and that the data
 * are issuer-signed and bound to the device; the protocol is ours, every
 * part of it a MODELLED ASSUMPTION.
 *
 * Like the TSM (sim/tsm) it never touches a device or a card: a session
 * is a series of steps, each answer one action for the app on the iPhone
 * ("attest": new keys and the device's attestation over the service's
 * challenge; "card_sign": the card's signatures after its PINs; "install":
 * the issuer-signed credential with the new PINs; "set_pins"; "remove";
 * "done" / "failed").  It checks the device attestation (a chain to the
 * test platform CA, the signature over its own one-use challenge and the
 * device's public keys), has the card authorise as the TSM's operations
 * are authorised (tsm_auth_message, ca_verify_card) and sign the CA's
 * phone-certificate requests (ca_phone_tbs), asks the same J-LIS CA for
 * the certificates, and records the iPhone in the TSM's registry through
 * its platform broker (sim/tsm/tsm_platform.c), so that the JPKI rules
 * (one phone per holder across platforms, linked revocation, the call
 * centre's hold) are the TSM's for both platforms.
 *
 * JSON API under /v1/wallet, the same in process and over HTTP
 * (`mynahil serve wallet`).  Randomness and time from the context;
 * sessions in memory (the registry and the CA keep what lasts).  Before
 * it asks the CA for certificates it commits a write-ahead intent in the
 * TSM's store through the broker; a request given up, or interrupted (a
 * crash: the TSM undoes it at its next open), has its certificates
 * revoked, so none is left valid without a device that holds it.  Not
 * thread-safe: callers serialise. */
#ifndef WALLET_H
#define WALLET_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../ca/ca.h"
#include "../core/sim.h"
#include "../tsm/tsm.h"

typedef struct wallet_config {
	ca_blob_t platform_ca; /* DER: the test platform CA every device certificate must chain to */
	ca_blob_t issuer_key;  /* DER (PKCS#8 or RSA): the credential signing key */
	ca_blob_t auth_ca, sign_ca; /* J-LIS CA certificates put in the credential; borrowed */
	json_t *policy;        /* default policy switches (copied; may be NULL) */
} wallet_config_t;

typedef struct wallet wallet_t;

/* ca and tsm are borrowed (closed after the wallet).  err says why. */
int wallet_open(wallet_t **out, sim_ctx_t *ctx, ca_t *ca, tsm_t *tsm, const wallet_config_t *cfg, char *err,
		size_t errlen);
void wallet_close(wallet_t *w);

/* One request: path under /v1/wallet, body NULL for a GET.  Returns the
 * HTTP status; *out a new JSON object ({"error", "field"} on an error). */
int wallet_handle(wallet_t *w, const char *method, const char *path, json_t *body, json_t **out);

/* The registry id of an iPhone: "ios-" and its device id in hex. */
void wallet_device_id(const uint8_t id[16], char out[37]);

/* Tests of crash recovery: the request that makes the n-th call changing
 * the CA (counted from now) "dies" right after it, as a kill -9 would:
 * it answers 500 and leaves its write-ahead intent in the TSM's store
 * (docs/ios.md#crash-recovery).  0: off. */
void wallet_fault(wallet_t *w, int nth_ca_call);

typedef struct wallet_stats {
	uint64_t sessions, steps, done, failed;
} wallet_stats_t;
void wallet_get_stats(const wallet_t *w, wallet_stats_t *s);

#endif
