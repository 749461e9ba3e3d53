/* wallet_ops.c — what each operation asks of the app (the iPhone, the
 * holder's card) and does at the CA and in the registry
 * (docs/ios.md#the-provisioning-service).  Every step below is a
 * MODELLED ASSUMPTION: public sources give the holder's steps of the
 * provisioning (docs/ios.md#sources), not the protocol.
 *
 *   issue, reissue, renew   liveness (at begin) -> attest (new keys, the
 *                           attestation over our challenge, biometrics) ->
 *                           card_sign (after the 入力補助 PIN and the sign
 *                           password: the card's text read, the
 *                           authorisation and both certificate requests
 *                           signed) -> one phone per holder (the broker),
 *                           the CA issues -> install (the credential, the
 *                           new iPhone PINs set by the holder) -> done
 *   lift                    attest (a new sign key) -> card_sign -> the auth
 *                           certificate lifted, the sign one revoked
 *                           (superseded) and issued anew -> install -> done
 *   revoke                  card_sign -> the CA revokes -> remove -> done
 *                           (one pair of two, certs: half-valid -> erase
 *                           under half_valid = erase_revoked -> done)
 *   pin_reset               card_sign -> set_pins -> done
 *   sync                    (the check-in) remove when a deletion is pending,
 *                           erase a pair the CA revoked alone (erase_revoked) -> done
 *
 * Before issue, reissue, renew and lift change the CA, the service
 * commits a write-ahead intent naming the certificate requests through
 * the broker (sim/tsm/tsm_platform.c); the iPhone's answer to install
 * finishes it with the registry's record.  A request that fails after
 * it, or an iPhone that refuses the credential, has it undone at once;
 * one the service never finished (killed) is undone by the TSM at its
 * next open.  Undone: the requests' certificates revoked
 * (docs/ios.md#crash-recovery). */
#include "wallet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/apdu.h"

enum { AUTH = 0, SIGN = 1 };
static const char *const slot_names[2] = { "auth", "sign" };
static const char *const serial_keys[2] = { "auth_serial", "sign_serial" };

static const char *op_of(wsess_t *x)
{
	return wallet_jstr(x->doc, "op");
}

static int is_op(wsess_t *x, const char *op)
{
	return !strcmp(op_of(x), op);
}

static int provisions(wsess_t *x)
{
	return is_op(x, "issue") || is_op(x, "reissue") || is_op(x, "renew");
}

static int bad(wsess_t *x, const char *field, const char *why)
{
	x->status = 400;
	json_object_set_new(x->facts, "bad_field", json_string(field));
	json_object_set_new(x->facts, "bad", json_string(why));
	return -1;
}

/* The registry record of the session's device, fields set (the broker). */
static int record(wsess_t *x, json_t *fields)
{
	char path[96];
	json_t *out = NULL;
	int rc;

	json_object_set_new(fields, "platform", json_string("ios"));
	snprintf(path, sizeof path, "/v1/tsm/platform/devices/%s", wallet_jstr(x->doc, "device"));
	rc = wallet_tsm(x->w, "POST", path, fields, &out);
	json_decref(fields);
	if (rc != 200)
		wallet_fail(x, 502, NULL, wallet_jstr(out, "error") ? wallet_jstr(out, "error") : "registry");
	json_decref(out);
	return rc == 200 ? 0 : -1;
}

