/* test_jpki.c — the JPKI AP of the simulated card (docs/card.md#jpki-ap): a
 * client session, PIN counters and their persistence, signing, access rules,
 * PIN change, tearing during VERIFY, the smartphone option, a minor's
 * card, and profile validation. */
#include "test_card_fixture.h"

#define AUTH_CTR "jpki/pin/0018/ctr"
#define SIGN_CTR "jpki/pin/001B/ctr"

/* SHA-256 DigestInfo of "hello", as a client would send
 * (docs/card.md#commands). */
static void digest_info(const char *msg, uint8_t di[51])
{
	static const uint8_t prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	unsigned int n;

	memcpy(di, prefix, sizeof prefix);
	assert_int_equal(EVP_Digest(msg, strlen(msg), di + 19, &n, EVP_sha256(), NULL), 1);
}

/* RSA PKCS#1 v1.5 verification of a DigestInfo signature, as a relying
 * party does it: the public key and SHA-256 over the message. */
static int verify_sig(const char *msg, const uint8_t *sig, size_t n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fx_key) == 1 &&
		 EVP_DigestVerify(md, sig, n, (const uint8_t *)msg, strlen(msg)) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

/* The raw RSA public operation: returns the recovered block's payload
 * length after 00 01 FF.. 00, or -1. */
static long recover(const uint8_t *sig, size_t n, uint8_t *out, size_t cap)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(fx_key, NULL);
	size_t outlen = cap;
	long rc = -1;

	if (c && EVP_PKEY_verify_recover_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_verify_recover(c, out, &outlen, sig, n) == 1)
		rc = (long)outlen;
	EVP_PKEY_CTX_free(c);
	return rc;
}

static uint16_t sign(fx_t *f, uint8_t p2, const uint8_t *data, size_t n)
{
	return fx_cmd(f, 0x80, 0x2A, 0x00, p2, data, n, 256);
}

static void test_full_session(void **state)
{
	fx_t *f = fx_default();
	uint8_t di[51], tok[32], rec[256];
	(void)state;

	/* Detection: SELECT AP, token name padded with spaces. */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000020"), 0x9000);
	memset(tok, ' ', sizeof tok);
	memcpy(tok, "JPKIAPICCTOKEN2", 15);
	assert_int_equal(fx_data_len(f), 32);
	assert_memory_equal(f->rsp, tok, 32);
	/* Presence file of an adult's card. */
	assert_int_equal(fx_select_ef(f, 0x0008), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x9000);
	assert_int_equal(fx_data_len(f), 3);
	assert_memory_equal(f->rsp, "\x8F\x8F\x00", 3);
	/* The auth PIN: query, wrong, query, right, counter reset. */
	assert_int_equal(fx_select_ef(f, 0x0018), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x63C3);
	assert_int_equal(fx_verify(f, 0x80, "9999"), 0x63C2);
	assert_int_equal(fx_nvm_byte(f, AUTH_CTR), 2);
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x63C2);
	assert_int_equal(fx_verify(f, 0x80, FX_AUTH_PIN), 0x9000);
	assert_int_equal(fx_nvm_byte(f, AUTH_CTR), 3);
	/* Still 63Cx after login: OpenSC's GET_INFO requires SW1 = 63. */
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x63C3);
	/* Sign with the auth key. */
	assert_int_equal(fx_select_ef(f, 0x0017), 0x9000);
	digest_info("hello", di);
	assert_int_equal(sign(f, 0x80, di, sizeof di), 0x9000);
	assert_int_equal(fx_data_len(f), 256);
	assert_true(verify_sig("hello", f->rsp, 256));
	assert_false(verify_sig("hellO", f->rsp, 256));
	/* No hashing by the card: the padded block carries exactly our bytes. */
	assert_int_equal(recover(f->rsp, 256, rec, sizeof rec), sizeof di);
	assert_memory_equal(rec, di, sizeof di);
	fx_free(f);
}

