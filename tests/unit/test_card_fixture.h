/* test_card_fixture.h — what the card tests share: one RSA-2048 key per
 * test file, fake certificates, a complete holder profile, and a card on
 * a fresh NVM with a helper that sends hex APDUs. */
#ifndef TEST_CARD_FIXTURE_H
#define TEST_CARD_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sim/card/card.h"
#include "sim/core/apdu.h"

#define FX_AUTH_PIN "1234"
#define FX_SIGN_PIN "ABC123"
#define FX_TEXT_PIN "5678"
#define FX_NUMBER "123456789018"
#define FX_NAME "\xE5\xB1\xB1\xE7\x94\xB0\xE3\x80\x80\xE5\xA4\xAA\xE9\x83\x8E" /* 山田　太郎 */
#define FX_ADDRESS "\xE6\x9D\xB1\xE4\xBA\xAC\xE9\x83\xBD\xE5\x8D\x83\xE4\xBB\xA3\xE7\x94\xB0\xE5\x8C\xBA\xEF\xBC\x91" /* 東京都千代田区１ */
#define FX_BIRTH "19800217"
#define FX_COLLATION_B "55021720352285" /* docs/card.md#text-ap's worked example */

/* One key for auth, sign and text AP: generating RSA-2048 costs ~150 ms. */
static EVP_PKEY *fx_key;
static uint8_t *fx_key_der;
static size_t fx_key_len;

/* "Certificates": 30 82 LL LL and a pattern, distinct per seed. */
typedef struct fx_cert {
	uint8_t *p;
	size_t n;
} fx_cert_t;

static fx_cert_t fx_auth_cert, fx_auth_ca, fx_sign_cert, fx_sign_ca;

static inline void fx_make_cert(fx_cert_t *c, size_t body, uint8_t seed)
{
	c->n = 4 + body;
	c->p = malloc(c->n);
	assert_non_null(c->p);
	c->p[0] = 0x30;
	c->p[1] = 0x82;
	c->p[2] = (uint8_t)(body >> 8);
	c->p[3] = (uint8_t)body;
	for (size_t i = 0; i < body; i++)
		c->p[4 + i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static inline int fx_global_setup(void **state)
{
	PKCS8_PRIV_KEY_INFO *p8;
	uint8_t *der = NULL;
	int n;

	(void)state;
	fx_key = EVP_RSA_gen(2048);
	if (!fx_key || !(p8 = EVP_PKEY2PKCS8(fx_key)))
		return -1;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return -1;
	fx_key_der = der;
	fx_key_len = (size_t)n;
	/* The sizes of real ones (docs/card.md#files): auth 1,571 and sign
	 * 1,742 bytes on a 2021 card, the 2023 sign CA 1,304. */
	fx_make_cert(&fx_auth_cert, 1571 - 4, 0x11);
	fx_make_cert(&fx_auth_ca, 1304 - 4, 0x22);
	fx_make_cert(&fx_sign_cert, 1742 - 4, 0x33);
	fx_make_cert(&fx_sign_ca, 1304 - 4, 0x44);
	return 0;
}

static inline int fx_global_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx_key);
	OPENSSL_free(fx_key_der);
	free(fx_auth_cert.p);
	free(fx_auth_ca.p);
	free(fx_sign_cert.p);
	free(fx_sign_ca.p);
	return 0;
}

static inline card_blob_t fx_blob(const fx_cert_t *c)
{
	return (card_blob_t){ c->p, c->n };
}

/* An adult holder with both certificates and a text AP key. */
static inline void fx_profile(card_profile_t *p)
{
	memset(p, 0, sizeof *p);
	p->atr_set = CARD_ATR_OPENSC_3021;
	p->holder.name = FX_NAME;
	p->holder.address = FX_ADDRESS;
	p->holder.birth = FX_BIRTH;
	p->holder.sex = "1";
	p->holder.number = FX_NUMBER;
	p->holder.expiry_year = 2035;
	p->holder.security_code = "2285";
	p->pins.auth = FX_AUTH_PIN;
	p->pins.sign = FX_SIGN_PIN;
	p->pins.text = FX_TEXT_PIN;
	p->auth_cert = fx_blob(&fx_auth_cert);
	p->auth_ca = fx_blob(&fx_auth_ca);
	p->sign_cert = fx_blob(&fx_sign_cert);
	p->sign_ca = fx_blob(&fx_sign_ca);
	p->auth_key = (card_blob_t){ fx_key_der, fx_key_len };
	p->sign_key = (card_blob_t){ fx_key_der, fx_key_len };
	p->text_key = (card_blob_t){ fx_key_der, fx_key_len };
}

/* A minor's card (docs/card.md#certificates): no sign certificate, key or
 * password. */
static inline void fx_minor(card_profile_t *p)
{
	fx_profile(p);
	p->sign_cert = (card_blob_t){ NULL, 0 };
	p->sign_key = (card_blob_t){ NULL, 0 };
	p->pins.sign = NULL;
}

