/* test_hil_ios.c — the simulated iPhone (sim/ios) built from its
 * fixtures (fixtures/ios/): the profile loads; before a credential the
 * JPKI AP is absent; keygen, attestation (verifies with the device
 * certificate, which the platform CA issued), install of an issuer-signed
 * credential; then the reader's view: token JPKIAPIOSTOKEN, 80 FC 00 00
 * answered 9000, the auth certificate behind the auth PIN, signatures by
 * the generated keys, no command that reads a key; the biometric check
 * in front of the auth PIN (a match spends no try, a failed match is not
 * a try); counters that survive power loss, a saved image and tears at
 * every write step; refusals of a credential for another device, of a
 * bad issuer signature, of certificates for keys the device did not make;
 * factory reset keeps the credential, remove deletes it; the byte formats
 * the wallet service signs and checks (byte-exact); the sim:ios link. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hil/base/util.h"
#include "hil/fixtures/ios_profile.h"
#include "hil/fixtures/pki.h"
#include "hil/link/link.h"
#include "hil/link/link_sim.h"
#include "sim/core/apdu.h"

#define FX MYNAHIL_SOURCE_DIR "/fixtures/"
#define AUTH_PIN "2468"
#define SIGN_PW "IPHONE2026"

static const uint8_t id_a[16] = "MYNAHIL-IOS-0001";
static const uint8_t id_b[16] = "MYNAHIL-IOS-0002";

/* ---- the harness of one device ---------------------------------------- */

typedef struct dev {
	iosprof_t *prof;
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	sim_ios_t *d;
	uint8_t spki[2][IOS_SPKI_MAX];
	size_t spki_n[2];
} iosdev_t;

static EVP_PKEY *load_key(const char *path)
{
	char err[512];
	uint8_t *der;
	size_t n;
	const uint8_t *p;
	EVP_PKEY *k;

	if (pki_load_key(path, &der, &n, err, sizeof err) < 0)
		fail_msg("%s", err);
	p = der;
	k = d2i_AutoPrivateKey(NULL, &p, (long)n);
	OPENSSL_clear_free(der, n);
	assert_non_null(k);
	return k;
}

static X509 *load_cert(const char *path)
{
	char err[512];
	uint8_t *der;
	size_t n;
	const uint8_t *p;
	X509 *x;

	if (pki_load_der(path, &der, &n, err, sizeof err) < 0)
		fail_msg("%s", err);
	p = der;
	x = d2i_X509(NULL, &p, (long)n);
	free(der);
	assert_non_null(x);
	return x;
}

static void dev_open_on(iosdev_t *v, const char *profile, nvm_t *nvm)
{
	char err[512];

	memset(v, 0, sizeof *v);
	if (!(v->prof = iosprof_load(profile, err, sizeof err)))
		fail_msg("%s", err);
	rng_seed(&v->rng, (uint64_t)profile[strlen(profile) - 5]); /* iphone-a, -b: two streams */
	v->ctx.rng = &v->rng;
	v->ctx.clock = &v->clock;
	v->ctx.nvm = nvm ? nvm : nvm_new();
	assert_int_equal(sim_ios_new(&v->d, iosprof_get(v->prof), &v->ctx), SIM_OK);
}

static void dev_open(iosdev_t *v, const char *profile)
{
	dev_open_on(v, profile, NULL);
}

static void dev_close(iosdev_t *v)
{
	sim_ios_free(v->d);
	iosprof_free(v->prof);
	nvm_free(v->ctx.nvm);
}

static void keygen(iosdev_t *v)
{
	for (int i = 0; i < 2; i++)
		assert_int_equal(ios_keygen(v->d, i, v->spki[i], IOS_SPKI_MAX, &v->spki_n[i]), SIM_OK);
}

/* A certificate for the public key spki, issued by the fixtures' auth
 * (sign = 0) or sign CA with its key (pool 01 / 02): what the J-LIS CA
 * would issue, enough for the device's checks. */
static size_t make_cert(const uint8_t *spki, size_t sn, int sign, long serial, uint8_t **der)
{
	X509 *ca = load_cert(sign ? FX "pki/sign-ca.der" : FX "pki/auth-ca.der");
	EVP_PKEY *cakey = load_key(sign ? FX "keys/pool-02.pem" : FX "keys/pool-01.pem");
	const uint8_t *q = spki;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &q, (long)sn);
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	int n;

	assert_non_null(pub);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ios test", -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	ASN1_TIME_set(X509_getm_notBefore(x), 1767225600);
	ASN1_TIME_set(X509_getm_notAfter(x), 1893456000);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	*der = NULL;
	n = i2d_X509(x, der);
	assert_true(n > 255);
	X509_NAME_free(name);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(cakey);
	return (size_t)n;
}

/* A credential as the wallet service makes it. */
typedef struct cred {
	ios_cred_t c;
	uint8_t *auth, *sign, *auth_ca, *sign_ca, sig[256];
	size_t an, sn, acn, scn;
} cred_t;

