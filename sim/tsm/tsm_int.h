/* tsm_int.h — what the TSM's source files share (private to sim/tsm):
 * the object, the session and script types, and
 *   tsm.c          the API: routing, open / close, reconcile, the fault hook
 *                  on the CA calls that change the CA
 *   tsm_store.c    the records (SQLite), intents, the rng state, JSON helpers
 *   tsm_script.c   SCP03 host sessions and the APDU scripts
 *   tsm_session.c  a session's facts, what its op needs, absorbing answers
 *   tsm_plan.c     planning a session's next action
 *   tsm_ops.c      the endpoints, and finishing requests from their intents */
#ifndef TSM_INT_H
#define TSM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

#include "tsm.h"
#include "../core/mutate.h"

#define ISD_AID "A000000151000000"
#define JPKI_ELF "D392F000260100"
#define JPKI_MOD "D392F00026010001"
#define JPKI_AID "D392F000260100000001"

enum { S_EMPTY = 0, S_GENERATED = 1, S_ACTIVE = 2, S_REVOKED = 3, S_ERASED = 4 };
static const char *const slot_names[2] = { "auth", "sign" };

#define SCP_CACHE 256
#define TSM_STMTS 32 /* distinct statements of tsm_store.c, with room */
#define DOC_CACHE 32 /* parsed records kept: the sessions in flight and their devices */
#define MAX_REOPENS 4
#define BLOCK 200

/* A wrapped command of the script in flight: its answer's R-MAC is
 * checked against it (op: its index in the script). */
struct scpref {
	size_t op;
	scp03_rsp_ref_t r;
};

struct scpent {
	char id[40];
	scp03_session_t s;
	uint64_t used;
	int live;
	struct scpref *refs; /* the wrapped commands of the script in flight */
	size_t nrefs, caprefs;
};

/* A parsed record, by its exact text (tsm_store.c). */
struct docent {
	char *text;
	size_t n;
	json_t *doc; /* keys in sorted order, as parsing the text gives */
	uint64_t used;
};

struct tsm {
	sim_ctx_t *ctx;
	ca_t *ca;
	sqlite3 *db;
	scp03_keyset_t keys;
	uint8_t diversify, level;
	json_t *policy;
	ca_blob_t auth_ca, sign_ca;
	struct itsm *issuer;   /* se_model = ssd (tsm_ssd.c) */
	char sp[32], ssd_aid[33];
	scp03_keyset_t ssd_keys;
	struct scpent scp[SCP_CACHE];
	uint64_t tick;
	tsm_stats_t st;
	rng_t rng;      /* the TSM's own stream, saved with every step (meta 'rng') */
	int fault_at, fault_before, ca_calls, crashed; /* tsm_fault() */
	int touched;    /* mutating CA calls in the current request */
	struct stmtent {
		char *sql;
		sqlite3_stmt *st;
	} stmts[TSM_STMTS]; /* tsm_stmt() */
	size_t nstmts;
	struct docent docs[DOC_CACHE]; /* tsm_doc_get() and friends */
	uint64_t doc_tick;
	uint64_t dev_rev; /* device records written here (tsm_doc_put) */
	struct {
		int valid;
		uint64_t k[5]; /* what a reconciliation that changed nothing saw (tsm_reconcile) */
	} recon;
};

typedef struct script {
	json_t *apdus, *ops;
	scp03_session_t *s;
	int err;
	int dry;       /* no secure channel (a step finished from its intent):
			* commands are counted, not wrapped, and never sent */
} script_t;

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

/* ---- small helpers (tsm_store.c) */

/* tsm_jerr, tsm_jhex, tsm_unhex: tsm.h (the platform's service shares them) */

