/* sejpki.c — the smartphone JPKI applet (docs/se.md#jpki-applet,
 * docs/card.md#smartphone-token).
 *
 * Its APDU interface is the card's JPKI AP (sim/card/jpki.c over cardos),
 * built with the phone option: same AID, EFs and commands, token
 * JPKIAPGPSETOKEN in EF 0006, and the auth certificate (EF 000A) readable
 * only after the auth PIN.  Records live under "sejpki/"; the cardos
 * state (current EF, verified PINs) is per logical channel.
 *
 * The applet is "in ROM": the load file D392F000260100 (docs/se.md#jpki-applet
 * [L], the cinpo layout) carries module D392F00026010001; INSTALL [for
 * install] of that module creates the instance (default AID
 * D392F000260100000001).  One instance at a time (a second: 6A84).
 *
 * Personalisation (an assumption: the real command set is not public,
 * docs/card.md#smartphone-token).  The TSM sends, over SCP03, INSTALL [for
 * personalization] of the instance, then STORE DATA in DGI format
 * (DGI 2 bytes, length 1 byte or FF + 2 bytes, value; a DGI may span
 * STORE DATA blocks).  ss = slot: 01 auth (利用者証明用), 02 sign (署名用).
 *
 *   DGI 01ss  GENERATE KEY PAIR of slot ss: RSA-2048 generated on the SE
 *             (drawn from the harness's key pool in seeded runs).  No
 *             data.  The STORE DATA response carries the public key as a
 *             DER SubjectPublicKeyInfo, for certification.
 *   DGI 02ss  CERTIFICATE of slot ss: X.509 DER whose public key is the
 *             slot's (else 6A80), into EF 000A (auth) / 0001 (sign).
 *   DGI 03ss  CA CERTIFICATE for slot ss: EF 000B / 0002.
 *   DGI 04ss  SLOT STATE: one byte, 03 = the certificate was revoked.
 *   DGI 05ss  ERASE SLOT: the slot's private key, certificate and PIN are
 *             deleted from NVM (no data).
 *   DGI 0600  SLOT STATUS: the response is the two slot state bytes.
 *   DGI 81ss  PIN of slot ss, ASCII, set by the holder at issuance: auth
 *             4 digits (3 tries), sign 6-16 of A-Z0-9 (5 tries).  Only
 *             under C-DECRYPTION (else 6982); bad format 6A80.  Sets the
 *             value and resets the retry counter.
 *
 * Slot states and the DGIs that move them (the table slot_rows):
 *   EMPTY 00, GENERATED 01 (key, no certificate), ACTIVE 02, REVOKED 03,
 *   ERASED 04.  GENERATE from EMPTY/GENERATED/REVOKED/ERASED (never over
 *   an ACTIVE key); CERTIFICATE GENERATED -> ACTIVE; REVOKED ACTIVE ->
 *   REVOKED; ERASE GENERATED/REVOKED -> ERASED (an ACTIVE slot must be
 *   marked revoked first).  Anything else: 6985.
 *
 * Deletion: the instance is "half-valid" while one slot is ACTIVE and the
 * other REVOKED or ERASED (docs/domain.md#flows, 課題 2); under half_valid = block
 * or erase_revoked, DELETE of a half-valid instance answers 6985.  A
 * deleted instance leaves no record behind: every "sejpki/" record goes
 * in the DELETE's transaction. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../card/card_int.h"
#include "../core/dcache.h"
#include "../card/cardos_int.h"
#include "../card/jpki_int.h"
#include "gplc.h"
#include "se_int.h"

#define NS "sejpki"
#define SLOTS_REC NS "/slots"
#define DGI_MAX (JPKI_CERT_MAX + 8)

enum slot_state { S_EMPTY = 0, S_GENERATED = 1, S_ACTIVE = 2, S_REVOKED = 3, S_ERASED = 4 };
enum slot_op { OP_GENERATE, OP_CERTIFY, OP_REVOKE, OP_ERASE };

#define M(s) (1u << (s))

static const struct slot_row {
	enum slot_op op;
	unsigned from;
	enum slot_state to;
} slot_rows[] = {
	{ OP_GENERATE, M(S_EMPTY) | M(S_GENERATED) | M(S_REVOKED) | M(S_ERASED), S_GENERATED },
	{ OP_CERTIFY, M(S_GENERATED), S_ACTIVE },
	{ OP_REVOKE, M(S_ACTIVE), S_REVOKED },
	{ OP_ERASE, M(S_GENERATED) | M(S_REVOKED), S_ERASED },
};

/* What each slot is made of. */
static const struct slot_def {
	uint16_t cert, ca, key, pin;
	size_t pin_min, pin_max;
	const char *pin_set;
} slot_defs[2] = {
	{ JPKI_EF_AUTH_CERT, JPKI_EF_AUTH_CA, JPKI_EF_AUTH_KEY, JPKI_EF_AUTH_PIN, 4, 4, CARD_DIGITS },
	{ JPKI_EF_SIGN_CERT, JPKI_EF_SIGN_CA, JPKI_EF_SIGN_KEY, JPKI_EF_SIGN_PIN, 6, 16, CARD_UPPER_DIGITS },
};

