/* test_reports.c — the report writers and the scenario JSON.
 *
 * One run with a pass, a fail, an error, a skip and a second pass, whose
 * texts carry every character that breaks a naive writer: XML specials,
 * quotes, a control character, an invalid UTF-8 byte and Japanese. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/results.h"

#define SEED 0xDEADBEEFCAFEF00DULL /* above 2^63: proves the seed is exact */
#define SEED_DEC "16045690984503111693"
#define JP "署名用電子証明書"
/* XML specials, quotes, a control char (0x01), Japanese. */
#define NASTY "got 6982 & <want> \"9000\" 'x'\x01 " JP

static char *xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	assert_true(!s || d);
	return d;
}

static void set_scenario(res_scenario_t *s, const char *id, const char *file,
			 const char *title, res_status_t st, const char *reason)
{
	s->id = xstrdup(id);
	s->file = xstrdup(file);
	s->title = xstrdup(title);
	s->status = st;
	s->reason = xstrdup(reason);
}

static void add_tags(res_scenario_t *s, const char *a, const char *b)
{
	s->tags = calloc(2, sizeof *s->tags);
	assert_non_null(s->tags);
	s->tags[0] = xstrdup(a);
	s->tags[1] = xstrdup(b);
	s->ntags = 2;
}

/* Cases 6 and 8, two operations, two switches in effect. */
static void add_domain(res_scenario_t *s)
{
	s->cases = calloc(2, sizeof *s->cases);
	s->ops = calloc(2, sizeof *s->ops);
	s->pol_keys = calloc(2, sizeof *s->pol_keys);
	s->pol_vals = calloc(2, sizeof *s->pol_vals);
	assert_true(s->cases && s->ops && s->pol_keys && s->pol_vals);
	s->cases[0] = 6;
	s->cases[1] = 8;
	s->ncases = 2;
	s->ops[0] = xstrdup("revoke");
	s->ops[1] = xstrdup("suspend_resume");
	s->nops = 2;
	s->pol_keys[0] = xstrdup("revoke_without_card");
	s->pol_vals[0] = xstrdup("true");
	s->pol_keys[1] = xstrdup("half_valid");
	s->pol_vals[1] = xstrdup("erase_revoked");
	s->npol = 2;
}

/* 2 pass, 1 fail, 1 error, 1 skip; ms_base shifts every duration. */
static void build_run(res_run_t *r, double ms_base)
{
	res_scenario_t *s;

	memset(r, 0, sizeof *r);
	r->seed = SEED;
	r->target = xstrdup("card=sim:card");
	r->n = 5;
	r->sc = calloc(r->n, sizeof *r->sc);
	assert_non_null(r->sc);
	r->ms = 1234.5 + ms_base;

	s = &r->sc[0];
	set_scenario(s, "CARD-01", "scenarios/card/01_select.lua", "select JPKI AP",
		     RES_PASS, NULL);
	add_tags(s, "card", "smoke");
	assert_int_equal(res_add_expect(s, "scenarios/card/01_select.lua", 5, 1,
					"sw == 9000", NULL), 0);
	s->apdus = 3;
	s->ms = 12.5 + ms_base;

	s = &r->sc[1];
	set_scenario(s, "CARD-02", "./scenarios/card/02_verify.lua",
		     "verify <sign> & \"auth\" 'pins'", RES_FAIL, NULL);
	assert_int_equal(res_add_expect(s, "scenarios/card/02_verify.lua", 9, 1,
					"sw == 9000", NULL), 0);
	assert_int_equal(res_add_expect(s, "scenarios/card/02_verify.lua", 14, 0,
					"sw == 9000", NASTY), 0);
	assert_int_equal(res_add_expect(s, "scenarios/card/02_verify.lua", 20, 0,
					"tries == 2", "got 1\xff"), 0);
	s->apdus = 7;
	s->log = xstrdup("line1\nline2 <b>\x02 " JP);
	add_domain(s);
	s->ms = 40.25 + ms_base;

	s = &r->sc[2];
	set_scenario(s, "CARD-03", "scenarios/card/03_sign.lua", "sign # hash",
		     RES_ERROR, "scenarios/card/03_sign.lua:7: attempt to index nil");
	s->ms = 1.0 + ms_base;

	s = &r->sc[3];
	set_scenario(s, "LC-01", "scenarios/lifecycle/01_issue.lua", "issue",
		     RES_SKIP, "needs sim: tear");
	s->ms = 0.0 + ms_base;

	s = &r->sc[4];
	set_scenario(s, "LC-02", "scenarios/lifecycle/02_renew.lua", "renew",
		     RES_PASS, NULL);
	s->ms = 99.125 + ms_base;
}

