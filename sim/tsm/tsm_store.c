/* tsm_store.c — the TSM's records (SQLite): devices and sessions as JSON
 * documents, events, counters, the write-ahead intents and the rng
 * state; and the small JSON helpers the other files share. */
#include "tsm_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/apdu.h"

/* ------------------------------------------------------------ small helpers */

json_t *tsm_jerr(const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:s?}", "error", msg, "field", field);
}

json_t *tsm_jhex(const uint8_t *p, size_t n)
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
int tsm_unhex(const char *s, uint8_t **out, size_t *n)
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

/* ------------------------------------------------------------ records */

sqlite3_stmt *tsm_stmt(tsm_t *t, const char *sql)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < t->nstmts; i++)
		if (!strcmp(t->stmts[i].sql, sql))
			return t->stmts[i].st;
	if (sqlite3_prepare_v3(t->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	if (t->nstmts < TSM_STMTS && (t->stmts[t->nstmts].sql = strdup(sql))) {
		t->stmts[t->nstmts++].st = st;
		return st;
	}
	return st; /* the cache is full: finalized when done */
}

void tsm_stmt_done(tsm_t *t, sqlite3_stmt *st)
{
	for (size_t i = 0; i < t->nstmts; i++)
		if (t->stmts[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st); /* no pointer kept to a caller's text */
			return;
		}
	sqlite3_finalize(st);
}

void tsm_stmts_free(tsm_t *t)
{
	for (size_t i = 0; i < t->nstmts; i++) {
		sqlite3_finalize(t->stmts[i].st);
		free(t->stmts[i].sql);
	}
	t->nstmts = 0;
}

int tsm_exec(tsm_t *t, const char *sql)
{
	return sqlite3_exec(t->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

json_t *tsm_doc_get(tsm_t *t, const char *table, const char *id)
{
	char sql[128];
	sqlite3_stmt *st;
	json_t *j = NULL;

	snprintf(sql, sizeof sql, "SELECT doc FROM %s WHERE id = ?", table);
	if (!(st = tsm_stmt(t, sql)))
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	tsm_stmt_done(t, st);
	return j;
}

int tsm_doc_put(tsm_t *t, const char *table, json_t *doc)
{
	char sql[160];
	sqlite3_stmt *st;
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = -1;

	if (!text)
		return -1;
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s(id, key, doc) VALUES (?, ?, ?)", table);
	if ((st = tsm_stmt(t, sql))) {
		sqlite3_bind_text(st, 1, tsm_jstr(doc, "id"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tsm_jstr(doc, !strcmp(table, "devices") ? "holder" : "state"), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		tsm_stmt_done(t, st);
	}
	free(text);
	return rc;
}

/* The docs a query gives (its one parameter bound to bind, unless
 * NULL): a new array. */
static json_t *docs_query(tsm_t *t, const char *sql, const char *bind)
{
	sqlite3_stmt *st;
	json_t *a = json_array();

	if (!(st = tsm_stmt(t, sql)))
		return a;
	if (bind)
		sqlite3_bind_text(st, 1, bind, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL));
	tsm_stmt_done(t, st);
	return a;
}

/* Device docs whose key (holder / state) is key: a new array. */
json_t *tsm_docs_by_key(tsm_t *t, const char *table, const char *key)
{
	char sql[128];

	snprintf(sql, sizeof sql, "SELECT doc FROM %s WHERE key IS ? ORDER BY id", table);
	return docs_query(t, sql, key);
}

json_t *tsm_docs_all(tsm_t *t, const char *table)
{
	char sql[96];

	snprintf(sql, sizeof sql, "SELECT doc FROM %s ORDER BY id", table);
	return docs_query(t, sql, NULL);
}

/* Selected through the index devices_live (tsm_open): a registry keeps
 * every phone a holder ever had, and the checks before each request
 * must not parse them all. */
json_t *tsm_docs_live(tsm_t *t, const char *holder)
{
	return docs_query(t,
			  holder ? "SELECT doc FROM devices WHERE " TSM_LIVE " AND key IS ? ORDER BY id"
				 : "SELECT doc FROM devices WHERE " TSM_LIVE " ORDER BY id",
			  holder);
}

void tsm_event(tsm_t *t, const char *session, const char *device, const char *what)
{
	sqlite3_stmt *st;

	if (!(st = tsm_stmt(t, "INSERT INTO events(at, session, device, what) VALUES (?,?,?,?)")))
		return;
	sqlite3_bind_int64(st, 1, vclock_now(t->ctx->clock));
	sqlite3_bind_text(st, 2, session, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, what, -1, SQLITE_STATIC);
	sqlite3_step(st);
	tsm_stmt_done(t, st);
}

uint64_t tsm_next_counter(tsm_t *t)
{
	sqlite3_stmt *st;
	uint64_t v = 1;

	if ((st = tsm_stmt(t, "SELECT v FROM meta WHERE k = 'sessions'"))) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = (uint64_t)sqlite3_column_int64(st, 0) + 1;
		tsm_stmt_done(t, st);
	}
	if ((st = tsm_stmt(t, "INSERT OR REPLACE INTO meta(k, v) VALUES ('sessions', ?)"))) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
		sqlite3_step(st);
		tsm_stmt_done(t, st);
	}
	return v;
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

int tsm_intent_put(tsm_t *t, const char *id, const char *kind, json_int_t step, json_t *body)
{
	json_t *b = json_deep_copy(body);
	char *text;
	sqlite3_stmt *st;
	int rc = -1;

	json_object_del(b, "pins"); /* PINs are never stored */
	text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(b);
	if (text && (st = tsm_stmt(t, "INSERT OR REPLACE INTO intents(id, kind, step, body, at) VALUES (?,?,?,?,?)"))) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, step);
		sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, vclock_now(t->ctx->clock));
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		tsm_stmt_done(t, st);
	}
	free(text);
	return rc;
}

