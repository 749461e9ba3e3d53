/* gpcm.c — the Issuer Security Domain: GlobalPlatform card management
 * commands (GPCS v2.3.1 ch. 11, docs/se.md#commands) over the registry, the
 * life cycle tables and SCP03 (sim/gp/scp03.h).  This file: the dispatch,
 * the secure channel (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, PUT KEY)
 * and what the handlers share; content management is in gpcontent.c,
 * GET STATUS / GET DATA / SET STATUS / STORE DATA in gpinfo.c.
 *
 * Order of checks for every command: INS known (6D00) and class (6E00);
 * the card life cycle admits it (gplc, 6A81/6985); secure messaging
 * (scp03_card_unwrap: a bad MAC or an under-protected command aborts the
 * session and answers 6982); the minimum security level of Table 11-2
 * (AUTHENTICATED for everything but GET DATA: 6982); then the command.
 * The response goes back through scp03_card_wrap_rsp (R-MAC, R-ENC).
 *
 * Status words (GPCS Tables 11-10..; docs/se.md#status-words): 6982 no secure
 * channel / bad MAC / bad KCV, 6300 wrong host cryptogram, 6985
 * conditions of use (life cycle, half-valid DELETE, exhausted counter,
 * command out of sequence), 6A88 referenced data not found (unknown AID,
 * KVN, tag), 6A80 bad data, 6A86 bad P1/P2, 6A84 memory, 6310 more
 * GET STATUS data. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gplc.h"
#include "se_int.h"

#define ROOM 32 /* kept free for padding and R-MAC when wrapping */

typedef int (*gpcm_fn)(gpcm_req_t *q);

int gpcm_put(gpcm_req_t *q, const void *p, size_t n)
{
	return apdu_rsp_put(q->r, p, n) == 0 ? 0 : SE_NOROOM;
}

int gpcm_put_byte(gpcm_req_t *q, uint8_t b)
{
	return gpcm_put(q, &b, 1);
}

nvm_t *gpcm_nv(gpcm_req_t *q)
{
	return q->se->ctx->nvm;
}

int gpcm_nv_begin(gpcm_req_t *q)
{
	int rc = nvm_begin(gpcm_nv(q));
	return rc == NVM_OK ? 0 : se_nvm_fail(q->se, rc);
}

/* Commit (if rc is fine) and refresh the RAM registry either way. */
int gpcm_nv_commit(gpcm_req_t *q, int rc)
{
	if (rc == NVM_OK)
		rc = nvm_commit(gpcm_nv(q));
	if (rc != NVM_OK) {
		rc = se_nvm_fail(q->se, rc);
		if (rc != SE_TORN)
			se_reg_reload(q->se);
		return rc;
	}
	se_reg_reload(q->se);
	return 0;
}

void gpcm_aid_set(se_aid_t *a, const uint8_t *p, size_t n)
{
	a->len = (uint8_t)n;
	memcpy(a->b, p, n);
}

/* ---- INITIALIZE UPDATE / EXTERNAL AUTHENTICATE ---------------------- */

