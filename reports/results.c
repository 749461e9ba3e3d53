/* results.c — the result structures and their JSON form.
 *
 * The JSON of one scenario is what a scenario process hands to the runner,
 * so it must carry every field exactly (ms and log included) and the
 * reader must survive whatever a crashing or hostile child wrote. */
#include "reports/results.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Private to reports/ (see text.c). */
char *res_utf8_clean(const char *s);
json_t *res_json_text(const char *s);
json_t *res_scenario_json(const res_scenario_t *s, int full);
void res_run_count(const res_run_t *run, size_t count[4]);

void res_scenario_clear(res_scenario_t *s)
{
	size_t i;

	if (!s)
		return;
	free(s->id);
	free(s->file);
	free(s->title);
	for (i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	free(s->reason);
	for (i = 0; i < s->nexpects; i++) {
		free(s->expects[i].file);
		free(s->expects[i].what);
		free(s->expects[i].msg);
	}
	free(s->expects);
	free(s->log);
	free(s->cases);
	for (i = 0; i < s->nops; i++)
		free(s->ops[i]);
	free(s->ops);
	for (i = 0; i < s->npol; i++) {
		free(s->pol_keys[i]);
		free(s->pol_vals[i]);
	}
	free(s->pol_keys);
	free(s->pol_vals);
	memset(s, 0, sizeof *s);
}

void res_run_clear(res_run_t *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		res_scenario_clear(&r->sc[i]);
	free(r->sc);
	free(r->target);
	free(r->version);
	free(r->command);
	free(r->mutation);
	free(r->shard);
	for (i = 0; i < r->nversions; i++) {
		free(r->versions[i].key);
		free(r->versions[i].value);
	}
	free(r->versions);
	for (i = 0; i < r->nroles; i++) {
		free(r->roles[i].role);
		free(r->roles[i].target);
		free(r->roles[i].facts);
	}
	free(r->roles);
	memset(r, 0, sizeof *r);
}

/* Copies src (NULL stays NULL).  Returns 0 or -1 on ENOMEM. */
static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

int res_add_expect(res_scenario_t *s, const char *file, int line, int ok,
		   const char *what, const char *msg)
{
	res_expect_t e = { .line = line, .ok = ok != 0 };
	res_expect_t *v;

	if (s->nexpects >= SIZE_MAX / sizeof *v - 1)
		goto nomem;
	if (dup_opt(&e.file, file) || dup_opt(&e.what, what) ||
	    dup_opt(&e.msg, msg))
		goto nomem;
	/* One realloc per expect: the struct has no capacity field, and
	 * anyone may have built the array by hand, so no growth policy can
	 * be assumed.  Scenarios have tens of expects, not millions. */
	v = realloc(s->expects, (s->nexpects + 1) * sizeof *v);
	if (!v)
		goto nomem;
	v[s->nexpects++] = e;
	s->expects = v;
	return 0;
nomem:
	free(e.file);
	free(e.what);
	free(e.msg);
	errno = ENOMEM;
	return -1;
}

const char *res_expect_where(const res_expect_t *e, char *buf, size_t cap)
{
	if (e->file && !strcmp(e->file, RES_INVARIANT_FILE))
		snprintf(buf, cap, "invariant %d (%s)", e->line, RES_INVARIANT_FILE);
	else
		snprintf(buf, cap, "%s:%d", e->file ? e->file : "?", e->line);
	return buf;
}

static const char *const status_names[] = {
	[RES_PASS] = "pass",
	[RES_FAIL] = "fail",
	[RES_SKIP] = "skip",
	[RES_ERROR] = "error",
};

const char *res_status_name(res_status_t st)
{
	if ((unsigned)st < sizeof status_names / sizeof status_names[0])
		return status_names[st];
	return "unknown";
}

void res_run_count(const res_run_t *run, size_t count[4])
{
	size_t i;

	memset(count, 0, 4 * sizeof count[0]);
	for (i = 0; i < run->n; i++)
		if ((unsigned)run->sc[i].status < 4)
			count[run->sc[i].status]++;
		else
			count[RES_ERROR]++; /* a corrupt status is not a pass */
}

/* A JSON string for s, or null for NULL.  JSON cannot hold invalid UTF-8,
 * so bytes that do not decode become U+FFFD rather than losing the whole
 * document; that is the one place where the round trip is not exact. */
json_t *res_json_text(const char *s)
{
	json_t *j;
	char *clean;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	clean = res_utf8_clean(s);
	if (!clean)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

/* json_object_set_new steals the value even when it fails, and fails on a
 * NULL value, so a chain of these needs no cleanup of its own. */
static int put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

static json_t *expect_json(const res_expect_t *e)
{
	json_t *o = json_object();

	if (put(o, "file", res_json_text(e->file)) ||
	    put(o, "line", json_integer(e->line)) ||
	    put(o, "ok", json_boolean(e->ok)) ||
	    put(o, "what", res_json_text(e->what)) ||
	    put(o, "msg", res_json_text(e->msg))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A JSON array of n strings (tags, operations), or of n integers when
 * v is NULL (case numbers). */
static json_t *list_json(char *const *v, const int *num, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++) {
		if (json_array_append_new(a, v ? res_json_text(v[i]) : json_integer(num[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The policy in effect, keys in the order given (docs/domain.md's). */
static json_t *policy_json(const res_scenario_t *s)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < s->npol; i++) {
		json_t *key = res_json_text(s->pol_keys[i]);

		if (!key || put(o, json_string_value(key), res_json_text(s->pol_vals[i]))) {
			json_decref(key);
			json_decref(o);
			return NULL;
		}
		json_decref(key);
	}
	return o;
}

static json_t *expects_json(const res_scenario_t *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < s->nexpects; i++) {
		if (json_array_append_new(a, expect_json(&s->expects[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* One scenario as a JSON object, keys in a fixed order.  Without full it
 * is the comparable part that results.json shows; with full it also has
 * the log and the duration, for the trip from scenario process to runner.
 * NULL on ENOMEM, on a status out of range, or on an APDU count that a
 * JSON integer cannot hold (a corrupt value; no run gets near 2^63). */
json_t *res_scenario_json(const res_scenario_t *s, int full)
{
	json_t *o;

	if ((unsigned)s->status > RES_ERROR) {
		errno = EINVAL;
		return NULL;
	}
	if (s->apdus > (uint64_t)LLONG_MAX) {
		errno = ERANGE;
		return NULL;
	}
	o = json_object();
	if (put(o, "id", res_json_text(s->id)) ||
	    put(o, "file", res_json_text(s->file)) ||
	    put(o, "title", res_json_text(s->title)) ||
	    put(o, "tags", list_json(s->tags, NULL, s->ntags)) ||
	    put(o, "cases", list_json(NULL, s->cases, s->ncases)) ||
	    put(o, "operations", list_json(s->ops, NULL, s->nops)) ||
	    put(o, "policy", policy_json(s)) ||
	    put(o, "status", json_string(res_status_name(s->status))) ||
	    put(o, "reason", res_json_text(s->reason)) ||
	    put(o, "apdus", json_integer((json_int_t)s->apdus)) ||
	    put(o, "expects", expects_json(s)))
		goto fail;
	/* A duration that is not a number is written as null (JSON has no
	 * NaN) and read back as NaN. */
	if (full && (put(o, "log", res_json_text(s->log)) || put(o, "order", json_integer(s->order)) ||
		     put(o, "ms", isfinite(s->ms) ? json_real(s->ms) : json_null())))
		goto fail;
	return o;
fail:
	json_decref(o);
	errno = ENOMEM;
	return NULL;
}

char *res_scenario_to_json(const res_scenario_t *s)
{
	json_t *o;
	char *out;

	o = res_scenario_json(s, 1);
	if (!o)
		return NULL;
	/* The default real precision (17 digits) makes ms round-trip exactly. */
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!out)
		errno = ENOMEM;
	return out;
}

/* --- reading ------------------------------------------------------------
 * Every getter returns 0 or -1 with errno set (EINVAL for a wrong type,
 * ENOMEM).  A missing key reads as the zero value, so older or hand-made
 * documents stay readable; a present key of the wrong type is an error. */

static int bad(void)
{
	errno = EINVAL;
	return -1;
}

/* A string or null member, borrowed from the document. */
static int get_cstr(const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad();
	*out = json_string_value(v);
	return 0;
}

static int get_str(const json_t *o, const char *key, char **out)
{
	const char *s;

	if (get_cstr(o, key, &s))
		return -1;
	if (dup_opt(out, s)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static int get_status(const json_t *o, res_status_t *out)
{
	const char *name = json_string_value(json_object_get(o, "status"));
	unsigned i;

	if (!name)
		return bad(); /* required: a result without a verdict is none */
	for (i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (res_status_t)i;
			return 0;
		}
	}
	return bad();
}

static int get_apdus(const json_t *o, uint64_t *out)
{
	const json_t *v = json_object_get(o, "apdus");

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad();
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_order(const json_t *o, unsigned *out)
{
	const json_t *v = json_object_get(o, "order");

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
		return bad();
	*out = (unsigned)json_integer_value(v);
	return 0;
}

static int get_ms(const json_t *o, double *out)
{
	const json_t *v = json_object_get(o, "ms");

	*out = 0;
	if (!v)
		return 0;
	if (json_is_null(v)) {
		*out = NAN;
		return 0;
	}
	if (!json_is_number(v))
		return bad();
	*out = json_number_value(v);
	return 0;
}

/* Fills *v with the strings of array key (tags, operations), counting
 * *n up as it goes so that a failure half way leaves t consistent for
 * res_scenario_clear. */
static int get_strings(const json_t *o, const char *key, char ***v, size_t *n)
{
	const json_t *a = json_object_get(o, key);
	size_t i, len;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad();
	len = json_array_size(a);
	if (len == 0)
		return 0;
	*v = calloc(len, sizeof **v);
	if (!*v) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < len; i++) {
		const json_t *e = json_array_get(a, i);

		if (!json_is_string(e) && !json_is_null(e))
			return bad();
		if (dup_opt(&(*v)[i], json_string_value(e))) {
			errno = ENOMEM;
			return -1;
		}
		(*n)++;
	}
	return 0;
}

static int get_cases(const json_t *o, res_scenario_t *t)
{
	const json_t *a = json_object_get(o, "cases");
	size_t i, n;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad();
	if ((n = json_array_size(a)) == 0)
		return 0;
	if (!(t->cases = calloc(n, sizeof *t->cases))) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);

		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
			return bad();
		t->cases[t->ncases++] = (int)json_integer_value(v);
	}
	return 0;
}

/* The policy object, in its document order (the writer's). */
static int get_policy(const json_t *o, res_scenario_t *t)
{
	const json_t *p = json_object_get(o, "policy");
	const char *k;
	json_t *v;
	size_t n;

	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p))
		return bad();
	if ((n = json_object_size(p)) == 0)
		return 0;
	t->pol_keys = calloc(n, sizeof *t->pol_keys);
	t->pol_vals = calloc(n, sizeof *t->pol_vals);
	if (!t->pol_keys || !t->pol_vals) {
		errno = ENOMEM;
		return -1;
	}
	json_object_foreach((json_t *)p, k, v) {
		if (!json_is_string(v))
			return bad();
		if (t->npol == n)
			break;
		if (dup_opt(&t->pol_keys[t->npol], k) || dup_opt(&t->pol_vals[t->npol], json_string_value(v))) {
			free(t->pol_keys[t->npol]);
			t->pol_keys[t->npol] = NULL;
			errno = ENOMEM;
			return -1;
		}
		t->npol++;
	}
	return 0;
}

static int get_expect(const json_t *e, res_scenario_t *t)
{
	const json_t *line = json_object_get(e, "line");
	const json_t *ok = json_object_get(e, "ok");
	const char *file, *what, *msg;

	if (!json_is_object(e) || !json_is_integer(line) || !json_is_boolean(ok))
		return bad();
	if (json_integer_value(line) < INT_MIN || json_integer_value(line) > INT_MAX)
		return bad();
	if (get_cstr(e, "file", &file) || get_cstr(e, "what", &what) ||
	    get_cstr(e, "msg", &msg))
		return -1;
	return res_add_expect(t, file, (int)json_integer_value(line),
			      json_is_true(ok), what, msg);
}

static int get_expects(const json_t *o, res_scenario_t *t)
{
	const json_t *a = json_object_get(o, "expects");
	size_t i;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad();
	for (i = 0; i < json_array_size(a); i++)
		if (get_expect(json_array_get(a, i), t))
			return -1;
	return 0;
}

/* On success *s is overwritten without being freed first (the caller
 * clears it if it held anything); on failure *s is left untouched and
 * nothing leaks. */
int res_scenario_from_json(res_scenario_t *s, const char *json, size_t len)
{
	res_scenario_t t = { 0 };
	json_error_t jerr;
	json_t *root = NULL;
	int rc = -1;

	if (!s || !json)
		return bad();
	/* Duplicate keys would make the child's meaning ambiguous. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		bad();
		goto out;
	}
	if (get_str(root, "id", &t.id) || get_str(root, "file", &t.file) ||
	    get_str(root, "title", &t.title) || get_strings(root, "tags", &t.tags, &t.ntags) ||
	    get_cases(root, &t) || get_strings(root, "operations", &t.ops, &t.nops) || get_policy(root, &t) ||
	    get_status(root, &t.status) || get_str(root, "reason", &t.reason) ||
	    get_apdus(root, &t.apdus) || get_expects(root, &t) ||
	    get_str(root, "log", &t.log) || get_order(root, &t.order) || get_ms(root, &t.ms))
		goto out;
	*s = t;
	memset(&t, 0, sizeof t);
	rc = 0;
out:
	res_scenario_clear(&t);
	json_decref(root);
	return rc;
}