void tsm_intent_del(tsm_t *t, const char *id)
{
	sqlite3_stmt *st;

	if (!(st = tsm_stmt(t, "DELETE FROM intents WHERE id = ?")))
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	tsm_stmt_done(t, st);
}

int64_t tsm_intent_at(tsm_t *t, const char *id)
{
	sqlite3_stmt *st;
	int64_t at = -1;

	if (!(st = tsm_stmt(t, "SELECT at FROM intents WHERE id = ?")))
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		at = sqlite3_column_int64(st, 0);
	tsm_stmt_done(t, st);
	return at;
}

static void put_u64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The rng state, in the committing transaction: a restarted TSM goes on
 * with the stream instead of drawing the same nonces again. */
void tsm_rng_save(tsm_t *t)
{
	uint8_t b[32];
	sqlite3_stmt *st;

	for (int i = 0; i < 4; i++)
		put_u64(b + 8 * i, t->rng.s[i]);
	if (!(st = tsm_stmt(t, "INSERT OR REPLACE INTO meta(k, v) VALUES ('rng', ?)")))
		return;
	sqlite3_bind_blob(st, 1, b, sizeof b, SQLITE_STATIC);
	sqlite3_step(st);
	tsm_stmt_done(t, st);
}

void tsm_rng_load(tsm_t *t)
{
	sqlite3_stmt *st;

	if (!(st = tsm_stmt(t, "SELECT v FROM meta WHERE k = 'rng'")))
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
	tsm_stmt_done(t, st);
}

/* Requests whose intent is still pending (not finished: the CA may be
 * ahead of the registry): their sessions' devices, or hold:HOLDER. */
json_t *tsm_in_flight_list(tsm_t *t)
{
	sqlite3_stmt *st;
	json_t *a = json_array();

	if (!(st = tsm_stmt(t, "SELECT id, kind FROM intents ORDER BY rowid")))
		return a;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		json_t *d = strcmp(kind, "step") ? NULL : tsm_doc_get(t, "sessions", id);
		if (!strcmp(kind, "link") && !strncmp(id, "link:", 5))
			id += 5; /* linked hold: the device */
		json_array_append_new(a, json_string(d && tsm_jstr(d, "device") ? tsm_jstr(d, "device") : id));
		json_decref(d);
	}
	tsm_stmt_done(t, st);
	return a;
}

int tsm_in_flight(json_t *flying, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(flying, i, v) if (!strcmp(json_string_value(v), id)) return 1;
	return 0;
}
