/* scp03.c — GlobalPlatform SCP03 (Amendment D), card and host side.
 *
 * Section numbers refer to GPC_SPE_014 "Secure Channel Protocol '03'",
 * Card Specification v2.2 Amendment D v1.1.1, unless marked GPCS (Card
 * Specification v2.3.1).  S16 mode follows v1.2 as public hosts implement
 * it: 16-byte challenges, cryptograms and MACs, same 16-byte chaining.
 *
 * Speed: the OpenSSL algorithms are fetched once per process, and each
 * session keeps its keyed CMAC and AES contexts (struct scp03_cx) from one
 * command to the next and from one session to the next; a command costs a
 * re-initialisation of a keyed CMAC context, never a fetch.  CBC is chained
 * here over an AES-ECB context keyed once per session: OpenSSL 3.0 answers
 * every IV reset of a CBC context with a parameter lookup that cost more
 * than the AES itself for these short messages. */
#include "scp03.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define BLK 16

/* ---- process-wide algorithms ---- */

static EVP_MAC *g_cmac;
static EVP_CIPHER *g_ecb[3]; /* AES-128/192/256-ECB */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* CMAC's "cipher" parameter names the CBC mode of the block cipher. */
static const char *const g_cbc_name[3] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
static const char *const g_ecb_name[3] = { "AES-128-ECB", "AES-192-ECB", "AES-256-ECB" };

static void fetch_algs(void)
{
	g_cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	for (int k = 0; k < 3; k++)
		g_ecb[k] = EVP_CIPHER_fetch(NULL, g_ecb_name[k], NULL);
}

static int key_index(size_t key_len)
{
	return key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;
}

static int algs_ready(void)
{
	pthread_once(&g_once, fetch_algs);
	return g_cmac && g_ecb[0] && g_ecb[1] && g_ecb[2];
}

/* ---- keyed contexts ---- */

enum { M_SMAC, M_SRMAC, M_KENC, M_KMAC, M_COUNT };

struct scp03_cx {
	EVP_MAC_CTX *m[M_COUNT];
	uint8_t mlen[M_COUNT];      /* key length each CMAC context is set up for */
	EVP_CIPHER_CTX *enc, *dec;  /* S-ENC, ECB, no padding */
};

/* Key a CMAC context.  The cipher parameter (a fetch inside the provider)
 * is passed only when the key length changes. */
static int mac_key(EVP_MAC_CTX *c, uint8_t *cur_len, const uint8_t *key, size_t key_len)
{
	OSSL_PARAM p[2];
	int k = key_index(key_len);

	if (k < 0)
		return SCP03_ERR_ARG;
	if (*cur_len != key_len) {
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
							(char *)g_cbc_name[k], 0);
		p[1] = OSSL_PARAM_construct_end();
		if (!EVP_MAC_init(c, key, key_len, p))
			return SCP03_ERR_CRYPTO;
		*cur_len = (uint8_t)key_len;
		return 0;
	}
	return EVP_MAC_init(c, key, key_len, NULL) ? 0 : SCP03_ERR_CRYPTO;
}

/* CMAC of a ‖ b ‖ c under a keyed context (restarted with its key). */
static int mac3(EVP_MAC_CTX *c, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		const uint8_t *d, size_t dn, uint8_t out[BLK])
{
	size_t ol = 0;

	if (!EVP_MAC_init(c, NULL, 0, NULL) || (an && !EVP_MAC_update(c, a, an)) ||
	    (bn && !EVP_MAC_update(c, b, bn)) || (dn && !EVP_MAC_update(c, d, dn)) ||
	    !EVP_MAC_final(c, out, &ol, BLK) || ol != BLK)
		return SCP03_ERR_CRYPTO;
	return 0;
}

