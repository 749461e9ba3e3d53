/* gpcontent.c — the ISD's content management (GPCS §11.5, §11.6, §11.2):
 * INSTALL [for load, install, make selectable, personalization], LOAD and
 * DELETE, over the registry and the ROM applets (se_applets).  The
 * dispatch, its checks and the status words are in gpcm.c. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "../core/tlv.h"
#include "gplc.h"
#include "se_int.h"

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

/* ---- INSTALL / LOAD ------------------------------------------------------ */

static void load_reset(sim_se_t *se)
{
	se->load.active = 0;
	se->load.len = 0;
}

static int install_for_load(gpcm_req_t *q, const uint8_t *p, size_t n)
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
	gpcm_aid_set(&l->elf, elf, elf_n);
	l->sd = q->se->isd->aid;
	memcpy(l->hash, hash, hash_n);
	l->hash_len = hash_n;
	l->next_block = 0;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
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
static int load_finish(gpcm_req_t *q)
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
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	return gpcm_nv_commit(q, gpreg_put(gpcm_nv(q), &e));
}

int gpcm_load(gpcm_req_t *q)
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
	if (a->lc)	/* an empty block has no data pointer */
		memcpy(l->buf + l->len, a->data, a->lc);
	l->len += a->lc;
	l->next_block++;
	if (a->p1 == 0x00)
		return SW_OK;
	sw = load_finish(q);
	load_reset(q->se);
	if (sw)
		return sw;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
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

static int install_for_install(gpcm_req_t *q, const uint8_t *p, size_t n, int selectable)
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
	gpcm_aid_set(&e.aid, app, app_n);
	e.lcs = GPLC_APP_INSTALLED;
	if (selectable) {
		if ((sw = gplc_check(GPLC_APP, e.lcs, GPLC_APP_SELECTABLE, GPLC_BY_INSTALL)))
			return sw;
		e.lcs = GPLC_APP_SELECTABLE;
	}
	memcpy(e.priv, priv, priv_n);
	e.elf = le->aid;
	gpcm_aid_set(&e.module, mod, mod_n);
	e.sd = q->se->isd->aid;
	e.has_version = le->has_version;
	memcpy(e.version, le->version, 2);
	e.lcs_len = 1;
	for (size_t i = 0; i < se_n_applets; i++)
		if (se_applets[i] == ap)
			e.applet = (uint8_t)(i + 1);
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	if ((sw = gpreg_put(gpcm_nv(q), &e)) != NVM_OK)
		return gpcm_nv_commit(q, sw);
	sw = ap->install(q->se, q->se->applet_priv[e.applet - 1], &e, c9, c9_n);
	if (sw == SE_TORN)
		return sw;
	if (sw) {
		nvm_abort(gpcm_nv(q));
		se_reg_reload(q->se);
		return sw;
	}
	if ((sw = gpcm_nv_commit(q, NVM_OK)))
		return sw;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

static gpreg_ent_t *app_by_aid(gpcm_req_t *q, const uint8_t *aid, size_t n)
{
	gpreg_ent_t *e = gpreg_find(&q->se->reg, aid, n);

	return e && e->kind == SE_OBJ_APP ? e : NULL;
}

static int install_make_selectable(gpcm_req_t *q, const uint8_t *p, size_t n)
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
	if ((sw = gpcm_nv_begin(q)) || (sw = gpcm_nv_commit(q, gpreg_put(gpcm_nv(q), &c))))
		return sw;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* Later STORE DATA commands on this channel go to the application
 * (GPCS §11.5.2.3.5), until the last block. */
static int install_for_perso(gpcm_req_t *q, const uint8_t *p, size_t n)
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
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

int gpcm_install(gpcm_req_t *q)
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

static int delete_keys(gpcm_req_t *q, const uint8_t *p, size_t n)
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
	if (!nvm_get(gpcm_nv(q), name, &(size_t){ 0 }))
		return SW_REF_NOT_FOUND;
	if (q->ch->scp.kvn == kvn || gpkey_default_kvn(gpcm_nv(q), &def) < 0)
		return SW_CONDITIONS; /* the set in use */
	/* Never the last key set: the ISD would be unreachable. */
	{
		int count = 0;

		nvm_each(gpcm_nv(q), "gp/key/", count_one, &count);
		if (count < 2)
			return SW_CONDITIONS;
	}
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	rc = nvm_del(gpcm_nv(q), name);
	snprintf(name, sizeof name, "gp/ctr/%02X", kvn);
	if (rc == NVM_OK && nvm_get(gpcm_nv(q), name, &(size_t){ 0 }))
		rc = nvm_del(gpcm_nv(q), name);
	if ((sw = gpcm_nv_commit(q, rc)))
		return sw;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* Remove one application inside the open transaction. */
static int remove_app(gpcm_req_t *q, const gpreg_ent_t *e)
{
	int rc;

	if (e->applet) {
		const se_applet_t *ap = se_applets[e->applet - 1];

		if ((rc = ap->remove(q->se, q->se->applet_priv[e->applet - 1], e)))
			return rc;
	}
	rc = gpreg_del(gpcm_nv(q), e);
	return rc == NVM_OK ? 0 : se_nvm_fail(q->se, rc);
}

static int deletable(gpcm_req_t *q, const gpreg_ent_t *e)
{
	if (!e->applet)
		return 0;
	return se_applets[e->applet - 1]->deletable(q->se, q->se->applet_priv[e->applet - 1], e);
}

/* P2 00: the object (a load file only without instances); P2 80: the
 * object and its related objects (a load file and every application
 * installed from it).  The ISD cannot be deleted.  All in one
 * transaction; the response is 00. */
int gpcm_delete(gpcm_req_t *q)
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
	if (mut_on(MUT_DELETE_NOOP))
		return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	for (size_t i = 0; i < nv_; i++) {
		if ((sw = remove_app(q, &victims[i]))) {
			if (sw != SE_TORN)
				se_reg_reload(q->se);
			return sw;
		}
	}
	if ((sw = gpcm_nv_commit(q, NVM_OK)))
		return sw;
	for (size_t i = 0; i < nv_; i++)
		se_deselect_seq(q->se, victims[i].seq);
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}