static json_t *registry(wsess_t *x)
{
	char path[96];
	json_t *out = NULL;

	snprintf(path, sizeof path, "/v1/tsm/devices/%s", wallet_jstr(x->doc, "device"));
	if (wallet_tsm(x->w, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static json_t *done(wsess_t *x, json_t *result)
{
	json_object_set_new(x->doc, "state", json_string("done"));
	json_object_set(x->doc, "result", result);
	x->w->st.done++;
	return json_pack("{s:s, s:o}", "action", "done", "result", result);
}

/* ------------------------------------------------------------ begin */

/* The card's sign certificate: known, a card's, a sign one, valid (the
 * TSM's begin checks the same, sim/tsm/tsm_ops.c). */
static int card_ok(wsess_t *x, ca_info_t *ci)
{
	uint64_t cs;

	if (ca_serial_parse(wallet_jstr(x->doc, "card_serial"), &cs)) {
		wallet_fail(x, 400, "card_serial", "card_serial: the card sign certificate's serial, hex");
		return -1;
	}
	if (ca_status(x->w->ca, cs, ci) != CA_OK) {
		wallet_fail(x, 404, "card_serial", ca_error(x->w->ca));
		return -1;
	}
	if (ci->kind != CA_CARD || ci->purpose != CA_SIGN) {
		wallet_fail(x, 422, "card_serial", "card_serial: not a card sign certificate (a minor's card has none)");
		return -1;
	}
	if (ci->status != CA_VALID) {
		char msg[96];
		snprintf(msg, sizeof msg, "card_serial: the card certificate is %s", ca_status_name(ci->status));
		wallet_fail(x, 409, "card_serial", msg);
		return -1;
	}
	return 0;
}

/* slots (a new reference) is taken. */
static json_t *attest_action(wsess_t *x, json_t *slots)
{
	uint8_t ch[WALLET_CHALLENGE];

	rng_bytes(&x->w->rng, ch, sizeof ch);
	json_object_set_new(x->facts, "challenge", tsm_jhex(ch, sizeof ch));
	json_object_set_new(x->facts, "await", json_string("attest"));
	json_object_set(x->facts, "keygen", slots);
	return json_pack("{s:s, s:o, s:o}", "action", "attest", "challenge", tsm_jhex(ch, sizeof ch), "keygen", slots);
}

/* The card signs the TSM's authorisation message and, for the slots in
 * the facts' keygen, the CA's phone-certificate requests. */
static json_t *card_sign_action(wsess_t *x)
{
	json_t *msgs = json_array(), *dis = json_array(), *v, *need = json_object_get(x->facts, "keygen");
	uint8_t nonce[16], di[51];
	char nh[33], msg[256];
	size_t i;
	int n;

	rng_bytes(&x->w->rng, nonce, sizeof nonce);
	apdu_hex(nonce, sizeof nonce, nh);
	n = tsm_auth_message(msg, sizeof msg, op_of(x), wallet_jstr(x->doc, "id"), wallet_jstr(x->doc, "device"), nh);
	json_object_set_new(x->facts, "auth_msg", tsm_jhex((const uint8_t *)msg, (size_t)n));
	tsm_digestinfo((const uint8_t *)msg, (size_t)n, di);
	json_array_append_new(msgs, tsm_jhex((const uint8_t *)msg, (size_t)n));
	json_array_append_new(dis, tsm_jhex(di, sizeof di));
	rng_bytes(&x->w->rng, nonce, sizeof nonce);
	json_object_set_new(x->facts, "req_nonce", tsm_jhex(nonce, sizeof nonce));
	json_array_foreach(need, i, v) {
		ca_phone_req_t r = { .purpose = !strcmp(json_string_value(v), "sign") ? CA_SIGN : CA_AUTH,
				     .nonce = { nonce, sizeof nonce } };
		uint8_t *spki = NULL, *tbs = NULL;
		size_t sn, tn;
		ca_serial_parse(wallet_jstr(x->doc, "card_serial"), &r.card_serial);
		if (wallet_unhex(wallet_jstr(json_object_get(x->facts, "spki"), json_string_value(v)), &spki, &sn) == 0) {
			r.spki = (ca_blob_t){ spki, sn };
			if (ca_phone_tbs(&r, &tbs, &tn) == CA_OK && ca_phone_digestinfo(&r, di) == CA_OK) {
				json_array_append_new(msgs, tsm_jhex(tbs, tn));
				json_array_append_new(dis, tsm_jhex(di, sizeof di));
			}
		}
		free(tbs);
		free(spki);
	}
	json_object_set_new(x->facts, "await", json_string("card_sign"));
	json_object_set_new(x->facts, "nsigs", json_integer((json_int_t)json_array_size(dis)));
	/* The holder's card over NFC: for a provisioning, its text read
	 * after the 入力補助 PIN, then the sign password and the signatures. */
	return json_pack("{s:s, s:s, s:o, s:o, s:b}", "action", "card_sign", "purpose",
			 json_array_size(need) ? "provisioning" : "authorisation", "messages", msgs, "digest_infos", dis,
			 "read_text", provisions(x));
}

/* ------------------------------------------------------------ half-valid */

/* One pair revoked, the other valid (docs/ios.md#half-valid, the TSM's
 * half_valid switch on an iPhone): under erase_revoked the iPhone erases
 * the revoked pair (action erase); under block, the default, it keeps it
 * — the credential cannot be removed while the other pair is valid — and
 * the answer says so.  The record: half, nothing pending once done. */
static json_t *half_done(wsess_t *x, int slot, int erased)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:b}", "device", wallet_jstr(x->doc, "device"), "status", "half", "revoked",
			      slot_names[slot], "erased", erased);

	if (!erased)
		json_object_set_new(r, "warning",
				    json_pack("s++", "the credential cannot be removed while the ",
					      slot_names[!slot], " pair is valid: the revoked certificate stays on the iPhone"));
	json_object_set(r, "reason", json_object_get(x->facts, "reason"));
	return done(x, r);
}