typedef struct sejpki {
	int present;
	uint16_t seq;
	jpki_app_t app;   /* ns "sejpki", the instance's AID */
	cardos_t os;
	int os_ready;
	uint8_t *pend;    /* STORE DATA bytes not yet forming a whole DGI */
	size_t pend_len;
} sejpki_t;

/* ---- slots ---------------------------------------------------------- */

static void slots_get(const sim_se_t *se, uint8_t s[2])
{
	size_t n;
	const uint8_t *v = nvm_get(se->ctx->nvm, SLOTS_REC, &n);

	s[0] = s[1] = S_EMPTY;
	if (v && n == 2)
		memcpy(s, v, 2);
}

/* 0 with *to, or 6985. */
static int slot_next(uint8_t from, enum slot_op op, uint8_t *to)
{
	for (size_t i = 0; i < sizeof slot_rows / sizeof slot_rows[0]; i++)
		if (slot_rows[i].op == op && from < 8 && (slot_rows[i].from & M(from))) {
			*to = (uint8_t)slot_rows[i].to;
			return 0;
		}
	return SW_CONDITIONS;
}

static int half_valid(const uint8_t s[2])
{
	int active = s[0] == S_ACTIVE || s[1] == S_ACTIVE;
	int gone = s[0] == S_REVOKED || s[0] == S_ERASED || s[1] == S_REVOKED || s[1] == S_ERASED;

	return active && gone;
}

/* EF 0008: byte 0 = sign certificate present, byte 1 = auth
 * (docs/card.md#jpki-ap, SOL [M]). */
static int put_slots(sim_se_t *se, sejpki_t *j, const uint8_t s[2])
{
	const uint8_t presence[3] = { s[1] == S_ACTIVE ? 0x8F : 0x00, s[0] == S_ACTIVE ? 0x8F : 0x00, 0x00 };
	int rc;

	if ((rc = nvm_put(se->ctx->nvm, SLOTS_REC, s, 2)) != NVM_OK)
		return rc;
	return jpki_put_ef(se->ctx->nvm, &j->app, JPKI_EF_PRESENCE, presence, sizeof presence);
}

static int del_ef(sim_se_t *se, sejpki_t *j, uint16_t fid, int ctr)
{
	const cardos_ef_def_t *d = cardos_def_by_fid(&j->app.def, fid);
	char name[CARDOS_NAME_MAX];
	size_t n;

	if (!d || cardos_nvm_name(name, sizeof name, NS, d, ctr) < 0)
		return NVM_ERR_ARG;
	return nvm_get(se->ctx->nvm, name, &n) ? nvm_del(se->ctx->nvm, name) : NVM_OK;
}

/* ---- lifecycle hooks ------------------------------------------------- */

static void bind(sejpki_t *j, const gpreg_ent_t *e)
{
	jpki_opts_t o = { .auth_cert_pin = 1 };

	if (j->os_ready)
		cardos_free(&j->os);
	jpki_app_init(&j->app, &o);
	j->app.def.ns = NS;
	if (e) {
		memcpy(j->app.def.aid, e->aid.b, e->aid.len);
		j->app.def.aid_len = e->aid.len;
	}
	j->os_ready = 0;
	j->present = 0;
}