typedef struct fx {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	sim_card_t *card;
	uint8_t rsp[APDU_MAX_RSP];
	size_t rsplen;
	int rc; /* of the last transmit */
} fx_t;

/* A card on a fresh NVM (nvm == NULL) or on the given one; the fixture
 * owns the NVM either way. */
static inline fx_t *fx_new_on(const card_profile_t *p, nvm_t *nvm, uint64_t seed)
{
	fx_t *f = calloc(1, sizeof *f);

	assert_non_null(f);
	rng_seed(&f->rng, seed);
	f->ctx.rng = &f->rng;
	f->ctx.clock = &f->clock;
	f->ctx.nvm = nvm ? nvm : nvm_new();
	assert_non_null(f->ctx.nvm);
	assert_int_equal(sim_card_new(&f->card, p, &f->ctx), SIM_OK);
	return f;
}

static inline fx_t *fx_new(const card_profile_t *p)
{
	return fx_new_on(p, NULL, 1);
}

static inline fx_t *fx_default(void)
{
	card_profile_t p;

	fx_profile(&p);
	return fx_new(&p);
}

static inline void fx_free(fx_t *f)
{
	if (!f)
		return;
	sim_card_free(f->card);
	nvm_free(f->ctx.nvm);
	free(f);
}

/* Send raw bytes; returns the transmit code, the SW in *sw when answered. */
static inline int fx_send(fx_t *f, const uint8_t *cmd, size_t n, uint16_t *sw)
{
	f->rc = sim_card_transmit(f->card, cmd, n, f->rsp, sizeof f->rsp, &f->rsplen);
	if (sw)
		*sw = f->rc == SIM_OK ? apdu_sw(f->rsp, f->rsplen) : 0;
	return f->rc;
}

/* Send hex; the card must answer.  Returns SW1SW2; data in f->rsp,
 * f->rsplen - 2 bytes of it. */
static inline uint16_t fx_apdu(fx_t *f, const char *hex)
{
	uint8_t cmd[APDU_MAX_DATA + 10];
	long n = apdu_unhex(hex, cmd, sizeof cmd);
	uint16_t sw;

	assert_true(n >= 0);
	assert_int_equal(fx_send(f, cmd, (size_t)n, &sw), SIM_OK);
	assert_true(f->rsplen >= 2);
	return sw;
}

static inline size_t fx_data_len(const fx_t *f)
{
	return f->rsplen >= 2 ? f->rsplen - 2 : 0;
}

/* Build and send; le as for apdu_build. */
static inline uint16_t fx_cmd(fx_t *f, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
		       const void *data, size_t lc, size_t le)
{
	uint8_t cmd[APDU_MAX_DATA + 10];
	size_t n = apdu_build(cmd, sizeof cmd, cla, ins, p1, p2, data, lc, le);
	uint16_t sw;

	assert_true(n > 0);
	assert_int_equal(fx_send(f, cmd, n, &sw), SIM_OK);
	return sw;
}

#define FX_SELECT_JPKI "00A4040C0AD392F000260100000001"
#define FX_SELECT_TEXT "00A4040C0AD3921000310001010408"

static inline uint16_t fx_select_ef(fx_t *f, uint16_t fid)
{
	uint8_t d[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };

	return fx_cmd(f, 0x00, 0xA4, 0x02, 0x0C, d, 2, 0);
}

/* VERIFY P2=80 on the current EF (select it first) or 80|SFI. */
static inline uint16_t fx_verify(fx_t *f, uint8_t p2, const char *pin)
{
	return fx_cmd(f, 0x00, 0x20, 0x00, p2, pin, pin ? strlen(pin) : 0, 0);
}

/* Read a whole EF from the current selection the way MYNA does: Le=00
 * while more remains, until the card returns nothing or 6B00.  Returns
 * a malloc'd buffer and its length in *n; NULL if the first read fails. */
static inline uint8_t *fx_read_all(fx_t *f, size_t *n)
{
	uint8_t *buf = NULL;
	size_t off = 0;

	for (;;) {
		uint16_t sw = fx_cmd(f, 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, 256);
		size_t k = fx_data_len(f);

		if (sw != 0x9000 || k == 0) {
			if (off == 0) {
				free(buf);
				return NULL;
			}
			break;
		}
		buf = realloc(buf, off + k);
		assert_non_null(buf);
		memcpy(buf + off, f->rsp, k);
		off += k;
	}
	*n = off;
	return buf;
}

static inline uint8_t fx_nvm_byte(fx_t *f, const char *key)
{
	size_t n = 0;
	const uint8_t *v = nvm_get(f->ctx.nvm, key, &n);

	assert_non_null(v);
	assert_int_equal(n, 1);
	return v[0];
}

#endif
