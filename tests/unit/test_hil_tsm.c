/* test_hil_tsm.c — the TSM's JSON API in process (tsm_world): refusals
 * name their field, a session's first script opens SCP03 on the ISD, a
 * step posted twice gets the same answer, a stale step is refused, the
 * call centre's hold of an unknown holder is a 404, and the records
 * persist across a reopen of the same --db. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hil/tsm_world.h"

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

static void test_refusals(void **state)
{
	tsm_world_t *w;
	tsm_world_opts_t o = { 0 };
	char err[256];
	json_t *j;
	(void)state;

	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
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

/* The card serial of a fixture holder (alice's sign certificate). */
static char *alice_sign(tsm_world_t *w)
{
	json_t *j, *c;
	size_t i;
	char *s = NULL;

	assert_int_equal(call(w, "GET", "/v1/holders/alice/certs", NULL, &j), 200);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_session_steps_and_persistence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
