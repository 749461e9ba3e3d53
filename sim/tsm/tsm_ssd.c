/* tsm_ssd.c — the SP-TSM under se_model = ssd (docs/tsm.md#two-tsms):
 * it holds only its own SSD's keys for each SE and works through that
 * SSD under delegated management, the SE issuer's TSM (sim/itsm) doing
 * what needs the ISD.
 *
 *   opening      SELECT the ISD and GET DATA CPLC (plain: who the SE is),
 *                SELECT the SP's SSD, INITIALIZE UPDATE on the SSD's key
 *                set; EXTERNAL AUTHENTICATE with the SSD's keys, derived
 *                from the SP's own master by the SE's KDD;
 *   no SSD yet   the SELECT fails: the SP-TSM asks the issuer for its SSD
 *                (sending the SSD's first key set) and relays the
 *                issuer's scripts (ops "iss") as they come, opaque to it;
 *                then opens its channel on the new SSD;
 *   content      INSTALL [for load] into the SSD, LOAD, INSTALL [for
 *                install], DELETE, each with a token the issuer signs
 *                on request; the answers' receipts (the last LOAD,
 *                INSTALL, DELETE) parsed here and handed to the issuer,
 *                which checks them with the receipt key and counts them.
 *
 * The rest (personalisation through INSTALL [for personalization] and
 * STORE DATA, GET STATUS) goes through the SSD's channel as it goes
 * through the ISD's under shared_isd. */
#include "tsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../core/apdu.h"
#include "../gp/gpdm.h"
#include "../itsm/itsm.h"

int tsm_ssd_on(sess_t *x)
{
	return !strcmp(tsm_policy_get(x->doc, "se_model", "shared_isd"), "ssd");
}

int tsm_ssd_policy_check(tsm_t *t, json_t *policy, json_t **out)
{
	json_t *v = json_object_get(policy, "se_model");

	if (!v)
		return 0;
	if (!json_is_string(v) || (strcmp(json_string_value(v), "shared_isd") && strcmp(json_string_value(v), "ssd"))) {
		*out = tsm_jerr("policy", "policy.se_model: shared_isd or ssd");
		return 400;
	}
	if (!strcmp(json_string_value(v), "ssd") && !t->issuer) {
		*out = tsm_jerr("policy", "policy.se_model = ssd: this TSM has no SE issuer to work with");
		return 503;
	}
	return 0;
}

/* One request to the issuer, in process: its status; *out its answer. */
static int issuer(tsm_t *t, const char *path, json_t *body, json_t **out)
{
	int st = itsm_handle(t->issuer, "POST", path, body, out);

	json_decref(body);
	return st;
}

static void fail_from(sess_t *x, int st, json_t *a, const char *what)
{
	char msg[300];

	snprintf(msg, sizeof msg, "SE issuer: %s: %s", what, a && tsm_jstr(a, "error") ? tsm_jstr(a, "error") : "no answer");
	tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->doc, "device"), msg);
	/* The issuer's refusals (403, 409, 422) as they are; anything else,
	 * a request of ours it could not read included, a bad gateway. */
	tsm_fail_session(x, st > 400 && st < 500 ? st : 502, "issuer", msg);
}

void tsm_ssd_select(sess_t *x, script_t *sc)
{
	uint8_t cmd[40], aid[16];
	size_t n = apdu_build(cmd, sizeof cmd, 0x00, 0xA4, 0x04, 0x00, aid, tsm_hexb(x->t->ssd_aid, aid), 256);

	tsm_sc_raw(sc, cmd, n, "sel_ssd");
	json_object_del(x->facts, "no_ssd");
}

/* The SSD's first key set as the issuer's request carries it. */
static json_t *keys_json(const scp03_keyset_t *k)
{
	return json_pack("{s:i, s:o, s:o, s:o}", "kvn", k->kvn, "enc", tsm_jhex(k->enc, k->key_len), "mac",
			 tsm_jhex(k->mac, k->key_len), "dek", tsm_jhex(k->dek, k->key_len));
}

static json_t *relay(sess_t *x, json_t *apdus)
{
	json_t *ops = json_array();

	for (size_t i = 0; i < json_array_size(apdus); i++)
		json_array_append_new(ops, json_string("iss"));
	json_object_set_new(x->facts, "ops", ops);
	return json_pack("{s:s, s:O}", "action", "apdus", "apdus", apdus);
}

