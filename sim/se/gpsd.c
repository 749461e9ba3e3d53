/* gpsd.c — security domains other than the ISD, and delegated management
 * on the card side (GPCS v2.3.1 §6.3, §9, Annex C;
 * docs/se.md#security-domains-and-delegated-management).
 *
 * Who may manage content through which SD: the ISD anything; a
 * supplementary SD (SSD) only content associated with it, and only with
 * Authorized Management (no token) or Delegated Management (a token the
 * ISD's owner signed, verified with the token key of the SD holding
 * Token Verification: the ISD).  Operations under delegated management
 * answer with a receipt when the ISD holds a receipt key (Receipt
 * Generation).
 *
 * The delegated-management records, all the ISD's but the DAP keys:
 *   gp/dm/tok        token verification key, SubjectPublicKeyInfo (DER)
 *   gp/dm/rcpt       receipt key: length ‖ AES key
 *   gp/dm/ctr        confirmation counter, 2 bytes, the last one used
 *   gp/dm/dap/SSSS   DAP verification key of SD SSSS (DER) */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "../core/tlv.h"
#include "../gp/gpdm.h"
#include "gplc.h"
#include "se_int.h"

#define DM_TOKEN "gp/dm/tok"
#define DM_RECEIPT "gp/dm/rcpt"
#define DM_COUNTER "gp/dm/ctr"
#define DM_DAP "gp/dm/dap/"

gpreg_ent_t *gpsd_of(sim_se_t *se, const se_chan_t *ch)
{
	gpreg_ent_t *e;

	if (ch->sel == SE_SEL_ISD)
		return se->isd;
	if (ch->sel == SE_SEL_APP && (e = gpreg_by_seq(&se->reg, ch->sel_seq)) && e->kind == SE_OBJ_SD)
		return e;
	return NULL;
}

gpreg_ent_t *gpsd_find(sim_se_t *se, const se_aid_t *aid)
{
	gpreg_ent_t *e = gpreg_find(&se->reg, aid->b, aid->len);

	return e && e->kind == SE_OBJ_SD ? e : NULL;
}

int gpsd_owns(const gpcm_req_t *q, const gpreg_ent_t *e)
{
	return q->sd == q->se->isd || e == q->sd || gpreg_aid_eq(&e->sd, q->sd->aid.b, q->sd->aid.len);
}

int gpsd_authority(const gpcm_req_t *q, int *dm)
{
	const gpreg_ent_t *s = q->sd;

	*dm = 0;
	if (s == q->se->isd || (s->priv[1] & GPDM_PRIV2_AUTHORIZED_MGMT))
		return 0;
	if (s->priv[0] & GPDM_PRIV_DELEGATED_MGMT) {
		*dm = 1;
		return 0;
	}
	return SW_CONDITIONS; /* an SSD without management privileges */
}

/* ---- tokens --------------------------------------------------------------- */

static EVP_PKEY *pub_at(const nvm_t *nvm, const char *name)
{
	const uint8_t *v, *p;
	size_t n;

	if (!(v = nvm_get(nvm, name, &n)))
		return NULL;
	p = v;
	return d2i_PUBKEY(NULL, &p, (long)n);
}

/* RSA PKCS#1 v1.5 SHA-1 signature sig over data with the key in record
 * name: 1 if it verifies. */
