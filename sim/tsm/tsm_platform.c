/* tsm_platform.c — the platform broker: the TSM's registry shared with a
 * platform's own provisioning service (sim/wallet: the iPhone's, standing
 * where Apple's is), and the card's authorisation message both use.
 *
 * An iPhone keeps its JPKI credential in Apple's secure element, which
 * no SP-TSM reaches: its certificates are provisioned by the platform's
 * service, not by SCP03 scripts.  The JPKI rules are the holder's, not
 * the platform's (docs/ios.md, docs/domain.md#policy-switches), so the
 * platform's service records its devices in this registry, as devices
 * with "platform" set (never "android", whose records are the SP-TSM's
 * own), and asks the TSM to apply the one-phone rule before it issues.
 * Everything else follows from the shared registry: the one-phone rule
 * of an Android issuance reaches the iPhone (tsm_one_phone), the linked
 * revocation and the card's hold reach it (tsm_reconcile), the call
 * centre holds it (tsm_h_hold), /check covers it.  The work on the device
 * (removing a credential pending deletion) is the platform service's, at
 * the device's next contact.  MODELLED ASSUMPTION: nothing public says
 * how J-LIS, the SP-TSM and Apple's service coordinate (docs/ios.md).
 *
 *   POST /v1/tsm/platform/supersede        {platform, device, holder, policy?}
 *        the holder's other live devices (of any platform under
 *        one_phone_scope=holder, of this one under =platform) revoked,
 *        superseded, their deletion pending: {superseded: [ids]}
 *   POST /v1/tsm/platform/devices/{id}     {platform, holder, card_serial,
 *        auth_serial, sign_serial, status, pending_delete, pending_revoke,
 *        reason, credential,
 *        intent?}
 *        the record created or those fields set (null removes one); with
 *        intent, that intent is finished in the same transaction
 *   POST /v1/tsm/platform/intents/{id}     {platform, device, requests:
 *        [{purpose, card_serial, spki, nonce, signature}]}
 *        the platform service's write-ahead intent (kind "platform"),
 *        committed before it asks the CA for the requests' certificates
 *   POST /v1/tsm/platform/intents/{id}/undo {reason?}
 *        the request given up: undone as below, the intent gone
 *   POST /v1/tsm/platform/seed             {}
 *        {seed: 16 hex digits} from the TSM's stream, which a restarted
 *        TSM continues (tsm_rng_save): a platform service that keeps no
 *        store of its own draws its stream from it at open, so that a
 *        restart never draws the same challenges and request nonces again
 *
 * Crash recovery, as the TSM's own requests have it (tsm_store.c,
 * intents), but undone rather than finished: the platform service keeps
 * its sessions in memory, so a request interrupted after the CA issued
 * (the service killed, or failing on its way) has no client left to
 * finish it, and the device may or may not have received the credential.
 * An intent still there at open (tsm_recover), or one the service gives
 * up (undo), is undone: each of its requests is posted to the CA again —
 * the CA answers a request it saw with the same certificate
 * (CA_REPLAYED), one it never saw it issues now — and that certificate
 * revoked (cessationOfOperation), so none is left valid.  The device's
 * record, when it names one of them and has no certificate left valid or
 * held, is revoked with its credential's removal pending (reason
 * "interrupted", or the service's); otherwise (a lift: its auth
 * certificate lifted, live on the iPhone's earlier credential) the record
 * keeps that credential and the reconcile brings it in line with the CA.  MODELLED ASSUMPTION (docs/ios.md#crash-recovery). */
#include "tsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------ the card's authorisation */

int tsm_auth_message(char *out, size_t cap, const char *op, const char *session, const char *device,
		     const char *nonce_hex)
{
	int n = snprintf(out, cap, "mynahil tsm-authorisation v1\n%s\n%s\n%s\n%s", op, session, device ? device : "-",
			 nonce_hex);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

void tsm_digestinfo(const uint8_t *m, size_t n, uint8_t di[51])
{
	static const uint8_t prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	unsigned int dn;
	EVP_MD_CTX *c;

	memcpy(di, prefix, sizeof prefix);
	c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, m, n);
	EVP_DigestFinal_ex(c, di + 19, &dn);
	EVP_MD_CTX_free(c);
}

/* ------------------------------------------------------------ the broker */

static int platform_ok(const char *p)
{
	/* android is the SP-TSM's own: its records change only through its sessions */
	return p && *p && strcmp(p, "android") && strlen(p) < 32;
}

