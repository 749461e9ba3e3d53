/* test_se_fixture.h — what the SE tests share: an SE on a fresh (or
 * given) NVM, hex helpers that compare whole responses, and a host side
 * (sim/gp's SCP03 host) to open secure channels and send wrapped
 * commands the way a TSM does. */
#ifndef TEST_SE_FIXTURE_H
#define TEST_SE_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sim/core/apdu.h"
#include "sim/gp/scp03.h"
#include "sim/se/se.h"

#define SX_ISD "A000000151000000"
#define SX_JPKI_PKG "D392F000260100"
#define SX_JPKI_MOD "D392F00026010001"
#define SX_JPKI_AID "D392F000260100000001"

static inline size_t sx_unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = apdu_unhex(hex, out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static inline void sx_assert_hex(const uint8_t *got, size_t n, const char *hex)
{
	static uint8_t want[8192];
	static char g[16400], w[16400];
	size_t wn = sx_unhex(hex, want, sizeof want);

	if (wn != n || memcmp(got, want, n)) {
		apdu_hex(got, n < 8192 ? n : 8192, g);
		apdu_hex(want, wn, w);
		fail_msg("got  %s\nwant %s", g, w);
	}
}

static inline void sx_aid(se_aid_t *a, const char *hex)
{
	a->len = (uint8_t)sx_unhex(hex, a->b, sizeof a->b);
}

/* A key set from hex (ENC, MAC, DEK). */
static inline void sx_keyset(se_keyset_t *k, uint8_t kvn, const char *enc, const char *mac,
			     const char *dek, uint32_t counter)
{
	memset(k, 0, sizeof *k);
	k->kvn = kvn;
	k->key_len = (uint8_t)sx_unhex(enc, k->enc, sizeof k->enc);
	assert_int_equal(sx_unhex(mac, k->mac, sizeof k->mac), k->key_len);
	assert_int_equal(sx_unhex(dek, k->dek, sizeof k->dek), k->key_len);
	k->counter = counter;
}

typedef struct sx {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	sim_se_t *se;
	uint8_t rsp[APDU_MAX_RSP];
	size_t rsplen;
	int rc;
	int allow_mute;         /* tear tests: a mute SE is expected */
	uint8_t ea_p1;          /* nonzero: EXTERNAL AUTHENTICATE goes out with this P1 */
	/* host side */
	scp03_session_t host;
	scp03_keyset_t keys;
	uint8_t chan;           /* logical channel the host session runs on */
	uint8_t plain[APDU_MAX_RSP]; /* unwrapped response of sx_wrapped */
	size_t plainlen;
} sx_t;

static inline sx_t *sx_new_on(const se_profile_t *p, nvm_t *nvm, uint64_t seed)
{
	sx_t *x = calloc(1, sizeof *x);

	assert_non_null(x);
	rng_seed(&x->rng, seed);
	x->ctx.rng = &x->rng;
	x->ctx.clock = &x->clock;
	x->ctx.nvm = nvm ? nvm : nvm_new();
	assert_non_null(x->ctx.nvm);
	assert_int_equal(sim_se_new(&x->se, p, &x->ctx), SIM_OK);
	return x;
}

static inline sx_t *sx_new(const se_profile_t *p)
{
	return sx_new_on(p, NULL, 1);
}

static inline void sx_free(sx_t *x)
{
	if (!x)
		return;
	scp03_session_close(&x->host);
	sim_se_free(x->se);
	nvm_free(x->ctx.nvm);
	free(x);
}

static inline int sx_send(sx_t *x, const uint8_t *cmd, size_t n, uint16_t *sw)
{
	x->rc = sim_se_transmit(x->se, cmd, n, x->rsp, sizeof x->rsp, &x->rsplen);
	if (sw)
		*sw = x->rc == SIM_OK ? apdu_sw(x->rsp, x->rsplen) : 0;
	return x->rc;
}

/* Send hex; the SE must answer.  Returns SW1SW2. */
static inline uint16_t sx_apdu(sx_t *x, const char *hex)
{
	static uint8_t cmd[APDU_MAX_DATA + 10];
	size_t n = sx_unhex(hex, cmd, sizeof cmd);
	uint16_t sw;

	assert_int_equal(sx_send(x, cmd, n, &sw), SIM_OK);
	assert_true(x->rsplen >= 2);
	return sw;
}

/* Send hex and compare the whole response (data and SW) with hex. */
static inline void sx_expect(sx_t *x, const char *cmd, const char *rsp)
{
	sx_apdu(x, cmd);
	sx_assert_hex(x->rsp, x->rsplen, rsp);
}

static inline size_t sx_data_len(const sx_t *x)
{
	return x->rsplen >= 2 ? x->rsplen - 2 : 0;
}

/* ---- host side over sim/gp -------------------------------------------- */

/* INITIALIZE UPDATE + EXTERNAL AUTHENTICATE at level on channel chan
 * (the CLA carries the channel).  Returns the SW of the first step that
 * fails, 9000 when the session is open. */
static inline uint16_t sx_open_on(sx_t *x, uint8_t chan, const se_keyset_t *k, uint8_t level,
				  uint8_t p1_kvn)
{
	uint8_t cmd[64], hc[8];
	size_t n;
	uint16_t sw;

	memset(&x->keys, 0, sizeof x->keys);
	x->keys.kvn = k->kvn;
	x->keys.key_len = k->key_len;
	memcpy(x->keys.enc, k->enc, k->key_len);
	memcpy(x->keys.mac, k->mac, k->key_len);
	memcpy(x->keys.dek, k->dek, k->key_len);
	x->chan = chan;
	rng_bytes(&x->rng, hc, sizeof hc);
	assert_int_equal(scp03_host_init_update(&x->host, p1_kvn, hc, 8, cmd, sizeof cmd, &n), 0);
	cmd[0] |= chan;
	assert_int_equal(sx_send(x, cmd, n, &sw), SIM_OK);
	if (sw != 0x9000)
		return sw;
	if (scp03_host_open(&x->host, &x->keys, x->rsp, x->rsplen, level, cmd, sizeof cmd, &n) < 0)
		return 0x6F00;
	cmd[0] |= chan;
	if (x->ea_p1)
		cmd[2] = x->ea_p1;
	assert_int_equal(sx_send(x, cmd, n, &sw), SIM_OK);
	if (scp03_host_auth_result(&x->host, x->rsp, x->rsplen) < 0)
		return sw ? sw : 0x6F00;
	return sw;
}

static inline uint16_t sx_open(sx_t *x, const se_keyset_t *k, uint8_t level)
{
	return sx_open_on(x, 0, k, level, k->kvn);
}

/* Wrap a plain command (bytes) with the host session, send, unwrap.
 * Returns the SW; plain data in x->plain (plainlen includes the SW). */
static inline uint16_t sx_wrapped_bytes(sx_t *x, const uint8_t *plain, size_t n)
{
	static uint8_t w[APDU_MAX_DATA + 64], c[APDU_MAX_DATA + 10];
	size_t wn;
	uint16_t sw;

	assert_true(n <= sizeof c && n >= 4);
	memcpy(c, plain, n);
	c[0] |= x->chan; /* channels 1-3: the host never MACs the channel bits */
	if (scp03_host_wrap(&x->host, c, n, w, sizeof w, &wn) < 0) {
		static char h[2 * 300 + 1];
		apdu_hex(c, n < 300 ? n : 300, h);
		fail_msg("the host cannot wrap %s", h);
	}
	x->plainlen = 0;
	if (sx_send(x, w, wn, &sw) != SIM_OK) {
		assert_true(x->allow_mute);
		return 0;
	}
	if (scp03_host_unwrap_rsp(&x->host, x->rsp, x->rsplen, x->plain, sizeof x->plain,
				  &x->plainlen) < 0)
		fail_msg("response does not unwrap (SW %04X)", sw);
	return apdu_sw(x->plain, x->plainlen);
}

static inline uint16_t sx_wrapped(sx_t *x, const char *hex)
{
	static uint8_t cmd[APDU_MAX_DATA + 10];

	return sx_wrapped_bytes(x, cmd, sx_unhex(hex, cmd, sizeof cmd));
}

/* Build a plain command and send it wrapped. */
static inline uint16_t sx_wcmd(sx_t *x, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
			       const void *data, size_t lc, size_t le)
{
	static uint8_t cmd[APDU_MAX_DATA + 10];
	size_t n = apdu_build(cmd, sizeof cmd, cla, ins, p1, p2, data, lc, le);

	assert_true(n > 0);
	return sx_wrapped_bytes(x, cmd, n);
}

static inline size_t sx_plain_len(const sx_t *x)
{
	return x->plainlen >= 2 ? x->plainlen - 2 : 0;
}

/* Keys 11..16 of the fixtures' pool, as PKCS#8 DER (loaded once): the
 * SE draws its keys from them, so runs are reproducible. */
#define SX_POOL 6
static se_blob_t sx_pool_blobs[SX_POOL];
static EVP_PKEY *sx_pool_keys[SX_POOL];

static inline void sx_pool_load(void)
{
	for (int i = 0; i < SX_POOL && !sx_pool_keys[i]; i++) {
		char path[512];
		FILE *f;
		PKCS8_PRIV_KEY_INFO *p8;
		uint8_t *der = NULL;
		int n;

		snprintf(path, sizeof path, "%s/fixtures/keys/pool-%02d.pem", MYNAHIL_SOURCE_DIR, 11 + i);
		assert_non_null(f = fopen(path, "r"));
		sx_pool_keys[i] = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		assert_non_null(sx_pool_keys[i]);
		assert_non_null(p8 = EVP_PKEY2PKCS8(sx_pool_keys[i]));
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		PKCS8_PRIV_KEY_INFO_free(p8);
		assert_true(n > 0);
		sx_pool_blobs[i] = (se_blob_t){ der, (size_t)n };
	}
}

static inline void sx_pool_free(void)
{
	for (int i = 0; i < SX_POOL; i++) {
		EVP_PKEY_free(sx_pool_keys[i]);
		OPENSSL_free((void *)sx_pool_blobs[i].p);
		sx_pool_keys[i] = NULL;
		sx_pool_blobs[i] = (se_blob_t){ NULL, 0 };
	}
}

/* The default profile (the GP test key set, KVN 30) with the pool. */
static inline void sx_profile(se_profile_t *p)
{
	se_profile_defaults(p);
	sx_pool_load();
	p->key_pool = sx_pool_blobs;
	p->n_key_pool = SX_POOL;
}

/* ---- card-management helpers (over an open session) ------------------- */

/* INSTALL [for load] + one LOAD block of a load file with C4 data. */
static inline uint16_t sx_load(sx_t *x, const char *elf_hex)
{
	uint8_t d[64], elf[16];
	size_t en = sx_unhex(elf_hex, elf, sizeof elf), n = 0;
	static const uint8_t lf[] = { 0xC4, 0x04, 0xCA, 0xFE, 0xBA, 0xBE };
	uint16_t sw;

	d[n++] = (uint8_t)en;
	memcpy(d + n, elf, en);
	n += en;
	d[n++] = 0; /* SD: the ISD */
	d[n++] = 0; /* no hash */
	d[n++] = 0; /* no load parameters */
	d[n++] = 0; /* no token */
	if ((sw = sx_wcmd(x, 0x80, 0xE6, 0x02, 0x00, d, n, 256)) != 0x9000)
		return sw;
	return sx_wcmd(x, 0x80, 0xE8, 0x80, 0x00, lf, sizeof lf, 256);
}

/* INSTALL [for install (and make selectable when sel)]. */
static inline uint16_t sx_install(sx_t *x, const char *elf_hex, const char *mod_hex, const char *aid_hex,
				  int sel)
{
	uint8_t d[128];
	size_t n = 0;

	d[n] = (uint8_t)sx_unhex(elf_hex, d + n + 1, 16);
	n += 1 + d[n];
	d[n] = (uint8_t)sx_unhex(mod_hex, d + n + 1, 16);
	n += 1 + d[n];
	d[n] = (uint8_t)sx_unhex(aid_hex, d + n + 1, 16);
	n += 1 + d[n];
	d[n++] = 1;
	d[n++] = 0x00; /* privileges */
	d[n++] = 2;
	d[n++] = 0xC9; /* install parameters: empty C9 */
	d[n++] = 0x00;
	d[n++] = 0; /* token */
	return sx_wcmd(x, 0x80, 0xE6, sel ? 0x0C : 0x04, 0x00, d, n, 256);
}

static inline uint16_t sx_install_perso(sx_t *x, const char *aid_hex)
{
	uint8_t d[32];
	size_t n = 0;

	d[n++] = 0;
	d[n++] = 0;
	d[n] = (uint8_t)sx_unhex(aid_hex, d + n + 1, 16);
	n += 1 + d[n];
	d[n++] = 0;
	d[n++] = 0;
	d[n++] = 0;
	return sx_wcmd(x, 0x80, 0xE6, 0x20, 0x00, d, n, 256);
}

/* STORE DATA of one DGI in one block (the last). */
static inline uint16_t sx_store_dgi(sx_t *x, uint16_t dgi, const uint8_t *v, size_t n)
{
	static uint8_t d[APDU_MAX_DATA];
	size_t k = 0;

	d[k++] = (uint8_t)(dgi >> 8);
	d[k++] = (uint8_t)dgi;
	if (n < 0xFF) {
		d[k++] = (uint8_t)n;
	} else {
		d[k++] = 0xFF;
		d[k++] = (uint8_t)(n >> 8);
		d[k++] = (uint8_t)n;
	}
	if (n)
		memcpy(d + k, v, n);
	return sx_wcmd(x, 0x80, 0xE2, 0x88, 0x00, d, k + n, 256);
}

static inline uint16_t sx_delete(sx_t *x, const char *aid_hex, uint8_t p2)
{
	uint8_t d[20];

	d[0] = 0x4F;
	d[1] = (uint8_t)sx_unhex(aid_hex, d + 2, 16);
	return sx_wcmd(x, 0x80, 0xE4, 0x00, p2, d, 2u + d[1], 256);
}

#endif
