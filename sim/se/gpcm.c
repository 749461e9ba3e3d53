/* gpcm.c — the Issuer Security Domain: GlobalPlatform card management
 * commands (GPCS v2.3.1 ch. 11, GP-FELICA.md §3) over the registry, the
 * life cycle tables and SCP03 (sim/gp/scp03.h).
 *
 * Order of checks for every command: INS known (6D00) and class (6E00);
 * the card life cycle admits it (gplc, 6A81/6985); secure messaging
 * (scp03_card_unwrap: a bad MAC or an under-protected command aborts the
 * session and answers 6982); the minimum security level of Table 11-2
 * (AUTHENTICATED for everything but GET DATA: 6982); then the command.
 * The response goes back through scp03_card_wrap_rsp (R-MAC, R-ENC).
 *
 * Status words (GPCS Tables 11-10..; GP-FELICA.md §3.5): 6982 no secure
 * channel / bad MAC / bad KCV, 6300 wrong host cryptogram, 6985
 * conditions of use (life cycle, half-valid DELETE, exhausted counter,
 * command out of sequence), 6A88 referenced data not found (unknown AID,
 * KVN, tag), 6A80 bad data, 6A86 bad P1/P2, 6A84 memory, 6310 more
 * GET STATUS data. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../core/tlv.h"
#include "gplc.h"
#include "se_int.h"

#define ROOM 32 /* kept free for padding and R-MAC when wrapping */

typedef struct req {
	sim_se_t *se;
	se_chan_t *ch;
	const apdu_t *a;  /* plain */
	int confidential; /* the command came with C-DECRYPTION */
	apdu_rsp_t *r;
} req_t;

typedef int (*gpcm_fn)(req_t *q);

static int put(req_t *q, const void *p, size_t n)
{
	return apdu_rsp_put(q->r, p, n) == 0 ? 0 : SE_NOROOM;
}

static int put_byte(req_t *q, uint8_t b)
{
	return put(q, &b, 1);
}

static nvm_t *nv(req_t *q)
{
	return q->se->ctx->nvm;
}

static int nv_begin(req_t *q)
{
	int rc = nvm_begin(nv(q));
	return rc == NVM_OK ? 0 : se_nvm_fail(q->se, rc);
}

/* Commit (if rc is fine) and refresh the RAM registry either way. */
static int nv_commit(req_t *q, int rc)
{
	if (rc == NVM_OK)
		rc = nvm_commit(nv(q));
	if (rc != NVM_OK) {
		rc = se_nvm_fail(q->se, rc);
		if (rc != SE_TORN)
			se_reg_reload(q->se);
		return rc;
	}
	se_reg_reload(q->se);
	return 0;
}

/* One length-value field of INSTALL data. */
static int lv(const uint8_t **p, size_t *n, const uint8_t **v, size_t *len)
{
	if (*n < 1 || (size_t)(*p)[0] > *n - 1)
		return -1;
	*len = (*p)[0];
	*v = *p + 1;
	*p += 1 + *len;
	*n -= 1 + *len;
	return 0;
}

static int aid_ok(size_t n)
{
	return n >= 5 && n <= SE_AID_MAX;
}

static void aid_set(se_aid_t *a, const uint8_t *p, size_t n)
{
	a->len = (uint8_t)n;
	memcpy(a->b, p, n);
}

/* ---- INITIALIZE UPDATE / EXTERNAL AUTHENTICATE ---------------------- */