static int sj_init(sim_se_t *se, void **priv)
{
	sejpki_t *j = calloc(1, sizeof *j);

	(void)se;
	if (!j || !(j->pend = malloc(DGI_MAX))) {
		free(j);
		return SIM_ERR_NOMEM;
	}
	bind(j, NULL);
	*priv = j;
	return SIM_OK;
}

static void sj_free(void *priv)
{
	sejpki_t *j = priv;

	if (!j)
		return;
	if (j->os_ready)
		cardos_free(&j->os);
	OPENSSL_cleanse(j->pend, DGI_MAX);
	free(j->pend);
	free(j);
}

static const gpreg_ent_t *instance(sim_se_t *se)
{
	for (size_t i = 0; i < se->reg.n; i++)
		if (se->reg.e[i].kind == SE_OBJ_APP && se->reg.e[i].applet &&
		    se_applets[se->reg.e[i].applet - 1] == &sejpki_applet)
			return &se->reg.e[i];
	return NULL;
}

static void sj_sync(sim_se_t *se, void *priv)
{
	sejpki_t *j = priv;
	const gpreg_ent_t *e = instance(se);
	const cardos_app_def_t *defs[1];

	if (e && j->present && j->seq == e->seq) {
		cardos_forget_keys(&j->os); /* a rolled-back key write */
		return;
	}
	bind(j, e);
	j->pend_len = 0;
	if (!e)
		return;
	defs[0] = &j->app.def;
	if (cardos_init(&j->os, se->ctx, defs, 1) != SIM_OK)
		return;
	j->os_ready = 1;
	j->present = 1;
	j->seq = e->seq;
}

static int sj_install(sim_se_t *se, void *priv, const gpreg_ent_t *e, const uint8_t *params, size_t n)
{
	sejpki_t *j = priv;
	uint8_t tok[JPKI_TOKEN_EF];
	const uint8_t none[2] = { S_EMPTY, S_EMPTY };
	int rc;

	(void)e;
	(void)params;
	(void)n;
	if (j->present || instance(se))
		return 0x6A84; /* not enough memory: one instance of the module */
	jpki_token_ef(tok, JPKI_TOKEN_GPSE);
	if ((rc = jpki_put_ef(se->ctx->nvm, &j->app, JPKI_EF_TOKEN, tok, sizeof tok)) != NVM_OK ||
	    (rc = put_slots(se, j, none)) != NVM_OK)
		return se_nvm_fail(se, rc);
	return 0;
}

static int sj_deletable(sim_se_t *se, void *priv, const gpreg_ent_t *e)
{
	uint8_t s[2];

	(void)priv;
	(void)e;
	slots_get(se, s);
	if (se->half_valid != SE_HALF_VALID_ALLOW && half_valid(s))
		return SW_CONDITIONS;
	return 0;
}

static int sj_remove(sim_se_t *se, void *priv, const gpreg_ent_t *e)
{
	sejpki_t *j = priv;
	int rc = nvm_del_prefix(se->ctx->nvm, NS "/");

	(void)e;
	j->pend_len = 0;
	if (j->os_ready)
		cardos_forget_keys(&j->os);
	return rc == NVM_OK ? 0 : se_nvm_fail(se, rc);
}

static void sj_select(sim_se_t *se, void *priv, se_chan_t *ch)
{
	sejpki_t *j = priv;

	(void)se;
	ch->app = j->os_ready ? &j->os.apps[0] : NULL;
	ch->ef = NULL;
	ch->verified = 0;
}

/* The card's JPKI AP on this channel's state. */
static int sj_process(sim_se_t *se, void *priv, se_chan_t *ch, const uint8_t *cmd, size_t len,
		      apdu_rsp_t *r)
{
	sejpki_t *j = priv;
	int rc;

	(void)se;
	if (!j->os_ready || !ch->app)
		return SW_INS_NOT_SUPPORTED;
	j->os.cur_app = ch->app;
	j->os.cur_ef = ch->ef;
	j->os.verified = ch->verified;
	rc = cardos_transmit(&j->os, cmd, len, r);
	ch->app = j->os.cur_app ? j->os.cur_app : ch->app;
	ch->ef = j->os.cur_ef;
	ch->verified = j->os.verified;
	if (rc == SIM_ERR_MUTE)
		return SE_TORN;
	if (rc != SIM_OK)
		return SE_NOROOM;
	return 0; /* r is complete */
}

