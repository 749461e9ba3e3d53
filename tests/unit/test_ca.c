/* test_ca.c — the J-LIS CA simulator (sim/ca): card certificates
 * (fields, chain under the fixture root, SAN, validity to the 5th
 * birthday), phone certificates authorised by the card's sign key and
 * refused when the signature, the card certificate's status or its
 * validity is wrong, the linkage and linked revocation (a MODELLED
 * ASSUMPTION), hold and lift, CRLs and OCSP responses as OpenSSL reads
 * them, determinism from the seed, and persistence in a file database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sim/ca/ca.h"

#define FX MYNAHIL_SOURCE_DIR "/fixtures/"
#define T_ISSUE "20260105000000Z" /* the fixtures' issue date */

/* ------------------------------------------------------------ fixtures */

typedef struct blob {
	uint8_t *p;
	size_t n;
} blob_t;

static blob_t rd(const char *rel)
{
	char path[512];
	blob_t b = { 0 };
	FILE *f;
	long n;

	snprintf(path, sizeof path, FX "%s", rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b.p = malloc((size_t)n);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b.n = (size_t)n;
	return b;
}

static EVP_PKEY *pool_key(int i)
{
	char rel[64];
	blob_t b;
	BIO *bio;
	EVP_PKEY *k;

	snprintf(rel, sizeof rel, "keys/pool-%02d.pem", i);
	b = rd(rel);
	bio = BIO_new_mem_buf(b.p, (int)b.n);
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(b.p);
	assert_non_null(k);
	return k;
}

static blob_t spki_of(EVP_PKEY *k)
{
	blob_t b = { 0 };
	uint8_t *tmp = NULL;
	int n = i2d_PUBKEY(k, &tmp);

	assert_true(n > 0);
	b.p = malloc((size_t)n);
	memcpy(b.p, tmp, (size_t)n);
	b.n = (size_t)n;
	OPENSSL_free(tmp);
	return b;
}

static X509 *x509_of(const uint8_t *p, size_t n)
{
	X509 *x = d2i_X509(NULL, &p, (long)n);
	assert_non_null(x);
	return x;
}

static int64_t t_of(const char *s)
{
	int64_t t;
	assert_int_equal(vclock_parse(s, &t), 0);
	return t;
}

static int64_t asn1_t(const ASN1_TIME *a)
{
	struct tm tm;
	char s[32];

	assert_int_equal(ASN1_TIME_to_tm(a, &tm), 1);
	snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return t_of(s);
}

/* Everything one test needs: a CA on the fixture CA keys, a clock at the
 * fixtures' issue date, alice's card certificates imported. */
typedef struct env {
	rng_t rng;
	vclock_t clk;
	sim_ctx_t ctx;
	ca_t *ca;
	blob_t auth_key, sign_key, auth_cert, sign_cert;
	EVP_PKEY *alice_sign_key;
	uint64_t alice_auth, alice_sign;
} env_t;

static blob_t key_der(int pool, int pkcs8)
{
	EVP_PKEY *k = pool_key(pool);
	blob_t b = { 0 };
	uint8_t *tmp = NULL;
	int n;

	if (pkcs8) {
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &tmp);
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else
		n = i2d_PrivateKey(k, &tmp);
	assert_true(n > 0);
	b.p = malloc((size_t)n);
	memcpy(b.p, tmp, (size_t)n);
	b.n = (size_t)n;
	OPENSSL_free(tmp);
	EVP_PKEY_free(k);
	return b;
}

static ca_config_t config(env_t *e, const char *db)
{
	ca_config_t c = {
		.auth_key = { e->auth_key.p, e->auth_key.n },
		.auth_cert = { e->auth_cert.p, e->auth_cert.n },
		.sign_key = { e->sign_key.p, e->sign_key.n },
		.sign_cert = { e->sign_cert.p, e->sign_cert.n },
		.db = db,
	};
	return c;
}

static void env_open(env_t *e, const char *db)
{
	ca_config_t c = config(e, db);
	char err[256];

	assert_int_equal(ca_open(&e->ca, &e->ctx, &c, err, sizeof err), CA_OK);
}

static void import_alice(env_t *e)
{
	blob_t a = rd("pki/alice-auth.der"), s = rd("pki/alice-sign.der");

	assert_int_equal(ca_import_card(e->ca, "alice", a.p, a.n, &e->alice_auth), CA_OK);
	assert_int_equal(ca_import_card(e->ca, "alice", s.p, s.n, &e->alice_sign), CA_OK);
	assert_int_equal(e->alice_auth, 0x0700A001);
	assert_int_equal(e->alice_sign, 0x0700A002);
	free(a.p);
	free(s.p);
}

static env_t *env_new(uint64_t seed, const char *db)
{
	env_t *e = calloc(1, sizeof *e);

	assert_non_null(e);
	rng_seed(&e->rng, seed);
	vclock_set(&e->clk, t_of(T_ISSUE));
	e->ctx.rng = &e->rng;
	e->ctx.clock = &e->clk;
	/* One key as PKCS#8, one as a bare RSAPrivateKey: both are taken. */
	e->auth_key = key_der(1, 1);
	e->sign_key = key_der(2, 0);
	e->auth_cert = rd("pki/auth-ca.der");
	e->sign_cert = rd("pki/sign-ca.der");
	e->alice_sign_key = pool_key(4);
	env_open(e, db);
	import_alice(e);
	return e;
}

static void env_free(env_t *e)
{
	ca_close(e->ca);
	free(e->auth_key.p);
	free(e->sign_key.p);
	free(e->auth_cert.p);
	free(e->sign_cert.p);
	EVP_PKEY_free(e->alice_sign_key);
	free(e);
}

/* alice's holder record, as gen-pki.sh has it. */
static ca_holder_t alice(void)
{
	ca_holder_t h = {
		.id = "alice",
		.birth = "19800217",
		.name = "\xE5\xB1\xB1\xE7\x94\xB0\xE3\x80\x80\xE8\x8A\xB1\xE5\xAD\x90", /* 山田　花子 */
		.sex = "2",
		.address = "\xE6\x9D\xB1\xE4\xBA\xAC\xE9\x83\xBD\xE6\x96\xB0\xE5\xAE\xBF\xE5\x8C\xBA"
			   "\xE8\xA5\xBF\xE6\x96\xB0\xE5\xAE\xBF\xE4\xBA\x8C\xE4\xB8\x81\xE7\x9B\xAE"
			   "\xEF\xBC\x98\xE7\x95\xAA\xEF\xBC\x91\xE5\x8F\xB7\xE3\x80\x80\xE8\xA5\xBF"
			   "\xE6\x96\xB0\xE5\xAE\xBF\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88\xE3\x83\xAC"
			   "\xE3\x82\xB8\xE3\x83\x87\xE3\x83\xB3\xE3\x82\xB9\xEF\xBC\x94\xEF\xBC\x95"
			   "\xEF\xBC\x90\xEF\xBC\x91\xE5\x8F\xB7\xE5\xAE\xA4", /* 東京都新宿区西新宿二丁目８番１号　西新宿テストレジデンス４５０１号室 */
		.pref = "Tokyo-to",
		.city = "Shinjuku-ku",
	};
	return h;
}

/* A card certificate for alice on pool key k. */
static uint64_t issue_card(env_t *e, enum ca_purpose p, int k, uint64_t renews, uint8_t **der,
			   size_t *n)
{
	EVP_PKEY *key = pool_key(k);
	blob_t spki = spki_of(key);
	ca_card_req_t r = { .holder = alice(), .purpose = p, .spki = { spki.p, spki.n },
			    .renews = renews };
	uint64_t s = 0;
	int rc = ca_issue_card(e->ca, &r, &s, der, n);

	if (rc != CA_OK)
		print_error("ca_issue_card: %s\n", ca_error(e->ca));
	assert_int_equal(rc, CA_OK);
	free(spki.p);
	EVP_PKEY_free(key);
	return s;
}

/* A phone request for pool key k, signed by signer over the request. */
typedef struct preq {
	ca_phone_req_t r;
	blob_t spki;
	uint8_t nonce[16];
	uint8_t sig[512];
} preq_t;

static void sign_req(preq_t *q, EVP_PKEY *signer)
{
	uint8_t *tbs;
	size_t tn, sl = sizeof q->sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_int_equal(ca_phone_tbs(&q->r, &tbs, &tn), CA_OK);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer), 1);
	assert_int_equal(EVP_DigestSign(md, q->sig, &sl, tbs, tn), 1);
	EVP_MD_CTX_free(md);
	free(tbs);
	q->r.signature.p = q->sig;
	q->r.signature.n = sl;
}