static void test_sign_rules(void **state)
{
	fx_t *f = fx_default();
	uint8_t data[246], rec[256];
	(void)state;

	memset(data, 0xA5, sizeof data);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	/* No key selected. */
	assert_int_equal(sign(f, 0x80, data, 32), 0x6986);
	/* A certificate is no key. */
	assert_int_equal(fx_select_ef(f, 0x000A), 0x9000);
	assert_int_equal(sign(f, 0x80, data, 32), 0x6A88);
	/* Key selected, PIN not verified. */
	assert_int_equal(fx_select_ef(f, 0x0017), 0x9000);
	assert_int_equal(sign(f, 0x80, data, 32), 0x6982);
	assert_int_equal(f->rsplen, 2);
	/* The sign PIN does not open the auth key. */
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	assert_int_equal(sign(f, 0x80, data, 32), 0x6982);
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
	/* Lengths: 1..245 (k - 11). */
	assert_int_equal(sign(f, 0x80, data, 246), 0x6700);
	assert_int_equal(sign(f, 0x80, data, 245), 0x9000);
	assert_int_equal(recover(f->rsp, 256, rec, sizeof rec), 245);
	assert_int_equal(sign(f, 0x80, data, 1), 0x9000);
	assert_int_equal(fx_apdu(f, "802A008000"), 0x6700); /* no data */
	assert_int_equal(fx_apdu(f, "802A0080"), 0x6700);
	/* P1 other than 00, P2 not a reference. */
	assert_int_equal(fx_cmd(f, 0x80, 0x2A, 0x01, 0x80, data, 32, 256), 0x6A86);
	assert_int_equal(fx_cmd(f, 0x80, 0x2A, 0x9E, 0x9A, data, 32, 256), 0x6A86);
	assert_int_equal(sign(f, 0x00, data, 32), 0x6A86);
	/* P2 = 80|SFI without a SELECT (SOL): 97 auth key, 9A sign key. */
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(sign(f, 0x97, data, 32), 0x9000);
	assert_int_equal(sign(f, 0x9A, data, 32), 0x9000);
	assert_int_equal(sign(f, 0x98, data, 32), 0x6A88); /* a PIN */
	assert_int_equal(sign(f, 0x9E, data, 32), 0x6A88); /* nothing */
	/* Class 00 does not have the instruction. */
	assert_int_equal(fx_cmd(f, 0x00, 0x2A, 0x00, 0x97, data, 32, 256), 0x6E00);
	/* Re-select: gone. */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(sign(f, 0x97, data, 32), 0x6982);
	fx_free(f);
}

/* The same input gives the same signature from the sign key, and it
 * verifies (PKCS#1 v1.5 is deterministic). */
static void test_sign_key_and_cert(void **state)
{
	fx_t *f = fx_default();
	uint8_t di[51], *cert;
	size_t n;
	(void)state;

	digest_info("contract", di);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	/* The sign certificate needs the sign password (docs/card.md#files). */
	assert_int_equal(fx_select_ef(f, 0x0001), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x6982);
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x6982);
	assert_int_equal(fx_select_ef(f, 0x001B), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x63C5);
	assert_int_equal(fx_verify(f, 0x80, "abc123"), 0x63C4); /* raw bytes: case matters */
	assert_int_equal(fx_verify(f, 0x80, FX_SIGN_PIN), 0x9000);
	assert_int_equal(fx_nvm_byte(f, SIGN_CTR), 5);
	assert_int_equal(fx_select_ef(f, 0x0001), 0x9000);
	cert = fx_read_all(f, &n);
	assert_non_null(cert);
	/* DER at offset 0, filler after it, the EF larger than the DER. */
	assert_true(n > fx_sign_cert.n);
	assert_memory_equal(cert, fx_sign_cert.p, fx_sign_cert.n);
	free(cert);
	assert_int_equal(fx_select_ef(f, 0x001A), 0x9000);
	assert_int_equal(sign(f, 0x80, di, sizeof di), 0x9000);
	assert_true(verify_sig("contract", f->rsp, 256));
	fx_free(f);
}

/* The free certificate EFs: the DER, then 00 to the EF's size, by
 * default 1,900 bytes for a CA's (as sc-tools read the 2023 sign CA's EF)
 * and 2,048 for the holder's (docs/card.md#files). */
