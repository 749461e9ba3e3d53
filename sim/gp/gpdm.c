/* gpdm.c — host side of SSDs and delegated management (gpdm.h).
 *
 * A small writer (w_t) lays out every structure: it remembers overflow
 * instead of checking each step, and the builder answers GPDM_ERR_BUFFER
 * once at the end. */
#include "gpdm.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../core/tlv.h"
#include "scp03.h"

typedef struct w {
	uint8_t *p;
	size_t cap, len;
	int over;
} w_t;

static void w_raw(w_t *w, const void *v, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	if (n)
		memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void w_byte(w_t *w, uint8_t b)
{
	w_raw(w, &b, 1);
}

/* Length-value with a one-byte length, as INSTALL and receipts have. */
static void w_lv(w_t *w, const gpdm_bytes_t *b)
{
	if (b->n > 0xFF) {
		w->over = 1;
		return;
	}
	w_byte(w, (uint8_t)b->n);
	w_raw(w, b->p, b->n);
}

static void w_tlv(w_t *w, uint32_t tag, const void *v, size_t n)
{
	uint8_t hdr[8];

	w_raw(w, hdr, tlv_put_hdr(hdr, tag, n));
	w_raw(w, v, n);
}

static int w_done(const w_t *w, size_t *len)
{
	if (w->over)
		return GPDM_ERR_BUFFER;
	if (len)
		*len = w->len;
	return GPDM_OK;
}

/* A case 4 short APDU around data; Lc at most 255. */
static int apdu4(uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n, uint8_t *apdu,
		 size_t cap, size_t *len)
{
	w_t w = { apdu, cap, 0, 0 };
	uint8_t hdr[5] = { 0x80, ins, p1, p2, (uint8_t)n };

	if (n < 1 || n > 255)
		return GPDM_ERR_ARG;
	w_raw(&w, hdr, 5);
	w_raw(&w, data, n);
	w_byte(&w, 0x00);
	return w_done(&w, len);
}

/* ---- INSTALL ------------------------------------------------------------- */

static const gpdm_bytes_t none = { NULL, 0 };

int gpdm_install_fields(const gpdm_install_t *in, uint8_t *out, size_t cap, size_t *len)
{
	w_t w = { out, cap, 0, 0 };
	const gpdm_bytes_t *f[5];

	if (!in || !out)
		return GPDM_ERR_ARG;
	switch (in->p1 & 0x7F) {
	case GPDM_INSTALL_LOAD:
		f[0] = &in->elf, f[1] = &in->sd, f[2] = &in->hash, f[3] = &in->params, f[4] = NULL;
		break;
	case GPDM_INSTALL_INSTALL:
	case GPDM_INSTALL_INSTALL_SELECTABLE:
		f[0] = &in->elf, f[1] = &in->module, f[2] = &in->app, f[3] = &in->priv, f[4] = &in->params;
		break;
	case GPDM_INSTALL_MAKE_SELECTABLE:
		f[0] = &none, f[1] = &none, f[2] = &in->app, f[3] = &in->priv, f[4] = &in->params;
		break;
	case GPDM_INSTALL_EXTRADITION:
		f[0] = &in->sd, f[1] = &none, f[2] = &in->app, f[3] = &none, f[4] = &in->params;
		break;
	case GPDM_INSTALL_PERSO:
		f[0] = &none, f[1] = &none, f[2] = &in->app, f[3] = &none, f[4] = &none;
		break;
	default:
		return GPDM_ERR_ARG;
	}
	for (size_t i = 0; i < 5 && f[i]; i++)
		w_lv(&w, f[i]);
	return w_done(&w, len);
}

int gpdm_install_apdu(const gpdm_install_t *in, const uint8_t *token, size_t token_len,
		      uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t data[300];
	size_t n;
	w_t w = { data, sizeof data, 0, 0 };
	int rc;

	if (token_len && !token)
		return GPDM_ERR_ARG;
	if ((rc = gpdm_install_fields(in, data, sizeof data, &n)))
		return rc;
	w.len = n;
	w_lv(&w, &(gpdm_bytes_t){ token, token_len });
	if (w.over)
		return GPDM_ERR_ARG;
	return apdu4(0xE6, in->p1, 0x00, data, w.len, apdu, cap, len);
}

int gpdm_install_sd(const uint8_t *sd_aid, size_t aid_len, const uint8_t priv[3],
		    const uint8_t *params, size_t params_len, uint8_t *apdu, size_t cap, size_t *len)
{
	static const uint8_t c9_empty[2] = { 0xC9, 0x00 };
	gpdm_install_t in;

	if (!sd_aid || aid_len < 5 || aid_len > 16 || !priv || !(priv[0] & GPDM_PRIV_SD))
		return GPDM_ERR_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_INSTALL_SELECTABLE;
	in.elf = (gpdm_bytes_t){ (const uint8_t *)GPDM_SD_PACKAGE, GPDM_SD_PACKAGE_LEN };
	in.module = (gpdm_bytes_t){ (const uint8_t *)GPDM_SD_MODULE, GPDM_SD_MODULE_LEN };
	in.app = (gpdm_bytes_t){ sd_aid, aid_len };
	in.priv = (gpdm_bytes_t){ priv, 3 };
	in.params = params ? (gpdm_bytes_t){ params, params_len } : (gpdm_bytes_t){ c9_empty, 2 };
	return gpdm_install_apdu(&in, NULL, 0, apdu, cap, len);
}

/* ---- DELETE ---------------------------------------------------------------- */

int gpdm_delete_apdu(uint8_t p2, const uint8_t *aid, size_t aid_len, const uint8_t *token,
		     size_t token_len, uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t data[300];
	w_t w = { data, sizeof data, 0, 0 };

	if (!aid || aid_len < 5 || aid_len > 16 || (token_len && !token))
		return GPDM_ERR_ARG;
	w_tlv(&w, 0x4F, aid, aid_len);
	if (token_len)
		w_tlv(&w, 0x9E, token, token_len);
	if (w.over)
		return GPDM_ERR_ARG;
	return apdu4(0xE4, 0x00, p2, data, w.len, apdu, cap, len);
}

int gpdm_delete_key_apdu(int kid, int kvn, uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t data[6];
	w_t w = { data, sizeof data, 0, 0 };

	if ((kid < 0 && kvn < 0) || kid > 0xFF || kvn > 0xFF)
		return GPDM_ERR_ARG;
	if (kid >= 0)
		w_tlv(&w, 0xD0, &(uint8_t){ (uint8_t)kid }, 1);
	if (kvn >= 0)
		w_tlv(&w, 0xD2, &(uint8_t){ (uint8_t)kvn }, 1);
	return apdu4(0xE4, 0x00, 0x00, data, w.len, apdu, cap, len);
}

/* ---- tokens and DAP ------------------------------------------------------- */

int gpdm_token_data(uint8_t p1, uint8_t p2, const uint8_t *fields, size_t n, uint8_t *out,
		    size_t cap, size_t *len)
{
	w_t w = { out, cap, 0, 0 };

	if (!out || n > 0xFF || (n && !fields))
		return GPDM_ERR_ARG;
	w_byte(&w, p1);
	w_byte(&w, p2);
	w_byte(&w, (uint8_t)n);
	w_raw(&w, fields, n);
	return w_done(&w, len);
}

static EVP_PKEY *load_private(const uint8_t *der, size_t n)
{
	const uint8_t *p = der;

	if (!der || !n)
		return NULL;
	return d2i_AutoPrivateKey(NULL, &p, (long)n);
}

int gpdm_token_sign_pkey(struct evp_pkey_st *k, const uint8_t *data, size_t n, uint8_t *sig, size_t cap,
			 size_t *sig_len)
{
	EVP_MD_CTX *md = NULL;
	size_t sl = 0;
	int rc = GPDM_ERR_CRYPTO;

	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
		return GPDM_ERR_CRYPTO;
	if ((size_t)EVP_PKEY_get_size(k) > cap)
		return GPDM_ERR_BUFFER;
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, EVP_sha1(), NULL, k) != 1 ||
	    EVP_DigestSign(md, NULL, &sl, data, n) != 1 || sl > cap ||
	    EVP_DigestSign(md, sig, &sl, data, n) != 1)
		goto out;
	*sig_len = sl;
	rc = GPDM_OK;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* RSA PKCS#1 v1.5 with SHA-1 over data. */
