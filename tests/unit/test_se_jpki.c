/* test_se_jpki.c — the smartphone JPKI applet on the SE, end to end the
 * way the TSM and the phone use it: LOAD and INSTALL over SCP03,
 * personalisation by STORE DATA DGIs (key pairs generated on the SE from
 * the key pool, the public key exported, certificates written in, the
 * holder's PINs), then the JPKI APDUs of the card through an OMAPI
 * logical channel (token JPKIAPGPSETOKEN, auth certificate behind the auth
 * PIN, signatures that verify with the certificates' keys); then the slot
 * state table, the half-valid DELETE refusal under each policy, the
 * erasure of one slot, and a deleted applet leaving no key or PIN in the
 * saved NVM image. */
#include "test_se_fixture.h"

#include <openssl/rsa.h>

#define AUTH_PIN "9753"
#define SIGN_PIN "ZQXW9753"

/* A certificate for pub, signed by pool key 5 (a stand-in CA). */
static size_t make_cert(EVP_PKEY *pub, const char *cn, long serial, uint8_t **der)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	int n;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	ASN1_TIME_set(X509_getm_notBefore(x), 1767225600);
	ASN1_TIME_set(X509_getm_notAfter(x), 1893456000);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	assert_true(X509_sign(x, sx_pool_keys[5], EVP_sha256()) > 0);
	*der = NULL;
	n = i2d_X509(x, der);
	assert_true(n > 255);
	X509_NAME_free(name);
	X509_free(x);
	return (size_t)n;
}

static EVP_PKEY *spki(const uint8_t *p, size_t n)
{
	const uint8_t *q = p;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &q, (long)n);

	assert_non_null(k);
	assert_ptr_equal(q, p + n);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	return k;
}

/* STORE DATA of one DGI cut into blocks of at most `block` bytes. */
static uint16_t store_blocks(sx_t *x, uint16_t dgi, const uint8_t *v, size_t n, size_t block)
{
	uint8_t *all = malloc(n + 5);
	size_t k = 0, off = 0;
	uint8_t p2 = 0;
	uint16_t sw = 0;

	assert_non_null(all);
	all[k++] = (uint8_t)(dgi >> 8);
	all[k++] = (uint8_t)dgi;
	all[k++] = 0xFF;
	all[k++] = (uint8_t)(n >> 8);
	all[k++] = (uint8_t)n;
	memcpy(all + k, v, n);
	k += n;
	while (off < k) {
		size_t m = k - off < block ? k - off : block;
		int last = off + m == k;

		sw = sx_wcmd(x, 0x80, 0xE2, last ? 0x88 : 0x08, p2++, all + off, m, 256);
		if (sw != 0x9000)
			break;
		off += m;
	}
	free(all);
	return sw;
}

typedef struct issued {
	EVP_PKEY *pub[2];
	uint8_t *cert[2];
	size_t cert_n[2];
	uint8_t *ca;
	size_t ca_n;
} issued_t;