static void cred_sign(cred_t *k, const char *key_path)
{
	EVP_PKEY *ik = load_key(key_path);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *tbs;
	size_t tn, siglen = sizeof k->sig;

	assert_int_equal(ios_cred_tbs(&k->c, &tbs, &tn), SIM_OK);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ik), 1);
	assert_int_equal(EVP_DigestSign(md, k->sig, &siglen, tbs, tn), 1);
	k->c.sig = (ios_blob_t){ k->sig, siglen };
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(ik);
	free(tbs);
}

static void cred_make(cred_t *k, const iosdev_t *v, const uint8_t id[16])
{
	char err[512];

	memset(k, 0, sizeof *k);
	memcpy(k->c.device_id, id, 16);
	k->an = make_cert(v->spki[0], v->spki_n[0], 0, 0x0A01, &k->auth);
	k->sn = make_cert(v->spki[1], v->spki_n[1], 1, 0x0A02, &k->sign);
	if (pki_load_der(FX "pki/auth-ca.der", &k->auth_ca, &k->acn, err, sizeof err) < 0 ||
	    pki_load_der(FX "pki/sign-ca.der", &k->sign_ca, &k->scn, err, sizeof err) < 0)
		fail_msg("%s", err);
	k->c.auth_cert = (ios_blob_t){ k->auth, k->an };
	k->c.sign_cert = (ios_blob_t){ k->sign, k->sn };
	k->c.auth_ca = (ios_blob_t){ k->auth_ca, k->acn };
	k->c.sign_ca = (ios_blob_t){ k->sign_ca, k->scn };
	cred_sign(k, FX "keys/pool-57.pem"); /* the wallet issuer (fixtures/ios/gen-ios.sh) */
}

static void cred_free(cred_t *k)
{
	OPENSSL_free(k->auth);
	OPENSSL_free(k->sign);
	free(k->auth_ca);
	free(k->sign_ca);
}

/* keygen + credential + install: a provisioned device. */
static void provision(iosdev_t *v, cred_t *k)
{
	keygen(v);
	cred_make(k, v, id_a);
	assert_int_equal(ios_install(v->d, &k->c, AUTH_PIN, SIGN_PW), SIM_OK);
}

/* One APDU given in hex; returns the SW, the data in out (may be NULL). */
static uint16_t tx(iosdev_t *v, const char *hex, uint8_t *out, size_t *outn)
{
	uint8_t cmd[300], rsp[1024];
	size_t n = (size_t)apdu_unhex(hex, cmd, sizeof cmd), rn = 0;

	assert_int_equal(sim_ios_transmit(v->d, cmd, n, rsp, sizeof rsp, &rn), SIM_OK);
	assert_true(rn >= 2);
	if (out) {
		memcpy(out, rsp, rn - 2);
		*outn = rn - 2;
	}
	return (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
}

#define SELECT_AP "00A4040C0AD392F000260100000001"
#define SEL(fid) "00A4020C02" fid

static int tries(iosdev_t *v, int slot)
{
	ios_view_t w;

	sim_ios_view(v->d, &w);
	return w.pin[slot].tries;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_profile(void **state)
{
	char err[512];
	iosprof_t *p = iosprof_load(FX "ios/iphone-b.lua", err, sizeof err);
	(void)state;

	if (!p)
		fail_msg("%s", err);
	assert_memory_equal(iosprof_get(p)->device_id, id_b, 16);
	assert_int_equal(iosprof_get(p)->n_key_pool, 45); /* pool 11..55 */
	assert_int_equal(iosprof_get(p)->bio, IOS_BIO_MATCH);
	iosprof_free(p);
}

static void test_profile_errors(void **state)
{
	char err[512], path[] = "/tmp/test_hil_ios_XXXXXX";
	int fd = mkstemp(path);
	static const char bad[] = "return { device_id = \"00\", biometric = \"face\" }\n";
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
	close(fd);
	assert_null(iosprof_load(path, err, sizeof err));
	assert_non_null(strstr(err, "device_id"));
	unlink(path);
}

static void test_no_credential(void **state)
{
	iosdev_t v;
	ios_view_t w;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x6A82);
	sim_ios_view(v.d, &w);
	assert_false(w.installed);
	assert_memory_equal(w.device_id, id_a, 16);
	assert_int_equal(ios_set_pins(v.d, "1234", NULL), IOS_ERR_STATE);
	dev_close(&v);
}

static void test_attest(void **state)
{
	static const uint8_t challenge[] = "nonce-0001";
	iosdev_t v;
	ios_attestation_t a;
	uint8_t *tbs;
	size_t tn;
	const uint8_t *p;
	X509 *dc, *ca;
	EVP_PKEY_CTX *pc;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	keygen(&v);
	assert_int_equal(ios_attest(v.d, challenge, sizeof challenge - 1, &a), SIM_OK);
	p = a.device_cert.p;
	dc = d2i_X509(NULL, &p, (long)a.device_cert.n);
	p = a.platform_ca.p;
	ca = d2i_X509(NULL, &p, (long)a.platform_ca.n);
	assert_non_null(dc);
	assert_non_null(ca);
	assert_int_equal(X509_verify(dc, X509_get0_pubkey(ca)), 1);
	assert_int_equal(ios_attest_tbs(id_a, challenge, sizeof challenge - 1, v.spki[0], v.spki_n[0], v.spki[1],
					v.spki_n[1], &tbs, &tn), SIM_OK);
	assert_int_equal(EVP_DigestVerifyInit(md, &pc, EVP_sha256(), NULL, X509_get0_pubkey(dc)), 1);
	assert_int_equal(EVP_DigestVerify(md, a.sig, a.sig_len, tbs, tn), 1);
	/* Another challenge is another signature: it does not verify. */
	tbs[tn - 1 - v.spki_n[0] - v.spki_n[1] - 8] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(md, &pc, EVP_sha256(), NULL, X509_get0_pubkey(dc)), 1);
	assert_int_not_equal(EVP_DigestVerify(md, a.sig, a.sig_len, tbs, tn), 1);
	free(tbs);
	EVP_MD_CTX_free(md);
	X509_free(dc);
	X509_free(ca);
	dev_close(&v);
}