static int cipher_key(EVP_CIPHER_CTX *c, const uint8_t *key, size_t key_len, int enc)
{
	int k = key_index(key_len);

	if (k < 0)
		return SCP03_ERR_ARG;
	if (!EVP_CipherInit_ex2(c, g_ecb[k], key, NULL, enc, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(c, 0))
		return SCP03_ERR_CRYPTO;
	return 0;
}

/* AES-CBC encryption (SP 800-38A) of n bytes, a multiple of 16, over an
 * ECB encryption context; in may equal out. */
static int cbc_enc(EVP_CIPHER_CTX *c, const uint8_t iv[BLK], const uint8_t *in, size_t n,
		   uint8_t *out)
{
	const uint8_t *prev = iv;
	uint8_t x[BLK];
	int ol;

	for (size_t off = 0; off < n; off += BLK) {
		for (int j = 0; j < BLK; j++)
			x[j] = in[off + j] ^ prev[j];
		if (!EVP_EncryptUpdate(c, out + off, &ol, x, BLK) || ol != BLK)
			return SCP03_ERR_CRYPTO;
		prev = out + off;
	}
	return 0;
}

/* AES-CBC decryption over an ECB decryption context; in may equal out
 * (then block by block from the end, so that each ciphertext block is
 * still there when the next one needs it). */
static int cbc_dec(EVP_CIPHER_CTX *c, const uint8_t iv[BLK], const uint8_t *in, size_t n,
		   uint8_t *out)
{
	uint8_t x[BLK];
	int ol;

	if (n > (size_t)INT32_MAX)
		return SCP03_ERR_ARG;
	if (in != out) {
		if (n && (!EVP_DecryptUpdate(c, out, &ol, in, (int)n) || (size_t)ol != n))
			return SCP03_ERR_CRYPTO;
		for (size_t off = n; off > 0; off -= BLK) {
			const uint8_t *prev = off == BLK ? iv : in + off - 2 * BLK;

			for (int j = 0; j < BLK; j++)
				out[off - BLK + j] ^= prev[j];
		}
		return 0;
	}
	for (size_t off = n; off > 0; off -= BLK) {
		const uint8_t *prev = off == BLK ? iv : in + off - 2 * BLK;

		if (!EVP_DecryptUpdate(c, x, &ol, in + off - BLK, BLK) || ol != BLK)
			return SCP03_ERR_CRYPTO;
		for (int j = 0; j < BLK; j++)
			out[off - BLK + j] = x[j] ^ prev[j];
	}
	return 0;
}

static void cx_free(struct scp03_cx *cx)
{
	if (!cx)
		return;
	for (int j = 0; j < M_COUNT; j++)
		EVP_MAC_CTX_free(cx->m[j]);
	EVP_CIPHER_CTX_free(cx->enc);
	EVP_CIPHER_CTX_free(cx->dec);
	free(cx);
}

static int cx_get(scp03_session_t *s)
{
	struct scp03_cx *cx;

	if (s->cx)
		return 0;
	if (!algs_ready())
		return SCP03_ERR_CRYPTO;
	cx = calloc(1, sizeof *cx);
	if (!cx)
		return SCP03_ERR_NOMEM;
	for (int j = 0; j < M_COUNT; j++)
		if (!(cx->m[j] = EVP_MAC_CTX_new(g_cmac)))
			goto fail;
	cx->enc = EVP_CIPHER_CTX_new();
	cx->dec = EVP_CIPHER_CTX_new();
	if (!cx->enc || !cx->dec)
		goto fail;
	s->cx = cx;
	return 0;
fail:
	cx_free(cx);
	return SCP03_ERR_NOMEM;
}

/* Key the per-command contexts with the session keys in s. */
static int cx_session_keys(scp03_session_t *s)
{
	struct scp03_cx *cx = s->cx;
	int rc;

	if ((rc = mac_key(cx->m[M_SMAC], &cx->mlen[M_SMAC], s->s_mac, s->key_len)) ||
	    (rc = mac_key(cx->m[M_SRMAC], &cx->mlen[M_SRMAC], s->s_rmac, s->key_len)) ||
	    (rc = cipher_key(cx->enc, s->s_enc, s->key_len, 1)) ||
	    (rc = cipher_key(cx->dec, s->s_enc, s->key_len, 0)))
		return rc;
	return 0;
}

/* ---- errors ---- */

const char *scp03_strerror(int err)
{
	switch (err) {
	case SCP03_OK: return "success";
	case SCP03_ERR_ARG: return "invalid argument";
	case SCP03_ERR_CRYPTO: return "cryptographic library failure";
	case SCP03_ERR_NOMEM: return "out of memory";
	case SCP03_ERR_BUFFER: return "output buffer too small";
	case SCP03_ERR_LENGTH: return "wrong length";
	case SCP03_ERR_DATA: return "malformed data";
	case SCP03_ERR_P1P2: return "incorrect P1/P2 or security level";
	case SCP03_ERR_KVN: return "key version number not found or not the one requested";
	case SCP03_ERR_COUNTER: return "sequence counter exhausted";
	case SCP03_ERR_STATE: return "command out of sequence";
	case SCP03_ERR_CRYPTOGRAM: return "cryptogram verification failed";
	case SCP03_ERR_MAC: return "MAC verification failed";
	case SCP03_ERR_SECURITY: return "security level not satisfied or session aborted";
	case SCP03_ERR_SW: return "the card answered an error status word";
	case SCP03_ERR_SCP: return "not an SCP03 key set";
	default: return "unknown SCP03 error";
	}
}

uint16_t scp03_err_sw(int err)
{
	switch (err) {
	case SCP03_OK: return SW_OK;
	case SCP03_ERR_LENGTH: return SW_WRONG_LENGTH;
	case SCP03_ERR_DATA: return SW_WRONG_DATA;
	case SCP03_ERR_P1P2: return SW_WRONG_P1P2;
	case SCP03_ERR_KVN: return SW_REF_NOT_FOUND;
	case SCP03_ERR_COUNTER:
	case SCP03_ERR_STATE: return SW_CONDITIONS;
	case SCP03_ERR_CRYPTOGRAM: return 0x6300; /* GPCS Table E-12 */
	case SCP03_ERR_MAC:
	case SCP03_ERR_SECURITY: return SW_SEC_STATUS;
	default: return SW_NO_PRECISE;
	}
}

/* ---- sessions ---- */

void scp03_session_init(scp03_session_t *s)
{
	if (s)
		memset(s, 0, sizeof *s);
}

/* Forget everything but the contexts, which the next session rekeys. */
static void sess_reset(scp03_session_t *s)
{
	struct scp03_cx *cx = s->cx;

	OPENSSL_cleanse(s, sizeof *s);
	s->cx = cx;
}

void scp03_session_close(scp03_session_t *s)
{
	if (!s)
		return;
	cx_free(s->cx);
	s->cx = NULL;
	sess_reset(s);
}

uint8_t scp03_level(const scp03_session_t *s)
{
	return s && s->state == SCP03_ST_OPEN ? (uint8_t)(SCP03_LVL_AUTHENTICATED | s->level) : 0;
}

int scp03_session_set_keys(scp03_session_t *s, enum scp03_side side, size_t key_len,
			   const uint8_t *s_enc, const uint8_t *s_mac, const uint8_t *s_rmac)
{
	int rc;

	if (!s || !s_enc || !s_mac || key_index(key_len) < 0 ||
	    (side != SCP03_SIDE_CARD && side != SCP03_SIDE_HOST))
		return SCP03_ERR_ARG;
	if ((rc = cx_get(s)))
		return rc;
	s->side = (uint8_t)side;
	s->key_len = (uint8_t)key_len;
	memcpy(s->s_enc, s_enc, key_len);
	memcpy(s->s_mac, s_mac, key_len);
	memcpy(s->s_rmac, s_rmac ? s_rmac : s_mac, key_len);
	return cx_session_keys(s);
}

/* ---- primitives ---- */

/* KDF blocks with an already keyed CMAC context (§4.1.5): the 16-byte
 * fixed prefix is label (11 × 00 ‖ constant), separator 00, L, counter. */
static int kdf_ctx(EVP_MAC_CTX *c, uint8_t constant, const uint8_t *context,
		   size_t context_len, size_t out_bits, uint8_t *out)
{
	uint8_t pre[BLK] = { 0 }, blk[BLK];
	size_t n = out_bits / 8, blocks = (n + BLK - 1) / BLK;
	int rc = 0;

	if (out_bits % 8 || out_bits == 0 || out_bits > 0xFFFF || blocks > 255)
		return SCP03_ERR_ARG;
	pre[11] = constant;
	pre[12] = 0x00;
	pre[13] = (uint8_t)(out_bits >> 8);
	pre[14] = (uint8_t)out_bits;
	for (size_t i = 1; i <= blocks && !rc; i++) {
		pre[15] = (uint8_t)i;
		rc = mac3(c, pre, BLK, context, context_len, NULL, 0, blk);
		if (!rc)
			memcpy(out + (i - 1) * BLK, blk, n - (i - 1) * BLK < BLK ? n - (i - 1) * BLK : BLK);
	}
	OPENSSL_cleanse(blk, sizeof blk);
	return rc;
}

/* A one-off CMAC context keyed with key, for the stand-alone primitives. */
static int oneoff_mac(EVP_MAC_CTX **c, const uint8_t *key, size_t key_len)
{
	uint8_t cur = 0;
	int rc;

	*c = NULL;
	if (!key || key_index(key_len) < 0)
		return SCP03_ERR_ARG;
	if (!algs_ready())
		return SCP03_ERR_CRYPTO;
	if (!(*c = EVP_MAC_CTX_new(g_cmac)))
		return SCP03_ERR_NOMEM;
	if ((rc = mac_key(*c, &cur, key, key_len))) {
		EVP_MAC_CTX_free(*c);
		*c = NULL;
	}
	return rc;
}

int scp03_kdf(const uint8_t *key, size_t key_len, uint8_t constant, const uint8_t *context,
	      size_t context_len, size_t out_bits, uint8_t *out)
{
	EVP_MAC_CTX *c;
	int rc;

	if (!out || (context_len && !context))
		return SCP03_ERR_ARG;
	if ((rc = oneoff_mac(&c, key, key_len)))
		return rc;
	rc = kdf_ctx(c, constant, context, context_len, out_bits, out);
	EVP_MAC_CTX_free(c);
	return rc;
}

int scp03_cmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
	       uint8_t out[16])
{
	EVP_MAC_CTX *c;
	int rc;

	if (!out || (n && !data))
		return SCP03_ERR_ARG;
	if ((rc = oneoff_mac(&c, key, key_len)))
		return rc;
	rc = mac3(c, data, n, NULL, 0, NULL, 0, out);
	EVP_MAC_CTX_free(c);
	return rc;
}

