/* ios_int.h — what the iPhone's two modules share: the device (ios.c:
 * APDUs, power, NVM image) and its operations (ios_ops.c: keygen,
 * attestation, credential). */
#ifndef IOS_INT_H
#define IOS_INT_H

#include <openssl/evp.h>

#include "../card/cardos_int.h"
#include "../card/jpki_int.h"
#include "ios.h"

/* NVM: the JPKI AP's records under "ios/" (cardos names), the device's
 * own under "iosdev/". */
#define IOS_NS "ios"
#define IOS_REC_ID "iosdev/id"            /* the device id the image belongs to */
#define IOS_REC_PENDING "iosdev/pending/" /* + "auth" / "sign": a generated key awaiting its certificate */

/* The JPKI AP with the device it runs on: the VERIFY hook finds the
 * device from the application definition (jpki first, def first in it). */
typedef struct ios_app {
	jpki_app_t jpki;
	sim_ios_t *dev;
} ios_app_t;

struct sim_ios {
	sim_ctx_t *ctx;
	uint8_t id[IOS_DEVICE_ID_LEN];
	uint8_t *attest_key_der, *device_cert, *platform_ca, *issuer_pub;
	size_t attest_key_n, device_cert_n, platform_ca_n, issuer_pub_n;
	EVP_PKEY *attest_key, *issuer;
	ios_blob_t *pool; /* copies of the profile's */
	size_t n_pool;
	enum ios_bio bio;
	int powered;
	int os_apps; /* 1 when os carries the AP (a credential is installed) */
	ios_app_t app;
	cardos_t os;
};

/* The slot's object FIDs (auth 0, sign 1). */
extern const uint16_t ios_slot_key[2], ios_slot_cert[2], ios_slot_ca[2], ios_slot_pin[2];
extern const char *const ios_pending_rec[2];

/* 1 when a credential is installed (EF 0006 written). */
int ios_installed(const sim_ios_t *d);
/* The AP follows NVM: present with a credential, absent without (SELECT
 * answers 6A82 then); keys re-read after a write. */
void ios_sync(sim_ios_t *d);
/* The record of object fid (ctr 1: a PIN's counter): NULL if absent. */
const uint8_t *ios_rec(const sim_ios_t *d, uint16_t fid, int ctr, size_t *n);
/* An NVM_* code as a device result: a tear leaves the device mute. */
int ios_nvm_fail(sim_ios_t *d, int rc);

#endif
