/* tsm_session.c — a session's facts: what its operation needs once the
 * device is known, the device record, and absorbing the answers to the
 * last action (the SE's responses, the card's or phone's signatures). */
#include "tsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../core/apdu.h"

/* ------------------------------------------------------------ sessions */

/* A switch's value as a string: the boolean switches (revoke_without_card,
 * phone_sign_cert) come as JSON booleans from the runner's w.policy and as
 * strings from a hand-written body; both mean the same. */
const char *tsm_policy_get(json_t *sess, const char *k, const char *def)
{
	json_t *v = json_object_get(json_object_get(sess, "policy"), k);

	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return json_is_string(v) ? json_string_value(v) : def;
}

json_t *tsm_facts_obj(sess_t *x, const char *k)
{
	json_t *o = json_object_get(x->facts, k);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(x->facts, k, o);
	}
	return o;
}

int tsm_slot_state(sess_t *x, int s)
{
	json_t *inv = json_object_get(x->facts, "inv");
	if (!tsm_jbool(inv, "applet"))
		return S_EMPTY;
	return (int)json_integer_value(json_array_get(json_object_get(inv, "slots"), (size_t)s));
}

void tsm_fail_session(sess_t *x, int status, const char *field, const char *msg)
{
	json_object_set_new(x->doc, "state", json_string("failed"));
	json_object_set_new(x->doc, "error", json_pack("{s:s, s:s?}", "error", msg, "field", field));
	x->status = status;
	x->t->st.failed++;
}

static const char *holder_of(sess_t *x)
{
	return tsm_jstr(x->doc, "holder");
}

/* The device's phone certificates at the CA, revoked (the holder's
 * one-phone rule, a revocation, a renewal's own check). */
int tsm_revoke_serials(sess_t *x, json_t *dev, int which_mask, int reason)
{
	static const char *const keys[2] = { "auth_serial", "sign_serial" };
	for (int s = 0; s < 2; s++) {
		uint64_t serial;
		const char *v = tsm_jstr(dev, keys[s]);
		int rc;
		if (!(which_mask & (1 << s)) || !v || ca_serial_parse(v, &serial))
			continue;
		rc = tsm_ca_revoke(x->t, serial, reason);
		if (rc != CA_OK && rc != CA_ERR_STATE) /* expired: nothing left to revoke */
			return rc;
	}
	return CA_OK;
}

/* A device's platform: a FeliCa-SE phone is an Android one. */
static const char *platform_of(json_t *dev)
{
	return tsm_jstr(dev, "platform") ? tsm_jstr(dev, "platform") : "android";
}

/* One phone per holder: every other device of the holder with certificates
 * is revoked (superseded) and its applet deleted when it is next online. */
int tsm_one_phone(sess_t *x)
{
	if (mut_on(MUT_SECOND_PHONE))
		return CA_OK;
	json_t *devs = tsm_docs_live(x->t, holder_of(x)), *d; /* the others are skipped below */
	size_t i;
	int rc = CA_OK;

	json_array_foreach(devs, i, d) {
		const char *st = tsm_jstr(d, "status");
		if (!strcmp(tsm_jstr(d, "id"), tsm_jstr(x->dev, "id")) || !st ||
		    (strcmp(st, "active") && strcmp(st, "hold") && strcmp(st, "half")))
			continue;
		/* one_phone_scope = platform: one phone per platform.  A device
		 * of another platform (an iPhone, recorded by its platform's
		 * service through the broker, tsm_platform.c) keeps its
		 * certificates; under holder it is superseded as any other. */
		if (!strcmp(tsm_policy_get(x->doc, "one_phone_scope", "holder"), "platform") &&
		    strcmp(platform_of(d), platform_of(x->dev)))
			continue;
		if ((rc = tsm_revoke_serials(x, d, 3, CA_REASON_SUPERSEDED)) != CA_OK)
			break;
		json_object_set_new(d, "status", json_string("revoked"));
		json_object_set_new(d, "pending_delete", json_true());
		tsm_doc_put(x->t, "devices", d);
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(d, "id"), "revoked: one phone per holder; applet deletion pending");
		{
			json_t *sup = json_object_get(x->facts, "superseded");
			if (!sup) {
				sup = json_array();
				json_object_set_new(x->facts, "superseded", sup);
			}
			json_array_append_new(sup, json_string(tsm_jstr(d, "id")));
		}
	}
	json_decref(devs);
	return rc;
}

