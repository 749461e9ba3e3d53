/* tsm_plan.c — a session's next action, planned from its facts and the
 * SE's inventory: open a secure channel, ask for signatures, certify the
 * generated keys at the CA, script the SE work left, finish. */
#include "tsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../core/apdu.h"

/* ------------------------------------------------------------ planning */

static int in_list(sess_t *x, const char *k, int s)
{
	json_t *p = json_object_get(x->facts, k);
	size_t i;
	json_t *v;

	json_array_foreach(p, i, v) if (json_integer_value(v) == s) return 1;
	return 0;
}

static json_t *action_apdus(sess_t *x, script_t *sc)
{
	json_object_set_new(x->facts, "ops", sc->ops);
	return json_pack("{s:s, s:o}", "action", "apdus", "apdus", sc->apdus);
}

static json_t *open_script(sess_t *x)
{
	script_t sc = { json_array(), json_array(), NULL, 0, 0 };
	uint8_t cmd[64], hc[8], isd[16];
	size_t n, in = tsm_hexb(ISD_AID, isd);
	int reopens = (int)tsm_jint(x->facts, "reopens");

	if (json_object_get(x->facts, "opened"))
		json_object_set_new(x->facts, "reopens", json_integer(++reopens));
	json_object_set_new(x->facts, "opened", json_true());
	if (reopens > MAX_REOPENS) {
		json_decref(sc.apdus);
		json_decref(sc.ops);
		tsm_fail_session(x, 422, "responses", "the SE keeps answering out of plan");
		return NULL;
	}
	x->t->st.reopens += reopens > 0;
	sc.s = tsm_scp_new(x->t, tsm_jstr(x->doc, "id"));
	n = apdu_build(cmd, sizeof cmd, 0x00, 0xA4, 0x04, 0x00, isd, in, 256);
	tsm_sc_raw(&sc, cmd, n, "select");
	tsm_sc_raw(&sc, (const uint8_t *)"\x80\xCA\x9F\x7F\x00", 5, "cplc");
	if (tsm_ssd_on(x))
		tsm_ssd_select(x, &sc); /* the channel opens on the SP's own SSD */
	rng_bytes(&x->t->rng, hc, sizeof hc);
	scp03_host_init_update(sc.s, tsm_ssd_on(x) ? x->t->ssd_keys.kvn : x->t->keys.kvn, hc, sizeof hc, cmd, sizeof cmd,
			       &n);
	tsm_sc_raw(&sc, cmd, n, "iu");
	json_object_del(x->facts, "inv");
	return action_apdus(x, &sc);
}

static json_t *card_sign_auth(sess_t *x)
{
	char msg[256];
	uint8_t nonce[16], di[51];
	char nh[33];

	rng_bytes(&x->t->rng, nonce, sizeof nonce);
	apdu_hex(nonce, sizeof nonce, nh);
	tsm_auth_message(msg, sizeof msg, tsm_jstr(x->doc, "op"), tsm_jstr(x->doc, "id"), tsm_jstr(x->doc, "device"), nh);
	json_object_set_new(x->facts, "auth_msg", tsm_jhex((const uint8_t *)msg, strlen(msg)));
	tsm_digestinfo((const uint8_t *)msg, strlen(msg), di);
	json_object_set_new(x->facts, "sign_kind", json_string("auth"));
	json_object_set_new(x->facts, "sign_for", json_pack("[s]", "auth"));
	return json_pack("{s:s, s:s, s:[o], s:[o]}", "action", "card_sign", "purpose", "authorisation",
			 "messages", tsm_jhex((const uint8_t *)msg, strlen(msg)), "digest_infos", tsm_jhex(di, 51));
}

static int phone_req(sess_t *x, int s, ca_phone_req_t *r, uint8_t **spki, uint8_t **nonce, uint8_t **sig,
		     size_t k)
{
	size_t n;

	memset(r, 0, sizeof *r);
	*spki = *nonce = *sig = NULL;
	r->purpose = s ? CA_SIGN : CA_AUTH;
	ca_serial_parse(tsm_jstr(x->doc, "card_serial"), &r->card_serial);
	if (tsm_unhex(tsm_jstr(tsm_facts_obj(x, "spki"), slot_names[s]), spki, &r->spki.n) < 0 ||
	    tsm_unhex(tsm_jstr(x->facts, "req_nonce"), nonce, &r->nonce.n) < 0)
		return -1;
	r->spki.p = *spki;
	r->nonce.p = *nonce;
	if (json_object_get(x->facts, "sigs")) {
		if (tsm_unhex(json_string_value(json_array_get(json_object_get(x->facts, "sigs"), k)), sig, &n) < 0)
			return -1;
		r->signature = (ca_blob_t){ *sig, n };
	}
	return 0;
}