static void preq_init(preq_t *q, enum ca_purpose p, uint64_t card, int k, uint8_t nonce_byte,
		      EVP_PKEY *signer)
{
	EVP_PKEY *key = pool_key(k);

	memset(q, 0, sizeof *q);
	q->spki = spki_of(key);
	EVP_PKEY_free(key);
	memset(q->nonce, nonce_byte, sizeof q->nonce);
	q->r.purpose = p;
	q->r.card_serial = card;
	q->r.spki.p = q->spki.p;
	q->r.spki.n = q->spki.n;
	q->r.nonce.p = q->nonce;
	q->r.nonce.n = sizeof q->nonce;
	if (signer)
		sign_req(q, signer);
}

static uint64_t issue_phone(env_t *e, enum ca_purpose p, uint64_t card, int k, uint8_t nb,
			    uint8_t **der, size_t *n)
{
	preq_t q;
	uint64_t s = 0;

	preq_init(&q, p, card, k, nb, e->alice_sign_key);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, &s, der, n), CA_OK);
	free(q.spki.p);
	return s;
}

static enum ca_status status(env_t *e, uint64_t s)
{
	ca_info_t i;
	assert_int_equal(ca_status(e->ca, s, &i), CA_OK);
	return i.status;
}

/* X509_verify_cert under the fixture root (root trusted, CAs
 * intermediate) at time t. */
static int verify_under_root(X509 *leaf, int64_t t)
{
	blob_t r = rd("pki/root.der"), a = rd("pki/auth-ca.der"), s = rd("pki/sign-ca.der");
	X509 *root = x509_of(r.p, r.n), *ac = x509_of(a.p, a.n), *sc = x509_of(s.p, s.n);
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_add_cert(st, root);
	sk_X509_push(chain, ac);
	sk_X509_push(chain, sc);
	X509_STORE_CTX_init(ctx, st, leaf, chain);
	X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(chain);
	X509_STORE_free(st);
	X509_free(root);
	X509_free(ac);
	X509_free(sc);
	free(r.p);
	free(a.p);
	free(s.p);
	return ok;
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* The extension's DER value (OCTET STRING content), or NULL. */
static const ASN1_OCTET_STRING *ext_value(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

static void name_entry(X509 *x, int nid, int lastpos, char *out, size_t cap)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(n, nid, lastpos);
	const ASN1_STRING *s;

	assert_true(i >= 0);
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	snprintf(out, cap, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
}

/* ------------------------------------------------------------ opening */

static void open_refuses_bad_material(void **state)
{
	env_t *e = env_new(1, NULL);
	ca_config_t c = config(e, NULL);
	ca_t *ca = NULL;
	char err[256];
	(void)state;

	/* The auth key does not belong to the sign CA. */
	c.sign_key = c.auth_key;
	assert_int_equal(ca_open(&ca, &e->ctx, &c, err, sizeof err), CA_ERR_ARG);
	assert_null(ca);
	assert_non_null(strstr(err, "sign_key: does not match sign_cert"));
	c = config(e, NULL);
	c.auth_cert.n = 10;
	assert_int_equal(ca_open(&ca, &e->ctx, &c, err, sizeof err), CA_ERR_ARG);
	assert_non_null(strstr(err, "auth_cert"));
	c = config(e, "/nonexistent-dir/ca.db");
	assert_int_equal(ca_open(&ca, &e->ctx, &c, err, sizeof err), CA_ERR_DB);
	assert_non_null(strstr(err, "db:"));
	env_free(e);
}

/* ------------------------------------------------------------ card certificates */

static void card_auth_fields_and_chain(void **state)
{
	env_t *e = env_new(1, NULL);
	blob_t fx = rd("pki/alice-auth.der");
	X509 *x, *want = x509_of(fx.p, fx.n);
	uint8_t *der;
	size_t n;
	uint64_t s, v;
	char buf[64];
	const ASN1_INTEGER *sn;
	(void)state;

	s = issue_card(e, CA_AUTH, 11, 0, &der, &n);
	x = x509_of(der, n);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	/* 8-byte positive serial, as stored. */
	sn = X509_get0_serialNumber(x);
	assert_int_equal(ASN1_STRING_length(sn), 8);
	assert_int_equal(ASN1_INTEGER_get_uint64(&v, sn), 1);
	assert_int_equal(v, s);
	assert_true(s >> 56 >= 1 && s >> 56 <= 0x7F);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_issuer_name(want)), 0);
	/* C=JP, CN=<20 upper hex>, nothing personal. */
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 2);
	name_entry(x, NID_countryName, -1, buf, sizeof buf);
	assert_string_equal(buf, "JP");
	name_entry(x, NID_commonName, -1, buf, sizeof buf);
	assert_int_equal(strlen(buf), 20);
	assert_int_equal(strspn(buf, "0123456789ABCDEF"), 20);
	/* The validity of the fixture issued the same day: to 2030-02-17. */
	assert_int_equal(asn1_t(X509_get0_notBefore(x)), t_of(T_ISSUE));
	assert_int_equal(asn1_t(X509_get0_notAfter(x)), asn1_t(X509_get0_notAfter(want)));
	assert_int_equal(asn1_t(X509_get0_notAfter(x)), t_of("20300217145959Z"));
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_certificate_policies),
					 ext_value(want, NID_certificate_policies)), 0);
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_crl_distribution_points),
					 ext_value(want, NID_crl_distribution_points)), 0);
	assert_int_equal(ext_critical(x, NID_subject_alt_name), -1);
	assert_int_equal(ext_critical(x, NID_info_access), 0);
	/* AKI is the auth CA's key id, as in the fixture. */
	assert_int_equal(ASN1_STRING_cmp(X509_get0_authority_key_id(x),
					 X509_get0_authority_key_id(want)), 0);
	assert_true(verify_under_root(x, t_of(T_ISSUE)));
	assert_false(verify_under_root(x, t_of("20300217150000Z"))); /* expired */
	/* The status of a new certificate. */
	{
		ca_info_t i;
		assert_int_equal(ca_status(e->ca, s, &i), CA_OK);
		assert_int_equal(i.status, CA_VALID);
		assert_int_equal(i.kind, CA_CARD);
		assert_int_equal(i.purpose, CA_AUTH);
		assert_string_equal(i.holder, "alice");
		assert_int_equal(i.reason, -1);
		assert_int_equal(i.card_serial, 0);
	}
	X509_free(x);
	X509_free(want);
	free(der);
	free(fx.p);
	env_free(e);
}

