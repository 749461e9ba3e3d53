/* ios.h — the simulated iPhone: the JPKI credential in Apple Wallet as the
 * readers see it, and the device operations the provisioning flow calls
 * (docs/ios.md).
 *
 * On the wire (ISO 14443-4 / PC/SC, as sim:card and sim:se) the phone is
 * the card's JPKI AP (sim/card/jpki.c over cardos) with the iPhone
 * personality: token JPKIAPIOSTOKEN, 80 FC 00 00 answered 9000, EF 000A
 * readable only after the auth PIN, a 4-digit auth PIN (3 tries) and a
 * sign password (6-16 of A-Z0-9, 5 tries) set on the phone, counters in
 * NVM.  The private keys never leave the device: no command and no
 * function here returns them.  The auth PIN's VERIFY goes through the
 * biometric check (ios_biometric): an assumption, docs/ios.md#biometrics.
 *
 * Off the wire, the wallet app layer drives the provisioning (docs/ios.md
 * #provisioning, every part a modelled assumption): ios_keygen makes a key
 * pair in a slot, ios_attest signs a challenge and the public keys with
 * the device attestation key (certified by a test platform CA at
 * manufacture, fixtures/ios/), ios_install takes the issuer-signed
 * credential bound to this device, ios_remove deletes it (revocation),
 * ios_factory_reset does not (docs/ios.md#life-cycle).
 *
 * A pure state machine like the card: randomness (key choice from the
 * pool), time and NVM come from the sim_ctx_t. */
#ifndef IOS_H
#define IOS_H

#include <stddef.h>
#include <stdint.h>
#include "../core/sim.h"

#define IOS_DEVICE_ID_LEN 16 /* the device's identity (serial), 16 bytes */
#define IOS_SIG_MAX 512       /* an RSA signature up to 4096 bits */
#define IOS_SPKI_MAX 600      /* a DER SubjectPublicKeyInfo of RSA up to 4096 */

typedef struct ios_blob {
	const uint8_t *p;
	size_t n;
} ios_blob_t;

/* The two key slots of the credential. */
enum ios_slot { IOS_SLOT_AUTH = 0, IOS_SLOT_SIGN = 1 };

/* The biometric check a scenario controls (docs/ios.md#biometrics, an
 * assumption).  What the reader sees on VERIFY of the auth PIN (EF 0018,
 * with data):
 *   MATCH         9000: the PIN check is satisfied, no try spent, the
 *                 data not compared (biometrics replace the PIN in use);
 *                 a locked PIN (6984) stays locked.
 *   NO_MATCH      63Cx with x the tries left, unchanged: a failed match
 *                 is not a PIN try.
 *   NOT_ENROLLED,
 *   DISABLED      no biometric prompt: the data is compared with the
 *                 4-digit PIN as on Android (63Cx decremented, 63C0,
 *                 6984).  The device passcode is never asked.
 * The sign password is always compared (5 tries). */
enum ios_bio {
	IOS_BIO_MATCH = 0,
	IOS_BIO_NO_MATCH,
	IOS_BIO_NOT_ENROLLED,
	IOS_BIO_DISABLED,
	IOS_BIO_COUNT
};

/* What the device is built with at "manufacture".  Read only during
 * sim_ios_new(); the device copies what it keeps. */
typedef struct ios_profile {
	uint8_t device_id[IOS_DEVICE_ID_LEN]; /* the device's serial */
	ios_blob_t attest_key;  /* PKCS#8 DER RSA-2048: the device attestation key */
	ios_blob_t device_cert; /* DER: its certificate, by the platform CA, naming device_id */
	ios_blob_t platform_ca; /* DER: the test platform CA's certificate */
	/* DER SubjectPublicKeyInfo of the wallet service's credential
	 * signing key: ios_install checks the issuer signature with it. */
	ios_blob_t issuer_pub;
	/* RSA-2048 private keys (PKCS#8 DER) ios_keygen draws from by the
	 * run's RNG; empty: fresh keys from OpenSSL (non-deterministic). */
	const ios_blob_t *key_pool;
	size_t n_key_pool;
	enum ios_bio bio; /* the biometric state at power-up; 0 = MATCH */
} ios_profile_t;

