/* itsm_ssd.c — an SP's supplementary security domain created by the
 * issuer (docs/tsm.md#two-tsms), in two scripts the SP-TSM relays:
 *
 *   1  SELECT the ISD, INITIALIZE UPDATE (the issuer's host challenge)
 *   2  EXTERNAL AUTHENTICATE, then wrapped at the issuer's level:
 *      PUT KEY 70 (the token key, clear) and 71 (the receipt key, under
 *      the ISD's DEK) when the SE has them not yet; INSTALL [for install
 *      and make selectable] of the SSD with Security Domain and Delegated
 *      Management; INSTALL [for personalization] of the SSD; PUT KEY of
 *      the SSD's first key set under the ISD's DEK (GPCS §11.8, the
 *      path tests/unit/test_se_ssd.c walks).
 *
 * Every answer of script 2 is checked against its own command (R-MAC)
 * and must say 9000; only then is the SSD recorded.  The SSD's keys are
 * the SP's (it sends them with its request) and are not kept.  A second
 * request for an SSD the issuer made answers the existing one, unless
 * the SP says the SE no longer selects it ("missing": true, an SE wiped
 * since, as a repair's memory clear does): the issuer does not take the
 * SP's word for it but creates the SSD again through its own channel on
 * the ISD, where an SSD that is there refuses the INSTALL (409, nothing
 * changed).  Such a script puts the token and receipt keys again (PUT KEY
 * of 70 and 71 replaces them in place) and, once every answer verified,
 * starts the SE's confirmation counter afresh, as a wiped SE does. */
#include "itsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../core/apdu.h"
#include "../gp/gpdm.h"
#include "../tsm/tsm.h"

static struct flight *flight_find(itsm_t *it, const char *id)
{
	for (size_t i = 0; i < ITSM_FLIGHTS; i++)
		if (it->fl[i].live && !strcmp(it->fl[i].id, id)) {
			it->fl[i].used = ++it->tick;
			return &it->fl[i];
		}
	return NULL;
}

static void flight_end(struct flight *f)
{
	scp03_session_close(&f->s);
	OPENSSL_cleanse(f, sizeof *f);
}

void itsm_flights_free(itsm_t *it)
{
	for (size_t i = 0; i < ITSM_FLIGHTS; i++)
		if (it->fl[i].live)
			flight_end(&it->fl[i]);
}

/* A slot for a new creation: a free one, else the least recently used. */
static struct flight *flight_new(itsm_t *it)
{
	size_t v = 0;
	uint8_t r[8];

	for (size_t i = 0; i < ITSM_FLIGHTS; i++) {
		if (!it->fl[i].live) {
			v = i;
			break;
		}
		if (it->fl[i].used < it->fl[v].used)
			v = i;
	}
	if (it->fl[v].live)
		flight_end(&it->fl[v]);
	scp03_session_init(&it->fl[v].s);
	it->fl[v].live = 1;
	it->fl[v].used = ++it->tick;
	rng_bytes(it->ctx->rng, r, sizeof r);
	memcpy(it->fl[v].id, "ssd-", 4);
	apdu_hex(r, sizeof r, it->fl[v].id + 4);
	return &it->fl[v];
}

static int keys_of(json_t *k, scp03_keyset_t *out, json_t **err)
{
	long e, m, d;
	json_int_t kvn = json_integer_value(json_object_get(k, "kvn"));

	memset(out, 0, sizeof *out);
	e = itsm_unhex(json_object_get(k, "enc"), out->enc, SCP03_KEY_MAX);
	m = itsm_unhex(json_object_get(k, "mac"), out->mac, SCP03_KEY_MAX);
	d = itsm_unhex(json_object_get(k, "dek"), out->dek, SCP03_KEY_MAX);
	if (!json_is_integer(json_object_get(k, "kvn")) || kvn < 1 || kvn > 0x6F || e != m || e != d ||
	    (e != 16 && e != 24 && e != 32)) {
		*err = tsm_jerr("keys", "keys: {kvn 1..6F, enc, mac, dek: 16, 24 or 32 bytes each, hex}");
		return -1;
	}
	out->kvn = (uint8_t)kvn;
	out->key_len = (uint8_t)e;
	return 0;
}

static void ssd_id(char *out, size_t cap, const char *dev, const char *sp)
{
	snprintf(out, cap, "ssd/%s/%s", dev, sp);
}

