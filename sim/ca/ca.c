/* ca.c — the CA object, its record store in SQLite, status changes with
 * linked revocation, and the queries.
 *
 * Schema (version 1):
 *   meta(key, value)           schema version, CA certificate fingerprints,
 *                              the CA's rng state, the saved virtual clock
 *   certs(serial, ca, holder, kind, purpose, der, not_before, not_after,
 *         status, reason, revoked_at, request)
 *                              one row per certificate; status valid | hold |
 *                              revoked ("expired" is computed on the clock);
 *                              request = SHA-256 of a phone request (replays)
 *   linkage(card_serial, phone_serial)
 *                              MODELLED ASSUMPTION: the phone certificate is
 *                              linked to the card sign certificate that
 *                              authorised it (docs/card.md#phone-certificates)
 *   crl_number(ca, number, this_update, dirty, der)
 *                              the last CRL of each CA and whether a status
 *                              changed since
 * Every state change is one BEGIN IMMEDIATE ... COMMIT: a certificate row
 * comes with its linkage row and the rng state that drew its serial, a
 * revocation with the linked ones, or none of it does.  A file database
 * runs in WAL mode with synchronous=NORMAL: a committed transaction is in
 * the WAL file before COMMIT returns, so it survives a crash of the
 * process (kill -9); a power cut may lose the last few (SQLite's trade-
 * off; the CA's callers are tests, and NORMAL is 4-5x faster here). */
#include "ca_int.h"
#include "../core/dcache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