static json_t *half(wsess_t *x, int slot, const char *reason)
{
	const char *pol = wallet_jstr(json_object_get(x->doc, "policy"), "half_valid");
	int erase = pol && !strcmp(pol, "erase_revoked");

	if (reason)
		json_object_set_new(x->facts, "reason", json_string(reason));
	if (record(x, json_pack("{s:s, s:O*, s:n}", "status", "half", "reason", json_object_get(x->facts, "reason"),
				"pending_revoke")) < 0)
		return NULL;
	if (!erase)
		return half_done(x, slot, 0);
	json_object_set_new(x->facts, "half_slot", json_integer(slot));
	json_object_set_new(x->facts, "await", json_string("erase"));
	return json_pack("{s:s, s:s}", "action", "erase", "slot", slot_names[slot]);
}

static json_t *on_erase(wsess_t *x, json_t *b)
{
	if (!json_is_true(json_object_get(b, "erased"))) {
		wallet_fail(x, 422, "erased", "the iPhone did not erase the revoked pair");
		return NULL;
	}
	return half_done(x, (int)json_integer_value(json_object_get(x->facts, "half_slot")), 1);
}

/* The slot's certificate valid or on hold at the CA. */
static int live_cert(wsess_t *x, const char *serial)
{
	uint64_t s;
	ca_info_t ci;

	return serial && !ca_serial_parse(serial, &s) && ca_status(x->w->ca, s, &ci) == CA_OK &&
	       (ci.status == CA_VALID || ci.status == CA_HOLD);
}

json_t *wallet_op_begin(wsess_t *x, json_t *rec)
{
	const char *dst = wallet_jstr(rec, "status"), *dh = wallet_jstr(rec, "holder");
	int live = dst && (!strcmp(dst, "active") || !strcmp(dst, "hold") || !strcmp(dst, "half"));
	int same;
	ca_info_t ci;

	if (is_op(x, "sync")) {
		if (!rec) {
			wallet_fail(x, 404, "device", "device: not in the registry");
			return NULL;
		}
		json_object_set_new(x->doc, "holder", json_string(dh ? dh : ""));
		if (json_is_true(json_object_get(rec, "pending_delete"))) {
			json_object_set_new(x->facts, "await", json_string("remove"));
			json_object_set(x->facts, "reason", json_object_get(rec, "reason"));
			json_object_set(x->facts, "ca_reason", json_object_get(rec, "ca_reason"));
			return json_pack("{s:s, s:O*, s:O*}", "action", "remove", "reason", json_object_get(rec, "reason"),
					 "ca_reason", json_object_get(rec, "ca_reason"));
		}
		if (dst && !strcmp(dst, "half") && json_array_size(json_object_get(rec, "pending_revoke"))) {
			/* a pair the CA revoked alone (the reconcile marked it) */
			json_object_set(x->facts, "reason", json_object_get(rec, "reason"));
			return half(x, (int)json_integer_value(json_array_get(json_object_get(rec, "pending_revoke"), 0)) ? 1 : 0,
				    NULL);
		}
		return done(x, json_pack("{s:s, s:s, s:b, s:O*, s:O*}", "device", wallet_jstr(x->doc, "device"), "status",
					 dst ? dst : "none", "pending_deletion", 0, "reason", json_object_get(rec, "reason"),
					 "ca_reason", json_object_get(rec, "ca_reason")));
	}
	if (card_ok(x, &ci) < 0)
		return NULL;
	json_object_set_new(x->doc, "holder", json_string(ci.holder));
	same = dh && !strcmp(dh, ci.holder);
	if (rec && dh && !same && live) {
		/* another holder's live credential on this iPhone */
		wallet_fail(x, 403, "card_serial", "the device carries another holder's credential: that holder revokes it first");
		return NULL;
	}
	if (is_op(x, "issue") && same && live) {
		wallet_fail(x, 409, "op", "this iPhone already carries the holder's credential: renew or reissue");
		return NULL;
	}
	if (is_op(x, "reissue") && !(same && (!strcmp(dst, "revoked") || !strcmp(dst, "expired")))) {
		wallet_fail(x, 409, "op", "reissue: the iPhone's certificates must be revoked or expired");
		return NULL;
	}
	if (is_op(x, "renew") && !(same && (!strcmp(dst, "active") ||
					     (!strcmp(dst, "revoked") && wallet_jstr(rec, "reason") &&
					      !strcmp(wallet_jstr(rec, "reason"), "card_renewed"))))) {
		wallet_fail(x, 409, "op", "renew: the iPhone carries no valid certificates of the holder (reissue them)");
		return NULL;
	}
	if (is_op(x, "lift") && !(same && !strcmp(dst, "hold"))) {
		wallet_fail(x, 409, "op", "lift: the iPhone's certificates are not on hold");
		return NULL;
	}
	if ((is_op(x, "revoke") || is_op(x, "pin_reset")) && !(same && live)) {
		wallet_fail(x, 409, "op", "the iPhone carries no live certificates of the holder");
		return NULL;
	}
	if (is_op(x, "revoke") && wallet_jstr(x->doc, "certs") && strcmp(wallet_jstr(x->doc, "certs"), "both") &&
	    !live_cert(x, wallet_jstr(rec, serial_keys[strcmp(wallet_jstr(x->doc, "certs"), "sign") ? 0 : 1]))) {
		wallet_fail(x, 409, "certs", "certs: the iPhone has no live certificate of that pair");
		return NULL;
	}
	if (is_op(x, "pin_reset") && (strcmp(dst, "active") ||
				      (!strcmp(wallet_jstr(x->doc, "slot"), "sign") && !wallet_jstr(rec, "sign_serial")))) {
		wallet_fail(x, 409, "slot", "pin_reset: no active certificate for that PIN");
		return NULL;
	}
	if (rec) {
		json_object_set(x->facts, "auth_serial", json_object_get(rec, "auth_serial"));
		json_object_set(x->facts, "sign_serial", json_object_get(rec, "sign_serial"));
		json_object_set(x->facts, "was", json_object_get(rec, "status"));
	}
	if (provisions(x)) {
		const char *psc = wallet_jstr(json_object_get(x->doc, "policy"), "phone_sign_cert");
		int no_sign = json_is_false(json_object_get(json_object_get(x->doc, "policy"), "phone_sign_cert")) ||
			      (psc && !strcmp(psc, "false"));
		if (strcmp(wallet_jstr(x->doc, "liveness"), "pass")) {
			wallet_fail(x, 403, "liveness", "the liveness check failed: nothing is issued");
			return NULL;
		}
		return attest_action(x, no_sign ? json_pack("[s]", "auth") : json_pack("[s, s]", "auth", "sign"));
	}
	if (is_op(x, "lift"))
		return attest_action(x, wallet_jstr(rec, "sign_serial") ? json_pack("[s]", "sign") : json_array());
	json_object_set_new(x->facts, "keygen", json_array());
	return card_sign_action(x);
}