/* The previous holder's certificates of a phone passed on (the fact
 * "transfer" of tsm_sess_prepare), after the card's authorisation. */
int tsm_transfer(sess_t *x)
{
	if (!tsm_jbool(x->facts, "transfer") || tsm_jbool(x->facts, "transferred"))
		return 0;
	if (tsm_revoke_serials(x, x->dev, 3, CA_REASON_CESSATION) != CA_OK) {
		tsm_fail_session(x, 409, NULL, ca_error(x->t->ca));
		return -1;
	}
	json_object_set_new(x->dev, "status", json_string("revoked"));
	json_object_set_new(x->facts, "transferred", json_true());
	tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"), "previous holder's certificates revoked (transfer)");
	return 0;
}

/* The renewal window of a card certificate opens 3 months before its
 * notAfter on the JST calendar (JPKI: a card certificate can be renewed
 * from 3 months before it expires); the 31st becomes the month's last. */
static int64_t renew_window(int64_t not_after)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	char s[16], out[48];
	int y, m, d, last;
	int64_t t;

	vclock_format(not_after + 9 * 3600, s);
	if (sscanf(s, "%4d%2d%2d", &y, &m, &d) != 3)
		return not_after;
	if ((m -= 3) < 1) {
		m += 12;
		y--;
	}
	last = mdays[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	snprintf(out, sizeof out, "%04d%02d%02d%.6sZ", y, m, d < last ? d : last, s + 8);
	return vclock_parse(out, &t) < 0 ? not_after : t - 9 * 3600;
}

/* 更新 (operation 3, docs/domain.md#flows).  Normally the card's sign certificate
 * was renewed first, and the linkage revoked the phone's (registry revoked,
 * card_renewed): the phone gets new keys and certificates from the
 * renewed card certificate.  Tried before the card was renewed, the TSM
 * checks the phone certificates itself: still valid, they are revoked
 * by the TSM (superseded) and replaced, unless the card certificate
 * presented is in its renewal window or past it, when new phone
 * certificates would expire with it: refused, renew the card's first.
 * MODELLED ASSUMPTION (the study only says the SP-TSM checks). */
static int renew_check(sess_t *x, int same, int active)
{
	const char *dst = tsm_jstr(x->dev, "status"), *why = tsm_jstr(x->dev, "reason");
	/* issuance_failed: a renewal that failed after its certification was
	 * compensated (tsm_uncertify): the holder's retry renews */
	int renewed = same && dst && !strcmp(dst, "revoked") && why &&
		      (!strcmp(why, "card_renewed") || !strcmp(why, "issuance_failed"));
	int64_t now = vclock_now(x->t->ctx->clock);
	char msg[200], na[16];
	uint64_t cs;
	ca_info_t card;

	if (ca_serial_parse(tsm_jstr(x->doc, "card_serial"), &cs) || ca_status(x->t->ca, cs, &card) != CA_OK) {
		tsm_fail_session(x, 404, "card_serial", "renew: no such card certificate");
		return -1;
	}
	vclock_format(card.not_after, na);
	if (card.status != CA_VALID) {
		snprintf(msg, sizeof msg, "renew: the card's sign certificate is %s%s%s: renew the card's certificate first",
			 ca_status_name(card.status), card.status == CA_EXPIRED ? " since " : "",
			 card.status == CA_EXPIRED ? na : "");
		tsm_fail_session(x, 409, "card_serial", msg);
		return -1;
	}
	if (now >= renew_window(card.not_after)) {
		snprintf(msg, sizeof msg,
			 "renew: the card's sign certificate expires at %s: renew the card's certificate first, "
			 "then the phone's",
			 na);
		tsm_fail_session(x, 409, "card_serial", msg);
		return -1;
	}
	if (same && active)
		return 0;
	if (renewed)
		return 0;
	if (same && dst && (!strcmp(dst, "expired") || !strcmp(dst, "revoked"))) {
		snprintf(msg, sizeof msg, "renew: the phone's certificates are %s: reissue them", dst);
		tsm_fail_session(x, 409, "op", msg);
		return -1;
	}
	tsm_fail_session(x, 409, "op", "renew: the device carries no certificates of the holder");
	return -1;
}