/* Context of the pseudo-random challenge: seq(3) ‖ SD AID (§6.2.2.1). */
static int challenge_ctx(EVP_MAC_CTX *kenc, uint32_t seq, const uint8_t *aid, size_t aid_len,
			 uint8_t *out, size_t chal_len)
{
	uint8_t ctx[3 + 16];

	if (!aid || aid_len < 5 || aid_len > 16 || seq > SCP03_SEQ_MAX ||
	    (chal_len != 8 && chal_len != 16))
		return SCP03_ERR_ARG;
	ctx[0] = (uint8_t)(seq >> 16);
	ctx[1] = (uint8_t)(seq >> 8);
	ctx[2] = (uint8_t)seq;
	memcpy(ctx + 3, aid, aid_len);
	return kdf_ctx(kenc, SCP03_DC_CARD_CHALLENGE, ctx, 3 + aid_len, chal_len * 8, out);
}

int scp03_card_challenge(const scp03_keyset_t *keys, uint32_t seq, const uint8_t *aid,
			 size_t aid_len, uint8_t *out, size_t chal_len)
{
	EVP_MAC_CTX *c;
	int rc;

	if (!keys || !out)
		return SCP03_ERR_ARG;
	if ((rc = oneoff_mac(&c, keys->enc, keys->key_len)))
		return rc;
	rc = challenge_ctx(c, seq, aid, aid_len, out, chal_len);
	EVP_MAC_CTX_free(c);
	return rc;
}

int scp03_seq_next(uint32_t cur, uint32_t *next)
{
	if (!next)
		return SCP03_ERR_ARG;
	/* §6.2.2.1: at its maximum the counter cannot be incremented, and
	 * INITIALIZE UPDATE is refused (6985). */
	if (cur >= SCP03_SEQ_MAX)
		return SCP03_ERR_COUNTER;
	*next = cur + 1;
	return 0;
}