#define SCHEMA_VERSION 1

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS certs("
	" serial INTEGER PRIMARY KEY CHECK(serial > 0),"
	" ca TEXT NOT NULL CHECK(ca IN ('auth','sign')),"
	" holder TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK(kind IN ('card','phone')),"
	" purpose TEXT NOT NULL CHECK(purpose = ca),"
	" der BLOB NOT NULL,"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" status TEXT NOT NULL CHECK(status IN ('valid','hold','revoked')),"
	" reason INTEGER,"
	" revoked_at INTEGER,"
	" request BLOB UNIQUE);"
	"CREATE INDEX IF NOT EXISTS certs_holder ON certs(holder);"
	"CREATE TABLE IF NOT EXISTS linkage("
	" card_serial INTEGER NOT NULL REFERENCES certs(serial),"
	" phone_serial INTEGER PRIMARY KEY REFERENCES certs(serial));"
	"CREATE INDEX IF NOT EXISTS linkage_card ON linkage(card_serial);"
	"CREATE TABLE IF NOT EXISTS crl_number("
	" ca TEXT PRIMARY KEY CHECK(ca IN ('auth','sign')),"
	" number INTEGER NOT NULL,"
	" this_update INTEGER,"
	" dirty INTEGER NOT NULL,"
	" der BLOB);";

static const char *const sql[ST_COUNT] = {
	[ST_GET] = "SELECT ca, holder, kind, not_before, not_after, status, reason, revoked_at,"
		   " (SELECT card_serial FROM linkage WHERE phone_serial = certs.serial)"
		   " FROM certs WHERE serial = ?",
	[ST_DER] = "SELECT der FROM certs WHERE serial = ?",
	[ST_INSERT] = "INSERT INTO certs(serial, ca, holder, kind, purpose, der, not_before,"
		      " not_after, status, request) VALUES(?1, ?2, ?3, ?4, ?2, ?5, ?6, ?7, 'valid', ?8)",
	[ST_LINK] = "INSERT INTO linkage(card_serial, phone_serial) VALUES(?, ?)",
	[ST_SET] = "UPDATE certs SET status = ?, reason = ?, revoked_at = ? WHERE serial = ?",
	[ST_LINKED] = "SELECT phone_serial FROM linkage WHERE card_serial = ? ORDER BY phone_serial",
	[ST_HOLDER] = "SELECT serial FROM certs WHERE holder = ? ORDER BY serial",
	[ST_BY_REQUEST] = "SELECT serial FROM certs WHERE request = ?",
	[ST_DIRTY] = "INSERT INTO crl_number(ca, number, dirty) VALUES(?, 0, 1)"
		     " ON CONFLICT(ca) DO UPDATE SET dirty = 1",
	[ST_CRL_GET] = "SELECT number, this_update, dirty, der FROM crl_number WHERE ca = ?",
	[ST_CRL_PUT] = "INSERT INTO crl_number(ca, number, this_update, dirty, der) VALUES(?, ?, ?, 0, ?)"
		       " ON CONFLICT(ca) DO UPDATE SET number = excluded.number,"
		       " this_update = excluded.this_update, dirty = 0, der = excluded.der",
	[ST_REVOKED] = "SELECT serial, revoked_at, reason FROM certs WHERE ca = ?"
		       " AND status IN ('hold', 'revoked') AND not_after >= ? ORDER BY serial",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?",
	[ST_META_PUT] = "INSERT INTO meta(key, value) VALUES(?, ?)"
			" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[ST_DATA_VERSION] = "PRAGMA data_version",
	/* every issuance and status change: kept prepared like the rest */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

static const char *const purpose_names[2] = { "auth", "sign" };
static const char *const kind_names[2] = { "card", "phone" };

/* ------------------------------------------------------------ errors */

int ca_fail(ca_t *ca, int rc, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!ca)
		return rc;
	va_start(ap, fmt);
	vsnprintf(ca->err, sizeof ca->err, fmt, ap);
	va_end(ap);
	ca->field = field;
	return rc;
}

int ca_set_error(ca_t *ca, int rc, const char *field, const char *msg)
{
	if (!ca)
		return rc;
	snprintf(ca->field_buf, sizeof ca->field_buf, "%s", field ? field : "");
	ca_fail(ca, rc, field ? ca->field_buf : NULL, "%s", msg);
	return rc;
}

int ca_local_only(ca_t *ca, const char *what)
{
	if (ca && ca->remote)
		return ca_fail(ca, CA_ERR_ARG, NULL, "%s: asked of the CA itself, not of a TSM's link to it", what);
	return CA_OK;
}

void ca_clear_error(ca_t *ca)
{
	ca->err[0] = 0;
	ca->field = NULL;
}

const char *ca_strerror(int rc)
{
	switch (rc) {
	case CA_OK: return "ok";
	case CA_REPLAYED: return "the same request again";
	case CA_ERR_ARG: return "bad request";
	case CA_ERR_NOMEM: return "out of memory";
	case CA_ERR_DB: return "database error";
	case CA_ERR_CRYPTO: return "crypto error";
	case CA_ERR_NOTFOUND: return "no such certificate";
	case CA_ERR_STATE: return "the certificate's status forbids it";
	case CA_ERR_SIGNATURE: return "the card's signature does not verify";
	case CA_ERR_CHAIN: return "the certificate does not verify under the CA";
	case CA_ERR_EXISTS: return "a different certificate has that serial";
	case CA_ERR_POLICY: return "refused by JPKI rules";
	default: return "unknown error";
	}
}

const char *ca_error(const ca_t *ca)
{
	return ca && ca->err[0] ? ca->err : "";
}

const char *ca_error_field(const ca_t *ca)
{
	return ca ? ca->field : NULL;
}

/* ------------------------------------------------------------ names */

const char *ca_status_name(enum ca_status s)
{
	static const char *const n[] = { "valid", "hold", "revoked", "expired" };
	return (unsigned)s < 4 ? n[s] : "unknown";
}

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", NULL, "removeFromCRL", "privilegeWithdrawn",
	"aACompromise",
};

const char *ca_reason_name(int reason)
{
	if (reason < 0 || reason >= (int)(sizeof reason_names / sizeof *reason_names))
		return NULL;
	return reason_names[reason];
}