/* The byte formats the wallet service builds and checks (ios.h). */
static void test_formats(void **state)
{
	static const uint8_t ch[2] = { 0xC1, 0xC2 }, a[1] = { 0xAA }, s[3] = { 0x51, 0x52, 0x53 };
	static const uint8_t want_att[] = "MYNAHIL-IOS-ATTEST-1" "MYNAHIL-IOS-0001"
					  "\x00\x00\x00\x02\xC1\xC2" "\x00\x00\x00\x01\xAA" "\x00\x00\x00\x03\x51\x52\x53";
	static const uint8_t want_cred[] = "MYNAHIL-IOS-CRED-1" "MYNAHIL-IOS-0002"
					   "\x00\x00\x00\x01\xAA" "\x00\x00\x00\x00" "\x00\x00\x00\x03\x51\x52\x53"
					   "\x00\x00\x00\x02\xC1\xC2";
	ios_cred_t c = { .auth_cert = { a, 1 }, .sign_cert = { s, 3 }, .sign_ca = { ch, 2 } };
	uint8_t *out;
	size_t n;
	(void)state;

	assert_int_equal(ios_attest_tbs(id_a, ch, 2, a, 1, s, 3, &out, &n), SIM_OK);
	assert_int_equal(n, sizeof want_att - 1);
	assert_memory_equal(out, want_att, n);
	free(out);
	memcpy(c.device_id, id_b, 16);
	assert_int_equal(ios_cred_tbs(&c, &out, &n), SIM_OK);
	assert_int_equal(n, sizeof want_cred - 1);
	assert_memory_equal(out, want_cred, n);
	free(out);
}