/* Generate the slot's key, certify it, write CA, PIN. */
static void issue_slot(sx_t *x, issued_t *is, int slot, const char *pin)
{
	uint16_t s = (uint16_t)(slot + 1);

	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(sx_store_dgi(x, 0x0100 | s, NULL, 0), 0x9000);
	is->pub[slot] = spki(x->plain, sx_plain_len(x));
	is->cert_n[slot] = make_cert(is->pub[slot], slot ? "sign" : "auth", 100 + slot, &is->cert[slot]);
	/* The certificate in blocks of 200 bytes: DGIs span STORE DATAs. */
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(store_blocks(x, 0x0200 | s, is->cert[slot], is->cert_n[slot], 200), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(store_blocks(x, 0x0300 | s, is->ca, is->ca_n, 239), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(sx_store_dgi(x, 0x8100 | s, (const uint8_t *)pin, strlen(pin)), 0x9000);
}

static void issued_free(issued_t *is)
{
	for (int i = 0; i < 2; i++) {
		EVP_PKEY_free(is->pub[i]);
		OPENSSL_free(is->cert[i]);
	}
	OPENSSL_free(is->ca);
}

/* An SE with the applet installed and both slots issued, over a level-33
 * session (C-DECRYPTION for the PINs, R-ENC for the public keys). */
static sx_t *issued_se(se_profile_t *p, issued_t *is)
{
	sx_t *x;

	memset(is, 0, sizeof *is);
	x = sx_new(p);
	is->ca_n = make_cert(sx_pool_keys[5], "ca", 1, &is->ca);
	assert_int_equal(sx_open(x, &p->keysets[0], 0x33), 0x9000);
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	issue_slot(x, is, 0, AUTH_PIN);
	issue_slot(x, is, 1, SIGN_PIN);
	return x;
}

static void digest_info(const char *msg, uint8_t di[51])
{
	static const uint8_t prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	unsigned int n;

	memcpy(di, prefix, sizeof prefix);
	assert_int_equal(EVP_Digest(msg, strlen(msg), di + 19, &n, EVP_sha256(), NULL), 1);
}

static int verify_sig(EVP_PKEY *pub, const char *msg, const uint8_t *sig, size_t n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
		 EVP_DigestVerify(md, sig, n, (const uint8_t *)msg, strlen(msg)) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

/* The phone app's path: a logical channel, SELECT on it (OMAPI). */
static uint8_t omapi_open(sx_t *x)
{
	uint8_t ch;

	assert_int_equal(sx_apdu(x, "0070000001"), 0x9000);
	assert_int_equal(sx_data_len(x), 1);
	ch = x->rsp[0];
	assert_true(ch >= 1 && ch <= 3);
	return ch;
}

static uint16_t cmd(sx_t *x, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *d, size_t lc,
		    size_t le)
{
	static uint8_t buf[600];
	size_t n = apdu_build(buf, sizeof buf, cla, ins, p1, p2, d, lc, le);
	uint16_t sw;

	assert_true(n > 0);
	assert_int_equal(sx_send(x, buf, n, &sw), SIM_OK);
	return sw;
}

static const uint8_t jpki_aid[10] = { 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01 };

static uint16_t select_ef(sx_t *x, uint8_t ch, uint16_t fid)
{
	uint8_t d[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
	return cmd(x, ch, 0xA4, 0x02, 0x0C, d, 2, 0);
}

static void test_issue_and_use(void **state)
{
	se_profile_t p;
	issued_t is;
	uint8_t di[51], ch;
	sx_t *x;
	(void)state;

	sx_profile(&p);
	x = issued_se(&p, &is);
	/* The public keys came from the pool, one key each. */
	{
		int found[2] = { -1, -1 };
		for (int s = 0; s < 2; s++)
			for (int i = 0; i < SX_POOL; i++)
				if (EVP_PKEY_eq(is.pub[s], sx_pool_keys[i]) == 1)
					found[s] = i;
		assert_true(found[0] >= 0 && found[1] >= 0 && found[0] != found[1]);
	}
	/* Personalised: the app-specific state 0F. */
	assert_int_equal(sx_wrapped(x, "80F2400202" "4F00" "00"), 0x9000);
	assert_int_equal(x->plain[2 + 2 + 10 + 3], 0x0F);

	ch = omapi_open(x);
	assert_int_equal(cmd(x, ch, 0xA4, 0x04, 0x0C, jpki_aid, 10, 0), 0x9000);
	/* Token. */
	assert_int_equal(select_ef(x, ch, 0x0006), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 32), 0x9000);
	assert_memory_equal(x->rsp, "JPKIAPGPSETOKEN                 ", 32);
	/* Presence: both certificates. */
	assert_int_equal(select_ef(x, ch, 0x0008), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 3), 0x9000);
	assert_memory_equal(x->rsp, "\x8F\x8F\x00", 3);
	/* The auth certificate needs the auth PIN on the phone. */
	assert_int_equal(select_ef(x, ch, 0x000A), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 256), 0x6982);
	assert_int_equal(select_ef(x, ch, 0x0018), 0x9000);
	assert_int_equal(cmd(x, ch, 0x20, 0x00, 0x80, NULL, 0, 0), 0x63C3);
	assert_int_equal(cmd(x, ch, 0x20, 0x00, 0x80, "0000", 4, 0), 0x63C2);
	assert_int_equal(cmd(x, ch, 0x20, 0x00, 0x80, AUTH_PIN, 4, 0), 0x9000);
	assert_int_equal(select_ef(x, ch, 0x000A), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 256), 0x9000);
	assert_memory_equal(x->rsp, is.cert[0], 256);
	/* The CA certificate is free. */
	assert_int_equal(select_ef(x, ch, 0x000B), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 4), 0x9000);
	assert_memory_equal(x->rsp, is.ca, 4);
	/* Auth signature. */
	digest_info("hello", di);
	assert_int_equal(select_ef(x, ch, 0x0017), 0x9000);
	assert_int_equal(cmd(x, (uint8_t)(0x80 | ch), 0x2A, 0x00, 0x80, di, sizeof di, 256), 0x9000);
	assert_int_equal(sx_data_len(x), 256);
	assert_true(verify_sig(is.pub[0], "hello", x->rsp, 256));
	/* Sign key: its own password, 5 tries. */
	assert_int_equal(select_ef(x, ch, 0x001A), 0x9000);
	assert_int_equal(cmd(x, (uint8_t)(0x80 | ch), 0x2A, 0x00, 0x80, di, sizeof di, 256), 0x6982);
	assert_int_equal(select_ef(x, ch, 0x001B), 0x9000);
	assert_int_equal(cmd(x, ch, 0x20, 0x00, 0x80, NULL, 0, 0), 0x63C5);
	assert_int_equal(cmd(x, ch, 0x20, 0x00, 0x80, SIGN_PIN, strlen(SIGN_PIN), 0), 0x9000);
	assert_int_equal(select_ef(x, ch, 0x001A), 0x9000);
	assert_int_equal(cmd(x, (uint8_t)(0x80 | ch), 0x2A, 0x00, 0x80, di, sizeof di, 256), 0x9000);
	assert_true(verify_sig(is.pub[1], "hello", x->rsp, 256));
	/* The sign certificate, read whole, is the one written in. */
	assert_int_equal(select_ef(x, ch, 0x0001), 0x9000);
	{
		size_t off = 0;
		while (off < is.cert_n[1]) {
			assert_int_equal(cmd(x, ch, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, 256), 0x9000);
			size_t k = sx_data_len(x) < is.cert_n[1] - off ? sx_data_len(x) : is.cert_n[1] - off;
			assert_memory_equal(x->rsp, is.cert[1] + off, k);
			off += k;
		}
	}
	/* The counter of the wrong auth attempt was reset by the right one,
	 * and persists across power. */
	assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(cmd(x, 0x00, 0xA4, 0x04, 0x0C, jpki_aid, 10, 0), 0x9000);
	assert_int_equal(cmd(x, 0x00, 0x20, 0x00, 0x98, NULL, 0, 0), 0x63C3);
	issued_free(&is);
	sx_free(x);
}

