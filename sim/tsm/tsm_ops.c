/* tsm_ops.c — the TSM's endpoints (begin a session, a step, the call
 * centre's hold, the registry check, events) and the recovery of
 * requests left pending in their intents. */
#include "tsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ endpoints */

static json_t *answer(sess_t *x, json_t *action)
{
	json_t *a = json_object();

	json_object_set(a, "session", json_object_get(x->doc, "id"));
	json_object_set(a, "op", json_object_get(x->doc, "op"));
	json_object_set(a, "step", json_object_get(x->doc, "step"));
	json_object_set(a, "state", json_object_get(x->doc, "state"));
	if (tsm_jstr(x->doc, "device"))
		json_object_set(a, "device", json_object_get(x->doc, "device"));
	json_object_update(a, action);
	return a;
}

static void dev_save(sess_t *x)
{
	if (x->dev)
		tsm_doc_put(x->t, "devices", x->dev);
}

static int begin_tx(tsm_t *t)
{
	return tsm_exec(t, "BEGIN IMMEDIATE");
}

static int end_tx(tsm_t *t, int ok)
{
	if (ok)
		return tsm_exec(t, "COMMIT");
	tsm_exec(t, "ROLLBACK");
	return 0;
}

static const char *const ops_known[] = { "issue", "reissue", "renew", "revoke", "lift", "pin_reset", "sync", NULL };

static int check_fields(json_t *b, const char *const *allowed, json_t **out)
{
	const char *k;
	json_t *v;

	json_object_foreach(b, k, v) {
		int ok = 0;
		for (size_t i = 0; allowed[i]; i++)
			ok |= !strcmp(allowed[i], k);
		if (!ok) {
			*out = tsm_jerr(k, "%s: unknown field", k);
			return -1;
		}
	}
	return 0;
}

/* A phone PIN of the format JPKI sets (docs/card.md#pins): auth 4 digits,
 * sign 6-16 of A-Z and 0-9; NULL (absent) is fine. */
static int pin_format(const char *p, int sign)
{
	size_t n = p ? strlen(p) : 0;

	if (!p)
		return 1;
	if (sign ? n < 6 || n > 16 : n != 4)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(p[i] >= '0' && p[i] <= '9') && !(sign && p[i] >= 'A' && p[i] <= 'Z'))
			return 0;
	return 1;
}

static int pins_ok(json_t *pins, json_t **out)
{
	if (!pins)
		return 0;
	if (!json_is_object(pins) || (json_object_get(pins, "auth") && !json_is_string(json_object_get(pins, "auth"))) ||
	    (json_object_get(pins, "sign") && !json_is_string(json_object_get(pins, "sign")))) {
		*out = tsm_jerr("pins", "pins: an object {\"auth\": \"...\", \"sign\": \"...\"}");
		return -1;
	}
	/* refused here, before the SE would refuse the DGI (6A80) mid-session */
	if (!pin_format(tsm_jstr(pins, "auth"), 0)) {
		*out = tsm_jerr("pins", "pins.auth: 4 digits");
		return -1;
	}
	if (!pin_format(tsm_jstr(pins, "sign"), 1)) {
		*out = tsm_jerr("pins", "pins.sign: 6 to 16 of A-Z and 0-9");
		return -1;
	}
	return 0;
}

static int h_step_x(tsm_t *t, const char *id, json_t *b, int replay, json_t **out);