static json_t *card_sign_certs(sess_t *x, json_t *need)
{
	json_t *dis = json_array(), *tbs = json_array();
	size_t i;
	json_t *v;

	if (!tsm_jstr(x->facts, "req_nonce")) {
		uint8_t nonce[16];
		rng_bytes(&x->t->rng, nonce, sizeof nonce);
		json_object_set_new(x->facts, "req_nonce", tsm_jhex(nonce, sizeof nonce));
	}
	json_array_foreach(need, i, v) {
		ca_phone_req_t r;
		uint8_t *spki, *nonce, *sig, di[51], *t = NULL;
		size_t tn = 0;
		int s = (int)json_integer_value(v);
		if (phone_req(x, s, &r, &spki, &nonce, &sig, 0) == 0 && ca_phone_digestinfo(&r, di) == CA_OK &&
		    ca_phone_tbs(&r, &t, &tn) == CA_OK) {
			json_array_append_new(dis, tsm_jhex(di, 51));
			json_array_append_new(tbs, tsm_jhex(t, tn));
		}
		free(t);
		free(spki);
		free(nonce);
		free(sig);
	}
	json_object_set_new(x->facts, "sign_kind", json_string("certs"));
	json_object_set(x->facts, "sign_for", need);
	return json_pack("{s:s, s:s, s:o, s:o}", "action", "card_sign", "purpose", "phone-certificates",
			 "messages", tbs, "digest_infos", dis);
}

/* Every phone-certificate request of the step signed by the card:
 * checked before the holder's other phone is revoked, so that a refused
 * signature revokes nothing (the CA checks them again as it issues). */
static int requests_signed(sess_t *x)
{
	json_t *need = json_object_get(x->facts, "certify_for"), *v;
	size_t i;
	int rc = CA_OK;

	json_array_foreach(need, i, v) {
		ca_phone_req_t r;
		uint8_t *spki, *nonce, *sig, *tbs = NULL;
		size_t tn = 0;
		rc = CA_ERR_ARG;
		if (phone_req(x, (int)json_integer_value(v), &r, &spki, &nonce, &sig, i) == 0 && r.signature.p &&
		    ca_phone_tbs(&r, &tbs, &tn) == CA_OK)
			rc = ca_verify_card(x->t->ca, r.card_serial, tbs, tn, r.signature.p, r.signature.n, NULL);
		free(tbs);
		free(spki);
		free(nonce);
		free(sig);
		if (rc != CA_OK)
			break;
	}
	if (rc != CA_OK)
		tsm_fail_session(x, rc == CA_ERR_SIGNATURE ? 403 : rc == CA_ERR_STATE ? 409 : 422,
				 rc == CA_ERR_STATE ? "card_serial" : "signatures", ca_error(x->t->ca));
	return rc == CA_OK ? 0 : -1;
}

