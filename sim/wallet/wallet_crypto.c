/* wallet_crypto.c — the device attestation's checks and the credential's
 * signature (docs/ios.md#the-provisioning-service).  MODELLED ASSUMPTION:
 * Apple's attestation and credential formats are not public; these are
 * the byte formats of sim/ios/ios.h (ios_attest_tbs, ios_cred_tbs), RSA
 * PKCS#1 v1.5 over SHA-256 both. */
#include "wallet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "../core/apdu.h"
#include "../core/vclock.h"

static int verify_sha256(EVP_PKEY *key, const uint8_t *m, size_t n, const uint8_t *sig, size_t sn)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, key) == 1 &&
		 EVP_DigestVerify(c, sig, sn, m, n) == 1;

	EVP_MD_CTX_free(c);
	return ok;
}

/* The device certificate names the device: its subject's serialNumber
 * (or, failing that, its CN) is the device id in hex, either case. */
static int names_device(X509 *cert, const uint8_t id[IOS_DEVICE_ID_LEN])
{
	char want[2 * IOS_DEVICE_ID_LEN + 1], got[128];
	X509_NAME *s = X509_get_subject_name(cert);
	int n;

	apdu_hex(id, IOS_DEVICE_ID_LEN, want);
	n = X509_NAME_get_text_by_NID(s, NID_serialNumber, got, sizeof got);
	if (n < 0)
		n = X509_NAME_get_text_by_NID(s, NID_commonName, got, sizeof got);
	if (n < 0)
		return 0;
	/* a CN may carry a prefix ("iPhone 0011..."): the id at its end */
	return (size_t)n >= sizeof want - 1 && !strcasecmp(got + n - (sizeof want - 1), want);
}

/* cert chains to the platform CA at the virtual now, as a leaf. */
static int chains(wallet_t *w, X509 *cert)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *c = X509_STORE_CTX_new();
	int ok = 0;

	if (st && c && X509_STORE_add_cert(st, w->platform_ca) == 1 && X509_STORE_CTX_init(c, st, cert, NULL) == 1) {
		X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(c);
		X509_VERIFY_PARAM_set_time(p, (time_t)vclock_now(w->ctx->clock));
		ok = X509_verify_cert(c) == 1;
	}
	X509_STORE_CTX_free(c);
	X509_STORE_free(st);
	return ok;
}

int wallet_attest_check(wallet_t *w, const uint8_t device_id[IOS_DEVICE_ID_LEN], const uint8_t *challenge,
			size_t cn, const uint8_t *cert_der, size_t certn, const uint8_t *sig, size_t sn,
			const uint8_t *auth, size_t an, const uint8_t *sign, size_t gn, char *why, size_t whylen)
{
	const uint8_t *p = cert_der;
	X509 *cert = d2i_X509(NULL, &p, (long)certn);
	uint8_t *tbs = NULL;
	size_t tn = 0;
	int rc = -1;

	if (!cert || p != cert_der + certn) {
		snprintf(why, whylen, "attestation: the device certificate is not DER X.509");
		goto out;
	}
	if (!chains(w, cert)) {
		snprintf(why, whylen, "attestation: the device certificate does not chain to the platform CA");
		goto out;
	}
	if (!names_device(cert, device_id)) {
		snprintf(why, whylen, "attestation: the device certificate names another device");
		goto out;
	}
	if (ios_attest_tbs(device_id, challenge, cn, auth, an, sign, gn, &tbs, &tn) != SIM_OK) {
		snprintf(why, whylen, "attestation: cannot build what it signs");
		goto out;
	}
	if (!verify_sha256(X509_get0_pubkey(cert), tbs, tn, sig, sn)) {
		snprintf(why, whylen, "attestation: the signature over the challenge and the keys does not verify");
		goto out;
	}
	rc = 0;
out:
	free(tbs);
	X509_free(cert);
	return rc;
}

json_t *wallet_credential(wallet_t *w, const uint8_t device_id[IOS_DEVICE_ID_LEN], const uint8_t *auth_cert,
			  size_t an, const uint8_t *sign_cert, size_t sn)
{
	ios_cred_t c = { .auth_cert = { auth_cert, an }, .auth_ca = { w->auth_ca, w->auth_ca_n },
			 .sign_cert = { sign_cert, sn }, .sign_ca = { sn ? w->sign_ca : NULL, sn ? w->sign_ca_n : 0 } };
	uint8_t *tbs = NULL, sig[IOS_SIG_MAX];
	size_t tn = 0, sl = sizeof sig;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	json_t *out = NULL;

	memcpy(c.device_id, device_id, IOS_DEVICE_ID_LEN);
	if (m && ios_cred_tbs(&c, &tbs, &tn) == SIM_OK && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, w->issuer) == 1 &&
	    EVP_DigestSign(m, sig, &sl, tbs, tn) == 1)
		out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "device_id", tsm_jhex(device_id, IOS_DEVICE_ID_LEN),
				"auth_cert", tsm_jhex(auth_cert, an), "auth_ca", tsm_jhex(w->auth_ca, w->auth_ca_n),
				"sign_cert", tsm_jhex(sign_cert, sn), "sign_ca",
				tsm_jhex(sn ? w->sign_ca : NULL, sn ? w->sign_ca_n : 0), "signature", tsm_jhex(sig, sl));
	EVP_MD_CTX_free(m);
	free(tbs);
	return out;
}