int ca_reason_parse(const char *s)
{
	size_t i;

	if (!s || !*s)
		return -1;
	if (s[0] >= '0' && s[0] <= '9' && (!s[1] || (s[1] >= '0' && s[1] <= '9' && !s[2]))) {
		int v = atoi(s);
		return ca_reason_name(v) ? v : -1;
	}
	for (i = 0; i < sizeof reason_names / sizeof *reason_names; i++)
		if (reason_names[i] && !strcmp(reason_names[i], s))
			return (int)i;
	return -1;
}

void ca_serial_format(uint64_t serial, char out[17])
{
	int bytes = 1;

	while (bytes < 8 && (serial >> (8 * bytes)))
		bytes++;
	snprintf(out, 17, "%0*llX", 2 * bytes, (unsigned long long)serial);
}

int ca_serial_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = s ? strlen(s) : 0, i;

	if (n == 0 || n > 16)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (v == 0 || v > INT64_MAX) /* SQLite keys are signed */
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------ store */

int ca_db_fail(ca_t *ca, const char *what)
{
	return ca_fail(ca, CA_ERR_DB, NULL, "%s: %s", what, sqlite3_errmsg(ca->db));
}

sqlite3_stmt *ca_stmt(ca_t *ca, enum ca_st st)
{
	if (ca_local_only(ca, "records") != CA_OK)
		return NULL; /* a remote CA has no database here */
	if (!ca->st[st] && sqlite3_prepare_v3(ca->db, sql[st], -1, SQLITE_PREPARE_PERSISTENT,
					      &ca->st[st], NULL) != SQLITE_OK) {
		ca_db_fail(ca, "prepare");
		return NULL;
	}
	sqlite3_reset(ca->st[st]);
	sqlite3_clear_bindings(ca->st[st]);
	return ca->st[st];
}

static int exec(ca_t *ca, const char *q)
{
	return sqlite3_exec(ca->db, q, NULL, NULL, NULL) == SQLITE_OK ? CA_OK : ca_db_fail(ca, q);
}

/* A transaction statement, prepared once (parsing it cost more than
 * running it); its failure recorded when fail. */
static int tx(ca_t *ca, enum ca_st q, int fail)
{
	sqlite3_stmt *s = ca_stmt(ca, q);
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;

	if (s)
		sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return CA_OK;
	return fail ? ca_db_fail(ca, sql[q]) : CA_ERR_DB;
}

int ca_begin(ca_t *ca)
{
	return tx(ca, ST_BEGIN, 1);
}

int ca_commit(ca_t *ca)
{
	if (tx(ca, ST_COMMIT, 1) == CA_OK)
		return CA_OK;
	ca_rollback(ca);
	return CA_ERR_DB;
}

/* Silent: the failure that led here is the one to report. */
void ca_rollback(ca_t *ca)
{
	if (!sqlite3_get_autocommit(ca->db) && ca->st[ST_ROLLBACK])
		tx(ca, ST_ROLLBACK, 0);
	else if (!sqlite3_get_autocommit(ca->db))
		sqlite3_exec(ca->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t ca_now(const ca_t *ca)
{
	return vclock_now(ca->ctx->clock);
}

static int meta_get(ca_t *ca, const char *key, void *buf, size_t n)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_META_GET);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		rc = CA_ERR_NOTFOUND;
	else if (rc != SQLITE_ROW)
		rc = ca_db_fail(ca, "meta");
	else if ((size_t)sqlite3_column_bytes(s, 0) != n)
		rc = ca_fail(ca, CA_ERR_DB, NULL, "meta %s: wrong size", key);
	else {
		memcpy(buf, sqlite3_column_blob(s, 0), n);
		rc = CA_OK;
	}
	sqlite3_reset(s);
	return rc;
}

static int meta_put(ca_t *ca, const char *key, const void *buf, size_t n)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_META_PUT);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, buf, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "meta");
	sqlite3_reset(s);
	return rc;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int ca_save_rng(ca_t *ca)
{
	uint8_t b[32];

	for (int i = 0; i < 4; i++)
		put_u64(b + 8 * i, ca->rng.s[i]);
	return meta_put(ca, "rng", b, sizeof b);
}