/* Certify the generated keys with the card's signatures. */
static int certify(sess_t *x)
{
	json_t *need = json_object_get(x->facts, "certify_for");
	size_t i;
	json_t *v;

	if (requests_signed(x) < 0)
		return -1;
	if (tsm_jstr(x->doc, "op") && (!strcmp(tsm_jstr(x->doc, "op"), "issue") || !strcmp(tsm_jstr(x->doc, "op"), "reissue")) &&
	    tsm_one_phone(x) != CA_OK) {
		tsm_fail_session(x, 502, NULL, ca_error(x->t->ca));
		return -1;
	}
	json_array_foreach(need, i, v) {
		ca_phone_req_t r;
		uint8_t *spki, *nonce, *sig;
		uint64_t serial = 0;
		int s = (int)json_integer_value(v), rc = CA_ERR_ARG;
		char sh[17];
		if (phone_req(x, s, &r, &spki, &nonce, &sig, i) == 0)
			rc = tsm_ca_issue(x->t, &r, &serial);
		free(spki);
		free(nonce);
		free(sig);
		if (rc != CA_OK && rc != CA_REPLAYED) {
			tsm_fail_session(x, rc == CA_ERR_SIGNATURE ? 403 : rc == CA_ERR_STATE ? 409 : 422, "signatures",
				     ca_error(x->t->ca));
			return -1;
		}
		tsm_serial_str(serial, sh);
		json_object_set_new(tsm_facts_obj(x, "cert"), slot_names[s], json_string(sh));
		json_object_set_new(x->dev, s ? "sign_serial" : "auth_serial", json_string(sh));
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"), s ? "sign certificate issued" : "auth certificate issued");
	}
	json_object_set(x->dev, "holder", json_object_get(x->doc, "holder"));
	json_object_set(x->dev, "card_serial", json_object_get(x->doc, "card_serial"));
	json_object_set_new(x->dev, "status", json_string("active")); /* valid at the CA from now on */
	json_object_del(x->dev, "reason");
	json_object_del(x->dev, "ca_reason");
	json_object_del(x->dev, "pending_revoke");
	json_object_del(x->facts, "sigs");
	json_object_del(x->facts, "certify_for");
	json_object_del(x->facts, "req_nonce");
	return 0;
}

/* A session that fails after its certification: the CA has issued
 * certificates the SE may never hold (a tear while they were written,
 * and the SE then kept answering out of plan; an answer altered on the
 * way; a slot whose key went).  A TSM cannot leave them valid: a relying
 * party would accept a key nobody provisioned, the registry would say
 * active and refuse the holder's retry (409).  It compensates, in the
 * failing step: the certificates this session had issued are revoked at
 * the CA, cessationOfOperation (RFC 5280: no longer needed for the
 * purpose they were issued for — they never went into service; not
 * superseded, nothing replaces them yet), and the registry follows: no
 * live certificate left, revoked with the applet's deletion pending
 * (the retry, or the next check-in, starts the SE clean); the other
 * slot's still live (a lift), half with this slot pending.  Reason
 * issuance_failed.  MODELLED ASSUMPTION: what the real SP-TSM does is
 * not public; a session still open (an app gone for good) is
 * compensated by the holder's next issue instead (tsm_sess_prepare).
 * 1 when it compensated (the failed answer then says why, as a done
 * answer does when the CA changed the certificates), else 0. */
int tsm_uncertify(sess_t *x)
{
	static const char *const keys[2] = { "auth_serial", "sign_serial" };
	json_t *certs = json_object_get(x->facts, "cert"), *pend = json_array();
	int undone = 0, other_live = 0;

	if (!x->dev || !json_object_size(certs) || strcmp(tsm_jstr(x->doc, "state"), "failed")) {
		json_decref(pend);
		return 0;
	}
	for (int s = 0; s < 2; s++) {
		uint64_t serial;
		ca_info_t ci;
		const char *h = tsm_jstr(certs, slot_names[s]), *mine = tsm_jstr(x->dev, keys[s]);
		if (!h) {
			if (mine && !ca_serial_parse(mine, &serial) && ca_status(x->t->ca, serial, &ci) == CA_OK &&
			    (ci.status == CA_VALID || ci.status == CA_HOLD))
				other_live = 1;
			continue;
		}
		if (ca_serial_parse(h, &serial))
			continue;
		if (tsm_ca_revoke(x->t, serial, CA_REASON_CESSATION) != CA_OK && !x->t->crashed &&
		    (ca_status(x->t->ca, serial, &ci) != CA_OK || ci.status == CA_VALID || ci.status == CA_HOLD)) {
			tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"),
				  "failed after certification: the CA refused to revoke its certificates");
			json_decref(pend);
			return 0;
		}
		json_object_set_new(x->dev, keys[s], json_string(h));
		json_array_append_new(pend, json_integer(s));
		undone++;
	}
	if (!undone) {
		json_decref(pend);
		return 0;
	}
	json_object_set(x->dev, "holder", json_object_get(x->doc, "holder"));
	json_object_set(x->dev, "card_serial", json_object_get(x->doc, "card_serial"));
	json_object_set_new(x->dev, "status", json_string(other_live ? "half" : "revoked"));
	if (other_live)
		json_object_set_new(x->dev, "pending_revoke", pend);
	else {
		json_object_set_new(x->dev, "pending_delete", json_true());
		json_decref(pend);
	}
	json_object_set_new(x->dev, "reason", json_string("issuance_failed"));
	json_object_set_new(x->dev, "ca_reason", json_string(ca_reason_name(CA_REASON_CESSATION)));
	json_object_del(x->facts, "cert");
	tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"),
		  other_live ? "failed after certification: its certificate revoked (cessationOfOperation); slot pending"
			     : "failed after certification: its certificates revoked (cessationOfOperation); applet "
			       "deletion pending");
	return 1;
}