/* Stand-alone AES-CBC with a zero ICV (DEK, KCV). */
static int cbc_oneoff(const uint8_t *key, size_t key_len, int enc, const uint8_t *in, size_t n,
		      uint8_t *out)
{
	static const uint8_t zero[BLK];
	EVP_CIPHER_CTX *c;
	int rc;

	if (!key || (n && (!in || !out)) || n % BLK)
		return SCP03_ERR_ARG;
	if (key_index(key_len) < 0)
		return SCP03_ERR_ARG;
	if (!algs_ready())
		return SCP03_ERR_CRYPTO;
	if (!(c = EVP_CIPHER_CTX_new()))
		return SCP03_ERR_NOMEM;
	rc = cipher_key(c, key, key_len, enc);
	if (!rc)
		rc = enc ? cbc_enc(c, zero, in, n, out) : cbc_dec(c, zero, in, n, out);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int scp03_dek_encrypt(const uint8_t *dek, size_t dek_len, const uint8_t *in, size_t n,
		      uint8_t *out)
{
	return cbc_oneoff(dek, dek_len, 1, in, n, out);
}

int scp03_dek_decrypt(const uint8_t *dek, size_t dek_len, const uint8_t *in, size_t n,
		      uint8_t *out)
{
	return cbc_oneoff(dek, dek_len, 0, in, n, out);
}

int scp03_kcv(const uint8_t *key, size_t key_len, uint8_t kcv[3])
{
	uint8_t ones[BLK], ct[BLK];
	int rc;

	if (!kcv)
		return SCP03_ERR_ARG;
	memset(ones, 0x01, sizeof ones);
	rc = cbc_oneoff(key, key_len, 1, ones, BLK, ct);
	if (!rc)
		memcpy(kcv, ct, 3);
	return rc;
}

/* ---- shared session mechanics ---- */

static size_t mac_len(const scp03_session_t *s)
{
	return s->s16 ? 16 : 8;
}

static int level_valid(uint8_t level)
{
	/* Amd D Table 7-3. */
	return level == 0x00 || level == 0x01 || level == 0x03 || level == 0x11 ||
	       level == 0x13 || level == 0x33;
}

/* The card's i parameter says whether it can do R-MAC (b6) and R-ENC (b7). */
static int level_allowed(uint8_t level, uint8_t i)
{
	if (!level_valid(level))
		return 0;
	if ((level & SCP03_LVL_RMAC) && !(i & 0x20))
		return 0;
	if ((level & SCP03_LVL_RENC) && !(i & 0x40))
		return 0;
	return 1;
}

/* CLA coding (GPCS §11.1.4): first interindustry classes (b7 = 0) carry
 * the GP SM indication in b3 and the channel in b2b1; further classes
 * (b7 = 1, channels 4-19) carry SM in b6 and the channel in b4..b1. */
static int cla_further(uint8_t cla)
{
	return (cla & 0x40) != 0;
}

static int cla_has_sm(uint8_t cla)
{
	return cla_further(cla) ? (cla & 0x20) != 0 : (cla & 0x0C) == 0x04;
}

static uint8_t cla_set_sm(uint8_t cla)
{
	return cla_further(cla) ? (uint8_t)(cla | 0x20) : (uint8_t)((cla & ~0x0C) | 0x04);
}

static uint8_t cla_clear_sm(uint8_t cla)
{
	return cla_further(cla) ? (uint8_t)(cla & ~0x20) : (uint8_t)(cla & ~0x0C);
}

/* The CLA byte inside the C-MAC: SM set, logical channel zero (§6.2.4:
 * the channel number is never MACed). */
static uint8_t cla_for_mac(uint8_t cla)
{
	return cla_further(cla) ? (uint8_t)((cla & 0xD0) | 0x20) : (uint8_t)((cla & 0xF0) | 0x04);
}

/* ICV of C-DECRYPTION / R-ENCRYPTION (§6.2.6, §6.2.7): E(S-ENC, counter
 * block); for a response the block's top byte is 80. */
static int make_icv(scp03_session_t *s, int response, uint8_t icv[BLK])
{
	static const uint8_t zero[BLK];
	uint8_t blk[BLK] = { 0 };

	blk[0] = response ? 0x80 : 0x00;
	blk[12] = (uint8_t)(s->enc_counter >> 24);
	blk[13] = (uint8_t)(s->enc_counter >> 16);
	blk[14] = (uint8_t)(s->enc_counter >> 8);
	blk[15] = (uint8_t)s->enc_counter;
	/* CBC with a zero IV over one block is ECB. */
	return cbc_enc(s->cx->enc, zero, blk, BLK, icv);
}

/* pad80 (§4.1.4) then encrypt in place: buf holds n plain bytes and has
 * room for n + 16; returns the ciphertext length in *outn. */
static int enc_pad(scp03_session_t *s, int response, uint8_t *buf, size_t n, size_t *outn)
{
	uint8_t icv[BLK];
	size_t padded = (n / BLK + 1) * BLK;
	int rc;

	buf[n] = 0x80;
	memset(buf + n + 1, 0, padded - n - 1);
	if ((rc = make_icv(s, response, icv)))
		return rc;
	*outn = padded;
	return cbc_enc(s->cx->enc, icv, buf, padded, buf);
}

/* Decrypt n bytes into out and remove pad80; SCP03_ERR_LENGTH when n is
 * not whole blocks, SCP03_ERR_DATA for a bad padding. */
static int dec_unpad(scp03_session_t *s, int response, const uint8_t *in, size_t n,
		     uint8_t *out, size_t *outn)
{
	uint8_t icv[BLK];
	size_t k;
	int rc;

	if (n == 0 || n % BLK)
		return SCP03_ERR_LENGTH;
	if ((rc = make_icv(s, response, icv)) || (rc = cbc_dec(s->cx->dec, icv, in, n, out)))
		return rc;
	/* The 80 byte lies in the last block (§4.1.4). */
	for (k = n - 1; k > n - BLK && out[k] == 0x00; k--)
		;
	if (out[k] != 0x80)
		return SCP03_ERR_DATA;
	*outn = k;
	return 0;
}

static size_t lc_field(uint8_t *p, size_t lc, int ext)
{
	if (!ext) {
		p[0] = (uint8_t)lc;
		return 1;
	}
	p[0] = 0;
	p[1] = (uint8_t)(lc >> 8);
	p[2] = (uint8_t)lc;
	return 3;
}

/* C-MAC (§6.2.4, Figure 6-1) over chain ‖ CLA' INS P1 P2 Lc' ‖ data. */
static int cmac_cmd(scp03_session_t *s, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
		    size_t lc_total, int ext, const uint8_t *data, size_t n, uint8_t out[BLK])
{
	uint8_t hdr[7];
	size_t hl;

	hdr[0] = cla_for_mac(cla);
	hdr[1] = ins;
	hdr[2] = p1;
	hdr[3] = p2;
	hl = 4 + lc_field(hdr + 4, lc_total, ext);
	return mac3(s->cx->m[M_SMAC], s->mac_chain, BLK, hdr, hl, data, n, out);
}

/* Session keys and the card cryptogram (§6.2.1, §6.2.2.2): context is
 * host challenge ‖ card challenge. */
static int derive_session(scp03_session_t *s, const scp03_keyset_t *keys, uint8_t card_crypt[16])
{
	struct scp03_cx *cx = s->cx;
	size_t cl = s->s16 ? 16 : 8, bits = (size_t)keys->key_len * 8;
	uint8_t ctx[32];
	int rc;

	memcpy(ctx, s->host_challenge, cl);
	memcpy(ctx + cl, s->card_challenge, cl);
	s->key_len = keys->key_len;
	memcpy(s->dek, keys->dek, keys->key_len);
	if ((rc = mac_key(cx->m[M_KMAC], &cx->mlen[M_KMAC], keys->mac, keys->key_len)) ||
	    (rc = kdf_ctx(cx->m[M_KENC], SCP03_DC_S_ENC, ctx, 2 * cl, bits, s->s_enc)) ||
	    (rc = kdf_ctx(cx->m[M_KMAC], SCP03_DC_S_MAC, ctx, 2 * cl, bits, s->s_mac)) ||
	    (rc = kdf_ctx(cx->m[M_KMAC], SCP03_DC_S_RMAC, ctx, 2 * cl, bits, s->s_rmac)) ||
	    (rc = cx_session_keys(s)) ||
	    (rc = kdf_ctx(cx->m[M_SMAC], SCP03_DC_CARD_CRYPTOGRAM, ctx, 2 * cl, cl * 8, card_crypt)))
		return rc;
	return 0;
}

static int host_cryptogram(scp03_session_t *s, uint8_t out[16])
{
	size_t cl = s->s16 ? 16 : 8;
	uint8_t ctx[32];

	memcpy(ctx, s->host_challenge, cl);
	memcpy(ctx + cl, s->card_challenge, cl);
	return kdf_ctx(s->cx->m[M_SMAC], SCP03_DC_HOST_CRYPTOGRAM, ctx, 2 * cl, cl * 8, out);
}

static int keyset_ok(const scp03_keyset_t *k)
{
	return k && key_index(k->key_len) >= 0;
}

/* ---- card side ---- */

int scp03_card_init_update(scp03_session_t *s, const scp03_card_cfg_t *cfg, const apdu_t *cmd,
			   uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t crypt[16];
	size_t cl, need;
	int rc;

	if (!s || !cfg || !cmd || !out || !out_len || !keyset_ok(cfg->keys) || !cfg->kdd)
		return SCP03_ERR_ARG;
	/* A new INITIALIZE UPDATE ends any session in progress (§5.6). */
	sess_reset(s);
	if (cmd->p2 != 0x00)
		return SCP03_ERR_P1P2;
	/* P1 00: the first available key set, which the caller chose. */
	if (cmd->p1 != 0x00 && cmd->p1 != cfg->keys->kvn)
		return SCP03_ERR_KVN;
	if (!cmd->data || (cmd->lc != 8 && !(cmd->lc == 16 && cfg->allow_s16)))
		return SCP03_ERR_LENGTH;
	cl = cmd->lc;
	need = SCP03_KDD_LEN + 3 + 2 * cl + ((cfg->i & SCP03_I_PSEUDO_RANDOM) ? 3 : 0);
	if (cap < need)
		return SCP03_ERR_BUFFER;
	if ((rc = cx_get(s)))
		return rc;
	s->side = SCP03_SIDE_CARD;
	s->s16 = cl == 16;
	s->i = cfg->i;
	s->kvn = cfg->keys->kvn;
	memcpy(s->host_challenge, cmd->data, cl);
	memcpy(s->kdd, cfg->kdd, SCP03_KDD_LEN);
	if ((rc = mac_key(s->cx->m[M_KENC], &s->cx->mlen[M_KENC], cfg->keys->enc,
			  cfg->keys->key_len)))
		goto fail;
	if (cfg->i & SCP03_I_PSEUDO_RANDOM) {
		s->seq = cfg->seq;
		if (cfg->seq > SCP03_SEQ_MAX) {
			rc = SCP03_ERR_COUNTER;
			goto fail;
		}
	}
	if (cfg->random)
		memcpy(s->card_challenge, cfg->random, cl);
	else if (cfg->i & SCP03_I_PSEUDO_RANDOM)
		rc = challenge_ctx(s->cx->m[M_KENC], cfg->seq, cfg->sd_aid, cfg->sd_aid_len,
				   s->card_challenge, cl);
	else
		rc = SCP03_ERR_ARG;
	if (rc || (rc = derive_session(s, cfg->keys, crypt)))
		goto fail;
	/* Response layout: Amd D Table 7-2. */
	memcpy(out, s->kdd, SCP03_KDD_LEN);
	out[10] = s->kvn;
	out[11] = 0x03;
	out[12] = s->i;
	memcpy(out + 13, s->card_challenge, cl);
	memcpy(out + 13 + cl, crypt, cl);
	if (s->i & SCP03_I_PSEUDO_RANDOM) {
		out[13 + 2 * cl] = (uint8_t)(s->seq >> 16);
		out[14 + 2 * cl] = (uint8_t)(s->seq >> 8);
		out[15 + 2 * cl] = (uint8_t)s->seq;
	}
	*out_len = need;
	s->state = SCP03_ST_INITIATED;
	OPENSSL_cleanse(crypt, sizeof crypt);
	return 0;
fail:
	OPENSSL_cleanse(crypt, sizeof crypt);
	sess_reset(s);
	return rc;
}

int scp03_card_ext_auth(scp03_session_t *s, const apdu_t *cmd)
{
	uint8_t hc[16], mac[BLK];
	size_t cl;
	int rc;

	if (!s || !cmd)
		return SCP03_ERR_ARG;
	if (s->side != SCP03_SIDE_CARD || s->state != SCP03_ST_INITIATED) {
		rc = SCP03_ERR_STATE;
		goto fail;
	}
	cl = s->s16 ? 16 : 8;
	if (cmd->p2 != 0x00 || !level_allowed(cmd->p1, s->i)) {
		rc = SCP03_ERR_P1P2;
		goto fail;
	}
	if (cmd->lc != 2 * cl || !cmd->data) {
		rc = SCP03_ERR_LENGTH;
		goto fail;
	}
	/* The C-MAC is mandatory on this command (§7.1.2). */
	if (!cla_has_sm(cmd->cla)) {
		rc = SCP03_ERR_SECURITY;
		goto fail;
	}
	if ((rc = host_cryptogram(s, hc)))
		goto fail;
	if (CRYPTO_memcmp(hc, cmd->data, cl)) {
		rc = SCP03_ERR_CRYPTOGRAM;
		goto fail;
	}
	/* Chaining value zero for this first C-MAC (§6.2.3). */
	memset(s->mac_chain, 0, BLK);
	if ((rc = cmac_cmd(s, cmd->cla, cmd->ins, cmd->p1, cmd->p2, cmd->lc, cmd->ext, cmd->data,
			   cl, mac)))
		goto fail;
	if (CRYPTO_memcmp(mac, cmd->data + cl, mac_len(s))) {
		rc = SCP03_ERR_MAC;
		goto fail;
	}
	memcpy(s->mac_chain, mac, BLK);
	s->enc_counter = 0;
	s->level = cmd->p1;
	s->state = SCP03_ST_OPEN;
	return 0;
fail:
	sess_reset(s);
	return rc;
}

/* §5.6: a security failure aborts the session; the level drops to none. */
static int card_abort(scp03_session_t *s, int rc)
{
	s->state = SCP03_ST_ABORTED;
	s->level = 0;
	return rc;
}

static void set_case(apdu_t *a)
{
	a->icase = a->lc ? (a->le ? 4 : 3) : (a->le ? 2 : 1);
	a->ext = a->lc > 255 || a->le > 256;
}

int scp03_card_unwrap(scp03_session_t *s, const apdu_t *in, apdu_t *out, uint8_t *buf,
		      size_t cap)
{
	uint8_t mac[BLK];
	size_t ml, n, pn;
	int rc;

	if (!s || !in || !out || (in->lc && (!buf || !in->data)))
		return SCP03_ERR_ARG;
	if (cap < in->lc)
		return SCP03_ERR_BUFFER;
	if (s->state != SCP03_ST_OPEN) {
		if (cla_has_sm(in->cla)) {
			/* Secure messaging without an authenticated session. */
			if (s->state == SCP03_ST_INITIATED)
				sess_reset(s);
			return SCP03_ERR_SECURITY;
		}
		*out = *in;
		return 0;
	}
	s->rsp_pending = 0;
	if (s->enc_counter == UINT32_MAX)
		return card_abort(s, SCP03_ERR_SECURITY);
	s->enc_counter++; /* every command counts (§6.2.6) */
	if (!cla_has_sm(in->cla)) {
		if (s->level & SCP03_LVL_CMAC)
			return card_abort(s, SCP03_ERR_SECURITY);
		*out = *in;
		return 0;
	}
	ml = mac_len(s);
	if (in->lc < ml)
		return card_abort(s, SCP03_ERR_MAC);
	n = in->lc - ml;
	if ((rc = cmac_cmd(s, in->cla, in->ins, in->p1, in->p2, in->lc, in->ext, in->data, n, mac)))
		return rc;
	if (CRYPTO_memcmp(mac, in->data + n, ml))
		return card_abort(s, SCP03_ERR_MAC);
	memcpy(s->mac_chain, mac, BLK);
	s->rsp_pending = 1; /* its response, even an error, goes through wrap_rsp */
	if ((s->level & SCP03_LVL_CDEC) && n) {
		if ((rc = dec_unpad(s, 0, in->data, n, buf, &pn)))
			return rc;
	} else {
		if (n)
			memcpy(buf, in->data, n);
		pn = n;
	}
	out->cla = cla_clear_sm(in->cla);
	out->ins = in->ins;
	out->p1 = in->p1;
	out->p2 = in->p2;
	out->lc = pn;
	out->data = pn ? buf : NULL;
	out->le = in->le;
	set_case(out);
	return 0;
}

static int sw_protected(uint16_t sw)
{
	/* §6.2.5: only 9000 and warnings 62xx/63xx carry R-MAC and data. */
	return sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

int scp03_card_wrap_rsp(scp03_session_t *s, const uint8_t *rsp, size_t rsp_len, uint8_t *out,
			size_t cap, size_t *out_len)
{
	uint8_t mac[BLK], sw[2];
	size_t n, ml;
	int rc, pending;

	if (!s || !rsp || !out || !out_len || rsp_len < 2)
		return SCP03_ERR_ARG;
	pending = s->rsp_pending;
	s->rsp_pending = 0;
	if (s->state != SCP03_ST_OPEN || !(s->level & SCP03_LVL_RMAC) || !pending) {
		if (cap < rsp_len)
			return SCP03_ERR_BUFFER;
		memmove(out, rsp, rsp_len);
		*out_len = rsp_len;
		return 0;
	}
	sw[0] = rsp[rsp_len - 2];
	sw[1] = rsp[rsp_len - 1];
	if (!sw_protected((uint16_t)(sw[0] << 8 | sw[1]))) {
		out[0] = sw[0];
		out[1] = sw[1];
		*out_len = 2;
		return 0;
	}
	n = rsp_len - 2;
	ml = mac_len(s);
	if (cap < n + BLK + ml + 2)
		return SCP03_ERR_BUFFER;
	memmove(out, rsp, n);
	if ((s->level & SCP03_LVL_RENC) && n && (rc = enc_pad(s, 1, out, n, &n)))
		return rc;
	/* R-MAC over chain (the command's C-MAC) ‖ data' ‖ SW; it does not
	 * become the next chaining value (§6.2.5). */
	if ((rc = mac3(s->cx->m[M_SRMAC], s->mac_chain, BLK, out, n, sw, 2, mac)))
		return rc;
	memcpy(out + n, mac, ml);
	out[n + ml] = sw[0];
	out[n + ml + 1] = sw[1];
	*out_len = n + ml + 2;
	return 0;
}

/* ---- host side ---- */

int scp03_host_init_update(scp03_session_t *s, uint8_t kvn, const uint8_t *host_challenge,
			   size_t hc_len, uint8_t *cmd, size_t cap, size_t *cmd_len)
{
	size_t n;
	int rc;

	if (!s || !host_challenge || !cmd || !cmd_len || (hc_len != 8 && hc_len != 16))
		return SCP03_ERR_ARG;
	sess_reset(s);
	n = apdu_build(cmd, cap, 0x80, 0x50, kvn, 0x00, host_challenge, hc_len, 256);
	if (!n)
		return SCP03_ERR_BUFFER;
	if ((rc = cx_get(s)))
		return rc;
	s->side = SCP03_SIDE_HOST;
	s->s16 = hc_len == 16;
	s->req_kvn = kvn;
	memcpy(s->host_challenge, host_challenge, hc_len);
	s->state = SCP03_ST_INITIATED;
	*cmd_len = n;
	return 0;
}

int scp03_host_open(scp03_session_t *s, const scp03_keyset_t *keys, const uint8_t *rsp,
		    size_t rsp_len, uint8_t level, uint8_t *cmd, size_t cap, size_t *cmd_len)
{
	uint8_t crypt[16], data[32], mac[BLK];
	size_t cl, n, need;
	int rc;

	if (!s || !keyset_ok(keys) || !rsp || !cmd || !cmd_len)
		return SCP03_ERR_ARG;
	if (s->side != SCP03_SIDE_HOST || s->state != SCP03_ST_INITIATED)
		return SCP03_ERR_STATE;
	if (rsp_len < 2) {
		rc = SCP03_ERR_LENGTH;
		goto fail;
	}
	if (apdu_sw(rsp, rsp_len) != SW_OK) {
		rc = SCP03_ERR_SW;
		goto fail;
	}
	n = rsp_len - 2;
	cl = s->s16 ? 16 : 8;
	if (n < 13) {
		rc = SCP03_ERR_LENGTH;
		goto fail;
	}
	if (rsp[11] != 0x03) {
		rc = SCP03_ERR_SCP;
		goto fail;
	}
	/* The length follows from the mode and i (Table 7-2). */
	need = 13 + 2 * cl + ((rsp[12] & SCP03_I_PSEUDO_RANDOM) ? 3 : 0);
	if (n != need) {
		rc = SCP03_ERR_LENGTH;
		goto fail;
	}
	if ((s->req_kvn && rsp[10] != s->req_kvn) || rsp[10] != keys->kvn) {
		rc = SCP03_ERR_KVN;
		goto fail;
	}
	if (!level_allowed(level, rsp[12])) {
		rc = SCP03_ERR_P1P2;
		goto fail;
	}
	if (cap < 5 + 2 * cl) {
		rc = SCP03_ERR_BUFFER;
		goto fail;
	}
	memcpy(s->kdd, rsp, SCP03_KDD_LEN);
	s->kvn = rsp[10];
	s->i = rsp[12];
	memcpy(s->card_challenge, rsp + 13, cl);
	if (s->i & SCP03_I_PSEUDO_RANDOM)
		s->seq = (uint32_t)rsp[13 + 2 * cl] << 16 | (uint32_t)rsp[14 + 2 * cl] << 8 |
			 rsp[15 + 2 * cl];
	if ((rc = mac_key(s->cx->m[M_KENC], &s->cx->mlen[M_KENC], keys->enc, keys->key_len)) ||
	    (rc = derive_session(s, keys, crypt)))
		goto fail;
	if (CRYPTO_memcmp(crypt, rsp + 13 + cl, cl)) {
		rc = SCP03_ERR_CRYPTOGRAM;
		goto fail;
	}
	if ((rc = host_cryptogram(s, data)))
		goto fail;
	/* EXTERNAL AUTHENTICATE, C-MAC with a zero chaining value (§6.2.3,
	 * §7.1.2); the card's answer has no R-MAC. */
	memset(s->mac_chain, 0, BLK);
	if ((rc = cmac_cmd(s, 0x84, 0x82, level, 0x00, 2 * cl, 0, data, cl, mac)))
		goto fail;
	memcpy(s->mac_chain, mac, BLK);
	memcpy(data + cl, mac, cl);
	*cmd_len = apdu_build(cmd, cap, 0x84, 0x82, level, 0x00, data, 2 * cl, 0);
	s->level = level;
	s->enc_counter = 0;
	s->state = SCP03_ST_AUTH_SENT;
	OPENSSL_cleanse(crypt, sizeof crypt);
	return 0;
fail:
	OPENSSL_cleanse(crypt, sizeof crypt);
	sess_reset(s);
	return rc;
}

int scp03_host_auth_result(scp03_session_t *s, const uint8_t *rsp, size_t rsp_len)
{
	if (!s || !rsp)
		return SCP03_ERR_ARG;
	if (s->side != SCP03_SIDE_HOST || s->state != SCP03_ST_AUTH_SENT)
		return SCP03_ERR_STATE;
	if (apdu_sw(rsp, rsp_len) != SW_OK || rsp_len != 2) {
		sess_reset(s);
		return SCP03_ERR_SW;
	}
	s->state = SCP03_ST_OPEN;
	return 0;
}

int scp03_host_wrap(scp03_session_t *s, const uint8_t *cmd, size_t cmd_len, uint8_t *out,
		    size_t cap, size_t *out_len)
{
	apdu_t a;
	uint8_t mac[BLK];
	size_t ml, dn, lc, o, lf;
	int ext, rc;

	if (!s || !cmd || !out || !out_len)
		return SCP03_ERR_ARG;
	if (s->side != SCP03_SIDE_HOST || s->state != SCP03_ST_OPEN)
		return SCP03_ERR_STATE;
	if (apdu_parse(&a, cmd, cmd_len))
		return SCP03_ERR_DATA;
	if (cla_has_sm(a.cla))
		return SCP03_ERR_DATA; /* already wrapped */
	if (s->enc_counter == UINT32_MAX)
		return SCP03_ERR_STATE;
	s->enc_counter++;
	if (!(s->level & SCP03_LVL_CMAC)) {
		if (cap < cmd_len)
			return SCP03_ERR_BUFFER;
		memcpy(out, cmd, cmd_len);
		*out_len = cmd_len;
		return 0;
	}
	ml = mac_len(s);
	dn = (s->level & SCP03_LVL_CDEC) && a.lc ? (a.lc / BLK + 1) * BLK : a.lc;
	lc = dn + ml;
	if (lc > APDU_MAX_DATA)
		return SCP03_ERR_LENGTH;
	ext = lc > 255 || a.le > 256;
	if (cap < 4 + (ext ? 3 : 1) + lc + (a.le ? (ext ? 2 : 1) : 0))
		return SCP03_ERR_BUFFER;
	out[0] = cla_set_sm(a.cla);
	out[1] = a.ins;
	out[2] = a.p1;
	out[3] = a.p2;
	lf = lc_field(out + 4, lc, ext);
	o = 4 + lf;
	if (a.lc)
		memcpy(out + o, a.data, a.lc);
	if ((s->level & SCP03_LVL_CDEC) && a.lc && (rc = enc_pad(s, 0, out + o, a.lc, &dn)))
		return rc;
	if ((rc = cmac_cmd(s, a.cla, a.ins, a.p1, a.p2, lc, ext, out + o, dn, mac)))
		return rc;
	memcpy(s->mac_chain, mac, BLK);
	memcpy(out + o + dn, mac, ml);
	o += dn + ml;
	if (a.le) {
		if (ext) {
			out[o++] = (uint8_t)(a.le == 65536 ? 0 : a.le >> 8);
			out[o++] = (uint8_t)(a.le == 65536 ? 0 : a.le);
		} else {
			out[o++] = (uint8_t)(a.le == 256 ? 0 : a.le);
		}
	}
	*out_len = o;
	return 0;
}

int scp03_host_unwrap_rsp(scp03_session_t *s, const uint8_t *rsp, size_t rsp_len, uint8_t *out,
			  size_t cap, size_t *out_len)
{
	uint8_t mac[BLK], sw[2];
	size_t ml, n, pn;
	int rc;

	if (!s || !rsp || !out || !out_len || rsp_len < 2)
		return SCP03_ERR_ARG;
	if (s->side != SCP03_SIDE_HOST || s->state != SCP03_ST_OPEN)
		return SCP03_ERR_STATE;
	sw[0] = rsp[rsp_len - 2];
	sw[1] = rsp[rsp_len - 1];
	if (!(s->level & SCP03_LVL_RMAC) || !sw_protected((uint16_t)(sw[0] << 8 | sw[1]))) {
		if (cap < rsp_len)
			return SCP03_ERR_BUFFER;
		memmove(out, rsp, rsp_len);
		*out_len = rsp_len;
		return 0;
	}
	ml = mac_len(s);
	if (rsp_len < ml + 2) {
		s->state = SCP03_ST_ABORTED;
		return SCP03_ERR_MAC;
	}
	n = rsp_len - 2 - ml;
	if ((rc = mac3(s->cx->m[M_SRMAC], s->mac_chain, BLK, rsp, n, sw, 2, mac)))
		return rc;
	if (CRYPTO_memcmp(mac, rsp + n, ml)) {
		s->state = SCP03_ST_ABORTED;
		return SCP03_ERR_MAC;
	}
	if (cap < n + 2)
		return SCP03_ERR_BUFFER;
	if ((s->level & SCP03_LVL_RENC) && n) {
		/* rsp == out is decrypted in place (cbc_dec). */
		if ((rc = dec_unpad(s, 1, rsp, n, out, &pn)))
			return rc == SCP03_ERR_LENGTH ? SCP03_ERR_DATA : rc;
	} else {
		memmove(out, rsp, n);
		pn = n;
	}
	out[pn] = sw[0];
	out[pn + 1] = sw[1];
	*out_len = pn + 2;
	return 0;
}

void scp03_host_rsp_ref(const scp03_session_t *s, scp03_rsp_ref_t *ref)
{
	memcpy(ref->mac_chain, s->mac_chain, BLK);
	ref->counter = s->enc_counter;
}

int scp03_host_unwrap_rsp_ref(scp03_session_t *s, const scp03_rsp_ref_t *ref, const uint8_t *rsp,
			      size_t rsp_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t chain[BLK];
	uint32_t counter;
	int rc;

	if (!s || !ref)
		return SCP03_ERR_ARG;
	memcpy(chain, s->mac_chain, BLK);
	counter = s->enc_counter;
	memcpy(s->mac_chain, ref->mac_chain, BLK);
	s->enc_counter = ref->counter;
	rc = scp03_host_unwrap_rsp(s, rsp, rsp_len, out, cap, out_len);
	memcpy(s->mac_chain, chain, BLK);
	s->enc_counter = counter;
	return rc;
}