static int cmd_initialize_update(gpcm_req_t *q)
{
	const apdu_t *a = q->a;
	se_keyset_t ks;
	scp03_keyset_t k;
	scp03_card_cfg_t cfg;
	uint8_t kvn = a->p1, rnd[SCP03_CHALLENGE_MAX], out[64], ctr[3];
	uint16_t sd = q->sd->seq;
	uint32_t seq = 0;
	size_t n;
	int rc;

	/* Any INITIALIZE UPDATE ends the session in progress (Amd D §5.6). */
	scp03_session_close(&q->ch->scp);
	if (a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if ((a->icase != 3 && a->icase != 4) || (a->lc != 8 && a->lc != 16))
		return SW_WRONG_LENGTH;
	if ((!kvn && gpkey_default_kvn(gpcm_nv(q), sd, &kvn) < 0) || gpkey_get(gpcm_nv(q), sd, kvn, &ks) < 0)
		return SW_REF_NOT_FOUND;
	if (ks.absent) {
		OPENSSL_cleanse(&ks, sizeof ks);
		return SW_REF_NOT_FOUND; /* a key of the set was deleted: no session with it */
	}
	if (q->se->scp_i & SCP03_I_PSEUDO_RANDOM) {
		/* Incremented first, persisted, then used (Amd D §6.2.2.1). */
		if (scp03_seq_next(ks.counter, &seq) < 0)
			return SW_CONDITIONS;
		ctr[0] = (uint8_t)(seq >> 16);
		ctr[1] = (uint8_t)(seq >> 8);
		ctr[2] = (uint8_t)seq;
		{
			/* One record, no registry change: no reload either. */
			char name[GPKEY_NAME];

			gpkey_name(name, sd, "ctr", kvn);
			if ((rc = nvm_begin(gpcm_nv(q))) == NVM_OK &&
			    (rc = nvm_put(gpcm_nv(q), name, ctr, 3)) == NVM_OK)
				rc = nvm_commit(gpcm_nv(q));
			if (rc != NVM_OK)
				return se_nvm_fail(q->se, rc);
		}
	}
	rng_bytes(q->se->ctx->rng, rnd, sizeof rnd);
	memset(&k, 0, sizeof k);
	k.kvn = ks.kvn;
	k.key_len = ks.key_len;
	memcpy(k.enc, ks.enc, ks.key_len);
	memcpy(k.mac, ks.mac, ks.key_len);
	memcpy(k.dek, ks.dek, ks.key_len);
	memset(&cfg, 0, sizeof cfg);
	cfg.keys = &k;
	cfg.kdd = q->se->kdd;
	cfg.i = q->se->scp_i;
	cfg.allow_s16 = 1;
	cfg.sd_aid = q->sd->aid.b;
	cfg.sd_aid_len = q->sd->aid.len;
	cfg.seq = seq;
	cfg.random = (q->se->scp_i & SCP03_I_PSEUDO_RANDOM) ? NULL : rnd;
	rc = scp03_card_init_update(&q->ch->scp, &cfg, a, out, sizeof out, &n);
	OPENSSL_cleanse(&k, sizeof k);
	OPENSSL_cleanse(&ks, sizeof ks);
	if (rc < 0)
		return scp03_err_sw(rc);
	return gpcm_put(q, out, n) ? SE_NOROOM : SW_OK;
}

static int cmd_external_authenticate(gpcm_req_t *q)
{
	int rc = scp03_card_ext_auth(&q->ch->scp, q->a);

	return rc < 0 ? scp03_err_sw(rc) : SW_OK;
}

/* ---- PUT KEY ------------------------------------------------------------------ */

/* AES key data (Amd D Table 7-10): 88 ‖ Lk ‖ key length ‖ key under the
 * static DEK ‖ 03 ‖ KCV.  Returns the block size, or a status word as a
 * negative number. */
long gpcm_key_block(gpcm_req_t *q, const uint8_t *p, size_t n, uint8_t *key, size_t *key_len,
		    uint8_t kcv[3])
{
	uint8_t clear[SE_KEY_MAX], check[3];
	size_t lk, klen, clen;

	if (n < 2 || p[0] != 0x88)
		return -SW_WRONG_DATA;
	lk = p[1];
	if (lk < 1 || n < 2 + lk + 1)
		return -SW_WRONG_DATA;
	klen = p[2];
	clen = lk - 1;
	if ((klen != 16 && klen != 24 && klen != 32) || clen != (klen == 16 ? 16u : 32u))
		return -SW_WRONG_DATA;
	if (p[2 + lk] != 3 || n < 2 + lk + 1 + 3)
		return -SW_WRONG_DATA;
	if (!q->ch->scp.key_len ||
	    scp03_dek_decrypt(q->ch->scp.dek, q->ch->scp.key_len, p + 3, clen, clear) < 0)
		return -SW_WRONG_DATA;
	memcpy(key, clear, klen);
	OPENSSL_cleanse(clear, sizeof clear);
	if (scp03_kcv(key, klen, check) < 0 || CRYPTO_memcmp(check, p + 2 + lk + 1, 3))
		return -SW_SEC_STATUS; /* wrong key check value */
	memcpy(kcv, check, 3);
	*key_len = klen;
	return (long)(2 + lk + 1 + 3);
}

/* The SD whose keys PUT KEY changes: the channel's, or the SSD the ISD
 * personalises after INSTALL [for personalization] (its first keys come
 * through the ISD's secure channel,
 * docs/se.md#security-domains-and-delegated-management). */
static uint16_t put_key_target(gpcm_req_t *q)
{
	const gpreg_ent_t *e;

	if (q->sd == q->se->isd && q->ch->perso && (e = gpreg_by_seq(&q->se->reg, q->ch->perso_seq)) &&
	    e->kind == SE_OBJ_SD)
		return e->seq;
	return q->sd->seq;
}

static int cmd_put_key(gpcm_req_t *q)
{
	const apdu_t *a = q->a;
	uint8_t old = a->p1 & 0x7F, first = a->p2 & 0x7F, kcvs[3][3], new_kvn;
	int multi = (a->p2 & 0x80) != 0, sw = 0;
	uint8_t keys[3][SE_KEY_MAX];
	size_t lens[3] = { 0 }, nkeys = 0, off = 1;
	uint16_t sd = put_key_target(q);
	se_keyset_t ks;
	char name[GPKEY_NAME];

	if (a->icase < 3 || a->lc < 1)
		return SW_WRONG_LENGTH;
	new_kvn = a->data[0];
	if (gpsd_is_dm_kvn(new_kvn) && sd == q->sd->seq)
		return gpsd_put_dm_key(q, a->data + 1, a->lc - 1, new_kvn);
	if (first < 1 || first > 3)
		return SW_WRONG_P1P2;
	if (new_kvn == 0 || new_kvn > 0x7F || gpsd_is_dm_kvn(new_kvn))
		return SW_WRONG_DATA;
	while (off < a->lc && nkeys < 3 && first + nkeys <= 3 && (multi || nkeys == 0)) {
		long k = gpcm_key_block(q, a->data + off, a->lc - off, keys[nkeys], &lens[nkeys], kcvs[nkeys]);

		if (k < 0) {
			sw = (int)-k;
			goto out;
		}
		off += (size_t)k;
		nkeys++;
	}
	if (off != a->lc || !nkeys) {
		sw = SW_WRONG_DATA;
		goto out;
	}
	for (size_t i = 1; i < nkeys; i++)
		if (lens[i] != lens[0]) {
			sw = SW_WRONG_DATA;
			goto out;
		}
	if (old == 0) {
		/* A new key set: all three keys, a KVN not yet used. */
		if (first != 1 || nkeys != 3 || gpkey_get(gpcm_nv(q), sd, new_kvn, &ks) == 0) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		memset(&ks, 0, sizeof ks);
	} else {
		if (gpkey_get(gpcm_nv(q), sd, old, &ks) < 0) {
			sw = SW_REF_NOT_FOUND;
			goto out;
		}
		if (nkeys < 3 && (new_kvn != old || lens[0] != ks.key_len)) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		if (new_kvn != old && gpkey_get(gpcm_nv(q), sd, new_kvn, &(se_keyset_t){ 0 }) == 0) {
			sw = SW_WRONG_DATA;
			goto out;
		}
	}
	ks.kvn = new_kvn;
	ks.key_len = (uint8_t)lens[0];
	for (size_t i = 0; i < nkeys; i++) {
		uint8_t *dst = first + i == 1 ? ks.enc : first + i == 2 ? ks.mac : ks.dek;
		memcpy(dst, keys[i], lens[i]);
		ks.absent &= (uint8_t)~(1u << (first + i - 1)); /* a deleted key put back */
	}
	if (nkeys == 3)
		ks.counter = 0; /* a whole set replaced: counter reset (Amd D §6.2.2.1) */
	if ((sw = gpcm_nv_begin(q)))
		goto out;
	{
		int rc = NVM_OK;

		if (old && old != new_kvn) {
			gpkey_name(name, sd, "key", old);
			rc = nvm_del(gpcm_nv(q), name);
			gpkey_name(name, sd, "ctr", old);
			if (rc == NVM_OK && nvm_get(gpcm_nv(q), name, &(size_t){ 0 }))
				rc = nvm_del(gpcm_nv(q), name);
		}
		if (rc == NVM_OK)
			rc = gpkey_put(gpcm_nv(q), sd, &ks);
		if ((sw = gpcm_nv_commit(q, rc)))
			goto out;
	}
	if ((sw = gpcm_put_byte(q, new_kvn)))
		goto out;
	for (size_t i = 0; i < nkeys; i++)
		if ((sw = gpcm_put(q, kcvs[i], 3)))
			goto out;
	sw = SW_OK;
out:
	OPENSSL_cleanse(keys, sizeof keys);
	OPENSSL_cleanse(&ks, sizeof ks);
	return sw;
}

/* ---- dispatch ----------------------------------------------------------------------- */

static const struct gpcm_cmd {
	uint8_t ins;
	uint8_t auth;   /* minimum level AUTHENTICATED (GPCS Table 11-2) */
	uint8_t cla00;  /* also accepted in the interindustry class */
	enum gplc_cmd cls;
	gpcm_fn fn;
} cmds[] = {
	{ 0x50, 0, 0, GPLC_CMD_AUTH, cmd_initialize_update },
	{ 0x82, 0, 0, GPLC_CMD_AUTH, cmd_external_authenticate },
	{ 0xCA, 0, 1, GPLC_CMD_DATA, gpcm_get_data }, /* GPPro retries CPLC with CLA 00 */
	{ 0xE2, 1, 0, GPLC_CMD_CONTENT, gpcm_store_data },
	{ 0xE4, 1, 0, GPLC_CMD_CONTENT, gpcm_delete },
	{ 0xE6, 1, 0, GPLC_CMD_CONTENT, gpcm_install },
	{ 0xE8, 1, 0, GPLC_CMD_CONTENT, gpcm_load },
	{ 0xD8, 1, 0, GPLC_CMD_CONTENT, cmd_put_key },
	{ 0xF0, 1, 0, GPLC_CMD_SET_STATUS, gpcm_set_status },
	{ 0xF2, 1, 0, GPLC_CMD_READ, gpcm_get_status },
};

static const struct gpcm_cmd *find_cmd(uint8_t ins)
{
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (cmds[i].ins == ins)
			return &cmds[i];
	return NULL;
}

int gpcm_process(sim_se_t *se, se_chan_t *ch, const uint8_t *cmd, size_t len, apdu_rsp_t *r)
{
	const struct gpcm_cmd *c;
	apdu_rsp_t body;
	apdu_t in, a;
	se_cla_t cla;
	gpcm_req_t q;
	int sw, session, rc;

	r->len = 0;
	if (r->cap < ROOM + 2)
		return SE_NOROOM;
	body = (apdu_rsp_t){ r->buf, r->cap - ROOM, 0 };
	if ((sw = apdu_parse(&in, cmd, len)) || (sw = se_cla_decode(in.cla, &cla)))
		goto answer;
	if (!(c = find_cmd(in.ins))) {
		sw = SW_INS_NOT_SUPPORTED;
		goto answer;
	}
	if (!cla.gp && !(c->cla00 && !cla.sm)) {
		sw = SW_CLA_NOT_SUPPORTED;
		goto answer;
	}
	if (cla.chain) {
		sw = 0x6884; /* command chaining not supported: GP has LOAD blocks and P2 numbers */
		goto answer;
	}
	if ((sw = gplc_card_admits(se->isd->lcs, c->cls)))
		goto answer;
	q = (gpcm_req_t){ se, ch, &in, 0, &body, gpsd_of(se, ch) };
	if (!q.sd) {
		sw = SW_INS_NOT_SUPPORTED;
		goto answer;
	}
	if (c->fn == cmd_initialize_update || c->fn == cmd_external_authenticate) {
		/* Never unwrapped; their answers carry no R-MAC (§6.2.5). */
		sw = c->fn(&q);
		goto answer;
	}
	session = ch->scp.state == SCP03_ST_OPEN || ch->scp.state == SCP03_ST_ABORTED;
	if (session) {
		if ((rc = scp03_card_unwrap(&ch->scp, &in, &a, se->buf, APDU_MAX_DATA)) < 0) {
			sw = scp03_err_sw(rc);
			goto answer;
		}
		q.a = &a;
		q.confidential = cla.sm && (ch->scp.level & SCP03_LVL_CDEC);
	} else if (cla.sm) {
		sw = SW_SEC_STATUS; /* secure messaging without a session */
		goto answer;
	}
	if (c->auth && !(scp03_level(&ch->scp) & SCP03_LVL_AUTHENTICATED)) {
		sw = SW_SEC_STATUS;
		goto answer;
	}
	sw = c->fn(&q);
	if (sw < 0)
		return sw;
	r->len = body.len;
	se_finish(r, sw);
	if (ch->scp.state == SCP03_ST_OPEN) {
		size_t n;

		if (scp03_card_wrap_rsp(&ch->scp, r->buf, r->len, r->buf, r->cap, &n) < 0)
			return SE_NOROOM;
		r->len = n;
	}
	return 0;
answer:
	if (sw < 0)
		return sw;
	r->len = body.len;
	se_finish(r, sw);
	return 0;
}