static void test_free_files(void **state)
{
	fx_t *f = fx_default();
	const struct {
		uint16_t fid;
		const fx_cert_t *c;
		size_t size;
	} certs[] = { { 0x000A, &fx_auth_cert, 2048 }, { 0x000B, &fx_auth_ca, 1900 }, { 0x0002, &fx_sign_ca, 1900 } };
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	for (size_t i = 0; i < 3; i++) {
		uint8_t *buf;
		size_t n = 0;

		assert_int_equal(fx_select_ef(f, certs[i].fid), 0x9000);
		buf = fx_read_all(f, &n);
		assert_non_null(buf);
		assert_int_equal(n, certs[i].size);
		assert_memory_equal(buf, certs[i].c->p, certs[i].c->n);
		for (size_t k = certs[i].c->n; k < n; k++)
			assert_int_equal(buf[k], 0x00);
		free(buf);
	}
	fx_free(f);
}

/* sc-tools' capture of a 2023-CA card: one extended-Le READ BINARY of EF
 * 0002 returns all 1,900 bytes (0x76C), the next READ at offset 0x076C
 * answers 6B00. */
static void test_sign_ca_ef_as_captured(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0002), 0x9000);
	assert_int_equal(fx_apdu(f, "00B00000000000"), 0x9000);
	assert_int_equal(fx_data_len(f), 0x76C);
	assert_memory_equal(f->rsp, fx_sign_ca.p, fx_sign_ca.n);
	assert_int_equal(f->rsp[0x76C - 12], 0x00);
	assert_int_equal(f->rsp[0x76C - 1], 0x00);
	assert_int_equal(fx_apdu(f, "00B0076C00"), 0x6B00);
	assert_int_equal(fx_apdu(f, "00B0076B01"), 0x9000); /* the last byte is there */
	fx_free(f);
}

/* The profile sets each EF's size and the filler (a certificate larger
 * than its EF is refused: test_profile_validation). */
static void test_ef_layout_from_profile(void **state)
{
	card_profile_t p;
	uint8_t *buf;
	size_t n;
	fx_t *f;
	(void)state;

	fx_profile(&p);
	p.ef.auth_cert = (uint16_t)(fx_auth_cert.n + 3);
	p.ef.filler = 0xFF;
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x000A), 0x9000);
	buf = fx_read_all(f, &n);
	assert_int_equal(n, fx_auth_cert.n + 3);
	assert_memory_equal(buf + fx_auth_cert.n, "\xFF\xFF\xFF", 3);
	free(buf);
	fx_free(f);
}

/* 80 FC 00 00 (the iPhone's last-command indicator): a card answers 6700
 * (docs/card.md#commands); the profile may say 6D00. */
static void test_80fc(void **state)
{
	card_profile_t p;
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "80FC0000"), 0x6700);
	assert_int_equal(fx_apdu(f, "00FC0000"), 0x6E00);
	fx_free(f);
	fx_profile(&p);
	p.sw_80fc = 0x6D00;
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "80FC0000"), 0x6D00);
	fx_free(f);
}

/* EF 0006: the name, then the CK_TOKEN_INFO-like record myna-card
 * rebuilds (model E16R01NJ, flags 0000040D, PIN lengths 16/6, versions
 * "03" "01"), or the profile's. */
static void test_token_info(void **state)
{
	static const uint8_t mine[CARD_TOKEN_INFO_LEN] = { 'X', 'Y' };
	card_profile_t p;
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x9000);
	assert_int_equal(fx_data_len(f), 160);
	assert_memory_equal(f->rsp, "JPKIAPICCTOKEN2                 ", 32);
	assert_memory_equal(f->rsp + 64, "E16R01NJ        ", 16);
	assert_memory_equal(f->rsp + 96, "\x00\x00\x04\x0D", 4);
	assert_memory_equal(f->rsp + 116, "\x00\x00\x00\x10\x00\x00\x00\x06", 8);
	assert_memory_equal(f->rsp + 140, "0301", 4);
	fx_free(f);
	fx_profile(&p);
	p.token_info = mine;
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x9000);
	assert_memory_equal(f->rsp + 32, mine, sizeof mine);
	fx_free(f);
}

