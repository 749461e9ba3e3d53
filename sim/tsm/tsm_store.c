/* tsm_store.c — the TSM's records (SQLite): devices and sessions as JSON
 * documents, events, counters, the write-ahead intents and the rng
 * state; and the small JSON helpers the other files share. */
#include "tsm_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/apdu.h"
#include "../core/jdump.h"

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

/* ------------------------------------------------------------ parsed records
 *
 * Records are read far more often than they change (a step reads its
 * session twice, every request reads the live devices), and jansson
 * parses at some 30 ns a byte: a session carrying its script of hex
 * APDUs runs to 13 kB.  A deep copy of a parsed tree costs about a
 * thirtieth of the parse.  So every text read or written is kept with
 * its tree, and a read whose text is byte for byte a kept one gets a
 * copy of that tree.  Keyed by the text itself, an entry cannot go
 * stale: a rolled-back write, a reopened database or another writer
 * only gives a text that is not kept. */

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of v's objects and arrays that shares its strings, numbers and
 * constants: the TSM never changes a value in place (it sets another in
 * its object; no json_string_set() and its kind), so a shared one stays
 * as it was kept.  With sort, each object's keys are inserted in sorted
 * order: the tree that parsing json_dumps(v, JSON_SORT_KEYS) gives,
 * without the parse; the order shows, answers are dumped in insertion
 * order.  NULL when out of memory. */
static json_t *tree_copy(json_t *v, int sort)
{
	json_t *out, *x;
	size_t i, n;

	if (json_is_array(v)) {
		if (!(out = json_array()))
			return NULL;
		json_array_foreach(v, i, x) if (json_array_append_new(out, tree_copy(x, sort)) < 0) {
			json_decref(out);
			return NULL;
		}
		return out;
	}
	if (!json_is_object(v))
		return json_incref(v);
	n = json_object_size(v);
	{
		const char **keys = malloc((n ? n : 1) * sizeof *keys), *k;
		i = 0;
		if (!keys || !(out = json_object())) {
			free(keys);
			return NULL;
		}
		json_object_foreach(v, k, x) keys[i++] = k;
		if (sort)
			qsort(keys, n, sizeof *keys, key_cmp);
		for (i = 0; i < n; i++)
			if (json_object_set_new_nocheck(out, keys[i], tree_copy(json_object_get(v, keys[i]), sort)) < 0) {
				json_decref(out);
				out = NULL;
				break;
			}
		free(keys);
	}
	return out;
}

static struct docent *doc_find(tsm_t *t, const char *text, size_t n)
{
	for (size_t i = 0; i < DOC_CACHE; i++)
		if (t->docs[i].text && t->docs[i].n == n && !memcmp(t->docs[i].text, text, n))
			return &t->docs[i];
	return NULL;
}

/* Keep text (malloc'd, taken) with its tree (taken), in place of the
 * entry least recently used: the entry, or NULL (nothing kept). */
static struct docent *doc_keep(tsm_t *t, char *text, size_t n, json_t *doc)
{
	struct docent *e = doc_find(t, text, n);

	if (!doc || e) {
		free(text);
		json_decref(doc);
		if (e)
			e->used = ++t->doc_tick;
		return e;
	}
	e = &t->docs[0];
	for (size_t i = 1; i < DOC_CACHE && e->text; i++)
		if (!t->docs[i].text || t->docs[i].used < e->used)
			e = &t->docs[i];
	free(e->text);
	json_decref(e->doc);
	*e = (struct docent){ text, n, doc, ++t->doc_tick };
	return e;
}

/* The tree of a record's text (n bytes): the kept one, else parsed and
 * kept; NULL if the text does not parse (or out of memory). */
static json_t *doc_parse(tsm_t *t, const char *text, size_t n)
{
	struct docent *e;
	json_t *j;
	char *copy;

	if (!text)
		return NULL;
	if ((e = doc_find(t, text, n))) {
		e->used = ++t->doc_tick;
		return e->doc;
	}
	if (!(j = json_loadb(text, n, 0, NULL)) || !(copy = malloc(n))) {
		json_decref(j);
		return NULL;
	}
	memcpy(copy, text, n);
	return (e = doc_keep(t, copy, n, j)) ? e->doc : NULL;
}