static int supersede(tsm_t *t, json_t *b, json_t **out)
{
	const char *platform = tsm_jstr(b, "platform"), *device = tsm_jstr(b, "device"), *holder = tsm_jstr(b, "holder");
	json_t *pol = json_object_get(b, "policy");
	sess_t x = { t, NULL, NULL, NULL, NULL, 0, 0, 0 };
	int rc;

	if (!platform_ok(platform) || !device || !holder || (pol && !json_is_object(pol))) {
		*out = tsm_jerr(!platform_ok(platform) ? "platform" : !device ? "device" : !holder ? "holder" : "policy",
				"supersede: platform (not android), device, holder and an optional policy object");
		return 400;
	}
	x.doc = json_pack("{s:s, s:s, s:s, s:{}, s:o}", "id", tsm_jstr(b, "session") ? tsm_jstr(b, "session") : "-",
			  "op", "issue", "holder", holder, "facts", "policy",
			  t->policy ? json_deep_copy(t->policy) : json_object());
	if (pol)
		json_object_update(json_object_get(x.doc, "policy"), pol);
	x.facts = json_object_get(x.doc, "facts");
	x.dev = json_pack("{s:s, s:s}", "id", device, "platform", platform);
	t->touched = 0;
	if (tsm_exec(t, "BEGIN IMMEDIATE") < 0) {
		rc = 500;
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		goto out;
	}
	if (tsm_one_phone(&x) != CA_OK || t->crashed) {
		tsm_exec(t, "ROLLBACK");
		rc = t->crashed ? 500 : 502;
		*out = tsm_jerr(NULL, "%s", t->crashed ? "simulated crash" : ca_error(t->ca));
		goto out;
	}
	if (tsm_exec(t, "COMMIT") < 0) {
		tsm_exec(t, "ROLLBACK");
		rc = 500;
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		goto out;
	}
	rc = 200;
	*out = json_object_get(x.facts, "superseded") ? json_pack("{s:O}", "superseded", json_object_get(x.facts, "superseded"))
							 : json_pack("{s:[]}", "superseded");
out:
	json_decref(x.doc);
	json_decref(x.dev);
	return rc;
}