static void test_lockout_persists(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0018), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, "0000"), 0x63C2);
	assert_int_equal(fx_verify(f, 0x80, "0001"), 0x63C1);
	assert_int_equal(fx_verify(f, 0x80, "0002"), 0x63C0); /* the exhausting attempt */
	assert_int_equal(fx_verify(f, 0x80, "0003"), 0x6984); /* every later one */
	assert_int_equal(fx_verify(f, 0x80, FX_AUTH_PIN), 0x6984);
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x6984);
	assert_int_equal(fx_nvm_byte(f, AUTH_CTR), 0);
	/* Blocked also after power cycles. */
	assert_int_equal(sim_card_power(f->card, SIM_POWER_OFF), SIM_OK);
	assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x6984);
	assert_int_equal(fx_select_ef(f, 0x0017), 0x9000);
	assert_int_equal(sign(f, 0x80, (const uint8_t *)"x", 1), 0x6982);
	/* The sign password is a separate counter. */
	assert_int_equal(fx_verify(f, 0x9B, NULL), 0x63C5);
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	fx_free(f);
}

/* Counters are consecutive across sessions (docs/card.md#pins) and live in the
 * NVM image: saved, loaded into a new chip, the card keeps them, and its
 * contents win over the profile it is built with. */
static void test_counters_survive_image(void **state)
{
	fx_t *f = fx_default(), *g;
	card_profile_t p;
	uint8_t *img;
	size_t n;
	nvm_t *nvm;
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x98, "1111"), 0x63C2);
	assert_int_equal(fx_verify(f, 0x9B, "WRONG1"), 0x63C4);
	assert_int_equal(fx_verify(f, 0x9B, "WRONG2"), 0x63C3);
	assert_int_equal(nvm_save(f->ctx.nvm, &img, &n), NVM_OK);
	fx_free(f);

	nvm = nvm_new();
	assert_non_null(nvm);
	assert_int_equal(nvm_load(nvm, img, n), NVM_OK);
	free(img);
	fx_profile(&p);
	p.pins.auth = "4444"; /* ignored: the image is personalised */
	p.atr_set = CARD_ATR_PCSC_TOOLS_C5;
	g = fx_new_on(&p, nvm, 1);
	assert_int_equal(fx_apdu(g, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(g, 0x98, NULL), 0x63C2);
	assert_int_equal(fx_verify(g, 0x9B, NULL), 0x63C3);
	assert_int_equal(fx_verify(g, 0x98, "4444"), 0x63C1);
	assert_int_equal(fx_verify(g, 0x98, FX_AUTH_PIN), 0x9000);
	/* The ATR follows the profile's set. */
	{
		uint8_t atr[32];

		assert_int_equal(sim_card_atr(g->card, atr, sizeof atr), 13);
	}
	fx_free(g);
}

static void test_change_pin(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0018), 0x9000);
	/* Not verified in this session. */
	assert_int_equal(fx_cmd(f, 0x00, 0x24, 0x01, 0x80, "4321", 4, 0), 0x6982);
	assert_int_equal(fx_verify(f, 0x80, FX_AUTH_PIN), 0x9000);
	/* Bad forms. */
	assert_int_equal(fx_apdu(f, "00240180"), 0x6700);
	assert_int_equal(fx_cmd(f, 0x00, 0x24, 0x01, 0x80, "12345678901234567", 17, 0), 0x6700);
	assert_int_equal(fx_cmd(f, 0x00, 0x24, 0x00, 0x80, "12344321", 8, 0), 0x6A86);
	/* Verifying the other PIN does not allow changing this one. */
	assert_int_equal(fx_cmd(f, 0x00, 0x24, 0x01, 0x9B, "NEWPASS1", 8, 0), 0x6982);
	assert_int_equal(fx_cmd(f, 0x00, 0x24, 0x01, 0x80, "4321", 4, 0), 0x9000);
	/* Persistent: after a power cycle the old PIN fails, the new works. */
	assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x63C2);
	assert_int_equal(fx_verify(f, 0x98, "4321"), 0x9000);
	assert_int_equal(fx_verify(f, 0x98, NULL), 0x63C3);
	fx_free(f);
}

