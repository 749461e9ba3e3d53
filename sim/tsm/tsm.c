/* tsm.c — the SP-TSM simulator (tsm.h, docs/tsm.md): its API, open /
 * close and the routing of requests; tsm_int.h says where the rest is.
 *
 * A session is a series of steps.  Each step's answer is one action:
 *   "apdus"  a script for the phone app to relay to the SE, in order, all
 *            of it; the responses (data ‖ SW, hex) come back with the next
 *            step.  The first script of a session opens an SCP03 session
 *            (SELECT ISD, GET DATA CPLC, INITIALIZE UPDATE); the next
 *            starts with EXTERNAL AUTHENTICATE; every later command is
 *            wrapped (level 03: C-MAC + C-DECRYPTION), and every script
 *            ends with the inventory (GET STATUS of the applet and its
 *            load file, the applet's slot states), so the TSM plans each
 *            script from what the SE says it holds, never from what it
 *            thinks it sent.  That makes a retried or half-relayed script
 *            harmless: a replayed wrapped command fails its MAC (6982)
 *            and changes nothing, an unexpected answer makes the TSM open
 *            a new secure channel and re-read the SE, and a command whose
 *            effect is already there (an instance installed, a slot
 *            active) is not sent again.
 *   "card_sign"  DigestInfos for the holder's card to sign with its sign
 *            key (80 2A after the sign PIN); the signatures come back.
 *   "done" / "failed"  the result.
 *
 * Every step is one SQLite transaction: the session (its step number,
 * facts and last action), the device records and the events.  CA calls
 * (issuance, revocation) are idempotent (ca_issue_phone answers the same
 * request with the same certificate), so a TSM killed between the CA's
 * commit and its own redoes them on the retried step with no effect.
 * A client that lost a step's answer posts the previous step again and
 * gets the same answer. */
#include "tsm_int.h"
#include "../itsm/itsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ CA calls that change it */

/* Mutating CA calls go through these: the fault hook (tsm_fault) stops a
 * request just before or just after the n-th one, as a kill -9 would. */
static int ca_gate(tsm_t *t)
{
	if (t->crashed)
		return CA_ERR_DB;
	if (t->fault_at && t->fault_before && t->ca_calls + 1 == t->fault_at) {
		t->crashed = 1;
		return CA_ERR_DB;
	}
	return 0;
}

static int ca_done(tsm_t *t, int rc)
{
	t->ca_calls++;
	t->touched++;
	if (t->fault_at && !t->fault_before && t->ca_calls == t->fault_at)
		t->crashed = 1;
	return rc;
}

int tsm_ca_revoke(tsm_t *t, uint64_t serial, int reason)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_revoke(t->ca, serial, reason));
}

int tsm_ca_hold(tsm_t *t, uint64_t serial)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_hold(t->ca, serial));
}

int tsm_ca_lift(tsm_t *t, uint64_t serial)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_lift(t->ca, serial));
}

int tsm_ca_issue(tsm_t *t, const ca_phone_req_t *r, uint64_t *serial)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_issue_phone(t->ca, r, serial, NULL, NULL));
}

void tsm_fault(tsm_t *t, int nth_ca_call, int before)
{
	t->fault_at = nth_ca_call;
	t->fault_before = before;
	t->ca_calls = 0;
	t->crashed = 0;
}

/* ------------------------------------------------------------ routing */

/* Split path "/v1/tsm/a/b/c" into up to 4 segments after /v1/tsm. */
static int segments(const char *path, char seg[4][96])
{
	int n = 0;
	const char *p;

	if (strncmp(path, "/v1/tsm", 7) || (path[7] && path[7] != '/'))
		return -1;
	p = path + 7;
	while (*p == '/' && n < 4) {
		const char *e;
		p++;
		e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (!len || len >= 96)
			return -1;
		memcpy(seg[n], p, len);
		seg[n][len] = 0;
		n++;
		p += len;
	}
	return *p ? -1 : n;
}