static inline const char *tsm_jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static inline int tsm_jbool(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static inline json_int_t tsm_jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static inline void tsm_serial_str(uint64_t s, char out[17])
{
	ca_serial_format(s, out);
}

/* ---- the CA calls that change it (tsm.c): each may be the one
 * tsm_fault() "dies" before or after. */

int tsm_ca_revoke(tsm_t *t, uint64_t serial, int reason);
int tsm_ca_hold(tsm_t *t, uint64_t serial);
int tsm_ca_lift(tsm_t *t, uint64_t serial);
int tsm_ca_issue(tsm_t *t, const ca_phone_req_t *r, uint64_t *serial);

/* ---- records (tsm_store.c): tables devices and sessions hold JSON docs
 * keyed by id (key: a device's holder, a session's state). */

int tsm_exec(tsm_t *t, const char *sql);
json_t *tsm_doc_get(tsm_t *t, const char *table, const char *id);
/* The record read only, without a copy: valid until the next call into
 * the records (tsm_store.c). */
const json_t *tsm_doc_peek(tsm_t *t, const char *table, const char *id);
int tsm_doc_put(tsm_t *t, const char *table, json_t *doc);
json_t *tsm_docs_by_key(tsm_t *t, const char *table, const char *key);
json_t *tsm_docs_all(tsm_t *t, const char *table);
/* The prepared statement for sql, kept by t until tsm_close (preparing
 * costs more than most of the TSM's queries); tsm_stmt_done() resets it
 * and clears its bindings after each use.  NULL on error.  Never for a
 * query run again while it is being stepped. */
sqlite3_stmt *tsm_stmt(tsm_t *t, const char *sql);
void tsm_stmt_done(tsm_t *t, sqlite3_stmt *st);
void tsm_stmts_free(tsm_t *t);
void tsm_docs_free(tsm_t *t);
/* The live devices (status active, hold or half: certificates that can
 * still change) of holder, or of everyone when NULL, in id order. */
json_t *tsm_docs_live(tsm_t *t, const char *holder);
#define TSM_LIVE "json_extract(doc, '$.status') IN ('active', 'hold', 'half')"
void tsm_event(tsm_t *t, const char *session, const char *device, const char *what);
uint64_t tsm_next_counter(tsm_t *t);

/* Intents (tsm_store.c, where their protocol is told). */
int tsm_intent_put(tsm_t *t, const char *id, const char *kind, json_int_t step, json_t *body);
void tsm_intent_del(tsm_t *t, const char *id);
/* The virtual time the intent was written; -1 if there is none. */
int64_t tsm_intent_at(tsm_t *t, const char *id);
/* Requests whose intent is still pending: their sessions' devices, or
 * hold:HOLDER; tsm_in_flight says whether id is one. */
json_t *tsm_in_flight_list(tsm_t *t);
int tsm_in_flight(json_t *flying, const char *id);

/* The rng state, saved in the committing transaction, loaded at open. */
void tsm_rng_save(tsm_t *t);
void tsm_rng_load(tsm_t *t);

/* ---- SCP03 host sessions, by session id (tsm_script.c) */

scp03_session_t *tsm_scp_find(tsm_t *t, const char *id);
void tsm_scp_drop(tsm_t *t, const char *id);
void tsm_scp_free_all(tsm_t *t); /* tsm_close */
scp03_session_t *tsm_scp_new(tsm_t *t, const char *id);
/* The answers to the script in flight, each wrapped command's checked
 * (R-MAC, R-ENC decrypted) against its own command, in order: a new
 * array of plain answers (data ‖ SW hex), or NULL when one was altered on
 * the way (*bad: its index).  The script's references are dropped. */
json_t *tsm_scp_check(tsm_t *t, const char *id, json_t *ops, json_t *rsps, size_t *bad);

/* ---- the SEs' key sets (tsm_keys.c): the device's ISD key set, derived
 * from the master by its identity (20 hex digits, the KDD) and stored
 * (table se_keys) at first contact; the one set without diversification. */
int tsm_se_keys(tsm_t *t, const char *device, scp03_keyset_t *out);
/* The device's SSD key set (se_model = ssd): the SP's master diversified
 * by the KDD, stored as "ssd/DEVICE". */
int tsm_ssd_keys(tsm_t *t, const char *device, scp03_keyset_t *out);

/* ---- scripts (tsm_script.c): each command appended to sc with the
 * name of what it does (op), checked on its answer. */

void tsm_sc_raw(script_t *sc, const uint8_t *cmd, size_t n, const char *op);
void tsm_sc_cmd(script_t *sc, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d, size_t lc,
		const char *op);
size_t tsm_hexb(const char *hex, uint8_t *out);
void tsm_sc_dgi(script_t *sc, uint16_t dgi, const uint8_t *v, size_t n, const char *op);
void tsm_sc_inventory(script_t *sc);

/* ---- sessions (tsm_session.c) */

const char *tsm_policy_get(json_t *sess, const char *k, const char *def);
json_t *tsm_facts_obj(sess_t *x, const char *k);
int tsm_slot_state(sess_t *x, int s);
void tsm_fail_session(sess_t *x, int status, const char *field, const char *msg);
/* The device's phone certificates at the CA, revoked. */
int tsm_revoke_serials(sess_t *x, json_t *dev, int which_mask, int reason);
/* One phone per holder: the holder's other devices revoked (superseded). */
int tsm_one_phone(sess_t *x);
int tsm_transfer(sess_t *x);
int tsm_sess_prepare(sess_t *x);
/* The responses to the last script: 1 when the secure channel must be
 * opened again, 0 when all went as planned, -1 on a failed session. */
int tsm_absorb_apdus(sess_t *x, json_t *rsps);
/* The signatures asked for (card_sign). */
int tsm_absorb_sigs(sess_t *x, json_t *sigs, json_t *signer_j);

/* ---- se_model = ssd (tsm_ssd.c): the SP's own SSD, the issuer's TSM for
 * the rest */

int tsm_ssd_on(sess_t *x);
/* policy.se_model's value refused (400), or ssd without an issuer (503). */
int tsm_ssd_policy_check(tsm_t *t, json_t *policy, json_t **out);
/* SELECT of the SP's SSD into the opening script (op "sel_ssd"). */
void tsm_ssd_select(sess_t *x, script_t *sc);
/* No SSD on the SE (fact no_ssd): the issuer's next script as *action
 * (1), nothing to relay (0: open the SSD's channel), -1 failed. */
int tsm_ssd_create(sess_t *x, json_t **action);
/* The answers to an issuer's script (ops "iss"), handed to the issuer. */
int tsm_ssd_absorb(sess_t *x, json_t *rsps);
/* INSTALL [for load] + LOAD, INSTALL [for install], DELETE with tokens. */
void tsm_ssd_load(sess_t *x, script_t *sc);
void tsm_ssd_install(sess_t *x, script_t *sc);
void tsm_ssd_delete(sess_t *x, script_t *sc);
/* A 9000 answer of op: its receipt to the issuer (lfdb, install,
 * delete); 0, or -1 with the session failed. */
int tsm_ssd_receipt(sess_t *x, const char *op, const uint8_t *r, size_t rn);

/* ---- planning (tsm_plan.c): the session's next action, or NULL when
 * it failed (x->status 400: a refused request, nothing to commit). */

json_t *tsm_plan(sess_t *x);
/* A session failed after its certification: the certificates it had
 * issued revoked at the CA (cessationOfOperation), the registry following
 * (tsm_plan.c). */
int tsm_uncertify(sess_t *x);

/* ---- linked revocation (tsm.c): the registry follows the CA's status
 * of every live device (or only that one), holding the phone's
 * certificates behind an intent when the card's sign certificate is on
 * hold.  -1 when the request "died" (tsm_fault). */
int tsm_reconcile(tsm_t *t, const char *only);

/* ---- endpoints (tsm_ops.c), routed by tsm_handle */

int tsm_h_begin(tsm_t *t, json_t *b, json_t **out);
int tsm_h_step(tsm_t *t, const char *id, json_t *b, json_t **out);
int tsm_h_hold(tsm_t *t, json_t *b, json_t **out);
int tsm_h_check(tsm_t *t, json_t **out);
int tsm_h_events(tsm_t *t, json_t **out);
/* The platform broker (tsm_platform.c): /v1/tsm/platform/... */
int tsm_h_platform(tsm_t *t, int n, char seg[][96], json_t *b, json_t **out);
/* Undo a platform service's request from its intent (tsm_platform.c): its
 * certificates revoked, the device's record following, the intent gone;
 * -1 when the CA could not be reached (the intent stays). */
int tsm_platform_undo(tsm_t *t, const char *id, json_t *body);

#endif