static void test_verify_forms(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x6A88); /* no AP */
	assert_int_equal(fx_verify(f, 0x80, FX_AUTH_PIN), 0x6986);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, FX_AUTH_PIN), 0x6986); /* no current EF */
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, FX_AUTH_PIN), 0x6A88); /* current EF not a PIN */
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x6A88);
	assert_int_equal(fx_verify(f, 0x97, FX_AUTH_PIN), 0x6A88); /* a key */
	assert_int_equal(fx_verify(f, 0x00, FX_AUTH_PIN), 0x6A86);
	assert_int_equal(fx_verify(f, 0x18, FX_AUTH_PIN), 0x6A86);
	assert_int_equal(fx_cmd(f, 0x00, 0x20, 0x01, 0x98, "1234", 4, 0), 0x6A86);
	/* Lengths: 1..16 bytes, no Le; nothing spent. */
	assert_int_equal(fx_verify(f, 0x98, "12345678901234567"), 0x6700);
	assert_int_equal(fx_apdu(f, "0020009800"), 0x6700);
	assert_int_equal(fx_apdu(f, "00200098043132333400"), 0x6700);
	assert_int_equal(fx_nvm_byte(f, AUTH_CTR), 3);
	/* 16 bytes is a (wrong) attempt. */
	assert_int_equal(fx_verify(f, 0x98, "1234567890123456"), 0x63C2);
	/* A prefix or an extension of the PIN is wrong. */
	assert_int_equal(fx_verify(f, 0x98, "123"), 0x63C1);
	assert_int_equal(fx_verify(f, 0x98, "12340"), 0x63C0);
	fx_free(f);
}

/* A wrong attempt ends what the PIN had opened (ISO: a failed VERIFY
 * resets that reference's security status). */
static void test_failed_verify_drops_status(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x9000);
	assert_int_equal(fx_verify(f, 0x9B, "NOPE00"), 0x63C4);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x6982);
	fx_free(f);
}

/* ---- tearing ------------------------------------------------------------ */

/* An image of a personalised card whose auth counter is at ctr. */
static uint8_t *image_with_ctr(unsigned ctr, size_t *n)
{
	fx_t *f = fx_default();
	uint8_t *img;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	for (unsigned c = 3; c > ctr; c--)
		assert_int_equal(fx_verify(f, 0x98, "0000"), 0x63C0 | (c - 1));
	assert_int_equal(nvm_save(f->ctx.nvm, &img, n), NVM_OK);
	fx_free(f);
	return img;
}

/* Tear at write step k = 1, 2, ... of one VERIFY until the card answers.
 * Invariants: after power-up the counter never exceeds its value before
 * the attempt, and never lost more than one try; when the card answered,
 * its answer is the persisted truth.  Returns a bit set of the counter
 * values seen after torn attempts. */
static unsigned tear_sweep(const char *pin, unsigned before, uint16_t answer, unsigned after)
{
	uint8_t *img;
	size_t n;
	unsigned seen = 0;
	long k;

	img = image_with_ctr(before, &n);
	for (k = 1; k < 100; k++) {
		card_profile_t p;
		nvm_t *nvm = nvm_new();
		uint16_t sw;
		fx_t *f;
		uint8_t cmd[32];
		size_t len = apdu_build(cmd, sizeof cmd, 0x00, 0x20, 0x00, 0x98,
					(const uint8_t *)pin, strlen(pin), 0);
		unsigned ctr;

		assert_int_equal(nvm_load(nvm, img, n), NVM_OK);
		fx_profile(&p);
		f = fx_new_on(&p, nvm, 1);
		assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
		nvm_tear_at(nvm, k);
		if (fx_send(f, cmd, len, &sw) == SIM_OK) {
			/* Ran to the end without reaching step k. */
			nvm_tear_at(nvm, 0);
			assert_int_equal(sw, answer);
			assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
			assert_int_equal(fx_nvm_byte(f, AUTH_CTR), after);
			fx_free(f);
			break;
		}
		/* Torn: mute now and until the next power-up. */
		assert_int_equal(f->rc, SIM_ERR_MUTE);
		assert_int_equal(f->rsplen, 0);
		assert_int_equal(fx_send(f, cmd, len, &sw), SIM_ERR_MUTE);
		assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
		ctr = fx_nvm_byte(f, AUTH_CTR);
		assert_true(ctr <= before);
		assert_true(ctr + 1 >= before);
		seen |= 1u << ctr;
		/* The card works again and agrees with its NVM. */
		assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
		assert_int_equal(fx_verify(f, 0x98, NULL), 0x63C0 | ctr);
		fx_free(f);
	}
	assert_true(k > 1);  /* at least one write was torn */
	assert_true(k < 100); /* and the card eventually answered */
	free(img);
	return seen;
}

