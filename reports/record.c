/* record.c — record.json, the whole of a run in one file.
 *
 * results.json is the comparable part and leaves out what differs between
 * two runs of one seed or what would bloat a diff (logs, durations).  To
 * merge shards into the reports of one run, or to compare two runs, every
 * field has to come back, so this file holds each scenario in the full
 * form the scenario process hands to the runner, plus the run's header:
 *
 *   { "mynahil": 1, "seed": "1234", "target", "version", "versions": { "mynahil",
 *     "commit", "openssl", ... }, "shard": "2/4" (a shard's only), "command",
 *     "bench": [ { "role", "target", "facts" } ], "total_ms",
 *     "scenarios": [ { ...res_scenario_json(s, 1)... } ] } */
#include "reports/results.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Private to reports/ (see text.c). */
json_t *res_json_text(const char *s);
json_t *res_scenario_json(const res_scenario_t *s, int full);
json_t *res_versions_json(const res_run_t *run);

void res_file_name(const char *id, char *out, size_t cap)
{
	size_t n = strlen(id), i;
	uint32_t h = 2166136261u; /* FNV-1a */

	if (!cap)
		return;
	for (i = 0; i < n && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)id[i];
		out[i] = (char)(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '.' || c == '_' || c == '-') ? c : '_');
	}
	out[i] = 0;
	if (out[0] == '.')
		out[0] = '_'; /* neither hidden nor "." nor ".." */
	if (n > 160 && cap > 180) {
		for (i = 0; i < n; i++)
			h = (h ^ (unsigned char)id[i]) * 16777619u;
		snprintf(out + 160, cap - 160, "-%08x", h);
	}
}

int res_add_role(res_run_t *run, const char *role, const char *target, const char *facts)
{
	res_role_t *v = realloc(run->roles, (run->nroles + 1) * sizeof *v);
	res_role_t r = { 0 };

	if (!v)
		return -1;
	run->roles = v;
	r.role = strdup(role ? role : "");
	r.target = strdup(target ? target : "");
	r.facts = strdup(facts ? facts : "");
	if (!r.role || !r.target || !r.facts) {
		free(r.role);
		free(r.target);
		free(r.facts);
		return -1;
	}
	run->roles[run->nroles++] = r;
	return 0;
}

int res_add_version(res_run_t *run, const char *key, const char *value)
{
	res_kv_t *v = realloc(run->versions, (run->nversions + 1) * sizeof *v);
	res_kv_t kv = { strdup(key), strdup(value ? value : "") };

	if (v)
		run->versions = v;
	if (!v || !kv.key || !kv.value) {
		free(kv.key);
		free(kv.value);
		return -1;
	}
	run->versions[run->nversions++] = kv;
	return 0;
}

char *res_versions_line(const res_run_t *run)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < run->nversions; i++)
		len += strlen(run->versions[i].key) + strlen(run->versions[i].value) + 3;
	if (!(s = malloc(len)))
		return NULL;
	s[0] = 0;
	for (size_t i = 0; i < run->nversions; i++)
		snprintf(s + strlen(s), len - strlen(s), "%s%s %s", i ? ", " : "", run->versions[i].key,
			 run->versions[i].value);
	return s;
}

/* { "mynahil": "0.1.0", "commit": ..., ... } in the run's order (the
 * same in results.json and record.json). */