/* ------------------------------------------------------------ steps */

static const char *hexarg(json_t *o, const char *k, uint8_t **out, size_t *n)
{
	return wallet_unhex(wallet_jstr(o, k), out, n) < 0 ? k : NULL;
}

static json_t *on_attest(wsess_t *x, json_t *b)
{
	json_t *att = json_object_get(b, "attestation"), *keys = json_object_get(b, "keys"), *v;
	const char *bio = wallet_jstr(b, "biometric");
	uint8_t *ch = NULL, *cert = NULL, *sig = NULL, *k[2] = { NULL, NULL }, id[IOS_DEVICE_ID_LEN];
	size_t chn, certn, sn, kn[2] = { 0, 0 }, i;
	char why[160];
	json_t *action = NULL;

	if (!json_is_object(att) || !json_is_object(keys) || !bio) {
		bad(x, !json_is_object(att) ? "attestation" : !json_is_object(keys) ? "keys" : "biometric",
		    "attest: attestation {signature, device_cert}, keys {auth, sign} and biometric");
		return NULL;
	}
	if (hexarg(att, "signature", &sig, &sn) || hexarg(att, "device_cert", &cert, &certn)) {
		bad(x, "attestation", "attestation: signature and device_cert in hex");
		goto out;
	}
	for (int s = 0; s < 2; s++)
		if (json_object_get(keys, slot_names[s]) && hexarg(keys, slot_names[s], &k[s], &kn[s])) {
			bad(x, "keys", "keys: DER SubjectPublicKeyInfo in hex");
			goto out;
		}
	json_array_foreach(json_object_get(x->facts, "keygen"), i, v) if (!k[strcmp(json_string_value(v), "sign") ? 0 : 1]) {
		bad(x, "keys", "keys: a new public key for every slot asked for");
		goto out;
	}
	/* Add with Face ID / Touch ID (the flow's last step, asked first so
	 * that a phone that cannot add it gets nothing issued). */
	if (strcmp(bio, "match")) {
		snprintf(why, sizeof why, "biometrics: %s: the credential is added with Face ID or Touch ID only", bio);
		wallet_fail(x, 409, "biometric", why);
		goto out;
	}
	wallet_unhex(wallet_jstr(x->facts, "challenge"), &ch, &chn);
	apdu_unhex(wallet_jstr(x->doc, "device_id"), id, sizeof id);
	/* one use: the challenge is gone whatever the outcome */
	json_object_del(x->facts, "challenge");
	if (!ch || wallet_attest_check(x->w, id, ch, chn, cert, certn, sig, sn, k[0], kn[0], k[1], kn[1], why, sizeof why) < 0) {
		wallet_fail(x, 403, "attestation", ch ? why : "attestation: no challenge outstanding");
		goto out;
	}
	{
		json_t *spki = json_object();
		json_array_foreach(json_object_get(x->facts, "keygen"), i, v) {
			int s = strcmp(json_string_value(v), "sign") ? 0 : 1;
			json_object_set_new(spki, slot_names[s], tsm_jhex(k[s], kn[s]));
		}
		json_object_set_new(x->facts, "spki", spki);
	}
	action = card_sign_action(x);
out:
	free(ch);
	free(cert);
	free(sig);
	free(k[0]);
	free(k[1]);
	return action;
}