/* Renders with w into a malloc'd string. */
static char *render(const report_writer_t *w, const res_run_t *run)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(w->write(f, run), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len); /* no NUL sneaked in */
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

#define assert_contains(hay, needle)                                          \
	do {                                                                  \
		if (!strstr((hay), (needle)))                                 \
			fail_msg("missing: %s\n--- in:\n%s", (needle), (hay)); \
	} while (0)

#define assert_prefix(s, lit)                                                 \
	do {                                                                  \
		if (strncmp((s), (lit), strlen(lit)) != 0)                    \
			fail_msg("does not start with: %s\n--- got:\n%s", (lit), (s)); \
	} while (0)

#define assert_suffix(s, lit)                                                 \
	do {                                                                  \
		size_t n_ = strlen(s), k_ = strlen(lit);                      \
		if (n_ < k_ || strcmp((s) + n_ - k_, (lit)) != 0)             \
			fail_msg("does not end with: %s\n--- got:\n%s", (lit), (s)); \
	} while (0)

/* --- results.c ------------------------------------------------------- */

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(res_status_name(RES_PASS), "pass");
	assert_string_equal(res_status_name(RES_FAIL), "fail");
	assert_string_equal(res_status_name(RES_SKIP), "skip");
	assert_string_equal(res_status_name(RES_ERROR), "error");
	assert_string_equal(res_status_name((res_status_t)42), "unknown");
}

static void test_clear_leaves_zeroed(void **state)
{
	res_run_t r, zero;

	(void)state;
	memset(&zero, 0, sizeof zero);
	build_run(&r, 0);
	res_run_clear(&r);
	assert_memory_equal(&r, &zero, sizeof r);
	res_run_clear(&r); /* twice is harmless */
}

static void assert_scenario_equal(const res_scenario_t *a, const res_scenario_t *b)
{
	size_t i;

#define STR_EQ(x, y) do { if ((x) || (y)) { assert_non_null(x); assert_non_null(y); assert_string_equal(x, y); } } while (0)
	STR_EQ(a->id, b->id);
	STR_EQ(a->file, b->file);
	STR_EQ(a->title, b->title);
	assert_int_equal(a->ntags, b->ntags);
	for (i = 0; i < a->ntags; i++)
		STR_EQ(a->tags[i], b->tags[i]);
	assert_int_equal(a->status, b->status);
	STR_EQ(a->reason, b->reason);
	assert_int_equal(a->nexpects, b->nexpects);
	for (i = 0; i < a->nexpects; i++) {
		STR_EQ(a->expects[i].file, b->expects[i].file);
		assert_int_equal(a->expects[i].line, b->expects[i].line);
		assert_int_equal(a->expects[i].ok, b->expects[i].ok);
		STR_EQ(a->expects[i].what, b->expects[i].what);
		STR_EQ(a->expects[i].msg, b->expects[i].msg);
	}
	assert_true(a->apdus == b->apdus);
	STR_EQ(a->log, b->log);
	assert_int_equal(a->ncases, b->ncases);
	for (i = 0; i < a->ncases; i++)
		assert_int_equal(a->cases[i], b->cases[i]);
	assert_int_equal(a->nops, b->nops);
	for (i = 0; i < a->nops; i++)
		STR_EQ(a->ops[i], b->ops[i]);
	assert_int_equal(a->npol, b->npol); /* in the order of docs/domain.md, not sorted */
	for (i = 0; i < a->npol; i++) {
		STR_EQ(a->pol_keys[i], b->pol_keys[i]);
		STR_EQ(a->pol_vals[i], b->pol_vals[i]);
	}
	/* Exact, not approximate: the runner must see what the child saw. */
	assert_memory_equal(&a->ms, &b->ms, sizeof a->ms);
#undef STR_EQ
}