static void test_tear_wrong_verify(void **state)
{
	(void)state;
	tear_sweep("9999", 3, 0x63C2, 2);
	tear_sweep("9999", 1, 0x63C0, 0);
}

static void test_tear_right_verify(void **state)
{
	unsigned seen;
	(void)state;

	seen = tear_sweep(FX_AUTH_PIN, 2, 0x9000, 3);
	/* Decrement first: some tear points leave the right PIN's attempt
	 * spent, none gives a try back. */
	assert_true(seen & (1u << 1));
	assert_false(seen & (1u << 3));
}

/* Tearing while changing the PIN leaves the old or the new value. */
static void test_tear_change(void **state)
{
	uint8_t *img;
	size_t n;
	long k;
	(void)state;

	img = image_with_ctr(3, &n);
	for (k = 1; k < 50; k++) {
		card_profile_t p;
		nvm_t *nvm = nvm_new();
		uint16_t sw;
		fx_t *f;
		uint8_t cmd[16];
		size_t len = apdu_build(cmd, sizeof cmd, 0x00, 0x24, 0x01, 0x98,
					(const uint8_t *)"8642", 4, 0);
		int torn;

		assert_int_equal(nvm_load(nvm, img, n), NVM_OK);
		fx_profile(&p);
		f = fx_new_on(&p, nvm, 1);
		assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
		assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
		nvm_tear_at(nvm, k);
		torn = fx_send(f, cmd, len, &sw) != SIM_OK;
		nvm_tear_at(nvm, 0);
		assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
		assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
		if (!torn) {
			assert_int_equal(sw, 0x9000);
			assert_int_equal(fx_verify(f, 0x98, "8642"), 0x9000);
			fx_free(f);
			break;
		}
		/* Torn before the commit: the old PIN is intact. */
		assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
		fx_free(f);
	}
	assert_true(k > 1 && k < 50);
	free(img);
}

/* ---- profiles ------------------------------------------------------------------ */

/* docs/card.md#smartphone-token: on the smartphone token the auth certificate
 * needs the auth PIN; the same AP definition with the option set. */
static void test_phone_token_gates_auth_cert(void **state)
{
	card_profile_t p;
	uint8_t tok[32];
	fx_t *f;
	(void)state;

	fx_profile(&p);
	p.token = "JPKIAPGPSETOKEN";
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0860020"), 0x9000);
	memset(tok, ' ', sizeof tok);
	memcpy(tok, "JPKIAPGPSETOKEN", 15);
	assert_memory_equal(f->rsp, tok, 32);
	assert_int_equal(fx_select_ef(f, 0x000A), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x6982);
	assert_int_equal(fx_apdu(f, "00B08A0004"), 0x6982);
	/* CA certificates stay free. */
	assert_int_equal(fx_apdu(f, "00B08B0004"), 0x9000);
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, "00B08A0004"), 0x9000);
	assert_memory_equal(f->rsp, fx_auth_cert.p, 4);
	/* The sign password does not open it. */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, "00B08A0004"), 0x6982);
	fx_free(f);

	/* The card token leaves it free. */
	f = fx_default();
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B08A0004"), 0x9000);
	fx_free(f);
}

/* Under 15: no sign certificate, key or password (docs/card.md#files,
 * #certificates). */
static void test_minor(void **state)
{
	card_profile_t p;
	fx_t *f;
	(void)state;

	fx_minor(&p);
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0001), 0x6A82);
	assert_int_equal(fx_select_ef(f, 0x001A), 0x6A82);
	assert_int_equal(fx_select_ef(f, 0x001B), 0x6A82);
	assert_int_equal(fx_verify(f, 0x9B, NULL), 0x6A88);
	assert_int_equal(sign(f, 0x9A, (const uint8_t *)"x", 1), 0x6A88);
	assert_int_equal(fx_apdu(f, "00B0810000"), 0x6A82);
	assert_int_equal(fx_select_ef(f, 0x0008), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x9000);
	assert_int_equal(fx_data_len(f), 3);
	assert_memory_equal(f->rsp, "\x00\x8F\x00", 3);
	/* The auth side works as usual. */
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
	assert_int_equal(sign(f, 0x97, (const uint8_t *)"x", 1), 0x9000);
	fx_free(f);
}

