/* tsm.c — the SP-TSM simulator (tsm.h, docs/tsm.md).
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
#include "tsm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "../core/apdu.h"

#define ISD_AID "A000000151000000"
#define JPKI_ELF "D392F000260100"
#define JPKI_MOD "D392F00026010001"
#define JPKI_AID "D392F000260100000001"

enum { S_EMPTY = 0, S_GENERATED = 1, S_ACTIVE = 2, S_REVOKED = 3, S_ERASED = 4 };
static const char *const slot_names[2] = { "auth", "sign" };

#define SCP_CACHE 256
#define MAX_REOPENS 4
#define BLOCK 200

struct scpent {
	char id[40];
	scp03_session_t s;
	uint64_t used;
	int live;
};

struct tsm {
	sim_ctx_t *ctx;
	ca_t *ca;
	sqlite3 *db;
	scp03_keyset_t keys;
	uint8_t level;
	json_t *policy;
	ca_blob_t auth_ca, sign_ca;
	struct scpent scp[SCP_CACHE];
	uint64_t tick;
	tsm_stats_t st;
	rng_t rng;      /* the TSM's own stream, saved with every step (meta 'rng') */
	int fault_at, fault_before, ca_calls, crashed; /* tsm_fault() */
	int touched;    /* mutating CA calls in the current request */
};

/* ------------------------------------------------------------ small helpers */

static json_t *jerr(const char *field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *jerr(const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:s?}", "error", msg, "field", field);
}

static json_t *jhex(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *j;

	if (!h)
		return NULL;
	apdu_hex(p, n, h);
	j = json_string(h);
	free(h);
	return j;
}

/* hex string -> malloc'd bytes; -1 if not hex. */
static int unhex(const char *s, uint8_t **out, size_t *n)
{
	size_t len = s ? strlen(s) : 0;
	long r;

	*out = malloc(len / 2 + 1);
	if (!*out)
		return -1;
	r = apdu_unhex(s ? s : "", *out, len / 2 + 1);
	if (r < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*n = (size_t)r;
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int jbool(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static json_int_t jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void serial_str(uint64_t s, char out[17])
{
	ca_serial_format(s, out);
}

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

static int m_revoke(tsm_t *t, uint64_t serial, int reason)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_revoke(t->ca, serial, reason));
}

static int m_hold(tsm_t *t, uint64_t serial)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_hold(t->ca, serial));
}

static int m_lift(tsm_t *t, uint64_t serial)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_lift(t->ca, serial));
}

static int m_issue(tsm_t *t, const ca_phone_req_t *r, uint64_t *serial)
{
	int rc = ca_gate(t);
	return rc ? rc : ca_done(t, ca_issue_phone(t->ca, r, serial, NULL, NULL));
}

static const char *policy_get(json_t *sess, const char *k, const char *def)
{
	const char *v = jstr(json_object_get(sess, "policy"), k);
	return v ? v : def;
}

/* ------------------------------------------------------------ records */

static int exec(tsm_t *t, const char *sql)
{
	return sqlite3_exec(t->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static json_t *doc_get(tsm_t *t, const char *table, const char *id)
{
	char sql[128];
	sqlite3_stmt *st;
	json_t *j = NULL;

	snprintf(sql, sizeof sql, "SELECT doc FROM %s WHERE id = ?", table);
	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_finalize(st);
	return j;
}

static int doc_put(tsm_t *t, const char *table, json_t *doc)
{
	char sql[160];
	sqlite3_stmt *st;
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = -1;

	if (!text)
		return -1;
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s(id, key, doc) VALUES (?, ?, ?)", table);
	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, jstr(doc, "id"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, jstr(doc, !strcmp(table, "devices") ? "holder" : "state"), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	free(text);
	return rc;
}

/* Device docs whose key (holder / state) is key: a new array. */
static json_t *docs_by_key(tsm_t *t, const char *table, const char *key)
{
	char sql[128];
	sqlite3_stmt *st;
	json_t *a = json_array();

	snprintf(sql, sizeof sql, "SELECT doc FROM %s WHERE key IS ? ORDER BY id", table);
	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) != SQLITE_OK)
		return a;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL));
	sqlite3_finalize(st);
	return a;
}

static json_t *docs_all(tsm_t *t, const char *table)
{
	char sql[96];
	sqlite3_stmt *st;
	json_t *a = json_array();

	snprintf(sql, sizeof sql, "SELECT doc FROM %s ORDER BY id", table);
	if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) != SQLITE_OK)
		return a;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL));
	sqlite3_finalize(st);
	return a;
}