static void card_sign_san_subject_validity(void **state)
{
	env_t *e = env_new(1, NULL);
	blob_t fx = rd("pki/alice-sign.der");
	X509 *x, *want = x509_of(fx.p, fx.n);
	uint8_t *der;
	size_t n;
	char buf[64];
	(void)state;

	issue_card(e, CA_SIGN, 12, 0, &der, &n);
	x = x509_of(der, n);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_issuer_name(want)), 0);
	/* C=JP, L=Tokyo-to, L=Shinjuku-ku, CN=... in the fixture's order. */
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 4);
	name_entry(x, NID_localityName, -1, buf, sizeof buf);
	assert_string_equal(buf, "Tokyo-to");
	name_entry(x, NID_localityName, 1, buf, sizeof buf);
	assert_string_equal(buf, "Shinjuku-ku");
	assert_int_equal(X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1), 3);
	/* The SAN is the fixture's, byte for byte: 6 otherNames, OIDs
	 * 1.2.392.200149.8.5.5.1-6, explicitly tagged UTF8Strings. */
	assert_non_null(ext_value(x, NID_subject_alt_name));
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_subject_alt_name),
					 ext_value(want, NID_subject_alt_name)), 0);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_certificate_policies),
					 ext_value(want, NID_certificate_policies)), 0);
	/* The municipality's CRL directoryName and the issuer's alternative
	 * name, as gen-pki.sh writes them (docs/card.md#certificates). */
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_crl_distribution_points),
					 ext_value(want, NID_crl_distribution_points)), 0);
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_issuer_alt_name),
					 ext_value(want, NID_issuer_alt_name)), 0);
	assert_int_equal(ext_critical(x, NID_certificate_policies), 1);
	assert_int_equal(ASN1_STRING_cmp(ext_value(x, NID_crl_distribution_points),
					 ext_value(want, NID_crl_distribution_points)), 0);
	assert_int_equal(asn1_t(X509_get0_notAfter(x)), asn1_t(X509_get0_notAfter(want)));
	assert_true(verify_under_root(x, t_of(T_ISSUE)));
	X509_free(x);
	X509_free(want);
	free(der);
	free(fx.p);
	env_free(e);
}

static int64_t card_not_after(env_t *e, const char *birth)
{
	EVP_PKEY *key = pool_key(13);
	blob_t spki = spki_of(key);
	ca_card_req_t r = { .holder = { .id = "x", .birth = birth }, .purpose = CA_AUTH,
			    .spki = { spki.p, spki.n } };
	ca_info_t i;
	uint64_t s;

	assert_int_equal(ca_issue_card(e->ca, &r, &s, NULL, NULL), CA_OK);
	assert_int_equal(ca_status(e->ca, s, &i), CA_OK);
	free(spki.p);
	EVP_PKEY_free(key);
	return i.not_after;
}

static void validity_fifth_birthday_in_jst(void **state)
{
	env_t *e = env_new(1, NULL);
	(void)state;

	/* Issued 2026-02-16 23:59 JST: the birthday 02-17 is after it, so
	 * 2026-02-17 is the 1st and 2030-02-17 the 5th. */
	vclock_set(&e->clk, t_of("20260216145900Z"));
	assert_int_equal(card_not_after(e, "19800217"), t_of("20300217145959Z"));
	/* Issued 2026-02-17 00:00 JST (15:00Z the day before): the issue
	 * day itself does not count, the 5th birthday is 2031's. */
	vclock_set(&e->clk, t_of("20260216150000Z"));
	assert_int_equal(card_not_after(e, "19800217"), t_of("20310217145959Z"));
	/* A 29 February birthday: 28 February in a common year. */
	vclock_set(&e->clk, t_of(T_ISSUE));
	assert_int_equal(card_not_after(e, "20000229"), t_of("20300228145959Z"));
	vclock_set(&e->clk, t_of("20280105000000Z"));
	assert_int_equal(card_not_after(e, "20000229"), t_of("20320229145959Z"));
	env_free(e);
}

static void card_request_fields_named(void **state)
{
	env_t *e = env_new(1, NULL);
	EVP_PKEY *key = pool_key(13), *ec = EVP_EC_gen("P-256");
	blob_t spki = spki_of(key), ecs = spki_of(ec);
	ca_card_req_t r = { .holder = alice(), .purpose = CA_SIGN, .spki = { spki.p, spki.n } };
	ca_card_req_t b;
	uint8_t bad[8] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	(void)state;

#define REFUSED(rc, f)                                                         \
	do {                                                                   \
		assert_int_equal(ca_issue_card(e->ca, &b, NULL, NULL, NULL), rc); \
		assert_string_equal(ca_error_field(e->ca), f);                 \
	} while (0)
	b = r, b.holder.id = NULL;
	REFUSED(CA_ERR_ARG, "holder");
	b = r, b.holder.id = "a b";
	REFUSED(CA_ERR_ARG, "holder");
	b = r, b.purpose = 7;
	REFUSED(CA_ERR_ARG, "purpose");
	b = r, b.holder.birth = "19800230";
	REFUSED(CA_ERR_ARG, "birth");
	b = r, b.holder.name = NULL;
	REFUSED(CA_ERR_ARG, "name");
	b = r, b.holder.sex = "3";
	REFUSED(CA_ERR_ARG, "sex");
	b = r, b.holder.address = "";
	REFUSED(CA_ERR_ARG, "address");
	b = r, b.holder.city = NULL;
	REFUSED(CA_ERR_ARG, "city");
	b = r, b.spki.p = bad, b.spki.n = 5;
	REFUSED(CA_ERR_ARG, "spki");
	b = r, b.spki.p = ecs.p, b.spki.n = ecs.n;
	REFUSED(CA_ERR_ARG, "spki");
	b = r, b.not_after = t_of(T_ISSUE) - 1;
	REFUSED(CA_ERR_ARG, "not_after");
	b = r, b.renews = 0x1234;
	REFUSED(CA_ERR_NOTFOUND, "renews");
	b = r, b.renews = e->alice_auth; /* not a sign certificate */
	REFUSED(CA_ERR_POLICY, "renews");
	/* docs/card.md#certificates: no sign certificate under 15 (chika, 12). */
	b = r, b.holder.id = "chika", b.holder.birth = "20130630";
	REFUSED(CA_ERR_POLICY, "birth");
	b.purpose = CA_AUTH;
	assert_int_equal(ca_issue_card(e->ca, &b, NULL, NULL, NULL), CA_OK);
	/* Nothing refused left a row behind: alice's 2 + chika's auth. */
	{
		size_t n;
		assert_int_equal(ca_list_holder(e->ca, "alice", NULL, 0, &n), CA_OK);
		assert_int_equal(n, 2);
		assert_int_equal(ca_list_holder(e->ca, "chika", NULL, 0, &n), CA_OK);
		assert_int_equal(n, 1);
	}
#undef REFUSED
	free(spki.p);
	free(ecs.p);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ec);
	env_free(e);
}