static int rsa_sha1_sign(const uint8_t *key_der, size_t key_len, const uint8_t *data, size_t n,
			 uint8_t *sig, size_t cap, size_t *sig_len)
{
	EVP_PKEY *k = load_private(key_der, key_len);
	int rc = k ? gpdm_token_sign_pkey(k, data, n, sig, cap, sig_len) : GPDM_ERR_CRYPTO;

	EVP_PKEY_free(k);
	return rc;
}

int gpdm_token_sign(const uint8_t *key_der, size_t key_len, const uint8_t *data, size_t n,
		    uint8_t *sig, size_t cap, size_t *sig_len)
{
	if (!data || !sig || !sig_len)
		return GPDM_ERR_ARG;
	return rsa_sha1_sign(key_der, key_len, data, n, sig, cap, sig_len);
}

int gpdm_install_signed(const gpdm_install_t *in, const uint8_t *key_der, size_t key_len,
			uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t fields[300], tdata[300], sig[GPDM_SIG_MAX];
	size_t fn, tn, sn;
	int rc;

	if ((rc = gpdm_install_fields(in, fields, sizeof fields, &fn)) ||
	    (rc = gpdm_token_data(in->p1, 0x00, fields, fn, tdata, sizeof tdata, &tn)) ||
	    (rc = gpdm_token_sign(key_der, key_len, tdata, tn, sig, sizeof sig, &sn)))
		return rc;
	return gpdm_install_apdu(in, sig, sn, apdu, cap, len);
}