/* The issuer-signed credential (docs/ios.md#credential, an assumption:
 * Apple's format is not public).  The issuer signs ios_cred_tbs() with
 * RSA PKCS#1 v1.5 over SHA-256. */
typedef struct ios_cred {
	uint8_t device_id[IOS_DEVICE_ID_LEN]; /* the device it is bound to */
	ios_blob_t auth_cert, auth_ca;        /* DER; EF 000A / 000B */
	ios_blob_t sign_cert, sign_ca;        /* DER; sign_cert.n == 0: no sign pair (a minor) */
	ios_blob_t sig;                       /* the issuer's signature */
} ios_cred_t;

/* The device attestation: sig (RSA PKCS#1 v1.5 SHA-256 by the device
 * attestation key over ios_attest_tbs()) and the chain, which points into
 * the device (valid while it lives). */
typedef struct ios_attestation {
	uint8_t sig[IOS_SIG_MAX];
	size_t sig_len;
	ios_blob_t device_cert, platform_ca;
} ios_attestation_t;

/* Device operation errors (negative, beside SIM_ERR_*). */
#define IOS_ERR_SIG -20     /* the credential's issuer signature does not verify */
#define IOS_ERR_DEVICE -21  /* the credential names another device */
#define IOS_ERR_KEY -22     /* a certificate is not for a key this device generated */
#define IOS_ERR_PIN -23     /* a PIN of the wrong format (auth 4 digits, sign 6-16 A-Z0-9) */
#define IOS_ERR_STATE -24   /* no such key/credential for this operation */
#define IOS_ERR_CERT -25    /* a certificate that is not DER 30 82 LL LL */

typedef struct sim_ios sim_ios_t;

/* Build a device on ctx.  An NVM holding a device (a loaded image) keeps
 * its contents (credential, PINs, counters, keys); the profile supplies
 * identity, attestation and pool.  SIM_OK, SIM_ERR_PROFILE, SIM_ERR_IMAGE. */
int sim_ios_new(sim_ios_t **out, const ios_profile_t *p, sim_ctx_t *ctx);
/* Power nvm up and check every record of a loaded image: SIM_OK or
 * SIM_ERR_IMAGE with *f (may be NULL) naming the record. */
int sim_ios_check_nvm(nvm_t *nvm, nvm_fault_t *f);
void sim_ios_free(sim_ios_t *d);
/* OFF: mute.  COLD/WARM: NVM recovery, selection and security cleared. */
int sim_ios_power(sim_ios_t *d, enum sim_power how);
/* The ATR a PC/SC reader builds for the phone's Type A emulation. */
size_t sim_ios_atr(const sim_ios_t *d, uint8_t *atr, size_t cap);
/* One APDU in, one response out.  SIM_OK, or SIM_ERR_MUTE (off, torn). */
int sim_ios_transmit(sim_ios_t *d, const uint8_t *cmd, size_t len,
		     uint8_t *rsp, size_t cap, size_t *rsplen);

/* ---- device operations (the wallet app layer; not APDUs) ------------- */

/* A new key pair in slot, generated inside (from the pool by the run's
 * RNG, never the other slot's key); the public key comes out as DER
 * SubjectPublicKeyInfo.  The pair is pending until ios_install binds a
 * certificate to it; an installed credential keeps working meanwhile. */
int ios_keygen(sim_ios_t *d, enum ios_slot slot, uint8_t *spki, size_t cap, size_t *n);
/* Sign challenge and the slots' current public keys with the attestation
 * key; out gets the signature and the chain. */
