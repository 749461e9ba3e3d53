/* test_hil_tsm.c — the TSM's JSON API in process (tsm_world): refusals
 * name their field, a session's first script opens SCP03 on the ISD, a
 * step posted twice gets the same answer, a stale step is refused, the
 * call centre's hold of an unknown holder is a 404, and the records
 * persist across a reopen of the same --db.  The route table serves the
 * CA under /ca only, and takes a POST only as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "hil/svc/tsm_world.h"

static int call(tsm_world_t *w, const char *method, const char *path, const char *body, json_t **out)
{
	http_rsp_t rsp = { 0 };

	tsm_world_call(w, method, path, (const uint8_t *)body, body ? strlen(body) : 0, &rsp);
	*out = json_loadb((const char *)rsp.body, rsp.len, 0, NULL);
	free(rsp.body);
	return rsp.status;
}

static void expect_field(tsm_world_t *w, const char *body, int status, const char *field)
{
	json_t *o;

	assert_int_equal(call(w, "POST", "/v1/tsm/sessions", body, &o), status);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "field")), field);
	json_decref(o);
}

/* A world in memory, seed 0. */
static tsm_world_t *memory_world(void)
{
	tsm_world_t *w;
	tsm_world_opts_t o = { 0 };
	char err[256];

	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	return w;
}

static void test_refusals(void **state)
{
	tsm_world_t *w = memory_world();
	json_t *j;
	(void)state;

	expect_field(w, "{\"op\":\"fly\"}", 400, "op");
	expect_field(w, "{\"op\":\"issue\"}", 400, "card_serial");
	expect_field(w, "{\"op\":\"issue\",\"card_serial\":\"0102\",\"extra\":1}", 400, "extra");
	expect_field(w, "{\"op\":\"issue\",\"card_serial\":\"7FFFFFFF\"}", 404, "card_serial");
	expect_field(w, "{\"op\":\"pin_reset\",\"card_serial\":\"01\"}", 400, "slot");
	expect_field(w, "{\"op\":\"revoke\",\"card_serial\":\"01\",\"remote\":true}", 400, "remote");
	expect_field(w, "{\"op\":\"revoke\",\"card_serial\":\"01\",\"reason\":\"bored\"}", 400, "reason");
	expect_field(w, "{\"op\":\"issue\",\"card_serial\":\"01\",\"pins\":3}", 400, "pins");
	expect_field(w, "[1]", 400, "body");
	assert_int_equal(call(w, "POST", "/v1/tsm/sessions/S1/steps", "{\"step\":1}", &j), 404);
	json_decref(j);
	assert_int_equal(call(w, "POST", "/v1/tsm/callcenter/hold", "{\"holder\":\"nobody\"}", &j), 404);
	json_decref(j);
	assert_int_equal(call(w, "GET", "/v1/tsm/nothing", NULL, &j), 404);
	json_decref(j);
	tsm_world_close(w);
}

/* One request through the world's route table with a Content-Type of
 * our choosing (tsm_world_call always says JSON). */
static int route_as(tsm_world_t *w, const char *method, const char *path, const char *ctype, const char *body)
{
	size_t nr;
	const http_route_t *r = tsm_world_routes(&nr);
	http_req_t req = { .method = method, .path = path, .content_type = ctype,
			   .body = (const uint8_t *)body, .body_len = strlen(body) };
	http_rsp_t rsp = { 0 };

	http_route(r, nr, w, &req, &rsp);
	free(rsp.body);
	return rsp.status;
}

/* The certificate's status at the world's CA. */
static void expect_status(tsm_world_t *w, const char *serial, const char *status)
{
	char path[64];
	json_t *j;

	snprintf(path, sizeof path, "/ca/v1/certs/%s", serial);
	assert_int_equal(call(w, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), status);
	json_decref(j);
}

/* The CA's routes are the TSM world's only under /ca: a client of the
 * TSM does not revoke a certificate by mistake. */
static void test_ca_under_prefix(void **state)
{
	tsm_world_t *w = memory_world();
	json_t *j;
	(void)state;

	assert_int_equal(call(w, "GET", "/v1/certs/0700A001", NULL, &j), 404);
	json_decref(j);
	assert_int_equal(call(w, "GET", "/crl/auth.crl", NULL, &j), 404);
	json_decref(j);
	assert_int_equal(call(w, "POST", "/v1/certs/0700A001/revoke", "{}", &j), 404);
	json_decref(j);
	expect_status(w, "0700A001", "valid");
	assert_int_equal(call(w, "GET", "/ca/v1/clock", NULL, &j), 200);
	json_decref(j);
	tsm_world_close(w);
}

/* A POST a web page could send (text/plain, a form, no Content-Type) is
 * refused before its handler runs: 415, and nothing changed. */