int gpdm_delete_signed(uint8_t p2, const uint8_t *aid, size_t aid_len, const uint8_t *key_der,
		       size_t key_len, uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t fields[32], tdata[40], sig[GPDM_SIG_MAX];
	w_t w = { fields, sizeof fields, 0, 0 };
	size_t tn, sn;
	int rc;

	if (!aid || aid_len < 5 || aid_len > 16)
		return GPDM_ERR_ARG;
	w_tlv(&w, 0x4F, aid, aid_len);
	if ((rc = gpdm_token_data(0x00, p2, fields, w.len, tdata, sizeof tdata, &tn)) ||
	    (rc = gpdm_token_sign(key_der, key_len, tdata, tn, sig, sizeof sig, &sn)))
		return rc;
	return gpdm_delete_apdu(p2, aid, aid_len, sig, sn, apdu, cap, len);
}

int gpdm_dap_block(const uint8_t *sd_aid, size_t aid_len, const uint8_t *hash, size_t hash_len,
		   const uint8_t *key_der, size_t key_len, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t sig[GPDM_SIG_MAX], in[GPDM_SIG_MAX + 32];
	w_t v = { in, sizeof in, 0, 0 }, w = { out, cap, 0, 0 };
	size_t sn;
	int rc;

	if (!sd_aid || aid_len < 5 || aid_len > 16 || !hash || !hash_len || !out)
		return GPDM_ERR_ARG;
	if ((rc = rsa_sha1_sign(key_der, key_len, hash, hash_len, sig, sizeof sig, &sn)))
		return rc;
	w_tlv(&v, 0x4F, sd_aid, aid_len);
	w_tlv(&v, 0xC3, sig, sn);
	w_tlv(&w, 0xE2, in, v.len);
	return w_done(&w, len);
}