/* An issuance that stopped after its certification: the registry says
 * active, and a certificate it records is in no active slot of the SE
 * (the inventory just read). */
static int unfinished(sess_t *x)
{
	static const char *const keys[2] = { "auth_serial", "sign_serial" };
	const char *st = tsm_jstr(x->dev, "status");

	if (!st || strcmp(st, "active") || !tsm_jbool(json_object_get(x->facts, "inv"), "valid"))
		return 0;
	for (int s = 0; s < 2; s++)
		if (tsm_jstr(x->dev, keys[s]) && tsm_slot_state(x, s) != S_ACTIVE)
			return 1;
	return 0;
}

/* What the op needs, decided once the device is known. */
int tsm_sess_prepare(sess_t *x)
{
	const char *op = tsm_jstr(x->doc, "op"), *dst = tsm_jstr(x->dev, "status"), *dh = tsm_jstr(x->dev, "holder");
	const char *h = holder_of(x);
	int sign_cert = strcmp(tsm_policy_get(x->doc, "phone_sign_cert", "true"), "false") != 0;
	json_t *f = x->facts;
	int same = dh && h && !strcmp(dh, h);
	int active = dst && (!strcmp(dst, "active") || !strcmp(dst, "hold"));

	json_object_set_new(f, "prepared", json_true());
	if (dh && h && !same && active && (!strcmp(op, "issue") || !strcmp(op, "reissue")))
		/* A phone passed on without revocation (case 8, docs/domain.md#cases): the
		 * previous holder's certificates are revoked before anything else
		 * on the SE — once the new holder's card has authorised
		 * (tsm_transfer), so that a refused request changes nothing. */
		json_object_set_new(f, "transfer", json_true());
	if (tsm_jbool(x->dev, "pending_delete") || (tsm_jbool(json_object_get(f, "inv"), "applet") && !same &&
						 strcmp(op, "sync")))
		json_object_set_new(f, "pre_delete", json_true());
	if (!strcmp(op, "sync")) {
		/* Slots whose certificate the CA revoked while the other stays
		 * valid (tsm_reconcile): marked, or erased under erase_revoked. */
		json_t *pr = json_object_get(x->dev, "pending_revoke");
		if (json_array_size(pr) && !tsm_jbool(f, "pre_delete")) {
			json_object_set(f, "mark", pr);
			if (!strcmp(tsm_policy_get(x->doc, "half_valid", "block"), "erase_revoked"))
				json_object_set(f, "erase", pr);
			json_object_set_new(f, "pending_revoke", json_true());
		}
		return 0;
	}
	if (!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew")) {
		if (!strcmp(op, "issue") && same && active && !unfinished(x)) {
			tsm_fail_session(x, 409, "op", "this device already carries the holder's certificates: renew or reissue");
			return -1;
		}
		if (!strcmp(op, "issue") && same && active) {
			/* An issuance whose session never came back after its
			 * certification: compensated now (tsm_uncertify), then
			 * issued afresh. */
			json_object_set_new(f, "revoke_mask", json_integer(3));
			json_object_set_new(f, "revoke_reason", json_integer(CA_REASON_CESSATION));
			tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->dev, "id"),
				  "unfinished issuance: its certificates are in no active slot; revoked "
				  "(cessationOfOperation) and issued again");
		}
		if (!strcmp(op, "renew") && renew_check(x, same, active) < 0)
			return -1;
		if (!strcmp(op, "reissue") && same && active && !strcmp(dst, "active")) {
			/* The TSM's own status check: reissue needs revoked or expired certificates. */
			ca_info_t ci;
			uint64_t serial;
			if (tsm_jstr(x->dev, "auth_serial") && !ca_serial_parse(tsm_jstr(x->dev, "auth_serial"), &serial) &&
			    ca_status(x->t->ca, serial, &ci) == CA_OK && ci.status == CA_VALID) {
				tsm_fail_session(x, 409, "op", "reissue: the certificates are still valid (renew them)");
				return -1;
			}
		}
		json_object_set_new(f, "provision", sign_cert ? json_pack("[i,i]", 0, 1) : json_pack("[i]", 0));
		json_object_set_new(f, "pin_slots", sign_cert ? json_pack("[i,i]", 0, 1) : json_pack("[i]", 0));
		if (!strcmp(op, "renew")) {
			/* Seed §4: the TSM checks the phone certificates' status itself
			 * and revokes those still valid (the card certificate was not
			 * renewed, or the linkage did not reach them). */
			ca_info_t ci;
			uint64_t serial;
			int valid = 0;
			if (tsm_jstr(x->dev, "auth_serial") && !ca_serial_parse(tsm_jstr(x->dev, "auth_serial"), &serial) &&
			    ca_status(x->t->ca, serial, &ci) == CA_OK &&
			    (ci.status == CA_VALID ||
			     /* replayed: this very step revoked them before the crash */
			     (x->replay && ci.status == CA_REVOKED && ci.reason == CA_REASON_SUPERSEDED &&
			      ci.revoked_at >= x->intent_at)))
				valid = 1;
			json_object_set_new(f, "revoked_by_tsm", json_boolean(valid));
			json_object_set_new(f, "revoke_mask", json_integer(3));
			json_object_set_new(f, "revoke_reason", json_integer(CA_REASON_SUPERSEDED));
			json_object_set_new(f, "mark", json_pack("[i,i]", 0, 1));
		} else if (!strcmp(op, "reissue") && same) {
			json_object_set_new(f, "revoke_mask", json_integer(3));
			json_object_set_new(f, "revoke_reason", json_integer(CA_REASON_SUPERSEDED));
			json_object_set_new(f, "mark", json_pack("[i,i]", 0, 1));
		}
		if (!sign_cert && !json_object_get(f, "pre_delete") && tsm_slot_state(x, 1) == S_ACTIVE)
			json_object_set_new(f, "pre_delete", json_true());
		return 0;
	}
	/* The other operations act on the holder's own device. */
	if (!same) {
		tsm_fail_session(x, 403, "card_serial", "the card's holder does not hold this device");
		return -1;
	}
	if (!strcmp(op, "revoke")) {
		const char *certs = tsm_jstr(f, "certs");
		int mask = !certs || !strcmp(certs, "both") ? 3 : !strcmp(certs, "auth") ? 1 : 2;
		int has = (tsm_jstr(x->dev, "auth_serial") ? 1 : 0) | (tsm_jstr(x->dev, "sign_serial") ? 2 : 0);
		if (has && !(mask & has)) {
			tsm_fail_session(x, 409, "certs", "the device carries no such certificate (phone_sign_cert=false: "
							  "auth only)");
			return -1;
		}
		if (has && (mask & has) == has)
			mask = 3; /* all it carries: the whole revocation, applet deleted per policy */
		json_object_set_new(f, "revoke_mask", json_integer(mask));
		if (mask == 3) {
			if (!strcmp(tsm_policy_get(x->doc, "delete_applet_on_revoke", "force"), "force"))
				json_object_set_new(f, "delete", json_true());
			else
				json_object_set_new(f, "mark", json_pack("[i,i]", 0, 1));
		} else {
			int s = mask == 1 ? 0 : 1;
			json_object_set_new(f, "mark", json_pack("[i]", s));
			if (!strcmp(tsm_policy_get(x->doc, "half_valid", "block"), "erase_revoked"))
				json_object_set_new(f, "erase", json_pack("[i]", s));
		}
		return 0;
	}
	if (!strcmp(op, "lift")) {
		if (!dst || strcmp(dst, "hold")) {
			tsm_fail_session(x, 409, "op", "lift: the device's certificates are not on hold");
			return -1;
		}
		json_object_set_new(f, "lift_auth", json_true());
		if (!tsm_jstr(x->dev, "sign_serial")) {
			/* phone_sign_cert = false: the auth certificate alone, reinstated */
			json_object_set_new(f, "revoke_mask", json_integer(0));
			return 0;
		}
		json_object_set_new(f, "revoke_mask", json_integer(2));
		json_object_set_new(f, "revoke_reason", json_integer(CA_REASON_SUPERSEDED));
		json_object_set_new(f, "mark", json_pack("[i]", 1));
		json_object_set_new(f, "provision", json_pack("[i]", 1));
		if (json_object_get(x->pins ? x->pins : json_null(), "sign"))
			json_object_set_new(f, "pin_slots", json_pack("[i]", 1));
		return 0;
	}
	if (!strcmp(op, "pin_reset")) {
		const char *slot = tsm_jstr(f, "slot");
		if (!dst || strcmp(dst, "active")) {
			tsm_fail_session(x, 409, "op", "pin_reset: the device's certificates are not valid");
			return -1;
		}
		if (!tsm_jstr(x->dev, slot && !strcmp(slot, "sign") ? "sign_serial" : "auth_serial")) {
			tsm_fail_session(x, 409, "slot", "pin_reset: the device carries no certificate in that slot "
							 "(phone_sign_cert=false: auth only)");
			return -1;
		}
		json_object_set_new(f, "pin_slots", json_pack("[i]", slot && !strcmp(slot, "sign") ? 1 : 0));
		return 0;
	}
	tsm_fail_session(x, 400, "op", "unknown operation");
	return -1;
}