int tsm_handle(tsm_t *t, const char *method, const char *path, json_t *body, json_t **out)
{
	char seg[4][96];
	int n = segments(path, seg), get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	*out = NULL;
	/* Linked revocation: the registry follows the CA before anything
	 * is answered (see tsm_reconcile). */
	if (n >= 0 && tsm_reconcile(t, NULL) < 0 && t->crashed) {
		*out = tsm_jerr(NULL, "simulated crash");
		return 500;
	}
	if (n == 1 && !strcmp(seg[0], "sessions") && post)
		return tsm_h_begin(t, body, out);
	if (n == 3 && !strcmp(seg[0], "sessions") && !strcmp(seg[2], "steps") && post)
		return tsm_h_step(t, seg[1], body, out);
	if (n == 2 && (!strcmp(seg[0], "sessions") || !strcmp(seg[0], "devices")) && get) {
		json_t *d = tsm_doc_get(t, seg[0], seg[1]);
		if (!d) {
			*out = tsm_jerr(!strcmp(seg[0], "sessions") ? "session" : "device", "%s: no such record", seg[1]);
			return 404;
		}
		if (!strcmp(seg[0], "sessions"))
			json_object_del(d, "facts"); /* internal; nothing secret in it, but large */
		*out = d;
		return 200;
	}
	if (n == 3 && !strcmp(seg[0], "holders") && !strcmp(seg[2], "devices") && get) {
		*out = json_pack("{s:s, s:o}", "holder", seg[1], "devices", tsm_docs_by_key(t, "devices", seg[1]));
		return 200;
	}
	if (n == 1 && !strcmp(seg[0], "devices") && get) {
		*out = json_pack("{s:o}", "devices", tsm_docs_all(t, "devices"));
		return 200;
	}
	if (n == 2 && !strcmp(seg[0], "callcenter") && !strcmp(seg[1], "hold") && post)
		return tsm_h_hold(t, body, out);
	if (n == 1 && !strcmp(seg[0], "check") && get)
		return tsm_h_check(t, out);
	if (n >= 2 && !strcmp(seg[0], "platform") && post)
		return tsm_h_platform(t, n, seg, body, out);
	if (n == 1 && !strcmp(seg[0], "events") && get)
		return tsm_h_events(t, out);
	if (n == 1 && !strcmp(seg[0], "stats") && get) {
		*out = json_pack("{s:I, s:I, s:I, s:I, s:I}", "sessions", (json_int_t)t->st.sessions, "steps",
				 (json_int_t)t->st.steps, "done", (json_int_t)t->st.done, "failed",
				 (json_int_t)t->st.failed, "reopens", (json_int_t)t->st.reopens);
		return 200;
	}
	if (n >= 0 && (get || post)) {
		*out = tsm_jerr("path", "path: no such resource %s", path);
		return 404;
	}
	*out = tsm_jerr(n < 0 ? "path" : "method", n < 0 ? "path: no such resource %s" : "method: not allowed on %s", path);
	return n < 0 ? 404 : 405;
}

/* ------------------------------------------------------------ open / close */

/* ------------------------------------------------------------ linked revocation
 *
 * The CA is the source of truth for certificate status, and it changes
 * under the TSM: J-LIS revokes a card's sign certificate (the card is
 * lost: 連動失効 revokes the linked phone certificates at the CA),
 * renews it (the old one revoked, superseded, with its phone
 * certificates), puts it on hold, or it expires on the clock (the phone
 * certificates' notAfter is the card's).  MODELLED ASSUMPTION (public
 * sources do not say how the real SP-TSM learns it): before every
 * request, and at open after the intents, the TSM checks the status of
 * the certificates of every live device (active, hold, half) and of the
 * card sign certificate each is linked to, and the registry follows:
 *
 *   all phone certificates revoked   -> revoked, applet deletion pending
 *   some revoked, some valid / held  -> half, the revoked slots pending
 *   on hold (none valid)             -> hold
 *   all expired                      -> expired, applet deletion pending
 *
 * with reason card_revoked / card_renewed / card_held / card_expired when
 * the card certificate explains it, else revoked_at_ca / held_at_ca /
 * expired (and ca_reason, the CRLReason).  A card sign certificate on
 * hold does not propagate at the CA (docs/ca.md): the TSM puts the
 * phone's certificates on hold itself, behind a write-ahead intent
 * (link:DEVICE) like the call centre's.  The pending SE work is done at
 * the phone's next contact (sync, or any session of the device) under the
 * session's delete_applet_on_revoke / half_valid policy, and the answer
 * carries the reason. */