static void test_post_needs_json(void **state)
{
	tsm_world_t *w = memory_world();
	(void)state;

	assert_int_equal(route_as(w, "POST", "/ca/v1/certs/0700A001/revoke", "text/plain", "{}"), 415);
	assert_int_equal(route_as(w, "POST", "/ca/v1/certs/0700A001/hold", "application/x-www-form-urlencoded", ""), 415);
	assert_int_equal(route_as(w, "POST", "/ca/v1/certs/0700A001/hold", NULL, ""), 415);
	assert_int_equal(route_as(w, "POST", "/ca/v1/certs/0700A001/hold", "application/jsonx", ""), 415);
	assert_int_equal(route_as(w, "POST", "/v1/tsm/callcenter/hold", "text/plain", "{\"holder\":\"alice\"}"), 415);
	assert_int_equal(route_as(w, "POST", "/ca/ocsp", HTTP_JSON, "x"), 415);
	expect_status(w, "0700A001", "valid");
	assert_int_equal(route_as(w, "POST", "/ca/v1/certs/0700A001/hold", "Application/JSON; charset=utf-8", ""), 200);
	expect_status(w, "0700A001", "hold");
	tsm_world_close(w);
}

/* The card serial of a fixture holder (alice's sign certificate). */
static char *alice_sign(tsm_world_t *w)
{
	json_t *j, *c;
	size_t i;
	char *s = NULL;

	assert_int_equal(call(w, "GET", "/ca/v1/holders/alice/certs", NULL, &j), 200);
	json_array_foreach(json_object_get(j, "certs"), i, c) {
		if (!strcmp(json_string_value(json_object_get(c, "purpose")), "sign"))
			s = strdup(json_string_value(json_object_get(c, "serial")));
	}
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void test_session_steps_and_persistence(void **state)
{
	char db[] = "/tmp/test_hil_tsm_XXXXXX", err[256], body[256], path[128], cadb[64];
	tsm_world_opts_t o = { .db = db };
	tsm_world_t *w;
	json_t *a, *b;
	char *serial, *sid;
	int fd = mkstemp(db);
	(void)state;

	assert_true(fd >= 0);
	close(fd);
	unlink(db);
	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	serial = alice_sign(w);
	snprintf(body, sizeof body, "{\"op\":\"issue\",\"card_serial\":\"%s\"}", serial);
	assert_int_equal(call(w, "POST", "/v1/tsm/sessions", body, &a), 201);
	/* The first script: SELECT ISD, GET DATA CPLC, INITIALIZE UPDATE KVN 30. */
	assert_string_equal(json_string_value(json_object_get(a, "action")), "apdus");
	assert_int_equal(json_array_size(json_object_get(a, "apdus")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "apdus"), 0)),
			    "00A4040008A00000015100000000");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "apdus"), 1)), "80CA9F7F00");
	assert_memory_equal(json_string_value(json_array_get(json_object_get(a, "apdus"), 2)), "8050300008", 10);
	sid = strdup(json_string_value(json_object_get(a, "session")));
	json_decref(a);
	/* An SE that gives no CPLC cannot be registered: the session fails
	 * (422, naming the responses). */
	snprintf(path, sizeof path, "/v1/tsm/sessions/%s/steps", sid);
	assert_int_equal(call(w, "POST", path, "{\"step\":1,\"responses\":[\"6A82\",\"6A88\",\"6A88\"]}", &a), 422);
	json_decref(a);
	/* The session failed (no CPLC): the same step again answers the same. */
	assert_int_equal(call(w, "POST", path, "{\"step\":1,\"responses\":[]}", &a), 200);
	assert_string_equal(json_string_value(json_object_get(a, "action")), "failed");
	json_decref(a);
	assert_int_equal(call(w, "POST", path, "{\"step\":5}", &a), 409);
	assert_string_equal(json_string_value(json_object_get(a, "field")), "step");
	json_decref(a);
	tsm_world_close(w);

	/* Reopened: the session is still there, failed, with its error. */
	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	snprintf(path, sizeof path, "/v1/tsm/sessions/%s", sid);
	assert_int_equal(call(w, "GET", path, NULL, &b), 200);
	assert_string_equal(json_string_value(json_object_get(b, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(b, "op")), "issue");
	json_decref(b);
	tsm_world_close(w);
	free(serial);
	free(sid);
	unlink(db);
	snprintf(cadb, sizeof cadb, "%s.ca", db);
	unlink(cadb);
	snprintf(path, sizeof path, "%s-wal", cadb);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", cadb);
	unlink(path);
	snprintf(path, sizeof path, "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", db);
	unlink(path);
}

static void rm_db(const char *db)
{
	static const char *const sfx[] = { "", "-wal", "-shm", ".ca", ".ca-wal", ".ca-shm" };
	char p[128];

	for (size_t i = 0; i < 6; i++) {
		snprintf(p, sizeof p, "%s%s", db, sfx[i]);
		unlink(p);
	}
}