/* The device record for a CPLC (created at first sight). */
static int device_seen(sess_t *x, const uint8_t *cplc, size_t n)
{
	char id[21], cp[85];
	uint8_t idb[10];

	if (n < 42)
		return -1;
	/* IC fabricator, IC type, IC batch identifier, IC serial number. */
	memcpy(idb, cplc, 4);
	memcpy(idb + 4, cplc + 16, 2);
	memcpy(idb + 6, cplc + 12, 4);
	apdu_hex(idb, 10, id);
	apdu_hex(cplc, 42, cp);
	if (tsm_jstr(x->doc, "device") && strcmp(tsm_jstr(x->doc, "device"), id)) {
		tsm_fail_session(x, 409, "responses", "the SE is not the session's device");
		return -1;
	}
	if (!x->dev) {
		x->dev = tsm_doc_get(x->t, "devices", id);
		if (!x->dev) {
			x->dev = json_pack("{s:s, s:s, s:s, s:b}", "id", id, "cplc", cp, "status", "none",
					   "pending_delete", 0);
			tsm_event(x->t, tsm_jstr(x->doc, "id"), id, "device registered");
		}
	}
	if (tsm_jstr(x->facts, "idm"))
		json_object_set(x->dev, "idm", json_object_get(x->facts, "idm"));
	json_object_set_new(x->doc, "device", json_string(id));
	return 0;
}