int tsm_h_begin(tsm_t *t, json_t *b, json_t **out)
{
	static const char *const allowed[] = { "op", "card_serial", "idm", "pins", "policy", "reason", "certs", "slot",
					       "device", "remote", NULL };
	const char *op = tsm_jstr(b, "op"), *card = tsm_jstr(b, "card_serial");
	sess_t x = { t, NULL, NULL, NULL, NULL, 0, 0, 0 };
	json_t *action = NULL;
	char id[40];
	uint64_t cs;
	ca_info_t ci;
	int known = 0, rc;
	uint8_t r4[4];

	if (!json_is_object(b)) {
		*out = tsm_jerr("body", "body: a JSON object");
		return 400;
	}
	if (check_fields(b, allowed, out) < 0 || pins_ok(json_object_get(b, "pins"), out) < 0)
		return 400;
	for (size_t i = 0; op && ops_known[i]; i++)
		known |= !strcmp(op, ops_known[i]);
	if (!known) {
		*out = tsm_jerr("op", "op: one of issue reissue renew revoke lift pin_reset sync");
		return 400;
	}
	if (json_object_get(b, "policy") && !json_is_object(json_object_get(b, "policy"))) {
		*out = tsm_jerr("policy", "policy: an object of switches");
		return 400;
	}
	if ((rc = tsm_ssd_policy_check(t, json_object_get(b, "policy"), out)))
		return rc;
	if (tsm_jstr(b, "certs") && strcmp(tsm_jstr(b, "certs"), "both") && strcmp(tsm_jstr(b, "certs"), "auth") &&
	    strcmp(tsm_jstr(b, "certs"), "sign")) {
		*out = tsm_jerr("certs", "certs: both, auth or sign");
		return 400;
	}
	if (!strcmp(op, "pin_reset") && (!tsm_jstr(b, "slot") || (strcmp(tsm_jstr(b, "slot"), "auth") && strcmp(tsm_jstr(b, "slot"), "sign")))) {
		*out = tsm_jerr("slot", "slot: auth or sign");
		return 400;
	}
	if (tsm_jbool(b, "remote") && (strcmp(op, "revoke") || !tsm_jstr(b, "device"))) {
		*out = tsm_jerr("remote", "remote: only a revocation of a named device");
		return 400;
	}
	if (json_object_get(b, "reason") && (!tsm_jstr(b, "reason") || ca_reason_parse(tsm_jstr(b, "reason")) < 0)) {
		*out = tsm_jerr("reason", "reason: a CRLReason name");
		return 400;
	}
	if (strcmp(op, "sync")) {
		if (!card || ca_serial_parse(card, &cs)) {
			*out = tsm_jerr("card_serial", "card_serial: the card sign certificate's serial, hex");
			return 400;
		}
		if ((rc = ca_status(t->ca, cs, &ci)) != CA_OK) {
			*out = tsm_jerr("card_serial", "card_serial: %s", ca_error(t->ca));
			return 404;
		}
		if (ci.kind != CA_CARD) {
			*out = tsm_jerr("card_serial", "card_serial: not a card certificate");
			return 422;
		}
		if (ci.purpose != CA_SIGN) {
			/* the card's sign key authorises; a minor's card has none */
			*out = tsm_jerr("card_serial", "card_serial: not a card sign certificate (a minor's card has none)");
			return 422;
		}
		if (ci.status != CA_VALID && strcmp(op, "revoke")) {
			/* held, revoked or expired: the card authorises nothing (a
			 * revocation is refused at its authorisation step instead:
			 * under revoke_without_card the phone may sign it) */
			*out = tsm_jerr("card_serial", "card_serial: the card certificate is %s", ca_status_name(ci.status));
			return 409;
		}
	}
	if (begin_tx(t) < 0) {
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	rng_bytes(&t->rng, r4, 4);
	snprintf(id, sizeof id, "S%06llu-%02X%02X%02X%02X", (unsigned long long)tsm_next_counter(t), r4[0], r4[1], r4[2],
		 r4[3]);
	x.doc = json_pack("{s:s, s:s, s:s, s:i, s:{}, s:o}", "id", id, "op", op, "state", "open", "step", 1, "facts",
			  "policy", t->policy ? json_deep_copy(t->policy) : json_object());
	if (json_object_get(b, "policy"))
		json_object_update(json_object_get(x.doc, "policy"), json_object_get(b, "policy"));
	x.facts = json_object_get(x.doc, "facts");
	x.pins = json_object_get(b, "pins");
	if (card) {
		json_object_set_new(x.doc, "card_serial", json_string(card));
		json_object_set_new(x.doc, "holder", json_string(ci.holder));
	}
	if (tsm_jstr(b, "idm"))
		json_object_set(x.facts, "idm", json_object_get(b, "idm"));
	if (tsm_jstr(b, "certs"))
		json_object_set(x.facts, "certs", json_object_get(b, "certs"));
	if (tsm_jstr(b, "slot"))
		json_object_set(x.facts, "slot", json_object_get(b, "slot"));
	json_object_set_new(x.facts, "reason", json_integer(tsm_jstr(b, "reason") ? ca_reason_parse(tsm_jstr(b, "reason")) : 0));
	if (tsm_jbool(b, "remote")) {
		json_object_set_new(x.facts, "remote", json_true());
		x.dev = tsm_doc_get(t, "devices", tsm_jstr(b, "device"));
		if (!x.dev) {
			end_tx(t, 0);
			json_decref(x.doc);
			*out = tsm_jerr("device", "device: no such device");
			return 404;
		}
		json_object_set(x.doc, "device", json_object_get(b, "device"));
		/* No SE: the first step changes the CA.  The session is committed
		 * at step 0 with its intent, then run as a step. */
		t->st.sessions++;
		json_object_set_new(x.doc, "step", json_integer(0));
		json_object_set_new(x.doc, "action", json_pack("{s:s}", "action", "begin"));
		action = json_pack("{s:i}", "step", 0);
		tsm_rng_save(t);
		if (tsm_doc_put(t, "sessions", x.doc) < 0 || tsm_intent_put(t, id, "step", 0, action) < 0 || end_tx(t, 1) < 0) {
			end_tx(t, 0);
			*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
			rc = 500;
			goto out;
		}
		rc = h_step_x(t, id, action, 0, out);
		rc = rc == 200 ? 201 : rc;
		goto out;
	}
	t->st.sessions++;
	action = tsm_plan(&x);
	if (!action && x.status == 400) {
		*out = tsm_jerr("pins", "%s", tsm_jstr(x.facts, "bad"));
		rc = 400;
		end_tx(t, 0);
		goto out;
	}
	if (!action)
		action = json_pack("{s:s, s:O}", "action", "failed", "error", json_object_get(x.doc, "error"));
	json_object_set(x.doc, "action", action);
	dev_save(&x);
	tsm_rng_save(t);
	if (tsm_doc_put(t, "sessions", x.doc) < 0 || end_tx(t, 1) < 0) {
		end_tx(t, 0);
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		rc = 500;
		goto out;
	}
	*out = answer(&x, action);
	rc = !strcmp(tsm_jstr(x.doc, "state"), "failed") ? (x.status ? x.status : 409) : 201;
out:
	json_decref(action);
	json_decref(x.doc);
	json_decref(x.dev);
	return rc;
}

static int recover_one(tsm_t *t, const char *id);

static int h_step_x(tsm_t *t, const char *id, json_t *b, int replay, json_t **out)
{
	static const char *const allowed[] = { "step", "responses", "signatures", "signer", "pins", NULL };
	sess_t x = { t, NULL, NULL, NULL, NULL, 0, replay, 0 };
	json_t *action = NULL, *last;
	json_int_t step, cur;
	int rc, intent = 0, committed = 0;

	if (!json_is_object(b)) {
		*out = tsm_jerr("body", "body: a JSON object");
		return 400;
	}
	if (check_fields(b, allowed, out) < 0 || pins_ok(json_object_get(b, "pins"), out) < 0)
		return 400;
	if (!json_is_integer(json_object_get(b, "step"))) {
		*out = tsm_jerr("step", "step: the step number being answered");
		return 400;
	}
	step = tsm_jint(b, "step");
	if (!replay) {
		/* An intent left by a crash on this session: finish it first. */
		if (tsm_intent_at(t, id) >= 0)
			recover_one(t, id);
		/* The write-ahead intent, committed before anything reaches the CA. */
		const json_t *cur_doc = tsm_doc_peek(t, "sessions", id);
		if (cur_doc && json_integer_value(json_object_get(cur_doc, "step")) == step &&
		    !strcmp(json_string_value(json_object_get(cur_doc, "state")), "open")) {
			if (tsm_intent_put(t, id, "step", step, b) < 0) {
				*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
				return 500;
			}
			intent = 1;
		}
	} else {
		intent = 1;
		x.intent_at = tsm_intent_at(t, id);
		tsm_scp_drop(t, id); /* the SCP03 host session is gone with the crash */
	}
	t->touched = 0;
	if (begin_tx(t) < 0) {
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		rc = 500;
		goto out;
	}
	x.doc = tsm_doc_get(t, "sessions", id);
	if (!x.doc) {
		end_tx(t, 0);
		*out = tsm_jerr("session", "session: no such session %s", id);
		rc = 404;
		goto out;
	}
	x.facts = json_object_get(x.doc, "facts");
	x.pins = replay ? NULL : json_object_get(b, "pins");
	cur = tsm_jint(x.doc, "step");
	last = json_object_get(x.doc, "action");
	if (step == cur - 1 || (step == cur && strcmp(tsm_jstr(x.doc, "state"), "open"))) {
		/* The answer to this step was lost: the same answer again. */
		end_tx(t, 0);
		if (step == cur - 1 || !strcmp(tsm_jstr(x.doc, "state"), "done")) {
			*out = answer(&x, last);
			rc = 200;
			goto out;
		}
		*out = json_deep_copy(json_object_get(x.doc, "error"));
		rc = 409;
		goto out;
	}
	if (step != cur) {
		end_tx(t, 0);
		*out = tsm_jerr("step", "step: the session is at step %lld", (long long)cur);
		rc = 409;
		goto out;
	}
	if (tsm_jstr(x.doc, "device"))
		x.dev = tsm_doc_get(t, "devices", tsm_jstr(x.doc, "device"));
	t->st.steps++;
	if (!strcmp(tsm_jstr(last, "action"), "apdus")) {
		if (!json_is_array(json_object_get(b, "responses"))) {
			end_tx(t, 0);
			*out = tsm_jerr("responses", "responses: one hex response per APDU of the script");
			rc = 400;
			goto out;
		}
		if (tsm_absorb_apdus(&x, json_object_get(b, "responses")) < 0)
			goto save;
	} else if (!strcmp(tsm_jstr(last, "action"), "card_sign")) {
		if (tsm_absorb_sigs(&x, json_object_get(b, "signatures"), json_object_get(b, "signer")) < 0) {
			if (x.status == 400) {
				end_tx(t, 0);
				*out = tsm_jerr(tsm_jstr(x.facts, "bad_field") ? tsm_jstr(x.facts, "bad_field") : "signatures", "%s",
					    tsm_jstr(x.facts, "bad"));
				rc = 400;
				goto out;
			}
			goto save;
		}
	}
	action = tsm_plan(&x);
	if (!action && x.status == 400) {
		end_tx(t, 0);
		*out = tsm_jerr("pins", "%s", tsm_jstr(x.facts, "bad"));
		rc = 400;
		goto out;
	}
save:
	if (!action)
		action = json_pack("{s:s, s:O}", "action", "failed", "error", json_object_get(x.doc, "error"));
	if (tsm_uncertify(&x)) { /* failed after its certification: compensated in this step */
		json_object_set(action, "reason", json_object_get(x.dev, "reason"));
		json_object_set(action, "ca_reason", json_object_get(x.dev, "ca_reason"));
	}
	json_object_set_new(x.doc, "step", json_integer(cur + 1));
	json_object_set(x.doc, "action", action);
	dev_save(&x);
	if (t->crashed) { /* tsm_fault: the process "died" before its commit */
		end_tx(t, 0);
		*out = tsm_jerr(NULL, "simulated crash");
		rc = 500;
		goto out;
	}
	tsm_intent_del(t, id);
	tsm_rng_save(t);
	if (tsm_doc_put(t, "sessions", x.doc) < 0 || end_tx(t, 1) < 0) {
		end_tx(t, 0);
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		rc = 500;
		goto out;
	}
	committed = 1;
	*out = answer(&x, action);
	rc = !strcmp(tsm_jstr(x.doc, "state"), "failed") ? (x.status ? x.status : 409) : 200;
out:
	json_decref(action);
	json_decref(x.doc);
	json_decref(x.dev);
	if (intent && !committed && !t->crashed && !replay) {
		/* Not committed.  Nothing reached the CA: forget the intent;
		 * something did: the TSM finishes the step itself. */
		if (t->touched)
			recover_one(t, id);
		else
			tsm_intent_del(t, id);
	}
	return rc;
}

int tsm_h_step(tsm_t *t, const char *id, json_t *b, json_t **out)
{
	return h_step_x(t, id, b, 0, out);
}

/* Finish the request an intent names.  0 when it is gone afterwards. */
static int recover_one(tsm_t *t, const char *id)
{
	sqlite3_stmt *st;
	char *kind = NULL, *body = NULL;
	json_int_t step = 0;
	json_t *b, *o = NULL, *doc;

	if (sqlite3_prepare_v2(t->db, "SELECT kind, step, body FROM intents WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		kind = strdup((const char *)sqlite3_column_text(st, 0));
		step = sqlite3_column_int64(st, 1);
		body = strdup((const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	if (!kind || !body) {
		free(kind);
		free(body);
		return 0;
	}
	b = json_loads(body, 0, NULL);
	if (!strcmp(kind, "link")) {
		/* A linked hold: the device reconciled again (holding a held
		 * certificate is CA_OK; a registry already following is left). */
		if (tsm_reconcile(t, tsm_jstr(b, "device")) == 0) {
			tsm_intent_del(t, id);
			tsm_event(t, NULL, tsm_jstr(b, "device"), "recovered: linked hold finished from its intent");
		}
	} else if (!strcmp(kind, "hold")) {
		tsm_h_hold(t, b, &o); /* holding a held certificate is CA_OK */
		tsm_intent_del(t, id);
		tsm_event(t, NULL, NULL, "recovered: call-centre hold finished from its intent");
	} else if (!strcmp(kind, "platform")) {
		tsm_platform_undo(t, id, b); /* a platform service's request: undone (tsm_platform.c) */
	} else {
		doc = tsm_doc_get(t, "sessions", id);
		if (!doc || tsm_jint(doc, "step") != step || strcmp(tsm_jstr(doc, "state"), "open")) {
			tsm_intent_del(t, id); /* the step committed, or nothing to finish */
		} else {
			h_step_x(t, id, b, 1, &o);
			if (tsm_intent_at(t, id) < 0) {
				json_t *d2 = tsm_doc_get(t, "sessions", id);
				tsm_event(t, id, d2 ? tsm_jstr(d2, "device") : NULL, "recovered: step finished from its intent");
				json_decref(d2);
			}
		}
		json_decref(doc);
	}
	json_decref(o);
	json_decref(b);
	free(kind);
	free(body);
	return tsm_intent_at(t, id) < 0 ? 0 : -1;
}

int tsm_recover(tsm_t *t)
{
	sqlite3_stmt *st;
	json_t *ids = json_array(), *v;
	size_t i;
	int left = 0;

	if (sqlite3_prepare_v2(t->db, "SELECT id FROM intents ORDER BY rowid", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(ids, json_string((const char *)sqlite3_column_text(st, 0)));
		sqlite3_finalize(st);
	}
	json_array_foreach(ids, i, v) left += recover_one(t, json_string_value(v)) < 0;
	json_decref(ids);
	return left;
}

int tsm_h_hold(tsm_t *t, json_t *b, json_t **out)
{
	const char *holder = tsm_jstr(b, "holder");
	json_t *devs, *d, *held;
	size_t i;
	int rc = 200;

	char iid[96];

	if (!json_is_object(b) || !holder) {
		*out = tsm_jerr(json_is_object(b) ? "holder" : "body", "holder: the holder's id");
		return 400;
	}
	snprintf(iid, sizeof iid, "hold:%s", holder);
	if (tsm_intent_put(t, iid, "hold", 0, b) < 0) {
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	t->touched = 0;
	if (begin_tx(t) < 0) {
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	devs = tsm_docs_by_key(t, "devices", holder);
	held = json_array();
	json_array_foreach(devs, i, d) {
		static const char *const keys[2] = { "auth_serial", "sign_serial" };
		if (!tsm_jstr(d, "status") || strcmp(tsm_jstr(d, "status"), "active"))
			continue;
		for (int s = 0; s < 2; s++) {
			uint64_t serial;
			if (tsm_jstr(d, keys[s]) && !ca_serial_parse(tsm_jstr(d, keys[s]), &serial) &&
			    tsm_ca_hold(t, serial) != CA_OK)
				rc = 409;
		}
		json_object_set_new(d, "status", json_string("hold"));
		tsm_doc_put(t, "devices", d);
		tsm_event(t, NULL, tsm_jstr(d, "id"), "call centre: certificates on hold");
		json_array_append(held, d);
	}
	json_decref(devs);
	if (t->crashed || rc != 200 || !json_array_size(held)) {
		end_tx(t, 0);
		if (!t->crashed)
			tsm_intent_del(t, iid);
		if (t->crashed)
			rc = 500;
		json_decref(held);
		*out = rc != 200 ? tsm_jerr(NULL, "%s", ca_error(t->ca)) : tsm_jerr("holder", "holder: no device with valid certificates");
		return rc != 200 ? rc : 404;
	}
	tsm_intent_del(t, iid);
	end_tx(t, 1);
	*out = json_pack("{s:s, s:o}", "holder", holder, "devices", held);
	return 200;
}

/* Every valid or held phone certificate the CA holds for a holder of the
 * registry is some device's auth_serial or sign_serial. */
static void ca_to_registry(tsm_t *t, json_t *devs, json_t *problems)
{
	json_t *holders = json_object(), *d, *v;
	const char *h;
	size_t i;

	json_array_foreach(devs, i, d) if (tsm_jstr(d, "holder")) json_object_set_new(holders, tsm_jstr(d, "holder"), json_true());
	json_object_foreach(holders, h, v) {
		size_t n = 0;
		uint64_t *serials;
		if (ca_list_holder(t->ca, h, NULL, 0, &n) != CA_OK || !n)
			continue;
		serials = calloc(n, sizeof *serials);
		if (!serials || ca_list_holder(t->ca, h, serials, n, &n) != CA_OK) {
			free(serials);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			ca_info_t ci;
			char sh[17], msg[160];
			int found = 0;
			size_t j;
			if (ca_status(t->ca, serials[k], &ci) != CA_OK || ci.kind != CA_PHONE ||
			    (ci.status != CA_VALID && ci.status != CA_HOLD))
				continue;
			tsm_serial_str(serials[k], sh);
			json_array_foreach(devs, j, d) {
				const char *a = tsm_jstr(d, "auth_serial"), *s = tsm_jstr(d, "sign_serial");
				found |= (a && !strcmp(a, sh)) || (s && !strcmp(s, sh));
			}
			if (!found) {
				snprintf(msg, sizeof msg, "%s: CA phone certificate %s (%s) is in no device record", h, sh,
					 ca_status_name(ci.status));
				json_array_append_new(problems, json_string(msg));
			}
		}
		free(serials);
	}
	json_decref(holders);
}

/* Registry ↔ CA agreement (invariant 4, docs/domain.md#invariants), and
 * sessions in flight. */
int tsm_h_check(tsm_t *t, json_t **out)
{
	json_t *devs = tsm_docs_all(t, "devices"), *d, *problems = json_array(), *open, *flying = json_array();
	size_t i;

	open = tsm_docs_by_key(t, "sessions", "open");
	json_decref(flying);
	flying = tsm_in_flight_list(t);
	json_array_foreach(devs, i, d) {
		static const char *const keys[2] = { "auth_serial", "sign_serial" };
		const char *st = tsm_jstr(d, "status");
		if (tsm_in_flight(flying, tsm_jstr(d, "id")))
			continue;
		for (int s = 0; s < 2; s++) {
			uint64_t serial;
			ca_info_t ci;
			char msg[160];
			if (!tsm_jstr(d, keys[s]) || ca_serial_parse(tsm_jstr(d, keys[s]), &serial))
				continue;
			if (ca_status(t->ca, serial, &ci) != CA_OK) {
				snprintf(msg, sizeof msg, "%s: %s %s unknown to the CA", tsm_jstr(d, "id"), keys[s], tsm_jstr(d, keys[s]));
				json_array_append_new(problems, json_string(msg));
				continue;
			}
			if ((!strcmp(st, "active") && ci.status != CA_VALID && ci.status != CA_EXPIRED) ||
			    (!strcmp(st, "hold") && ci.status != CA_HOLD) ||
			    (!strcmp(st, "revoked") && ci.status == CA_VALID) ||
			    (!strcmp(st, "expired") && (ci.status == CA_VALID || ci.status == CA_HOLD))) {
				snprintf(msg, sizeof msg, "%s: registry says %s, CA says %s for %s", tsm_jstr(d, "id"), st,
					 ca_status_name(ci.status), tsm_jstr(d, keys[s]));
				json_array_append_new(problems, json_string(msg));
			}
		}
	}
	if (!json_array_size(flying))
		ca_to_registry(t, devs, problems);
	*out = json_pack("{s:b, s:o, s:i, s:i, s:o}", "ok", json_array_size(problems) == 0, "problems", problems,
			 "devices", (int)json_array_size(devs), "open_sessions", (int)json_array_size(open), "in_flight",
			 flying);
	json_decref(open);
	json_decref(devs);
	return 200;
}

int tsm_h_events(tsm_t *t, json_t **out)
{
	sqlite3_stmt *st;
	json_t *a = json_array();

	if (sqlite3_prepare_v2(t->db, "SELECT seq, at, session, device, what FROM events ORDER BY seq DESC LIMIT 200", -1,
			       &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			char at[16];
			vclock_format(sqlite3_column_int64(st, 1), at);
			json_array_insert_new(a, 0,
					      json_pack("{s:I, s:s, s:s?, s:s?, s:s}", "seq",
							(json_int_t)sqlite3_column_int64(st, 0), "at", at, "session",
							(const char *)sqlite3_column_text(st, 2), "device",
							(const char *)sqlite3_column_text(st, 3), "what",
							(const char *)sqlite3_column_text(st, 4)));
		}
		sqlite3_finalize(st);
	}
	*out = json_pack("{s:o}", "events", a);
	return 200;
}