/* The signatures: the authorisation first, then one per request. */
static int signatures_ok(wsess_t *x, json_t *sigs)
{
	json_t *need = json_object_get(x->facts, "keygen"), *v;
	uint8_t *msg = NULL, *sig = NULL, *nonce = NULL;
	size_t mn, sn, nn, i;
	uint64_t cs;
	int rc = CA_ERR_ARG;

	ca_serial_parse(wallet_jstr(x->doc, "card_serial"), &cs);
	if (wallet_unhex(wallet_jstr(x->facts, "auth_msg"), &msg, &mn) == 0 &&
	    wallet_unhex(json_string_value(json_array_get(sigs, 0)), &sig, &sn) == 0)
		rc = ca_verify_card(x->w->ca, cs, msg, mn, sig, sn, NULL);
	free(msg);
	free(sig);
	wallet_unhex(wallet_jstr(x->facts, "req_nonce"), &nonce, &nn);
	json_array_foreach(need, i, v) {
		ca_phone_req_t r = { .purpose = strcmp(json_string_value(v), "sign") ? CA_AUTH : CA_SIGN,
				     .card_serial = cs, .nonce = { nonce, nn } };
		uint8_t *spki = NULL, *tbs = NULL;
		size_t kn, tn;
		if (rc != CA_OK)
			break;
		rc = CA_ERR_ARG;
		if (wallet_unhex(wallet_jstr(json_object_get(x->facts, "spki"), json_string_value(v)), &spki, &kn) == 0 &&
		    wallet_unhex(json_string_value(json_array_get(sigs, i + 1)), &sig, &sn) == 0) {
			r.spki = (ca_blob_t){ spki, kn };
			if (ca_phone_tbs(&r, &tbs, &tn) == CA_OK)
				rc = ca_verify_card(x->w->ca, cs, tbs, tn, sig, sn, NULL);
		}
		free(sig);
		free(spki);
		free(tbs);
	}
	free(nonce);
	if (rc != CA_OK)
		wallet_fail(x, rc == CA_ERR_STATE ? 409 : 403, rc == CA_ERR_STATE ? "card_serial" : "signatures",
			    rc == CA_ERR_ARG ? "signatures: hex" : ca_error(x->w->ca));
	return rc == CA_OK ? 0 : -1;
}

/* Every call that changes the CA goes through here (rc its result): the
 * fault hook (wallet_fault) kills the request right after the n-th one.
 * 0, or -1 when the request "died" (its intent left behind). */
static int ca_called(wsess_t *x)
{
	wallet_t *w = x->w;

	w->ca_calls++;
	if (w->fault_at && w->ca_calls == w->fault_at)
		w->crashed = 1;
	if (!w->crashed)
		return 0;
	wallet_fail(x, 500, NULL, "simulated crash");
	return -1;
}

/* The write-ahead intent of a provisioning: the session's certificate
 * requests as the CA will see them (the card's signatures included, so
 * that posting them again is the same request). */
static int intent_begin(wsess_t *x, json_t *sigs)
{
	json_t *reqs = json_array(), *v, *out = NULL, *body;
	char id[96], path[160];
	size_t i;
	int rc;

	json_array_foreach(json_object_get(x->facts, "keygen"), i, v) {
		const char *slot = json_string_value(v);
		json_array_append_new(reqs, json_pack("{s:s, s:O, s:s?, s:O, s:O}", "purpose", slot, "card_serial",
						      json_object_get(x->doc, "card_serial"), "spki",
						      wallet_jstr(json_object_get(x->facts, "spki"), slot), "nonce",
						      json_object_get(x->facts, "req_nonce"), "signature", json_array_get(sigs, i + 1)));
	}
	snprintf(id, sizeof id, "wallet:%s", wallet_jstr(x->doc, "id"));
	snprintf(path, sizeof path, "/v1/tsm/platform/intents/%s", id);
	body = json_pack("{s:s, s:O, s:O, s:o}", "platform", "ios", "device", json_object_get(x->doc, "device"), "op",
			 json_object_get(x->doc, "op"), "requests", reqs);
	rc = wallet_tsm(x->w, "POST", path, body, &out);
	json_decref(body);
	if (rc != 200)
		wallet_fail(x, 502, NULL, wallet_jstr(out, "error") ? wallet_jstr(out, "error") : "intent");
	else
		json_object_set_new(x->facts, "intent", json_string(id));
	json_decref(out);
	return rc == 200 ? 0 : -1;
}

