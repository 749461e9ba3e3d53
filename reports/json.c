/* json.c — results.json, the report that is diffed between runs.
 *
 * Layout (keys always in this order, indent 2, trailing newline):
 *
 *   {
 *     "mynahil": 1,                      format version
 *     "seed": "1234",                    decimal string: a JSON number
 *                                        loses precision above 2^53
 *     "target": "card=sim:card",         or null
 *     "versions": { "mynahil": "0.1.0", "commit", "openssl", "lua",
 *                   "pcsc-lite", "libnfc" },   what ran it (--version)
 *     "shard": "2/4",                    a shard's only
 *     "summary": { "passed", "failed", "skipped", "errors", "total" },
 *     "scenarios": [                     in run->sc order (the runner sorts)
 *       { "id", "file", "title", "tags": [...],
 *         "cases": [8], "operations": ["revoke"],   docs/domain.md's numbers, names
 *         "policy": { "half_valid": "block" },   the switches in effect, in
 *                                        docs/domain.md's order (unset: the TSM's default)
 *         "status", "reason",
 *         "apdus", "expects": [ { "file", "line", "ok", "what", "msg" } ] }
 *     ],
 *     "timing": { "total_ms": 12.5, "scenarios": { "<id>": 3.25 } }
 *   }
 *
 * "failed" counts RES_FAIL only; errors are counted apart.  Everything
 * volatile (durations) lives under "timing", so two runs with the same
 * seed give byte-identical files once "timing" is removed.  The scenario's
 * log is not here (it goes to JUnit's <system-out>). */
#include "reports/results.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>

/* Private to reports/ (see text.c). */
json_t *res_json_text(const char *s);
json_t *res_scenario_json(const res_scenario_t *s, int full);
json_t *res_versions_json(const res_run_t *run);
void res_run_count(const res_run_t *run, size_t count[4]);

static int put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

static json_t *summary_json(const res_run_t *run)
{
	json_t *o = json_object();
	size_t c[4];

	res_run_count(run, c);
	if (put(o, "passed", json_integer((json_int_t)c[RES_PASS])) ||
	    put(o, "failed", json_integer((json_int_t)c[RES_FAIL])) ||
	    put(o, "skipped", json_integer((json_int_t)c[RES_SKIP])) ||
	    put(o, "errors", json_integer((json_int_t)c[RES_ERROR])) ||
	    put(o, "total", json_integer((json_int_t)run->n))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *scenarios_json(const res_run_t *run)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < run->n; i++) {
		if (json_array_append_new(a, res_scenario_json(&run->sc[i], 0))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Durations rounded to the microsecond: more is noise, and it keeps the
 * printed numbers short (see the precision in report_json's dump).  The
 * rounding is done by hand because mynahil_reports does not link libm;
 * beyond ~30 years a duration is printed as it is. */
static json_t *ms_json(double ms)
{
	if (!isfinite(ms))
		return json_null();
	if (ms > -1e12 && ms < 1e12)
		ms = (double)(long long)(ms * 1000.0 + (ms < 0 ? -0.5 : 0.5)) / 1000.0;
	return json_real(ms);
}

/* Keyed by id (by file when a scenario has none).  Ids are unique in a
 * run; were they not, the later duration would replace the earlier. */
static json_t *timing_json(const res_run_t *run)
{
	json_t *o = json_object(), *per = json_object();
	size_t i;

	for (i = 0; per && i < run->n; i++) {
		const res_scenario_t *s = &run->sc[i];
		json_t *key = res_json_text(s->id ? s->id : s->file ? s->file : "");

		/* The key goes through res_json_text to get valid UTF-8. */
		if (!key || put(per, json_string_value(key), ms_json(s->ms))) {
			json_decref(key);
			json_decref(per);
			per = NULL;
			break;
		}
		json_decref(key);
	}
	if (put(o, "total_ms", ms_json(run->ms)) || put(o, "scenarios", per)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *run_json(const res_run_t *run)
{
	json_t *o = json_object();
	char seed[24];

	snprintf(seed, sizeof seed, "%llu", (unsigned long long)run->seed);
	if (put(o, "mynahil", json_integer(1)) ||
	    put(o, "seed", json_string(seed)) ||
	    put(o, "target", res_json_text(run->target)) ||
	    (run->nversions && put(o, "versions", res_versions_json(run))) ||
	    (run->shard && put(o, "shard", res_json_text(run->shard))) ||
	    (run->mutation && put(o, "mutation", json_string(run->mutation))) ||
	    put(o, "summary", summary_json(run)) ||
	    put(o, "scenarios", scenarios_json(run)) ||
	    put(o, "timing", timing_json(run))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int json_write(FILE *f, const res_run_t *run)
{
	/* 15 significant digits print a microsecond-rounded duration as
	 * written (12.3, not 12.300000000000001) for runs up to ~30 years. */
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			     JSON_REAL_PRECISION(15);
	json_t *root;
	int rc;

	/* A bad scenario sets EINVAL or ERANGE; anything else is memory. */
	errno = 0;
	root = run_json(run);
	if (!root) {
		if (!errno)
			errno = ENOMEM;
		return -1;
	}
	rc = json_dumpf(root, f, flags);
	json_decref(root);
	if (rc == 0)
		fputc('\n', f);
	if (rc != 0 || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

const report_writer_t report_json = {
	.name = "json",
	.filename = "results.json",
	.write = json_write,
};