json_t *res_versions_json(const res_run_t *run)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < run->nversions; i++)
		if (json_object_set_new(o, run->versions[i].key, res_json_text(run->versions[i].value))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static int put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

static json_t *record_json(const res_run_t *run)
{
	json_t *o = json_object(), *bench = json_array(), *sc = json_array();
	char seed[24];
	size_t i;

	snprintf(seed, sizeof seed, "%llu", (unsigned long long)run->seed);
	for (i = 0; bench && i < run->nroles; i++) {
		json_t *r = json_object();
		if (put(r, "role", res_json_text(run->roles[i].role)) ||
		    put(r, "target", res_json_text(run->roles[i].target)) ||
		    put(r, "facts", res_json_text(run->roles[i].facts)) || json_array_append_new(bench, r)) {
			json_decref(bench);
			bench = NULL;
		}
	}
	for (i = 0; sc && i < run->n; i++)
		if (json_array_append_new(sc, res_scenario_json(&run->sc[i], 1))) {
			json_decref(sc);
			sc = NULL;
		}
	if (put(o, "mynahil", json_integer(1)) || put(o, "seed", json_string(seed)) ||
	    put(o, "target", res_json_text(run->target)) || put(o, "version", res_json_text(run->version)) ||
	    (run->nversions && put(o, "versions", res_versions_json(run))) ||
	    (run->shard && put(o, "shard", res_json_text(run->shard))) ||
	    put(o, "command", res_json_text(run->command)) || put(o, "mutation", res_json_text(run->mutation)) ||
	    put(o, "bench", bench) ||
	    put(o, "total_ms", isfinite(run->ms) ? json_real(run->ms) : json_null()) || put(o, "scenarios", sc)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int record_write(FILE *f, const res_run_t *run)
{
	json_t *root;
	int rc;

	errno = 0;
	if (!(root = record_json(run))) {
		if (!errno)
			errno = ENOMEM;
		return -1;
	}
	rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	fputc('\n', f);
	if (rc || ferror(f)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

const report_writer_t report_record = {
	.name = "record",
	.filename = "record.json",
	.write = record_write,
};

static char *opt_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

/* The header and the bench of root into run. */
static int load_header(res_run_t *run, const json_t *root, char *err, size_t errlen)
{
	const char *seed = json_string_value(json_object_get(root, "seed"));
	const json_t *bench = json_object_get(root, "bench"), *r;
	const char *k;
	char *end;
	size_t i;

	if (json_integer_value(json_object_get(root, "mynahil")) != 1 || !seed) {
		snprintf(err, errlen, "not a mynahil record (version 1 with a seed)");
		return -1;
	}
	errno = 0;
	run->seed = strtoull(seed, &end, 10);
	if (errno || *end || !*seed) {
		snprintf(err, errlen, "seed '%.40s' is not a number", seed);
		return -1;
	}
	run->target = opt_str(root, "target");
	run->version = opt_str(root, "version");
	run->command = opt_str(root, "command");
	run->mutation = opt_str(root, "mutation");
	run->shard = opt_str(root, "shard");
	json_object_foreach((json_t *)json_object_get(root, "versions"), k, r)
		if (json_is_string(r) && res_add_version(run, k, json_string_value(r)) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	run->ms = json_is_number(json_object_get(root, "total_ms")) ?
		json_number_value(json_object_get(root, "total_ms")) : NAN;
	json_array_foreach(bench, i, r)
		if (res_add_role(run, json_string_value(json_object_get(r, "role")),
				 json_string_value(json_object_get(r, "target")),
				 json_string_value(json_object_get(r, "facts"))) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
}

static int load_scenarios(res_run_t *run, const json_t *a, char *err, size_t errlen)
{
	const json_t *e;
	size_t i;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "no scenarios array");
		return -1;
	}
	if (!(run->sc = calloc(json_array_size(a) + 1, sizeof *run->sc))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(a, i, e) {
		/* Through the one reader of a scenario, with all its checks. */
		char *one = json_dumps(e, JSON_COMPACT);
		int rc = one ? res_scenario_from_json(&run->sc[run->n], one, strlen(one)) : -1;

		free(one);
		if (rc < 0) {
			snprintf(err, errlen, "scenario %zu: malformed", i + 1);
			return -1;
		}
		run->n++;
	}
	return 0;
}

int res_run_load(res_run_t *run, const char *dir, char *err, size_t errlen)
{
	char path[4096], why[512];
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	memset(run, 0, sizeof *run);
	snprintf(path, sizeof path, "%s/record.json", dir);
	if (!(root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
		snprintf(err, errlen, "%s: %s", path, jerr.text);
		return -1;
	}
	if (json_is_object(root) && load_header(run, root, why, sizeof why) == 0 &&
	    load_scenarios(run, json_object_get(root, "scenarios"), why, sizeof why) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "%s: %s", path, json_is_object(root) ? why : "not a JSON object");
	json_decref(root);
	if (rc)
		res_run_clear(run);
	return rc;
}