static void event(tsm_t *t, const char *session, const char *device, const char *what)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(t->db, "INSERT INTO events(at, session, device, what) VALUES (?,?,?,?)", -1,
			       &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, vclock_now(t->ctx->clock));
	sqlite3_bind_text(st, 2, session, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, what, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static uint64_t next_counter(tsm_t *t)
{
	sqlite3_stmt *st;
	uint64_t v = 1;

	if (sqlite3_prepare_v2(t->db, "SELECT v FROM meta WHERE k = 'sessions'", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = (uint64_t)sqlite3_column_int64(st, 0) + 1;
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(t->db, "INSERT OR REPLACE INTO meta(k, v) VALUES ('sessions', ?)", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return v;
}

/* ------------------------------------------------------------ SCP03 host sessions */

static scp03_session_t *scp_find(tsm_t *t, const char *id)
{
	for (size_t i = 0; i < SCP_CACHE; i++)
		if (t->scp[i].live && !strcmp(t->scp[i].id, id)) {
			t->scp[i].used = ++t->tick;
			return &t->scp[i].s;
		}
	return NULL;
}

static void scp_drop(tsm_t *t, const char *id)
{
	for (size_t i = 0; i < SCP_CACHE; i++)
		if (t->scp[i].live && !strcmp(t->scp[i].id, id)) {
			scp03_session_close(&t->scp[i].s);
			t->scp[i].live = 0;
		}
}

static scp03_session_t *scp_new(tsm_t *t, const char *id)
{
	size_t victim = 0;

	scp_drop(t, id);
	for (size_t i = 0; i < SCP_CACHE; i++) {
		if (!t->scp[i].live) {
			victim = i;
			break;
		}
		if (t->scp[i].used < t->scp[victim].used)
			victim = i;
	}
	scp03_session_close(&t->scp[victim].s);
	scp03_session_init(&t->scp[victim].s);
	snprintf(t->scp[victim].id, sizeof t->scp[victim].id, "%s", id);
	t->scp[victim].live = 1;
	t->scp[victim].used = ++t->tick;
	return &t->scp[victim].s;
}

/* ------------------------------------------------------------ scripts */

typedef struct script {
	json_t *apdus, *ops;
	scp03_session_t *s;
	int err;
} script_t;

static void sc_raw(script_t *sc, const uint8_t *cmd, size_t n, const char *op)
{
	json_array_append_new(sc->apdus, jhex(cmd, n));
	json_array_append_new(sc->ops, json_string(op));
}

static void sc_cmd(script_t *sc, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d, size_t lc,
		   const char *op)
{
	uint8_t plain[300], w[340];
	size_t n = apdu_build(plain, sizeof plain, 0x80, ins, p1, p2, d, lc, 256), wn;

	if (!n || scp03_host_wrap(sc->s, plain, n, w, sizeof w, &wn) < 0) {
		sc->err = 1;
		return;
	}
	sc_raw(sc, w, wn, op);
}

static size_t hexb(const char *hex, uint8_t *out)
{
	return (size_t)apdu_unhex(hex, out, 16);
}

static void sc_install_perso(script_t *sc)
{
	uint8_t d[32];
	size_t n = 0;

	d[n++] = 0;
	d[n++] = 0;
	d[n] = (uint8_t)hexb(JPKI_AID, d + n + 1);
	n += 1 + d[n];
	d[n++] = 0;
	d[n++] = 0;
	d[n++] = 0;
	sc_cmd(sc, 0xE6, 0x20, 0x00, d, n, "perso");
}

/* INSTALL [for personalization] and one DGI in STORE DATA blocks. */
static void sc_dgi(script_t *sc, uint16_t dgi, const uint8_t *v, size_t n, const char *op)
{
	uint8_t *all = malloc(n + 5);
	size_t k = 0, off = 0;
	uint8_t p2 = 0;

	if (!all) {
		sc->err = 1;
		return;
	}
	sc_install_perso(sc);
	all[k++] = (uint8_t)(dgi >> 8);
	all[k++] = (uint8_t)dgi;
	if (n < 0xFF) {
		all[k++] = (uint8_t)n;
	} else {
		all[k++] = 0xFF;
		all[k++] = (uint8_t)(n >> 8);
		all[k++] = (uint8_t)n;
	}
	if (n)
		memcpy(all + k, v, n);
	k += n;
	do {
		size_t m = k - off < BLOCK ? k - off : BLOCK;
		int last = off + m == k;
		sc_cmd(sc, 0xE2, last ? 0x88 : 0x08, p2++, all + off, m, last ? op : "block");
		off += m;
	} while (off < k);
	free(all);
}

static void sc_inventory(script_t *sc)
{
	static const uint8_t any[] = { 0x4F, 0x00 };

	sc_cmd(sc, 0xF2, 0x40, 0x02, any, sizeof any, "gs_app");
	sc_cmd(sc, 0xF2, 0x20, 0x02, any, sizeof any, "gs_elf");
	sc_dgi(sc, 0x0600, NULL, 0, "inv_slots");
}

/* ------------------------------------------------------------ sessions */

typedef struct sess {
	tsm_t *t;
	json_t *doc;   /* the session (owned) */
	json_t *facts; /* borrowed from doc */
	json_t *dev;   /* the device (owned), or NULL until the CPLC is read */
	json_t *pins;  /* this request's pins (borrowed), or NULL */
	int status;    /* HTTP status of a failure */
	int replay;    /* the TSM finishing a step from its intent (no pins, no SCP session) */
	int64_t intent_at; /* virtual time the step's intent was written (replay) */
} sess_t;

static json_t *facts_obj(sess_t *x, const char *k)
{
	json_t *o = json_object_get(x->facts, k);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(x->facts, k, o);
	}
	return o;
}

static int slot_state(sess_t *x, int s)
{
	json_t *inv = json_object_get(x->facts, "inv");
	if (!jbool(inv, "applet"))
		return S_EMPTY;
	return (int)json_integer_value(json_array_get(json_object_get(inv, "slots"), (size_t)s));
}

static int provisioning(sess_t *x, int s)
{
	json_t *p = json_object_get(x->facts, "provision");
	size_t i;
	json_t *v;

	json_array_foreach(p, i, v) if (json_integer_value(v) == s) return 1;
	return 0;
}

static int in_list(sess_t *x, const char *k, int s)
{
	json_t *p = json_object_get(x->facts, k);
	size_t i;
	json_t *v;

	json_array_foreach(p, i, v) if (json_integer_value(v) == s) return 1;
	return 0;
}

static void fail_session(sess_t *x, int status, const char *field, const char *msg)
{
	json_object_set_new(x->doc, "state", json_string("failed"));
	json_object_set_new(x->doc, "error", json_pack("{s:s, s:s?}", "error", msg, "field", field));
	x->status = status;
	x->t->st.failed++;
}

static void dev_save(sess_t *x)
{
	if (x->dev)
		doc_put(x->t, "devices", x->dev);
}

static const char *holder_of(sess_t *x)
{
	return jstr(x->doc, "holder");
}

/* The device's phone certificates at the CA, revoked (the holder's
 * one-phone rule, a revocation, a renewal's own check). */
static int revoke_serials(sess_t *x, json_t *dev, int which_mask, int reason)
{
	static const char *const keys[2] = { "auth_serial", "sign_serial" };
	for (int s = 0; s < 2; s++) {
		uint64_t serial;
		const char *v = jstr(dev, keys[s]);
		int rc;
		if (!(which_mask & (1 << s)) || !v || ca_serial_parse(v, &serial))
			continue;
		rc = m_revoke(x->t, serial, reason);
		if (rc != CA_OK && rc != CA_ERR_STATE) /* expired: nothing left to revoke */
			return rc;
	}
	return CA_OK;
}

/* One phone per holder: every other device of the holder with certificates
 * is revoked (superseded) and its applet deleted when it is next online. */
static int one_phone(sess_t *x)
{
	json_t *devs = docs_by_key(x->t, "devices", holder_of(x)), *d;
	size_t i;
	int rc = CA_OK;

	json_array_foreach(devs, i, d) {
		const char *st = jstr(d, "status");
		if (!strcmp(jstr(d, "id"), jstr(x->dev, "id")) || !st ||
		    (strcmp(st, "active") && strcmp(st, "hold") && strcmp(st, "half")))
			continue;
		if ((rc = revoke_serials(x, d, 3, CA_REASON_SUPERSEDED)) != CA_OK)
			break;
		json_object_set_new(d, "status", json_string("revoked"));
		json_object_set_new(d, "pending_delete", json_true());
		doc_put(x->t, "devices", d);
		event(x->t, jstr(x->doc, "id"), jstr(d, "id"), "revoked: one phone per holder; applet deletion pending");
		{
			json_t *sup = json_object_get(x->facts, "superseded");
			if (!sup) {
				sup = json_array();
				json_object_set_new(x->facts, "superseded", sup);
			}
			json_array_append_new(sup, json_string(jstr(d, "id")));
		}
	}
	json_decref(devs);
	return rc;
}

/* What the op needs, decided once the device is known. */
static int prepare(sess_t *x)
{
	const char *op = jstr(x->doc, "op"), *dst = jstr(x->dev, "status"), *dh = jstr(x->dev, "holder");
	const char *h = holder_of(x);
	int sign_cert = strcmp(policy_get(x->doc, "phone_sign_cert", "true"), "false") != 0;
	json_t *f = x->facts;
	int same = dh && h && !strcmp(dh, h);
	int active = dst && (!strcmp(dst, "active") || !strcmp(dst, "hold"));

	json_object_set_new(f, "prepared", json_true());
	if (strcmp(op, "sync") && dh && h && !same && active && strcmp(op, "revoke") && strcmp(op, "pin_reset") &&
	    strcmp(op, "lift")) {
		/* A phone passed on without revocation (DOMAIN.md case 8): the
		 * previous holder's certificates are revoked before anything else. */
		if (revoke_serials(x, x->dev, 3, CA_REASON_CESSATION) != CA_OK) {
			fail_session(x, 409, NULL, ca_error(x->t->ca));
			return -1;
		}
		json_object_set_new(x->dev, "status", json_string("revoked"));
		event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"), "previous holder's certificates revoked (transfer)");
		dst = "revoked";
		active = 0;
	}
	if (jbool(x->dev, "pending_delete") || (jbool(json_object_get(f, "inv"), "applet") && !same &&
						 strcmp(op, "sync")))
		json_object_set_new(f, "pre_delete", json_true());
	if (!strcmp(op, "sync"))
		return 0;
	if (!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew")) {
		if (!strcmp(op, "issue") && same && active) {
			fail_session(x, 409, "op", "this device already carries the holder's certificates: renew or reissue");
			return -1;
		}
		if (!strcmp(op, "renew") && !(same && active)) {
			fail_session(x, 409, "op", "renew: the device carries no certificates of the holder");
			return -1;
		}
		if (!strcmp(op, "reissue") && same && active && !strcmp(dst, "active")) {
			/* The TSM's own status check: reissue needs revoked or expired certificates. */
			ca_info_t ci;
			uint64_t serial;
			if (jstr(x->dev, "auth_serial") && !ca_serial_parse(jstr(x->dev, "auth_serial"), &serial) &&
			    ca_status(x->t->ca, serial, &ci) == CA_OK && ci.status == CA_VALID) {
				fail_session(x, 409, "op", "reissue: the certificates are still valid (renew them)");
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
			if (jstr(x->dev, "auth_serial") && !ca_serial_parse(jstr(x->dev, "auth_serial"), &serial) &&
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
		if (!sign_cert && !json_object_get(f, "pre_delete") && slot_state(x, 1) == S_ACTIVE)
			json_object_set_new(f, "pre_delete", json_true());
		return 0;
	}
	/* The other operations act on the holder's own device. */
	if (!same) {
		fail_session(x, 403, "card_serial", "the card's holder does not hold this device");
		return -1;
	}
	if (!strcmp(op, "revoke")) {
		const char *certs = jstr(f, "certs");
		int mask = !certs || !strcmp(certs, "both") ? 3 : !strcmp(certs, "auth") ? 1 : 2;
		json_object_set_new(f, "revoke_mask", json_integer(mask));
		if (mask == 3) {
			if (!strcmp(policy_get(x->doc, "delete_applet_on_revoke", "force"), "force"))
				json_object_set_new(f, "delete", json_true());
			else
				json_object_set_new(f, "mark", json_pack("[i,i]", 0, 1));
		} else {
			int s = mask == 1 ? 0 : 1;
			json_object_set_new(f, "mark", json_pack("[i]", s));
			if (!strcmp(policy_get(x->doc, "half_valid", "block"), "erase_revoked"))
				json_object_set_new(f, "erase", json_pack("[i]", s));
		}
		return 0;
	}
	if (!strcmp(op, "lift")) {
		if (!dst || strcmp(dst, "hold")) {
			fail_session(x, 409, "op", "lift: the device's certificates are not on hold");
			return -1;
		}
		json_object_set_new(f, "lift_auth", json_true());
		json_object_set_new(f, "revoke_mask", json_integer(2));
		json_object_set_new(f, "revoke_reason", json_integer(CA_REASON_SUPERSEDED));
		json_object_set_new(f, "mark", json_pack("[i]", 1));
		json_object_set_new(f, "provision", json_pack("[i]", 1));
		if (json_object_get(x->pins ? x->pins : json_null(), "sign"))
			json_object_set_new(f, "pin_slots", json_pack("[i]", 1));
		return 0;
	}
	if (!strcmp(op, "pin_reset")) {
		const char *slot = jstr(f, "slot");
		if (!dst || strcmp(dst, "active")) {
			fail_session(x, 409, "op", "pin_reset: the device's certificates are not valid");
			return -1;
		}
		json_object_set_new(f, "pin_slots", json_pack("[i]", slot && !strcmp(slot, "sign") ? 1 : 0));
		return 0;
	}
	fail_session(x, 400, "op", "unknown operation");
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
	if (jstr(x->doc, "device") && strcmp(jstr(x->doc, "device"), id)) {
		fail_session(x, 409, "responses", "the SE is not the session's device");
		return -1;
	}
	if (!x->dev) {
		x->dev = doc_get(x->t, "devices", id);
		if (!x->dev) {
			x->dev = json_pack("{s:s, s:s, s:s, s:b}", "id", id, "cplc", cp, "status", "none",
					   "pending_delete", 0);
			event(x->t, jstr(x->doc, "id"), id, "device registered");
		}
	}
	if (jstr(x->facts, "idm"))
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
static int absorb_apdus(sess_t *x, json_t *rsps)
{
	json_t *ops = json_object_get(x->facts, "ops");
	json_t *inv = json_object();
	scp03_session_t *s = scp_find(x->t, jstr(x->doc, "id"));
	int reopen = 0, inv_ok = 1;
	size_t i;
	json_t *opj;

	json_object_set_new(inv, "slots", json_pack("[i,i]", 0, 0));
	json_array_foreach(ops, i, opj) {
		const char *op = json_string_value(opj), *hex = json_string_value(json_array_get(rsps, i));
		uint8_t *r = NULL;
		size_t rn = 0;
		uint16_t sw;
		int slot = -1;

		if (!hex || unhex(hex, &r, &rn) < 0 || rn < 2) {
			free(r);
			reopen = 1;
			inv_ok = 0;
			break;
		}
		sw = apdu_sw(r, rn);
		if (strchr(op, ':'))
			slot = atoi(strchr(op, ':') + 1);
		if (!strcmp(op, "select") || !strcmp(op, "perso") || !strcmp(op, "block")) {
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
				if (!strcmp(jstr(x->doc, "state"), "failed"))
					return -1;
				fail_session(x, 422, "responses", "no CPLC from the SE");
				return -1;
			}
		} else if (!strcmp(op, "iu")) {
			uint8_t ea[64];
			size_t en;
			if (!s || scp03_host_open(s, &x->t->keys, r, rn, x->t->level, ea, sizeof ea, &en) < 0)
				reopen = 1;
			else
				json_object_set_new(x->facts, "ea", jhex(ea, en));
		} else if (!strcmp(op, "ea")) {
			if (sw != 0x9000)
				reopen = 1;
		} else if (!strcmp(op, "gs_app") || !strcmp(op, "gs_elf")) {
			char *h = malloc(2 * rn + 1);
			if (!h) {
				free(r);
				json_decref(inv);
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
			else if (jbool(inv, "applet"))
				inv_ok = 0, reopen = 1;
		} else if (!strncmp(op, "gen:", 4)) {
			if (sw == 0x9000 && rn > 2) {
				json_object_set_new(facts_obj(x, "spki"), slot_names[slot], jhex(r, rn - 2));
				json_object_del(facts_obj(x, "cert"), slot_names[slot]);
			} else {
				reopen = 1;
			}
		} else if (!strncmp(op, "pin:", 4)) {
			if (sw == 0x9000)
				json_object_set_new(facts_obj(x, "pin_done"), slot_names[slot], json_true());
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
	if (reopen && inv_ok && json_object_get(inv, "applet")) {
		/* Something went out of plan but the inventory came back: plan
		 * again from it on the same channel, a bounded number of times. */
		int retries = (int)jint(x->facts, "retries") + 1;
		json_object_set_new(x->facts, "retries", json_integer(retries));
		if (retries > MAX_REOPENS) {
			json_decref(inv);
			fail_session(x, 422, "responses", "the SE keeps answering out of plan");
			return -1;
		}
		reopen = 0;
	}
	if (inv_ok && json_object_get(inv, "applet") && json_object_get(inv, "elf")) {
		json_object_set_new(inv, "valid", json_true());
		json_object_set(x->facts, "inv", inv);
		if (x->dev) {
			json_object_set_new(x->dev, "applet",
					    json_string(jbool(inv, "applet") ? "installed" : "none"));
			json_object_set(x->dev, "slots", json_object_get(inv, "slots"));
		}
	} else if (!json_object_get(x->facts, "ea")) {
		json_object_del(x->facts, "inv");
	}
	json_decref(inv);
	if (reopen && !json_object_get(x->facts, "ea")) {
		json_object_del(x->facts, "inv");
		scp_drop(x->t, jstr(x->doc, "id"));
	}
	return reopen;
}

/* revoke_without_card (DOMAIN.md, seed §3 課題 1): the phone's own sign
 * key may authorise its revocation instead of the card.  Checked with the
 * phone's sign certificate from the CA, which must still be valid or on
 * hold: a revoked key authorises nothing. */
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

	if (!jstr(x->dev, "sign_serial") || ca_serial_parse(jstr(x->dev, "sign_serial"), &serial) ||
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

static int policy_true(json_t *sess, const char *k)
{
	json_t *v = json_object_get(json_object_get(sess, "policy"), k);
	return json_is_true(v) || (json_is_string(v) && !strcmp(json_string_value(v), "true"));
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
static int absorb_sigs(sess_t *x, json_t *sigs, json_t *signer_j)
{
	const char *kind = jstr(x->facts, "sign_kind");
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
	    (strcmp(kind, "auth") || strcmp(jstr(x->doc, "op"), "revoke") || !policy_true(x->doc, "revoke_without_card"))) {
		fail_session(x, 403, "signer",
			     "the phone's own signature authorises only a revocation, under revoke_without_card");
		return -1;
	}
	ca_serial_parse(jstr(x->doc, "card_serial"), &card);
	if (!strcmp(kind, "auth")) {
		uint8_t *msg = NULL, *sig = NULL;
		size_t mn, sn;
		ca_info_t ci;
		int rc = -1;
		if (unhex(jstr(x->facts, "auth_msg"), &msg, &mn) == 0 &&
		    unhex(json_string_value(json_array_get(sigs, 0)), &sig, &sn) == 0)
			rc = !strcmp(signer, "phone") ? (verify_phone(x, msg, mn, sig, sn) ? CA_OK : CA_ERR_SIGNATURE)
						      : ca_verify_card(x->t->ca, card, msg, mn, sig, sn, &ci);
		free(msg);
		free(sig);
		if (rc != CA_OK) {
			fail_session(x, rc == CA_ERR_SIGNATURE ? 403 : 409, "signatures",
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

/* ------------------------------------------------------------ planning */

static json_t *action_apdus(sess_t *x, script_t *sc)
{
	json_object_set_new(x->facts, "ops", sc->ops);
	return json_pack("{s:s, s:o}", "action", "apdus", "apdus", sc->apdus);
}

static json_t *open_script(sess_t *x)
{
	script_t sc = { json_array(), json_array(), NULL, 0 };
	uint8_t cmd[64], hc[8], isd[16];
	size_t n, in = hexb(ISD_AID, isd);
	int reopens = (int)jint(x->facts, "reopens");

	if (json_object_get(x->facts, "opened"))
		json_object_set_new(x->facts, "reopens", json_integer(++reopens));
	json_object_set_new(x->facts, "opened", json_true());
	if (reopens > MAX_REOPENS) {
		json_decref(sc.apdus);
		json_decref(sc.ops);
		fail_session(x, 422, "responses", "the SE keeps answering out of plan");
		return NULL;
	}
	x->t->st.reopens += reopens > 0;
	sc.s = scp_new(x->t, jstr(x->doc, "id"));
	n = apdu_build(cmd, sizeof cmd, 0x00, 0xA4, 0x04, 0x00, isd, in, 256);
	sc_raw(&sc, cmd, n, "select");
	sc_raw(&sc, (const uint8_t *)"\x80\xCA\x9F\x7F\x00", 5, "cplc");
	rng_bytes(&x->t->rng, hc, sizeof hc);
	scp03_host_init_update(sc.s, x->t->keys.kvn, hc, sizeof hc, cmd, sizeof cmd, &n);
	sc_raw(&sc, cmd, n, "iu");
	json_object_del(x->facts, "inv");
	return action_apdus(x, &sc);
}

static void msg_digestinfo(const uint8_t *m, size_t n, uint8_t di[51])
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

static json_t *card_sign_auth(sess_t *x)
{
	char msg[256];
	uint8_t nonce[16], di[51];
	char nh[33];

	rng_bytes(&x->t->rng, nonce, sizeof nonce);
	apdu_hex(nonce, sizeof nonce, nh);
	snprintf(msg, sizeof msg, "mynahil tsm-authorisation v1\n%s\n%s\n%s\n%s", jstr(x->doc, "op"),
		 jstr(x->doc, "id"), jstr(x->doc, "device") ? jstr(x->doc, "device") : "-", nh);
	json_object_set_new(x->facts, "auth_msg", jhex((const uint8_t *)msg, strlen(msg)));
	msg_digestinfo((const uint8_t *)msg, strlen(msg), di);
	json_object_set_new(x->facts, "sign_kind", json_string("auth"));
	json_object_set_new(x->facts, "sign_for", json_pack("[s]", "auth"));
	return json_pack("{s:s, s:s, s:[o], s:[o]}", "action", "card_sign", "purpose", "authorisation",
			 "messages", jhex((const uint8_t *)msg, strlen(msg)), "digest_infos", jhex(di, 51));
}

static int phone_req(sess_t *x, int s, ca_phone_req_t *r, uint8_t **spki, uint8_t **nonce, uint8_t **sig,
		     size_t k)
{
	size_t n;

	memset(r, 0, sizeof *r);
	*spki = *nonce = *sig = NULL;
	r->purpose = s ? CA_SIGN : CA_AUTH;
	ca_serial_parse(jstr(x->doc, "card_serial"), &r->card_serial);
	if (unhex(jstr(facts_obj(x, "spki"), slot_names[s]), spki, &r->spki.n) < 0 ||
	    unhex(jstr(x->facts, "req_nonce"), nonce, &r->nonce.n) < 0)
		return -1;
	r->spki.p = *spki;
	r->nonce.p = *nonce;
	if (json_object_get(x->facts, "sigs")) {
		if (unhex(json_string_value(json_array_get(json_object_get(x->facts, "sigs"), k)), sig, &n) < 0)
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

	if (!jstr(x->facts, "req_nonce")) {
		uint8_t nonce[16];
		rng_bytes(&x->t->rng, nonce, sizeof nonce);
		json_object_set_new(x->facts, "req_nonce", jhex(nonce, sizeof nonce));
	}
	json_array_foreach(need, i, v) {
		ca_phone_req_t r;
		uint8_t *spki, *nonce, *sig, di[51], *t = NULL;
		size_t tn = 0;
		int s = (int)json_integer_value(v);
		if (phone_req(x, s, &r, &spki, &nonce, &sig, 0) == 0 && ca_phone_digestinfo(&r, di) == CA_OK &&
		    ca_phone_tbs(&r, &t, &tn) == CA_OK) {
			json_array_append_new(dis, jhex(di, 51));
			json_array_append_new(tbs, jhex(t, tn));
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

/* Certify the generated keys with the card's signatures. */
static int certify(sess_t *x)
{
	json_t *need = json_object_get(x->facts, "certify_for");
	size_t i;
	json_t *v;

	if (jstr(x->doc, "op") && (!strcmp(jstr(x->doc, "op"), "issue") || !strcmp(jstr(x->doc, "op"), "reissue")) &&
	    one_phone(x) != CA_OK) {
		fail_session(x, 502, NULL, ca_error(x->t->ca));
		return -1;
	}
	json_array_foreach(need, i, v) {
		ca_phone_req_t r;
		uint8_t *spki, *nonce, *sig;
		uint64_t serial = 0;
		int s = (int)json_integer_value(v), rc = CA_ERR_ARG;
		char sh[17];
		if (phone_req(x, s, &r, &spki, &nonce, &sig, i) == 0)
			rc = m_issue(x->t, &r, &serial);
		free(spki);
		free(nonce);
		free(sig);
		if (rc != CA_OK && rc != CA_REPLAYED) {
			fail_session(x, rc == CA_ERR_SIGNATURE ? 403 : rc == CA_ERR_STATE ? 409 : 422, "signatures",
				     ca_error(x->t->ca));
			return -1;
		}
		serial_str(serial, sh);
		json_object_set_new(facts_obj(x, "cert"), slot_names[s], json_string(sh));
		json_object_set_new(x->dev, s ? "sign_serial" : "auth_serial", json_string(sh));
		event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"), s ? "sign certificate issued" : "auth certificate issued");
	}
	json_object_set(x->dev, "holder", json_object_get(x->doc, "holder"));
	json_object_set(x->dev, "card_serial", json_object_get(x->doc, "card_serial"));
	json_object_set_new(x->dev, "status", json_string("active")); /* valid at the CA from now on */
	json_object_del(x->facts, "sigs");
	json_object_del(x->facts, "certify_for");
	json_object_del(x->facts, "req_nonce");
	return 0;
}

static int add_cert_dgis(sess_t *x, script_t *sc, int s)
{
	uint64_t serial;
	uint8_t *der = NULL;
	size_t n;
	char op[16];
	const ca_blob_t *cac = s ? &x->t->sign_ca : &x->t->auth_ca;

	if (ca_serial_parse(jstr(facts_obj(x, "cert"), slot_names[s]), &serial) || ca_cert(x->t->ca, serial, &der, &n) != CA_OK)
		return -1;
	snprintf(op, sizeof op, "cert:%d", s);
	sc_dgi(sc, (uint16_t)(0x0200 | (s + 1)), der, n, op);
	free(der);
	der = NULL;
	if (cac->n) {
		snprintf(op, sizeof op, "ca:%d", s);
		sc_dgi(sc, (uint16_t)(0x0300 | (s + 1)), cac->p, cac->n, op);
	}
	return 0;
}

static const char *pin_of(sess_t *x, int s)
{
	return jstr(x->pins, slot_names[s]);
}

/* The SE commands still needed, from the inventory; 0 if none. */
static int se_work(sess_t *x, script_t *sc)
{
	json_t *f = x->facts, *inv = json_object_get(f, "inv");
	int applet = jbool(inv, "applet"), elf = jbool(inv, "elf");
	size_t before = json_array_size(sc->apdus);
	uint8_t d[64];
	size_t n;
	char op[16];

	if (jbool(f, "pre_delete") || (jbool(f, "delete") && !jbool(f, "deleted"))) {
		int want = jbool(f, "delete");
		int warn_only = !want && !json_object_get(f, "provision") &&
				!strcmp(policy_get(x->doc, "delete_applet_on_revoke", "force"), "warn");
		if (applet && !jbool(f, "delete_refused")) {
			for (int s = 0; s < 2; s++)
				if (slot_state(x, s) == S_ACTIVE) {
					snprintf(op, sizeof op, "rev:%d", s);
					sc_dgi(sc, (uint16_t)(0x0400 | (s + 1)), (const uint8_t *)"\x03", 1, op);
				}
			if (!warn_only) {
				d[0] = 0x4F;
				d[1] = (uint8_t)hexb(JPKI_AID, d + 2);
				sc_cmd(sc, 0xE4, 0x00, 0x00, d, 2u + d[1], "delete");
			}
			if (json_array_size(sc->apdus) > before)
				return 1;
		}
		/* Nothing left to do on the SE for the deletion (or its warning). */
		json_object_del(f, "pre_delete");
		if (want)
			json_object_set_new(f, "deleted", json_boolean(!applet));
		if (jbool(x->dev, "pending_delete")) {
			json_object_set_new(x->dev, "pending_delete", json_false());
			event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"),
			      applet ? "pending deletion: applet kept (policy warn), slots marked revoked"
				     : "pending deletion executed: applet deleted");
			json_object_set_new(f, "pending_done", json_true());
		}
		if (applet && jbool(f, "delete_refused") && json_object_get(f, "provision")) {
			fail_session(x, 409, NULL, "the SE refused to delete the previous applet");
			return -1;
		}
	}
	for (int s = 0; s < 2; s++)
		if (in_list(x, "mark", s) && slot_state(x, s) == S_ACTIVE &&
		    !jstr(facts_obj(x, "cert"), slot_names[s])) {
			snprintf(op, sizeof op, "rev:%d", s);
			sc_dgi(sc, (uint16_t)(0x0400 | (s + 1)), (const uint8_t *)"\x03", 1, op);
		}
	for (int s = 0; s < 2; s++) {
		int st = slot_state(x, s);
		if (in_list(x, "erase", s) && (st == S_REVOKED || (st == S_ACTIVE && in_list(x, "mark", s)))) {
			snprintf(op, sizeof op, "erase:%d", s);
			sc_dgi(sc, (uint16_t)(0x0500 | (s + 1)), NULL, 0, op);
		}
	}
	if (json_object_get(f, "provision")) {
		if (!elf) {
			d[0] = (uint8_t)hexb(JPKI_ELF, d + 1);
			n = 1 + d[0];
			d[n++] = 0;
			d[n++] = 0;
			d[n++] = 0;
			d[n++] = 0;
			sc_cmd(sc, 0xE6, 0x02, 0x00, d, n, "load");
			sc_cmd(sc, 0xE8, 0x80, 0x00, (const uint8_t *)"\xC4\x04\xCA\xFE\xBA\xBE", 6, "load");
		}
		if (!applet) {
			n = 0;
			d[n] = (uint8_t)hexb(JPKI_ELF, d + n + 1);
			n += 1 + d[n];
			d[n] = (uint8_t)hexb(JPKI_MOD, d + n + 1);
			n += 1 + d[n];
			d[n] = (uint8_t)hexb(JPKI_AID, d + n + 1);
			n += 1 + d[n];
			memcpy(d + n, "\x01\x00\x02\xC9\x00\x00", 6);
			n += 6;
			sc_cmd(sc, 0xE6, 0x0C, 0x00, d, n, "install");
		}
		for (int s = 0; s < 2; s++) {
			int st = slot_state(x, s), wrote = 0;
			if (!provisioning(x, s))
				continue;
			if (jstr(facts_obj(x, "cert"), slot_names[s])) {
				if (st == S_GENERATED) {
					if (add_cert_dgis(x, sc, s) < 0)
						return -1;
					wrote = 1;
				} else if (st != S_ACTIVE) {
					/* the key went away: start the slot again */
					json_object_del(facts_obj(x, "cert"), slot_names[s]);
					json_object_del(facts_obj(x, "spki"), slot_names[s]);
				}
			}
			if (!jstr(facts_obj(x, "cert"), slot_names[s]) &&
			    !(jstr(facts_obj(x, "spki"), slot_names[s]) && st == S_GENERATED && applet)) {
				if (st == S_ACTIVE && !in_list(x, "mark", s)) {
					snprintf(op, sizeof op, "rev:%d", s);
					sc_dgi(sc, (uint16_t)(0x0400 | (s + 1)), (const uint8_t *)"\x03", 1, op);
				}
				snprintf(op, sizeof op, "gen:%d", s);
				sc_dgi(sc, (uint16_t)(0x0100 | (s + 1)), NULL, 0, op);
			}
			if (in_list(x, "pin_slots", s) && !jbool(facts_obj(x, "pin_done"), slot_names[s]) &&
			    (wrote || (st == S_ACTIVE && jstr(facts_obj(x, "cert"), slot_names[s])))) {
				const char *pin = pin_of(x, s);
				if (!pin && x->replay)
					continue; /* finished by the TSM: the PINs go with the app's next step */
				if (!pin) {
					x->status = 400;
					json_object_set_new(f, "bad", json_string("pins: this step writes the PINs"));
					return -1;
				}
				snprintf(op, sizeof op, "pin:%d", s);
				sc_dgi(sc, (uint16_t)(0x8100 | (s + 1)), (const uint8_t *)pin, strlen(pin), op);
			}
		}
	} else {
		for (int s = 0; s < 2; s++)
			if (in_list(x, "pin_slots", s) && !jbool(facts_obj(x, "pin_done"), slot_names[s]) && applet &&
			    slot_state(x, s) == S_ACTIVE) {
				const char *pin = pin_of(x, s);
				if (!pin && x->replay)
					continue; /* finished by the TSM: the PINs go with the app's next step */
				if (!pin) {
					x->status = 400;
					json_object_set_new(f, "bad", json_string("pins: this step writes the PINs"));
					return -1;
				}
				snprintf(op, sizeof op, "pin:%d", s);
				sc_dgi(sc, (uint16_t)(0x8100 | (s + 1)), (const uint8_t *)pin, strlen(pin), op);
			}
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
		const char *h = jstr(certs, slot_names[s]);
		if (h && !ca_serial_parse(h, &serial) && ca_status(x->t->ca, serial, &ci) == CA_OK &&
		    ci.status == CA_REVOKED)
			return 1;
	}
	return 0;
}

static void finalize(sess_t *x)
{
	const char *op = jstr(x->doc, "op");
	json_t *f = x->facts, *res = json_object();
	json_t *inv = json_object_get(f, "inv");

	if ((!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew") || !strcmp(op, "lift")) &&
	    superseded_meanwhile(x)) {
		json_object_set_new(x->dev, "status", json_string("revoked"));
		json_object_set_new(res, "superseded_meanwhile", json_true());
	} else if (!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew") || !strcmp(op, "lift")) {
		json_object_set_new(x->dev, "status", json_string("active"));
		if (json_array_size(json_object_get(f, "provision")) == 1 && strcmp(op, "lift"))
			json_object_del(x->dev, "sign_serial");
	} else if (!strcmp(op, "revoke")) {
		int mask = (int)jint(f, "revoke_mask");
		json_object_set_new(x->dev, "status", json_string(mask == 3 ? "revoked" : "half"));
		if (jbool(f, "delete_refused"))
			json_object_set_new(res, "warning", json_string("the SE refused DELETE (half-valid)"));
		else if (mask == 3 && !jbool(f, "delete"))
			json_object_set_new(res, "warning",
					    json_string("policy delete_applet_on_revoke=warn: the applet is kept; "
							"delete it before handing the phone over"));
		else if (mask != 3 && strcmp(policy_get(x->doc, "half_valid", "block"), "erase_revoked"))
			json_object_set_new(res, "warning",
					    json_string("half-valid: the applet cannot be deleted while one pair is valid"));
	}
	if (json_object_get(f, "revoked_by_tsm"))
		json_object_set(res, "revoked_by_tsm", json_object_get(f, "revoked_by_tsm"));
	if (json_object_get(f, "superseded"))
		json_object_set(res, "superseded", json_object_get(f, "superseded"));
	if (jbool(f, "pending_done"))
		json_object_set_new(res, "pending_deletion", json_true());
	json_object_set(res, "device", json_object_get(x->dev, "id"));
	json_object_set(res, "status", json_object_get(x->dev, "status"));
	json_object_set(res, "applet", json_object_get(x->dev, "applet"));
	json_object_set(res, "slots", json_object_get(inv, "slots"));
	if (jstr(x->dev, "auth_serial"))
		json_object_set(res, "auth_serial", json_object_get(x->dev, "auth_serial"));
	if (jstr(x->dev, "sign_serial"))
		json_object_set(res, "sign_serial", json_object_get(x->dev, "sign_serial"));
	json_object_set_new(x->doc, "result", res);
	json_object_set_new(x->doc, "state", json_string("done"));
	{
		char what[64];
		snprintf(what, sizeof what, "%s done", op);
		event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"), what);
	}
	scp_drop(x->t, jstr(x->doc, "id"));
	x->t->st.done++;
}

/* Server-side changes whose preconditions hold: CA revocations, lift. */
static int server_side(sess_t *x)
{
	json_t *f = x->facts;
	const char *op = jstr(x->doc, "op");

	if (json_object_get(f, "revoke_mask") && !jbool(f, "revoked")) {
		int reason = json_object_get(f, "revoke_reason") ? (int)jint(f, "revoke_reason") : (int)jint(f, "reason");
		int mask = (int)jint(f, "revoke_mask");
		if (!strcmp(op, "lift") && jbool(f, "lift_auth")) {
			uint64_t a;
			if (!ca_serial_parse(jstr(x->dev, "auth_serial"), &a) && m_lift(x->t, a) != CA_OK) {
				fail_session(x, 409, NULL, ca_error(x->t->ca));
				return -1;
			}
			event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"), "auth certificate reinstated");
		}
		if (revoke_serials(x, x->dev, mask, reason) != CA_OK) {
			fail_session(x, 409, NULL, ca_error(x->t->ca));
			return -1;
		}
		json_object_set_new(f, "revoked", json_true());
		/* The registry says what the CA now says, in the same step. */
		json_object_set_new(x->dev, "status",
				    json_string(!strcmp(op, "lift") || mask != 3 ? "half" : "revoked"));
		event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"),
		      mask == 3 ? "certificates revoked" : mask == 1 ? "auth certificate revoked" : "sign certificate revoked");
		if (!strcmp(op, "revoke") && jbool(f, "remote")) {
			json_object_set_new(x->dev, "pending_delete", json_true());
			event(x->t, jstr(x->doc, "id"), jstr(x->dev, "id"), "applet deletion pending (device offline)");
		}
	}
	return 0;
}

static json_t *plan(sess_t *x)
{
	json_t *f = x->facts;
	const char *op = jstr(x->doc, "op");
	int need_auth = !strcmp(op, "revoke") || !strcmp(op, "pin_reset");

	for (int round = 0; round < 8; round++) {
		scp03_session_t *s;
		script_t sc = { json_array(), json_array(), NULL, 0 };
		int w;

		if (!jbool(f, "remote")) {
			s = scp_find(x->t, jstr(x->doc, "id"));
			if (!s && !jstr(f, "ea") && !json_object_get(f, "inv")) {
				json_decref(sc.apdus);
				json_decref(sc.ops);
				return open_script(x);
			}
			if (!s) {
				json_decref(sc.apdus);
				json_decref(sc.ops);
				json_object_del(f, "ea");
				return open_script(x);
			}
			sc.s = s;
			if (jstr(f, "ea")) {
				uint8_t ea[64];
				size_t en = (size_t)apdu_unhex(jstr(f, "ea"), ea, sizeof ea);
				sc_raw(&sc, ea, en, "ea");
				scp03_host_auth_result(s, (const uint8_t *)"\x90\x00", 2); /* checked on the answer */
				json_object_del(f, "ea");
				sc_inventory(&sc);
				return action_apdus(x, &sc);
			}
		}
		if (!jbool(f, "prepared") && prepare(x) < 0)
			goto fail;
		if (need_auth && !jbool(f, "auth_ok")) {
			json_decref(sc.apdus);
			json_decref(sc.ops);
			return card_sign_auth(x);
		}
		if (server_side(x) < 0)
			goto fail;
		if (!jbool(f, "remote")) {
			w = se_work(x, &sc);
			if (w < 0 || sc.err)
				goto fail;
			if (w > 0) {
				sc_inventory(&sc);
				return action_apdus(x, &sc);
			}
		}
		json_decref(sc.apdus);
		json_decref(sc.ops);
		sc.apdus = sc.ops = NULL;
		/* Keys generated, not yet certified. */
		if (json_object_get(f, "provision") && !jbool(f, "remote")) {
			json_t *need = json_array(), *v;
			size_t i;
			json_array_foreach(json_object_get(f, "provision"), i, v) {
				int sl = (int)json_integer_value(v);
				if (!jstr(facts_obj(x, "cert"), slot_names[sl]))
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
		if (strcmp(jstr(x->doc, "state"), "failed"))
			fail_session(x, 500, NULL, "internal: planning failed");
		return NULL;
	}
	fail_session(x, 500, NULL, "internal: planning did not converge");
	return NULL;
}

/* ------------------------------------------------------------ endpoints */

static json_t *answer(sess_t *x, json_t *action)
{
	json_t *a = json_object();

	json_object_set(a, "session", json_object_get(x->doc, "id"));
	json_object_set(a, "op", json_object_get(x->doc, "op"));
	json_object_set(a, "step", json_object_get(x->doc, "step"));
	json_object_set(a, "state", json_object_get(x->doc, "state"));
	if (jstr(x->doc, "device"))
		json_object_set(a, "device", json_object_get(x->doc, "device"));
	json_object_update(a, action);
	return a;
}

static int begin_tx(tsm_t *t)
{
	return exec(t, "BEGIN IMMEDIATE");
}

static int end_tx(tsm_t *t, int ok)
{
	if (ok)
		return exec(t, "COMMIT");
	exec(t, "ROLLBACK");
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
			*out = jerr(k, "%s: unknown field", k);
			return -1;
		}
	}
	return 0;
}

static int pins_ok(json_t *pins, json_t **out)
{
	if (!pins)
		return 0;
	if (!json_is_object(pins) || (json_object_get(pins, "auth") && !json_is_string(json_object_get(pins, "auth"))) ||
	    (json_object_get(pins, "sign") && !json_is_string(json_object_get(pins, "sign")))) {
		*out = jerr("pins", "pins: an object {\"auth\": \"...\", \"sign\": \"...\"}");
		return -1;
	}
	return 0;
}

static void rng_save(tsm_t *t);
static int intent_put(tsm_t *t, const char *id, const char *kind, json_int_t step, json_t *body);
static int h_step_x(tsm_t *t, const char *id, json_t *b, int replay, json_t **out);

static int h_begin(tsm_t *t, json_t *b, json_t **out)
{
	static const char *const allowed[] = { "op", "card_serial", "idm", "pins", "policy", "reason", "certs", "slot",
					       "device", "remote", NULL };
	const char *op = jstr(b, "op"), *card = jstr(b, "card_serial");
	sess_t x = { t, NULL, NULL, NULL, NULL, 0, 0, 0 };
	json_t *action = NULL;
	char id[40];
	uint64_t cs;
	ca_info_t ci;
	int known = 0, rc;
	uint8_t r4[4];

	if (!json_is_object(b)) {
		*out = jerr("body", "body: a JSON object");
		return 400;
	}
	if (check_fields(b, allowed, out) < 0 || pins_ok(json_object_get(b, "pins"), out) < 0)
		return 400;
	for (size_t i = 0; op && ops_known[i]; i++)
		known |= !strcmp(op, ops_known[i]);
	if (!known) {
		*out = jerr("op", "op: one of issue reissue renew revoke lift pin_reset sync");
		return 400;
	}
	if (json_object_get(b, "policy") && !json_is_object(json_object_get(b, "policy"))) {
		*out = jerr("policy", "policy: an object of switches");
		return 400;
	}
	if (jstr(b, "certs") && strcmp(jstr(b, "certs"), "both") && strcmp(jstr(b, "certs"), "auth") &&
	    strcmp(jstr(b, "certs"), "sign")) {
		*out = jerr("certs", "certs: both, auth or sign");
		return 400;
	}
	if (!strcmp(op, "pin_reset") && (!jstr(b, "slot") || (strcmp(jstr(b, "slot"), "auth") && strcmp(jstr(b, "slot"), "sign")))) {
		*out = jerr("slot", "slot: auth or sign");
		return 400;
	}
	if (jbool(b, "remote") && (strcmp(op, "revoke") || !jstr(b, "device"))) {
		*out = jerr("remote", "remote: only a revocation of a named device");
		return 400;
	}
	if (json_object_get(b, "reason") && (!jstr(b, "reason") || ca_reason_parse(jstr(b, "reason")) < 0)) {
		*out = jerr("reason", "reason: a CRLReason name");
		return 400;
	}
	if (strcmp(op, "sync")) {
		if (!card || ca_serial_parse(card, &cs)) {
			*out = jerr("card_serial", "card_serial: the card sign certificate's serial, hex");
			return 400;
		}
		if ((rc = ca_status(t->ca, cs, &ci)) != CA_OK) {
			*out = jerr("card_serial", "card_serial: %s", ca_error(t->ca));
			return 404;
		}
		if (ci.kind != CA_CARD) {
			*out = jerr("card_serial", "card_serial: not a card certificate");
			return 422;
		}
	}
	if (begin_tx(t) < 0) {
		*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	rng_bytes(&t->rng, r4, 4);
	snprintf(id, sizeof id, "S%06llu-%02X%02X%02X%02X", (unsigned long long)next_counter(t), r4[0], r4[1], r4[2],
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
	if (jstr(b, "idm"))
		json_object_set(x.facts, "idm", json_object_get(b, "idm"));
	if (jstr(b, "certs"))
		json_object_set(x.facts, "certs", json_object_get(b, "certs"));
	if (jstr(b, "slot"))
		json_object_set(x.facts, "slot", json_object_get(b, "slot"));
	json_object_set_new(x.facts, "reason", json_integer(jstr(b, "reason") ? ca_reason_parse(jstr(b, "reason")) : 0));
	if (jbool(b, "remote")) {
		json_object_set_new(x.facts, "remote", json_true());
		x.dev = doc_get(t, "devices", jstr(b, "device"));
		if (!x.dev) {
			end_tx(t, 0);
			json_decref(x.doc);
			*out = jerr("device", "device: no such device");
			return 404;
		}
		json_object_set(x.doc, "device", json_object_get(b, "device"));
		/* No SE: the first step changes the CA.  The session is committed
		 * at step 0 with its intent, then run as a step. */
		t->st.sessions++;
		json_object_set_new(x.doc, "step", json_integer(0));
		json_object_set_new(x.doc, "action", json_pack("{s:s}", "action", "begin"));
		action = json_pack("{s:i}", "step", 0);
		rng_save(t);
		if (doc_put(t, "sessions", x.doc) < 0 || intent_put(t, id, "step", 0, action) < 0 || end_tx(t, 1) < 0) {
			end_tx(t, 0);
			*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
			rc = 500;
			goto out;
		}
		rc = h_step_x(t, id, action, 0, out);
		rc = rc == 200 ? 201 : rc;
		goto out;
	}
	t->st.sessions++;
	action = plan(&x);
	if (!action && x.status == 400) {
		*out = jerr("pins", "%s", jstr(x.facts, "bad"));
		rc = 400;
		end_tx(t, 0);
		goto out;
	}
	if (!action)
		action = json_pack("{s:s, s:O}", "action", "failed", "error", json_object_get(x.doc, "error"));
	json_object_set(x.doc, "action", action);
	dev_save(&x);
	rng_save(t);
	if (doc_put(t, "sessions", x.doc) < 0 || end_tx(t, 1) < 0) {
		end_tx(t, 0);
		*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		rc = 500;
		goto out;
	}
	*out = answer(&x, action);
	rc = !strcmp(jstr(x.doc, "state"), "failed") ? (x.status ? x.status : 409) : 201;
out:
	json_decref(action);
	json_decref(x.doc);
	json_decref(x.dev);
	return rc;
}

/* ------------------------------------------------------------ intents
 *
 * The CA and the TSM keep separate databases.  Before a request that may
 * change the CA (a session step, the call centre's hold) the TSM commits
 * an INTENT naming it: the session, the step and the request body (its
 * PINs left out).  The step's own transaction deletes it.  An intent still
 * there means the TSM died (or a request failed) after the CA may have
 * changed and before the step committed: the TSM finishes it itself by
 * running the step again from the intent (tsm_recover, at open and after
 * such a failure).  The CA calls are idempotent (the same phone request
 * is CA_REPLAYED with the same certificate; revoking a revoked one, holding
 * a held one, lifting a valid one are CA_OK), so redoing them changes
 * nothing at the CA and records their results in the registry. */

static int intent_put(tsm_t *t, const char *id, const char *kind, json_int_t step, json_t *body)
{
	json_t *b = json_deep_copy(body);
	char *text;
	sqlite3_stmt *st;
	int rc = -1;

	json_object_del(b, "pins"); /* PINs are never stored */
	text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(b);
	if (text && sqlite3_prepare_v2(t->db, "INSERT OR REPLACE INTO intents(id, kind, step, body, at) VALUES (?,?,?,?,?)",
				       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, step);
		sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, vclock_now(t->ctx->clock));
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	free(text);
	return rc;
}

static void intent_del(tsm_t *t, const char *id)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(t->db, "DELETE FROM intents WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static int64_t intent_at(tsm_t *t, const char *id)
{
	sqlite3_stmt *st;
	int64_t at = -1;

	if (sqlite3_prepare_v2(t->db, "SELECT at FROM intents WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		at = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return at;
}

static void put_u64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The rng state, in the committing transaction: a restarted TSM goes on
 * with the stream instead of drawing the same nonces again. */
static void rng_save(tsm_t *t)
{
	uint8_t b[32];
	sqlite3_stmt *st;

	for (int i = 0; i < 4; i++)
		put_u64(b + 8 * i, t->rng.s[i]);
	if (sqlite3_prepare_v2(t->db, "INSERT OR REPLACE INTO meta(k, v) VALUES ('rng', ?)", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_blob(st, 1, b, sizeof b, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static void rng_load(tsm_t *t)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(t->db, "SELECT v FROM meta WHERE k = 'rng'", -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		const uint8_t *b = sqlite3_column_blob(st, 0);
		for (int i = 0; i < 4; i++) {
			uint64_t v = 0;
			for (int k = 0; k < 8; k++)
				v = v << 8 | b[8 * i + k];
			t->rng.s[i] = v;
		}
	}
	sqlite3_finalize(st);
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
		*out = jerr("body", "body: a JSON object");
		return 400;
	}
	if (check_fields(b, allowed, out) < 0 || pins_ok(json_object_get(b, "pins"), out) < 0)
		return 400;
	if (!json_is_integer(json_object_get(b, "step"))) {
		*out = jerr("step", "step: the step number being answered");
		return 400;
	}
	step = jint(b, "step");
	if (!replay) {
		/* An intent left by a crash on this session: finish it first. */
		if (intent_at(t, id) >= 0)
			recover_one(t, id);
		/* The write-ahead intent, committed before anything reaches the CA. */
		x.doc = doc_get(t, "sessions", id);
		if (x.doc && jint(x.doc, "step") == step && !strcmp(jstr(x.doc, "state"), "open")) {
			if (intent_put(t, id, "step", step, b) < 0) {
				json_decref(x.doc);
				*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
				return 500;
			}
			intent = 1;
		}
		json_decref(x.doc);
		x.doc = NULL;
	} else {
		intent = 1;
		x.intent_at = intent_at(t, id);
		scp_drop(t, id); /* the SCP03 host session is gone with the crash */
	}
	t->touched = 0;
	if (begin_tx(t) < 0) {
		*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		rc = 500;
		goto out;
	}
	x.doc = doc_get(t, "sessions", id);
	if (!x.doc) {
		end_tx(t, 0);
		*out = jerr("session", "session: no such session %s", id);
		rc = 404;
		goto out;
	}
	x.facts = json_object_get(x.doc, "facts");
	x.pins = replay ? NULL : json_object_get(b, "pins");
	cur = jint(x.doc, "step");
	last = json_object_get(x.doc, "action");
	if (step == cur - 1 || (step == cur && strcmp(jstr(x.doc, "state"), "open"))) {
		/* The answer to this step was lost: the same answer again. */
		end_tx(t, 0);
		if (step == cur - 1 || !strcmp(jstr(x.doc, "state"), "done")) {
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
		*out = jerr("step", "step: the session is at step %lld", (long long)cur);
		rc = 409;
		goto out;
	}
	if (jstr(x.doc, "device"))
		x.dev = doc_get(t, "devices", jstr(x.doc, "device"));
	t->st.steps++;
	if (!strcmp(jstr(last, "action"), "apdus")) {
		if (!json_is_array(json_object_get(b, "responses"))) {
			end_tx(t, 0);
			*out = jerr("responses", "responses: one hex response per APDU of the script");
			rc = 400;
			goto out;
		}
		if (absorb_apdus(&x, json_object_get(b, "responses")) < 0)
			goto save;
	} else if (!strcmp(jstr(last, "action"), "card_sign")) {
		if (absorb_sigs(&x, json_object_get(b, "signatures"), json_object_get(b, "signer")) < 0) {
			if (x.status == 400) {
				end_tx(t, 0);
				*out = jerr(jstr(x.facts, "bad_field") ? jstr(x.facts, "bad_field") : "signatures", "%s",
					    jstr(x.facts, "bad"));
				rc = 400;
				goto out;
			}
			goto save;
		}
	}
	action = plan(&x);
	if (!action && x.status == 400) {
		end_tx(t, 0);
		*out = jerr("pins", "%s", jstr(x.facts, "bad"));
		rc = 400;
		goto out;
	}
save:
	if (!action)
		action = json_pack("{s:s, s:O}", "action", "failed", "error", json_object_get(x.doc, "error"));
	json_object_set_new(x.doc, "step", json_integer(cur + 1));
	json_object_set(x.doc, "action", action);
	dev_save(&x);
	if (t->crashed) { /* tsm_fault: the process "died" before its commit */
		end_tx(t, 0);
		*out = jerr(NULL, "simulated crash");
		rc = 500;
		goto out;
	}
	intent_del(t, id);
	rng_save(t);
	if (doc_put(t, "sessions", x.doc) < 0 || end_tx(t, 1) < 0) {
		end_tx(t, 0);
		*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		rc = 500;
		goto out;
	}
	committed = 1;
	*out = answer(&x, action);
	rc = !strcmp(jstr(x.doc, "state"), "failed") ? (x.status ? x.status : 409) : 200;
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
			intent_del(t, id);
	}
	return rc;
}

static int h_step(tsm_t *t, const char *id, json_t *b, json_t **out)
{
	return h_step_x(t, id, b, 0, out);
}

static int h_hold(tsm_t *t, json_t *b, json_t **out);

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
	if (!strcmp(kind, "hold")) {
		h_hold(t, b, &o); /* holding a held certificate is CA_OK */
		intent_del(t, id);
		event(t, NULL, NULL, "recovered: call-centre hold finished from its intent");
	} else {
		doc = doc_get(t, "sessions", id);
		if (!doc || jint(doc, "step") != step || strcmp(jstr(doc, "state"), "open")) {
			intent_del(t, id); /* the step committed, or nothing to finish */
		} else {
			h_step_x(t, id, b, 1, &o);
			if (intent_at(t, id) < 0) {
				json_t *d2 = doc_get(t, "sessions", id);
				event(t, id, d2 ? jstr(d2, "device") : NULL, "recovered: step finished from its intent");
				json_decref(d2);
			}
		}
		json_decref(doc);
	}
	json_decref(o);
	json_decref(b);
	free(kind);
	free(body);
	return intent_at(t, id) < 0 ? 0 : -1;
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

void tsm_fault(tsm_t *t, int nth_ca_call, int before)
{
	t->fault_at = nth_ca_call;
	t->fault_before = before;
	t->ca_calls = 0;
	t->crashed = 0;
}

static int h_hold(tsm_t *t, json_t *b, json_t **out)
{
	const char *holder = jstr(b, "holder");
	json_t *devs, *d, *held;
	size_t i;
	int rc = 200;

	char iid[96];

	if (!json_is_object(b) || !holder) {
		*out = jerr(json_is_object(b) ? "holder" : "body", "holder: the holder's id");
		return 400;
	}
	snprintf(iid, sizeof iid, "hold:%s", holder);
	if (intent_put(t, iid, "hold", 0, b) < 0) {
		*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	t->touched = 0;
	if (begin_tx(t) < 0) {
		*out = jerr(NULL, "database: %s", sqlite3_errmsg(t->db));
		return 500;
	}
	devs = docs_by_key(t, "devices", holder);
	held = json_array();
	json_array_foreach(devs, i, d) {
		static const char *const keys[2] = { "auth_serial", "sign_serial" };
		if (!jstr(d, "status") || strcmp(jstr(d, "status"), "active"))
			continue;
		for (int s = 0; s < 2; s++) {
			uint64_t serial;
			if (jstr(d, keys[s]) && !ca_serial_parse(jstr(d, keys[s]), &serial) &&
			    m_hold(t, serial) != CA_OK)
				rc = 409;
		}
		json_object_set_new(d, "status", json_string("hold"));
		doc_put(t, "devices", d);
		event(t, NULL, jstr(d, "id"), "call centre: certificates on hold");
		json_array_append(held, d);
	}
	json_decref(devs);
	if (t->crashed || rc != 200 || !json_array_size(held)) {
		end_tx(t, 0);
		if (!t->crashed)
			intent_del(t, iid);
		if (t->crashed)
			rc = 500;
		json_decref(held);
		*out = rc != 200 ? jerr(NULL, "%s", ca_error(t->ca)) : jerr("holder", "holder: no device with valid certificates");
		return rc != 200 ? rc : 404;
	}
	intent_del(t, iid);
	end_tx(t, 1);
	*out = json_pack("{s:s, s:o}", "holder", holder, "devices", held);
	return 200;
}

/* Requests whose intent is still pending (not finished: the CA may be
 * ahead of the registry): their sessions' devices, or hold:HOLDER. */
static json_t *in_flight_list(tsm_t *t)
{
	sqlite3_stmt *st;
	json_t *a = json_array();

	if (sqlite3_prepare_v2(t->db, "SELECT id, kind FROM intents ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
		return a;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		json_t *d = strcmp((const char *)sqlite3_column_text(st, 1), "step") ? NULL : doc_get(t, "sessions", id);
		json_array_append_new(a, json_string(d && jstr(d, "device") ? jstr(d, "device") : id));
		json_decref(d);
	}
	sqlite3_finalize(st);
	return a;
}

static int in_flight(json_t *flying, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(flying, i, v) if (!strcmp(json_string_value(v), id)) return 1;
	return 0;
}

/* Every valid or held phone certificate the CA holds for a holder of the
 * registry is some device's auth_serial or sign_serial. */
static void ca_to_registry(tsm_t *t, json_t *devs, json_t *problems)
{
	json_t *holders = json_object(), *d, *v;
	const char *h;
	size_t i;

	json_array_foreach(devs, i, d) if (jstr(d, "holder")) json_object_set_new(holders, jstr(d, "holder"), json_true());
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
			serial_str(serials[k], sh);
			json_array_foreach(devs, j, d) {
				const char *a = jstr(d, "auth_serial"), *s = jstr(d, "sign_serial");
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

/* Registry ↔ CA agreement (DOMAIN.md invariant 4), and sessions in flight. */
static int h_check(tsm_t *t, json_t **out)
{
	json_t *devs = docs_all(t, "devices"), *d, *problems = json_array(), *open, *flying = json_array();
	size_t i;

	open = docs_by_key(t, "sessions", "open");
	json_decref(flying);
	flying = in_flight_list(t);
	json_array_foreach(devs, i, d) {
		static const char *const keys[2] = { "auth_serial", "sign_serial" };
		const char *st = jstr(d, "status");
		if (in_flight(flying, jstr(d, "id")))
			continue;
		for (int s = 0; s < 2; s++) {
			uint64_t serial;
			ca_info_t ci;
			char msg[160];
			if (!jstr(d, keys[s]) || ca_serial_parse(jstr(d, keys[s]), &serial))
				continue;
			if (ca_status(t->ca, serial, &ci) != CA_OK) {
				snprintf(msg, sizeof msg, "%s: %s %s unknown to the CA", jstr(d, "id"), keys[s], jstr(d, keys[s]));
				json_array_append_new(problems, json_string(msg));
				continue;
			}
			if ((!strcmp(st, "active") && ci.status != CA_VALID && ci.status != CA_EXPIRED) ||
			    (!strcmp(st, "hold") && ci.status != CA_HOLD) ||
			    (!strcmp(st, "revoked") && ci.status == CA_VALID)) {
				snprintf(msg, sizeof msg, "%s: registry says %s, CA says %s for %s", jstr(d, "id"), st,
					 ca_status_name(ci.status), jstr(d, keys[s]));
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

static int h_events(tsm_t *t, json_t **out)
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
	if (n == 1 && !strcmp(seg[0], "sessions") && post)
		return h_begin(t, body, out);
	if (n == 3 && !strcmp(seg[0], "sessions") && !strcmp(seg[2], "steps") && post)
		return h_step(t, seg[1], body, out);
	if (n == 2 && (!strcmp(seg[0], "sessions") || !strcmp(seg[0], "devices")) && get) {
		json_t *d = doc_get(t, seg[0], seg[1]);
		if (!d) {
			*out = jerr(!strcmp(seg[0], "sessions") ? "session" : "device", "%s: no such record", seg[1]);
			return 404;
		}
		if (!strcmp(seg[0], "sessions"))
			json_object_del(d, "facts"); /* internal; nothing secret in it, but large */
		*out = d;
		return 200;
	}
	if (n == 3 && !strcmp(seg[0], "holders") && !strcmp(seg[2], "devices") && get) {
		*out = json_pack("{s:s, s:o}", "holder", seg[1], "devices", docs_by_key(t, "devices", seg[1]));
		return 200;
	}
	if (n == 1 && !strcmp(seg[0], "devices") && get) {
		*out = json_pack("{s:o}", "devices", docs_all(t, "devices"));
		return 200;
	}
	if (n == 2 && !strcmp(seg[0], "callcenter") && !strcmp(seg[1], "hold") && post)
		return h_hold(t, body, out);
	if (n == 1 && !strcmp(seg[0], "check") && get)
		return h_check(t, out);
	if (n == 1 && !strcmp(seg[0], "events") && get)
		return h_events(t, out);
	if (n == 1 && !strcmp(seg[0], "stats") && get) {
		*out = json_pack("{s:I, s:I, s:I, s:I, s:I}", "sessions", (json_int_t)t->st.sessions, "steps",
				 (json_int_t)t->st.steps, "done", (json_int_t)t->st.done, "failed",
				 (json_int_t)t->st.failed, "reopens", (json_int_t)t->st.reopens);
		return 200;
	}
	if (n >= 0 && (get || post)) {
		*out = jerr("path", "path: no such resource %s", path);
		return 404;
	}
	*out = jerr(n < 0 ? "path" : "method", n < 0 ? "path: no such resource %s" : "method: not allowed on %s", path);
	return n < 0 ? 404 : 405;
}

/* ------------------------------------------------------------ open / close */

/* After a crash: a CA change (revocation, hold) whose TSM step was not
 * committed.  The CA is the source of truth for certificate status: the
 * registry follows it, with an event, and a device whose certificates
 * were revoked under it gets its applet deletion pending.  The session
 * that made the change redoes its step when the app retries (the CA
 * calls are idempotent). */
static void reconcile(tsm_t *t)
{
	json_t *open = in_flight_list(t);
	json_t *devs = docs_all(t, "devices"), *d;
	size_t i;

	if (exec(t, "BEGIN IMMEDIATE") < 0) {
		json_decref(devs);
		json_decref(open);
		return;
	}
	json_array_foreach(devs, i, d) {
		static const char *const keys[2] = { "auth_serial", "sign_serial" };
		const char *st = jstr(d, "status");
		int revoked = 0, held = 0;
		if (!st || (strcmp(st, "active") && strcmp(st, "hold") && strcmp(st, "half")) ||
		    in_flight(open, jstr(d, "id")))
			continue;
		for (int s = 0; s < 2; s++) {
			uint64_t serial;
			ca_info_t ci;
			if (!jstr(d, keys[s]) || ca_serial_parse(jstr(d, keys[s]), &serial) ||
			    ca_status(t->ca, serial, &ci) != CA_OK)
				continue;
			revoked += ci.status == CA_REVOKED;
			held += ci.status == CA_HOLD;
		}
		if (revoked && strcmp(st, "half")) {
			json_object_set_new(d, "status", json_string("revoked"));
			json_object_set_new(d, "pending_delete", json_true());
			doc_put(t, "devices", d);
			event(t, NULL, jstr(d, "id"), "reconciled with the CA: certificates revoked; applet deletion pending");
		} else if (held && !strcmp(st, "active")) {
			json_object_set_new(d, "status", json_string("hold"));
			doc_put(t, "devices", d);
			event(t, NULL, jstr(d, "id"), "reconciled with the CA: certificates on hold");
		}
	}
	exec(t, "COMMIT");
	json_decref(devs);
	json_decref(open);
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
	t->level = cfg->level ? cfg->level : 0x03;
	t->auth_ca = cfg->auth_ca;
	t->sign_ca = cfg->sign_ca;
	t->policy = cfg->policy ? json_deep_copy(cfg->policy) : NULL;
	if (sqlite3_open_v2(path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, t->db ? sqlite3_errmsg(t->db) : "cannot open");
		tsm_close(t);
		return -1;
	}
	sqlite3_busy_timeout(t->db, 5000);
	if ((!mem && (exec(t, "PRAGMA journal_mode=WAL") < 0 || exec(t, "PRAGMA synchronous=NORMAL") < 0)) ||
	    exec(t, "CREATE TABLE IF NOT EXISTS devices(id TEXT PRIMARY KEY, key TEXT, doc TEXT NOT NULL);"
		    "CREATE INDEX IF NOT EXISTS devices_holder ON devices(key);"
		    "CREATE TABLE IF NOT EXISTS sessions(id TEXT PRIMARY KEY, key TEXT, doc TEXT NOT NULL);"
		    "CREATE INDEX IF NOT EXISTS sessions_state ON sessions(key);"
		    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, "
		    "session TEXT, device TEXT, what TEXT NOT NULL);"
		    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v);"
		    "CREATE TABLE IF NOT EXISTS intents(id TEXT PRIMARY KEY, kind TEXT NOT NULL, step INTEGER, "
		    "body TEXT NOT NULL, at INTEGER);"
		    "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema', 1);") < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(t->db));
		tsm_close(t);
		return -1;
	}
	t->rng = *ctx->rng; /* a new database: the context's stream; else where the last run left it */
	rng_load(t);
	tsm_recover(t);
	reconcile(t);
	*out = t;
	return 0;
}

void tsm_close(tsm_t *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < SCP_CACHE; i++)
		scp03_session_close(&t->scp[i].s);
	sqlite3_close(t->db);
	json_decref(t->policy);
	free(t);
}

void tsm_get_stats(const tsm_t *t, tsm_stats_t *s)
{
	*s = t->st;
}