int tsm_ssd_create(sess_t *x, json_t **action)
{
	json_t *f = x->facts, *a = NULL;
	scp03_keyset_t k;
	int st;

	*action = NULL;
	if (!tsm_jbool(f, "no_ssd"))
		return 0;
	if (json_object_get(f, "iss_apdus")) {
		*action = relay(x, json_object_get(f, "iss_apdus"));
		json_object_del(f, "iss_apdus");
		return 1;
	}
	if (tsm_ssd_keys(x->t, tsm_jstr(x->doc, "device"), &k) < 0) {
		tsm_fail_session(x, 500, NULL, "internal: the SSD's keys");
		return -1;
	}
	/* Asked once, the SE still does not select it: the issuer is told so
	 * and checks for itself (itsm_ssd.c) */
	st = issuer(x->t, "/v1/issuer/ssd",
		    json_pack("{s:s, s:s?, s:o, s:b}", "sp", x->t->sp, "device", tsm_jstr(x->doc, "device"), "keys",
			      keys_json(&k), "missing", tsm_jbool(f, "ssd_asked")),
		    &a);
	OPENSSL_cleanse(&k, sizeof k);
	if (st == 201) {
		json_object_set(f, "iss_id", json_object_get(a, "id"));
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->doc, "device"), "SSD requested from the SE issuer");
		*action = relay(x, json_object_get(a, "apdus"));
		json_decref(a);
		return 1;
	}
	if (st != 200) {
		fail_from(x, st, a, "SSD");
		json_decref(a);
		return -1;
	}
	/* The issuer made it before (a lost answer, a second SP-TSM step):
	 * it is there; the SELECT may have failed for another reason, which
	 * the next opening shows.  Said twice, the issuer answered "exists"
	 * to "missing": it does not happen with ours, but another's could. */
	json_decref(a);
	if (tsm_jbool(f, "ssd_asked")) {
		tsm_fail_session(x, 409, "responses", "the SE does not select the SSD the SE issuer says it made");
		return -1;
	}
	json_object_set_new(f, "ssd_asked", json_true());
	json_object_del(f, "no_ssd");
	json_object_del(f, "opened");
	return 0;
}

int tsm_ssd_absorb(sess_t *x, json_t *rsps)
{
	json_t *f = x->facts, *a = NULL;
	char path[80];
	int st;

	snprintf(path, sizeof path, "/v1/issuer/ssd/%s", tsm_jstr(f, "iss_id") ? tsm_jstr(f, "iss_id") : "-");
	json_object_del(f, "ops");
	st = issuer(x->t, path, json_pack("{s:O}", "responses", rsps), &a);
	if (st != 200) {
		fail_from(x, st, a, "SSD");
		json_decref(a);
		return -1;
	}
	if (!strcmp(tsm_jstr(a, "state"), "script")) {
		json_object_set(f, "iss_apdus", json_object_get(a, "apdus"));
	} else {
		json_object_del(f, "iss_id");
		json_object_del(f, "no_ssd");
		json_object_del(f, "opened"); /* the SSD's channel is a first opening, not a retry */
		json_object_set_new(f, "ssd_asked", json_true());
		if (x->dev)
			json_object_set(x->dev, "ssd", json_object_get(a, "ssd"));
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->doc, "device"), "SSD created by the SE issuer");
	}
	json_decref(a);
	return 0;
}

/* ------------------------------------------------------------ content with tokens */

/* The issuer's token for a command (its data without the token), into
 * tok; -1 with the session failed when the issuer refuses. */
static long token(sess_t *x, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d, size_t n, uint8_t *tok, size_t cap)
{
	json_t *a = NULL;
	char insh[3];
	long tn = -1;
	int st;

	snprintf(insh, sizeof insh, "%02X", ins);
	st = issuer(x->t, "/v1/issuer/tokens",
		    json_pack("{s:s, s:s?, s:s, s:i, s:i, s:o}", "sp", x->t->sp, "device", tsm_jstr(x->doc, "device"), "ins",
			      insh, "p1", p1, "p2", p2, "data", tsm_jhex(d, n)),
		    &a);
	if (st == 200)
		tn = apdu_unhex(tsm_jstr(a, "token") ? tsm_jstr(a, "token") : "", tok, cap);
	if (st != 200 || tn <= 0) {
		fail_from(x, st == 200 ? 502 : st, a, "token");
		tn = -1;
	}
	json_decref(a);
	return tn;
}