/* The provisioning given up: the broker revokes what its requests were
 * issued and the record follows (reason: the iPhone's refusal, else the
 * request was interrupted); nothing when the request "died". */
static void intent_undo(wsess_t *x, const char *reason)
{
	char path[160];
	json_t *out = NULL, *body;

	if (!wallet_jstr(x->facts, "intent") || x->w->crashed)
		return;
	snprintf(path, sizeof path, "/v1/tsm/platform/intents/%s/undo", wallet_jstr(x->facts, "intent"));
	body = json_pack("{s:s?}", "reason", reason);
	if (wallet_tsm(x->w, "POST", path, body, &out) == 200)
		json_object_del(x->facts, "intent");
	json_decref(body);
	json_decref(out);
}

/* The CA issues the slot's certificate on the card's signed request; its
 * serial into the facts' new serials, its DER out. */
static int issue_slot(wsess_t *x, int s, json_t *sigs, size_t k, uint8_t **der, size_t *dn)
{
	ca_phone_req_t r = { .purpose = s ? CA_SIGN : CA_AUTH };
	uint8_t *spki = NULL, *nonce = NULL, *sig = NULL;
	size_t kn, nn, sn;
	uint64_t serial = 0;
	int rc = CA_ERR_ARG;

	ca_serial_parse(wallet_jstr(x->doc, "card_serial"), &r.card_serial);
	if (wallet_unhex(wallet_jstr(json_object_get(x->facts, "spki"), slot_names[s]), &spki, &kn) == 0 &&
	    wallet_unhex(wallet_jstr(x->facts, "req_nonce"), &nonce, &nn) == 0 &&
	    wallet_unhex(json_string_value(json_array_get(sigs, k)), &sig, &sn) == 0) {
		r.spki = (ca_blob_t){ spki, kn };
		r.nonce = (ca_blob_t){ nonce, nn };
		r.signature = (ca_blob_t){ sig, sn };
		rc = ca_issue_phone(x->w->ca, &r, &serial, der, dn);
	}
	free(spki);
	free(nonce);
	free(sig);
	if (ca_called(x) < 0)
		return -1;
	if (rc != CA_OK && rc != CA_REPLAYED) {
		wallet_fail(x, 502, NULL, ca_error(x->w->ca));
		return -1;
	}
	{
		char sh[17];
		ca_serial_format(serial, sh);
		json_object_set_new(json_object_get(x->facts, "issued"), serial_keys[s], json_string(sh));
	}
	return 0;
}

static int revoke_serial(wsess_t *x, const char *serial, int reason)
{
	uint64_t s;
	int rc;

	if (!serial || ca_serial_parse(serial, &s))
		return 0;
	rc = ca_revoke(x->w->ca, s, reason);
	if (ca_called(x) < 0)
		return -1;
	if (rc != CA_OK && rc != CA_ERR_STATE) { /* expired: nothing left to revoke */
		wallet_fail(x, 502, NULL, ca_error(x->w->ca));
		return -1;
	}
	return 0;
}