int itsm_h_ssd(itsm_t *it, json_t *body, json_t **out)
{
	char dev[24], id[96];
	uint8_t kdd[SCP03_KDD_LEN], cmd[64], hc[8], isd[16];
	long sp;
	size_t n;
	json_t *rec;
	struct flight *f;
	scp03_keyset_t k, isdk;
	json_t *missing = json_object_get(body, "missing");

	if ((sp = itsm_sp_of(it, body, out)) < 0)
		return 403;
	if (itsm_device_of(body, dev, kdd, out) < 0)
		return 400;
	if (missing && !json_is_boolean(missing)) {
		*out = tsm_jerr("missing", "missing: true or false");
		return 400;
	}
	ssd_id(id, sizeof id, dev, it->sps[sp].name);
	if ((rec = itsm_rec_get(it, id)) && !json_is_true(missing)) {
		*out = json_pack("{s:s, s:O}", "state", "exists", "ssd", json_object_get(rec, "ssd"));
		json_decref(rec);
		return 200;
	}
	if (keys_of(json_object_get(body, "keys"), &k, out) < 0) {
		json_decref(rec);
		return 400;
	}
	if (itsm_isd_keys(it, kdd, &isdk) < 0) {
		json_decref(rec);
		OPENSSL_cleanse(&k, sizeof k);
		*out = tsm_jerr(NULL, "internal: key derivation failed");
		return 500;
	}
	f = flight_new(it);
	snprintf(f->device, sizeof f->device, "%s", dev);
	f->sp = (size_t)sp;
	f->ssd = k;
	f->stage = 1;
	f->again = rec != NULL;
	json_decref(rec);
	OPENSSL_cleanse(&k, sizeof k);
	rng_bytes(it->ctx->rng, hc, sizeof hc);
	n = apdu_build(cmd, sizeof cmd, 0x00, 0xA4, 0x04, 0x00, isd, (size_t)apdu_unhex(ITSM_ISD_AID, isd, sizeof isd), 256);
	*out = json_pack("{s:s, s:s, s:[o]}", "state", "script", "id", f->id, "apdus", tsm_jhex(cmd, n));
	scp03_host_init_update(&f->s, isdk.kvn, hc, sizeof hc, cmd, sizeof cmd, &n);
	json_array_append_new(json_object_get(*out, "apdus"), tsm_jhex(cmd, n));
	OPENSSL_cleanse(&isdk, sizeof isdk);
	return 201;
}

/* One plain command wrapped into the script, its answer's reference kept. */
static int add(struct flight *f, json_t *apdus, const uint8_t *cmd, size_t n)
{
	uint8_t w[600];
	size_t wn;

	if (f->nrefs == ITSM_OPS || scp03_host_wrap(&f->s, cmd, n, w, sizeof w, &wn) < 0)
		return -1;
	scp03_host_rsp_ref(&f->s, &f->refs[f->nrefs++]);
	json_array_append_new(apdus, tsm_jhex(w, wn));
	return 0;
}

/* Script 2 from the answers to script 1. */
static int second(itsm_t *it, struct flight *f, const uint8_t *sel, size_t sn, const uint8_t *iu, size_t in,
		  json_t **out)
{
	uint8_t kdd[SCP03_KDD_LEN], ea[64], cmd[400], aid[16], rkey[16];
	uint8_t priv[3] = { GPDM_PRIV_SD | GPDM_PRIV_DELEGATED_MGMT, 0, 0 };
	size_t en, n, an;
	scp03_keyset_t isdk;
	json_t *apdus, *se;
	char sid[48];
	gpdm_install_t perso;
	int rc = 0;

	if (sn < 2 || apdu_sw(sel, sn) != 0x9000) {
		*out = tsm_jerr("responses", "SELECT of the ISD failed");
		return 422;
	}
	apdu_unhex(f->device, kdd, sizeof kdd);
	/* With diversified keys the answer's KDD is the SE the SP named: its
	 * keys, no other's (one static set: the KDD plays no part). */
	if (in < 12 || (it->diversify && memcmp(iu, kdd, SCP03_KDD_LEN))) {
		*out = tsm_jerr("responses", "INITIALIZE UPDATE: not the SE named by device");
		return 422;
	}
	if (itsm_isd_keys(it, kdd, &isdk) < 0 || scp03_host_open(&f->s, &isdk, iu, in, it->level, ea, sizeof ea, &en) < 0) {
		OPENSSL_cleanse(&isdk, sizeof isdk);
		*out = tsm_jerr("responses", "INITIALIZE UPDATE: the ISD's card cryptogram does not verify");
		return 422;
	}
	scp03_host_auth_result(&f->s, (const uint8_t *)"\x90\x00", 2); /* checked on the answer */
	apdus = json_array();
	json_array_append_new(apdus, tsm_jhex(ea, en));
	f->nrefs = 0;
	snprintf(sid, sizeof sid, "se/%s", f->device);
	se = itsm_rec_get(it, sid);
	f->put_dm = f->again || !json_is_true(json_object_get(se, "dm"));
	json_decref(se);
	if (f->put_dm) {
		rc |= add(f, apdus, it->put70, it->put70n);
		rc |= itsm_receipt_key(it, kdd, rkey) ||
		      gpdm_put_aes_key(0, GPDM_KVN_RECEIPT, rkey, 16, isdk.dek, isdk.key_len, cmd, sizeof cmd, &n) ||
		      add(f, apdus, cmd, n);
		OPENSSL_cleanse(rkey, sizeof rkey);
	}
	an = (size_t)apdu_unhex(it->sps[f->sp].ssd, aid, sizeof aid);
	rc |= gpdm_install_sd(aid, an, priv, NULL, 0, cmd, sizeof cmd, &n) || add(f, apdus, cmd, n);
	memset(&perso, 0, sizeof perso);
	perso.p1 = GPDM_INSTALL_PERSO;
	perso.app = (gpdm_bytes_t){ aid, an };
	rc |= gpdm_install_apdu(&perso, NULL, 0, cmd, sizeof cmd, &n) || add(f, apdus, cmd, n);
	rc |= gpdm_put_keyset(0, f->ssd.kvn, f->ssd.enc, f->ssd.mac, f->ssd.dek, f->ssd.key_len, isdk.dek, isdk.key_len, cmd,
			      sizeof cmd, &n) ||
	      add(f, apdus, cmd, n);
	OPENSSL_cleanse(&isdk, sizeof isdk);
	OPENSSL_cleanse(cmd, sizeof cmd);
	if (rc) {
		json_decref(apdus);
		*out = tsm_jerr(NULL, "internal: building the SSD's script failed");
		return 500;
	}
	f->stage = 2;
	*out = json_pack("{s:s, s:s, s:o}", "state", "script", "id", f->id, "apdus", apdus);
	return 200;
}