static int cmd_initialize_update(req_t *q)
{
	const apdu_t *a = q->a;
	se_keyset_t ks;
	scp03_keyset_t k;
	scp03_card_cfg_t cfg;
	uint8_t kvn = a->p1, rnd[SCP03_CHALLENGE_MAX], out[64], ctr[3];
	uint32_t seq = 0;
	size_t n;
	int rc;

	/* Any INITIALIZE UPDATE ends the session in progress (Amd D §5.6). */
	scp03_session_close(&q->ch->scp);
	if (a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if ((a->icase != 3 && a->icase != 4) || (a->lc != 8 && a->lc != 16))
		return SW_WRONG_LENGTH;
	if ((!kvn && gpkey_default_kvn(nv(q), &kvn) < 0) || gpkey_get(nv(q), kvn, &ks) < 0)
		return SW_REF_NOT_FOUND;
	if (q->se->scp_i & SCP03_I_PSEUDO_RANDOM) {
		/* Incremented first, persisted, then used (Amd D §6.2.2.1). */
		if (scp03_seq_next(ks.counter, &seq) < 0)
			return SW_CONDITIONS;
		ctr[0] = (uint8_t)(seq >> 16);
		ctr[1] = (uint8_t)(seq >> 8);
		ctr[2] = (uint8_t)seq;
		{
			/* One record, no registry change: no reload either. */
			char name[16];

			snprintf(name, sizeof name, "gp/ctr/%02X", kvn);
			if ((rc = nvm_begin(nv(q))) == NVM_OK && (rc = nvm_put(nv(q), name, ctr, 3)) == NVM_OK)
				rc = nvm_commit(nv(q));
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
	cfg.sd_aid = q->se->isd->aid.b;
	cfg.sd_aid_len = q->se->isd->aid.len;
	cfg.seq = seq;
	cfg.random = (q->se->scp_i & SCP03_I_PSEUDO_RANDOM) ? NULL : rnd;
	rc = scp03_card_init_update(&q->ch->scp, &cfg, a, out, sizeof out, &n);
	OPENSSL_cleanse(&k, sizeof k);
	OPENSSL_cleanse(&ks, sizeof ks);
	if (rc < 0)
		return scp03_err_sw(rc);
	return put(q, out, n) ? SE_NOROOM : SW_OK;
}

static int cmd_external_authenticate(req_t *q)
{
	int rc = scp03_card_ext_auth(&q->ch->scp, q->a);

	return rc < 0 ? scp03_err_sw(rc) : SW_OK;
}

/* ---- GET STATUS --------------------------------------------------------- */

static int matches(const sim_se_t *se, const gpreg_ent_t *e, uint8_t p1, const se_aid_t *crit)
{
	int kind;

	switch (p1) {
	case 0x80: kind = e == se->isd; break;
	case 0x40: kind = e != se->isd && (e->kind == SE_OBJ_APP || e->kind == SE_OBJ_SD); break;
	default: kind = e->kind == SE_OBJ_ELF; break;
	}
	/* The ISD is listed whatever the criteria (GPCS §11.4.2.1). */
	if (!kind || p1 == 0x80)
		return kind;
	return e->aid.len >= crit->len && memcmp(e->aid.b, crit->b, crit->len) == 0;
}

static int wanted(const se_chan_t *ch, uint16_t tag)
{
	if (!ch->gs_ntags)
		return 1;
	for (size_t i = 0; i < ch->gs_ntags; i++)
		if (ch->gs_tags[i] == tag)
			return 1;
	return 0;
}

typedef struct buf {
	uint8_t *p;
	size_t cap, len;
	int over;
} buf_t;

static void b_tlv(buf_t *b, const se_chan_t *ch, uint16_t tag, const void *v, size_t n)
{
	uint8_t hdr[8];
	size_t h;

	if (!wanted(ch, tag))
		return;
	h = tlv_put_hdr(hdr, tag, n);
	if (b->len + h + n > b->cap) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, hdr, h);
	memcpy(b->p + b->len + h, v, n);
	b->len += h + n;
}

static void b_raw(buf_t *b, const void *v, size_t n)
{
	if (b->len + n > b->cap) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

/* One entry, TLV format (GPCS Table 11-36; the field order of the cards
 * behind kaoh's GET STATUS vectors): E3 { 4F, 9F70, C5, C4, CE, 84..., CC,
 * extra }.  Returns its size, 0 if it does not fit in cap. */
static size_t entry_tlv(const se_chan_t *ch, const gpreg_ent_t *e, uint8_t p1, uint8_t *out, size_t cap)
{
	uint8_t in[512], lcs[2] = { e->lcs, 0x00 };
	buf_t b = { in, sizeof in, 0, 0 };
	size_t h;

	b_tlv(&b, ch, 0x4F, e->aid.b, e->aid.len);
	b_tlv(&b, ch, 0x9F70, lcs, e->lcs_len);
	if (e->kind != SE_OBJ_ELF)
		b_tlv(&b, ch, 0xC5, e->priv, 3);
	if (e->kind != SE_OBJ_ELF && e->elf.len)
		b_tlv(&b, ch, 0xC4, e->elf.b, e->elf.len);
	if (e->has_version)
		b_tlv(&b, ch, 0xCE, e->version, 2);
	if (e->kind == SE_OBJ_ELF && p1 == 0x10)
		for (size_t i = 0; i < e->n_modules; i++)
			b_tlv(&b, ch, 0x84, e->modules[i].b, e->modules[i].len);
	if (e->sd.len)
		b_tlv(&b, ch, 0xCC, e->sd.b, e->sd.len);
	if (!ch->gs_ntags)
		b_raw(&b, e->extra, e->extra_len);
	if (b.over)
		return 0;
	h = tlv_put_hdr(NULL, 0xE3, b.len);
	if (h + b.len > cap)
		return 0;
	tlv_put_hdr(out, 0xE3, b.len);
	memcpy(out + h, in, b.len);
	return h + b.len;
}

/* The deprecated format (P2 b2 = 0): AID length, AID, LCS, privileges (1
 * byte); load files with modules (P1 10) add their count and LV AIDs. */
static size_t entry_legacy(const gpreg_ent_t *e, uint8_t p1, uint8_t *out, size_t cap)
{
	uint8_t in[256];
	buf_t b = { in, sizeof in, 0, 0 };
	uint8_t hdr[3] = { e->aid.len, 0, 0 };

	b_raw(&b, hdr, 1);
	b_raw(&b, e->aid.b, e->aid.len);
	hdr[0] = e->lcs;
	hdr[1] = e->kind == SE_OBJ_ELF ? 0x00 : e->priv[0];
	b_raw(&b, hdr, 2);
	if (e->kind == SE_OBJ_ELF && p1 == 0x10) {
		hdr[0] = e->n_modules;
		b_raw(&b, hdr, 1);
		for (size_t i = 0; i < e->n_modules; i++) {
			b_raw(&b, &e->modules[i].len, 1);
			b_raw(&b, e->modules[i].b, e->modules[i].len);
		}
	}
	if (b.over || b.len > cap)
		return 0;
	memcpy(out, in, b.len);
	return b.len;
}

/* The most response data that still fits a short response once wrapped
 * at the session's level (R-MAC and R-ENC padding). */
static size_t status_limit(const se_chan_t *ch)
{
	size_t lim = 256, mac = ch->scp.s16 ? 16 : 8;

	if (ch->scp.state != SCP03_ST_OPEN)
		return lim;
	if (ch->scp.level & SCP03_LVL_RMAC)
		lim -= mac;
	if (ch->scp.level & SCP03_LVL_RENC)
		lim = lim / 16 * 16 - 1;
	return lim;
}

/* Data: 4F (all: length 0, else an AID prefix) and an optional 5C tag
 * list. */
static int status_criteria(req_t *q)
{
	const apdu_t *a = q->a;
	se_chan_t *ch = q->ch;
	tlv_t t;

	ch->gs_crit.len = 0;
	ch->gs_ntags = 0;
	if (a->lc < 2 || tlv_find(a->data, a->lc, 0x4F, &t) != 0 || t.len > SE_AID_MAX)
		return SW_WRONG_DATA;
	aid_set(&ch->gs_crit, t.val, t.len);
	if (tlv_find(a->data, a->lc, 0x5C, &t) == 0) {
		for (size_t i = 0; i < t.len; ch->gs_ntags++) {
			uint16_t tag = t.val[i++];

			if ((tag & 0x1F) == 0x1F) {
				if (i == t.len)
					return SW_WRONG_DATA;
				tag = (uint16_t)(tag << 8 | t.val[i++]);
			}
			if (ch->gs_ntags == sizeof ch->gs_tags / sizeof ch->gs_tags[0])
				return SW_WRONG_DATA;
			ch->gs_tags[ch->gs_ntags] = tag;
		}
	}
	return 0;
}

static int cmd_get_status(req_t *q)
{
	const apdu_t *a = q->a;
	se_chan_t *ch = q->ch;
	uint8_t out[512];
	size_t lim = status_limit(ch), len = 0, idx = 0, sent = 0, total = 0;
	int tlv = (a->p2 & 0x02) != 0, next = (a->p2 & 0x01) != 0, full = 0, sw;

	if (a->p1 != 0x80 && a->p1 != 0x40 && a->p1 != 0x20 && a->p1 != 0x10)
		return SW_WRONG_P1P2;
	if (a->p2 & 0xFC)
		return SW_WRONG_P1P2;
	if (next) {
		if (!ch->gs_on || ch->gs_p1 != a->p1 || (ch->gs_p2 & 0x02) != (a->p2 & 0x02))
			return SW_CONDITIONS;
	} else {
		ch->gs_on = 0;
		if ((sw = status_criteria(q)))
			return sw;
		ch->gs_next = 0;
		ch->gs_p1 = a->p1;
		ch->gs_p2 = a->p2;
	}
	if (lim > sizeof out)
		lim = sizeof out;
	for (size_t i = 0; i < q->se->reg.n; i++) {
		const gpreg_ent_t *e = &q->se->reg.e[i];
		size_t n;

		if (!matches(q->se, e, a->p1, &ch->gs_crit))
			continue;
		total++;
		if (idx++ < ch->gs_next || full)
			continue; /* sent before, or for the next command */
		n = tlv ? entry_tlv(ch, e, a->p1, out + len, lim - len)
			: entry_legacy(e, a->p1, out + len, lim - len);
		if (!n) {
			full = 1;
			continue;
		}
		len += n;
		sent++;
	}
	if (!total) {
		ch->gs_on = 0;
		return SW_REF_NOT_FOUND;
	}
	if (put(q, out, len))
		return SE_NOROOM;
	ch->gs_next += sent;
	if (ch->gs_next < total) {
		if (!sent)
			return SW_CONDITIONS; /* one entry larger than a response */
		ch->gs_on = 1;
		return 0x6310;
	}
	ch->gs_on = 0;
	return SW_OK;
}

/* ---- GET DATA -------------------------------------------------------------- */

size_t gpcm_recognition(const sim_se_t *se, uint8_t *out, size_t cap)
{
	/* Card Recognition Data (GPCS Table H-1): GP RID 1.2.840.114283,
	 * card management type GP 2.3.1, card identification scheme, SCP03
	 * with our i. */
	uint8_t b[] = {
		0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x01,
		0x60, 0x0C, 0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x02, 0x02, 0x03, 0x01,
		0x63, 0x09, 0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x03,
		0x64, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x04, 0x03, se->scp_i,
	};

	if (cap < sizeof b)
		return 0;
	memcpy(out, b, sizeof b);
	return sizeof b;
}

static int data_tlv(req_t *q, uint16_t tag, const void *v, size_t n)
{
	uint8_t hdr[8];
	size_t h = tlv_put_hdr(hdr, tag, n);

	if (put(q, hdr, h) || put(q, v, n))
		return SE_NOROOM;
	return SW_OK;
}

typedef struct kit {
	uint8_t *p;
	size_t len;
} kit_t;

static void kit_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	kit_t *k = arg;

	(void)key;
	if (len < 2 || k->len + 18 > 256)
		return;
	for (uint8_t kid = 1; kid <= 3; kid++) {
		uint8_t *o = k->p + k->len;
		o[0] = 0xC0;
		o[1] = 0x04;
		o[2] = kid;
		o[3] = val[0];
		o[4] = 0x88; /* AES */
		o[5] = val[1];
		k->len += 6;
	}
}

static int cmd_get_data(req_t *q)
{
	const apdu_t *a = q->a;
	uint16_t tag = (uint16_t)(a->p1 << 8 | a->p2);
	const uint8_t *v;
	size_t n;

	if (a->icase != 1 && a->icase != 2)
		return SW_WRONG_LENGTH;
	switch (tag) {
	case 0x0042:
	case 0x0045:
		if (!(v = nvm_get(nv(q), tag == 0x42 ? "gp/data/42" : "gp/data/45", &n)) || !n)
			return SW_REF_NOT_FOUND;
		return data_tlv(q, tag, v, n);
	case 0x0066: {
		uint8_t rec[64], t73[72];
		size_t rn = gpcm_recognition(q->se, rec, sizeof rec);
		size_t tn = tlv_put(t73, sizeof t73, 0x73, rec, rn);

		return data_tlv(q, 0x66, t73, tn);
	}
	case 0x00E0: {
		uint8_t kt[256];
		kit_t k = { kt, 0 };

		nvm_each(nv(q), "gp/key/", kit_one, &k);
		return data_tlv(q, 0xE0, kt, k.len);
	}
	case 0x00C1: {
		se_keyset_t ks;
		uint8_t kvn, c[3];

		if (gpkey_default_kvn(nv(q), &kvn) < 0 || gpkey_get(nv(q), kvn, &ks) < 0)
			return SW_REF_NOT_FOUND;
		c[0] = (uint8_t)(ks.counter >> 16);
		c[1] = (uint8_t)(ks.counter >> 8);
		c[2] = (uint8_t)ks.counter;
		OPENSSL_cleanse(&ks, sizeof ks);
		return data_tlv(q, 0xC1, c, 3);
	}
	case 0x00CF:
		return data_tlv(q, 0xCF, q->se->kdd, sizeof q->se->kdd);
	case 0x9F7F:
		if (!q->se->has_cplc)
			return SW_REF_NOT_FOUND;
		return data_tlv(q, 0x9F7F, q->se->cplc, sizeof q->se->cplc);
	}
	return SW_REF_NOT_FOUND;
}

/* ---- INSTALL / LOAD ------------------------------------------------------ */

static void load_reset(sim_se_t *se)
{
	se->load.active = 0;
	se->load.len = 0;
}

static int install_for_load(req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *elf, *sd, *hash, *params, *token;
	size_t elf_n, sd_n, hash_n, params_n, token_n;
	se_load_t *l = &q->se->load;

	if (lv(&p, &n, &elf, &elf_n) || lv(&p, &n, &sd, &sd_n) || lv(&p, &n, &hash, &hash_n) ||
	    lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) || n)
		return SW_WRONG_DATA;
	if (!aid_ok(elf_n) || (sd_n && !aid_ok(sd_n)))
		return SW_WRONG_DATA;
	if (hash_n != 0 && hash_n != 20 && hash_n != 32 && hash_n != 48 && hash_n != 64)
		return SW_WRONG_DATA;
	if (gpreg_find(&q->se->reg, elf, elf_n))
		return SW_WRONG_DATA; /* the load file is already there */
	if (q->se->reg.n >= GPREG_MAX)
		return 0x6A84; /* the registry is full */
	if (sd_n && !gpreg_aid_eq(&q->se->isd->aid, sd, sd_n))
		return SW_REF_NOT_FOUND; /* the ISD is the only SD */
	load_reset(q->se);
	l->active = 1;
	l->chan = (uint8_t)(q->ch - q->se->ch);
	aid_set(&l->elf, elf, elf_n);
	l->sd = q->se->isd->aid;
	memcpy(l->hash, hash, hash_n);
	l->hash_len = hash_n;
	l->next_block = 0;
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

static const EVP_MD *hash_md(size_t n)
{
	switch (n) {
	case 20: return EVP_sha1();
	case 32: return EVP_sha256();
	case 48: return EVP_sha384();
	case 64: return EVP_sha512();
	}
	return NULL;
}

/* The Load File: optional E2 DAP blocks, then C4 (the Load File Data
 * Block); a ciphered LFDB (D4) needs a privilege the ISD does not grant.
 * Returns 0 with the LFDB, or 6A80. */
static int load_file_parse(const uint8_t *p, size_t n, const uint8_t **lfdb, size_t *lfdb_n)
{
	tlv_t t;
	long k;

	while (n) {
		if ((k = tlv_parse(p, n, &t)) <= 0)
			return SW_WRONG_DATA;
		if (t.tag == 0xC4 && (size_t)k == n) {
			*lfdb = t.val;
			*lfdb_n = t.len;
			return 0;
		}
		if (t.tag != 0xE2)
			return SW_WRONG_DATA;
		p += k;
		n -= (size_t)k;
	}
	return SW_WRONG_DATA;
}

/* The code of a package is in ROM (se_applets): a LOAD registers the load
 * file with the modules and version of the ROM package of the same AID;
 * an unknown package is registered with no module, so nothing can be
 * installed from it. */
static int load_finish(req_t *q)
{
	se_load_t *l = &q->se->load;
	const se_applet_t *ap = se_applet_for_package(l->elf.b, l->elf.len);
	const uint8_t *lfdb;
	size_t lfdb_n;
	gpreg_ent_t e;
	int sw;

	if ((sw = load_file_parse(l->buf, l->len, &lfdb, &lfdb_n)))
		return sw;
	if (l->hash_len) {
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdn = 0;

		if (EVP_Digest(lfdb, lfdb_n, md, &mdn, hash_md(l->hash_len), NULL) != 1 ||
		    mdn != l->hash_len || memcmp(md, l->hash, mdn))
			return SW_WRONG_DATA;
	}
	memset(&e, 0, sizeof e);
	e.seq = gpreg_next_seq(&q->se->reg);
	e.kind = SE_OBJ_ELF;
	e.aid = l->elf;
	e.lcs = GPLC_ELF_LOADED;
	e.sd = l->sd;
	e.lcs_len = 1;
	if (ap) {
		e.has_version = 1;
		memcpy(e.version, ap->version, 2);
		e.modules[0] = ap->module;
		e.n_modules = 1;
	}
	if ((sw = nv_begin(q)))
		return sw;
	return nv_commit(q, gpreg_put(nv(q), &e));
}

static int cmd_load(req_t *q)
{
	const apdu_t *a = q->a;
	se_load_t *l = &q->se->load;
	int sw;

	if (!l->active || l->chan != (uint8_t)(q->ch - q->se->ch))
		return SW_CONDITIONS;
	if ((a->p1 != 0x00 && a->p1 != 0x80) || a->p2 != l->next_block) {
		load_reset(q->se);
		return SW_WRONG_P1P2;
	}
	if (a->lc > SE_LOAD_MAX - l->len) {
		load_reset(q->se);
		return 0x6A84;
	}
	memcpy(l->buf + l->len, a->data, a->lc);
	l->len += a->lc;
	l->next_block++;
	if (a->p1 == 0x00)
		return SW_OK;
	sw = load_finish(q);
	load_reset(q->se);
	if (sw)
		return sw;
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* C9 (application specific parameters) is mandatory in the install
 * parameters (GPCS §11.5.2.3.7); its value goes to the applet. */
static int install_params(const uint8_t *p, size_t n, const uint8_t **c9, size_t *c9_n)
{
	tlv_t t;

	if (tlv_find(p, n, 0xC9, &t) != 0)
		return SW_WRONG_DATA;
	*c9 = t.val;
	*c9_n = t.len;
	return 0;
}

static int install_for_install(req_t *q, const uint8_t *p, size_t n, int selectable)
{
	const uint8_t *elf, *mod, *app, *priv, *params, *token, *c9;
	size_t elf_n, mod_n, app_n, priv_n, params_n, token_n, c9_n;
	const gpreg_ent_t *le;
	const se_applet_t *ap;
	gpreg_ent_t e;
	int sw;

	if (lv(&p, &n, &elf, &elf_n) || lv(&p, &n, &mod, &mod_n) || lv(&p, &n, &app, &app_n) ||
	    lv(&p, &n, &priv, &priv_n) || lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) || n)
		return SW_WRONG_DATA;
	if (!aid_ok(elf_n) || !aid_ok(mod_n) || !aid_ok(app_n) || (priv_n != 1 && priv_n != 3))
		return SW_WRONG_DATA;
	if ((sw = install_params(params, params_n, &c9, &c9_n)))
		return sw;
	if (!(le = gpreg_find(&q->se->reg, elf, elf_n)) || le->kind != SE_OBJ_ELF ||
	    !gpreg_has_module(le, mod, mod_n))
		return SW_REF_NOT_FOUND;
	if (gpreg_find(&q->se->reg, app, app_n))
		return SW_WRONG_DATA; /* the AID is taken */
	if (priv[0] & GPREG_PRIV_SD)
		return SW_WRONG_DATA; /* no supplementary security domains on this SE */
	if (q->se->reg.n >= GPREG_MAX)
		return 0x6A84; /* the registry is full */
	if (!(ap = se_applet_for_package(elf, elf_n)) || !gpreg_aid_eq(&ap->module, mod, mod_n))
		return SW_REF_NOT_FOUND;
	memset(&e, 0, sizeof e);
	e.seq = gpreg_next_seq(&q->se->reg);
	e.kind = SE_OBJ_APP;
	aid_set(&e.aid, app, app_n);
	e.lcs = GPLC_APP_INSTALLED;
	if (selectable) {
		if ((sw = gplc_check(GPLC_APP, e.lcs, GPLC_APP_SELECTABLE, GPLC_BY_INSTALL)))
			return sw;
		e.lcs = GPLC_APP_SELECTABLE;
	}
	memcpy(e.priv, priv, priv_n);
	e.elf = le->aid;
	aid_set(&e.module, mod, mod_n);
	e.sd = q->se->isd->aid;
	e.has_version = le->has_version;
	memcpy(e.version, le->version, 2);
	e.lcs_len = 1;
	for (size_t i = 0; i < se_n_applets; i++)
		if (se_applets[i] == ap)
			e.applet = (uint8_t)(i + 1);
	if ((sw = nv_begin(q)))
		return sw;
	if ((sw = gpreg_put(nv(q), &e)) != NVM_OK)
		return nv_commit(q, sw);
	sw = ap->install(q->se, q->se->applet_priv[e.applet - 1], &e, c9, c9_n);
	if (sw == SE_TORN)
		return sw;
	if (sw) {
		nvm_abort(nv(q));
		se_reg_reload(q->se);
		return sw;
	}
	if ((sw = nv_commit(q, NVM_OK)))
		return sw;
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

static gpreg_ent_t *app_by_aid(req_t *q, const uint8_t *aid, size_t n)
{
	gpreg_ent_t *e = gpreg_find(&q->se->reg, aid, n);

	return e && e->kind == SE_OBJ_APP ? e : NULL;
}

static int install_make_selectable(req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *x, *app, *priv, *params, *token;
	size_t x1, x2, app_n, priv_n, params_n, token_n;
	gpreg_ent_t *e, c;
	int sw;

	if (lv(&p, &n, &x, &x1) || lv(&p, &n, &x, &x2) || lv(&p, &n, &app, &app_n) ||
	    lv(&p, &n, &priv, &priv_n) || lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) ||
	    n || x1 || x2)
		return SW_WRONG_DATA;
	if (priv_n != 0 && priv_n != 1 && priv_n != 3)
		return SW_WRONG_DATA;
	if (!(e = app_by_aid(q, app, app_n)))
		return SW_REF_NOT_FOUND;
	if ((sw = gplc_check(GPLC_APP, e->lcs, GPLC_APP_SELECTABLE, GPLC_BY_INSTALL)))
		return sw;
	c = *e;
	c.lcs = GPLC_APP_SELECTABLE;
	if (priv_n) {
		memset(c.priv, 0, 3);
		memcpy(c.priv, priv, priv_n);
	}
	if ((sw = nv_begin(q)) || (sw = nv_commit(q, gpreg_put(nv(q), &c))))
		return sw;
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* Later STORE DATA commands on this channel go to the application
 * (GPCS §11.5.2.3.5), until the last block. */
static int install_for_perso(req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *x, *app;
	size_t x1, x2, app_n, x3, x4, x5;
	gpreg_ent_t *e;

	if (lv(&p, &n, &x, &x1) || lv(&p, &n, &x, &x2) || lv(&p, &n, &app, &app_n) ||
	    lv(&p, &n, &x, &x3) || lv(&p, &n, &x, &x4) || lv(&p, &n, &x, &x5) || n)
		return SW_WRONG_DATA;
	if (!(e = app_by_aid(q, app, app_n)) || !e->applet || !se_applets[e->applet - 1]->store)
		return SW_REF_NOT_FOUND;
	if (gplc_is_locked(GPLC_APP, e->lcs))
		return SW_CONDITIONS;
	q->ch->perso = 1;
	q->ch->perso_seq = e->seq;
	q->ch->store_next = 0;
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

static int cmd_install(req_t *q)
{
	const apdu_t *a = q->a;
	uint8_t p1 = a->p1 & 0x7F; /* b8: more INSTALL commands follow */

	if (a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (a->icase < 3)
		return SW_WRONG_LENGTH;
	switch (p1) {
	case 0x02: return install_for_load(q, a->data, a->lc);
	case 0x04: return install_for_install(q, a->data, a->lc, 0);
	case 0x0C: return install_for_install(q, a->data, a->lc, 1);
	case 0x08: return install_make_selectable(q, a->data, a->lc);
	case 0x20: return install_for_perso(q, a->data, a->lc);
	}
	return SW_WRONG_P1P2; /* extradition, registry update, combined load */
}

/* ---- DELETE ------------------------------------------------------------------ */

static void count_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	++*(int *)arg;
}

static int delete_keys(req_t *q, const uint8_t *p, size_t n)
{
	tlv_t t;
	uint8_t kvn, def;
	char name[16];
	int sw, rc;

	if (tlv_find(p, n, 0xD0, &t) == 0)
		return SW_WRONG_DATA; /* single keys of an SCP03 set: not offered */
	if (tlv_find(p, n, 0xD2, &t) != 0 || t.len != 1)
		return SW_WRONG_DATA;
	kvn = t.val[0];
	snprintf(name, sizeof name, "gp/key/%02X", kvn);
	if (!nvm_get(nv(q), name, &(size_t){ 0 }))
		return SW_REF_NOT_FOUND;
	if (q->ch->scp.kvn == kvn || gpkey_default_kvn(nv(q), &def) < 0)
		return SW_CONDITIONS; /* the set in use */
	/* Never the last key set: the ISD would be unreachable. */
	{
		int count = 0;

		nvm_each(nv(q), "gp/key/", count_one, &count);
		if (count < 2)
			return SW_CONDITIONS;
	}
	if ((sw = nv_begin(q)))
		return sw;
	rc = nvm_del(nv(q), name);
	snprintf(name, sizeof name, "gp/ctr/%02X", kvn);
	if (rc == NVM_OK && nvm_get(nv(q), name, &(size_t){ 0 }))
		rc = nvm_del(nv(q), name);
	if ((sw = nv_commit(q, rc)))
		return sw;
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* Remove one application inside the open transaction. */
static int remove_app(req_t *q, const gpreg_ent_t *e)
{
	int rc;

	if (e->applet) {
		const se_applet_t *ap = se_applets[e->applet - 1];

		if ((rc = ap->remove(q->se, q->se->applet_priv[e->applet - 1], e)))
			return rc;
	}
	rc = gpreg_del(nv(q), e);
	return rc == NVM_OK ? 0 : se_nvm_fail(q->se, rc);
}

static int deletable(req_t *q, const gpreg_ent_t *e)
{
	if (!e->applet)
		return 0;
	return se_applets[e->applet - 1]->deletable(q->se, q->se->applet_priv[e->applet - 1], e);
}

/* P2 00: the object (a load file only without instances); P2 80: the
 * object and its related objects (a load file and every application
 * installed from it).  The ISD cannot be deleted.  All in one
 * transaction; the response is 00. */
static int cmd_delete(req_t *q)
{
	const apdu_t *a = q->a;
	gpreg_ent_t victims[GPREG_MAX], *e;
	size_t nv_ = 0;
	tlv_t t;
	int sw;

	if ((a->p1 & 0x7F) != 0 || (a->p2 != 0x00 && a->p2 != 0x80))
		return SW_WRONG_P1P2;
	if (a->icase < 3)
		return SW_WRONG_LENGTH;
	if (tlv_find(a->data, a->lc, 0x4F, &t) != 0)
		return delete_keys(q, a->data, a->lc);
	if (!(e = gpreg_find(&q->se->reg, t.val, t.len)))
		return SW_REF_NOT_FOUND;
	if (e == q->se->isd)
		return SW_CONDITIONS;
	if (e->kind == SE_OBJ_ELF) {
		for (size_t i = 0; i < q->se->reg.n; i++) {
			const gpreg_ent_t *x = &q->se->reg.e[i];

			if (x->kind == SE_OBJ_ELF || !gpreg_aid_eq(&x->elf, e->aid.b, e->aid.len))
				continue;
			if (a->p2 != 0x80)
				return SW_CONDITIONS; /* instances remain */
			victims[nv_++] = *x;
		}
	}
	victims[nv_++] = *e;
	for (size_t i = 0; i < nv_; i++)
		if ((sw = deletable(q, &victims[i])))
			return sw;
	if ((sw = nv_begin(q)))
		return sw;
	for (size_t i = 0; i < nv_; i++) {
		if ((sw = remove_app(q, &victims[i]))) {
			if (sw != SE_TORN)
				se_reg_reload(q->se);
			return sw;
		}
	}
	if ((sw = nv_commit(q, NVM_OK)))
		return sw;
	for (size_t i = 0; i < nv_; i++)
		se_deselect_seq(q->se, victims[i].seq);
	return put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* ---- SET STATUS ---------------------------------------------------------------- */

static int cmd_set_status(req_t *q)
{
	const apdu_t *a = q->a;
	gpreg_ent_t *e, c;
	enum gplc_machine m;
	uint8_t to;
	int sw;

	switch (a->p1) {
	case 0x80: /* the card, through the ISD; data ignored */
		e = q->se->isd;
		m = GPLC_CARD;
		to = a->p2;
		if (!strcmp(gplc_name(m, to), "?"))
			return SW_WRONG_DATA;
		break;
	case 0x40:
		if (q->se->isd->lcs == SE_CARD_LOCKED)
			return SW_CONDITIONS;
		if (a->icase < 3 || !(e = gpreg_find(&q->se->reg, a->data, a->lc)) || e->kind == SE_OBJ_ELF)
			return a->icase < 3 ? SW_WRONG_LENGTH : SW_REF_NOT_FOUND;
		if (e == q->se->isd)
			return SW_CONDITIONS; /* the ISD's state is the card's: P1 80 */
		m = e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP;
		/* For another application only b8 counts: lock, or back to the
		 * state before the lock (GP-FELICA.md §3.3). */
		if (a->p2 & GPLC_LOCK_BIT)
			to = e->lcs | GPLC_LOCK_BIT;
		else if (gplc_is_locked(m, e->lcs))
			to = e->lcs & 0x7F;
		else if (m == GPLC_SD)
			to = a->p2;
		else
			return SW_CONDITIONS; /* not locked: nothing to unlock */
		break;
	default:
		return SW_WRONG_P1P2; /* 60: SD and its applications, not offered */
	}
	if ((sw = gplc_check(m, e->lcs, to, GPLC_BY_STATUS)))
		return sw;
	c = *e;
	c.lcs = to;
	if ((sw = nv_begin(q)))
		return sw;
	if ((sw = nv_commit(q, gpreg_put(nv(q), &c))))
		return sw;
	return SW_OK;
}

/* ---- PUT KEY ------------------------------------------------------------------ */

/* AES key data (Amd D Table 7-10): 88 ‖ Lk ‖ key length ‖ key under the
 * static DEK ‖ 03 ‖ KCV.  Returns the block size, or a status word as a
 * negative number. */
static long key_block(req_t *q, const uint8_t *p, size_t n, uint8_t *key, size_t *key_len,
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

static int cmd_put_key(req_t *q)
{
	const apdu_t *a = q->a;
	uint8_t old = a->p1 & 0x7F, first = a->p2 & 0x7F, kcvs[3][3], new_kvn;
	int multi = (a->p2 & 0x80) != 0, sw = 0;
	uint8_t keys[3][SE_KEY_MAX];
	size_t lens[3] = { 0 }, nkeys = 0, off = 1;
	se_keyset_t ks;
	char name[16];

	if (first < 1 || first > 3)
		return SW_WRONG_P1P2;
	if (a->icase < 3 || a->lc < 1)
		return SW_WRONG_LENGTH;
	new_kvn = a->data[0];
	if (new_kvn == 0 || new_kvn > 0x7F)
		return SW_WRONG_DATA;
	while (off < a->lc && nkeys < 3 && first + nkeys <= 3 && (multi || nkeys == 0)) {
		long k = key_block(q, a->data + off, a->lc - off, keys[nkeys], &lens[nkeys], kcvs[nkeys]);

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
		if (first != 1 || nkeys != 3 || gpkey_get(nv(q), new_kvn, &ks) == 0) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		memset(&ks, 0, sizeof ks);
	} else {
		if (gpkey_get(nv(q), old, &ks) < 0) {
			sw = SW_REF_NOT_FOUND;
			goto out;
		}
		if (nkeys < 3 && (new_kvn != old || lens[0] != ks.key_len)) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		if (new_kvn != old && gpkey_get(nv(q), new_kvn, &(se_keyset_t){ 0 }) == 0) {
			sw = SW_WRONG_DATA;
			goto out;
		}
	}
	ks.kvn = new_kvn;
	ks.key_len = (uint8_t)lens[0];
	for (size_t i = 0; i < nkeys; i++) {
		uint8_t *dst = first + i == 1 ? ks.enc : first + i == 2 ? ks.mac : ks.dek;
		memcpy(dst, keys[i], lens[i]);
	}
	if (nkeys == 3)
		ks.counter = 0; /* a whole set replaced: counter reset (Amd D §6.2.2.1) */
	if ((sw = nv_begin(q)))
		goto out;
	{
		int rc = NVM_OK;

		if (old && old != new_kvn) {
			snprintf(name, sizeof name, "gp/key/%02X", old);
			rc = nvm_del(nv(q), name);
			snprintf(name, sizeof name, "gp/ctr/%02X", old);
			if (rc == NVM_OK && nvm_get(nv(q), name, &(size_t){ 0 }))
				rc = nvm_del(nv(q), name);
		}
		if (rc == NVM_OK)
			rc = gpkey_put(nv(q), &ks);
		if ((sw = nv_commit(q, rc)))
			goto out;
	}
	if ((sw = put_byte(q, new_kvn)))
		goto out;
	for (size_t i = 0; i < nkeys; i++)
		if ((sw = put(q, kcvs[i], 3)))
			goto out;
	sw = SW_OK;
out:
	OPENSSL_cleanse(keys, sizeof keys);
	OPENSSL_cleanse(&ks, sizeof ks);
	return sw;
}

/* ---- STORE DATA ------------------------------------------------------------------ */

/* The ISD's own data (BER-TLV, P1 b5b4 = 10): IIN 42 and CIN 45. */
static int store_isd(req_t *q)
{
	const apdu_t *a = q->a;
	const uint8_t *p = a->data;
	size_t n = a->lc;
	int sw, rc = NVM_OK;

	if ((a->p1 & 0x18) != 0x10)
		return SW_WRONG_DATA;
	while (n) {
		tlv_t t;
		long k = tlv_parse(p, n, &t);

		if (k <= 0)
			return SW_WRONG_DATA;
		if (t.tag != 0x42 && t.tag != 0x45)
			return SW_REF_NOT_FOUND;
		p += k;
		n -= (size_t)k;
	}
	if ((sw = nv_begin(q)))
		return sw;
	p = a->data;
	n = a->lc;
	while (n && rc == NVM_OK) {
		tlv_t t;
		long k = tlv_parse(p, n, &t);

		rc = nvm_put(nv(q), t.tag == 0x42 ? "gp/data/42" : "gp/data/45", t.val, t.len);
		p += k;
		n -= (size_t)k;
	}
	if ((sw = nv_commit(q, rc)))
		return sw;
	return SW_OK;
}

static int cmd_store_data(req_t *q)
{
	const apdu_t *a = q->a;
	se_chan_t *ch = q->ch;
	gpreg_ent_t *e;
	int sw;

	if (a->icase < 3)
		return SW_WRONG_LENGTH;
	if (a->p2 != (uint8_t)ch->store_next) {
		ch->store_next = 0;
		ch->perso = 0;
		return SW_WRONG_P1P2;
	}
	if (!ch->perso) {
		sw = store_isd(q);
		ch->store_next = sw == SW_OK && !(a->p1 & 0x80) ? ch->store_next + 1 : 0;
		return sw;
	}
	if (!(e = gpreg_by_seq(&q->se->reg, ch->perso_seq)) || !e->applet) {
		ch->perso = 0;
		return SW_REF_NOT_FOUND;
	}
	if (gplc_is_locked(GPLC_APP, e->lcs)) {
		ch->perso = 0;
		return SW_CONDITIONS;
	}
	sw = se_applets[e->applet - 1]->store(q->se, q->se->applet_priv[e->applet - 1], e, a,
					      q->confidential, q->r);
	if (sw == SE_TORN || sw == SE_NOROOM)
		return sw;
	if (sw != SW_OK || (a->p1 & 0x80)) {
		ch->perso = 0; /* the personalisation ends with its last block */
		ch->store_next = 0;
	} else {
		ch->store_next++;
	}
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
	{ 0xCA, 0, 1, GPLC_CMD_DATA, cmd_get_data }, /* GPPro retries CPLC with CLA 00 */
	{ 0xE2, 1, 0, GPLC_CMD_CONTENT, cmd_store_data },
	{ 0xE4, 1, 0, GPLC_CMD_CONTENT, cmd_delete },
	{ 0xE6, 1, 0, GPLC_CMD_CONTENT, cmd_install },
	{ 0xE8, 1, 0, GPLC_CMD_CONTENT, cmd_load },
	{ 0xD8, 1, 0, GPLC_CMD_CONTENT, cmd_put_key },
	{ 0xF0, 1, 0, GPLC_CMD_SET_STATUS, cmd_set_status },
	{ 0xF2, 1, 0, GPLC_CMD_READ, cmd_get_status },
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
	req_t q;
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
	q = (req_t){ se, ch, &in, 0, &body };
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
