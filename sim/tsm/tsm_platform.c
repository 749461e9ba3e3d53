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
 *        auth_serial, sign_serial, status, pending_delete, reason, credential}
 *        the record created or those fields set (null removes one) */
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
					      "pending_delete", "reason", "ca_reason", "credential", NULL };
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
	if (tsm_exec(t, "COMMIT") < 0) {
		tsm_exec(t, "ROLLBACK");
		json_decref(d);
		*out = tsm_jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	*out = d;
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
	*out = tsm_jerr("path", "path: no such resource /v1/tsm/platform/%s", n > 1 ? seg[1] : "");
	return 404;
}