static void import_checks_issuer_and_serial(void **state)
{
	env_t *e = env_new(1, NULL);
	blob_t root = rd("pki/root.der"), bob = rd("pki/bob-sign.der"), a = rd("pki/alice-auth.der");
	uint64_t s;
	(void)state;

	assert_int_equal(ca_import_card(e->ca, "x", root.p, root.n, &s), CA_ERR_CHAIN);
	assert_string_equal(ca_error_field(e->ca), "der");
	assert_int_equal(ca_import_card(e->ca, "x", root.p, 10, &s), CA_ERR_ARG);
	/* The same certificate again is fine; under another holder it is not. */
	assert_int_equal(ca_import_card(e->ca, "alice", a.p, a.n, &s), CA_OK);
	assert_int_equal(ca_import_card(e->ca, "bob", a.p, a.n, &s), CA_ERR_EXISTS);
	assert_int_equal(ca_import_card(e->ca, "bob", bob.p, bob.n, &s), CA_OK);
	assert_int_equal(s, 0x0700B002);
	free(root.p);
	free(bob.p);
	free(a.p);
	env_free(e);
}

/* ------------------------------------------------------------ phone certificates */

static void phone_issue_follows_card(void **state)
{
	env_t *e = env_new(1, NULL);
	blob_t fx = rd("pki/alice-sign.der");
	X509 *card = x509_of(fx.p, fx.n), *pa, *ps;
	uint8_t *da, *ds, *dr;
	size_t na, ns, nr;
	uint64_t sa, ss, sr, linked[4];
	size_t nl;
	char c1[64], c2[64];
	ca_info_t i;
	preq_t q;
	EVP_PKEY *k11 = pool_key(11);
	(void)state;

	vclock_advance(&e->clk, 86400 * 100);
	sa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, &da, &na);
	ss = issue_phone(e, CA_SIGN, e->alice_sign, 12, 2, &ds, &ns);
	pa = x509_of(da, na);
	ps = x509_of(ds, ns);
	/* Issued by the CA of the purpose, on the SE's key. */
	assert_true(verify_under_root(pa, vclock_now(&e->clk)));
	assert_true(verify_under_root(ps, vclock_now(&e->clk)));
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(pa), k11), 1);
	assert_int_equal(X509_get_extended_key_usage(pa), XKU_SSL_CLIENT);
	assert_int_equal(X509_get_key_usage(ps), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	/* Validity follows the card certificate's. */
	assert_int_equal(asn1_t(X509_get0_notBefore(pa)), vclock_now(&e->clk));
	assert_int_equal(asn1_t(X509_get0_notAfter(pa)), asn1_t(X509_get0_notAfter(card)));
	assert_int_equal(asn1_t(X509_get0_notAfter(ps)), asn1_t(X509_get0_notAfter(card)));
	/* The sign certificate carries the card's subject (new CN) and SAN. */
	assert_int_equal(ASN1_STRING_cmp(ext_value(ps, NID_subject_alt_name),
					 ext_value(card, NID_subject_alt_name)), 0);
	name_entry(ps, NID_localityName, -1, c1, sizeof c1);
	assert_string_equal(c1, "Tokyo-to");
	name_entry(ps, NID_commonName, -1, c1, sizeof c1);
	{
		X509_NAME *cn = X509_get_subject_name(card);
		const ASN1_STRING *d = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(cn, X509_NAME_get_index_by_NID(cn, NID_commonName, -1)));
		snprintf(c2, sizeof c2, "%.*s", ASN1_STRING_length(d), ASN1_STRING_get0_data(d));
	}
	assert_string_not_equal(c1, c2);
	assert_int_equal(ext_critical(pa, NID_subject_alt_name), -1);
	/* Linked to the card sign certificate, same holder. */
	assert_int_equal(ca_status(e->ca, sa, &i), CA_OK);
	assert_int_equal(i.kind, CA_PHONE);
	assert_int_equal(i.card_serial, e->alice_sign);
	assert_string_equal(i.holder, "alice");
	assert_int_equal(ca_linked(e->ca, e->alice_sign, linked, 4, &nl), CA_OK);
	assert_int_equal(nl, 2);
	assert_true((linked[0] == sa && linked[1] == ss) || (linked[0] == ss && linked[1] == sa));
	assert_int_equal(ca_linked(e->ca, e->alice_auth, linked, 4, &nl), CA_OK);
	assert_int_equal(nl, 0);
	/* The same request again: the same certificate, nothing new. */
	preq_init(&q, CA_AUTH, e->alice_sign, 11, 1, e->alice_sign_key);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, &sr, &dr, &nr), CA_REPLAYED);
	assert_int_equal(sr, sa);
	assert_int_equal(nr, na);
	assert_memory_equal(dr, da, na);
	assert_int_equal(ca_list_holder(e->ca, "alice", NULL, 0, &nl), CA_OK);
	assert_int_equal(nl, 4);
	free(q.spki.p);
	free(dr);
	EVP_PKEY_free(k11);
	X509_free(pa);
	X509_free(ps);
	X509_free(card);
	free(da);
	free(ds);
	free(fx.p);
	env_free(e);
}

static void phone_refused_bad_signature(void **state)
{
	env_t *e = env_new(1, NULL);
	EVP_PKEY *bob = pool_key(7);
	preq_t q;
	size_t n;
	(void)state;

	/* Signed by someone else's key (bob's card sign key). */
	preq_init(&q, CA_AUTH, e->alice_sign, 11, 1, bob);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_SIGNATURE);
	assert_string_equal(ca_error_field(e->ca), "signature");
	free(q.spki.p);
	/* Signed right, then one field changed: the nonce, the purpose, the key. */
	preq_init(&q, CA_AUTH, e->alice_sign, 11, 1, e->alice_sign_key);
	q.nonce[0] ^= 1;
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_SIGNATURE);
	q.nonce[0] ^= 1;
	q.r.purpose = CA_SIGN;
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_SIGNATURE);
	q.r.purpose = CA_AUTH;
	q.sig[10] ^= 0x40;
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_SIGNATURE);
	q.sig[10] ^= 0x40;
	/* Fields: nonce too short, no signature, unknown card, auth card. */
	q.r.nonce.n = 4;
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_ARG);
	assert_string_equal(ca_error_field(e->ca), "nonce");
	q.r.nonce.n = sizeof q.nonce;
	q.r.signature.n = 0;
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_ARG);
	assert_string_equal(ca_error_field(e->ca), "signature");
	free(q.spki.p);
	preq_init(&q, CA_AUTH, 0x1234, 11, 1, e->alice_sign_key);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_NOTFOUND);
	assert_string_equal(ca_error_field(e->ca), "card_serial");
	free(q.spki.p);
	{
		EVP_PKEY *k3 = pool_key(3); /* alice's card auth key */
		preq_init(&q, CA_AUTH, e->alice_auth, 11, 1, k3);
		EVP_PKEY_free(k3);
	}
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_POLICY);
	assert_string_equal(ca_error_field(e->ca), "card_serial");
	free(q.spki.p);
	/* Nothing was issued. */
	assert_int_equal(ca_linked(e->ca, e->alice_sign, NULL, 0, &n), CA_OK);
	assert_int_equal(n, 0);
	EVP_PKEY_free(bob);
	env_free(e);
}