static void aid_field(gpdm_bytes_t *b, const char *hex, uint8_t *buf)
{
	*b = (gpdm_bytes_t){ buf, tsm_hexb(hex, buf) };
}

/* An INSTALL with its token: the plain APDU, then wrapped into sc. */
static void install(sess_t *x, script_t *sc, const gpdm_install_t *in, const char *op)
{
	uint8_t fields[160], tok[GPDM_SIG_MAX], apdu[400];
	size_t fn, n;
	long tn = 0;

	if (gpdm_install_fields(in, fields, sizeof fields, &fn) != GPDM_OK ||
	    (!sc->dry && (tn = token(x, 0xE6, in->p1, 0x00, fields, fn, tok, sizeof tok)) < 0) ||
	    gpdm_install_apdu(in, tok, (size_t)tn, apdu, sizeof apdu, &n) != GPDM_OK) {
		sc->err = 1;
		return;
	}
	tsm_sc_cmd(sc, apdu[1], apdu[2], apdu[3], apdu + 5, apdu[4], op);
}

void tsm_ssd_load(sess_t *x, script_t *sc)
{
	gpdm_install_t in;
	uint8_t e[16], s[16];

	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_LOAD;
	aid_field(&in.elf, JPKI_ELF, e);
	aid_field(&in.sd, x->t->ssd_aid, s);
	install(x, sc, &in, "load");
	tsm_sc_cmd(sc, 0xE8, 0x80, 0x00, (const uint8_t *)"\xC4\x04\xCA\xFE\xBA\xBE", 6, "lfdb");
}

void tsm_ssd_install(sess_t *x, script_t *sc)
{
	gpdm_install_t in;
	uint8_t e[16], m[16], a[16];

	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_INSTALL_SELECTABLE;
	aid_field(&in.elf, JPKI_ELF, e);
	aid_field(&in.module, JPKI_MOD, m);
	aid_field(&in.app, JPKI_AID, a);
	in.priv = (gpdm_bytes_t){ (const uint8_t *)"\x00", 1 };
	in.params = (gpdm_bytes_t){ (const uint8_t *)"\xC9\x00", 2 };
	install(x, sc, &in, "install");
}

void tsm_ssd_delete(sess_t *x, script_t *sc)
{
	uint8_t d[20], tok[GPDM_SIG_MAX], apdu[400];
	size_t n;
	long tn = 0;

	d[0] = 0x4F;
	d[1] = (uint8_t)tsm_hexb(JPKI_AID, d + 2);
	if ((!sc->dry && (tn = token(x, 0xE4, 0x00, 0x00, d, 2u + d[1], tok, sizeof tok)) < 0) ||
	    gpdm_delete_apdu(0x00, d + 2, d[1], tok, (size_t)tn, apdu, sizeof apdu, &n) != GPDM_OK) {
		sc->err = 1;
		return;
	}
	tsm_sc_cmd(sc, apdu[1], apdu[2], apdu[3], apdu + 5, apdu[4], "delete");
}

int tsm_ssd_receipt(sess_t *x, const char *op, const uint8_t *r, size_t rn)
{
	const char *kind = !strcmp(op, "lfdb") ? "load" : !strcmp(op, "install") ? "install" : !strcmp(op, "delete") ? "delete" : NULL;
	json_t *aids, *a = NULL;
	gpdm_confirm_t c;
	int st;

	if (!kind)
		return 0;
	if (rn < 2 || gpdm_confirm_parse(r, rn - 2, &c) != GPDM_OK) {
		tsm_fail_session(x, 422, "responses", "a delegated-management answer without its receipt");
		return -1;
	}
	aids = !strcmp(kind, "load")	  ? json_pack("[s, s]", JPKI_ELF, x->t->ssd_aid)
	       : !strcmp(kind, "install") ? json_pack("[s, s]", JPKI_ELF, JPKI_AID)
					  : json_pack("[s]", JPKI_AID);
	st = issuer(x->t, "/v1/issuer/receipts",
		    json_pack("{s:s, s:s?, s:s, s:o, s:o}", "sp", x->t->sp, "device", tsm_jstr(x->doc, "device"), "kind", kind,
			      "aids", aids, "confirmation", tsm_jhex(r, rn - 2)),
		    &a);
	if (st != 200) {
		fail_from(x, st == 409 ? 409 : 422, a, "receipt");
		json_decref(a);
		return -1;
	}
	json_decref(a);
	return 0;
}