static void test_json_round_trip(void **state)
{
	res_run_t r;
	size_t i;

	(void)state;
	build_run(&r, 0);
	/* Values that only survive with full precision and 64 bits. */
	r.sc[0].ms = 0.1 + 0.2;
	r.sc[0].apdus = (1ULL << 53) + 1;
	r.sc[1].expects[1].line = -3;
	/* sc[1] has an invalid UTF-8 byte, which JSON cannot carry: tested
	 * apart below.  The others must come back field by field. */
	free(r.sc[1].expects[2].msg);
	r.sc[1].expects[2].msg = xstrdup("got 1");
	for (i = 0; i < r.n; i++) {
		res_scenario_t back;
		char *js = res_scenario_to_json(&r.sc[i]);

		assert_non_null(js);
		memset(&back, 0xA5, sizeof back); /* from_json must not read it */
		assert_int_equal(res_scenario_from_json(&back, js, strlen(js)), 0);
		assert_scenario_equal(&r.sc[i], &back);
		res_scenario_clear(&back);
		free(js);
	}
	res_run_clear(&r);
}

static void test_json_round_trip_nulls_and_nan(void **state)
{
	res_scenario_t s, back;
	char *js;

	(void)state;
	memset(&s, 0, sizeof s);
	s.status = RES_SKIP;
	s.ms = NAN;
	assert_int_equal(res_add_expect(&s, NULL, 0, 0, NULL, NULL), 0);
	js = res_scenario_to_json(&s);
	assert_non_null(js);
	assert_int_equal(res_scenario_from_json(&back, js, strlen(js)), 0);
	assert_null(back.id);
	assert_null(back.title);
	assert_null(back.log);
	assert_int_equal(back.nexpects, 1);
	assert_null(back.expects[0].file);
	assert_null(back.expects[0].what);
	assert_true(isnan(back.ms));
	res_scenario_clear(&back);
	res_scenario_clear(&s);
	free(js);
}

static void test_json_invalid_utf8_replaced(void **state)
{
	res_scenario_t s, back;
	char *js;

	(void)state;
	memset(&s, 0, sizeof s);
	s.status = RES_FAIL;
	s.log = xstrdup("ok \xff\xfe " JP);
	js = res_scenario_to_json(&s);
	assert_non_null(js); /* one bad byte must not lose the result */
	assert_int_equal(res_scenario_from_json(&back, js, strlen(js)), 0);
	assert_string_equal(back.log, "ok \xEF\xBF\xBD\xEF\xBF\xBD " JP);
	res_scenario_clear(&back);
	res_scenario_clear(&s);
	free(js);
}

static void test_to_json_rejects_bad_status(void **state)
{
	res_scenario_t s;

	(void)state;
	memset(&s, 0, sizeof s);
	s.status = (res_status_t)9;
	assert_null(res_scenario_to_json(&s));
}