static int verify_at(const nvm_t *nvm, const char *name, const uint8_t *data, size_t n,
		     const uint8_t *sig, size_t sn)
{
	EVP_PKEY *k = pub_at(nvm, name);
	EVP_MD_CTX *md = NULL;
	int ok = 0;

	if (k && (md = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(md, NULL, EVP_sha1(), NULL, k) == 1)
		ok = EVP_DigestVerify(md, sig, sn, data, n) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return ok;
}

int gpsd_token_check(gpcm_req_t *q, const uint8_t *fields, size_t n, const uint8_t *token, size_t tn)
{
	uint8_t data[3 + 255];
	size_t dn;

	if (!(q->se->isd->priv[1] & GPDM_PRIV2_TOKEN_VERIFICATION) || !tn || n > 255 ||
	    gpdm_token_data(q->a->p1, q->a->p2, fields, n, data, sizeof data, &dn) != GPDM_OK ||
	    !verify_at(gpcm_nv(q), DM_TOKEN, data, dn, token, tn))
		return SW_WRONG_DATA;
	return 0;
}

/* ---- receipts -------------------------------------------------------------- */

/* Card unique data: the ISD's IIN ‖ CIN (GET DATA 42, 45); with neither
 * personalised, the key diversification data (a modelled assumption). */
static size_t card_unique(gpcm_req_t *q, uint8_t *out, size_t cap)
{
	const uint8_t *iin, *cin;
	size_t in = 0, cn = 0;

	iin = nvm_get(gpcm_nv(q), "gp/data/42", &in);
	cin = nvm_get(gpcm_nv(q), "gp/data/45", &cn);
	if (!iin)
		in = 0;
	if (!cin)
		cn = 0;
	if (!in && !cn) {
		memcpy(out, q->se->kdd, sizeof q->se->kdd);
		return sizeof q->se->kdd;
	}
	if (in + cn > cap)
		return 0;
	if (in)
		memcpy(out, iin, in);
	if (cn)
		memcpy(out + in, cin, cn);
	return in + cn;
}

int gpsd_confirm(gpcm_req_t *q, const gpdm_bytes_t *aids, size_t n)
{
	const uint8_t *k, *c;
	size_t kn, cn, rn, cud_n;
	uint8_t ctr[2], cud[APDU_MAX_DATA > 255 ? 255 : APDU_MAX_DATA], data[300], mac[GPDM_RECEIPT_LEN];
	uint16_t next;
	int rc;

	if (!(q->se->isd->priv[2] & GPDM_PRIV3_RECEIPT_GENERATION) || !(k = nvm_get(gpcm_nv(q), DM_RECEIPT, &kn)) ||
	    kn < 1 || kn != 1u + k[0])
		return gpcm_put_byte(q, 0x00) ? SE_NOROOM : 0;
	c = nvm_get(gpcm_nv(q), DM_COUNTER, &cn);
	next = c && cn == 2 ? (uint16_t)(c[0] << 8 | c[1]) : 0;
	if (next == 0xFFFF)
		return SW_CONDITIONS; /* counter exhausted: no receipt, no operation */
	next++;
	ctr[0] = (uint8_t)(next >> 8);
	ctr[1] = (uint8_t)next;
	if (!(cud_n = card_unique(q, cud, 200)) ||
	    gpdm_receipt_data(next, cud, cud_n, aids, n, data, sizeof data, &rn) != GPDM_OK ||
	    gpdm_receipt(k + 1, k[0], data, rn, mac) != GPDM_OK)
		return SW_NO_PRECISE;
	if ((rc = nvm_put(gpcm_nv(q), DM_COUNTER, ctr, 2)) != NVM_OK)
		return se_nvm_fail(q->se, rc);
	/* LV(receipt) ‖ LV(LV(counter) ‖ LV(card unique data)). */
	if (gpcm_put_byte(q, GPDM_RECEIPT_LEN) || gpcm_put(q, mac, sizeof mac) ||
	    gpcm_put_byte(q, (uint8_t)(1 + 2 + 1 + cud_n)) || gpcm_put_byte(q, 2) || gpcm_put(q, ctr, 2) ||
	    gpcm_put_byte(q, (uint8_t)cud_n) || gpcm_put(q, cud, cud_n))
		return SE_NOROOM;
	return 0;
}

/* ---- DAP ---------------------------------------------------------------------- */

static void dap_name(char out[GPKEY_NAME], uint16_t sd)
{
	snprintf(out, GPKEY_NAME, DM_DAP "%04X", sd);
}

int gpsd_dap_check(gpcm_req_t *q, const gpreg_ent_t *sd, const uint8_t *hash, size_t hash_n,
		   const uint8_t *lf, size_t n)
{
	char name[GPKEY_NAME];
	tlv_t t, a, s;
	long k;

	if (!(sd->priv[0] & GPDM_PRIV_DAP_VERIFICATION))
		return 0;
	if (!hash_n)
		return SW_WRONG_DATA; /* a DAP needs the hash of INSTALL [for load] */
	dap_name(name, sd->seq);
	for (; n && (k = tlv_parse(lf, n, &t)) > 0 && t.tag == 0xE2; lf += k, n -= (size_t)k) {
		if (tlv_find(t.val, t.len, 0x4F, &a) || !gpreg_aid_eq(&sd->aid, a.val, a.len) ||
		    tlv_find(t.val, t.len, 0xC3, &s))
			continue;
		if (verify_at(gpcm_nv(q), name, hash, hash_n, s.val, s.len))
			return 0;
		return SW_WRONG_DATA; /* this SD's block, a bad signature */
	}
	return SW_WRONG_DATA; /* no DAP block for the SD */
}

/* ---- PUT KEY of the delegated-management keys ------------------------------------ */

int gpsd_is_dm_kvn(uint8_t kvn)
{
	return kvn == GPDM_KVN_TOKEN || kvn == GPDM_KVN_RECEIPT || kvn == GPDM_KVN_DAP;
}

/* An RSA public key: A1 modulus, 00, A0 exponent, 00 (no KCVs); its
 * SubjectPublicKeyInfo into der. */
static int rsa_components(const uint8_t *p, size_t n, uint8_t *der, size_t cap, size_t *der_n)
{
	tlv_t m, e;
	long k1, k2;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *cx = NULL;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	uint8_t *out = der;
	int len, rc = SW_WRONG_DATA;

	if ((k1 = tlv_parse(p, n, &m)) <= 0 || m.tag != 0xA1 || (size_t)k1 >= n || p[k1] != 0x00 ||
	    (k2 = tlv_parse(p + k1 + 1, n - (size_t)k1 - 1, &e)) <= 0 || e.tag != 0xA0 ||
	    (size_t)(k1 + 1 + k2 + 1) != n || p[n - 1] != 0x00 || m.len < 64 || m.len > 255 || !e.len || e.len > 8)
		return SW_WRONG_DATA;
	if (!(bn = BN_bin2bn(m.val, (int)m.len, NULL)) || !(be = BN_bin2bn(e.val, (int)e.len, NULL)) ||
	    !(b = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) || !(params = OSSL_PARAM_BLD_to_param(b)) ||
	    !(cx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(cx) != 1 ||
	    EVP_PKEY_fromdata(cx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((len = i2d_PUBKEY(pk, NULL)) <= 0 || (size_t)len > cap || i2d_PUBKEY(pk, &out) != len)
		goto out;
	*der_n = (size_t)len;
	rc = 0;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(cx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return rc;
}

int gpsd_put_dm_key(gpcm_req_t *q, const uint8_t *keyblock, size_t n, uint8_t new_kvn)
{
	const apdu_t *a = q->a;
	uint8_t rec[1 + SE_KEY_MAX], der[600], kcv[3];
	char name[GPKEY_NAME];
	const char *where;
	size_t rn, klen;
	long k;
	int sw, rc;

	if ((a->p1 && a->p1 != new_kvn) || (a->p2 & 0x7F) != 0x01)
		return SW_WRONG_P1P2; /* one key, identifier 01, replaced in place */
	if (new_kvn == GPDM_KVN_RECEIPT) {
		if (q->sd != q->se->isd)
			return SW_CONDITIONS;
		if ((k = gpcm_key_block(q, keyblock, n, rec + 1, &klen, kcv)) < 0)
			return (int)-k;
		if ((size_t)k != n)
			return SW_WRONG_DATA;
		rec[0] = (uint8_t)klen;
		rn = 1 + klen;
		where = DM_RECEIPT;
		if ((sw = gpcm_nv_begin(q)))
			return sw;
		rc = nvm_put(gpcm_nv(q), where, rec, rn);
		OPENSSL_cleanse(rec, sizeof rec);
		if ((sw = gpcm_nv_commit(q, rc)))
			return sw;
		if (gpcm_put_byte(q, new_kvn) || gpcm_put(q, kcv, 3))
			return SE_NOROOM;
		return SW_OK;
	}
	if (new_kvn == GPDM_KVN_TOKEN) {
		if (q->sd != q->se->isd)
			return SW_CONDITIONS;
		where = DM_TOKEN;
	} else {
		if (!(q->sd->priv[0] & GPDM_PRIV_DAP_VERIFICATION))
			return SW_CONDITIONS;
		dap_name(name, q->sd->seq);
		where = name;
	}
	if ((sw = rsa_components(keyblock, n, der, sizeof der, &rn)))
		return sw;
	if ((sw = gpcm_nv_begin(q)) || (sw = gpcm_nv_commit(q, nvm_put(gpcm_nv(q), where, der, rn))))
		return sw;
	return gpcm_put_byte(q, new_kvn) ? SE_NOROOM : SW_OK;
}

int gpsd_delete_dm_key(gpcm_req_t *q, uint8_t kvn)
{
	char name[GPKEY_NAME];
	const char *where;
	int sw;

	if (kvn == GPDM_KVN_DAP) {
		dap_name(name, q->sd->seq);
		where = name;
	} else {
		if (q->sd != q->se->isd)
			return SW_REF_NOT_FOUND;
		where = kvn == GPDM_KVN_TOKEN ? DM_TOKEN : DM_RECEIPT;
	}
	if (!nvm_get(gpcm_nv(q), where, &(size_t){ 0 }))
		return SW_REF_NOT_FOUND;
	if ((sw = gpcm_nv_begin(q)) || (sw = gpcm_nv_commit(q, nvm_del(gpcm_nv(q), where))))
		return sw;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

int gpsd_erase(nvm_t *nvm, const gpreg_ent_t *sd)
{
	char name[GPKEY_NAME];
	int rc;

	snprintf(name, sizeof name, GPKEY_SD_PREFIX "%04X/", sd->seq);
	if ((rc = nvm_del_prefix(nvm, name)) != NVM_OK)
		return rc;
	dap_name(name, sd->seq);
	if (nvm_get(nvm, name, &(size_t){ 0 }))
		rc = nvm_del(nvm, name);
	return rc;
}

/* ---- a loaded image ---------------------------------------------------------------- */

const char *gpsd_check(const char *key, const uint8_t *v, size_t n, unsigned *sd)
{
	const uint8_t *p = v;
	EVP_PKEY *k;
	unsigned s;
	char name[GPKEY_NAME], tail;

	*sd = 0;
	if (!strcmp(key, DM_COUNTER))
		return n == 2 ? NULL : "confirmation counter not 2 bytes";
	if (!strcmp(key, DM_RECEIPT))
		return n >= 1 && n == 1u + v[0] && (v[0] == 16 || v[0] == 24 || v[0] == 32) ? NULL
			: "receipt key is not one AES-128, -192 or -256 key";
	if (strcmp(key, DM_TOKEN)) {
		if (sscanf(key, DM_DAP "%4X%c", &s, &tail) != 1)
			return "no part of the SE writes a record of this name";
		dap_name(name, (uint16_t)s);
		if (strcmp(name, key))
			return "not a DAP key record name (gp/dm/dap/ and 4 upper-case hex digits)";
		*sd = s;
	}
	if (!(k = d2i_PUBKEY(NULL, &p, (long)n)))
		return "token or DAP key is not a public key (SubjectPublicKeyInfo)";
	s = (unsigned)EVP_PKEY_get_base_id(k);
	EVP_PKEY_free(k);
	return s == EVP_PKEY_RSA && p == v + n ? NULL : "token or DAP key is not one RSA public key";
}