/* ---- personalisation ------------------------------------------------- */

/* An RSA-2048 key: from the pool by the run's RNG (never the other
 * slot's key), else fresh from OpenSSL (--fresh-keys runs). */
static int new_key(sim_se_t *se, sejpki_t *j, int slot, uint8_t **der, size_t *len, EVP_PKEY **pk)
{
	const cardos_ef_def_t *other = cardos_def_by_fid(&j->app.def, slot_defs[!slot].key);
	char oname[CARDOS_NAME_MAX];
	const uint8_t *ov = NULL;
	size_t on = 0;

	if (other && cardos_nvm_name(oname, sizeof oname, NS, other, 0) == 0)
		ov = nvm_get(se->ctx->nvm, oname, &on);
	if (se->n_pool) {
		size_t idx = rng_below(se->ctx->rng, (uint32_t)se->n_pool);

		for (size_t tries = 0; tries < se->n_pool; tries++, idx = (idx + 1) % se->n_pool) {
			const se_blob_t *b = &se->pool[idx];

			if (ov && on == b->n && memcmp(ov, b->p, on) == 0)
				continue;
			if (!(*pk = cardos_key_parse(b->p, b->n, 2048)))
				continue;
			if (!(*der = malloc(b->n))) {
				EVP_PKEY_free(*pk);
				return SIM_ERR_NOMEM;
			}
			memcpy(*der, b->p, b->n);
			*len = b->n;
			return 0;
		}
		return SIM_ERR_PROFILE;
	} else {
		PKCS8_PRIV_KEY_INFO *p8 = NULL;
		uint8_t *p = NULL;
		int n = -1;

		if ((*pk = EVP_RSA_gen(2048)) && (p8 = EVP_PKEY2PKCS8(*pk)))
			n = i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
		PKCS8_PRIV_KEY_INFO_free(p8);
		if (n <= 0 || !(*der = malloc((size_t)n))) {
			OPENSSL_free(p);
			EVP_PKEY_free(*pk);
			return SIM_ERR_NOMEM;
		}
		memcpy(*der, p, (size_t)n);
		OPENSSL_clear_free(p, (size_t)n);
		*len = (size_t)n;
		return 0;
	}
}

/* Moves the instance to the app-specific state "personalised" (0F) when
 * the life cycle table lets the application do so. */
static int mark_personalised(sim_se_t *se, const gpreg_ent_t *e)
{
	gpreg_ent_t c = *e;

	if (gplc_check(GPLC_APP, e->lcs, GPLC_APP_PERSONALISED, GPLC_BY_APP))
		return NVM_OK;
	c.lcs = GPLC_APP_PERSONALISED;
	return gpreg_put(se->ctx->nvm, &c);
}

typedef struct dgi_ctx {
	sim_se_t *se;
	sejpki_t *j;
	gpreg_ent_t *e;
	int confidential;
	apdu_rsp_t *r;
} dgi_ctx_t;

static int begin(dgi_ctx_t *d)
{
	int rc = nvm_begin(d->se->ctx->nvm);
	return rc == NVM_OK ? 0 : se_nvm_fail(d->se, rc);
}

static int commit(dgi_ctx_t *d, int rc)
{
	if (rc == NVM_OK)
		rc = nvm_commit(d->se->ctx->nvm);
	if (rc != NVM_OK)
		return se_nvm_fail(d->se, rc);
	cardos_forget_keys(&d->j->os);
	se_reg_reload(d->se);
	return 0;
}