static void test_from_json_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"\"pass\"",
		"{}", /* no status */
		"{\"status\":\"pass\"} trailing",
		"{\"status\":\"bogus\"}",
		"{\"status\":1}",
		"{\"status\":\"pass\",\"status\":\"fail\"}",
		"{\"id\":1,\"status\":\"pass\"}",
		"{\"id\":\"a\\u0000b\",\"status\":\"pass\"}",
		"{\"status\":\"pass\",\"title\":[]}",
		"{\"status\":\"pass\",\"tags\":\"a\"}",
		"{\"status\":\"pass\",\"tags\":[\"a\",2]}",
		"{\"status\":\"pass\",\"apdus\":-1}",
		"{\"status\":\"pass\",\"apdus\":1.5}",
		"{\"status\":\"pass\",\"apdus\":\"3\"}",
		"{\"status\":\"pass\",\"ms\":\"5\"}",
		"{\"status\":\"pass\",\"log\":5}",
		"{\"status\":\"pass\",\"expects\":{}}",
		"{\"status\":\"pass\",\"expects\":[1]}",
		"{\"status\":\"pass\",\"expects\":[{\"ok\":true}]}",
		"{\"status\":\"pass\",\"expects\":[{\"line\":\"1\",\"ok\":true}]}",
		"{\"status\":\"pass\",\"expects\":[{\"line\":1,\"ok\":1}]}",
		"{\"status\":\"pass\",\"expects\":[{\"line\":99999999999,\"ok\":true}]}",
		"{\"status\":\"pass\",\"expects\":[{\"line\":1,\"ok\":true,\"msg\":7}]}",
		/* Fails late, after strings, tags and an expect were copied:
		 * under ASan this proves the partial result is freed. */
		"{\"id\":\"x\",\"file\":\"f\",\"title\":\"t\",\"tags\":[\"a\",\"b\"],"
		"\"status\":\"fail\",\"reason\":\"r\",\"apdus\":2,\"expects\":["
		"{\"file\":\"f\",\"line\":1,\"ok\":false,\"what\":\"w\",\"msg\":\"m\"},"
		"{\"file\":\"f\",\"line\":2,\"ok\":\"no\"}],\"log\":\"l\"}",
		"{\"id\":\"x\",\"tags\":[\"a\"],\"status\":\"pass\",\"ms\":{}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		res_scenario_t s;

		memset(&s, 0x5A, sizeof s);
		if (res_scenario_from_json(&s, bad[i], strlen(bad[i])) != -1)
			fail_msg("accepted: %s", bad[i]);
		/* Left untouched on failure. */
		assert_true(((unsigned char *)&s)[0] == 0x5A);
		assert_true(((unsigned char *)&s)[sizeof s - 1] == 0x5A);
	}
}

static void test_from_json_minimal_and_len(void **state)
{
	const char *doc = "{\"status\":\"error\",\"reason\":\"boom\"}GARBAGE";
	res_scenario_t s;

	(void)state;
	/* len, not the NUL, ends the document. */
	assert_int_equal(res_scenario_from_json(&s, doc, strlen(doc) - 7), 0);
	assert_int_equal(s.status, RES_ERROR);
	assert_string_equal(s.reason, "boom");
	assert_int_equal(s.nexpects, 0);
	assert_int_equal(s.ntags, 0);
	res_scenario_clear(&s);
	assert_int_equal(res_scenario_from_json(&s, doc, strlen(doc)), -1);
}

/* --- junit.c --------------------------------------------------------- */

/* Every byte XML 1.0 forbids: C0 controls but tab, LF, CR. */
static void assert_no_xml_forbidden(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			fail_msg("control byte 0x%02x in XML", c);
		if (c == 0xFF || c == 0xFE)
			fail_msg("invalid UTF-8 byte 0x%02x in XML", c);
	}
}