static uint16_t slot_status(sx_t *x, uint8_t out[2])
{
	uint16_t sw;

	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	sw = sx_store_dgi(x, 0x0600, NULL, 0);
	if (sw == 0x9000) {
		assert_int_equal(sx_plain_len(x), 2);
		memcpy(out, x->plain, 2);
	}
	return sw;
}

static uint16_t dgi(sx_t *x, uint16_t tag, const void *v, size_t n)
{
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	return sx_store_dgi(x, tag, v, n);
}

static void test_slot_table_and_checks(void **state)
{
	se_profile_t p;
	issued_t is;
	uint8_t st[2], *der;
	size_t n;
	sx_t *x;
	(void)state;

	sx_profile(&p);
	x = issued_se(&p, &is);
	assert_int_equal(slot_status(x, st), 0x9000);
	assert_memory_equal(st, "\x02\x02", 2);
	/* No new key over an ACTIVE one; no erasing an ACTIVE slot. */
	assert_int_equal(dgi(x, 0x0101, NULL, 0), 0x6985);
	assert_int_equal(dgi(x, 0x0501, NULL, 0), 0x6985);
	/* A certificate for another key; a second certificate. */
	n = make_cert(sx_pool_keys[5], "other", 7, &der);
	assert_int_equal(dgi(x, 0x0201, der, n), 0x6985); /* the slot is ACTIVE */
	OPENSSL_free(der);
	/* PIN formats (docs/card.md#pins), and PINs only under C-DECRYPTION. */
	assert_int_equal(dgi(x, 0x8101, "12345", 5), 0x6A80);
	assert_int_equal(dgi(x, 0x8101, "12a4", 4), 0x6A80);
	assert_int_equal(dgi(x, 0x8102, "ABC12", 5), 0x6A80);
	assert_int_equal(dgi(x, 0x8102, "abc123", 6), 0x6A80);
	assert_int_equal(dgi(x, 0x8102, "ABCDEFGHIJ1234567", 17), 0x6A80);
	assert_int_equal(dgi(x, 0x8102, "ABCDEFGHIJ123456", 16), 0x9000);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x11), 0x9000);
	assert_int_equal(dgi(x, 0x8101, "1111", 4), 0x6982);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x33), 0x9000);
	/* Unknown DGI, unknown slot, bad state byte. */
	assert_int_equal(dgi(x, 0x0901, NULL, 0), 0x6A88);
	assert_int_equal(dgi(x, 0x0103, NULL, 0), 0x6A88);
	assert_int_equal(dgi(x, 0x0401, "\x02", 1), 0x6A80);
	/* STORE DATA to the ISD itself (no INSTALL [for personalization]):
	 * not a DGI it takes. */
	assert_int_equal(sx_wrapped(x, "80E288000401010000"), 0x6A80);
	/* Revoke, then a new key: the old certificate goes with the old key. */
	assert_int_equal(dgi(x, 0x0401, "\x03", 1), 0x9000);
	assert_int_equal(dgi(x, 0x0401, "\x03", 1), 0x6985);
	assert_int_equal(dgi(x, 0x0101, NULL, 0), 0x9000);
	assert_null(nvm_get(x->ctx.nvm, "sejpki/ef/000A", &n));
	assert_int_equal(slot_status(x, st), 0x9000);
	assert_memory_equal(st, "\x01\x02", 2);
	/* A certificate whose key is not the slot's. */
	n = make_cert(is.pub[0], "stale", 8, &der);
	assert_int_equal(dgi(x, 0x0201, der, n), 0x6A80);
	OPENSSL_free(der);
	/* Personalisation of a LOCKED applet: refused. */
	assert_int_equal(sx_wrapped(x, "80F040800AD392F000260100000001"), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x6985);
	issued_free(&is);
	sx_free(x);
}