void tsm_docs_free(tsm_t *t)
{
	for (size_t i = 0; i < DOC_CACHE; i++) {
		free(t->docs[i].text);
		json_decref(t->docs[i].doc);
		t->docs[i] = (struct docent){ 0 };
	}
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
	/* A request's transactions: kept prepared like the queries (parsing
	 * them cost more than running them). */
	if (!strcmp(sql, "BEGIN IMMEDIATE") || !strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK")) {
		sqlite3_stmt *st = tsm_stmt(t, sql);
		int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
		if (st)
			tsm_stmt_done(t, st); /* the step's error stays for sqlite3_errmsg */
		return rc == SQLITE_DONE ? 0 : -1;
	}
	return sqlite3_exec(t->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

const json_t *tsm_doc_peek(tsm_t *t, const char *table, const char *id)
{
	char sql[128];
	sqlite3_stmt *st;
	json_t *j = NULL;

	snprintf(sql, sizeof sql, "SELECT doc FROM %s WHERE id = ?", table);
	if (!(st = tsm_stmt(t, sql)))
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		j = doc_parse(t, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	tsm_stmt_done(t, st);
	return j;
}

json_t *tsm_doc_get(tsm_t *t, const char *table, const char *id)
{
	const json_t *j = tsm_doc_peek(t, table, id);

	return j ? tree_copy((json_t *)j, 0) : NULL;
}

/* Whether the row of id holds text (n bytes) already. */
static int stored_as(tsm_t *t, const char *table, const char *id, const char *text, size_t n)
{
	char sql[128];
	sqlite3_stmt *st;
	int same = 0;

	snprintf(sql, sizeof sql, "SELECT doc FROM %s WHERE id = ?", table);
	if (!id || !(st = tsm_stmt(t, sql)))
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		same = (size_t)sqlite3_column_bytes(st, 0) == n && !memcmp(sqlite3_column_text(st, 0), text, n);
	tsm_stmt_done(t, st);
	return same;
}

int tsm_doc_put(tsm_t *t, const char *table, json_t *doc)
{
	char sql[160];
	sqlite3_stmt *st;
	size_t n;
	char *text = jdump(doc, 1, &n); /* json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) */
	int rc = -1;

	if (!text)
		return -1;
	/* A device is written back at every step of its session, most often
	 * as it stands: a read then spares the row and its three index
	 * entries being replaced by the same. */
	if (!strcmp(table, "devices") && stored_as(t, table, tsm_jstr(doc, "id"), text, n)) {
		doc_keep(t, text, n, tree_copy(doc, 1));
		return 0;
	}
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s(id, key, doc) VALUES (?, ?, ?)", table);
	if ((st = tsm_stmt(t, sql))) {
		sqlite3_bind_text(st, 1, tsm_jstr(doc, "id"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tsm_jstr(doc, !strcmp(table, "devices") ? "holder" : "state"), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text, (int)n, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		tsm_stmt_done(t, st);
	}
	if (!strcmp(table, "devices"))
		t->dev_rev++; /* even when it failed: the gate may move for nothing, never stay for a change */
	if (rc == 0)
		doc_keep(t, text, n, tree_copy(doc, 1)); /* the step reads it back */
	else
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
	while (sqlite3_step(st) == SQLITE_ROW) {
		const json_t *d = doc_parse(t, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		json_array_append_new(a, d ? tree_copy((json_t *)d, 0) : NULL);
	}
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
	json_t *b = json_copy(body); /* the top object only: nothing below it changes */
	char *text;
	sqlite3_stmt *st;
	int rc = -1;

	json_object_del(b, "pins"); /* PINs are never stored */
	text = jdump(b, 1, NULL);
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
		const json_t *d = strcmp(kind, "step") ? NULL : tsm_doc_peek(t, "sessions", id);
		const char *dev = json_string_value(json_object_get(d, "device"));
		if (!strcmp(kind, "link") && !strncmp(id, "link:", 5))
			id += 5; /* linked hold: the device */
		json_array_append_new(a, json_string(dev ? dev : id));
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