static void test_junit(void **state)
{
	res_run_t r;
	char *x;

	(void)state;
	build_run(&r, 0);
	x = render(&report_junit, &r);
	assert_prefix(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	assert_int_equal(count(x, "<testsuites"), 1);
	assert_int_equal(count(x, "<testsuite "), 1);
	assert_contains(x, "<testsuite name=\"mynahil\" tests=\"5\" failures=\"1\" "
			   "errors=\"1\" skipped=\"1\" time=\"1.235\">");
	assert_contains(x, "<properties>\n      <property name=\"seed\" value=\"" SEED_DEC "\"/>");
	assert_int_equal(count(x, "<testcase "), 5);
	assert_int_equal(count(x, "<failure "), 1);
	assert_int_equal(count(x, "<error "), 1);
	assert_int_equal(count(x, "<skipped "), 1);

	assert_contains(x, "<testcase classname=\"scenarios.card\" name=\"CARD-01: select JPKI AP\" "
			   "file=\"scenarios/card/01_select.lua\" time=\"0.013\" assertions=\"1\"/>");
	/* "./" dropped from the classname; specials escaped in the name. */
	assert_contains(x, "<testcase classname=\"scenarios.card\" name=\"CARD-02: verify "
			   "&lt;sign&gt; &amp; &quot;auth&quot; &apos;pins&apos;\" "
			   "file=\"./scenarios/card/02_verify.lua\" time=\"0.040\"");
	/* First failed expect in the message, the control char removed. */
	assert_contains(x, "<failure message=\"scenarios/card/02_verify.lua:14: got 6982 &amp; "
			   "&lt;want&gt; &quot;9000&quot; &apos;x&apos; " JP "\">");
	/* Every failed expect in the body, one per line, the invalid byte
	 * replaced by U+FFFD. */
	assert_contains(x, ">scenarios/card/02_verify.lua:14: sw == 9000: got 6982 &amp; "
			   "&lt;want&gt; &quot;9000&quot; &apos;x&apos; " JP "\n"
			   "scenarios/card/02_verify.lua:20: tries == 2: got 1\xEF\xBF\xBD</failure>");
	assert_contains(x, "<system-out>line1\nline2 &lt;b&gt; " JP "</system-out>");
	/* The case numbers, operations and policy as the testcase's properties. */
	assert_contains(x, "assertions=\"3\">\n      <properties>\n"
			   "        <property name=\"case\" value=\"6\"/>\n"
			   "        <property name=\"case\" value=\"8\"/>\n"
			   "        <property name=\"operation\" value=\"revoke\"/>\n"
			   "        <property name=\"operation\" value=\"suspend_resume\"/>\n"
			   "        <property name=\"policy.revoke_without_card\" value=\"true\"/>\n"
			   "        <property name=\"policy.half_valid\" value=\"erase_revoked\"/>\n"
			   "      </properties>\n      <failure ");
	assert_int_equal(count(x, "<property name=\"case\""), 2);
	assert_contains(x, "<error message=\"scenarios/card/03_sign.lua:7: attempt to index nil\">"
			   "scenarios/card/03_sign.lua:7: attempt to index nil</error>");
	assert_contains(x, "classname=\"scenarios.lifecycle\" name=\"LC-01: issue\"");
	assert_contains(x, "<skipped message=\"needs sim: tear\"/>");
	assert_no_xml_forbidden(x);
	assert_suffix(x, "name=\"LC-02: renew\" file=\"scenarios/lifecycle/02_renew.lua\" "
			 "time=\"0.099\" assertions=\"0\"/>\n  </testsuite>\n</testsuites>\n");
	free(x);
	res_run_clear(&r);
}

static void test_junit_classname_and_attr_breaks(void **state)
{
	res_run_t r;
	char *x;

	(void)state;
	memset(&r, 0, sizeof r);
	r.n = 2;
	r.sc = calloc(2, sizeof *r.sc);
	assert_non_null(r.sc);
	set_scenario(&r.sc[0], "A", "/abs/a/b/c.lua", "t", RES_SKIP, "two\nlines\r\tx");
	set_scenario(&r.sc[1], "B", "top.lua", "t", RES_PASS, NULL);
	x = render(&report_junit, &r);
	assert_contains(x, "classname=\"abs.a.b\"");
	assert_contains(x, "classname=\"mynahil\" name=\"B: t\" file=\"top.lua\"");
	/* A parser would turn raw breaks in an attribute into spaces. */
	assert_contains(x, "<skipped message=\"two&#10;lines&#13;&#9;x\"/>");
	free(x);
	res_run_clear(&r);
}

/* --- tap.c ----------------------------------------------------------- */

static void test_tap(void **state)
{
	res_run_t r;
	char *t;

	(void)state;
	build_run(&r, 0);
	t = render(&report_tap, &r);
	assert_prefix(t, "TAP version 13\n1..5\n");
	assert_contains(t, "# seed " SEED_DEC "\n");
	assert_contains(t, "\nok 1 - CARD-01 select JPKI AP\n");
	assert_contains(t, "\nnot ok 2 - CARD-02 verify <sign> & \"auth\" 'pins'\n  ---\n");
	assert_contains(t, "  failed:\n"
			   "    - file: \"scenarios/card/02_verify.lua\"\n"
			   "      line: 14\n"
			   "      what: \"sw == 9000\"\n"
			   "      message: \"got 6982 & <want> \\\"9000\\\" 'x'\\x01 " JP "\"\n"
			   "    - file: \"scenarios/card/02_verify.lua\"\n"
			   "      line: 20\n"
			   "      what: \"tries == 2\"\n"
			   "      message: \"got 1\\uFFFD\"\n"
			   "  ...\n");
	/* '#' in a description is escaped, or it would start a directive. */
	assert_contains(t, "\nnot ok 3 - CARD-03 sign \\# hash\n  ---\n  severity: error\n");
	assert_contains(t, "  reason: \"scenarios/card/03_sign.lua:7: attempt to index nil\"\n");
	assert_contains(t, "\nok 4 - LC-01 issue # SKIP needs sim: tear\n");
	assert_contains(t, "\nok 5 - LC-02 renew\n");
	/* After the YAML block (which must follow the test line). */
	assert_contains(t, "      message: \"got 1\\uFFFD\"\n  ...\n"
			   "# meta: {cases: [6, 8], operations: [\"revoke\", \"suspend_resume\"], "
			   "policy: {\"revoke_without_card\": \"true\", \"half_valid\": \"erase_revoked\"}}\n"
			   "not ok 3");
	assert_int_equal(count(t, "# meta: "), 1);
	assert_int_equal(count(t, "not ok "), 2);
	assert_int_equal(count(t, "\n  ---\n"), 2);
	assert_null(strchr(t, '\x01'));
	free(t);
	res_run_clear(&r);
}

static void test_tap_empty_run(void **state)
{
	res_run_t r;
	char *t;

	(void)state;
	memset(&r, 0, sizeof r);
	t = render(&report_tap, &r);
	assert_string_equal(t, "TAP version 13\n1..0\n# seed 0\n");
	free(t);
}

/* --- json.c ---------------------------------------------------------- */

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("results.json does not parse: %s (line %d)", err.text, err.line);
	return j;
}