int ca_clock_save(ca_t *ca)
{
	uint8_t b[8];
	int rc;

	if (!ca)
		return CA_ERR_ARG;
	if ((rc = ca_local_only(ca, "clock_save")) != CA_OK)
		return rc;
	put_u64(b, (uint64_t)ca_now(ca));
	if ((rc = ca_begin(ca)) != CA_OK)
		return rc;
	if ((rc = meta_put(ca, "clock", b, sizeof b)) != CA_OK) {
		ca_rollback(ca);
		return rc;
	}
	return ca_commit(ca);
}

int ca_clock_load(ca_t *ca, int64_t *t)
{
	uint8_t b[8];
	int rc;

	if (!ca || !t)
		return CA_ERR_ARG;
	if (CA_REMOTE(ca, clock))
		return ca->remote->clock(ca, ca->remote_impl, t);
	if ((rc = meta_get(ca, "clock", b, sizeof b)) == CA_OK)
		*t = (int64_t)get_u64(b);
	return rc;
}

static int purpose_of(const char *s)
{
	return s && !strcmp(s, "sign") ? CA_SIGN : CA_AUTH;
}

int ca_row(ca_t *ca, uint64_t serial, ca_info_t *out)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_GET);
	const char *st;
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return CA_ERR_NOTFOUND;
		return ca_db_fail(ca, "select");
	}
	memset(out, 0, sizeof *out);
	out->serial = serial;
	out->purpose = purpose_of((const char *)sqlite3_column_text(s, 0));
	snprintf(out->holder, sizeof out->holder, "%s", (const char *)sqlite3_column_text(s, 1));
	out->kind = !strcmp((const char *)sqlite3_column_text(s, 2), "phone") ? CA_PHONE : CA_CARD;
	out->not_before = sqlite3_column_int64(s, 3);
	out->not_after = sqlite3_column_int64(s, 4);
	st = (const char *)sqlite3_column_text(s, 5);
	out->reason = sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 6);
	out->revoked_at = sqlite3_column_int64(s, 7);
	out->card_serial = (uint64_t)sqlite3_column_int64(s, 8);
	if (!strcmp(st, "revoked"))
		out->status = CA_REVOKED;
	else if (ca_now(ca) > out->not_after)
		out->status = CA_EXPIRED;
	else
		out->status = !strcmp(st, "hold") ? CA_HOLD : CA_VALID;
	sqlite3_reset(s);
	return CA_OK;
}

int ca_der(ca_t *ca, uint64_t serial, uint8_t **der, size_t *n)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_DER);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s, 0);
		if ((*der = malloc(len ? len : 1)) == NULL)
			rc = ca_fail(ca, CA_ERR_NOMEM, NULL, "out of memory");
		else {
			memcpy(*der, sqlite3_column_blob(s, 0), len);
			*n = len;
			rc = CA_OK;
		}
	} else
		rc = rc == SQLITE_DONE ? CA_ERR_NOTFOUND : ca_db_fail(ca, "select");
	sqlite3_reset(s);
	return rc;
}

static int mark_dirty(ca_t *ca, enum ca_purpose p)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_DIRTY);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_text(s, 1, purpose_names[p], -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "crl_number");
	sqlite3_reset(s);
	return rc;
}

int ca_insert(ca_t *ca, uint64_t serial, enum ca_purpose p, const char *holder, enum ca_kind k,
	      const uint8_t *der, size_t n, int64_t nb, int64_t na, const uint8_t request[32])
{
	sqlite3_stmt *s = ca_stmt(ca, ST_INSERT);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	sqlite3_bind_text(s, 2, purpose_names[p], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, holder, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, kind_names[k], -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, der, (int)n, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, nb);
	sqlite3_bind_int64(s, 7, na);
	if (request)
		sqlite3_bind_blob(s, 8, request, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 8);
	rc = sqlite3_step(s) == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "insert");
	sqlite3_reset(s);
	return rc;
}

