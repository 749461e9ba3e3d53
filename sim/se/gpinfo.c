/* gpinfo.c — what the ISD tells and keeps about the card (GPCS §11.4,
 * §11.3, §11.10, §11.11): GET STATUS, GET DATA, SET STATUS and STORE DATA
 * (its own data, or forwarded to an application after INSTALL [for
 * personalization]).  The dispatch, its checks and the status words are
 * in gpcm.c. */
#include <string.h>

#include <openssl/crypto.h>

#include "../core/tlv.h"
#include "gplc.h"
#include "se_int.h"

/* ---- GET STATUS --------------------------------------------------------- */

static int matches(const sim_se_t *se, const gpreg_ent_t *sd, const gpreg_ent_t *e, uint8_t p1,
		   const se_aid_t *crit)
{
	int kind;

	/* Through an SSD: itself and what is associated with it (GPCS
	 * §6.3.4; Global Registry is the ISD's). */
	if (sd != se->isd && e != sd && !gpreg_aid_eq(&e->sd, sd->aid.b, sd->aid.len))
		return 0;
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
static int status_criteria(gpcm_req_t *q)
{
	const apdu_t *a = q->a;
	se_chan_t *ch = q->ch;
	tlv_t t;

	ch->gs_crit.len = 0;
	ch->gs_ntags = 0;
	if (a->lc < 2 || tlv_find(a->data, a->lc, 0x4F, &t) != 0 || t.len > SE_AID_MAX)
		return SW_WRONG_DATA;
	gpcm_aid_set(&ch->gs_crit, t.val, t.len);
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

int gpcm_get_status(gpcm_req_t *q)
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

		if (!matches(q->se, q->sd, e, a->p1, &ch->gs_crit))
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
	if (gpcm_put(q, out, len))
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

static int data_tlv(gpcm_req_t *q, uint16_t tag, const void *v, size_t n)
{
	uint8_t hdr[8];
	size_t h = tlv_put_hdr(hdr, tag, n);

	if (gpcm_put(q, hdr, h) || gpcm_put(q, v, n))
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

		if (len == 3 + 3 * (size_t)val[1] && (val[len - 1] & (1u << (kid - 1))))
			continue; /* deleted by DELETE [key] */
		o[0] = 0xC0;
		o[1] = 0x04;
		o[2] = kid;
		o[3] = val[0];
		o[4] = 0x88; /* AES */
		o[5] = val[1];
		k->len += 6;
	}
}

int gpcm_get_data(gpcm_req_t *q)
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
		if (!(v = nvm_get(gpcm_nv(q), tag == 0x42 ? "gp/data/42" : "gp/data/45", &n)) || !n)
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

		char prefix[GPKEY_NAME];

		gpkey_prefix(prefix, q->sd->seq, "key");
		nvm_each(gpcm_nv(q), prefix, kit_one, &k);
		return data_tlv(q, 0xE0, kt, k.len);
	}
	case 0x00C1: {
		se_keyset_t ks;
		uint8_t kvn, c[3];

		if (gpkey_default_kvn(gpcm_nv(q), q->sd->seq, &kvn) < 0 || gpkey_get(gpcm_nv(q), q->sd->seq, kvn, &ks) < 0)
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

/* ---- SET STATUS ---------------------------------------------------------------- */

/* The state e goes to at P2 for an application or SD: for applications
 * only b8 counts (lock, or back to the state before the lock,
 * docs/se.md#life-cycles); an SD may also go to PERSONALIZED.  0 and *to,
 * or the status word. */
static int status_target(const gpreg_ent_t *e, uint8_t p2, uint8_t *to)
{
	enum gplc_machine m = e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP;

	if (p2 & GPLC_LOCK_BIT)
		*to = e->lcs | GPLC_LOCK_BIT;
	else if (gplc_is_locked(m, e->lcs))
		*to = e->lcs & 0x7F;
	else if (m == GPLC_SD)
		*to = p2;
	else
		return SW_CONDITIONS; /* not locked: nothing to unlock */
	return gplc_check(m, e->lcs, *to, GPLC_BY_STATUS);
}

/* P1 60 (GPCS §11.10.2.1): the SD named and every application associated
 * with it locked, or unlocked, in one transaction.  P2 b8 set: lock
 * (those already locked stay so); clear: unlock (those not locked stay
 * as they are). */
static int set_status_sd_apps(gpcm_req_t *q)
{
	const apdu_t *a = q->a;
	gpreg_ent_t *sd, c;
	se_aid_t aid;
	int lock = (a->p2 & GPLC_LOCK_BIT) != 0, sw, rc = NVM_OK;

	if (a->icase < 3 || a->lc < 5 || a->lc > SE_AID_MAX)
		return a->icase < 3 ? SW_WRONG_LENGTH : SW_WRONG_DATA;
	gpcm_aid_set(&aid, a->data, a->lc);
	if (!(sd = gpsd_find(q->se, &aid)) || !gpsd_owns(q, sd))
		return SW_REF_NOT_FOUND;
	if (sd == q->se->isd)
		return SW_CONDITIONS; /* the ISD's state is the card's: P1 80 */
	if (lock == gplc_is_locked(GPLC_SD, sd->lcs))
		return SW_CONDITIONS;
	if ((sw = status_target(sd, a->p2 & GPLC_LOCK_BIT, &(uint8_t){ 0 })))
		return sw;
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	for (size_t i = 0; i < q->se->reg.n && rc == NVM_OK; i++) {
		gpreg_ent_t *e = &q->se->reg.e[i];
		enum gplc_machine m = e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP;

		if (e != sd && (e->kind == SE_OBJ_ELF || !gpreg_aid_eq(&e->sd, sd->aid.b, sd->aid.len)))
			continue;
		if (lock == gplc_is_locked(m, e->lcs))
			continue;
		c = *e;
		if (status_target(e, a->p2 & GPLC_LOCK_BIT, &c.lcs))
			continue; /* no such transition for this one: it stays */
		rc = gpreg_put(gpcm_nv(q), &c);
	}
	if ((sw = gpcm_nv_commit(q, rc)))
		return sw;
	return SW_OK;
}

int gpcm_set_status(gpcm_req_t *q)
{
	const apdu_t *a = q->a;
	gpreg_ent_t *e, c;
	enum gplc_machine m;
	uint8_t to;
	int sw;

	switch (a->p1) {
	case 0x80: /* the card, through the ISD; data ignored */
		if (q->sd != q->se->isd)
			return SW_SEC_STATUS;
		e = q->se->isd;
		m = GPLC_CARD;
		to = a->p2;
		if (!strcmp(gplc_name(m, to), "?"))
			return SW_WRONG_DATA;
		break;
	case 0x40:
		if (q->se->isd->lcs == SE_CARD_LOCKED)
			return SW_CONDITIONS;
		if (a->icase < 3 || !(e = gpreg_find(&q->se->reg, a->data, a->lc)) || e->kind == SE_OBJ_ELF ||
		    !gpsd_owns(q, e))
			return a->icase < 3 ? SW_WRONG_LENGTH : SW_REF_NOT_FOUND;
		if (e == q->se->isd)
			return SW_CONDITIONS; /* the ISD's state is the card's: P1 80 */
		m = e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP;
		if ((sw = status_target(e, a->p2, &to)))
			return sw;
		break;
	case 0x60:
		if (q->se->isd->lcs == SE_CARD_LOCKED)
			return SW_CONDITIONS;
		return set_status_sd_apps(q);
	default:
		return SW_WRONG_P1P2;
	}
	if ((sw = gplc_check(m, e->lcs, to, GPLC_BY_STATUS)))
		return sw;
	c = *e;
	c.lcs = to;
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	if ((sw = gpcm_nv_commit(q, gpreg_put(gpcm_nv(q), &c))))
		return sw;
	return SW_OK;
}

/* ---- STORE DATA ------------------------------------------------------------------ */

/* The ISD's own data (BER-TLV, P1 b5b4 = 10): IIN 42 and CIN 45. */
static int store_isd(gpcm_req_t *q)
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
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	p = a->data;
	n = a->lc;
	while (n && rc == NVM_OK) {
		tlv_t t;
		long k = tlv_parse(p, n, &t);

		rc = nvm_put(gpcm_nv(q), t.tag == 0x42 ? "gp/data/42" : "gp/data/45", t.val, t.len);
		p += k;
		n -= (size_t)k;
	}
	if ((sw = gpcm_nv_commit(q, rc)))
		return sw;
	return SW_OK;
}

int gpcm_store_data(gpcm_req_t *q)
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
		if (q->sd != q->se->isd)
			return SW_REF_NOT_FOUND; /* an SSD keeps no data objects of its own here */
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
