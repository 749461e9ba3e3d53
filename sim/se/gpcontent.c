/* gpcontent.c — content management (GPCS §11.5, §11.6, §11.2): INSTALL
 * [for load, install, make selectable, extradition, personalization], LOAD
 * and DELETE, over the registry and the ROM applets (se_applets), through
 * the ISD or a supplementary SD (who may do what, tokens and receipts:
 * gpsd.c).  The dispatch, its checks and the status words are in gpcm.c. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../core/tlv.h"
#include "../gp/gpdm.h"
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

/* End the open transaction of an operation: under delegated management
 * the receipt (its counter written in the same transaction), else 00. */
static int commit_confirm(gpcm_req_t *q, int dm, const gpdm_bytes_t *aids, size_t n)
{
	int sw;

	if (dm && (sw = gpsd_confirm(q, aids, n))) {
		if (sw == SE_TORN)
			return sw;
		nvm_abort(gpcm_nv(q));
		se_reg_reload(q->se);
		q->r->len = 0;
		return sw;
	}
	if ((sw = gpcm_nv_commit(q, NVM_OK)))
		return sw;
	if (!dm)
		return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
	return SW_OK;
}

/* The bytes a token signs after P1 P2 Lc': the data up to the token's
 * length byte. */
static size_t fields_before(const uint8_t *start, const uint8_t *token)
{
	return (size_t)(token - 1 - start);
}

/* Authority of the channel's SD and, under delegated management, the
 * token over fields: 0 (*dm set) or the status word. */
static int authorise(gpcm_req_t *q, const uint8_t *start, const uint8_t *token, size_t token_n, int *dm)
{
	int sw = gpsd_authority(q, dm);

	if (!sw && *dm)
		sw = gpsd_token_check(q, start, fields_before(start, token), token, token_n);
	return sw;
}

static int install_for_load(gpcm_req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *start = p, *elf, *sd, *hash, *params, *token;
	size_t elf_n, sd_n, hash_n, params_n, token_n;
	se_load_t *l = &q->se->load;
	const gpreg_ent_t *owner = q->sd;
	int sw, dm;

	if (lv(&p, &n, &elf, &elf_n) || lv(&p, &n, &sd, &sd_n) || lv(&p, &n, &hash, &hash_n) ||
	    lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) || n)
		return SW_WRONG_DATA;
	if (!aid_ok(elf_n) || (sd_n && !aid_ok(sd_n)))
		return SW_WRONG_DATA;
	if (hash_n != 0 && hash_n != 20 && hash_n != 32 && hash_n != 48 && hash_n != 64)
		return SW_WRONG_DATA;
	if ((sw = authorise(q, start, token, token_n, &dm)))
		return sw;
	if (gpreg_find(&q->se->reg, elf, elf_n))
		return SW_WRONG_DATA; /* the load file is already there */
	if (q->se->reg.n >= GPREG_MAX)
		return 0x6A84; /* the registry is full */
	if (sd_n) {
		se_aid_t a;

		gpcm_aid_set(&a, sd, sd_n);
		if (!(owner = gpsd_find(q->se, &a)))
			return SW_REF_NOT_FOUND;
		if (q->sd != q->se->isd && owner != q->sd)
			return SW_WRONG_DATA; /* an SSD loads for itself */
	}
	load_reset(q->se);
	l->active = 1;
	l->chan = (uint8_t)(q->ch - q->se->ch);
	gpcm_aid_set(&l->elf, elf, elf_n);
	l->sd = owner->aid;
	memcpy(l->hash, hash, hash_n);
	l->hash_len = hash_n;
	l->next_block = 0;
	l->dm = dm;
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
	const gpreg_ent_t *owner = gpsd_find(q->se, &l->sd);
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
	if (!owner)
		return SW_REF_NOT_FOUND; /* its SD went away meanwhile */
	if ((sw = gpsd_dap_check(q, owner, l->hash, l->hash_len, l->buf, l->len)))
		return sw;
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
	if ((sw = gpreg_put(gpcm_nv(q), &e)) != NVM_OK)
		return gpcm_nv_commit(q, sw);
	return commit_confirm(q, l->dm, (gpdm_bytes_t[]){ { e.aid.b, e.aid.len }, { l->sd.b, l->sd.len } }, 2);
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
	return sw;
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

/* An SD's privileges an SSD may not get: Token Verification and Receipt
 * Generation stay the ISD's
 * (docs/se.md#security-domains-and-delegated-management). */
