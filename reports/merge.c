/* merge.c — the reports of shards put back together as one run's.
 *
 * Each shard (`mynahil run --shard I/N`, on one machine or another) wrote
 * record.json and traces/.  The merged run is their results in the order
 * an unsharded run has them — files in byte order, the runs of one file
 * in matrix order (res_scenario_t.order) — so every report written from
 * it is the unsharded run's, timing aside. */
#include "reports/results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hil/base/util.h"

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int cmp_run_order(const void *pa, const void *pb)
{
	const res_scenario_t *a = pa, *b = pb;
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	return c ? c : a->order < b->order ? -1 : a->order > b->order;
}

/* src/traces/NAME.jsonl of each result into dst/traces/. */
static int copy_traces(const res_run_t *from, const char *src, const char *dst, char *err, size_t errlen)
{
	char name[200], *a = NULL, *b = NULL;
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < from->n && !rc; i++) {
		if (!from->sc[i].id)
			continue;
		res_file_name(from->sc[i].id, name, sizeof name);
		if (asprintf(&a, "%s/traces/%s.jsonl", src, name) < 0 || asprintf(&b, "%s/traces/%s.jsonl", dst, name) < 0) {
			rc = -1;
		} else if (util_read_file(a, &buf, &n) == 0) {
			if (util_write_file(b, buf, n) < 0) {
				snprintf(err, errlen, "%s: %s", b, strerror(errno));
				rc = -1;
			}
			free(buf);
		}
		free(a), free(b);
		a = b = NULL;
	}
	return rc;
}

int report_merge(char *const *dirs, size_t ndirs, const char *out, char *err, size_t errlen)
{
	static const report_writer_t *const writers[] = { &report_junit, &report_json, &report_tap, &report_record,
							  &report_html };
	res_run_t run = { 0 }, part;
	char tdir[4096];
	int rc = -1;

	snprintf(tdir, sizeof tdir, "%s/traces", out);
	if (util_mkdirs(tdir) < 0) {
		snprintf(err, errlen, "%s: %s", tdir, strerror(errno));
		return -1;
	}
	for (size_t d = 0; d < ndirs; d++) {
		res_scenario_t *v;

		if (res_run_load(&part, dirs[d], err, errlen) < 0)
			goto out;
		if (d == 0) {
			run.seed = part.seed;
			run.ms = 0;
			run.target = part.target, part.target = NULL;
			run.version = part.version, part.version = NULL;
			run.command = part.command, part.command = NULL;
			/* the shards' versions; their shard names are not the whole run's */
			run.versions = part.versions, run.nversions = part.nversions;
			part.versions = NULL, part.nversions = 0;
			run.roles = part.roles, run.nroles = part.nroles;
			part.roles = NULL, part.nroles = 0;
		} else if (part.seed != run.seed || !same(part.command, run.command) || !same(part.target, run.target)) {
			snprintf(err, errlen, "%s is not a shard of the run in %s: seed %llu and '%s' against %llu and '%s'",
				 dirs[d], dirs[0], (unsigned long long)part.seed, part.command ? part.command : "?",
				 (unsigned long long)run.seed, run.command ? run.command : "?");
			res_run_clear(&part);
			goto out;
		}
		/* Shards run side by side: the merged run took the longest. */
		if (isfinite(part.ms) && part.ms > run.ms)
			run.ms = part.ms;
		if (copy_traces(&part, dirs[d], out, err, errlen) < 0) {
			res_run_clear(&part);
			goto out;
		}
		if (!(v = realloc(run.sc, (run.n + part.n + 1) * sizeof *v))) {
			res_run_clear(&part);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		run.sc = v;
		memcpy(run.sc + run.n, part.sc, part.n * sizeof *v);
		run.n += part.n;
		part.n = 0;
		res_run_clear(&part);
	}
	qsort(run.sc, run.n, sizeof *run.sc, cmp_run_order);
	for (size_t i = 1; i < run.n; i++)
		if (run.sc[i].id && run.sc[i - 1].id && !strcmp(run.sc[i].id, run.sc[i - 1].id)) {
			snprintf(err, errlen, "%s is in two shards: the same shard given twice?", run.sc[i].id);
			goto out;
		}
	run.dir = out;
	for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
		if (report_write_file(writers[i], &run, out) < 0) {
			snprintf(err, errlen, "%s/%s: %s", out, writers[i]->filename, strerror(errno));
			goto out;
		}
	rc = 0;
out:
	res_run_clear(&run);
	return rc;
}