static void test_token_80fc_and_gated_cert(void **state)
{
	iosdev_t v;
	cred_t k;
	uint8_t out[1024];
	size_t n;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, SEL("0006"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000020", out, &n), 0x9000);
	assert_int_equal(n, 32);
	assert_memory_equal(out, "JPKIAPIOSTOKEN                  ", 32);
	assert_int_equal(tx(&v, "80FC0000", NULL, NULL), 0x9000);
	/* EF 0008: both certificates present. */
	assert_int_equal(tx(&v, SEL("0008"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000003", out, &n), 0x9000);
	assert_memory_equal(out, "\x8F\x8F\x00", 3);
	/* The CA certificate is free, the auth certificate is not. */
	assert_int_equal(tx(&v, SEL("000B"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", out, &n), 0x9000);
	assert_memory_equal(out, k.auth_ca, 4);
	assert_int_equal(tx(&v, SEL("000A"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", NULL, NULL), 0x6982);
	assert_int_equal(ios_biometric(v.d, IOS_BIO_DISABLED), SIM_OK);
	assert_int_equal(tx(&v, SEL("0018"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "002000800432343638", NULL, NULL), 0x9000); /* 2468 */
	assert_int_equal(tx(&v, SEL("000A"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000000", out, &n), 0x9000);
	assert_int_equal(n, 256);
	assert_memory_equal(out, k.auth, 256);
	/* The sign certificate needs the sign password. */
	assert_int_equal(tx(&v, SEL("0001"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", NULL, NULL), 0x6982);
	cred_free(&k);
	dev_close(&v);
}

/* The keys are the ones generated: a signature verifies with the
 * certificate's key; no READ BINARY of a key object answers data. */
static void test_sign_and_keys_stay(void **state)
{
	static const char digest_info[] = "3031300D060960864801650304020105000420"
					  "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
	iosdev_t v;
	cred_t k;
	uint8_t out[1024], di[51];
	size_t n;
	char cmd[300];
	const uint8_t *q;
	EVP_PKEY *pub;
	EVP_PKEY_CTX *pc;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, SEL("001B"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "002000800A" "4950484F4E4532303236", NULL, NULL), 0x9000); /* IPHONE2026 */
	assert_int_equal(tx(&v, SEL("001A"), NULL, NULL), 0x9000);
	snprintf(cmd, sizeof cmd, "802A008033%s00", digest_info);
	assert_int_equal(tx(&v, cmd, out, &n), 0x9000);
	assert_int_equal(n, 256);
	q = v.spki[1];
	pub = d2i_PUBKEY(NULL, &q, (long)v.spki_n[1]);
	assert_int_equal(apdu_unhex(digest_info, di, sizeof di), 51);
	pc = EVP_PKEY_CTX_new(pub, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify(pc, out, n, di, sizeof di), 1);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pub);
	/* Keys: selectable for signing, never readable (6981), by FID or SFI. */
	assert_int_equal(tx(&v, "00B0000010", NULL, NULL), 0x6981);
	assert_int_equal(tx(&v, SEL("0017"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000010", NULL, NULL), 0x6981);
	assert_int_not_equal(tx(&v, "00B0970010", NULL, NULL), 0x9000);
	assert_int_not_equal(tx(&v, "00B09A0010", NULL, NULL), 0x9000);
	cred_free(&k);
	dev_close(&v);
}

/* docs/ios.md#biometrics: a match opens the auth PIN without spending or
 * restoring a try; a failed match answers 63Cx with the count
 * unchanged; without biometrics the PIN is compared and tries are spent;
 * a lock stays a lock whatever the face. */
static void test_biometrics(void **state)
{
	iosdev_t v;
	cred_t k;
	unsigned long restores;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	restores = v.ctx.pin_restores;
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, SEL("0018"), NULL, NULL), 0x9000);
	/* match: whatever the reader sends, 9000, tries 3 */
	assert_int_equal(tx(&v, "002000800430303030", NULL, NULL), 0x9000);
	assert_int_equal(tries(&v, 0), 3);
	assert_int_equal(tx(&v, SEL("000A"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", NULL, NULL), 0x9000);
	/* no match: 63C3 five times, never a try, and the status is gone */
	assert_int_equal(ios_biometric(v.d, IOS_BIO_NO_MATCH), SIM_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(tx(&v, "002000980432343638", NULL, NULL), 0x63C3);
	assert_int_equal(tries(&v, 0), 3);
	assert_int_equal(tx(&v, SEL("000A"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", NULL, NULL), 0x6982);
	/* not enrolled: the PIN, compared, spends tries */
	assert_int_equal(ios_biometric(v.d, IOS_BIO_NOT_ENROLLED), SIM_OK);
	assert_int_equal(tx(&v, "002000980431313131", NULL, NULL), 0x63C2);
	assert_int_equal(tx(&v, "002000980431313131", NULL, NULL), 0x63C1);
	/* a match now: 9000 and the counter stays at 1 (no restore) */
	assert_int_equal(ios_biometric(v.d, IOS_BIO_MATCH), SIM_OK);
	assert_int_equal(tx(&v, "002000980431313131", NULL, NULL), 0x9000);
	assert_int_equal(tries(&v, 0), 1);
	assert_int_equal(v.ctx.pin_restores, restores);
	/* the retries query is the card's */
	assert_int_equal(tx(&v, "00200098", NULL, NULL), 0x63C1);
	/* locked with the PIN: 63C0, then 6984 — with a match too */
	assert_int_equal(ios_biometric(v.d, IOS_BIO_DISABLED), SIM_OK);
	assert_int_equal(tx(&v, "002000980431313131", NULL, NULL), 0x63C0);
	assert_int_equal(tx(&v, "002000980432343638", NULL, NULL), 0x6984);
	assert_int_equal(ios_biometric(v.d, IOS_BIO_MATCH), SIM_OK);
	assert_int_equal(tx(&v, "002000980432343638", NULL, NULL), 0x6984);
	/* the sign password is always compared, biometrics or not */
	assert_int_equal(tx(&v, "0020009B0441424344", NULL, NULL), 0x63C4);
	assert_int_equal(tries(&v, 1), 4);
	/* the PIN reset with the card (the wallet's flow) unlocks */
	assert_int_equal(ios_set_pins(v.d, "1357", NULL), SIM_OK);
	assert_int_equal(tries(&v, 0), 3);
	assert_true(v.ctx.pin_restores > restores);
	assert_int_equal(ios_biometric(v.d, IOS_BIO_DISABLED), SIM_OK);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "002000980432343638", NULL, NULL), 0x63C2); /* the old PIN */
	assert_int_equal(tx(&v, "002000980431333537", NULL, NULL), 0x9000);
	assert_int_equal(ios_set_pins(v.d, "12a4", NULL), IOS_ERR_PIN);
	assert_int_equal(ios_set_pins(v.d, NULL, "short"), IOS_ERR_PIN);
	cred_free(&k);
	dev_close(&v);
}

/* The PIN a match opens is the card's security status: re-SELECT closes
 * it, and CHANGE REFERENCE DATA after a match sets a new auth PIN. */
static void test_match_status(void **state)
{
	iosdev_t v;
	cred_t k;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "002000980430303030", NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, SEL("000A"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, SEL("000A"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000004", NULL, NULL), 0x6982);
	assert_int_equal(tx(&v, SEL("0018"), NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "002401800439393939", NULL, NULL), 0x6982); /* not open */
	assert_int_equal(tx(&v, "002000800430303030", NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "002401800439393939", NULL, NULL), 0x9000);
	assert_int_equal(ios_biometric(v.d, IOS_BIO_DISABLED), SIM_OK);
	assert_int_equal(tx(&v, "002000800432343638", NULL, NULL), 0x63C2); /* the old one */
	assert_int_equal(tx(&v, "002000800439393939", NULL, NULL), 0x9000);
	cred_free(&k);
	dev_close(&v);
}

/* Counters in NVM: across power-off, a saved and reloaded image, and a
 * tear at every write step of a wrong VERIFY (never a try regained). */
static void test_counters_persist(void **state)
{
	iosdev_t v, w;
	cred_t k;
	uint8_t *img;
	size_t n;
	nvm_t *nvm;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "0020009B0441424344", NULL, NULL), 0x63C4);
	assert_int_equal(tx(&v, "0020009B0441424344", NULL, NULL), 0x63C3);
	assert_int_equal(sim_ios_power(v.d, SIM_POWER_OFF), SIM_OK);
	assert_int_equal(sim_ios_power(v.d, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "0020009B", NULL, NULL), 0x63C3);
	/* tears */
	for (long step = 1; step <= 6; step++) {
		int before = tries(&v, 1), after;
		uint8_t cmd[] = { 0x00, 0x20, 0x00, 0x9B, 0x04, 'A', 'B', 'C', 'D' }, rsp[64];
		size_t rn;
		int rc;

		nvm_tear_at(v.ctx.nvm, step);
		rc = sim_ios_transmit(v.d, cmd, sizeof cmd, rsp, sizeof rsp, &rn);
		nvm_tear_at(v.ctx.nvm, 0);
		assert_int_equal(sim_ios_power(v.d, SIM_POWER_COLD), SIM_OK);
		after = tries(&v, 1);
		assert_true(after == before || after == before - 1);
		if (rc == SIM_OK)
			assert_int_equal(after, before - 1);
		assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
		if (after == 1)
			break;
	}
	assert_true(tries(&v, 1) >= 1);
	/* the image: another device object on it sees the same counter */
	assert_int_equal(nvm_save(v.ctx.nvm, &img, &n), NVM_OK);
	assert_non_null(nvm = nvm_new());
	assert_int_equal(nvm_load(nvm, img, n), NVM_OK);
	free(img);
	dev_open_on(&w, FX "ios/default.lua", nvm);
	assert_int_equal(tries(&w, 1), tries(&v, 1));
	assert_int_equal(tx(&w, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(sim_ios_check_nvm(nvm, NULL), SIM_OK);
	dev_close(&w);
	/* the image of one iPhone is no other's */
	{
		iosdev_t b;
		char err[512];
		iosprof_t *pb = iosprof_load(FX "ios/iphone-b.lua", err, sizeof err);
		sim_ios_t *d = NULL;

		assert_int_equal(nvm_save(v.ctx.nvm, &img, &n), NVM_OK);
		memset(&b, 0, sizeof b);
		rng_seed(&b.rng, 1);
		b.ctx.rng = &b.rng;
		b.ctx.clock = &b.clock;
		b.ctx.nvm = nvm_new();
		assert_int_equal(nvm_load(b.ctx.nvm, img, n), NVM_OK);
		free(img);
		assert_non_null(pb);
		assert_int_equal(sim_ios_new(&d, iosprof_get(pb), &b.ctx), SIM_ERR_IMAGE);
		iosprof_free(pb);
		nvm_free(b.ctx.nvm);
	}
	cred_free(&k);
	dev_close(&v);
}

static void test_install_refusals(void **state)
{
	iosdev_t a, b;
	cred_t k;
	ios_view_t w;
	(void)state;

	dev_open(&a, FX "ios/iphone-a.lua");
	dev_open(&b, FX "ios/iphone-b.lua");
	keygen(&a);
	keygen(&b);
	cred_make(&k, &a, id_a);
	/* replayed on another device: its id is not B's */
	assert_int_equal(ios_install(b.d, &k.c, AUTH_PIN, SIGN_PW), IOS_ERR_DEVICE);
	/* renamed to B and re-signed: B did not generate these keys */
	memcpy(k.c.device_id, id_b, 16);
	cred_sign(&k, FX "keys/pool-57.pem");
	assert_int_equal(ios_install(b.d, &k.c, AUTH_PIN, SIGN_PW), IOS_ERR_KEY);
	/* back to A: a signature by another key, a flipped bit, a swapped
	 * certificate after signing */
	memcpy(k.c.device_id, id_a, 16);
	cred_sign(&k, FX "keys/pool-56.pem");
	assert_int_equal(ios_install(a.d, &k.c, AUTH_PIN, SIGN_PW), IOS_ERR_SIG);
	cred_sign(&k, FX "keys/pool-57.pem");
	k.sig[17] ^= 0x01;
	assert_int_equal(ios_install(a.d, &k.c, AUTH_PIN, SIGN_PW), IOS_ERR_SIG);
	k.sig[17] ^= 0x01;
	k.c.sign_ca = k.c.auth_ca;
	assert_int_equal(ios_install(a.d, &k.c, AUTH_PIN, SIGN_PW), IOS_ERR_SIG);
	k.c.sign_ca = (ios_blob_t){ k.sign_ca, k.scn };
	/* PINs of the wrong form, and none to keep */
	assert_int_equal(ios_install(a.d, &k.c, "246", SIGN_PW), IOS_ERR_PIN);
	assert_int_equal(ios_install(a.d, &k.c, AUTH_PIN, "iphone2026"), IOS_ERR_PIN);
	assert_int_equal(ios_install(a.d, &k.c, NULL, SIGN_PW), IOS_ERR_PIN);
	sim_ios_view(a.d, &w);
	assert_false(w.installed);
	assert_true(w.pending[0] && w.pending[1]);
	/* and the right one goes in */
	assert_int_equal(ios_install(a.d, &k.c, AUTH_PIN, SIGN_PW), SIM_OK);
	sim_ios_view(a.d, &w);
	assert_true(w.installed);
	assert_false(w.pending[0] || w.pending[1]);
	assert_int_equal(w.cert[0].n, k.an);
	assert_memory_equal(w.cert[1].p, k.sign, k.sn);
	cred_free(&k);
	dev_close(&a);
	dev_close(&b);
}

/* A new sign pair (the sign certificate reissued after a lift,
 * docs/ios.md#life-cycle): the auth pair and both PINs stay. */
static void test_reissue_sign(void **state)
{
	iosdev_t v;
	cred_t k, k2;
	ios_view_t w;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	assert_int_equal(ios_keygen(v.d, IOS_SLOT_SIGN, v.spki[1], IOS_SPKI_MAX, &v.spki_n[1]), SIM_OK);
	cred_make(&k2, &v, id_a);
	assert_int_equal(ios_install(v.d, &k2.c, NULL, NULL), SIM_OK);
	sim_ios_view(v.d, &w);
	assert_memory_equal(w.cert[1].p, k2.sign, k2.sn);
	assert_int_equal(w.pin[1].tries, 5);
	/* the old sign certificate is for a key the device no longer has */
	assert_int_equal(ios_install(v.d, &k.c, NULL, NULL), IOS_ERR_KEY);
	cred_free(&k);
	cred_free(&k2);
	dev_close(&v);
}

static void test_factory_reset_and_remove(void **state)
{
	iosdev_t v;
	cred_t k;
	ios_view_t w;
	size_t left = 0;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "0020009B0441424344", NULL, NULL), 0x63C4);
	assert_int_equal(ios_factory_reset(v.d), SIM_OK);
	sim_ios_view(v.d, &w);
	assert_true(w.installed);
	assert_int_equal(w.bio, IOS_BIO_NOT_ENROLLED);
	assert_int_equal(w.pin[1].tries, 4);
	assert_memory_equal(w.cert[0].p, k.auth, k.an);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(ios_remove(v.d), SIM_OK);
	sim_ios_view(v.d, &w);
	assert_false(w.installed);
	assert_int_equal(w.cert[0].n, 0);
	assert_int_equal(w.pin[0].tries, -1);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x6A82);
	/* nothing of the credential is left in NVM: only the device id */
	{
		size_t n;
		left = nvm_count(v.ctx.nvm);
		assert_non_null(nvm_get(v.ctx.nvm, "iosdev/id", &n));
	}
	assert_int_equal(left, 1);
	cred_free(&k);
	dev_close(&v);
}

/* Half-valid, erase_revoked (ios_erase_slot): the sign pair erased, the
 * credential kept for the auth pair: EF 0001 and the sign password are
 * gone (6A82), EF 0008 says no sign pair, the auth PIN and certificate
 * work; erasing the last pair is refused (that is ios_remove), and so is
 * erasing on a blank iPhone. */
static void test_erase_slot(void **state)
{
	iosdev_t v;
	cred_t k;
	ios_view_t w;
	uint8_t out[64];
	size_t n;
	(void)state;

	dev_open(&v, FX "ios/default.lua");
	assert_int_equal(ios_erase_slot(v.d, IOS_SLOT_SIGN), IOS_ERR_STATE);
	provision(&v, &k);
	assert_int_equal(ios_erase_slot(v.d, IOS_SLOT_SIGN), SIM_OK);
	sim_ios_view(v.d, &w);
	assert_true(w.installed);
	assert_int_equal(w.cert[1].n, 0);
	assert_int_equal(w.pin[1].tries, -1);
	assert_memory_equal(w.cert[0].p, k.auth, k.an);
	assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00A4020C020001", NULL, NULL), 0x6A82);
	assert_int_equal(tx(&v, "00A4020C02001B", NULL, NULL), 0x6A82);
	assert_int_equal(tx(&v, "00A4020C020008", NULL, NULL), 0x9000);
	assert_int_equal(tx(&v, "00B0000000", out, &n), 0x9000);
	assert_true(n >= 2);
	assert_int_equal(out[0], 0x00); /* no sign pair */
	assert_int_equal(out[1], 0x8F); /* the auth pair */
	assert_int_equal(tx(&v, "00A4020C020018", NULL, NULL), 0x9000);
	assert_int_equal(ios_biometric(v.d, IOS_BIO_DISABLED), SIM_OK);
	assert_int_equal(tx(&v, "002000800432343638", NULL, NULL), 0x9000); /* "2468" */
	assert_int_equal(ios_erase_slot(v.d, IOS_SLOT_AUTH), IOS_ERR_STATE); /* the last pair */
	cred_free(&k);
	dev_close(&v);
}

/* A tear in the middle of install: the device holds the old state or the
 * new, never a credential without its PINs. */
static void test_install_tears(void **state)
{
	(void)state;
	for (long step = 1;; step++) {
		iosdev_t v;
		cred_t k;
		ios_view_t w;
		int rc;

		dev_open(&v, FX "ios/default.lua");
		keygen(&v);
		cred_make(&k, &v, id_a);
		nvm_tear_at(v.ctx.nvm, step);
		rc = ios_install(v.d, &k.c, AUTH_PIN, SIGN_PW);
		nvm_tear_at(v.ctx.nvm, 0);
		assert_int_equal(sim_ios_power(v.d, SIM_POWER_COLD), SIM_OK);
		sim_ios_view(v.d, &w);
		if (rc == SIM_OK) {
			assert_true(w.installed);
			cred_free(&k);
			dev_close(&v);
			break;
		}
		assert_int_equal(rc, SIM_ERR_MUTE);
		assert_false(w.installed);
		assert_int_equal(w.pin[0].tries, -1);
		assert_true(w.pending[0] && w.pending[1]);
		assert_int_equal(tx(&v, SELECT_AP, NULL, NULL), 0x6A82);
		cred_free(&k);
		dev_close(&v);
		assert_true(step < 200);
	}
}

/* The sim:ios link: APDUs, the device behind it, the state file. */
static void test_link(void **state)
{
	char err[512], uri[600], path[] = "/tmp/test_hil_ios_state_XXXXXX";
	link_t *l = NULL;
	link_opts_t o = { .seed = 1, .label = "t" };
	uint8_t rsp[64], atr[33];
	size_t rn;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	close(fd);
	unlink(path); /* absent: a blank device, saved at close */
	snprintf(uri, sizeof uri, "sim:ios?profile=%sios/iphone-c.lua&state=%s", FX, path);
	if (link_open(&l, uri, &o, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_non_null(link_sim_ios(l));
	assert_null(link_sim_se(l));
	assert_int_equal(link_atr(l, atr, sizeof atr), 5);
	assert_memory_equal(atr, "\x3B\x80\x80\x01\x01", 5);
	assert_int_equal(link_transmit(l, (const uint8_t *)"\x00\xA4\x04\x0C\x0A\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01",
				       15, rsp, sizeof rsp, &rn, 1000), LINK_OK);
	assert_int_equal(rn, 2);
	assert_memory_equal(rsp, "\x6A\x82", 2);
	link_close(l);
	{
		uint8_t *img;
		size_t n;
		nvm_t *nvm = nvm_new();
		assert_int_equal(util_read_file(path, &img, &n), 0);
		assert_int_equal(nvm_load(nvm, img, n), NVM_OK);
		assert_non_null(nvm_get(nvm, "iosdev/id", &n));
		free(img);
		nvm_free(nvm);
	}
	/* serial=: another iPhone, 8 hex digits */
	snprintf(uri, sizeof uri, "sim:ios?serial=0102030");
	assert_true(link_open(&l, uri, &o, err, sizeof err) < 0);
	assert_non_null(strstr(err, "8 hex digits"));
	snprintf(uri, sizeof uri, "sim:ios?serial=01020304");
	if (link_open(&l, uri, &o, err, sizeof err) < 0)
		fail_msg("%s", err);
	{
		ios_view_t view;
		sim_ios_view(link_sim_ios(l), &view);
		assert_memory_equal(view.device_id, "MYNAHIL-01020304", IOS_DEVICE_ID_LEN);
	}
	link_close(l);
	unlink(path);
}

/* A derived iPhone (iosprof_instance, sim:ios?serial=): its own device id,
 * a device certificate the platform CA signed naming it (what the wallet
 * service checks: wallet_crypto.c names_device, chains), the same bytes
 * for the same serial, other bytes for another; without the profile's
 * platform_key it is refused, and a platform_key that is not the
 * platform CA's is refused at load. */
static void test_derived(void **state)
{
	static const uint8_t s1[4] = { 0x1A, 0x2B, 0x3C, 0x4D }, s2[4] = { 0x1A, 0x2B, 0x3C, 0x4E };
	char err[512], sn[64], path[] = "/tmp/test_hil_ios_XXXXXX";
	iosprof_t *p = iosprof_load(FX "ios/iphone-b.lua", err, sizeof err), *q;
	const ios_profile_t *ip;
	const uint8_t *d;
	X509 *x, *ca = load_cert(FX "ios/platform-ca.der");
	uint8_t *first;
	size_t first_n;
	int fd;
	(void)state;

	if (!p)
		fail_msg("%s", err);
	assert_int_equal(iosprof_instance(p, s1, err, sizeof err), 0);
	ip = iosprof_get(p);
	assert_memory_equal(ip->device_id, "MYNAHIL-1A2B3C4D", IOS_DEVICE_ID_LEN);
	d = ip->device_cert.p;
	assert_non_null(x = d2i_X509(NULL, &d, (long)ip->device_cert.n));
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_serialNumber, sn, sizeof sn) > 0);
	assert_string_equal(sn, "4D594E4148494C2D3141324233433444"); /* "MYNAHIL-1A2B3C4D" */
	X509_free(x);
	first_n = ip->device_cert.n;
	assert_non_null(first = malloc(first_n));
	memcpy(first, ip->device_cert.p, first_n);
	/* the same profile and serial again: the same certificate; another
	 * serial: another */
	q = iosprof_load(FX "ios/iphone-b.lua", err, sizeof err);
	assert_non_null(q);
	assert_int_equal(iosprof_instance(q, s1, err, sizeof err), 0);
	assert_int_equal(iosprof_get(q)->device_cert.n, first_n);
	assert_memory_equal(iosprof_get(q)->device_cert.p, first, first_n);
	assert_int_equal(iosprof_instance(q, s2, err, sizeof err), 0);
	assert_memory_equal(iosprof_get(q)->device_id, "MYNAHIL-1A2B3C4E", IOS_DEVICE_ID_LEN);
	assert_true(iosprof_get(q)->device_cert.n != first_n ||
		    memcmp(iosprof_get(q)->device_cert.p, first, first_n));
	iosprof_free(q);
	free(first);
	iosprof_free(p);
	X509_free(ca);

	/* no platform_key: no derived iPhone; a key not the CA's: refused */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	{
		static const char prof[] = "return { device_id = \"4D594E4148494C2D494F532D30303032\",\n"
					   "  attest_key = \"" FX "keys/pool-59.pem\", device_cert = \"" FX "ios/iphone-b.der\",\n"
					   "  platform_ca = \"" FX "ios/platform-ca.der\", issuer_pub = \"" FX "ios/issuer-pub.der\" }\n";
		assert_int_equal(write(fd, prof, sizeof prof - 1), (ssize_t)(sizeof prof - 1));
	}
	close(fd);
	assert_non_null(p = iosprof_load(path, err, sizeof err));
	assert_int_equal(iosprof_instance(p, s1, err, sizeof err), -1);
	assert_non_null(strstr(err, "platform_key"));
	iosprof_free(p);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	{
		static const char prof[] = "return { device_id = \"4D594E4148494C2D494F532D30303032\",\n"
					   "  attest_key = \"" FX "keys/pool-59.pem\", device_cert = \"" FX "ios/iphone-b.der\",\n"
					   "  platform_ca = \"" FX "ios/platform-ca.der\", issuer_pub = \"" FX "ios/issuer-pub.der\",\n"
					   "  platform_key = \"" FX "keys/pool-57.pem\" }\n";
		assert_int_equal(write(fd, prof, sizeof prof - 1), (ssize_t)(sizeof prof - 1));
	}
	close(fd);
	assert_null(iosprof_load(path, err, sizeof err));
	assert_non_null(strstr(err, "platform_key"));
	unlink(path);
}

/* test_hil_ios --provision PATH: iphone-a provisioned as in these tests
 * (auth PIN 2468, sign password IPHONE2026, certificates by the fixtures'
 * CAs), its NVM image written to PATH: what tests/interop/ios_vpcd.sh
 * serves behind pcscd (no provisioning service needed to read a phone). */
static int write_provisioned(const char *path)
{
	iosdev_t v;
	cred_t k;
	uint8_t *img;
	size_t n;
	int rc;

	dev_open(&v, FX "ios/default.lua");
	provision(&v, &k);
	rc = nvm_save(v.ctx.nvm, &img, &n) == NVM_OK && util_write_file(path, img, n) == 0 ? 0 : 1;
	if (rc == 0)
		free(img);
	cred_free(&k);
	dev_close(&v);
	if (rc)
		fprintf(stderr, "test_hil_ios: cannot write %s\n", path);
	return rc;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_profile_errors),
		cmocka_unit_test(test_no_credential),
		cmocka_unit_test(test_attest),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_token_80fc_and_gated_cert),
		cmocka_unit_test(test_sign_and_keys_stay),
		cmocka_unit_test(test_biometrics),
		cmocka_unit_test(test_match_status),
		cmocka_unit_test(test_counters_persist),
		cmocka_unit_test(test_install_refusals),
		cmocka_unit_test(test_reissue_sign),
		cmocka_unit_test(test_factory_reset_and_remove),
		cmocka_unit_test(test_erase_slot),
		cmocka_unit_test(test_install_tears),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_derived),
	};
	if (argc == 3 && strcmp(argv[1], "--provision") == 0)
		return write_provisioned(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: test_hil_ios [--provision STATE-FILE]\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