static int sd_privs_ok(const uint8_t *priv, size_t n)
{
	return n == 3 && !(priv[1] & GPDM_PRIV2_TOKEN_VERIFICATION) && !(priv[2] & GPDM_PRIV3_RECEIPT_GENERATION);
}

static int is_sd_package(const uint8_t *elf, size_t elf_n, const uint8_t *mod, size_t mod_n)
{
	return elf_n == GPDM_SD_PACKAGE_LEN && !memcmp(elf, GPDM_SD_PACKAGE, elf_n) &&
	       mod_n == GPDM_SD_MODULE_LEN && !memcmp(mod, GPDM_SD_MODULE, mod_n);
}

/* The registry entry of a new application or SD, associated with the
 * channel's SD (GPCS §6.3.4: with the SD that processed the INSTALL). */
static int new_instance(gpcm_req_t *q, gpreg_ent_t *e, int sd, const uint8_t *app, size_t app_n,
			const uint8_t *priv, size_t priv_n, int selectable)
{
	enum gplc_machine m = sd ? GPLC_SD : GPLC_APP;
	int sw;

	memset(e, 0, sizeof *e);
	e->seq = gpreg_next_seq(&q->se->reg);
	e->kind = sd ? SE_OBJ_SD : SE_OBJ_APP;
	gpcm_aid_set(&e->aid, app, app_n);
	e->lcs = GPLC_APP_INSTALLED;
	if (selectable) {
		if ((sw = gplc_check(m, e->lcs, GPLC_APP_SELECTABLE, GPLC_BY_INSTALL)))
			return sw;
		e->lcs = GPLC_APP_SELECTABLE;
	}
	memcpy(e->priv, priv, priv_n);
	e->sd = q->sd->aid;
	e->lcs_len = 1;
	return 0;
}

static int install_for_install(gpcm_req_t *q, const uint8_t *p, size_t n, int selectable)
{
	const uint8_t *start = p, *elf, *mod, *app, *priv, *params, *token, *c9;
	size_t elf_n, mod_n, app_n, priv_n, params_n, token_n, c9_n;
	const gpreg_ent_t *le = NULL;
	const se_applet_t *ap = NULL;
	gpreg_ent_t e;
	int sw, dm, sd;

	if (lv(&p, &n, &elf, &elf_n) || lv(&p, &n, &mod, &mod_n) || lv(&p, &n, &app, &app_n) ||
	    lv(&p, &n, &priv, &priv_n) || lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) || n)
		return SW_WRONG_DATA;
	if (!aid_ok(elf_n) || !aid_ok(mod_n) || !aid_ok(app_n) || (priv_n != 1 && priv_n != 3))
		return SW_WRONG_DATA;
	if ((sw = install_params(params, params_n, &c9, &c9_n)))
		return sw;
	if ((sw = authorise(q, start, token, token_n, &dm)))
		return sw;
	sd = (priv[0] & GPREG_PRIV_SD) != 0;
	if (sd) {
		/* Its privileges in full (3 bytes); the SD package is in ROM,
		 * unlisted (docs/se.md#modelled-assumptions). */
		if (!sd_privs_ok(priv, priv_n))
			return SW_WRONG_DATA;
		if (!is_sd_package(elf, elf_n, mod, mod_n))
			return SW_REF_NOT_FOUND;
	} else if (!(le = gpreg_find(&q->se->reg, elf, elf_n)) || le->kind != SE_OBJ_ELF ||
		   !gpreg_has_module(le, mod, mod_n)) {
		return SW_REF_NOT_FOUND;
	}
	if (gpreg_find(&q->se->reg, app, app_n))
		return SW_WRONG_DATA; /* the AID is taken */
	if (q->se->reg.n >= GPREG_MAX)
		return 0x6A84; /* the registry is full */
	if (!sd && (!(ap = se_applet_for_package(elf, elf_n)) || !gpreg_aid_eq(&ap->module, mod, mod_n)))
		return SW_REF_NOT_FOUND;
	if ((sw = new_instance(q, &e, sd, app, app_n, priv, priv_n, selectable)))
		return sw;
	gpcm_aid_set(&e.elf, elf, elf_n);
	gpcm_aid_set(&e.module, mod, mod_n);
	if (le) {
		e.has_version = le->has_version;
		memcpy(e.version, le->version, 2);
	}
	for (size_t i = 0; ap && i < se_n_applets; i++)
		if (se_applets[i] == ap)
			e.applet = (uint8_t)(i + 1);
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	if ((sw = gpreg_put(gpcm_nv(q), &e)) != NVM_OK)
		return gpcm_nv_commit(q, sw);
	if (ap) {
		sw = ap->install(q->se, q->se->applet_priv[e.applet - 1], &e, c9, c9_n);
		if (sw == SE_TORN)
			return sw;
		if (sw) {
			nvm_abort(gpcm_nv(q));
			se_reg_reload(q->se);
			return sw;
		}
	}
	return commit_confirm(q, dm, (gpdm_bytes_t[]){ { elf, elf_n }, { app, app_n } }, 2);
}