static char *cert_of(tsm_world_t *w, const char *purpose)
{
	json_t *j, *c;
	size_t i;
	char *s = NULL;

	assert_int_equal(call(w, "GET", "/ca/v1/holders/alice/certs", NULL, &j), 200);
	json_array_foreach(json_object_get(j, "certs"), i, c) {
		if (!strcmp(json_string_value(json_object_get(c, "purpose")), purpose))
			s = strdup(json_string_value(json_object_get(c, "serial")));
	}
	json_decref(j);
	assert_non_null(s);
	return s;
}

/* A crash between the write-ahead intent and the CA's commit (before), and
 * between the CA's commit and the TSM's (after): the request dies, the
 * reopened TSM finishes it from its intent with no client retrying, and
 * the registry and the CA agree with nothing in flight.  The call-centre
 * hold of a device put in the registry by hand (its auth_serial is
 * alice's auth card certificate, so that no SE is needed). */
static void crash_case(int before)
{
	char db[] = "/tmp/test_hil_tsm_XXXXXX", err[256], doc[256], path[128];
	tsm_world_opts_t o = { .db = db };
	tsm_world_t *w;
	sqlite3 *h;
	json_t *j;
	char *auth;
	int fd = mkstemp(db);

	assert_true(fd >= 0);
	close(fd);
	unlink(db);
	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	auth = cert_of(w, "auth");
	tsm_world_close(w);
	snprintf(doc, sizeof doc,
		 "{\"id\":\"D1\",\"holder\":\"alice\",\"status\":\"active\",\"auth_serial\":\"%s\"}", auth);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	{
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO devices(id, key, doc) VALUES ('D1', 'alice', ?)", -1,
						    &st, NULL), SQLITE_OK);
		sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);

	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	tsm_fault(w->tsm, 1, before);
	assert_int_equal(call(w, "POST", "/v1/tsm/callcenter/hold", "{\"holder\":\"alice\"}", &j), 500);
	json_decref(j);
	/* As the crash left it: the registry says active; the CA says hold
	 * (after) or valid (before); the intent names the request. */
	assert_int_equal(call(w, "GET", "/v1/tsm/devices/D1", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "active");
	json_decref(j);
	snprintf(path, sizeof path, "/ca/v1/certs/%s", auth);
	assert_int_equal(call(w, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), before ? "valid" : "hold");
	json_decref(j);
	assert_int_equal(call(w, "GET", "/v1/tsm/check", NULL, &j), 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "in_flight"), 0)), "hold:alice");
	json_decref(j);
	tsm_world_close(w);

	/* Restarted: finished by the TSM itself. */
	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	assert_int_equal(call(w, "GET", "/v1/tsm/devices/D1", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "hold");
	json_decref(j);
	assert_int_equal(call(w, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "hold");
	json_decref(j);
	assert_int_equal(call(w, "GET", "/v1/tsm/check", NULL, &j), 200);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_array_size(json_object_get(j, "in_flight")), 0);
	json_decref(j);
	/* Holding again: nothing left to hold (404), no intent left behind. */
	assert_int_equal(call(w, "POST", "/v1/tsm/callcenter/hold", "{\"holder\":\"alice\"}", &j), 404);
	json_decref(j);
	assert_int_equal(tsm_recover(w->tsm), 0);
	tsm_world_close(w);
	free(auth);
	rm_db(db);
}

static void test_crash_before_ca(void **state)
{
	(void)state;
	crash_case(1);
}

static void test_crash_after_ca(void **state)
{
	(void)state;
	crash_case(0);
}

/* The TSM's random stream goes on across a reopen: the first script of a
 * session after the restart has another host challenge than the first
 * one before it (same seed). */
static void test_rng_continues(void **state)
{
	char db[] = "/tmp/test_hil_tsm_XXXXXX", err[256], body[256];
	tsm_world_opts_t o = { .db = db };
	tsm_world_t *w;
	json_t *a;
	char *serial, *iu1;
	int fd = mkstemp(db);
	(void)state;

	assert_true(fd >= 0);
	close(fd);
	unlink(db);
	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	serial = alice_sign(w);
	snprintf(body, sizeof body, "{\"op\":\"issue\",\"card_serial\":\"%s\"}", serial);
	assert_int_equal(call(w, "POST", "/v1/tsm/sessions", body, &a), 201);
	iu1 = strdup(json_string_value(json_array_get(json_object_get(a, "apdus"), 2)));
	json_decref(a);
	tsm_world_close(w);
	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	assert_int_equal(call(w, "POST", "/v1/tsm/sessions", body, &a), 201);
	assert_string_not_equal(json_string_value(json_array_get(json_object_get(a, "apdus"), 2)), iu1);
	json_decref(a);
	tsm_world_close(w);
	free(iu1);
	free(serial);
	rm_db(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ca_under_prefix),
		cmocka_unit_test(test_post_needs_json),
		cmocka_unit_test(test_session_steps_and_persistence),
		cmocka_unit_test(test_crash_before_ca),
		cmocka_unit_test(test_crash_after_ca),
		cmocka_unit_test(test_rng_continues),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