static const char *const ser_keys[2] = { "auth_serial", "sign_serial" };

static void set_reason(json_t *d, const char *code, int ca_reason)
{
	json_object_set_new(d, "reason", json_string(code));
	if (ca_reason >= 0 && ca_reason != CA_REASON_HOLD && ca_reason_name(ca_reason))
		json_object_set_new(d, "ca_reason", json_string(ca_reason_name(ca_reason)));
	else
		json_object_del(d, "ca_reason");
}

/* Why, as the card certificate explains it, else phone-level. */
static const char *why(int card_known, const ca_info_t *card, const char *phone_level)
{
	if (card_known && card->status == CA_REVOKED)
		return card->reason == CA_REASON_SUPERSEDED ? "card_renewed" : "card_revoked";
	if (card_known && card->status == CA_HOLD)
		return "card_held";
	if (card_known && card->status == CA_EXPIRED)
		return "card_expired";
	return phone_level;
}

static int registry_follows(tsm_t *t, json_t *d, const char *status, int pending, const char *code, int reason,
			    const char *what)
{
	char msg[200];

	if (tsm_exec(t, "BEGIN IMMEDIATE") < 0)
		return -1;
	json_object_set_new(d, "status", json_string(status));
	if (pending)
		json_object_set_new(d, "pending_delete", json_true());
	set_reason(d, code, reason);
	tsm_doc_put(t, "devices", d);
	snprintf(msg, sizeof msg, "reconciled with the CA (%s): %s", code, what);
	tsm_event(t, NULL, tsm_jstr(d, "id"), msg);
	return tsm_exec(t, "COMMIT") < 0 ? (tsm_exec(t, "ROLLBACK"), -1) : 1;
}

/* One device: 0 nothing to do, 1 changed, -1 failed (t->crashed: the
 * request "died", its intent left for recovery; else a CA call failed,
 * or a certificate's status could not be read). */