static void phone_refused_card_not_valid(void **state)
{
	env_t *e = env_new(1, NULL);
	preq_t q;
	uint64_t renewed;
	(void)state;

	preq_init(&q, CA_AUTH, e->alice_sign, 11, 1, e->alice_sign_key);
	/* On hold. */
	assert_int_equal(ca_hold(e->ca, e->alice_sign), CA_OK);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_STATE);
	assert_string_equal(ca_error_field(e->ca), "card_serial");
	assert_non_null(strstr(ca_error(e->ca), "hold"));
	/* Expired on the virtual clock: one second after its notAfter. */
	vclock_set(&e->clk, t_of("20300217150000Z"));
	assert_int_equal(status(e, e->alice_sign), CA_EXPIRED);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_STATE);
	assert_non_null(strstr(ca_error(e->ca), "expired"));
	/* Revoked. */
	vclock_set(&e->clk, t_of(T_ISSUE));
	assert_int_equal(ca_revoke(e->ca, e->alice_sign, CA_REASON_KEY_COMPROMISE), CA_OK);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_ERR_STATE);
	assert_non_null(strstr(ca_error(e->ca), "revoked"));
	/* A renewed card certificate authorises again (its own key). */
	free(q.spki.p);
	renewed = issue_card(e, CA_SIGN, 4, 0, NULL, NULL);
	preq_init(&q, CA_AUTH, renewed, 11, 1, e->alice_sign_key);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, NULL, NULL, NULL), CA_OK);
	free(q.spki.p);
	env_free(e);
}

/* alice's card signs msg (SHA-256, PKCS#1 v1.5): the signature's length. */
static size_t alice_signs(env_t *e, const uint8_t *msg, size_t n, uint8_t sig[256])
{
	size_t sl = 256;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, e->alice_sign_key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sl, msg, n), 1);
	EVP_MD_CTX_free(md);
	return sl;
}

static void verify_card_for_other_operations(void **state)
{
	env_t *e = env_new(1, NULL);
	static const uint8_t msg[] = "revoke phone 1234 nonce 5678";
	uint8_t sig[256];
	size_t sl = alice_signs(e, msg, sizeof msg, sig);
	ca_info_t card;
	uint64_t pa;
	(void)state;

	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, &card), CA_OK);
	assert_string_equal(card.holder, "alice");
	assert_int_equal(card.purpose, CA_SIGN);
	/* Another message, the other card certificate's key, a phone
	 * certificate, an unknown serial. */
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg - 1, sig, sl, NULL),
			 CA_ERR_SIGNATURE);
	assert_int_equal(ca_verify_card(e->ca, e->alice_auth, msg, sizeof msg, sig, sl, NULL),
			 CA_ERR_SIGNATURE);
	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	assert_int_equal(ca_verify_card(e->ca, pa, msg, sizeof msg, sig, sl, NULL), CA_ERR_POLICY);
	assert_int_equal(ca_verify_card(e->ca, 0x1234, msg, sizeof msg, sig, sl, NULL), CA_ERR_NOTFOUND);
	/* Held, revoked: refused whatever the signature. */
	assert_int_equal(ca_hold(e->ca, e->alice_sign), CA_OK);
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, NULL), CA_ERR_STATE);
	assert_int_equal(ca_revoke(e->ca, e->alice_sign, CA_REASON_SUPERSEDED), CA_OK);
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, NULL), CA_ERR_STATE);
	assert_string_equal(ca_error_field(e->ca), "card_serial");
	env_free(e);
}

/* The chain's answer is kept per card certificate only for the virtual
 * time it was given at: before the card certificate's notBefore (its
 * status still valid) the chain does not verify, and back at the issue
 * date it does again. */
static void verify_card_chain_follows_clock(void **state)
{
	env_t *e = env_new(1, NULL);
	static const uint8_t msg[] = "authorise 1";
	uint8_t sig[256];
	size_t sl = alice_signs(e, msg, sizeof msg, sig);
	(void)state;

	vclock_set(&e->clk, t_of("20260106000000Z"));
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, NULL), CA_OK);
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, NULL), CA_OK);
	vclock_set(&e->clk, t_of("20260104000000Z"));
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, NULL), CA_ERR_CHAIN);
	assert_non_null(strstr(ca_error(e->ca), "not yet valid"));
	vclock_set(&e->clk, t_of("20260106000000Z"));
	assert_int_equal(ca_verify_card(e->ca, e->alice_sign, msg, sizeof msg, sig, sl, NULL), CA_OK);
	env_free(e);
}

/* ------------------------------------------------------------ status and linkage */

static void linked_revocation(void **state)
{
	env_t *e = env_new(1, NULL);
	uint64_t pa, ps;
	ca_info_t i;
	(void)state;

	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	ps = issue_phone(e, CA_SIGN, e->alice_sign, 12, 2, NULL, NULL);
	/* A hold on the card does not reach the phone. */
	assert_int_equal(ca_hold(e->ca, e->alice_sign), CA_OK);
	assert_int_equal(status(e, pa), CA_VALID);
	assert_int_equal(status(e, ps), CA_VALID);
	/* Revoking the card certificate revokes both phone certificates,
	 * with its reason and time (MODELLED ASSUMPTION), and nothing else. */
	vclock_advance(&e->clk, 3600);
	assert_int_equal(ca_revoke(e->ca, e->alice_sign, CA_REASON_KEY_COMPROMISE), CA_OK);
	assert_int_equal(ca_status(e->ca, pa, &i), CA_OK);
	assert_int_equal(i.status, CA_REVOKED);
	assert_int_equal(i.reason, CA_REASON_KEY_COMPROMISE);
	assert_int_equal(i.revoked_at, vclock_now(&e->clk));
	assert_int_equal(status(e, ps), CA_REVOKED);
	assert_int_equal(status(e, e->alice_auth), CA_VALID);
	/* Idempotent: again changes nothing (reason and time kept). */
	vclock_advance(&e->clk, 60);
	assert_int_equal(ca_revoke(e->ca, e->alice_sign, CA_REASON_SUPERSEDED), CA_OK);
	assert_int_equal(ca_status(e->ca, pa, &i), CA_OK);
	assert_int_equal(i.reason, CA_REASON_KEY_COMPROMISE);
	assert_int_equal(i.revoked_at, vclock_now(&e->clk) - 60);
	/* Revoking a phone certificate touches only itself. */
	env_free(e);
	e = env_new(1, NULL);
	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	assert_int_equal(ca_revoke(e->ca, pa, CA_REASON_CESSATION), CA_OK);
	assert_int_equal(status(e, e->alice_sign), CA_VALID);
	assert_int_equal(ca_revoke(e->ca, pa, CA_REASON_HOLD), CA_ERR_ARG);
	assert_string_equal(ca_error_field(e->ca), "reason");
	assert_int_equal(ca_revoke(e->ca, 0x1234, 1), CA_ERR_NOTFOUND);
	env_free(e);
}