int ca_link(ca_t *ca, uint64_t card_serial, uint64_t phone_serial)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_LINK);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)card_serial);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)phone_serial);
	rc = sqlite3_step(s) == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "linkage");
	sqlite3_reset(s);
	return rc;
}

static int set_status(ca_t *ca, const ca_info_t *row, const char *status, int reason)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_SET);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
	if (reason < 0) {
		sqlite3_bind_null(s, 2);
		sqlite3_bind_null(s, 3);
	} else {
		sqlite3_bind_int(s, 2, reason);
		sqlite3_bind_int64(s, 3, ca_now(ca));
	}
	sqlite3_bind_int64(s, 4, (sqlite3_int64)row->serial);
	rc = sqlite3_step(s) == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "update");
	sqlite3_reset(s);
	return rc == CA_OK ? mark_dirty(ca, row->purpose) : rc;
}

/* The serials linked to card_serial, malloc'd (the statement is reused
 * while revoking them, so they are read out first). */
static int linked_list(ca_t *ca, uint64_t card_serial, uint64_t **out, size_t *n)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_LINKED);
	uint64_t *v = NULL, *nv;
	size_t cap = 0;
	int rc;

	*n = 0;
	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)card_serial);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			if (!(nv = realloc(v, cap * sizeof *v))) {
				sqlite3_reset(s);
				free(v);
				return ca_fail(ca, CA_ERR_NOMEM, NULL, "out of memory");
			}
			v = nv;
		}
		v[(*n)++] = (uint64_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(v);
		return ca_db_fail(ca, "linkage");
	}
	*out = v;
	return CA_OK;
}

int ca_revoke_in_tx(ca_t *ca, uint64_t serial, int reason)
{
	ca_info_t row;
	uint64_t *linked = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = ca_row(ca, serial, &row)) != CA_OK)
		return rc;
	if (row.status == CA_VALID || row.status == CA_HOLD)
		if ((rc = set_status(ca, &row, "revoked", reason)) != CA_OK)
			return rc;
	if (row.kind != CA_CARD)
		return CA_OK;
	if (mut_on(MUT_CA_UNLINKED))
		return CA_OK;
	/* MODELLED ASSUMPTION (連動失効): revoking a card certificate revokes
	 * every phone certificate linked to it, with the same reason, in
	 * the same transaction.  Already revoked or expired ones stay. */
	if ((rc = linked_list(ca, serial, &linked, &n)) != CA_OK)
		return rc;
	for (i = 0; i < n && rc == CA_OK; i++) {
		ca_info_t ph;
		if ((rc = ca_row(ca, linked[i], &ph)) == CA_OK &&
		    (ph.status == CA_VALID || ph.status == CA_HOLD))
			rc = set_status(ca, &ph, "revoked", reason);
	}
	free(linked);
	return rc;
}

/* ------------------------------------------------------------ state changes */

enum change { CH_REVOKE, CH_HOLD, CH_LIFT };

static int change(ca_t *ca, uint64_t serial, enum change what, int reason)
{
	ca_info_t row;
	int rc;

	if ((rc = ca_begin(ca)) != CA_OK)
		return rc;
	if ((rc = ca_row(ca, serial, &row)) != CA_OK) {
		if (rc == CA_ERR_NOTFOUND)
			ca_fail(ca, rc, "serial", "serial: no certificate %016llX",
				(unsigned long long)serial);
		goto out;
	}
	/* The life cycle: what each status allows. */
	switch (what) {
	case CH_REVOKE:
		if (row.status == CA_EXPIRED)
			rc = ca_fail(ca, CA_ERR_STATE, "serial", "serial: the certificate has expired");
		else
			rc = ca_revoke_in_tx(ca, serial, reason);
		break;
	case CH_HOLD:
		if (row.status == CA_VALID)
			rc = set_status(ca, &row, "hold", CA_REASON_HOLD);
		else if (row.status != CA_HOLD)
			rc = ca_fail(ca, CA_ERR_STATE, "serial", "serial: the certificate is %s",
				     ca_status_name(row.status));
		break;
	case CH_LIFT:
		if (row.status == CA_HOLD && row.purpose == CA_SIGN)
			rc = ca_fail(ca, CA_ERR_POLICY, "serial",
				     "serial: a held sign certificate is not reinstated: revoke it and "
				     "issue a new one");
		else if (row.status == CA_HOLD)
			rc = set_status(ca, &row, "valid", -1);
		else if (row.status != CA_VALID)
			rc = ca_fail(ca, CA_ERR_STATE, "serial", "serial: the certificate is %s",
				     ca_status_name(row.status));
		break;
	}
out:
	if (rc != CA_OK) {
		ca_rollback(ca);
		return rc;
	}
	return ca_commit(ca);
}