/* An application or SD the channel's SD may act on (not the ISD). */
static gpreg_ent_t *instance_by_aid(gpcm_req_t *q, const uint8_t *aid, size_t n)
{
	gpreg_ent_t *e = gpreg_find(&q->se->reg, aid, n);

	return e && e->kind != SE_OBJ_ELF && e != q->se->isd && gpsd_owns(q, e) ? e : NULL;
}

static int install_make_selectable(gpcm_req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *start = p, *x, *app, *priv, *params, *token;
	size_t x1, x2, app_n, priv_n, params_n, token_n;
	gpreg_ent_t *e, c;
	int sw, dm;

	if (lv(&p, &n, &x, &x1) || lv(&p, &n, &x, &x2) || lv(&p, &n, &app, &app_n) ||
	    lv(&p, &n, &priv, &priv_n) || lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) ||
	    n || x1 || x2)
		return SW_WRONG_DATA;
	if (priv_n != 0 && priv_n != 1 && priv_n != 3)
		return SW_WRONG_DATA;
	if ((sw = authorise(q, start, token, token_n, &dm)))
		return sw;
	if (!(e = instance_by_aid(q, app, app_n)))
		return SW_REF_NOT_FOUND;
	if (priv_n && (e->kind == SE_OBJ_SD) != ((priv[0] & GPREG_PRIV_SD) != 0))
		return SW_WRONG_DATA; /* an application does not become an SD, nor back */
	if (e->kind == SE_OBJ_SD && priv_n && !sd_privs_ok(priv, priv_n))
		return SW_WRONG_DATA;
	if ((sw = gplc_check(e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP, e->lcs, GPLC_APP_SELECTABLE,
			     GPLC_BY_INSTALL)))
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

/* INSTALL [for extradition] (GPCS §11.5.2.3.4): the application, load
 * file or SD changes its associated SD.  Data: new SD AID, 00, the
 * object's AID, 00, parameters, token. */
static int install_extradition(gpcm_req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *start = p, *sd, *x, *obj, *params, *token;
	size_t sd_n, x1, obj_n, x2, params_n, token_n;
	gpreg_ent_t *e, *to, c;
	const gpreg_ent_t *up;
	se_aid_t aid, from;
	int sw, dm, hops = 0;

	if (lv(&p, &n, &sd, &sd_n) || lv(&p, &n, &x, &x1) || lv(&p, &n, &obj, &obj_n) || lv(&p, &n, &x, &x2) ||
	    lv(&p, &n, &params, &params_n) || lv(&p, &n, &token, &token_n) || n || x1 || x2 || !aid_ok(sd_n) ||
	    !aid_ok(obj_n))
		return SW_WRONG_DATA;
	if ((sw = authorise(q, start, token, token_n, &dm)))
		return sw;
	gpcm_aid_set(&aid, sd, sd_n);
	if (!(to = gpsd_find(q->se, &aid)) || !(e = gpreg_find(&q->se->reg, obj, obj_n)) || !gpsd_owns(q, e))
		return SW_REF_NOT_FOUND;
	if (e == q->se->isd || e == q->sd || gplc_is_locked(GPLC_SD, to->lcs))
		return SW_CONDITIONS; /* an SD does not move itself */
	/* An SD may not end up associated with itself or its own descendant. */
	for (up = to; up && up != q->se->isd && hops < GPREG_MAX; up = gpsd_find(q->se, &up->sd), hops++)
		if (up == e)
			return SW_WRONG_DATA;
	if (gpreg_aid_eq(&e->sd, to->aid.b, to->aid.len))
		return SW_WRONG_DATA; /* already there */
	from = e->sd;
	c = *e;
	c.sd = to->aid;
	if ((sw = gpcm_nv_begin(q)))
		return sw;
	if ((sw = gpreg_put(gpcm_nv(q), &c)) != NVM_OK)
		return gpcm_nv_commit(q, sw);
	return commit_confirm(q, dm,
			      (gpdm_bytes_t[]){ { from.b, from.len }, { obj, obj_n }, { to->aid.b, to->aid.len } }, 3);
}