static int add_cert_dgis(sess_t *x, script_t *sc, int s)
{
	uint64_t serial;
	uint8_t *der = NULL;
	size_t n;
	char op[16];
	const ca_blob_t *cac = s ? &x->t->sign_ca : &x->t->auth_ca;

	if (ca_serial_parse(tsm_jstr(tsm_facts_obj(x, "cert"), slot_names[s]), &serial) || ca_cert(x->t->ca, serial, &der, &n) != CA_OK)
		return -1;
	snprintf(op, sizeof op, "cert:%d", s);
	tsm_sc_dgi(sc, (uint16_t)(0x0200 | (s + 1)), der, n, op);
	free(der);
	der = NULL;
	if (cac->n) {
		snprintf(op, sizeof op, "ca:%d", s);
		tsm_sc_dgi(sc, (uint16_t)(0x0300 | (s + 1)), cac->p, cac->n, op);
	}
	return 0;
}

/* DGI 81ss: the slot's PIN, from this request's pins.  -1 (a 400) when
 * the request has none for it. */
static int write_pin(sess_t *x, script_t *sc, int s)
{
	const char *pin = tsm_jstr(x->pins, slot_names[s]);
	char op[16];

	if (!pin && sc->dry)
		pin = ""; /* a step finished by the TSM (its script is thrown away):
			   * still SE work to come; the PINs go with the app's next step */
	if (!pin && x->replay)
		return 0;
	if (!pin) {
		x->status = 400;
		json_object_set_new(x->facts, "bad", json_string("pins: this step writes the PINs"));
		return -1;
	}
	snprintf(op, sizeof op, "pin:%d", s);
	tsm_sc_dgi(sc, (uint16_t)(0x8100 | (s + 1)), (const uint8_t *)pin, strlen(pin), op);
	return 0;
}

