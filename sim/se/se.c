/* se.c — the simulated FeliCa-SE: construction and personalisation,
 * power, logical channels (MANAGE CHANNEL), SELECT, and the routing of
 * each command to the ISD or to the application selected on its channel.
 *
 * Logical channels (ISO 7816-4 §5.4.1, GPCS §11.1.4,
 * docs/se.md#logical-channels, #omapi): channel 0 is always open; MANAGE
 * CHANNEL opens 1..19 (classes 01-03 / 81-83 for 1-3, 40-4F / C0-CF, with secure
 * messaging 60-6F / E0-EF, for 4-19) as OMAPI does.  Each channel has its own
 * selection, its own SCP03 session and its own PIN status in the applet. */
#include "se.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../card/cardos_int.h"
#include "../core/tlv.h"
#include "gplc.h"
#include "se_int.h"


static const uint8_t default_isd[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
/* The GP test key set (docs/se.md#card-manager), KVN 30 as pySim expects. */
static const uint8_t default_key[16] = { 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
					 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F };

/* T=1, 10 historical bytes: 00 31 C1 (card service data) 73 C8 57 (card
 * capabilities: extended lengths, channels assigned by the card, up to
 * 8+) 00 00 90 00; TCK appended. */
static const uint8_t default_atr[] = { 0x3B, 0x8A, 0x80, 0x01, 0x00, 0x31, 0xC1, 0x73,
				       0xC8, 0x57, 0x00, 0x00, 0x90, 0x00 };

const se_applet_t *const se_applets[] = { &sejpki_applet };
const size_t se_n_applets = sizeof se_applets / sizeof se_applets[0];
_Static_assert(sizeof se_applets / sizeof se_applets[0] <= SE_MAX_APPLETS, "raise SE_MAX_APPLETS");

const se_applet_t *se_applet_for_package(const uint8_t *aid, size_t len)
{
	for (size_t i = 0; i < se_n_applets; i++)
		if (gpreg_aid_eq(&se_applets[i]->package, aid, len))
			return se_applets[i];
	return NULL;
}

/* ---- profile ------------------------------------------------------ */

void se_profile_defaults(se_profile_t *p)
{
	static const uint8_t idm[8] = { 0x01, 0x2E, 0x4C, 0x61, 0x7A, 0x93, 0xB5, 0xD7 };
	/* IC code 14: Mobile FeliCa OS 3.0 (docs/se.md#felica); the timing
	 * bytes of the real card in nfcpy's docstring. */
	static const uint8_t pmm[8] = { 0x03, 0x14, 0x4B, 0x02, 0x4F, 0x49, 0x93, 0xFF };

	memset(p, 0, sizeof *p);
	p->isd_aid.len = sizeof default_isd;
	memcpy(p->isd_aid.b, default_isd, sizeof default_isd);
	p->card_lcs = SE_CARD_SECURED;
	p->n_keysets = 1;
	p->keysets[0].kvn = 0x30;
	p->keysets[0].key_len = 16;
	memcpy(p->keysets[0].enc, default_key, 16);
	memcpy(p->keysets[0].mac, default_key, 16);
	memcpy(p->keysets[0].dek, default_key, 16);
	p->scp_i = SCP03_I_DEFAULT;
	memcpy(p->felica.idm, idm, 8);
	memcpy(p->felica.pmm, pmm, 8);
	p->felica.system_codes[0] = 0xFE00; /* common area */
	p->felica.n_system_codes = 1;
	p->felica.services[0] = (se_felica_service_t){ 0x0009, 0x0001, 4, { NULL, 0 } };
	p->felica.services[1] = (se_felica_service_t){ 0x000B, 0x0001, 0, { NULL, 0 } };
	p->felica.n_services = 2;
}

static int bad(const char **why, const char *what)
{
	if (why)
		*why = what;
	return SIM_ERR_PROFILE;
}

int se_profile_check(const se_profile_t *p, const char **why)
{
	if (p->isd_aid.len && (p->isd_aid.len < 5 || p->isd_aid.len > SE_AID_MAX))
		return bad(why, "isd_aid must be 5..16 bytes");
	if (p->card_lcs && strcmp(gplc_name(GPLC_CARD, p->card_lcs), "?") == 0)
		return bad(why, "card life cycle state is not one of 01 07 0F 7F FF");
	if (p->n_keysets < 1 || p->n_keysets > SE_MAX_KEYSETS)
		return bad(why, "one to eight key sets");
	for (size_t i = 0; i < p->n_keysets; i++) {
		const se_keyset_t *k = &p->keysets[i];

		if (k->key_len != 16 && k->key_len != 24 && k->key_len != 32)
			return bad(why, "keys are AES-128, -192 or -256");
		if (k->kvn > 0x7F || k->counter > SCP03_SEQ_MAX)
			return bad(why, "KVN above 7F or counter above FFFFFF");
		if (k->absent)
			return bad(why, "a key set is personalised whole");
		for (size_t j = 0; j < i; j++)
			if (p->keysets[j].kvn == k->kvn)
				return bad(why, "two key sets with one KVN");
	}
	if (p->n_seeds > SE_MAX_SEEDS)
		return bad(why, "too many registry entries");
	for (size_t i = 0; i < p->n_seeds; i++) {
		const se_reg_seed_t *s = &p->seeds[i];

		if (s->kind < SE_OBJ_ELF || s->kind > SE_OBJ_SD || s->aid.len < 5 || s->aid.len > SE_AID_MAX)
			return bad(why, "registry entry: bad kind or AID");
		if (s->n_modules > SE_MAX_MODULES || s->extra.n > GPREG_EXTRA_MAX ||
		    (s->lcs_len != 0 && s->lcs_len != 1 && s->lcs_len != 2))
			return bad(why, "registry entry: modules, extra or lcs_len");
		for (size_t j = 0; j < i; j++)
			if (p->seeds[j].aid.len == s->aid.len && !memcmp(p->seeds[j].aid.b, s->aid.b, s->aid.len))
				return bad(why, "registry entry: AID twice");
	}
	if (p->n_key_pool && !p->key_pool)
		return bad(why, "key pool");
	if (p->atr.n > 33)
		return bad(why, "ATR longer than 33 bytes");
	if (p->felica.n_system_codes < 1 || p->felica.n_system_codes > SE_FELICA_MAX_SYSTEMS ||
	    p->felica.n_services > SE_FELICA_MAX_SERVICES)
		return bad(why, "FeliCa: 1..4 system codes, at most 8 services");
	for (size_t i = 0; i < p->felica.n_services; i++)
		if (p->felica.services[i].data.n > (size_t)p->felica.services[i].blocks * FELICA_BLOCK)
			return bad(why, "FeliCa: service data longer than its blocks");
	return SIM_OK;
}

/* ---- personalisation (first power-up on a blank NVM) ------------------- */

static void seed_entry(gpreg_ent_t *e, const se_reg_seed_t *s, uint16_t seq)
{
	memset(e, 0, sizeof *e);
	e->seq = seq;
	e->kind = s->kind;
	e->aid = s->aid;
	e->lcs = s->lcs;
	memcpy(e->priv, s->priv, 3);
	e->elf = s->elf;
	e->module = s->module;
	e->sd = s->sd;
	e->has_version = s->has_version;
	memcpy(e->version, s->version, 2);
	for (size_t i = 0; i < s->n_modules; i++)
		e->modules[i] = s->modules[i];
	e->n_modules = (uint8_t)s->n_modules;
	e->lcs_len = s->lcs_len ? s->lcs_len : 1;
	e->extra_len = (uint8_t)s->extra.n;
	if (s->extra.n)
		memcpy(e->extra, s->extra.p, s->extra.n);
	if (s->kind == SE_OBJ_APP && s->elf.len && s->module.len) {
		const se_applet_t *ap = se_applet_for_package(s->elf.b, s->elf.len);

		for (size_t i = 0; ap && i < se_n_applets; i++)
			if (se_applets[i] == ap && gpreg_aid_eq(&ap->module, s->module.b, s->module.len))
				e->applet = (uint8_t)(i + 1);
	}
}

static int personalise(sim_se_t *se, const se_profile_t *p)
{
	static const uint8_t version = SE_PERSO_VERSION;
	nvm_t *nvm = se->ctx->nvm;
	gpreg_ent_t isd;
	uint16_t seq = 1;
	int rc;

	/* The ISD: all privileges of an issuer's SD (GPCS Table 6-1). */
	memset(&isd, 0, sizeof isd);
	isd.kind = SE_OBJ_SD;
	isd.aid = p->isd_aid;
	if (!isd.aid.len) {
		isd.aid.len = sizeof default_isd;
		memcpy(isd.aid.b, default_isd, sizeof default_isd);
	}
	isd.priv[0] = 0x9E;
	isd.priv[1] = 0xFE;
	isd.priv[2] = 0x80;
	isd.lcs_len = 1;
	for (size_t i = 0; i < p->n_seeds; i++)
		if (p->seeds[i].kind == SE_OBJ_SD && gpreg_aid_eq(&isd.aid, p->seeds[i].aid.b, p->seeds[i].aid.len))
			seed_entry(&isd, &p->seeds[i], 0);
	isd.seq = 0;
	isd.lcs = p->card_lcs ? p->card_lcs : SE_CARD_SECURED;

	if ((rc = nvm_begin(nvm)) != NVM_OK)
		goto fail;
	if ((rc = gpreg_put(nvm, &isd)) != NVM_OK)
		goto abort;
	for (size_t i = 0; i < p->n_seeds; i++) {
		gpreg_ent_t e;

		if (gpreg_aid_eq(&isd.aid, p->seeds[i].aid.b, p->seeds[i].aid.len))
			continue;
		seed_entry(&e, &p->seeds[i], seq++);
		if ((rc = gpreg_put(nvm, &e)) != NVM_OK)
			goto abort;
		/* An instance of a ROM applet "already installed": its first
		 * records, as INSTALL would write them. */
		if (e.applet) {
			int sw = se_applets[e.applet - 1]->install(se, se->applet_priv[e.applet - 1], &e, NULL, 0);

			if (sw == SE_TORN) {
				rc = NVM_ERR_POWER;
				goto fail;
			}
			if (sw) {
				rc = NVM_ERR_ARG;
				goto abort;
			}
		}
	}
	for (size_t i = 0; i < p->n_keysets; i++)
		if ((rc = gpkey_put(nvm, 0, &p->keysets[i])) != NVM_OK)
			goto abort;
	if ((p->iin.n && (rc = nvm_put(nvm, "gp/data/42", p->iin.p, p->iin.n)) != NVM_OK) ||
	    (p->cin.n && (rc = nvm_put(nvm, "gp/data/45", p->cin.p, p->cin.n)) != NVM_OK))
		goto abort;
	if ((rc = felica_personalise(nvm, p)) != NVM_OK ||
	    (rc = nvm_put(nvm, SE_PERSONALISED, &version, 1)) != NVM_OK || (rc = nvm_commit(nvm)) != NVM_OK)
		goto abort;
	return SIM_OK;
abort:
	if (rc != NVM_ERR_POWER)
		nvm_abort(nvm);
fail:
	return rc == NVM_ERR_POWER ? SIM_ERR_MUTE : rc == NVM_ERR_NOMEM ? SIM_ERR_NOMEM : SIM_ERR_PROFILE;
}

/* ---- shared helpers ----------------------------------------------------- */

int se_nvm_fail(sim_se_t *se, int rc)
{
	if (rc == NVM_ERR_POWER)
		return SE_TORN;
	nvm_abort(se->ctx->nvm);
	return SW_MEMORY_FAILURE;
}

void se_reg_reload(sim_se_t *se)
{
	gpreg_load(&se->reg, se->ctx->nvm);
	se->isd = gpreg_by_seq(&se->reg, 0);
	for (size_t i = 0; i < se_n_applets; i++)
		se_applets[i]->sync(se, se->applet_priv[i]);
}

static void chan_clear(se_chan_t *ch)
{
	scp03_session_close(&ch->scp);
	memset(ch, 0, sizeof *ch);
}

void se_deselect_seq(sim_se_t *se, uint16_t seq)
{
	for (size_t i = 0; i < SE_CHANNELS; i++) {
		se_chan_t *ch = &se->ch[i];

		if (ch->open && ch->sel == SE_SEL_APP && ch->sel_seq == seq) {
			ch->sel = SE_SEL_NONE;
			ch->app = NULL;
			ch->ef = NULL;
			ch->verified = 0;
		}
	}
}

/* Power-up or reset: channel 0 alone, the ISD selected on it (the
 * implicitly selectable application), no session, no load under way. */
static void reset(sim_se_t *se)
{
	for (size_t i = 0; i < SE_CHANNELS; i++)
		chan_clear(&se->ch[i]);
	se->ch[0].open = 1;
	se->ch[0].sel = SE_SEL_ISD;
	se->load.active = 0;
	se->load.len = 0;
	felica_reset(&se->felica);
}

int se_cla_decode(uint8_t cla, se_cla_t *c)
{
	memset(c, 0, sizeof *c);
	if (cla == 0xFF)
		return SW_CLA_NOT_SUPPORTED;
	c->gp = (cla & 0x80) != 0;
	if (!(cla & 0x40)) {
		/* First interindustry (00-3F) and its proprietary mirror (80-BF):
		 * b2b1 channel, b4b3 secure messaging, b5 chaining. */
		if (cla & 0x20)
			return SW_CLA_NOT_SUPPORTED;
		c->chan = cla & 0x03;
		c->sm = (cla & 0x0C) != 0;
		c->chain = (cla & 0x10) != 0;
	} else {
		/* Further interindustry (40-7F) and C0-FF: b4..b1 = channel - 4,
		 * b6 secure messaging, b5 chaining. */
		c->chan = (uint8_t)(4 + (cla & 0x0F));
		c->sm = (cla & 0x20) != 0;
		c->chain = (cla & 0x10) != 0;
	}
	return 0;
}

/* ---- construction -------------------------------------------------------- */

static int copy_pool(sim_se_t *se, const se_profile_t *p)
{
	if (!p->n_key_pool)
		return SIM_OK;
	if (!(se->pool = calloc(p->n_key_pool, sizeof *se->pool)))
		return SIM_ERR_NOMEM;
	for (size_t i = 0; i < p->n_key_pool; i++) {
		uint8_t *b = malloc(p->key_pool[i].n ? p->key_pool[i].n : 1);

		if (!b)
			return SIM_ERR_NOMEM;
		memcpy(b, p->key_pool[i].p, p->key_pool[i].n);
		se->pool[i] = (se_blob_t){ b, p->key_pool[i].n };
		se->n_pool++;
	}
	return SIM_OK;
}

static void set_atr(sim_se_t *se, const se_profile_t *p)
{
	if (p->atr.n) {
		memcpy(se->atr, p->atr.p, p->atr.n);
		se->atr_len = p->atr.n;
		return;
	}
	memcpy(se->atr, default_atr, sizeof default_atr);
	se->atr_len = sizeof default_atr;
	se->atr[se->atr_len] = 0;
	for (size_t i = 1; i < sizeof default_atr; i++) /* TCK: XOR of T0..last */
		se->atr[se->atr_len] ^= default_atr[i];
	se->atr_len++;
}

int sim_se_new(sim_se_t **out, const se_profile_t *p, sim_ctx_t *ctx)
{
	sim_se_t *se;
	size_t n;
	int rc;

	if (!out || !p || !ctx || !ctx->nvm || !ctx->rng)
		return SIM_ERR_ARG;
	*out = NULL;
	if ((rc = se_profile_check(p, NULL)) != SIM_OK)
		return rc;
	if (!(se = calloc(1, sizeof *se)))
		return SIM_ERR_NOMEM;
	se->ctx = ctx;
	if (!(se->buf = malloc(APDU_MAX_DATA)) || !(se->load.buf = malloc(SE_LOAD_MAX)) ||
	    !(se->applet_priv = calloc(se_n_applets, sizeof *se->applet_priv))) {
		rc = SIM_ERR_NOMEM;
		goto fail;
	}
	if ((rc = copy_pool(se, p)) != SIM_OK)
		goto fail;
	for (size_t i = 0; i < se_n_applets; i++)
		if ((rc = se_applets[i]->init(se, &se->applet_priv[i])) != SIM_OK)
			goto fail;
	se->scp_i = p->scp_i ? p->scp_i : SCP03_I_DEFAULT;
	memcpy(se->kdd, p->kdd, sizeof se->kdd);
	se->has_cplc = p->has_cplc;
	memcpy(se->cplc, p->cplc, sizeof se->cplc);
	se->half_valid = p->half_valid;
	set_atr(se, p);
	felica_init(&se->felica, p, ctx);
	/* Building the SE is powering it up on its NVM: an image saved in
	 * the middle of a transaction is rolled back first. */
	nvm_power_up(ctx->nvm);
	if ((rc = sim_se_check_nvm(ctx->nvm, NULL)) != SIM_OK)
		goto fail;
	if (!nvm_get(ctx->nvm, SE_PERSONALISED, &n) && (rc = personalise(se, p)) != SIM_OK)
		goto fail;
	se_reg_reload(se);
	if (!se->isd) {
		rc = SIM_ERR_PROFILE;
		goto fail;
	}
	reset(se);
	se->powered = 1;
	*out = se;
	return SIM_OK;
fail:
	sim_se_free(se);
	return rc;
}

void sim_se_free(sim_se_t *se)
{
	if (!se)
		return;
	for (size_t i = 0; i < SE_CHANNELS; i++)
		scp03_session_close(&se->ch[i].scp);
	for (size_t i = 0; se->applet_priv && i < se_n_applets; i++)
		if (se->applet_priv[i])
			se_applets[i]->free(se->applet_priv[i]);
	free(se->applet_priv);
	for (size_t i = 0; i < se->n_pool; i++) {
		OPENSSL_cleanse((void *)se->pool[i].p, se->pool[i].n);
		free((void *)se->pool[i].p);
	}
	free(se->pool);
	free(se->load.buf);
	free(se->buf);
	free(se);
}

int sim_se_power(sim_se_t *se, enum sim_power how)
{
	if (!se)
		return SIM_ERR_ARG;
	switch (how) {
	case SIM_POWER_OFF:
		se->powered = 0;
		break;
	case SIM_POWER_COLD:
	case SIM_POWER_WARM:
		nvm_power_up(se->ctx->nvm);
		se_reg_reload(se);
		if (mut_on(MUT_PIN_POWER))
			sejpki_mut_refill(se);
		se->powered = 1;
		break;
	default:
		return SIM_ERR_ARG;
	}
	reset(se);
	return SIM_OK;
}

size_t sim_se_atr(const sim_se_t *se, uint8_t *atr, size_t cap)
{
	if (!se || !atr || cap < se->atr_len)
		return 0;
	memcpy(atr, se->atr, se->atr_len);
	return se->atr_len;
}

/* ---- MANAGE CHANNEL ---------------------------------------------------------- */

/* Open: P1 00, P2 00 (the SE picks, Le = 01 brings the number) or P2 =
 * the number wanted.  The new channel selects the ISD when opened from
 * channel 0 (it is the implicitly selectable application), else what the
 * originating channel has selected (ISO 7816-4 §5.4.1), with fresh
 * state.  Close: P1 80, P2 = the channel; closing a closed channel
 * warns 6200 (docs/se.md#logical-channels). */
static int manage_channel(sim_se_t *se, se_chan_t *from, const apdu_t *a, apdu_rsp_t *r)
{
	size_t k;

	if (a->p1 == 0x80) {
		if (a->icase != 1)
			return SW_WRONG_LENGTH;
		if (a->p2 == 0 || a->p2 >= SE_CHANNELS)
			return SW_WRONG_P1P2;
		if (!se->ch[a->p2].open)
			return 0x6200;
		if (se->load.active && se->load.chan == a->p2)
			se->load.active = 0;
		chan_clear(&se->ch[a->p2]);
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->lc)
		return SW_WRONG_LENGTH;
	if (a->p2 == 0) {
		if (a->icase != 2 || a->le < 1)
			return SW_WRONG_LENGTH;
		for (k = 1; k < SE_CHANNELS && se->ch[k].open; k++)
			;
		if (k == SE_CHANNELS)
			return SW_FUNC_NOT_SUPPORTED; /* no channel left */
	} else {
		k = a->p2;
		if (k >= SE_CHANNELS)
			return SW_WRONG_P1P2;
		if (se->ch[k].open)
			return SW_FUNC_NOT_SUPPORTED;
	}
	chan_clear(&se->ch[k]);
	se->ch[k].open = 1;
	if (from == &se->ch[0] || from->sel == SE_SEL_ISD) {
		se->ch[k].sel = SE_SEL_ISD;
	} else if (from->sel == SE_SEL_APP) {
		gpreg_ent_t *e = gpreg_by_seq(&se->reg, from->sel_seq);

		se->ch[k].sel = SE_SEL_APP;
		se->ch[k].sel_seq = from->sel_seq;
		if (e && e->applet)
			se_applets[e->applet - 1]->select(se, se->applet_priv[e->applet - 1], &se->ch[k]);
	}
	if (a->p2 == 0 && apdu_rsp_put(r, &(uint8_t){ (uint8_t)k }, 1))
		return SE_NOROOM;
	return SW_OK;
}

/* ---- SELECT -------------------------------------------------------------------- */

/* FCI: 6F { 84 AID, A5 { 73 recognition data, 9F65 max. command data } }
 * for a security domain (GPCS §11.9.3.1), 6F { 84 AID } for an application, as the
 * card's JPKI AP answers. */
static int fci(sim_se_t *se, const gpreg_ent_t *e, apdu_rsp_t *r)
{
	uint8_t in[160], a5[100], rec[64], out[200];
	size_t n = 0, an = 0, rn, on;

	n += tlv_put(in + n, sizeof in - n, 0x84, e->aid.b, e->aid.len);
	if (e->kind == SE_OBJ_SD) {
		rn = gpcm_recognition(se, rec, sizeof rec);
		an += tlv_put(a5 + an, sizeof a5 - an, 0x73, rec, rn);
		an += tlv_put(a5 + an, sizeof a5 - an, 0x9F65, &(uint8_t){ 0xFF }, 1);
		n += tlv_put(in + n, sizeof in - n, 0xA5, a5, an);
	}
	on = tlv_put(out, sizeof out, 0x6F, in, n);
	return apdu_rsp_put(r, out, on) ? SE_NOROOM : 0;
}

static int prefix(const gpreg_ent_t *e, const uint8_t *aid, size_t n)
{
	return e->kind != SE_OBJ_ELF && e->aid.len >= n && memcmp(e->aid.b, aid, n) == 0;
}

/* SELECT by DF name: an empty AID selects the ISD; a (partial) AID the
 * first registered application or SD it begins (P2 b2 = 1: the next one
 * after the current selection).  Applications must be SELECTABLE or in an
 * app-specific state and not LOCKED; INSTALLED or LOCKED ones answer
 * 6A82, as an unknown AID (they do not exist for a client).  A failed
 * SELECT changes nothing; a successful one ends the channel's secure
 * session and personalisation. */
static int select_aid(sim_se_t *se, se_chan_t *ch, const apdu_t *a, apdu_rsp_t *r)
{
	gpreg_ent_t *e = NULL;
	size_t start = 0;
	int next = (a->p2 & 0x03) == 0x02, sw;

	if ((a->p2 & 0xF0) || (a->p2 & 0x03) == 0x01 || (a->p2 & 0x03) == 0x03)
		return SW_WRONG_P1P2;
	if (a->lc > SE_AID_MAX)
		return SW_WRONG_LENGTH;
	if (a->lc == 0) {
		e = se->isd;
	} else {
		if (next && ch->sel != SE_SEL_NONE) {
			uint16_t cur = ch->sel == SE_SEL_ISD ? 0 : ch->sel_seq;

			for (start = 0; start < se->reg.n && se->reg.e[start].seq != cur; start++)
				;
			start++;
		}
		for (size_t i = start; i < se->reg.n && !e; i++)
			if (prefix(&se->reg.e[i], a->data, a->lc))
				e = &se->reg.e[i];
	}
	if (!e)
		return SW_FILE_NOT_FOUND;
	if (e == se->isd) {
		if ((sw = gplc_card_admits(se->isd->lcs, GPLC_CMD_SELECT_ISD)))
			return sw;
	} else {
		enum gplc_machine m = e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP;

		if ((sw = gplc_card_admits(se->isd->lcs, GPLC_CMD_SELECT_APP)))
			return sw;
		if (!gplc_selectable(m, e->lcs))
			return SW_FILE_NOT_FOUND;
	}
	if ((a->p2 & 0x0C) != 0x0C && (sw = fci(se, e, r)))
		return sw;
	{
		uint8_t open = ch->open;

		chan_clear(ch);
		ch->open = open;
	}
	if (e == se->isd) {
		ch->sel = SE_SEL_ISD;
	} else {
		ch->sel = SE_SEL_APP;
		ch->sel_seq = e->seq;
		if (e->applet)
			se_applets[e->applet - 1]->select(se, se->applet_priv[e->applet - 1], ch);
	}
	return SW_OK;
}

/* ---- dispatch -------------------------------------------------------------------- */

void se_finish(apdu_rsp_t *r, int sw)
{
	uint8_t sw1 = (uint8_t)(sw >> 8);

	if (sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63)
		apdu_rsp_sw(r, (uint16_t)sw);
	else
		apdu_rsp_error(r, (uint16_t)sw);
}

/* A command to the application on the channel: the card state must admit
 * it and the application must not have been locked meanwhile.  The CLA
 * goes to the applet as on channel 0 (cardos knows no channels). */
static int to_applet(sim_se_t *se, se_chan_t *ch, const se_cla_t *c, const uint8_t *cmd, size_t len,
		     apdu_rsp_t *r)
{
	gpreg_ent_t *e = gpreg_by_seq(&se->reg, ch->sel_seq);
	uint8_t *copy = se->buf;
	int sw;

	if ((sw = gplc_card_admits(se->isd->lcs, GPLC_CMD_APPLET)))
		return sw;
	if (!e || !e->applet)
		return SW_INS_NOT_SUPPORTED; /* code this simulator does not have */
	if (gplc_is_locked(GPLC_APP, e->lcs))
		return SW_CONDITIONS;
	if (len > APDU_MAX_DATA)
		return SW_WRONG_LENGTH;
	memcpy(copy, cmd, len);
	copy[0] = (uint8_t)((cmd[0] & 0x80) | (c->chain ? 0x10 : 0) | (c->sm ? 0x0C : 0));
	return se_applets[e->applet - 1]->process(se, se->applet_priv[e->applet - 1], ch, copy, len, r);
}

static int dispatch(sim_se_t *se, const uint8_t *cmd, size_t len, apdu_rsp_t *r)
{
	se_chan_t *ch;
	se_cla_t c;
	apdu_t a;
	int sw;

	if (len < 4)
		return SW_WRONG_LENGTH;
	if ((sw = se_cla_decode(cmd[0], &c)))
		return sw;
	ch = &se->ch[c.chan];
	if (!ch->open)
		return SW_LOGICAL_CHANNEL;
	/* MANAGE CHANNEL and SELECT by name are the SE's own, in the
	 * interindustry class without secure messaging. */
	if (!c.gp && (cmd[1] == 0x70 || (cmd[1] == 0xA4 && cmd[2] == 0x04))) {
		if (c.sm)
			return SW_SM_NOT_SUPPORTED;
		if ((sw = apdu_parse(&a, cmd, len)))
			return sw;
		if (cmd[1] == 0x70) {
			if ((sw = gplc_card_admits(se->isd->lcs, GPLC_CMD_CHANNEL)))
				return sw;
			return manage_channel(se, ch, &a, r);
		}
		return select_aid(se, ch, &a, r);
	}
	switch (ch->sel) {
	case SE_SEL_ISD:
		return gpcm_process(se, ch, cmd, len, r); /* 0: r is complete */
	case SE_SEL_APP:
		if (gpsd_of(se, ch))
			return gpcm_process(se, ch, cmd, len, r); /* a supplementary SD */
		return to_applet(se, ch, &c, cmd, len, r);
	}
	return SW_INS_NOT_SUPPORTED; /* nothing selected (its application was deleted) */
}

int sim_se_transmit(sim_se_t *se, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
		    size_t *rsplen)
{
	apdu_rsp_t r = { .buf = rsp, .cap = cap, .len = 0 };
	int rc;

	if (!se || !rsp || !rsplen || (!cmd && len) || cap < 2)
		return SIM_ERR_ARG;
	*rsplen = 0;
	if (!se->powered)
		return SIM_ERR_MUTE;
	rc = dispatch(se, cmd, len, &r);
	if (rc == SE_TORN) {
		/* Power lost in the middle of a write: mute until the next
		 * power-up, which rolls the journal back. */
		se->powered = 0;
		reset(se);
		return SIM_ERR_MUTE;
	}
	if (rc == SE_NOROOM)
		return SIM_ERR_ARG;
	if (rc > 0)
		se_finish(&r, rc);
	*rsplen = r.len;
	return SIM_OK;
}

int sim_se_felica(sim_se_t *se, const uint8_t *frame, size_t len, uint8_t *rsp, size_t cap,
		  size_t *rsplen)
{
	int rc;

	if (!se || !rsp || !rsplen || (!frame && len))
		return SIM_ERR_ARG;
	*rsplen = 0;
	if (!se->powered)
		return SIM_ERR_MUTE;
	rc = felica_frame(&se->felica, frame, len, rsp, cap, rsplen);
	if (rc == SIM_ERR_MUTE) {
		se->powered = 0;
		reset(se);
	}
	return rc;
}

int sim_se_is_felica(const sim_se_t *se, const uint8_t *buf, size_t len)
{
	if (!se || !buf || len < 2 || buf[0] != len)
		return 0;
	if (buf[1] == 0x00)
		return len == 6;
	return len >= 10 && !(buf[1] & 1) && memcmp(buf + 2, se->felica.idm, 8) == 0;
}