/* ---- receipts ----------------------------------------------------------------- */

int gpdm_receipt_data(uint16_t counter, const uint8_t *cud, size_t cud_len,
		      const gpdm_bytes_t *aids, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	w_t w = { out, cap, 0, 0 };
	uint8_t ctr[3] = { 2, (uint8_t)(counter >> 8), (uint8_t)counter };

	if (!out || (cud_len && !cud) || (n && !aids) || n > 3)
		return GPDM_ERR_ARG;
	w_raw(&w, ctr, 3);
	w_lv(&w, &(gpdm_bytes_t){ cud, cud_len });
	for (size_t i = 0; i < n; i++)
		w_lv(&w, &aids[i]);
	return w_done(&w, len);
}

int gpdm_receipt(const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
		 uint8_t out[GPDM_RECEIPT_LEN])
{
	if (!key || !data || !out || (key_len != 16 && key_len != 24 && key_len != 32))
		return GPDM_ERR_ARG;
	return scp03_cmac(key, key_len, data, n, out) == 0 ? GPDM_OK : GPDM_ERR_CRYPTO;
}

/* One LV of a response: 0, or -1 past the end. */
static int r_lv(const uint8_t **p, size_t *n, gpdm_bytes_t *b)
{
	if (*n < 1 || (size_t)(*p)[0] > *n - 1)
		return -1;
	b->n = (*p)[0];
	b->p = *p + 1;
	*p += 1 + b->n;
	*n -= 1 + b->n;
	return 0;
}

int gpdm_confirm_parse(const uint8_t *rsp, size_t n, gpdm_confirm_t *c)
{
	gpdm_bytes_t conf, ctr, x;
	const uint8_t *q;
	size_t m;

	if (!rsp || !c)
		return GPDM_ERR_ARG;
	memset(c, 0, sizeof *c);
	if (r_lv(&rsp, &n, &c->receipt) || r_lv(&rsp, &n, &conf) || n)
		return GPDM_ERR_FORMAT;
	q = conf.p;
	m = conf.n;
	if (r_lv(&q, &m, &ctr) || ctr.n != 2 || r_lv(&q, &m, &c->cud))
		return GPDM_ERR_FORMAT;
	/* Token identifier and token data digest: optional, not checked. */
	while (m)
		if (r_lv(&q, &m, &x))
			return GPDM_ERR_FORMAT;
	c->counter = (uint16_t)(ctr.p[0] << 8 | ctr.p[1]);
	return GPDM_OK;
}

int gpdm_confirm_check(const uint8_t *rsp, size_t n, const uint8_t *key, size_t key_len,
		       const gpdm_bytes_t *aids, size_t n_aids, gpdm_confirm_t *c)
{
	uint8_t data[300], mac[GPDM_RECEIPT_LEN];
	gpdm_confirm_t tmp;
	size_t dn;
	int rc;

	if (!c)
		c = &tmp;
	if ((rc = gpdm_confirm_parse(rsp, n, c)))
		return rc;
	if (c->receipt.n != GPDM_RECEIPT_LEN)
		return GPDM_ERR_VERIFY;
	if ((rc = gpdm_receipt_data(c->counter, c->cud.p, c->cud.n, aids, n_aids, data, sizeof data, &dn)) ||
	    (rc = gpdm_receipt(key, key_len, data, dn, mac)))
		return rc;
	return CRYPTO_memcmp(mac, c->receipt.p, GPDM_RECEIPT_LEN) ? GPDM_ERR_VERIFY : GPDM_OK;
}

/* ---- PUT KEY ---------------------------------------------------------------------- */