/* The SE commands still needed, from the inventory; 0 if none. */
static int se_work(sess_t *x, script_t *sc)
{
	json_t *f = x->facts, *inv = json_object_get(f, "inv");
	int applet = tsm_jbool(inv, "applet"), elf = tsm_jbool(inv, "elf");
	size_t before = json_array_size(sc->apdus);
	uint8_t d[64];
	size_t n;
	char op[16];

	if (tsm_jbool(f, "pre_delete") || (tsm_jbool(f, "delete") && !tsm_jbool(f, "deleted"))) {
		int want = tsm_jbool(f, "delete");
		int warn_only = !want && !json_object_get(f, "provision") &&
				!strcmp(tsm_policy_get(x->doc, "delete_applet_on_revoke", "force"), "warn");
		if (applet && !tsm_jbool(f, "delete_refused")) {
			for (int s = 0; s < 2; s++)
				if (tsm_slot_state(x, s) == S_ACTIVE) {
					snprintf(op, sizeof op, "rev:%d", s);
					tsm_sc_dgi(sc, (uint16_t)(0x0400 | (s + 1)), (const uint8_t *)"\x03", 1, op);
				}
			if (!warn_only && !mut_on(MUT_KEEP_APPLET) && tsm_ssd_on(x)) {
				tsm_ssd_delete(x, sc);
			} else if (!warn_only && !mut_on(MUT_KEEP_APPLET)) {
				d[0] = 0x4F;
				d[1] = (uint8_t)tsm_hexb(JPKI_AID, d + 2);
				tsm_sc_cmd(sc, 0xE4, 0x00, 0x00, d, 2u + d[1], "delete");
			}
			if (json_array_size(sc->apdus) > before)
				return 1;
		}
		/* Nothing left to do on the SE for the deletion (or its warning). */
		json_object_del(f, "pre_delete");
		if (want)
			json_object_set_new(f, "deleted", json_boolean(!applet));
		if (tsm_jbool(x->dev, "pending_delete")) {
			json_object_set_new(x->dev, "pending_delete", json_false());
			tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"),
			      applet ? "pending deletion: applet kept (policy warn), slots marked revoked"
				     : "pending deletion executed: applet deleted");
			json_object_set_new(f, "pending_done", json_true());
		}
		if (applet && tsm_jbool(f, "delete_refused") && json_object_get(f, "provision")) {
			tsm_fail_session(x, 409, NULL, "the SE refused to delete the previous applet");
			return -1;
		}
	}
	for (int s = 0; s < 2; s++)
		if (in_list(x, "mark", s) && tsm_slot_state(x, s) == S_ACTIVE &&
		    !tsm_jstr(tsm_facts_obj(x, "cert"), slot_names[s])) {
			snprintf(op, sizeof op, "rev:%d", s);
			tsm_sc_dgi(sc, (uint16_t)(0x0400 | (s + 1)), (const uint8_t *)"\x03", 1, op);
		}
	for (int s = 0; s < 2; s++) {
		int st = tsm_slot_state(x, s);
		if (in_list(x, "erase", s) && (st == S_REVOKED || (st == S_ACTIVE && in_list(x, "mark", s)))) {
			snprintf(op, sizeof op, "erase:%d", s);
			tsm_sc_dgi(sc, (uint16_t)(0x0500 | (s + 1)), NULL, 0, op);
		}
	}
	if (json_object_get(f, "provision")) {
		if (!elf && tsm_ssd_on(x)) {
			tsm_ssd_load(x, sc);
		} else if (!elf) {
			d[0] = (uint8_t)tsm_hexb(JPKI_ELF, d + 1);
			n = 1 + d[0];
			d[n++] = 0;
			d[n++] = 0;
			d[n++] = 0;
			d[n++] = 0;
			tsm_sc_cmd(sc, 0xE6, 0x02, 0x00, d, n, "load");
			tsm_sc_cmd(sc, 0xE8, 0x80, 0x00, (const uint8_t *)"\xC4\x04\xCA\xFE\xBA\xBE", 6, "load");
		}
		if (!applet && tsm_ssd_on(x)) {
			tsm_ssd_install(x, sc);
		} else if (!applet) {
			n = 0;
			d[n] = (uint8_t)tsm_hexb(JPKI_ELF, d + n + 1);
			n += 1 + d[n];
			d[n] = (uint8_t)tsm_hexb(JPKI_MOD, d + n + 1);
			n += 1 + d[n];
			d[n] = (uint8_t)tsm_hexb(JPKI_AID, d + n + 1);
			n += 1 + d[n];
			memcpy(d + n, "\x01\x00\x02\xC9\x00\x00", 6);
			n += 6;
			tsm_sc_cmd(sc, 0xE6, 0x0C, 0x00, d, n, "install");
		}
		for (int s = 0; s < 2; s++) {
			int st = tsm_slot_state(x, s), wrote = 0;
			if (!in_list(x, "provision", s))
				continue;
			if (tsm_jstr(tsm_facts_obj(x, "cert"), slot_names[s])) {
				if (st == S_GENERATED) {
					if (add_cert_dgis(x, sc, s) < 0)
						return -1;
					wrote = 1;
				} else if (st != S_ACTIVE) {
					/* the key went away: start the slot again */
					json_object_del(tsm_facts_obj(x, "cert"), slot_names[s]);
					json_object_del(tsm_facts_obj(x, "spki"), slot_names[s]);
				}
			}
			if (!tsm_jstr(tsm_facts_obj(x, "cert"), slot_names[s]) &&
			    !(tsm_jstr(tsm_facts_obj(x, "spki"), slot_names[s]) && st == S_GENERATED && applet)) {
				if (st == S_ACTIVE && !in_list(x, "mark", s)) {
					snprintf(op, sizeof op, "rev:%d", s);
					tsm_sc_dgi(sc, (uint16_t)(0x0400 | (s + 1)), (const uint8_t *)"\x03", 1, op);
				}
				snprintf(op, sizeof op, "gen:%d", s);
				tsm_sc_dgi(sc, (uint16_t)(0x0100 | (s + 1)), NULL, 0, op);
			}
			if (in_list(x, "pin_slots", s) && !tsm_jbool(tsm_facts_obj(x, "pin_done"), slot_names[s]) &&
			    (wrote || (st == S_ACTIVE && tsm_jstr(tsm_facts_obj(x, "cert"), slot_names[s]))) &&
			    write_pin(x, sc, s) < 0)
				return -1;
		}
	} else {
		for (int s = 0; s < 2; s++)
			if (in_list(x, "pin_slots", s) && !tsm_jbool(tsm_facts_obj(x, "pin_done"), slot_names[s]) && applet &&
			    tsm_slot_state(x, s) == S_ACTIVE && write_pin(x, sc, s) < 0)
				return -1;
	}
	return json_array_size(sc->apdus) > before;
}