static void test_profile_validation(void **state)
{
	static const uint8_t not_cert[8] = { 0x31, 0x82, 0x00, 0x04, 1, 2, 3, 4 };
	static const uint8_t short_form[6] = { 0x30, 0x04, 1, 2, 3, 4 };
	static const uint8_t truncated[6] = { 0x30, 0x82, 0x01, 0x00, 1, 2 };
	static const uint8_t garbage[16] = { 0x30, 0x0E };
	card_profile_t p;
	sim_ctx_t ctx;
	rng_t rng;
	vclock_t clk;
	sim_card_t *c = (sim_card_t *)&ctx;
	size_t n;
	(void)state;

	rng_seed(&rng, 1);
	ctx.rng = &rng;
	ctx.clock = &clk;
	ctx.nvm = nvm_new();
	for (int i = 0; i < 18; i++) {
		fx_profile(&p);
		switch (i) {
		case 0: p.pins.auth = "123"; break;
		case 1: p.pins.auth = "12a4"; break;
		case 2: p.pins.sign = "abc123"; break; /* upper case only */
		case 3: p.pins.sign = "ABC12"; break;  /* 6..16 */
		case 4: p.pins.sign = "ABCDEFGHIJ1234567"; break;
		case 5: p.pins.sign = NULL; break;     /* a sign cert needs it */
		case 6: p.auth_key = (card_blob_t){ garbage, sizeof garbage }; break;
		case 7: p.auth_cert = (card_blob_t){ not_cert, sizeof not_cert }; break;
		case 8: p.auth_cert = (card_blob_t){ short_form, sizeof short_form }; break;
		case 9: p.sign_ca = (card_blob_t){ truncated, sizeof truncated }; break;
		case 10: p.sign_cert = (card_blob_t){ NULL, 0 }; break; /* minor with a password */
		case 11: p.holder.number = "12345678901"; break;
		case 12: p.pins.text = "12345"; break;
		case 13: p.token = "JPKIAPICCTOKEN2JPKIAPICCTOKEN2JPKI"; break; /* > 32 */
		case 14: p.atr_set = CARD_ATR_SET_COUNT; break;
		case 15: p.auth_ca = (card_blob_t){ NULL, 0 }; break;
		case 16: p.ef.sign_cert = (uint16_t)(fx_sign_cert.n - 1); break; /* does not fit */
		case 17: p.sw_80fc = 0x6A86; break; /* not one of 6700, 6D00, 9000 */
		}
		if (sim_card_new(&c, &p, &ctx) != SIM_ERR_PROFILE)
			fail_msg("profile case %d accepted", i);
		assert_null(c);
		/* Nothing was written. */
		assert_null(nvm_get(ctx.nvm, "card/personalised", &n));
		assert_null(nvm_get(ctx.nvm, "jpki/ef/0006", &n));
	}
	/* And a good one on the same NVM is fine. */
	fx_profile(&p);
	assert_int_equal(sim_card_new(&c, &p, &ctx), SIM_OK);
	assert_non_null(nvm_get(ctx.nvm, "card/personalised", &n));
	sim_card_free(c);
	assert_int_equal(sim_card_new(NULL, &p, &ctx), SIM_ERR_ARG);
	nvm_free(ctx.nvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_session),
		cmocka_unit_test(test_sign_rules),
		cmocka_unit_test(test_sign_key_and_cert),
		cmocka_unit_test(test_free_files),
		cmocka_unit_test(test_sign_ca_ef_as_captured),
		cmocka_unit_test(test_ef_layout_from_profile),
		cmocka_unit_test(test_80fc),
		cmocka_unit_test(test_token_info),
		cmocka_unit_test(test_lockout_persists),
		cmocka_unit_test(test_counters_survive_image),
		cmocka_unit_test(test_change_pin),
		cmocka_unit_test(test_verify_forms),
		cmocka_unit_test(test_failed_verify_drops_status),
		cmocka_unit_test(test_tear_wrong_verify),
		cmocka_unit_test(test_tear_right_verify),
		cmocka_unit_test(test_tear_change),
		cmocka_unit_test(test_phone_token_gates_auth_cert),
		cmocka_unit_test(test_minor),
		cmocka_unit_test(test_profile_validation),
	};

	return cmocka_run_group_tests(tests, fx_global_setup, fx_global_teardown);
}