static void assert_int_member(json_t *o, const char *key, json_int_t v)
{
	json_t *m = json_object_get(o, key);

	assert_true(json_is_integer(m));
	assert_int_equal(json_integer_value(m), v);
}

static void test_json_report(void **state)
{
	res_run_t r;
	char *text;
	json_t *root, *sum, *sc, *e, *timing;

	(void)state;
	build_run(&r, 0);
	text = render(&report_json, &r);
	/* Fixed key order, indent 2, trailing newline. */
	assert_prefix(text, "{\n  \"mynahil\": 1,\n  \"seed\": \"" SEED_DEC "\",\n"
			    "  \"target\": \"card=sim:card\",\n  \"summary\": {\n"
			    "    \"passed\": 2,\n    \"failed\": 1,\n    \"skipped\": 1,\n"
			    "    \"errors\": 1,\n    \"total\": 5\n  },\n  \"scenarios\": [\n");
	assert_suffix(text, "\n}\n");
	assert_true(strstr(text, "\"summary\"") < strstr(text, "\"scenarios\"") &&
		    strstr(text, "\"scenarios\"") < strstr(text, "\"timing\""));

	root = parse(text);
	assert_int_member(root, "mynahil", 1);
	assert_string_equal(json_string_value(json_object_get(root, "seed")), SEED_DEC);
	sum = json_object_get(root, "summary");
	assert_int_member(sum, "passed", 2);
	assert_int_member(sum, "failed", 1);
	assert_int_member(sum, "skipped", 1);
	assert_int_member(sum, "errors", 1);
	assert_int_member(sum, "total", 5);

	sc = json_object_get(root, "scenarios");
	assert_int_equal(json_array_size(sc), 5);
	/* Order as given. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(sc, 3), "id")), "LC-01");
	e = json_array_get(sc, 1);
	assert_string_equal(json_string_value(json_object_get(e, "status")), "fail");
	assert_string_equal(json_string_value(json_object_get(e, "file")),
			    "./scenarios/card/02_verify.lua");
	assert_true(json_is_null(json_object_get(e, "reason")));
	assert_int_member(e, "apdus", 7);
	/* Cases, operations and the policy in effect, the policy's keys in
	 * the order given; empty, not absent, where there are none. */
	assert_contains(text, "      \"cases\": [\n        6,\n        8\n      ],\n"
			      "      \"operations\": [\n        \"revoke\",\n        \"suspend_resume\"\n      ],\n"
			      "      \"policy\": {\n        \"revoke_without_card\": \"true\",\n"
			      "        \"half_valid\": \"erase_revoked\"\n      },\n      \"status\": \"fail\"");
	assert_contains(text, "\"cases\": [],\n      \"operations\": [],\n      \"policy\": {},\n");
	/* Nothing volatile, and no log, in a scenario. */
	assert_null(json_object_get(e, "ms"));
	assert_null(json_object_get(e, "log"));
	e = json_array_get(json_object_get(e, "expects"), 1);
	assert_string_equal(json_string_value(json_object_get(e, "file")),
			    "scenarios/card/02_verify.lua");
	assert_int_member(e, "line", 14);
	assert_true(json_is_false(json_object_get(e, "ok")));
	assert_string_equal(json_string_value(json_object_get(e, "what")), "sw == 9000");
	assert_string_equal(json_string_value(json_object_get(e, "msg")), NASTY);
	e = json_array_get(sc, 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "tags"), 1)), "smoke");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sc, 2), "reason")),
			    "scenarios/card/03_sign.lua:7: attempt to index nil");

	timing = json_object_get(root, "timing");
	assert_true(json_number_value(json_object_get(timing, "total_ms")) == 1234.5);
	assert_true(json_number_value(json_object_get(json_object_get(timing, "scenarios"),
						      "LC-02")) == 99.125);
	assert_int_equal(json_object_size(json_object_get(timing, "scenarios")), 5);
	assert_contains(text, "\"CARD-02\": 40.25");
	json_decref(root);
	free(text);
	res_run_clear(&r);
}