/* Whether the CA revoked a certificate this session produced while the
 * session ran: another session's issuance for the same holder (one phone
 * per holder) supersedes this phone between its certify step and its
 * last step.  The CA is the truth; the registry must not mark the phone
 * active.  Only this session's own certificates count: a device record
 * may still name an older, rightly revoked serial of a slot this session
 * did not provision. */
static int superseded_meanwhile(sess_t *x)
{
	json_t *certs = json_object_get(x->facts, "cert");

	for (int s = 0; s < 2; s++) {
		uint64_t serial;
		ca_info_t ci;
		const char *h = tsm_jstr(certs, slot_names[s]);
		if (h && !ca_serial_parse(h, &serial) && ca_status(x->t->ca, serial, &ci) == CA_OK &&
		    ci.status == CA_REVOKED)
			return 1;
	}
	return 0;
}

static void finalize(sess_t *x)
{
	const char *op = tsm_jstr(x->doc, "op");
	json_t *f = x->facts, *res = json_object();
	json_t *inv = json_object_get(f, "inv");

	if ((!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew") || !strcmp(op, "lift")) &&
	    superseded_meanwhile(x)) {
		json_object_set_new(x->dev, "status", json_string("revoked"));
		json_object_set_new(res, "superseded_meanwhile", json_true());
	} else if (!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew") || !strcmp(op, "lift")) {
		json_object_set_new(x->dev, "status", json_string("active"));
		json_object_del(x->dev, "reason");
		json_object_del(x->dev, "ca_reason");
		if (json_array_size(json_object_get(f, "provision")) == 1 && strcmp(op, "lift"))
			json_object_del(x->dev, "sign_serial");
	} else if (!strcmp(op, "revoke")) {
		int mask = (int)tsm_jint(f, "revoke_mask");
		if (!mut_on(MUT_REGISTRY_STALE))
			json_object_set_new(x->dev, "status", json_string(mask == 3 ? "revoked" : "half"));
		if (tsm_jbool(f, "delete_refused"))
			json_object_set_new(res, "warning", json_string("the SE refused DELETE (half-valid)"));
		else if (mask == 3 && !tsm_jbool(f, "delete"))
			json_object_set_new(res, "warning",
					    json_string("policy delete_applet_on_revoke=warn: the applet is kept; "
							"delete it before handing the phone over"));
		else if (mask != 3 && strcmp(tsm_policy_get(x->doc, "half_valid", "block"), "erase_revoked"))
			json_object_set_new(res, "warning",
					    json_string("half-valid: the applet cannot be deleted while one pair is valid"));
	}
	if (json_object_get(f, "revoked_by_tsm"))
		json_object_set(res, "revoked_by_tsm", json_object_get(f, "revoked_by_tsm"));
	if (json_object_get(f, "superseded"))
		json_object_set(res, "superseded", json_object_get(f, "superseded"));
	if (tsm_jbool(f, "pending_done"))
		json_object_set_new(res, "pending_deletion", json_true());
	if (!strcmp(op, "sync") && tsm_jbool(f, "pending_revoke")) {
		json_object_del(x->dev, "pending_revoke");
		json_object_set_new(res, "pending_revocation", json_true());
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"),
			  strcmp(tsm_policy_get(x->doc, "half_valid", "block"), "erase_revoked")
				  ? "pending revocation executed: slot marked revoked"
				  : "pending revocation executed: slot erased");
	}
	if (!strcmp(op, "sync") && tsm_jbool(f, "pending_done") && tsm_jbool(inv, "applet"))
		json_object_set_new(res, "warning",
				    json_string("policy delete_applet_on_revoke=warn: the applet is kept, its slots "
						"revoked; delete it before handing the phone over"));
	/* Why the certificates are no longer valid (the CA changed them
	 * under the TSM: linked revocation, hold, expiry). */
	if (tsm_jstr(x->dev, "reason") && tsm_jstr(x->dev, "status") && strcmp(tsm_jstr(x->dev, "status"), "active")) {
		json_object_set(res, "reason", json_object_get(x->dev, "reason"));
		if (tsm_jstr(x->dev, "ca_reason"))
			json_object_set(res, "ca_reason", json_object_get(x->dev, "ca_reason"));
	}
	json_object_set(res, "device", json_object_get(x->dev, "id"));
	json_object_set(res, "status", json_object_get(x->dev, "status"));
	json_object_set(res, "applet", json_object_get(x->dev, "applet"));
	json_object_set(res, "slots", json_object_get(inv, "slots"));
	if (tsm_jstr(x->dev, "auth_serial"))
		json_object_set(res, "auth_serial", json_object_get(x->dev, "auth_serial"));
	if (tsm_jstr(x->dev, "sign_serial"))
		json_object_set(res, "sign_serial", json_object_get(x->dev, "sign_serial"));
	json_object_set_new(x->doc, "result", res);
	json_object_set_new(x->doc, "state", json_string("done"));
	{
		char what[64];
		snprintf(what, sizeof what, "%s done", op);
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"), what);
	}
	tsm_scp_drop(x->t, tsm_jstr(x->doc, "id"));
	x->t->st.done++;
}