int ca_revoke(ca_t *ca, uint64_t serial, int reason)
{
	if (!ca)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, revoke))
		return ca->remote->revoke(ca, ca->remote_impl, serial, reason);
	if (!ca_reason_name(reason) || reason == CA_REASON_HOLD || reason == 8 /* removeFromCRL */)
		return ca_fail(ca, CA_ERR_ARG, "reason", "reason: %d is not a revocation reason", reason);
	return change(ca, serial, CH_REVOKE, reason);
}

int ca_hold(ca_t *ca, uint64_t serial)
{
	if (!ca)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, hold))
		return ca->remote->hold(ca, ca->remote_impl, serial);
	return change(ca, serial, CH_HOLD, CA_REASON_HOLD);
}

int ca_lift(ca_t *ca, uint64_t serial)
{
	if (!ca)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, lift))
		return ca->remote->lift(ca, ca->remote_impl, serial);
	return change(ca, serial, CH_LIFT, -1);
}

/* ------------------------------------------------------------ queries */

int ca_status(ca_t *ca, uint64_t serial, ca_info_t *out)
{
	int rc;

	if (!ca || !out)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, status))
		return ca->remote->status(ca, ca->remote_impl, serial, out);
	rc = ca_row(ca, serial, out);
	if (rc == CA_ERR_NOTFOUND)
		ca_fail(ca, rc, "serial", "serial: no certificate %016llX", (unsigned long long)serial);
	return rc;
}

int ca_cert(ca_t *ca, uint64_t serial, uint8_t **der, size_t *n)
{
	if (!ca || !der || !n)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, cert))
		return ca->remote->cert(ca, ca->remote_impl, serial, der, n);
	return ca_der(ca, serial, der, n);
}

static int list(ca_t *ca, enum ca_st st, uint64_t key, const char *skey, uint64_t *out, size_t cap,
		size_t *n)
{
	sqlite3_stmt *s;
	int rc;

	if (!ca || !n || (cap && !out))
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (!(s = ca_stmt(ca, st)))
		return CA_ERR_DB;
	if (skey)
		sqlite3_bind_text(s, 1, skey, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, (sqlite3_int64)key);
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n < cap)
			out[*n] = (uint64_t)sqlite3_column_int64(s, 0);
		(*n)++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "select");
}

int ca_linked(ca_t *ca, uint64_t card_serial, uint64_t *serials, size_t cap, size_t *n)
{
	return list(ca, ST_LINKED, card_serial, NULL, serials, cap, n);
}

int ca_list_holder(ca_t *ca, const char *holder, uint64_t *serials, size_t cap, size_t *n)
{
	if (!holder)
		return CA_ERR_ARG;
	if (CA_REMOTE(ca, list_holder)) {
		ca_clear_error(ca);
		return ca->remote->list_holder(ca, ca->remote_impl, holder, serials, cap, n);
	}
	return list(ca, ST_HOLDER, 0, holder, serials, cap, n);
}

/* ------------------------------------------------------------ open / close */

int ca_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	char s[32];

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return vclock_parse(s, out);
}