/* issue, reissue, renew, lift: the certificates, then the credential. */
static json_t *provision_x(wsess_t *x, json_t *sigs)
{
	json_t *issued = json_object(), *cred, *pins, *sup = NULL, *v;
	uint8_t *der[2] = { NULL, NULL }, id[IOS_DEVICE_ID_LEN];
	size_t dn[2] = { 0, 0 }, i;
	int lift = is_op(x, "lift");
	json_t *action = NULL;

	json_object_set_new(x->facts, "issued", issued);
	if (is_op(x, "renew") && !strcmp(wallet_jstr(x->facts, "was"), "active") &&
	    (revoke_serial(x, wallet_jstr(x->facts, "auth_serial"), CA_REASON_SUPERSEDED) < 0 ||
	     revoke_serial(x, wallet_jstr(x->facts, "sign_serial"), CA_REASON_SUPERSEDED) < 0))
		return NULL;
	if (lift) {
		/* J-LIS reinstates the auth certificate; the sign one is revoked
		 * and issued anew (docs/card.md#phone-certificates) */
		uint64_t a;
		if (!ca_serial_parse(wallet_jstr(x->facts, "auth_serial"), &a)) {
			int rc = ca_lift(x->w->ca, a);
			if (ca_called(x) < 0)
				return NULL;
			if (rc != CA_OK) {
				wallet_fail(x, 502, NULL, ca_error(x->w->ca));
				return NULL;
			}
		}
		if (revoke_serial(x, wallet_jstr(x->facts, "sign_serial"), CA_REASON_SUPERSEDED) < 0)
			return NULL;
		json_object_set(issued, "auth_serial", json_object_get(x->facts, "auth_serial"));
		if (!ca_serial_parse(wallet_jstr(x->facts, "auth_serial"), &a) && ca_cert(x->w->ca, a, &der[0], &dn[0]) != CA_OK) {
			wallet_fail(x, 502, NULL, ca_error(x->w->ca));
			return NULL;
		}
	} else {
		/* one phone per holder, across platforms (the TSM's rule) */
		json_t *body = json_pack("{s:s, s:O, s:O, s:O, s:O}", "platform", "ios", "device",
					 json_object_get(x->doc, "device"), "holder", json_object_get(x->doc, "holder"), "policy",
					 json_object_get(x->doc, "policy"), "session", json_object_get(x->doc, "id"));
		int rc = wallet_tsm(x->w, "POST", "/v1/tsm/platform/supersede", body, &sup);
		json_decref(body);
		if (rc != 200) {
			wallet_fail(x, 502, NULL, wallet_jstr(sup, "error") ? wallet_jstr(sup, "error") : "supersede");
			json_decref(sup);
			return NULL;
		}
		json_object_set(x->facts, "superseded", json_object_get(sup, "superseded"));
		json_decref(sup);
	}
	json_array_foreach(json_object_get(x->facts, "keygen"), i, v) {
		int s = strcmp(json_string_value(v), "sign") ? 0 : 1;
		if (issue_slot(x, s, sigs, i + 1, &der[s], &dn[s]) < 0)
			goto out;
	}
	apdu_unhex(wallet_jstr(x->doc, "device_id"), id, sizeof id);
	if (!(cred = wallet_credential(x->w, id, der[0], dn[0], der[1], dn[1]))) {
		wallet_fail(x, 500, NULL, "the credential could not be signed");
		goto out;
	}
	if (record(x, json_pack("{s:O, s:O, s:s, s:O, s:O*, s:n, s:n, s:n, s:s}", "holder", json_object_get(x->doc, "holder"),
				"card_serial", json_object_get(x->doc, "card_serial"), "status", "active", "auth_serial",
				json_object_get(issued, "auth_serial"), "sign_serial", json_object_get(issued, "sign_serial"),
				"pending_delete", "reason", "ca_reason", "credential", "issued")) < 0) {
		json_decref(cred);
		goto out;
	}
	json_object_set_new(x->facts, "await", json_string("install"));
	/* The holder sets the new iPhone PINs on the phone (never sent here):
	 * a lift keeps them. */
	pins = lift ? json_array() : dn[1] ? json_pack("[s, s]", "auth", "sign") : json_pack("[s]", "auth");
	action = json_pack("{s:s, s:o, s:o}", "action", "install", "credential", cred, "new_pins", pins);
out:
	free(der[0]);
	free(der[1]);
	return action;
}

/* provision_x behind its intent: undone when it fails. */
static json_t *provision(wsess_t *x, json_t *sigs)
{
	json_t *action;

	if (intent_begin(x, sigs) < 0)
		return NULL;
	if (!(action = provision_x(x, sigs)))
		intent_undo(x, NULL);
	return action;
}