static void renewal_revokes_linked(void **state)
{
	env_t *e = env_new(1, NULL);
	uint64_t pa, ps, renewed;
	ca_info_t i;
	(void)state;

	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	ps = issue_phone(e, CA_SIGN, e->alice_sign, 12, 2, NULL, NULL);
	renewed = issue_card(e, CA_SIGN, 13, e->alice_sign, NULL, NULL);
	assert_int_equal(ca_status(e->ca, e->alice_sign, &i), CA_OK);
	assert_int_equal(i.status, CA_REVOKED);
	assert_int_equal(i.reason, CA_REASON_SUPERSEDED);
	assert_int_equal(ca_status(e->ca, pa, &i), CA_OK);
	assert_int_equal(i.status, CA_REVOKED);
	assert_int_equal(i.reason, CA_REASON_SUPERSEDED);
	assert_int_equal(status(e, ps), CA_REVOKED);
	assert_int_equal(status(e, renewed), CA_VALID);
	assert_int_equal(status(e, e->alice_auth), CA_VALID);
	env_free(e);
}

static void hold_and_lift(void **state)
{
	env_t *e = env_new(1, NULL);
	uint64_t pa, ps;
	ca_info_t i;
	(void)state;

	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	ps = issue_phone(e, CA_SIGN, e->alice_sign, 12, 2, NULL, NULL);
	assert_int_equal(ca_hold(e->ca, pa), CA_OK);
	assert_int_equal(ca_status(e->ca, pa, &i), CA_OK);
	assert_int_equal(i.status, CA_HOLD);
	assert_int_equal(i.reason, CA_REASON_HOLD);
	assert_int_equal(ca_hold(e->ca, pa), CA_OK); /* idempotent */
	/* Lifting: the auth certificate is reinstated ... */
	assert_int_equal(ca_lift(e->ca, pa), CA_OK);
	assert_int_equal(ca_status(e->ca, pa, &i), CA_OK);
	assert_int_equal(i.status, CA_VALID);
	assert_int_equal(i.reason, -1);
	assert_int_equal(i.revoked_at, 0);
	assert_int_equal(ca_lift(e->ca, pa), CA_OK); /* idempotent */
	/* ... the sign certificate is not: revoke and reissue. */
	assert_int_equal(ca_hold(e->ca, ps), CA_OK);
	assert_int_equal(ca_lift(e->ca, ps), CA_ERR_POLICY);
	assert_int_equal(status(e, ps), CA_HOLD);
	assert_int_equal(ca_revoke(e->ca, ps, CA_REASON_SUPERSEDED), CA_OK);
	assert_int_equal(status(e, ps), CA_REVOKED);
	assert_int_equal(ca_lift(e->ca, ps), CA_ERR_STATE);
	assert_int_equal(ca_hold(e->ca, ps), CA_ERR_STATE);
	/* Expired: neither held nor revoked any more. */
	vclock_set(&e->clk, t_of("20310101000000Z"));
	assert_int_equal(status(e, pa), CA_EXPIRED);
	assert_int_equal(ca_hold(e->ca, pa), CA_ERR_STATE);
	assert_int_equal(ca_revoke(e->ca, pa, 1), CA_ERR_STATE);
	assert_int_equal(status(e, ps), CA_REVOKED); /* revoked stays revoked */
	assert_int_equal(ca_hold(e->ca, 0x1234), CA_ERR_NOTFOUND);
	assert_string_equal(ca_error_field(e->ca), "serial");
	env_free(e);
}

/* ------------------------------------------------------------ CRL */

static X509_CRL *crl_of(const uint8_t *p, size_t n)
{
	X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)n);
	assert_non_null(c);
	return c;
}

static long crl_number(X509_CRL *c)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL);
	long v;

	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

static int n_entries(X509_CRL *c)
{
	STACK_OF(X509_REVOKED) *r = X509_CRL_get_REVOKED(c);
	return r ? sk_X509_REVOKED_num(r) : 0; /* an empty CRL has no list at all */
}

static int entry_reason(X509_CRL *c, uint64_t serial)
{
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	X509_REVOKED *r = NULL;
	ASN1_ENUMERATED *e;
	int v = -2, crit;

	ASN1_INTEGER_set_uint64(sn, serial);
	if (X509_CRL_get0_by_serial(c, &r, sn) == 1) {
		e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		v = e ? (int)ASN1_ENUMERATED_get(e) : 0;
		ASN1_ENUMERATED_free(e);
	}
	ASN1_INTEGER_free(sn);
	return v; /* -2: not listed */
}

static void crl_contents(void **state)
{
	env_t *e = env_new(1, NULL);
	uint64_t pa, pb, ps;
	uint8_t *d1, *d2, *d3;
	size_t n1, n2, n3;
	X509_CRL *c;
	X509 *ca = x509_of(e->auth_cert.p, e->auth_cert.n);
	(void)state;

	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	pb = issue_phone(e, CA_AUTH, e->alice_sign, 12, 2, NULL, NULL);
	ps = issue_phone(e, CA_SIGN, e->alice_sign, 13, 3, NULL, NULL);
	assert_int_equal(ca_crl(e->ca, CA_AUTH, &d1, &n1), CA_OK);
	c = crl_of(d1, n1);
	assert_int_equal(X509_CRL_get_version(c), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(c, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(ca)), 0);
	assert_int_equal(asn1_t(X509_CRL_get0_lastUpdate(c)), t_of(T_ISSUE));
	assert_int_equal(asn1_t(X509_CRL_get0_nextUpdate(c)), t_of(T_ISSUE) + 86400);
	assert_int_equal(crl_number(c), 1);
	assert_int_equal(n_entries(c), 0);
	{
		AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, NULL, NULL);
		assert_non_null(aki);
		assert_int_equal(ASN1_STRING_cmp(aki->keyid, X509_get0_subject_key_id(ca)), 0);
		AUTHORITY_KEYID_free(aki);
	}
	X509_CRL_free(c);
	/* Nothing changed: the same CRL. */
	vclock_advance(&e->clk, 60);
	assert_int_equal(ca_crl(e->ca, CA_AUTH, &d2, &n2), CA_OK);
	assert_int_equal(n2, n1);
	assert_memory_equal(d1, d2, n1);
	free(d2);
	/* A revocation and a hold: a new CRL with both, reasons coded. */
	assert_int_equal(ca_revoke(e->ca, pa, CA_REASON_KEY_COMPROMISE), CA_OK);
	assert_int_equal(ca_hold(e->ca, pb), CA_OK);
	assert_int_equal(ca_revoke(e->ca, ps, CA_REASON_UNSPECIFIED), CA_OK);
	assert_int_equal(ca_crl(e->ca, CA_AUTH, &d2, &n2), CA_OK);
	c = crl_of(d2, n2);
	assert_int_equal(X509_CRL_verify(c, X509_get0_pubkey(ca)), 1);
	assert_int_equal(crl_number(c), 2);
	assert_int_equal(asn1_t(X509_CRL_get0_lastUpdate(c)), t_of(T_ISSUE) + 60);
	assert_int_equal(n_entries(c), 2);
	assert_int_equal(entry_reason(c, pa), CA_REASON_KEY_COMPROMISE);
	assert_int_equal(entry_reason(c, pb), CA_REASON_HOLD);
	assert_int_equal(entry_reason(c, ps), -2); /* the sign CA's */
	X509_CRL_free(c);
	/* The sign CA's CRL: ps, unspecified (no reason extension). */
	assert_int_equal(ca_crl(e->ca, CA_SIGN, &d3, &n3), CA_OK);
	c = crl_of(d3, n3);
	assert_int_equal(entry_reason(c, ps), 0);
	assert_int_equal(n_entries(c), 1);
	X509_CRL_free(c);
	free(d3);
	/* Lifting the hold: pb leaves the next CRL. */
	assert_int_equal(ca_lift(e->ca, pb), CA_OK);
	assert_int_equal(ca_crl(e->ca, CA_AUTH, &d3, &n3), CA_OK);
	c = crl_of(d3, n3);
	assert_int_equal(crl_number(c), 3);
	assert_int_equal(entry_reason(c, pb), -2);
	X509_CRL_free(c);
	free(d3);
	/* Past nextUpdate: a new CRL even with no change. */
	vclock_advance(&e->clk, 86400);
	assert_int_equal(ca_crl(e->ca, CA_AUTH, &d3, &n3), CA_OK);
	c = crl_of(d3, n3);
	assert_int_equal(crl_number(c), 4);
	assert_int_equal(entry_reason(c, pa), CA_REASON_KEY_COMPROMISE);
	X509_CRL_free(c);
	free(d3);
	/* After the certificates expire their entries go. */
	vclock_set(&e->clk, t_of("20310101000000Z"));
	assert_int_equal(ca_crl(e->ca, CA_AUTH, &d3, &n3), CA_OK);
	c = crl_of(d3, n3);
	assert_int_equal(n_entries(c), 0);
	X509_CRL_free(c);
	free(d3);
	free(d1);
	free(d2);
	X509_free(ca);
	env_free(e);
}