static int dgi_generate(dgi_ctx_t *d, int slot, const uint8_t *v, size_t n, uint8_t s[2])
{
	uint8_t *der = NULL, *spki = NULL;
	size_t len = 0, spki_len = 0;
	EVP_PKEY *pk = NULL;
	int sw, rc;

	if (n != 0 && !(n == 2 && v[0] == 0x08 && v[1] == 0x00)) /* optionally 0800 = 2048 bits */
		return SW_WRONG_DATA;
	if ((sw = slot_next(s[slot], OP_GENERATE, &s[slot])))
		return sw;
	if ((rc = new_key(d->se, d->j, slot, &der, &len, &pk)) != 0)
		return rc == SIM_ERR_NOMEM ? SW_MEMORY_FAILURE : SW_CONDITIONS;
	/* A pool key's public key is encoded once per process. */
	rc = dcache_spki(pk, &spki, &spki_len);
	EVP_PKEY_free(pk);
	if (rc < 0) {
		OPENSSL_clear_free(der, len);
		return SW_NO_PRECISE;
	}
	if (d->r->cap < d->r->len + spki_len + 2) {
		OPENSSL_clear_free(der, len);
		free(spki);
		return SE_NOROOM;
	}
	if ((sw = begin(d)) == 0) {
		/* A new key voids whatever the slot held before. */
		rc = jpki_put_ef(d->se->ctx->nvm, &d->j->app, slot_defs[slot].key, der, len);
		if (rc == NVM_OK)
			rc = del_ef(d->se, d->j, slot_defs[slot].cert, 0);
		if (rc == NVM_OK)
			rc = put_slots(d->se, d->j, s);
		sw = commit(d, rc);
	}
	OPENSSL_clear_free(der, len);
	if (sw == 0)
		apdu_rsp_put(d->r, spki, spki_len);
	free(spki);
	return sw;
}

/* The certificate must carry the slot's public key. */
static int cert_matches(dgi_ctx_t *d, int slot, const uint8_t *v, size_t n)
{
	const cardos_ef_def_t *kd = cardos_def_by_fid(&d->j->app.def, slot_defs[slot].key);
	const uint8_t *kv;
	char kname[CARDOS_NAME_MAX];
	EVP_PKEY *k;
	size_t kn;
	int ok;

	if (!kd || cardos_nvm_name(kname, sizeof kname, NS, kd, 0) < 0 ||
	    !(kv = nvm_get(d->se->ctx->nvm, kname, &kn)) || !(k = cardos_key_parse(kv, kn, 0)))
		return 0;
	/* Each certificate is new: read without decoding its key when that
	 * is the slot's, byte for byte (sim/core/dcache.h). */
	ok = dcache_cert_has_key(v, n, k);
	EVP_PKEY_free(k);
	return ok;
}

static int dgi_cert(dgi_ctx_t *d, int slot, const uint8_t *v, size_t n, uint8_t s[2])
{
	int sw, rc;

	if ((sw = slot_next(s[slot], OP_CERTIFY, &s[slot])))
		return sw;
	if (!cert_matches(d, slot, v, n))
		return SW_WRONG_DATA;
	if ((sw = begin(d)))
		return sw;
	rc = jpki_put_cert(d->se->ctx->nvm, &d->j->app, slot_defs[slot].cert, v, n);
	if (rc == NVM_OK)
		rc = put_slots(d->se, d->j, s);
	if (rc == NVM_OK)
		rc = mark_personalised(d->se, d->e);
	if (rc == NVM_ERR_ARG) {
		nvm_abort(d->se->ctx->nvm);
		return SW_WRONG_DATA;
	}
	return commit(d, rc);
}

static int dgi_ca(dgi_ctx_t *d, int slot, const uint8_t *v, size_t n)
{
	size_t used = 0;
	X509 *x = dcache_cert(v, n, &used);
	int sw, ok = x && used == n;

	X509_free(x);
	if (!ok)
		return SW_WRONG_DATA;
	if ((sw = begin(d)))
		return sw;
	return commit(d, jpki_put_cert(d->se->ctx->nvm, &d->j->app, slot_defs[slot].ca, v, n));
}

static int dgi_state(dgi_ctx_t *d, int slot, const uint8_t *v, size_t n, uint8_t s[2])
{
	int sw;

	if (n != 1 || v[0] != S_REVOKED)
		return SW_WRONG_DATA;
	if ((sw = slot_next(s[slot], OP_REVOKE, &s[slot])) || (sw = begin(d)))
		return sw;
	return commit(d, put_slots(d->se, d->j, s));
}