static json_t *on_card_sign(wsess_t *x, json_t *b)
{
	json_t *sigs = json_object_get(b, "signatures");

	if (!json_is_array(sigs) || (json_int_t)json_array_size(sigs) != json_integer_value(json_object_get(x->facts, "nsigs"))) {
		bad(x, "signatures", "signatures: one hex signature per digest_info");
		return NULL;
	}
	if (provisions(x) && (!wallet_jstr(b, "card_text") || !*wallet_jstr(b, "card_text"))) {
		/* the app read the card's text (券面事項入力補助AP) after its PIN */
		bad(x, "card_text", "card_text: what the card's text application gave after its PIN, hex");
		return NULL;
	}
	if (signatures_ok(x, sigs) < 0)
		return NULL;
	if (provisions(x) || is_op(x, "lift"))
		return provision(x, sigs);
	if (is_op(x, "pin_reset")) {
		json_object_set_new(x->facts, "await", json_string("set_pins"));
		return json_pack("{s:s, s:O}", "action", "set_pins", "slot", json_object_get(x->doc, "slot"));
	}
	/* revoke: the pairs asked for (both by default); none left valid,
	 * the credential removed now; one left, half-valid */
	{
		int reason = wallet_jstr(x->doc, "reason") ? ca_reason_parse(wallet_jstr(x->doc, "reason")) : CA_REASON_UNSPECIFIED;
		const char *certs = wallet_jstr(x->doc, "certs");
		int want[2] = { !certs || strcmp(certs, "sign"), !certs || strcmp(certs, "auth") }, left[2];
		for (int s = 0; s < 2; s++)
			if (want[s] && revoke_serial(x, wallet_jstr(x->facts, serial_keys[s]), reason) < 0)
				return NULL;
		for (int s = 0; s < 2; s++)
			left[s] = live_cert(x, wallet_jstr(x->facts, serial_keys[s]));
		if (left[0] || left[1])
			return half(x, left[0] ? SIGN : AUTH, "revoked_by_holder");
		if (record(x, json_pack("{s:s, s:b, s:s, s:n, s:n}", "status", "revoked", "pending_delete", 1, "reason",
					"revoked_by_holder", "ca_reason", "credential")) < 0)
			return NULL;
		json_object_set_new(x->facts, "await", json_string("remove"));
		return json_pack("{s:s}", "action", "remove");
	}
}

static json_t *on_install(wsess_t *x, json_t *b)
{
	json_t *issued = json_object_get(x->facts, "issued");

	if (!json_is_boolean(json_object_get(b, "installed"))) {
		bad(x, "installed", "installed: true, or false with error");
		return NULL;
	}
	if (!json_is_true(json_object_get(b, "installed"))) {
		/* the device refused it: the certificates it will never use
		 * revoked (a lift's new sign one; its auth one stays lifted, on
		 * the iPhone), the record following */
		char msg[256];
		intent_undo(x, "install_refused");
		snprintf(msg, sizeof msg, "the iPhone refused the credential: %s",
			 wallet_jstr(b, "error") ? wallet_jstr(b, "error") : "no reason given");
		wallet_fail(x, 422, "installed", msg);
		return NULL;
	}
	/* the record and the end of the intent in one transaction */
	if (record(x, json_pack("{s:s, s:O*}", "credential", "installed", "intent", json_object_get(x->facts, "intent"))) < 0)
		return NULL;
	return done(x, json_pack("{s:O, s:O, s:O*, s:O*, s:O*, s:O*}", "device", json_object_get(x->doc, "device"), "holder",
				 json_object_get(x->doc, "holder"), "auth_serial", json_object_get(issued, "auth_serial"),
				 "sign_serial", json_object_get(issued, "sign_serial"), "card_serial",
				 json_object_get(x->doc, "card_serial"), "superseded", json_object_get(x->facts, "superseded")));
}

static json_t *on_remove(wsess_t *x, json_t *b)
{
	json_t *rec;

	if (!json_is_true(json_object_get(b, "removed"))) {
		bad(x, "removed", "removed: true once the credential is deleted from the iPhone");
		return NULL;
	}
	if (record(x, json_pack("{s:b, s:s}", "pending_delete", 0, "credential", "none")) < 0)
		return NULL;
	rec = registry(x);
	{
		json_t *r = json_pack("{s:s, s:b, s:b, s:s, s:O*, s:O*}", "device", wallet_jstr(x->doc, "device"), "removed", 1,
				      "pending_deletion", is_op(x, "sync"), "status",
				      wallet_jstr(rec, "status") ? wallet_jstr(rec, "status") : "revoked", "reason",
				      json_object_get(x->facts, "reason"), "ca_reason", json_object_get(x->facts, "ca_reason"));
		json_decref(rec);
		return done(x, r);
	}
}

json_t *wallet_op_step(wsess_t *x, json_t *b)
{
	const char *await = wallet_jstr(x->facts, "await");

	json_object_del(x->facts, "bad_field");
	if (!await)
		await = "";
	if (!strcmp(await, "attest"))
		return on_attest(x, b);
	if (!strcmp(await, "card_sign"))
		return on_card_sign(x, b);
	if (!strcmp(await, "install"))
		return on_install(x, b);
	if (!strcmp(await, "remove"))
		return on_remove(x, b);
	if (!strcmp(await, "erase"))
		return on_erase(x, b);
	if (!strcmp(await, "set_pins")) {
		if (!json_is_true(json_object_get(b, "set"))) {
			wallet_fail(x, 422, "set", "the iPhone did not set the new PIN");
			return NULL;
		}
		return done(x, json_pack("{s:O, s:O}", "device", json_object_get(x->doc, "device"), "slot",
					 json_object_get(x->doc, "slot")));
	}
	wallet_fail(x, 409, "step", "nothing awaited");
	return NULL;
}