static int load_ca(ca_t *ca, int which, ca_blob_t key, ca_blob_t cert)
{
	static const char *const field[2][2] = { { "auth_key", "auth_cert" },
						 { "sign_key", "sign_cert" } };
	size_t used = 0;

	if (!key.p || !key.n || !cert.p || !cert.n)
		return ca_fail(ca, CA_ERR_ARG, field[which][!key.n ? 0 : 1], "%s: missing",
			       field[which][!key.n ? 0 : 1]);
	if (!(ca->key[which] = dcache_key(key.p, key.n, NULL)))
		return ca_fail(ca, CA_ERR_ARG, field[which][0], "%s: not a private key", field[which][0]);
	if (!(ca->cert[which] = dcache_cert(cert.p, cert.n, &used)) || used != cert.n)
		return ca_fail(ca, CA_ERR_ARG, field[which][1], "%s: not a DER certificate",
			       field[which][1]);
	if (X509_check_private_key(ca->cert[which], ca->key[which]) != 1)
		return ca_fail(ca, CA_ERR_ARG, field[which][0], "%s: does not match %s",
			       field[which][0], field[which][1]);
	if (!(ca->store[which] = X509_STORE_new()) ||
	    X509_STORE_add_cert(ca->store[which], ca->cert[which]) != 1)
		return ca_fail(ca, CA_ERR_CRYPTO, NULL, "X509_STORE");
	/* The CA alone is the anchor: the root above it is not ours. */
	X509_STORE_set_flags(ca->store[which], X509_V_FLAG_PARTIAL_CHAIN);
	return CA_OK;
}

/* A database made for other CA certificates is refused. */
static int check_owner(ca_t *ca)
{
	static const char *const keys[2] = { "auth_ca", "sign_ca" };
	uint8_t have[32], want[32];
	unsigned int len;
	int rc = CA_OK;

	for (int i = 0; i < 2 && rc == CA_OK; i++) {
		if (X509_digest(ca->cert[i], EVP_sha256(), want, &len) != 1)
			return ca_fail(ca, CA_ERR_CRYPTO, NULL, "X509_digest");
		rc = meta_get(ca, keys[i], have, sizeof have);
		if (rc == CA_ERR_NOTFOUND)
			rc = meta_put(ca, keys[i], want, sizeof want);
		else if (rc == CA_OK && memcmp(have, want, sizeof want))
			rc = ca_fail(ca, CA_ERR_DB, "db", "db: made for another %s CA certificate",
				     i ? "sign" : "auth");
	}
	return rc;
}