static int reconcile_dev(tsm_t *t, json_t *d)
{
	const char *st = tsm_jstr(d, "status"), *id = tsm_jstr(d, "id");
	int n = 0, valid = 0, held = 0, revoked = 0, expired = 0, reason = -1, card_known = 0, unread = 0;
	int is_valid[2] = { 0, 0 }, is_revoked[2] = { 0, 0 };
	uint64_t serial[2] = { 0, 0 }, cs;
	ca_info_t ci, card;

	if (!st || (strcmp(st, "active") && strcmp(st, "hold") && strcmp(st, "half")))
		return 0;
	if (mut_on(MUT_SKIP_LINKAGE))
		return 0;
	for (int s = 0; s < 2; s++) {
		if (!tsm_jstr(d, ser_keys[s]) || ca_serial_parse(tsm_jstr(d, ser_keys[s]), &serial[s]))
			continue;
		if (ca_status(t->ca, serial[s], &ci) != CA_OK) {
			unread = 1; /* not known to be in step: not a settled reconciliation */
			continue;
		}
		n++;
		is_valid[s] = ci.status == CA_VALID;
		is_revoked[s] = ci.status == CA_REVOKED;
		valid += ci.status == CA_VALID;
		held += ci.status == CA_HOLD;
		expired += ci.status == CA_EXPIRED;
		if (ci.status == CA_REVOKED) {
			revoked++;
			if (reason < 0)
				reason = ci.reason;
		}
	}
	if (!n)
		return unread ? -1 : 0;
	card_known = tsm_jstr(d, "card_serial") && !ca_serial_parse(tsm_jstr(d, "card_serial"), &cs) &&
		     ca_status(t->ca, cs, &card) == CA_OK;
	if (card_known && card.status == CA_HOLD && valid && !revoked && !strcmp(st, "active")) {
		/* The card's sign certificate on hold: the phone's follow, held by
		 * the TSM behind its intent (the CA calls are idempotent). */
		char iid[64];
		json_t *b = json_pack("{s:s}", "device", id);
		int rc = CA_OK;
		snprintf(iid, sizeof iid, "link:%s", id);
		if (tsm_intent_put(t, iid, "link", 0, b) < 0) {
			json_decref(b);
			return -1;
		}
		json_decref(b);
		for (int s = 0; s < 2 && rc == CA_OK; s++)
			if (is_valid[s])
				rc = tsm_ca_hold(t, serial[s]);
		if (t->crashed)
			return -1;
		if (rc != CA_OK) {
			tsm_intent_del(t, iid);
			return -1;
		}
		rc = registry_follows(t, d, "hold", 0, "card_held", -1,
				      "the card's sign certificate is on hold: the phone's certificates held");
		tsm_intent_del(t, iid);
		return rc;
	}
	if (revoked && !valid && !held)
		return registry_follows(t, d, "revoked", 1, why(card_known, &card, "revoked_at_ca"), reason,
					"certificates revoked; applet deletion pending");
	if (revoked && strcmp(st, "half")) {
		json_t *slots = json_array();
		for (int s = 0; s < 2; s++)
			if (is_revoked[s])
				json_array_append_new(slots, json_integer(s));
		json_object_set_new(d, "pending_revoke", slots);
		return registry_follows(t, d, "half", 0, why(card_known, &card, "revoked_at_ca"), reason,
					"one certificate revoked; its slot pending");
	}
	if (held && !valid && !revoked && !strcmp(st, "active"))
		return registry_follows(t, d, "hold", 0, why(card_known, &card, "held_at_ca"), -1,
					"certificates on hold");
	if (expired == n)
		return registry_follows(t, d, "expired", 1, why(card_known, &card, "expired"), -1,
					"certificates expired; applet deletion pending");
	return unread ? -1 : 0;
}

/* What a reconciliation of every device depends on: the device records
 * (written here, or by another process on the same file) and the CA's
 * records and clock.  -1 when that can't be known (a remote CA). */
static int recon_key(tsm_t *t, uint64_t k[5])
{
	sqlite3_stmt *st = tsm_stmt(t, "PRAGMA data_version");
	int ok = st && sqlite3_step(st) == SQLITE_ROW;

	k[0] = t->dev_rev;
	k[1] = ok ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	if (st)
		tsm_stmt_done(t, st);
	return ok && ca_revision(t->ca, k + 2) == 0 ? 0 : -1;
}

int tsm_reconcile(tsm_t *t, const char *only)
{
	json_t *open, *devs, *d;
	uint64_t k[5] = { 0 };
	size_t i;
	int rc = 0, gate = !only && recon_key(t, k) == 0, settled;

	/* Before every request: when neither the registry nor the CA has
	 * changed since a reconciliation that changed nothing, this one
	 * would change nothing either.  Spares a served TSM with many live
	 * phones reading each one's certificates at the CA per request. */
	if (gate && t->recon.valid && !memcmp(k, t->recon.k, sizeof k))
		return 0;
	open = only ? NULL : tsm_in_flight_list(t);
	devs = tsm_docs_live(t, NULL); /* reconcile_dev() skips the others */
	settled = gate && !json_array_size(open);
	json_array_foreach(devs, i, d) {
		const char *id = tsm_jstr(d, "id"), *h = tsm_jstr(d, "holder");
		char hold[96];
		int r;
		/* A request in flight on the device (or a call-centre hold on
		 * its holder) is finished from its intent first. */
		snprintf(hold, sizeof hold, "hold:%s", h ? h : "");
		if (!id || (only ? strcmp(only, id) != 0 : tsm_in_flight(open, id) || (h && tsm_in_flight(open, hold))))
			continue;
		if ((r = reconcile_dev(t, d)) != 0)
			settled = 0;
		if (r < 0 && t->crashed) {
			rc = -1;
			break;
		}
	}
	json_decref(devs);
	json_decref(open);
	if (!only) {
		t->recon.valid = settled;
		memcpy(t->recon.k, k, sizeof k);
	}
	return rc;
}