/* The text of a results.json with "timing" removed, dumped the same way. */
static char *without_timing(const char *text)
{
	json_t *root = parse(text);
	char *out;

	assert_int_equal(json_object_del(root, "timing"), 0);
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	assert_non_null(out);
	return out;
}

static void test_json_stable_outside_timing(void **state)
{
	res_run_t a, b;
	char *ta, *tb, *ca, *cb;

	(void)state;
	build_run(&a, 0);
	build_run(&b, 3.75); /* same run, other durations */
	ta = render(&report_json, &a);
	tb = render(&report_json, &b);
	assert_string_not_equal(ta, tb); /* the durations are there... */
	ca = without_timing(ta);
	cb = without_timing(tb);
	assert_string_equal(ca, cb);     /* ...and only under "timing" */
	/* Byte-identical up to "timing" in the written text, too. */
	assert_int_equal(strstr(ta, "\"timing\"") - ta, strstr(tb, "\"timing\"") - tb);
	assert_memory_equal(ta, tb, (size_t)(strstr(ta, "\"timing\"") - ta));
	free(ca);
	free(cb);
	free(ta);
	free(tb);
	res_run_clear(&a);
	res_run_clear(&b);
}

/* --- progress.c ------------------------------------------------------ */

static char *run_progress(const res_run_t *r, int tty, int pass_run)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	report_progress_t *p;

	assert_non_null(f);
	p = report_progress_new(f, r->n, tty);
	assert_non_null(p);
	for (i = 0; i < r->n; i++)
		report_progress_one(p, &r->sc[i]);
	report_progress_end(p, pass_run ? r : NULL);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static const char *last_line(const char *s)
{
	const char *end = s + strlen(s) - 1; /* the final '\n' */
	const char *p = end;

	while (p > s && p[-1] != '\n')
		p--;
	return p;
}

static void test_progress_plain(void **state)
{
	res_run_t r;
	char *out;

	(void)state;
	build_run(&r, 0);
	out = run_progress(&r, 0, 1);
	assert_prefix(out, "ok 1 - CARD-01 select JPKI AP\n");
	assert_contains(out, "\nnot ok 2 - CARD-02 verify <sign> & \"auth\" 'pins'\n"
			     "#   scenarios/card/02_verify.lua:14: got 6982 & <want> \"9000\" 'x'\\x01 " JP "\n"
			     "#   scenarios/card/02_verify.lua:20: got 1\xEF\xBF\xBD\n");
	assert_contains(out, "\nnot ok 3 - CARD-03 sign \\# hash\n"
			     "#   scenarios/card/03_sign.lua:7: attempt to index nil\n");
	assert_contains(out, "\nok 4 - LC-01 issue # SKIP needs sim: tear\n");
	assert_contains(out, "\nok 5 - LC-02 renew\n");
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\033'));
	/* An error counts as failed in the line CI reads. */
	assert_string_equal(last_line(out), "2 passed, 2 failed, 1 skipped\n");
	free(out);
	res_run_clear(&r);
}