static int open_db(ca_t *ca, const char *path)
{
	int mem = !path || !*path || !strcmp(path, ":memory:");
	uint8_t b[32], v = SCHEMA_VERSION, have;
	int rc;

	if (sqlite3_open_v2(mem ? ":memory:" : path, &ca->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return ca_fail(ca, CA_ERR_DB, "db", "db: %s: %s", mem ? ":memory:" : path,
			       ca->db ? sqlite3_errmsg(ca->db) : "cannot open");
	sqlite3_busy_timeout(ca->db, 5000);
	if (!mem && ((rc = exec(ca, "PRAGMA journal_mode=WAL")) != CA_OK ||
		     (rc = exec(ca, "PRAGMA synchronous=NORMAL")) != CA_OK))
		return rc;
	if ((rc = exec(ca, "PRAGMA foreign_keys=ON")) != CA_OK || (rc = ca_begin(ca)) != CA_OK)
		return rc;
	if ((rc = exec(ca, schema)) != CA_OK)
		goto fail;
	rc = meta_get(ca, "schema", &have, 1);
	if (rc == CA_ERR_NOTFOUND)
		rc = meta_put(ca, "schema", &v, 1);
	else if (rc == CA_OK && have != v)
		rc = ca_fail(ca, CA_ERR_DB, "db", "db: schema version %u, this CA knows %u", have, v);
	if (rc != CA_OK || (rc = check_owner(ca)) != CA_OK)
		goto fail;
	/* The rng stream continues where the last run left it. */
	rc = meta_get(ca, "rng", b, sizeof b);
	if (rc == CA_OK) {
		for (int i = 0; i < 4; i++)
			ca->rng.s[i] = get_u64(b + 8 * i);
	} else if (rc == CA_ERR_NOTFOUND)
		rc = CA_OK;
	if (rc != CA_OK)
		goto fail;
	return ca_commit(ca);
fail:
	ca_rollback(ca);
	return rc;
}

int ca_open(ca_t **out, sim_ctx_t *ctx, const ca_config_t *cfg, char *err, size_t errlen)
{
	const char *base;
	ca_t *ca;
	int rc;

	if (err && errlen)
		err[0] = 0;
	if (!out)
		return CA_ERR_ARG;
	*out = NULL;
	if (!ctx || !ctx->rng || !ctx->clock || !cfg) {
		if (err && errlen)
			snprintf(err, errlen, "ca_open: no context or configuration");
		return CA_ERR_ARG;
	}
	if (!(ca = calloc(1, sizeof *ca)))
		return CA_ERR_NOMEM;
	ca->ctx = ctx;
	/* Our own stream: the CA's draws do not shift anyone else's. */
	rng_derive(&ca->rng, ctx->rng, "ca");
	ca->crl_period = cfg->crl_period > 0 ? cfg->crl_period : 86400;
	base = cfg->base_url && *cfg->base_url ? cfg->base_url : "http://127.0.0.1:8080";
	if (!(ca->base_url = strdup(base))) {
		rc = CA_ERR_NOMEM;
		goto fail;
	}
	if ((rc = load_ca(ca, CA_AUTH, cfg->auth_key, cfg->auth_cert)) != CA_OK ||
	    (rc = load_ca(ca, CA_SIGN, cfg->sign_key, cfg->sign_cert)) != CA_OK ||
	    (rc = open_db(ca, cfg->db)) != CA_OK)
		goto fail;
	*out = ca;
	return CA_OK;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", ca->err[0] ? ca->err : ca_strerror(rc));
	ca_close(ca);
	return rc;
}

int ca_open_remote(ca_t **out, const ca_remote_ops_t *ops, void *impl)
{
	ca_t *ca;

	if (!out)
		return CA_ERR_ARG;
	*out = NULL;
	if (!ops || !(ca = calloc(1, sizeof *ca)))
		return ops ? CA_ERR_NOMEM : CA_ERR_ARG;
	ca->remote = ops;
	ca->remote_impl = impl;
	*out = ca;
	return CA_OK;
}

int ca_is_remote(const ca_t *ca)
{
	return ca && ca->remote;
}

int ca_revision(ca_t *ca, uint64_t rev[3])
{
	sqlite3_stmt *s;

	if (!ca || ca->remote || !ca->db || !(s = ca_stmt(ca, ST_DATA_VERSION)))
		return -1;
	/* Rows this connection changed (a change rolled back still counts:
	 * a revision may move for nothing, never stay for a change), what
	 * other connections to the same file committed, and the clock, on
	 * which a certificate expires with no row changing. */
	rev[0] = (uint64_t)sqlite3_total_changes64(ca->db);
	rev[1] = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : UINT64_MAX;
	sqlite3_reset(s);
	rev[2] = (uint64_t)ca_now(ca);
	return rev[1] == UINT64_MAX ? -1 : 0;
}

void ca_close(ca_t *ca)
{
	if (!ca)
		return;
	if (ca->remote && ca->remote->close)
		ca->remote->close(ca->remote_impl);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(ca->st[i]);
	sqlite3_close(ca->db);
	for (int i = 0; i < CA_CACHE; i++)
		X509_free(ca->cache[i].x);
	for (int i = 0; i < 4; i++)
		X509_free(ca->exts[i / 2][i % 2]);
	for (int i = 0; i < 2; i++) {
		X509_STORE_free(ca->store[i]);
		X509_free(ca->cert[i]);
		EVP_PKEY_free(ca->key[i]);
	}
	free(ca->base_url);
	free(ca);
}