/* Search img for needle. */
static int contains(const uint8_t *img, size_t n, const void *needle, size_t k)
{
	return memmem(img, n, needle, k) != NULL;
}

static void test_half_valid_and_delete(void **state)
{
	se_profile_t p;
	issued_t is;
	uint8_t st[2], *img, *auth_key, *sign_key, ch, di[51];
	size_t n, auth_n, sign_n;
	const uint8_t *v;
	sx_t *x;
	(void)state;

	sx_profile(&p);
	p.half_valid = SE_HALF_VALID_BLOCK;
	x = issued_se(&p, &is);
	assert_non_null(v = nvm_get(x->ctx.nvm, "sejpki/key/0017", &auth_n));
	auth_key = malloc(auth_n);
	memcpy(auth_key, v, auth_n);
	assert_non_null(v = nvm_get(x->ctx.nvm, "sejpki/key/001A", &sign_n));
	sign_key = malloc(sign_n);
	memcpy(sign_key, v, sign_n);
	/* Both valid: nothing is half-valid yet.  The sign certificate is
	 * revoked (an address change): the applet is half-valid, DELETE is
	 * refused with 6985 and changes nothing. */
	assert_int_equal(dgi(x, 0x0402, "\x03", 1), 0x9000);
	assert_int_equal(sx_delete(x, SX_JPKI_AID, 0x00), 0x6985);
	assert_int_equal(sx_delete(x, SX_JPKI_PKG, 0x80), 0x6985);
	assert_non_null(nvm_get(x->ctx.nvm, "sejpki/key/001A", &n));
	/* erase_revoked: the TSM erases the revoked slot, keeps the other. */
	assert_int_equal(dgi(x, 0x0502, NULL, 0), 0x9000);
	assert_int_equal(slot_status(x, st), 0x9000);
	assert_memory_equal(st, "\x02\x04", 2);
	assert_null(nvm_get(x->ctx.nvm, "sejpki/key/001A", &n));
	assert_null(nvm_get(x->ctx.nvm, "sejpki/ef/0001", &n));
	assert_null(nvm_get(x->ctx.nvm, "sejpki/pin/001B/val", &n));
	assert_null(nvm_get(x->ctx.nvm, "sejpki/pin/001B/ctr", &n));
	assert_int_equal(nvm_save(x->ctx.nvm, &img, &n), 0);
	assert_false(contains(img, n, sign_key, sign_n));
	assert_false(contains(img, n, SIGN_PIN, strlen(SIGN_PIN)));
	free(img);
	/* The auth pair still works; the sign objects are gone for a client. */
	ch = omapi_open(x);
	assert_int_equal(cmd(x, ch, 0xA4, 0x04, 0x0C, jpki_aid, 10, 0), 0x9000);
	assert_int_equal(select_ef(x, ch, 0x0008), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 3), 0x9000);
	assert_memory_equal(x->rsp, "\x00\x8F\x00", 3);
	assert_int_equal(select_ef(x, ch, 0x001B), 0x6A82);
	assert_int_equal(select_ef(x, ch, 0x0001), 0x6A82);
	assert_int_equal(cmd(x, ch, 0x20, 0x00, 0x98, AUTH_PIN, 4, 0), 0x9000);
	digest_info("still valid", di);
	assert_int_equal(cmd(x, (uint8_t)(0x80 | ch), 0x2A, 0x00, 0x97, di, sizeof di, 256), 0x9000);
	assert_true(verify_sig(is.pub[0], "still valid", x->rsp, 256));
	/* Still half-valid (one valid pair): DELETE still refused. */
	assert_int_equal(sx_delete(x, SX_JPKI_AID, 0x00), 0x6985);
	/* The auth certificate is revoked too: the applet can go, and it
	 * leaves nothing behind — no record, no key, no PIN in the image;
	 * the channel that had it selected has nothing selected. */
	assert_int_equal(dgi(x, 0x0401, "\x03", 1), 0x9000);
	assert_int_equal(sx_delete(x, SX_JPKI_AID, 0x00), 0x9000);
	assert_int_equal(cmd(x, ch, 0xB0, 0, 0, NULL, 0, 3), 0x6D00);
	assert_int_equal(cmd(x, ch, 0xA4, 0x04, 0x0C, jpki_aid, 10, 0), 0x6A82);
	assert_int_equal(nvm_save(x->ctx.nvm, &img, &n), 0);
	assert_false(contains(img, n, auth_key, auth_n));
	assert_false(contains(img, n, sign_key, sign_n));
	assert_false(contains(img, n, AUTH_PIN, 4));
	assert_false(contains(img, n, SIGN_PIN, strlen(SIGN_PIN)));
	assert_false(contains(img, n, "sejpki/", 7));
	assert_false(contains(img, n, is.cert[0], 64));
	/* The positive control: the key was in an image before. */
	free(img);
	/* Reissue on the same SE: new instance, new keys. */
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	assert_int_equal(slot_status(x, st), 0x9000);
	assert_memory_equal(st, "\x00\x00", 2);
	free(auth_key);
	free(sign_key);
	issued_free(&is);
	sx_free(x);
}