static void test_progress_tty(void **state)
{
	res_run_t r;
	char *out;

	(void)state;
	build_run(&r, 0);
	out = run_progress(&r, 1, 1);
	assert_prefix(out, "[1/5] 1 passed, 0 failed \xE2\x80\x94 CARD-01\r\033[K");
	/* A failure is printed in full above the rewritten status line. */
	assert_contains(out, "\r\033[Knot ok 2 - CARD-02 verify");
	assert_contains(out, "#   scenarios/card/02_verify.lua:20: got 1\xEF\xBF\xBD\n"
			     "[2/5] 1 passed, 1 failed \xE2\x80\x94 CARD-02");
	assert_contains(out, "\r\033[K[5/5] 2 passed, 2 failed, 1 skipped \xE2\x80\x94 LC-02");
	/* Passes and skips do not scroll. */
	assert_null(strstr(out, "ok 1 -"));
	assert_null(strstr(out, "ok 4 -"));
	/* The status line is erased before the summary, which ends it all. */
	assert_suffix(out, "LC-02\r\033[K2 passed, 2 failed, 1 skipped\n");
	free(out);
	res_run_clear(&r);
}

static void test_progress_counts_without_run(void **state)
{
	res_run_t r;
	char *out;

	(void)state;
	build_run(&r, 0);
	r.n = 4; /* leave the last pass out */
	out = run_progress(&r, 0, 0);
	assert_string_equal(last_line(out), "1 passed, 2 failed, 1 skipped\n");
	free(out);
	r.n = 5;
	res_run_clear(&r);
}

/* --- write.c --------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int failing_write(FILE *f, const res_run_t *run)
{
	(void)run;
	fputs("{ \"half\": ", f);
	errno = ENOSPC;
	return -1;
}

static const report_writer_t failing = {
	.name = "json", .filename = "results.json", .write = failing_write,
};

static void test_write_file(void **state)
{
	char base[] = "/tmp/test_reports.XXXXXX";
	char dir[128], path[160], nested_mid[128], nested_top[128];
	res_run_t r;
	char *want, *got;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(nested_top, sizeof nested_top, "%s/a", base);
	snprintf(nested_mid, sizeof nested_mid, "%s/a/b", base);
	snprintf(dir, sizeof dir, "%s/a/b/out", base);
	snprintf(path, sizeof path, "%s/results.json", dir);
	build_run(&r, 0);

	/* Nested directories are created. */
	assert_int_equal(report_write_file(&report_json, &r, dir), 0);
	want = render(&report_json, &r);
	got = slurp(path);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(entries(dir), 1); /* no temporary left behind */

	/* A writer that dies half way leaves the old report whole, no
	 * temporary, and errno from the writer. */
	errno = 0;
	assert_int_equal(report_write_file(&failing, &r, dir), -1);
	assert_int_equal(errno, ENOSPC);
	got = slurp(path);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(entries(dir), 1);

	/* Overwriting an existing report works. */
	assert_int_equal(report_write_file(&report_junit, &r, dir), 0);
	assert_int_equal(report_write_file(&report_junit, &r, dir), 0);
	assert_int_equal(entries(dir), 2);

	/* A file where the directory should be: an error, as mkdir -p. */
	assert_int_equal(report_write_file(&report_tap, &r, path), -1);
	assert_int_equal(errno, EEXIST);

	free(want);
	res_run_clear(&r);
	snprintf(path, sizeof path, "%s/results.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/junit.xml", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(nested_mid), 0);
	assert_int_equal(rmdir(nested_top), 0);
	assert_int_equal(rmdir(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_clear_leaves_zeroed),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_round_trip_nulls_and_nan),
		cmocka_unit_test(test_json_invalid_utf8_replaced),
		cmocka_unit_test(test_to_json_rejects_bad_status),
		cmocka_unit_test(test_from_json_rejects_malformed),
		cmocka_unit_test(test_from_json_minimal_and_len),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_junit_classname_and_attr_breaks),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_tap_empty_run),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_json_stable_outside_timing),
		cmocka_unit_test(test_progress_plain),
		cmocka_unit_test(test_progress_tty),
		cmocka_unit_test(test_progress_counts_without_run),
		cmocka_unit_test(test_write_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