/* ------------------------------------------------------------ absorbing answers */

static int find_hex(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* The responses to the last script.  Returns 1 when the secure channel
 * must be opened again (an unexpected answer), 0 when all went as
 * planned, -1 on a failed session. */
int tsm_absorb_apdus(sess_t *x, json_t *rsps_in)
{
	json_t *ops = json_object_get(x->facts, "ops");
	json_t *inv, *rsps;
	scp03_session_t *s = tsm_scp_find(x->t, tsm_jstr(x->doc, "id"));
	int reopen = 0, inv_ok = 1;
	size_t i, bad = 0;
	json_t *opj;

	/* The SE issuer's script (se_model = ssd): its answers are its own. */
	if (!strcmp(json_string_value(json_array_get(ops, 0)) ? json_string_value(json_array_get(ops, 0)) : "", "iss"))
		return tsm_ssd_absorb(x, rsps_in);
	/* Every answer to a wrapped command is checked (R-MAC) before any
	 * is believed: one altered on the way, even one saying 9000, fails
	 * the session with nothing of the script recorded. */
	if (!(rsps = tsm_scp_check(x->t, tsm_jstr(x->doc, "id"), ops, rsps_in, &bad))) {
		char msg[160];
		snprintf(msg, sizeof msg,
			 "answer %zu (%s) failed its R-MAC check: altered between the SE and the TSM", bad + 1,
			 json_string_value(json_array_get(ops, bad)));
		tsm_scp_drop(x->t, tsm_jstr(x->doc, "id"));
		json_object_del(x->facts, "ops");
		tsm_event(x->t, tsm_jstr(x->doc, "id"), tsm_jstr(x->doc, "device"), "R-MAC check failed");
		tsm_fail_session(x, 422, "responses", msg);
		return -1;
	}
	inv = json_object();
	json_object_set_new(inv, "slots", json_pack("[i,i]", 0, 0));
	json_array_foreach(ops, i, opj) {
		const char *op = json_string_value(opj), *hex = json_string_value(json_array_get(rsps, i));
		uint8_t *r = NULL;
		size_t rn = 0;
		uint16_t sw;
		int slot = -1;

		if (!hex || tsm_unhex(hex, &r, &rn) < 0 || rn < 2) {
			free(r);
			reopen = 1;
			inv_ok = 0;
			break;
		}
		sw = apdu_sw(r, rn);
		if (strchr(op, ':'))
			slot = atoi(strchr(op, ':') + 1);
		if (sw == 0x9000 && tsm_ssd_on(x) && tsm_ssd_receipt(x, op, r, rn) < 0) {
			free(r);
			json_decref(inv);
			json_decref(rsps);
			json_object_del(x->facts, "ops");
			return -1;
		}
		if (!strcmp(op, "sel_ssd")) {
			if (sw != 0x9000) /* no SSD of ours yet: the issuer makes it */
				json_object_set_new(x->facts, "no_ssd", json_true());
		} else if (!strcmp(op, "select") || !strcmp(op, "perso") || !strcmp(op, "block")) {
			if (sw != 0x9000 && strcmp(op, "select"))
				reopen = 1;
		} else if (!strcmp(op, "cplc")) {
			const uint8_t *p = r;
			size_t n = rn - 2;
			if (n >= 3 && p[0] == 0x9F && p[1] == 0x7F) {
				p += 3;
				n -= 3;
			}
			if (sw != 0x9000 || device_seen(x, p, n) < 0) {
				free(r);
				json_decref(inv);
				json_decref(rsps);
				if (!strcmp(tsm_jstr(x->doc, "state"), "failed"))
					return -1;
				tsm_fail_session(x, 422, "responses", "no CPLC from the SE");
				return -1;
			}
		} else if (!strcmp(op, "iu")) {
			uint8_t ea[64];
			size_t en;
			scp03_keyset_t k;
			/* The device's own key set (the CPLC came first). */
			if (!s || tsm_jbool(x->facts, "no_ssd") ||
			    (tsm_ssd_on(x) ? tsm_ssd_keys : tsm_se_keys)(x->t, tsm_jstr(x->doc, "device"), &k) < 0 ||
			    scp03_host_open(s, &k, r, rn, x->t->level, ea, sizeof ea, &en) < 0)
				reopen = 1;
			else
				json_object_set_new(x->facts, "ea", tsm_jhex(ea, en));
			OPENSSL_cleanse(&k, sizeof k);
		} else if (!strcmp(op, "ea")) {
			if (sw != 0x9000)
				reopen = 1;
		} else if (!strcmp(op, "gs_app") || !strcmp(op, "gs_elf")) {
			char *h = malloc(2 * rn + 1);
			if (!h) {
				free(r);
				json_decref(inv);
				json_decref(rsps);
				return -1;
			}
			apdu_hex(r, rn - 2, h);
			if (sw == 0x9000 || sw == 0x6310) {
				if (!strcmp(op, "gs_app")) {
					int on = find_hex(h, "4F0A" JPKI_AID);
					json_object_set_new(inv, "applet", json_boolean(on));
				} else {
					json_object_set_new(inv, "elf", json_boolean(find_hex(h, "4F07" JPKI_ELF)));
				}
			} else if (sw == 0x6A88) {
				json_object_set_new(inv, !strcmp(op, "gs_app") ? "applet" : "elf", json_false());
			} else {
				inv_ok = 0;
				reopen = 1;
			}
			free(h);
		} else if (!strcmp(op, "inv_slots")) {
			if (sw == 0x9000 && rn == 4)
				json_object_set_new(inv, "slots", json_pack("[i,i]", r[0], r[1]));
			else if (tsm_jbool(inv, "applet"))
				inv_ok = 0, reopen = 1;
		} else if (!strncmp(op, "gen:", 4)) {
			if (sw == 0x9000 && rn > 2) {
				json_object_set_new(tsm_facts_obj(x, "spki"), slot_names[slot], tsm_jhex(r, rn - 2));
				json_object_del(tsm_facts_obj(x, "cert"), slot_names[slot]);
			} else {
				reopen = 1;
			}
		} else if (!strncmp(op, "pin:", 4)) {
			if (sw == 0x9000)
				json_object_set_new(tsm_facts_obj(x, "pin_done"), slot_names[slot], json_true());
			else
				reopen = 1;
		} else if (!strcmp(op, "delete")) {
			if (sw == 0x6985)
				json_object_set_new(x->facts, "delete_refused", json_true());
			else if (sw != 0x9000 && sw != 0x6A88)
				reopen = 1;
		} else if (sw != 0x9000) { /* load, install, cert:, ca:, rev:, erase: */
			reopen = 1;
		}
		free(r);
	}
	json_object_del(x->facts, "ops");
	json_decref(rsps);
	if (reopen && inv_ok && json_object_get(inv, "applet")) {
		/* Something went out of plan but the inventory came back: plan
		 * again from it on the same channel, a bounded number of times. */
		int retries = (int)tsm_jint(x->facts, "retries") + 1;
		json_object_set_new(x->facts, "retries", json_integer(retries));
		if (retries > MAX_REOPENS) {
			json_decref(inv);
			tsm_fail_session(x, 422, "responses", "the SE keeps answering out of plan");
			return -1;
		}
		reopen = 0;
	}
	if (inv_ok && json_object_get(inv, "applet") && json_object_get(inv, "elf")) {
		json_object_set_new(inv, "valid", json_true());
		json_object_set(x->facts, "inv", inv);
		if (x->dev) {
			json_object_set_new(x->dev, "applet",
					    json_string(tsm_jbool(inv, "applet") ? "installed" : "none"));
			json_object_set(x->dev, "slots", json_object_get(inv, "slots"));
		}
	} else if (!json_object_get(x->facts, "ea")) {
		json_object_del(x->facts, "inv");
	}
	json_decref(inv);
	if (reopen && !json_object_get(x->facts, "ea")) {
		json_object_del(x->facts, "inv");
		tsm_scp_drop(x->t, tsm_jstr(x->doc, "id"));
	}
	return reopen;
}

/* revoke_without_card (docs/domain.md#policy-switches, 課題 1): the
 * phone's own sign key may authorise its revocation instead of the card.
 * Checked with the phone's sign certificate from the CA, which must still
 * be valid or on hold: a revoked key authorises nothing. */
static int verify_phone(sess_t *x, const uint8_t *msg, size_t mn, const uint8_t *sig, size_t sn)
{
	uint64_t serial;
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t n;
	ca_info_t ci;
	X509 *cert = NULL;
	EVP_MD_CTX *c = NULL;
	int ok = 0;

	if (!tsm_jstr(x->dev, "sign_serial") || ca_serial_parse(tsm_jstr(x->dev, "sign_serial"), &serial) ||
	    ca_status(x->t->ca, serial, &ci) != CA_OK || (ci.status != CA_VALID && ci.status != CA_HOLD) ||
	    ca_cert(x->t->ca, serial, &der, &n) != CA_OK)
		goto out;
	p = der;
	if (!(cert = d2i_X509(NULL, &p, (long)n)) || !(c = EVP_MD_CTX_new()))
		goto out;
	ok = EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) == 1 &&
	     EVP_DigestVerify(c, sig, sn, msg, mn) == 1;
out:
	EVP_MD_CTX_free(c);
	X509_free(cert);
	free(der);
	return ok;
}