/* Key, certificate and PIN (value and counter) of the slot. */
static int dgi_erase(dgi_ctx_t *d, int slot, size_t n, uint8_t s[2])
{
	const struct slot_def *sd = &slot_defs[slot];
	int sw, rc;

	if (n != 0)
		return SW_WRONG_DATA;
	if ((sw = slot_next(s[slot], OP_ERASE, &s[slot])) || (sw = begin(d)))
		return sw;
	if ((rc = del_ef(d->se, d->j, sd->key, 0)) == NVM_OK && (rc = del_ef(d->se, d->j, sd->cert, 0)) == NVM_OK &&
	    (rc = del_ef(d->se, d->j, sd->pin, 0)) == NVM_OK && (rc = del_ef(d->se, d->j, sd->pin, 1)) == NVM_OK)
		rc = put_slots(d->se, d->j, s);
	return commit(d, rc);
}

static int dgi_pin(dgi_ctx_t *d, int slot, const uint8_t *v, size_t n)
{
	const struct slot_def *sd = &slot_defs[slot];
	char pin[CARDOS_PIN_MAX + 1];
	int sw;

	if (!d->confidential)
		return SW_SEC_STATUS;
	if (n > CARDOS_PIN_MAX)
		return SW_WRONG_DATA;
	memcpy(pin, v, n);
	pin[n] = 0;
	sw = card_str_ok(pin, sd->pin_min, sd->pin_max, sd->pin_set) ? 0 : SW_WRONG_DATA;
	OPENSSL_cleanse(pin, sizeof pin);
	if (sw || (sw = begin(d)))
		return sw;
	if ((sw = commit(d, jpki_put_ef(d->se->ctx->nvm, &d->j->app, sd->pin, v, n))) == 0)
		d->se->ctx->pin_restores++; /* value and counter set anew */
	return sw;
}

static int dgi_one(dgi_ctx_t *d, uint16_t tag, const uint8_t *v, size_t n)
{
	uint8_t s[2], op = (uint8_t)(tag >> 8), ss = (uint8_t)tag;
	int slot = ss - 1;

	slots_get(d->se, s);
	if (tag == 0x0600) {
		if (n)
			return SW_WRONG_DATA;
		return apdu_rsp_put(d->r, s, 2) == 0 ? 0 : SE_NOROOM;
	}
	if (ss != 1 && ss != 2)
		return SW_REF_NOT_FOUND;
	switch (op) {
	case 0x01: return dgi_generate(d, slot, v, n, s);
	case 0x02: return dgi_cert(d, slot, v, n, s);
	case 0x03: return dgi_ca(d, slot, v, n);
	case 0x04: return dgi_state(d, slot, v, n, s);
	case 0x05: return dgi_erase(d, slot, n, s);
	case 0x81: return dgi_pin(d, slot, v, n);
	}
	return SW_REF_NOT_FOUND;
}

/* Header of the DGI at p: 0 with tag/len/hdr, 1 if incomplete, or 6A80. */
static int dgi_header(const uint8_t *p, size_t n, uint16_t *tag, size_t *len, size_t *hdr)
{
	if (n < 3)
		return 1;
	*tag = (uint16_t)(p[0] << 8 | p[1]);
	if (p[2] != 0xFF) {
		*len = p[2];
		*hdr = 3;
	} else {
		if (n < 5)
			return 1;
		*len = (size_t)(p[3] << 8 | p[4]);
		*hdr = 5;
	}
	return *hdr + *len > DGI_MAX ? SW_WRONG_DATA : 0;
}

/* STORE DATA blocks append to pend; each complete DGI is processed in
 * order (each in its own NVM transaction), the incomplete tail waits for
 * the next block.  The last block must leave nothing behind. */