/* Later STORE DATA commands on this channel go to the application
 * (GPCS §11.5.2.3.5), until the last block; for an SSD, the ISD's
 * channel carries its first PUT KEY (gpcm.c). */
static int install_for_perso(gpcm_req_t *q, const uint8_t *p, size_t n)
{
	const uint8_t *x, *app;
	size_t x1, x2, app_n, x3, x4, x5;
	gpreg_ent_t *e;

	if (lv(&p, &n, &x, &x1) || lv(&p, &n, &x, &x2) || lv(&p, &n, &app, &app_n) ||
	    lv(&p, &n, &x, &x3) || lv(&p, &n, &x, &x4) || lv(&p, &n, &x, &x5) || n)
		return SW_WRONG_DATA;
	if (!(e = instance_by_aid(q, app, app_n)))
		return SW_REF_NOT_FOUND;
	if (e->kind == SE_OBJ_SD ? q->sd != q->se->isd : (!e->applet || !se_applets[e->applet - 1]->store))
		return SW_REF_NOT_FOUND;
	if (gplc_is_locked(e->kind == SE_OBJ_SD ? GPLC_SD : GPLC_APP, e->lcs))
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
	case 0x10: return install_extradition(q, a->data, a->lc);
	case 0x20: return install_for_perso(q, a->data, a->lc);
	}
	return SW_WRONG_P1P2; /* registry update, combined load */
}

/* ---- DELETE ------------------------------------------------------------------ */

/* A complete key set of the ISD other than kvn: the ISD stays reachable. */
static void complete_other(void *arg, const char *key, const uint8_t *val, size_t len)
{
	int *a = arg; /* a[0] the KVN spared, a[1] the count */

	(void)key;
	if (len >= 2 && val[0] != a[0] && len == 2 + 3 * (size_t)val[1])
		a[1]++;
}

/* DELETE [key] (GPCS §11.2.2.3): D2 alone deletes a key set (or one of the
 * delegated-management keys); D0 with D2 one key of it.  Through any SD,
 * on its own keys.  D0 alone (every version of an identifier) is not
 * offered (6A80). */
static int delete_keys(gpcm_req_t *q, const uint8_t *p, size_t n)
{
	tlv_t t;
	uint8_t kvn;
	int kid = -1, sw, rc;
	uint16_t sd = q->sd->seq;
	se_keyset_t ks;
	char name[GPKEY_NAME];

	if (tlv_find(p, n, 0xD0, &t) == 0) {
		if (t.len != 1)
			return SW_WRONG_DATA;
		kid = t.val[0];
	}
	if (tlv_find(p, n, 0xD2, &t) != 0 || t.len != 1)
		return SW_WRONG_DATA;
	kvn = t.val[0];
	if (gpsd_is_dm_kvn(kvn))
		return kid < 0 || kid == 1 ? gpsd_delete_dm_key(q, kvn) : SW_REF_NOT_FOUND;
	if (gpkey_get(gpcm_nv(q), sd, kvn, &ks) < 0 || (kid >= 0 && (kid < 1 || kid > 3)) ||
	    (kid > 0 && (ks.absent & (1u << (kid - 1))))) {
		OPENSSL_cleanse(&ks, sizeof ks);
		return SW_REF_NOT_FOUND;
	}
	if (q->ch->scp.kvn == kvn && q->ch->scp.state == SCP03_ST_OPEN) {
		OPENSSL_cleanse(&ks, sizeof ks);
		return SW_CONDITIONS; /* the set in use */
	}
	if (kid > 0)
		ks.absent |= (uint8_t)(1u << (kid - 1));
	if (sd == 0) {
		/* Never the last complete key set: the ISD would be unreachable. */
		int a[2] = { kvn, 0 };

		nvm_each(gpcm_nv(q), "gp/key/", complete_other, a);
		if (!a[1]) {
			OPENSSL_cleanse(&ks, sizeof ks);
			return SW_CONDITIONS;
		}
	}
	if ((sw = gpcm_nv_begin(q))) {
		OPENSSL_cleanse(&ks, sizeof ks);
		return sw;
	}
	if (kid > 0 && ks.absent != 7) {
		rc = gpkey_put(gpcm_nv(q), sd, &ks); /* the counter is rewritten as it was */
	} else {
		gpkey_name(name, sd, "key", kvn);
		rc = nvm_del(gpcm_nv(q), name);
		gpkey_name(name, sd, "ctr", kvn);
		if (rc == NVM_OK && nvm_get(gpcm_nv(q), name, &(size_t){ 0 }))
			rc = nvm_del(gpcm_nv(q), name);
	}
	OPENSSL_cleanse(&ks, sizeof ks);
	if ((sw = gpcm_nv_commit(q, rc)))
		return sw;
	return gpcm_put_byte(q, 0x00) ? SE_NOROOM : SW_OK;
}