int ios_attest(sim_ios_t *d, const uint8_t *challenge, size_t n, ios_attestation_t *out);
/* The bytes an attestation signs, for the verifier (docs/ios.md#attestation):
 * "MYNAHIL-IOS-ATTEST-1", device_id, then challenge, auth SPKI and sign
 * SPKI each as a 4-byte big-endian length and the bytes (an absent key:
 * length 0).  *out is malloc'd, the caller frees it. */
int ios_attest_tbs(const uint8_t device_id[IOS_DEVICE_ID_LEN], const uint8_t *challenge, size_t cn,
		   const uint8_t *auth_spki, size_t an, const uint8_t *sign_spki, size_t sn,
		   uint8_t **out, size_t *outn);
/* The bytes a credential's issuer signs (docs/ios.md#credential):
 * "MYNAHIL-IOS-CRED-1", device_id, then auth_cert, auth_ca, sign_cert,
 * sign_ca each as a 4-byte big-endian length and the bytes.  *out is
 * malloc'd, the caller frees it. */
int ios_cred_tbs(const ios_cred_t *c, uint8_t **out, size_t *outn);
/* Install (or replace) the credential in one NVM transaction: the issuer
 * signature must verify with the profile's issuer_pub (IOS_ERR_SIG), the
 * device id be this device's (IOS_ERR_DEVICE), each certificate carry the
 * slot's pending (else installed) key (IOS_ERR_KEY).  auth_pin (4 digits)
 * and sign_pw (6-16 of A-Z0-9) are the new iPhone PINs the owner sets,
 * counters full; NULL keeps the installed one (IOS_ERR_PIN if none). */
int ios_install(sim_ios_t *d, const ios_cred_t *c, const char *auth_pin, const char *sign_pw);
/* Revocation on the phone: credential, keys, PINs and counters deleted. */
int ios_remove(sim_ios_t *d);
/* One pair revoked, the other valid, under the policy half_valid =
 * erase_revoked (docs/ios.md#half-valid): the slot's key, certificate, CA
 * certificate and PIN deleted in one NVM transaction, EF 0008 following;
 * the credential stays for the other pair.  IOS_ERR_STATE without a
 * credential, or when the slot is the last pair (that is ios_remove). */
int ios_erase_slot(sim_ios_t *d, enum ios_slot slot);
/* Factory reset: pending keys dropped, biometrics NOT_ENROLLED, security
 * cleared; the credential, its PINs and counters stay (docs/ios.md#life-cycle). */
int ios_factory_reset(sim_ios_t *d);
/* PIN reset with the card (the wallet drives it): sets auth_pin and/or
 * sign_pw (NULL: leave) and their counters to full.  IOS_ERR_STATE without
 * a credential, IOS_ERR_PIN for a bad format. */
int ios_set_pins(sim_ios_t *d, const char *auth_pin, const char *sign_pw);
/* The biometric check's outcome from now on (volatile, not in NVM). */
int ios_biometric(sim_ios_t *d, enum ios_bio b);
/* Names for messages and the Lua binding: "match", "no_match",
 * "not_enrolled", "disabled"; ios_bio_parse returns -1 for another. */
const char *ios_bio_name(enum ios_bio b);
int ios_bio_parse(const char *s);
/* "bad issuer signature", ... for IOS_ERR_* and SIM_ERR_*. */
const char *ios_strerror(int err);

/* The oracle's view: read from NVM without touching state.  certs point
 * into NVM (valid until the next command), the DER only (no filler). */
typedef struct ios_view {
	uint8_t device_id[IOS_DEVICE_ID_LEN];
	int installed;           /* a credential is on the device */
	enum ios_bio bio;
	ios_blob_t cert[2];      /* auth, sign (n 0: none) */
	sim_pin_view_t pin[2];   /* auth 0018, sign 001B (tries -1: none) */
	int pending[2];          /* a generated key awaits its certificate */
} ios_view_t;
void sim_ios_view(const sim_ios_t *d, ios_view_t *v);

#endif