static int sj_store(sim_se_t *se, void *priv, gpreg_ent_t *e, const apdu_t *a, int confidential,
		    apdu_rsp_t *r)
{
	sejpki_t *j = priv;
	dgi_ctx_t d = { se, j, e, confidential, r };
	int last = (a->p1 & 0x80) != 0, sw = 0;
	size_t off = 0;

	if ((a->p1 & 0x18) != 0x08) /* b5b4 = 01: DGI format */
		sw = SW_WRONG_DATA;
	else if (a->p2 == 0)
		j->pend_len = 0;
	if (!sw && a->lc > DGI_MAX - j->pend_len)
		sw = SW_WRONG_DATA;
	if (!sw && a->lc) {	/* an empty block has no data pointer */
		memcpy(j->pend + j->pend_len, a->data, a->lc);
		j->pend_len += a->lc;
	}
	while (!sw) {
		uint16_t tag;
		size_t len, hdr;
		int h = dgi_header(j->pend + off, j->pend_len - off, &tag, &len, &hdr);

		if (h == 1 || (h == 0 && hdr + len > j->pend_len - off))
			break;
		if (h) {
			sw = h;
			break;
		}
		sw = dgi_one(&d, tag, j->pend + off + hdr, len);
		off += hdr + len;
	}
	if (!sw) {
		size_t old = j->pend_len;

		memmove(j->pend, j->pend + off, old - off);
		j->pend_len -= off;
		OPENSSL_cleanse(j->pend + j->pend_len, off); /* PINs pass through here */
		if (last && j->pend_len)
			sw = SW_WRONG_DATA;
	}
	if (sw || last) {
		OPENSSL_cleanse(j->pend, j->pend_len);
		j->pend_len = 0;
	}
	return sw ? sw : SW_OK;
}

/* ---- checking a loaded image ------------------------------------------ */

/* slot_next() and half_valid() know the five slot states only; PINs,
 * keys and files are checked as the card's (cardos). */
static const char *sj_check(const char *key, const uint8_t *v, size_t n)
{
	const jpki_opts_t o = { .auth_cert_pin = 1 };
	jpki_app_t app;

	if (strcmp(key, SLOTS_REC) == 0)
		return n == 2 && v[0] <= S_ERASED && v[1] <= S_ERASED ? NULL : "slot states not two bytes 00..04";
	jpki_app_init(&app, &o);
	app.def.ns = NS;
	return cardos_check(&app.def, key, v, n);
}

/* The oracle's view (se.h): the records as NVM holds them, whatever a
 * channel has selected or verified. */
void sim_se_view(const sim_se_t *se, se_view_t *v)
{
	const jpki_opts_t o = { .auth_cert_pin = 1 };
	jpki_app_t app;
	uint8_t s[2];

	memset(v, 0, sizeof *v);
	memcpy(v->idm, se->felica.idm, sizeof v->idm);
	v->has_cplc = se->has_cplc;
	memcpy(v->cplc, se->cplc, sizeof v->cplc);
	v->applet = instance((sim_se_t *)se) != NULL;
	if (v->applet)
		v->sd = instance((sim_se_t *)se)->sd;
	jpki_app_init(&app, &o);
	app.def.ns = NS;
	slots_get(se, s);
	for (int i = 0; i < 2; i++) {
		const cardos_ef_def_t *d = cardos_def_by_fid(&app.def, slot_defs[i].cert);
		char name[CARDOS_NAME_MAX];
		sim_pin_view_t pins[4];
		size_t np = cardos_pins(se->ctx->nvm, &app.def, pins, 4);

		v->slot[i].state = v->applet ? s[i] : S_EMPTY;
		if (v->applet && d && cardos_nvm_name(name, sizeof name, NS, d, 0) == 0)
			v->slot[i].cert = nvm_get(se->ctx->nvm, name, &v->slot[i].cert_len);
		v->slot[i].pin.fid = slot_defs[i].pin;
		v->slot[i].pin.tries = -1;
		for (size_t k = 0; v->applet && k < np; k++)
			if (pins[k].fid == slot_defs[i].pin)
				v->slot[i].pin = pins[k];
	}
}

#ifdef MYNAHIL_MUTANTS
void sejpki_mut_refill(sim_se_t *se)
{
	for (size_t i = 0; i < se_n_applets; i++)
		if (se_applets[i] == &sejpki_applet && ((sejpki_t *)se->applet_priv[i])->os_ready)
			cardos_mut_refill(&((sejpki_t *)se->applet_priv[i])->os);
}
#endif

const se_applet_t sejpki_applet = {
	.name = "jpki",
	.package = { 7, { 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00 } },
	.module = { 8, { 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x01 } },
	.version = { 0x01, 0x00 },
	.ns = NS "/",
	.check = sj_check,
	.init = sj_init,
	.free = sj_free,
	.sync = sj_sync,
	.install = sj_install,
	.deletable = sj_deletable,
	.remove = sj_remove,
	.select = sj_select,
	.process = sj_process,
	.store = sj_store,
};