static int bad_request(sess_t *x, const char *field, const char *why)
{
	x->status = 400;
	json_object_set_new(x->facts, "bad_field", json_string(field));
	json_object_set_new(x->facts, "bad", json_string(why));
	return -1;
}

/* The signatures asked for: over the TSM's authorisation message (by the
 * card, or by the phone under revoke_without_card), or over the
 * phone-certificate requests (by the card). */
int tsm_absorb_sigs(sess_t *x, json_t *sigs, json_t *signer_j)
{
	const char *kind = tsm_jstr(x->facts, "sign_kind");
	const char *signer = json_is_string(signer_j) ? json_string_value(signer_j) : "card";
	uint64_t card;

	if (!kind)
		kind = "certs";
	json_object_del(x->facts, "bad_field");
	if (signer_j && (!json_is_string(signer_j) || (strcmp(signer, "card") && strcmp(signer, "phone"))))
		return bad_request(x, "signer", "signer: card or phone");
	if (!json_is_array(sigs) || json_array_size(sigs) != json_array_size(json_object_get(x->facts, "sign_for")))
		return bad_request(x, "signatures", "signatures: one hex signature per digest_info");
	if (!strcmp(signer, "phone") &&
	    (strcmp(kind, "auth") || strcmp(tsm_jstr(x->doc, "op"), "revoke") || strcmp(tsm_policy_get(x->doc, "revoke_without_card", "false"), "true"))) {
		tsm_fail_session(x, 403, "signer",
			     "the phone's own signature authorises only a revocation, under revoke_without_card");
		return -1;
	}
	if (!strcmp(signer, "phone") && !tsm_jstr(x->dev, "sign_serial")) {
		/* phone_sign_cert = false (docs/domain.md#policy-switches):
		 * the phone has no sign key to authorise with; its auth key
		 * only logs in.  The card must. */
		tsm_fail_session(x, 403, "signer",
			     "the phone carries no sign certificate (phone_sign_cert=false): the card must authorise");
		return -1;
	}
	ca_serial_parse(tsm_jstr(x->doc, "card_serial"), &card);
	if (!strcmp(kind, "auth")) {
		uint8_t *msg = NULL, *sig = NULL;
		size_t mn, sn;
		ca_info_t ci;
		int rc = -1;
		if (tsm_unhex(tsm_jstr(x->facts, "auth_msg"), &msg, &mn) == 0 &&
		    tsm_unhex(json_string_value(json_array_get(sigs, 0)), &sig, &sn) == 0)
			rc = !strcmp(signer, "phone") ? (verify_phone(x, msg, mn, sig, sn) ? CA_OK : CA_ERR_SIGNATURE)
						      : ca_verify_card(x->t->ca, card, msg, mn, sig, sn, &ci);
		free(msg);
		free(sig);
		if (rc != CA_OK) {
			tsm_fail_session(x, rc == CA_ERR_SIGNATURE ? 403 : 409, rc == CA_ERR_STATE ? "card_serial" : "signatures",
				     rc == CA_ERR_SIGNATURE && !strcmp(signer, "phone")
					     ? "the phone's signature does not verify under its valid sign certificate"
				     : rc < -1 ? ca_error(x->t->ca) : "not hex");
			return -1;
		}
		json_object_set_new(x->facts, "auth_ok", json_true());
	} else {
		json_object_set(x->facts, "sigs", sigs);
	}
	json_object_del(x->facts, "sign_kind");
	json_object_del(x->facts, "sign_for");
	return 0;
}