int tsm_open(tsm_t **out, sim_ctx_t *ctx, ca_t *ca, const tsm_config_t *cfg, char *err, size_t errlen)
{
	tsm_t *t = calloc(1, sizeof *t);
	const char *path = cfg->db && *cfg->db ? cfg->db : ":memory:";
	int mem = !strcmp(path, ":memory:");

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->ctx = ctx;
	t->ca = ca;
	t->keys = cfg->keys;
	t->diversify = cfg->diversify;
	t->level = cfg->level ? cfg->level : 0x13;
	t->auth_ca = cfg->auth_ca;
	t->sign_ca = cfg->sign_ca;
	t->policy = cfg->policy ? json_deep_copy(cfg->policy) : NULL;
	t->issuer = cfg->issuer;
	snprintf(t->sp, sizeof t->sp, "%s", cfg->sp ? cfg->sp : ITSM_SP_JPKI);
	snprintf(t->ssd_aid, sizeof t->ssd_aid, "%s", cfg->ssd_aid ? cfg->ssd_aid : ITSM_SSD_JPKI);
	t->ssd_keys = cfg->ssd_keys;
	t->ssd_keys.kvn = ITSM_SSD_KVN;
	if (sqlite3_open_v2(path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, t->db ? sqlite3_errmsg(t->db) : "cannot open");
		tsm_close(t);
		return -1;
	}
	sqlite3_busy_timeout(t->db, 5000);
	if ((!mem && (tsm_exec(t, "PRAGMA journal_mode=WAL") < 0 || tsm_exec(t, "PRAGMA synchronous=NORMAL") < 0)) ||
	    tsm_exec(t, "CREATE TABLE IF NOT EXISTS devices(id TEXT PRIMARY KEY, key TEXT, doc TEXT NOT NULL);"
		    /* a holder's live devices (the one-phone rule) without reading
		     * every phone the holder ever had; its prefix serves a
		     * holder's devices */
		    "CREATE INDEX IF NOT EXISTS devices_holder_live ON devices(key, json_extract(doc, '$.status'));"
		    "CREATE INDEX IF NOT EXISTS devices_live ON devices(json_extract(doc, '$.status'));"
		    "CREATE TABLE IF NOT EXISTS sessions(id TEXT PRIMARY KEY, key TEXT, doc TEXT NOT NULL);"
		    "CREATE INDEX IF NOT EXISTS sessions_state ON sessions(key);"
		    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, "
		    "session TEXT, device TEXT, what TEXT NOT NULL);"
		    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v);"
		    "CREATE TABLE IF NOT EXISTS se_keys(device TEXT PRIMARY KEY, keys BLOB NOT NULL);"
		    "CREATE TABLE IF NOT EXISTS intents(id TEXT PRIMARY KEY, kind TEXT NOT NULL, step INTEGER, "
		    "body TEXT NOT NULL, at INTEGER);"
		    "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema', 1);") < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(t->db));
		tsm_close(t);
		return -1;
	}
	t->rng = *ctx->rng; /* a new database: the context's stream; else where the last run left it */
	tsm_rng_load(t);
	tsm_recover(t);
	tsm_reconcile(t, NULL);
	*out = t;
	return 0;
}

void tsm_close(tsm_t *t)
{
	if (!t)
		return;
	tsm_scp_free_all(t);
	tsm_stmts_free(t);
	tsm_docs_free(t);
	sqlite3_close(t->db);
	json_decref(t->policy);
	free(t);
}

void tsm_get_stats(const tsm_t *t, tsm_stats_t *s)
{
	*s = t->st;
}