/* ------------------------------------------------------------ OCSP */

typedef struct ocsp_answer {
	int rsp_status;   /* OCSP_RESPONSE_STATUS_* */
	int status;       /* V_OCSP_CERTSTATUS_* */
	int reason;
	int nonce_ok;
	int64_t this_update, produced_at, revoked_at;
} ocsp_answer_t;

/* Ask about serial under issuer (DER), with a nonce, and read the answer
 * as a client does: signature checked with the issuer as the anchor. */
static ocsp_answer_t ask(env_t *e, const blob_t *issuer_der, uint64_t serial, int with_nonce)
{
	X509 *issuer = x509_of(issuer_der->p, issuer_der->n);
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	OCSP_CERTID *id;
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs;
	X509_STORE *st = X509_STORE_new();
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	uint8_t *req = NULL, *rsp;
	const uint8_t *p;
	size_t rn;
	int n;
	ocsp_answer_t a = { .status = -1, .reason = -1 };

	ASN1_INTEGER_set_uint64(sn, serial);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
			      X509_get0_pubkey_bitstr(issuer), sn);
	assert_non_null(OCSP_request_add0_id(rq, OCSP_CERTID_dup(id)));
	if (with_nonce)
		assert_int_equal(OCSP_request_add1_nonce(rq, NULL, 16), 1);
	n = i2d_OCSP_REQUEST(rq, &req);
	assert_true(n > 0);
	assert_int_equal(ca_ocsp(e->ca, req, (size_t)n, &rsp, &rn), CA_OK);
	p = rsp;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)rn);
	assert_non_null(r);
	a.rsp_status = OCSP_response_status(r);
	if (a.rsp_status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		bs = OCSP_response_get1_basic(r);
		assert_non_null(bs);
		X509_STORE_add_cert(st, issuer);
		X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
		X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), (time_t)vclock_now(&e->clk));
		assert_int_equal(OCSP_basic_verify(bs, NULL, st, 0), 1);
		assert_int_equal(OCSP_resp_find_status(bs, id, &a.status, &a.reason, &rev, &thisupd,
						       &nextupd), 1);
		assert_null(nextupd);
		a.this_update = asn1_t(thisupd);
		a.produced_at = asn1_t(OCSP_resp_get0_produced_at(bs));
		if (rev)
			a.revoked_at = asn1_t(rev);
		a.nonce_ok = OCSP_check_nonce(rq, bs);
		OCSP_BASICRESP_free(bs);
	}
	OCSP_RESPONSE_free(r);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(rq);
	OPENSSL_free(req);
	free(rsp);
	X509_STORE_free(st);
	ASN1_INTEGER_free(sn);
	X509_free(issuer);
	return a;
}

static void ocsp_answers(void **state)
{
	env_t *e = env_new(1, NULL);
	uint64_t pa, pb, pc;
	ocsp_answer_t a;
	uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 }, *rsp;
	size_t rn;
	const uint8_t *p;
	OCSP_RESPONSE *r;
	(void)state;

	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	pb = issue_phone(e, CA_AUTH, e->alice_sign, 12, 2, NULL, NULL);
	pc = issue_phone(e, CA_AUTH, e->alice_sign, 13, 3, NULL, NULL);
	vclock_advance(&e->clk, 3600);
	assert_int_equal(ca_revoke(e->ca, pb, CA_REASON_KEY_COMPROMISE), CA_OK);
	assert_int_equal(ca_hold(e->ca, pc), CA_OK);
	vclock_advance(&e->clk, 60);

	a = ask(e, &e->auth_cert, pa, 1);
	assert_int_equal(a.rsp_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(a.this_update, vclock_now(&e->clk));
	assert_int_equal(a.produced_at, vclock_now(&e->clk));
	assert_int_equal(a.nonce_ok, 1); /* echoed */
	a = ask(e, &e->auth_cert, pb, 0);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(a.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	assert_int_equal(a.revoked_at, vclock_now(&e->clk) - 60);
	assert_int_equal(a.nonce_ok, 2); /* none asked, none sent */
	a = ask(e, &e->auth_cert, pc, 1);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(a.reason, OCSP_REVOKED_STATUS_CERTIFICATEHOLD);
	/* The fixture card certificate, and one nobody issued. */
	a = ask(e, &e->auth_cert, e->alice_auth, 1);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_GOOD);
	a = ask(e, &e->auth_cert, 0x0700FFFF, 1);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_UNKNOWN);
	/* A sign-CA serial asked under the auth CA: unknown there. */
	a = ask(e, &e->auth_cert, e->alice_sign, 1);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_UNKNOWN);
	a = ask(e, &e->sign_cert, e->alice_sign, 1);
	assert_int_equal(a.status, V_OCSP_CERTSTATUS_GOOD);
	/* Expired but never revoked: good (the validity is the client's
	 * to check); revoked stays revoked. */
	vclock_set(&e->clk, t_of("20310101000000Z"));
	assert_int_equal(ask(e, &e->auth_cert, pa, 1).status, V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(ask(e, &e->auth_cert, pb, 1).status, V_OCSP_CERTSTATUS_REVOKED);
	/* A request for another issuer: unauthorized; junk: malformed. */
	{
		blob_t root = rd("pki/root.der");
		a = ask(e, &root, 1, 1);
		assert_int_equal(a.rsp_status, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
		free(root.p);
	}
	assert_int_equal(ca_ocsp(e->ca, junk, sizeof junk, &rsp, &rn), CA_OK);
	p = rsp;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)rn);
	assert_non_null(r);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OCSP_RESPONSE_free(r);
	free(rsp);
	env_free(e);
}

/* ------------------------------------------------------------ determinism, persistence */

/* The same operations on a fresh CA; returns the last phone serial and
 * the bytes of the last certificate. */