/* The image check above can fail: before deletion the key is there. */
static void test_image_search_sees_keys(void **state)
{
	se_profile_t p;
	issued_t is;
	uint8_t *img;
	const uint8_t *v;
	size_t n, kn;
	sx_t *x;
	(void)state;

	sx_profile(&p);
	x = issued_se(&p, &is);
	assert_non_null(v = nvm_get(x->ctx.nvm, "sejpki/key/0017", &kn));
	assert_int_equal(nvm_save(x->ctx.nvm, &img, &n), 0);
	assert_true(contains(img, n, v, kn));
	assert_true(contains(img, n, AUTH_PIN, 4));
	free(img);
	issued_free(&is);
	sx_free(x);
}

static void test_policies(void **state)
{
	static const enum se_half_valid pol[3] = { SE_HALF_VALID_BLOCK, SE_HALF_VALID_ERASE_REVOKED,
						    SE_HALF_VALID_ALLOW };
	static const uint16_t want[3] = { 0x6985, 0x6985, 0x9000 };
	(void)state;

	for (int i = 0; i < 3; i++) {
		se_profile_t p;
		issued_t is;
		sx_t *x;

		sx_profile(&p);
		p.half_valid = pol[i];
		x = issued_se(&p, &is);
		assert_int_equal(dgi(x, 0x0401, "\x03", 1), 0x9000);
		assert_int_equal(sx_delete(x, SX_JPKI_AID, 0x00), want[i]);
		issued_free(&is);
		sx_free(x);
	}
}