/* 88 ‖ Lk ‖ key length ‖ key under the DEK ‖ 03 ‖ KCV (Amd D Table 7-10). */
static int aes_block(w_t *w, const uint8_t *key, size_t key_len, const uint8_t *dek, size_t dek_len)
{
	uint8_t padded[32] = { 0 }, enc[32], kcv[3];
	size_t cl = key_len == 16 ? 16 : 32;

	if (!key || (key_len != 16 && key_len != 24 && key_len != 32))
		return GPDM_ERR_ARG;
	memcpy(padded, key, key_len);
	if (scp03_dek_encrypt(dek, dek_len, padded, cl, enc) < 0 || scp03_kcv(key, key_len, kcv) < 0)
		return GPDM_ERR_CRYPTO;
	w_byte(w, 0x88);
	w_byte(w, (uint8_t)(1 + cl));
	w_byte(w, (uint8_t)key_len);
	w_raw(w, enc, cl);
	w_byte(w, 3);
	w_raw(w, kcv, 3);
	return GPDM_OK;
}

int gpdm_put_keyset(uint8_t old_kvn, uint8_t new_kvn, const uint8_t *enc, const uint8_t *mac,
		    const uint8_t *dekk, size_t key_len, const uint8_t *dek, size_t dek_len,
		    uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t data[256];
	w_t w = { data, sizeof data, 0, 0 };
	const uint8_t *keys[3] = { enc, mac, dekk };
	int rc;

	w_byte(&w, new_kvn);
	for (size_t i = 0; i < 3; i++)
		if ((rc = aes_block(&w, keys[i], key_len, dek, dek_len)))
			return rc;
	if (w.over)
		return GPDM_ERR_ARG;
	return apdu4(0xD8, old_kvn, 0x81, data, w.len, apdu, cap, len);
}

int gpdm_put_aes_key(uint8_t old_kvn, uint8_t new_kvn, const uint8_t *key, size_t key_len,
		     const uint8_t *dek, size_t dek_len, uint8_t *apdu, size_t cap, size_t *len)
{
	uint8_t data[64];
	w_t w = { data, sizeof data, 0, 0 };
	int rc;

	w_byte(&w, new_kvn);
	if ((rc = aes_block(&w, key, key_len, dek, dek_len)))
		return rc;
	return apdu4(0xD8, old_kvn, 0x01, data, w.len, apdu, cap, len);
}

int gpdm_put_rsa_pub(uint8_t old_kvn, uint8_t new_kvn, const uint8_t *pub_der, size_t der_len,
		     uint8_t *apdu, size_t cap, size_t *len)
{
	const uint8_t *p = pub_der;
	EVP_PKEY *k;
	BIGNUM *nb = NULL, *eb = NULL;
	uint8_t data[300], nbuf[GPDM_SIG_MAX], ebuf[8];
	w_t w = { data, sizeof data, 0, 0 };
	int nn, en, rc = GPDM_ERR_CRYPTO;

	if (!pub_der || !der_len)
		return GPDM_ERR_ARG;
	if (!(k = d2i_PUBKEY(NULL, &p, (long)der_len)) && !(k = load_private(pub_der, der_len)))
		return GPDM_ERR_CRYPTO;
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &nb) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &eb))
		goto out;
	nn = BN_num_bytes(nb);
	en = BN_num_bytes(eb);
	if (nn < 1 || (size_t)nn > sizeof nbuf || en < 1 || (size_t)en > sizeof ebuf) {
		rc = GPDM_ERR_ARG;
		goto out;
	}
	BN_bn2bin(nb, nbuf);
	BN_bn2bin(eb, ebuf);
	w_byte(&w, new_kvn);
	/* Key type, BER length, component, KCV length 00 (none for RSA). */
	w_tlv(&w, 0xA1, nbuf, (size_t)nn);
	w_byte(&w, 0x00);
	w_tlv(&w, 0xA0, ebuf, (size_t)en);
	w_byte(&w, 0x00);
	rc = w.over ? GPDM_ERR_ARG : apdu4(0xD8, old_kvn, 0x01, data, w.len, apdu, cap, len);
out:
	BN_free(nb);
	BN_free(eb);
	EVP_PKEY_free(k);
	return rc;
}