static uint64_t script(env_t *e, uint8_t **der, size_t *n)
{
	uint64_t c = issue_card(e, CA_SIGN, 14, 0, NULL, NULL);
	EVP_PKEY *k14 = pool_key(14);
	preq_t q;
	uint64_t s;

	(void)c;
	issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	preq_init(&q, CA_SIGN, c, 12, 9, k14);
	assert_int_equal(ca_issue_phone(e->ca, &q.r, &s, der, n), CA_OK);
	free(q.spki.p);
	EVP_PKEY_free(k14);
	return s;
}

static void determinism(void **state)
{
	env_t *a = env_new(42, NULL), *b = env_new(42, NULL), *c = env_new(43, NULL);
	uint8_t *da, *db, *dc;
	size_t na, nb, nc;
	uint64_t sa, sb, sc;
	(void)state;

	sa = script(a, &da, &na);
	sb = script(b, &db, &nb);
	sc = script(c, &dc, &nc);
	assert_int_equal(sa, sb);
	assert_int_equal(na, nb);
	assert_memory_equal(da, db, na);
	assert_int_not_equal(sa, sc);
	/* OCSP and CRL bytes too. */
	{
		uint8_t *x, *y;
		size_t xn, yn;
		assert_int_equal(ca_revoke(a->ca, sa, 1), CA_OK);
		assert_int_equal(ca_revoke(b->ca, sb, 1), CA_OK);
		assert_int_equal(ca_crl(a->ca, CA_SIGN, &x, &xn), CA_OK);
		assert_int_equal(ca_crl(b->ca, CA_SIGN, &y, &yn), CA_OK);
		assert_int_equal(xn, yn);
		assert_memory_equal(x, y, xn);
		free(x);
		free(y);
	}
	free(da);
	free(db);
	free(dc);
	env_free(a);
	env_free(b);
	env_free(c);
}

static void persistence(void **state)
{
	char dir[] = "/tmp/test_ca.XXXXXX", db[64], path[80];
	env_t *mem, *e;
	uint64_t pa, ps, pm, next_mem, next_file;
	ca_info_t i;
	size_t n;
	int64_t t;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/ca.db", dir);
	e = env_new(7, db);
	mem = env_new(7, NULL);
	pa = issue_phone(e, CA_AUTH, e->alice_sign, 11, 1, NULL, NULL);
	ps = issue_phone(e, CA_SIGN, e->alice_sign, 12, 2, NULL, NULL);
	pm = issue_phone(mem, CA_AUTH, mem->alice_sign, 11, 1, NULL, NULL);
	issue_phone(mem, CA_SIGN, mem->alice_sign, 12, 2, NULL, NULL);
	assert_int_equal(pa, pm);
	assert_int_equal(ca_hold(e->ca, pa), CA_OK);
	assert_int_equal(ca_revoke(e->ca, ps, CA_REASON_AFFILIATION_CHANGED), CA_OK);
	vclock_advance(&e->clk, 1234);
	assert_int_equal(ca_clock_save(e->ca), CA_OK);
	ca_close(e->ca);

	/* Reopened, with a fresh rng seeded differently: the records, the
	 * linkage, the clock and the rng stream are the file's. */
	rng_seed(&e->rng, 999);
	env_open(e, db);
	assert_int_equal(ca_status(e->ca, pa, &i), CA_OK);
	assert_int_equal(i.status, CA_HOLD);
	assert_int_equal(i.card_serial, e->alice_sign);
	assert_int_equal(ca_status(e->ca, ps, &i), CA_OK);
	assert_int_equal(i.status, CA_REVOKED);
	assert_int_equal(i.reason, CA_REASON_AFFILIATION_CHANGED);
	assert_int_equal(ca_linked(e->ca, e->alice_sign, NULL, 0, &n), CA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ca_clock_load(e->ca, &t), CA_OK);
	assert_int_equal(t, t_of(T_ISSUE) + 1234);
	import_alice(e); /* idempotent */
	next_file = issue_phone(e, CA_AUTH, e->alice_sign, 13, 3, NULL, NULL);
	next_mem = issue_phone(mem, CA_AUTH, mem->alice_sign, 13, 3, NULL, NULL);
	assert_int_equal(next_file, next_mem);
	ca_close(e->ca);
	e->ca = NULL;

	/* A database of other CA certificates is refused. */
	{
		ca_config_t c = config(e, db);
		ca_t *ca = NULL;
		char err[256];
		c.auth_cert = c.sign_cert;
		c.auth_key = c.sign_key;
		assert_int_equal(ca_open(&ca, &e->ctx, &c, err, sizeof err), CA_ERR_DB);
		assert_non_null(strstr(err, "made for another"));
	}
	assert_int_equal(ca_clock_load(mem->ca, &t), CA_ERR_NOTFOUND);
	env_open(e, db); /* for env_free */
	env_free(e);
	env_free(mem);
	snprintf(path, sizeof path, "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", db);
	unlink(path);
	unlink(db);
	rmdir(dir);
}

static void names_and_serial_text(void **state)
{
	char s[17];
	uint64_t v;
	(void)state;

	ca_serial_format(0x0700A001, s);
	assert_string_equal(s, "0700A001");
	ca_serial_format(0x123456789ABCDEF0 & INT64_MAX, s);
	assert_string_equal(s, "123456789ABCDEF0");
	ca_serial_format(5, s);
	assert_string_equal(s, "05");
	assert_int_equal(ca_serial_parse("0700a001", &v), 0);
	assert_int_equal(v, 0x0700A001);
	assert_int_equal(ca_serial_parse("8000000000000000", &v), -1);
	assert_int_equal(ca_serial_parse("0", &v), -1);
	assert_int_equal(ca_serial_parse("12x4", &v), -1);
	assert_int_equal(ca_serial_parse("", &v), -1);
	assert_int_equal(ca_reason_parse("keyCompromise"), 1);
	assert_int_equal(ca_reason_parse("4"), 4);
	assert_int_equal(ca_reason_parse("7"), -1);
	assert_int_equal(ca_reason_parse("bogus"), -1);
	assert_string_equal(ca_reason_name(6), "certificateHold");
	assert_string_equal(ca_status_name(CA_EXPIRED), "expired");
	for (int rc = CA_REPLAYED; rc >= CA_ERR_POLICY; rc--)
		assert_string_not_equal(ca_strerror(rc), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_refuses_bad_material),
		cmocka_unit_test(card_auth_fields_and_chain),
		cmocka_unit_test(card_sign_san_subject_validity),
		cmocka_unit_test(validity_fifth_birthday_in_jst),
		cmocka_unit_test(card_request_fields_named),
		cmocka_unit_test(import_checks_issuer_and_serial),
		cmocka_unit_test(phone_issue_follows_card),
		cmocka_unit_test(phone_refused_bad_signature),
		cmocka_unit_test(phone_refused_card_not_valid),
		cmocka_unit_test(verify_card_for_other_operations),
		cmocka_unit_test(verify_card_chain_follows_clock),
		cmocka_unit_test(linked_revocation),
		cmocka_unit_test(renewal_revokes_linked),
		cmocka_unit_test(hold_and_lift),
		cmocka_unit_test(crl_contents),
		cmocka_unit_test(ocsp_answers),
		cmocka_unit_test(determinism),
		cmocka_unit_test(persistence),
		cmocka_unit_test(names_and_serial_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