static int record(tsm_t *t, const char *id, json_t *b, json_t **out)
{
	static const char *const fields[] = { "platform", "holder", "card_serial", "auth_serial", "sign_serial", "status",
					      "pending_delete", "pending_revoke", "reason", "ca_reason", "credential", "intent", NULL };
	static const char *const statuses[] = { "active", "hold", "half", "revoked", "expired", "none", NULL };
	json_t *d = tsm_doc_get(t, "devices", id), *v;
	const char *k, *st;
	int ok = 0;

	json_object_foreach(b, k, v) {
		int known = 0;
		for (size_t i = 0; fields[i]; i++)
			known |= !strcmp(fields[i], k);
		if (!known) {
			json_decref(d);
			*out = tsm_jerr(k, "%s: unknown field", k);
			return 400;
		}
	}
	if (d && !platform_ok(tsm_jstr(d, "platform"))) {
		json_decref(d);
		*out = tsm_jerr("device", "%s: an SP-TSM device: its record is the TSM's", id);
		return 403;
	}
	if (!d && (!platform_ok(tsm_jstr(b, "platform")) || !tsm_jstr(b, "holder"))) {
		*out = tsm_jerr(!platform_ok(tsm_jstr(b, "platform")) ? "platform" : "holder",
				"a new platform device: platform (not android) and holder");
		return 400;
	}
	if (d && json_object_get(b, "platform") && !json_equal(json_object_get(b, "platform"), json_object_get(d, "platform"))) {
		json_decref(d);
		*out = tsm_jerr("platform", "platform: the device's is %s", tsm_jstr(d, "platform"));
		return 409;
	}
	st = tsm_jstr(b, "status");
	for (size_t i = 0; st && statuses[i]; i++)
		ok |= !strcmp(st, statuses[i]);
	if (json_object_get(b, "status") && !ok) {
		json_decref(d);
		*out = tsm_jerr("status", "status: active, hold, half, revoked, expired or none");
		return 400;
	}
	if (!d)
		d = json_pack("{s:s, s:s}", "id", id, "status", "none");
	json_object_foreach(b, k, v) {
		if (!strcmp(k, "intent"))
			continue; /* finished below, not a field of the record */
		if (json_is_null(v) || json_is_false(v))
			json_object_del(d, k);
		else
			json_object_set(d, k, v);
	}
	if (tsm_exec(t, "BEGIN IMMEDIATE") < 0 || tsm_doc_put(t, "devices", d) < 0) {
		tsm_exec(t, "ROLLBACK");
		json_decref(d);
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	{
		char what[160];
		snprintf(what, sizeof what, "platform %s: %s%s", tsm_jstr(d, "platform"), tsm_jstr(d, "status"),
			 tsm_jbool(d, "pending_delete") ? ", deletion pending" : "");
		tsm_event(t, NULL, id, what);
	}
	if (tsm_jstr(b, "intent"))
		tsm_intent_del(t, tsm_jstr(b, "intent")); /* the request finished with this record */
	if (tsm_exec(t, "COMMIT") < 0) {
		tsm_exec(t, "ROLLBACK");
		json_decref(d);
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	*out = d;
	return 200;
}

/* ------------------------------------------------------------ intents */

/* A required hex field: 0, or -1 (absent or not hex). */
static int hexblob(json_t *o, const char *k, uint8_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return tsm_jstr(o, k) ? tsm_unhex(tsm_jstr(o, k), out, n) : -1;
}

/* A request of an intent, decoded: 0, or -1 when malformed. */
static int intent_req(json_t *r, ca_phone_req_t *q, uint8_t *b[3])
{
	const char *p = tsm_jstr(r, "purpose");
	size_t n[3];
	int ok;

	memset(q, 0, sizeof *q);
	ok = p && (!strcmp(p, "auth") || !strcmp(p, "sign")) && !ca_serial_parse(tsm_jstr(r, "card_serial"), &q->card_serial);
	ok = !hexblob(r, "spki", &b[0], &n[0]) && ok;
	ok = !hexblob(r, "nonce", &b[1], &n[1]) && ok;
	ok = !hexblob(r, "signature", &b[2], &n[2]) && ok;
	q->purpose = p && !strcmp(p, "sign") ? CA_SIGN : CA_AUTH;
	q->spki = (ca_blob_t){ b[0], n[0] };
	q->nonce = (ca_blob_t){ b[1], n[1] };
	q->signature = (ca_blob_t){ b[2], n[2] };
	return ok ? 0 : -1;
}

static int intent_put(tsm_t *t, const char *id, json_t *b, json_t **out)
{
	json_t *reqs = json_object_get(b, "requests"), *r;
	size_t i;
	int ok = platform_ok(tsm_jstr(b, "platform")) && tsm_jstr(b, "device") && json_is_array(reqs);

	json_array_foreach(reqs, i, r) {
		ca_phone_req_t q;
		uint8_t *bl[3];
		ok = ok && !intent_req(r, &q, bl);
		for (int k = 0; k < 3; k++)
			free(bl[k]);
	}
	if (!ok) {
		*out = tsm_jerr("requests", "intent: platform (not android), device and requests "
					    "[{purpose, card_serial, spki, nonce, signature}] in hex");
		return 400;
	}
	if (tsm_intent_put(t, id, "platform", 0, b) < 0) {
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	*out = json_pack("{s:s}", "intent", id);
	return 200;
}

int tsm_platform_undo(tsm_t *t, const char *id, json_t *b)
{
	json_t *reqs = json_object_get(b, "requests"), *r, *gone = json_array(), *d;
	const char *dev = tsm_jstr(b, "device"), *why = tsm_jstr(b, "reason");
	char msg[160];
	size_t i;
	int left = 0, named = 0, live = 0;

	json_array_foreach(reqs, i, r) {
		ca_phone_req_t q;
		uint8_t *bl[3];
		uint64_t serial = 0;
		int rc = intent_req(r, &q, bl) < 0 ? CA_ERR_ARG : tsm_ca_issue(t, &q, &serial);
		for (int k = 0; k < 3; k++)
			free(bl[k]);
		if (rc == CA_OK || rc == CA_REPLAYED) {
			char sh[17];
			rc = tsm_ca_revoke(t, serial, CA_REASON_CESSATION);
			ca_serial_format(serial, sh);
			json_array_append_new(gone, json_string(sh));
		}
		/* revoked (or expired: CA_ERR_STATE), or refused, so never issued */
		left |= t->crashed || rc == CA_ERR_DB || rc == CA_ERR_NOMEM || rc == CA_ERR_CRYPTO;
	}
	if (left) {
		json_decref(gone);
		return -1; /* the CA not reached: the intent stays for the next open */
	}
	d = dev ? tsm_doc_get(t, "devices", dev) : NULL;
	for (int s = 0; d && s < 2; s++) {
		const char *k = s ? "sign_serial" : "auth_serial";
		json_t *v;
		uint64_t sn;
		ca_info_t ci;
		size_t j;
		json_array_foreach(gone, j, v) named |= tsm_jstr(d, k) && !strcmp(tsm_jstr(d, k), json_string_value(v));
		if (tsm_jstr(d, k) && !ca_serial_parse(tsm_jstr(d, k), &sn) && ca_status(t->ca, sn, &ci) == CA_OK)
			live |= ci.status == CA_VALID || ci.status == CA_HOLD;
	}
	if (tsm_exec(t, "BEGIN IMMEDIATE") < 0) {
		json_decref(d);
		json_decref(gone);
		return -1;
	}
	if (d && named && !live && platform_ok(tsm_jstr(d, "platform"))) {
		json_object_set_new(d, "status", json_string("revoked"));
		json_object_set_new(d, "pending_delete", json_true());
		json_object_set_new(d, "reason", json_string(why ? why : "interrupted"));
		json_object_set_new(d, "ca_reason", json_string("cessationOfOperation"));
		tsm_doc_put(t, "devices", d);
	} else if (d && named && platform_ok(tsm_jstr(d, "platform")) && tsm_jstr(d, "credential") &&
		   !strcmp(tsm_jstr(d, "credential"), "issued")) {
		/* certificates left live (a lift's auth one): the iPhone keeps
		 * the credential it had, which holds them */
		json_object_set_new(d, "credential", json_string("installed"));
		tsm_doc_put(t, "devices", d);
	}
	tsm_intent_del(t, id);
	snprintf(msg, sizeof msg, "recovered: platform request undone from its intent (%zu certificate(s) revoked)",
		 json_array_size(gone));
	tsm_event(t, NULL, dev, msg);
	json_decref(d);
	json_decref(gone);
	if (tsm_exec(t, "COMMIT") < 0) {
		tsm_exec(t, "ROLLBACK");
		return -1;
	}
	/* a record still naming live certificates: the CA's word */
	if (dev && !(named && !live))
		tsm_reconcile(t, dev);
	return 0;
}

static int intent_undo(tsm_t *t, const char *id, json_t *b, json_t **out)
{
	sqlite3_stmt *st;
	json_t *in = NULL;

	if ((st = tsm_stmt(t, "SELECT body FROM intents WHERE id = ? AND kind = 'platform'"))) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			in = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		tsm_stmt_done(t, st);
	}
	if (!in) {
		*out = tsm_jerr("intent", "%s: no platform intent pending", id);
		return 404;
	}
	if (tsm_jstr(b, "reason"))
		json_object_set(in, "reason", json_object_get(b, "reason"));
	if (tsm_platform_undo(t, id, in) < 0) {
		json_decref(in);
		*out = tsm_jerr(NULL, "%s", t->crashed ? "simulated crash" : "the CA could not be reached: undone at the next open");
		return 502;
	}
	json_decref(in);
	*out = json_pack("{s:s, s:b}", "intent", id, "undone", 1);
	return 200;
}

int tsm_h_platform(tsm_t *t, int n, char seg[][96], json_t *b, json_t **out)
{
	if (!json_is_object(b)) {
		*out = tsm_jerr("body", "body: a JSON object");
		return 400;
	}
	if (n == 2 && !strcmp(seg[1], "supersede"))
		return supersede(t, b, out);
	if (n == 3 && !strcmp(seg[1], "devices"))
		return record(t, seg[2], b, out);
	if (n == 3 && !strcmp(seg[1], "intents"))
		return intent_put(t, seg[2], b, out);
	if (n == 4 && !strcmp(seg[1], "intents") && !strcmp(seg[3], "undo"))
		return intent_undo(t, seg[2], b, out);
	if (n == 2 && !strcmp(seg[1], "seed")) {
		char hex[17];
		snprintf(hex, sizeof hex, "%016llX", (unsigned long long)rng_u64(&t->rng));
		if (tsm_exec(t, "BEGIN IMMEDIATE") < 0) {
			*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
			return 500;
		}
		tsm_rng_save(t);
		if (tsm_exec(t, "COMMIT") < 0) {
			tsm_exec(t, "ROLLBACK");
			*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
			return 500;
		}
		*out = json_pack("{s:s}", "seed", hex);
		return 200;
	}
	*out = tsm_jerr("path", "path: no such resource /v1/tsm/platform/%s", n > 1 ? seg[1] : "");
	return 404;
}