/* Server-side changes whose preconditions hold: CA revocations, lift. */
static int server_side(sess_t *x)
{
	json_t *f = x->facts;
	const char *op = tsm_jstr(x->doc, "op");

	if (json_object_get(f, "revoke_mask") && !tsm_jbool(f, "revoked")) {
		int reason = json_object_get(f, "revoke_reason") ? (int)tsm_jint(f, "revoke_reason") : (int)tsm_jint(f, "reason");
		int mask = (int)tsm_jint(f, "revoke_mask");
		if (!strcmp(op, "lift") && tsm_jbool(f, "lift_auth")) {
			uint64_t a;
			if (!ca_serial_parse(tsm_jstr(x->dev, "auth_serial"), &a) && tsm_ca_lift(x->t, a) != CA_OK) {
				tsm_fail_session(x, 409, NULL, ca_error(x->t->ca));
				return -1;
			}
			tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"), "auth certificate reinstated");
		}
		if (tsm_revoke_serials(x, x->dev, mask, reason) != CA_OK) {
			tsm_fail_session(x, 409, NULL, ca_error(x->t->ca));
			return -1;
		}
		json_object_set_new(f, "revoked", json_true());
		/* The registry says what the CA now says, in the same step. */
		if (!mut_on(MUT_REGISTRY_STALE))
			json_object_set_new(x->dev, "status",
					    json_string(!strcmp(op, "lift") || mask != 3 ? "half" : "revoked"));
		if (mask)
			tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"),
				  mask == 3 ? "certificates revoked" : mask == 1 ? "auth certificate revoked"
									 : "sign certificate revoked");
		if (!strcmp(op, "revoke") && tsm_jbool(f, "remote")) {
			json_object_set_new(x->dev, "pending_delete", json_true());
			tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"), "applet deletion pending (device offline)");
		}
	}
	return 0;
}