/* The same seed gives the same keys: the pool draw is the run's RNG. */
static void test_seeded_keys(void **state)
{
	se_profile_t p;
	EVP_PKEY *k[2];
	(void)state;

	sx_profile(&p);
	for (int i = 0; i < 2; i++) {
		sx_t *x = sx_new_on(&p, NULL, 42);

		assert_int_equal(sx_open(x, &p.keysets[0], 0x33), 0x9000);
		assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
		assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
		assert_int_equal(dgi(x, 0x0101, NULL, 0), 0x9000);
		k[i] = spki(x->plain, sx_plain_len(x));
		sx_free(x);
	}
	assert_int_equal(EVP_PKEY_eq(k[0], k[1]), 1);
	EVP_PKEY_free(k[0]);
	EVP_PKEY_free(k[1]);
}

/* A profile can say the applet is already installed (the registry seeds
 * an instance of the ROM module): it is there with its token. */
static void test_preinstalled(void **state)
{
	se_profile_t p;
	se_reg_seed_t *s;
	sx_t *x;
	(void)state;

	sx_profile(&p);
	s = &p.seeds[0];
	memset(s, 0, sizeof *s);
	s->kind = SE_OBJ_ELF;
	sx_aid(&s->aid, SX_JPKI_PKG);
	s->lcs = 0x01;
	s->n_modules = 1;
	sx_aid(&s->modules[0], SX_JPKI_MOD);
	s = &p.seeds[1];
	memset(s, 0, sizeof *s);
	s->kind = SE_OBJ_APP;
	sx_aid(&s->aid, SX_JPKI_AID);
	sx_aid(&s->elf, SX_JPKI_PKG);
	sx_aid(&s->module, SX_JPKI_MOD);
	s->lcs = 0x07;
	p.n_seeds = 2;
	x = sx_new(&p);
	assert_int_equal(cmd(x, 0x00, 0xA4, 0x04, 0x0C, jpki_aid, 10, 0), 0x9000);
	assert_int_equal(select_ef(x, 0, 0x0006), 0x9000);
	assert_int_equal(cmd(x, 0x00, 0xB0, 0, 0, NULL, 0, 15), 0x9000);
	assert_memory_equal(x->rsp, "JPKIAPGPSETOKEN", 15);
	/* And the TSM can personalise it (through the ISD: the applet itself
	 * knows no GP command). */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x33), 0x6D00);
	sx_apdu(x, "00A4040000");
	assert_int_equal(sx_open(x, &p.keysets[0], 0x33), 0x9000);
	assert_int_equal(dgi(x, 0x0101, NULL, 0), 0x9000);
	sx_free(x);
}

static int teardown(void **state)
{
	(void)state;
	sx_pool_free();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_and_use),
		cmocka_unit_test(test_slot_table_and_checks),
		cmocka_unit_test(test_half_valid_and_delete),
		cmocka_unit_test(test_image_search_sees_keys),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_seeded_keys),
		cmocka_unit_test(test_preinstalled),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