static const char *const what2[2][5] = {
	{ "INSTALL of the SSD", "INSTALL [for personalization]", "PUT KEY of the SSD's key set", "", "" },
	{ "PUT KEY 70 (token key)", "PUT KEY 71 (receipt key)", "INSTALL of the SSD", "INSTALL [for personalization]",
	  "PUT KEY of the SSD's key set" },
};

/* The answers to script 2: all checked, then the SSD recorded. */
static int finish(itsm_t *it, struct flight *f, json_t *rsps, json_t **out)
{
	uint8_t r[300];
	long rn;
	size_t pn;
	char id[96];
	json_t *se;

	rn = itsm_unhex(json_array_get(rsps, 0), r, sizeof r);
	if (rn < 2 || apdu_sw(r, (size_t)rn) != 0x9000) {
		*out = tsm_jerr("responses", "EXTERNAL AUTHENTICATE on the ISD failed");
		return 422;
	}
	for (size_t i = 0; i < f->nrefs; i++) {
		const char *what = what2[f->put_dm][i];
		uint16_t sw;
		rn = itsm_unhex(json_array_get(rsps, i + 1), r, sizeof r);
		if (rn < 2 || scp03_host_unwrap_rsp_ref(&f->s, &f->refs[i], r, (size_t)rn, r, sizeof r, &pn) < 0) {
			*out = tsm_jerr("responses", "answer %zu (%s) failed its R-MAC check", i + 2, what);
			return 422;
		}
		if ((sw = apdu_sw(r, pn)) != 0x9000) {
			*out = tsm_jerr("responses", "%s: the SE answered %04X", what, sw);
			return sw == 0x6A80 || sw == 0x6985 ? 409 : 422;
		}
	}
	snprintf(id, sizeof id, "se/%s", f->device);
	se = itsm_rec_get(it, id);
	if (!se)
		se = json_pack("{s:I}", "counter", (json_int_t)0);
	json_object_set_new(se, "dm", json_true());
	if (f->again)
		json_object_set_new(se, "counter", json_integer(0));
	if (itsm_rec_put(it, id, se) < 0) {
		json_decref(se);
		*out = tsm_jerr(NULL, "internal: records");
		return 500;
	}
	json_decref(se);
	ssd_id(id, sizeof id, f->device, it->sps[f->sp].name);
	se = json_pack("{s:s, s:s, s:i}", "ssd", it->sps[f->sp].ssd, "sp", it->sps[f->sp].name, "kvn", f->ssd.kvn);
	if (itsm_rec_put(it, id, se) < 0) {
		json_decref(se);
		*out = tsm_jerr(NULL, "internal: records");
		return 500;
	}
	json_decref(se);
	it->st.ssds++;
	*out = json_pack("{s:s, s:s}", "state", "done", "ssd", it->sps[f->sp].ssd);
	return 200;
}

int itsm_h_ssd_step(itsm_t *it, const char *id, json_t *body, json_t **out)
{
	struct flight *f = flight_find(it, id);
	json_t *rsps = json_object_get(body, "responses");
	uint8_t a[300], b[300];
	long an, bn;
	int rc;

	if (!f) {
		*out = tsm_jerr(NULL, "no such SSD creation in flight");
		return 404;
	}
	if (!json_is_array(rsps) || json_array_size(rsps) != (f->stage == 1 ? 2 : 1 + f->nrefs)) {
		*out = tsm_jerr("responses", "responses: one hex answer (data and SW) per command of the script");
		return 400;
	}
	if (f->stage == 1) {
		an = itsm_unhex(json_array_get(rsps, 0), a, sizeof a);
		bn = itsm_unhex(json_array_get(rsps, 1), b, sizeof b);
		if (an < 0 || bn < 0) {
			*out = tsm_jerr("responses", "responses: hex strings");
			return 400;
		}
		rc = second(it, f, a, (size_t)an, b, (size_t)bn, out);
		if (rc != 200)
			flight_end(f);
		return rc;
	}
	rc = finish(it, f, rsps, out);
	flight_end(f);
	return rc;
}