json_t *tsm_plan(sess_t *x)
{
	json_t *f = x->facts;
	const char *op = tsm_jstr(x->doc, "op");
	/* Every operation but the check-in is authorised by the card first,
	 * before anything changes on the SE or at the CA: a refused card (another
	 * holder's, a forged signature, a held, revoked or expired certificate,
	 * a wrong PIN that stops the app) then leaves everything as it was. */
	int need_auth = strcmp(op, "sync") != 0;

	for (int round = 0; round < 8; round++) {
		scp03_session_t *s;
		script_t sc = { json_array(), json_array(), NULL, 0, 0 };
		int w;

		if (!tsm_jbool(f, "remote") && tsm_jbool(f, "no_ssd")) {
			json_t *a;
			int r = tsm_ssd_create(x, &a);
			if (r != 0) {
				json_decref(sc.apdus);
				json_decref(sc.ops);
				return a; /* the issuer's script, or NULL: failed */
			}
		}
		if (!tsm_jbool(f, "remote")) {
			s = tsm_scp_find(x->t, tsm_jstr(x->doc, "id"));
			if (!s && x->replay && !tsm_jstr(f, "ea") && json_object_get(f, "inv")) {
				/* Finishing a step from its intent: the secure channel
				 * died with the process, the step's CA work did not.  It
				 * may be half done at the CA (each call is its own CA
				 * commit: one of two revocations, one of two issuances),
				 * so the step is planned on, on the SE's inventory, as it
				 * ran before the kill: the same CA calls again (they are
				 * idempotent), recorded in the registry; only the SE
				 * script it comes to is replaced by a new channel. */
				sc.dry = 1;
			} else if (!s && !tsm_jstr(f, "ea") && !json_object_get(f, "inv")) {
				json_decref(sc.apdus);
				json_decref(sc.ops);
				return open_script(x);
			}
			if (!s && !sc.dry) {
				json_decref(sc.apdus);
				json_decref(sc.ops);
				json_object_del(f, "ea");
				return open_script(x);
			}
			sc.s = s;
			if (tsm_jstr(f, "ea")) {
				uint8_t ea[64];
				size_t en = (size_t)apdu_unhex(tsm_jstr(f, "ea"), ea, sizeof ea);
				tsm_sc_raw(&sc, ea, en, "ea");
				scp03_host_auth_result(s, (const uint8_t *)"\x90\x00", 2); /* checked on the answer */
				json_object_del(f, "ea");
				tsm_sc_inventory(&sc);
				return action_apdus(x, &sc);
			}
		}
		if (!tsm_jbool(f, "prepared") && tsm_sess_prepare(x) < 0)
			goto fail;
		if (need_auth && !tsm_jbool(f, "auth_ok")) {
			json_decref(sc.apdus);
			json_decref(sc.ops);
			return card_sign_auth(x);
		}
		if (tsm_transfer(x) < 0 || server_side(x) < 0)
			goto fail;
		if (!tsm_jbool(f, "remote")) {
			w = se_work(x, &sc);
			if (w < 0 || sc.err)
				goto fail;
			if (w > 0 && sc.dry) {
				json_decref(sc.apdus);
				json_decref(sc.ops);
				return open_script(x);
			}
			if (w > 0) {
				tsm_sc_inventory(&sc);
				return action_apdus(x, &sc);
			}
		}
		json_decref(sc.apdus);
		json_decref(sc.ops);
		sc.apdus = sc.ops = NULL;
		/* Keys generated, not yet certified. */
		if (json_object_get(f, "provision") && !tsm_jbool(f, "remote")) {
			json_t *need = json_array(), *v;
			size_t i;
			json_array_foreach(json_object_get(f, "provision"), i, v) {
				int sl = (int)json_integer_value(v);
				if (!tsm_jstr(tsm_facts_obj(x, "cert"), slot_names[sl]))
					json_array_append(need, v);
			}
			if (json_array_size(need)) {
				if (!json_object_get(f, "sigs")) {
					json_t *a;
					json_object_set(f, "certify_for", need);
					a = card_sign_certs(x, need);
					json_decref(need);
					return a;
				}
				json_decref(need);
				if (certify(x) < 0)
					return NULL;
				continue; /* write the certificates */
			}
			json_decref(need);
		}
		finalize(x);
		return json_pack("{s:s, s:O}", "action", "done", "result", json_object_get(x->doc, "result"));
	fail:
		json_decref(sc.apdus);
		json_decref(sc.ops);
		if (x->status == 400)
			return NULL;
		if (strcmp(tsm_jstr(x->doc, "state"), "failed"))
			tsm_fail_session(x, 500, NULL, "internal: planning failed");
		return NULL;
	}
	tsm_fail_session(x, 500, NULL, "internal: planning did not converge");
	return NULL;
}