/* Remove one application, load file or SD inside the open transaction. */
static int remove_app(gpcm_req_t *q, const gpreg_ent_t *e)
{
	int rc;

	if (e->applet) {
		const se_applet_t *ap = se_applets[e->applet - 1];

		if ((rc = ap->remove(q->se, q->se->applet_priv[e->applet - 1], e)))
			return rc;
	}
	rc = gpreg_del(gpcm_nv(q), e);
	if (rc == NVM_OK && e->kind == SE_OBJ_SD)
		rc = gpsd_erase(gpcm_nv(q), e);
	return rc == NVM_OK ? 0 : se_nvm_fail(q->se, rc);
}

static int deletable(gpcm_req_t *q, const gpreg_ent_t *e)
{
	if (!e->applet)
		return 0;
	return se_applets[e->applet - 1]->deletable(q->se, q->se->applet_priv[e->applet - 1], e);
}

/* The DELETE data up to its token (9E, last): what the token signs;
 * *token the token or NULL.  -1 if the data does not parse. */
static long delete_fields(const uint8_t *p, size_t n, tlv_t *token)
{
	size_t off = 0;
	tlv_t t;
	long k;

	token->val = NULL;
	token->len = 0;
	while (off < n) {
		if ((k = tlv_parse(p + off, n - off, &t)) <= 0)
			return -1;
		if (t.tag == 0x9E) {
			if (off + (size_t)k != n)
				return -1;
			*token = t;
			return (long)off;
		}
		off += (size_t)k;
	}
	return (long)off;
}

/* P2 00: the object (a load file only without instances, an SD only with
 * nothing associated); P2 80: the object and its related objects (a load
 * file and every application installed from it).  The ISD cannot be
 * deleted.  All in one transaction; the response is 00, or the receipt
 * under delegated management. */
int gpcm_delete(gpcm_req_t *q)
{
	const apdu_t *a = q->a;
	gpreg_ent_t victims[GPREG_MAX], *e;
	size_t nv_ = 0;
	tlv_t t, token;
	long fn;
	int sw, dm;

	if ((a->p1 & 0x7F) != 0 || (a->p2 != 0x00 && a->p2 != 0x80))
		return SW_WRONG_P1P2;
	if (a->icase < 3)
		return SW_WRONG_LENGTH;
	if (tlv_find(a->data, a->lc, 0x4F, &t) != 0)
		return delete_keys(q, a->data, a->lc);
	if ((fn = delete_fields(a->data, a->lc, &token)) < 0)
		return SW_WRONG_DATA;
	if ((sw = gpsd_authority(q, &dm)) ||
	    (dm && (sw = gpsd_token_check(q, a->data, (size_t)fn, token.val, token.len))))
		return sw;
	if (!(e = gpreg_find(&q->se->reg, t.val, t.len)) || !gpsd_owns(q, e))
		return SW_REF_NOT_FOUND;
	if (e == q->se->isd || e == q->sd)
		return SW_CONDITIONS;
	for (size_t i = 0; i < q->se->reg.n; i++) {
		const gpreg_ent_t *x = &q->se->reg.e[i];

		if (e->kind == SE_OBJ_SD && gpreg_aid_eq(&x->sd, e->aid.b, e->aid.len))
			return SW_CONDITIONS; /* content still associated with the SD */
		if (e->kind != SE_OBJ_ELF || x->kind == SE_OBJ_ELF || !gpreg_aid_eq(&x->elf, e->aid.b, e->aid.len))
			continue;
		if (a->p2 != 0x80)
			return SW_CONDITIONS; /* instances remain */
		victims[nv_++] = *x;
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
	if ((sw = commit_confirm(q, dm, (gpdm_bytes_t[]){ { t.val, t.len } }, 1)) != SW_OK)
		return sw;
	for (size_t i = 0; i < nv_; i++)
		se_deselect_seq(q->se, victims[i].seq);
	return SW_OK;
}
