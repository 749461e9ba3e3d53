/* tap.c — TAP version 13, for prove(1) and the many TAP consumers.
 *
 * Failures and errors carry a YAML diagnostic block with the failed
 * expects, so a TAP consumer shows the same facts as the JUnit report. */
#include "reports/results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Private to reports/ (see text.c). */
size_t res_utf8_next(const char *s, size_t n, long *cp);
void res_fput_oneline(FILE *f, const char *s, int tap);

/* A YAML double-quoted scalar.  YAML streams must be printable Unicode, so
 * control characters are escaped and undecodable bytes become \uFFFD. */
static void yaml_str(FILE *f, const char *s)
{
	size_t n, i = 0, k;
	long cp;

	if (!s) {
		fputs("~", f);
		return;
	}
	n = strlen(s);
	fputc('"', f);
	while (i < n) {
		k = res_utf8_next(s + i, n - i, &cp);
		if (cp < 0)
			fputs("\\uFFFD", f);
		else if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp < 0x20 || cp == 0x7F)
			fprintf(f, "\\x%02lX", cp);
		else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0xFEFF ||
			 cp == 0xFFFE || cp == 0xFFFF)
			fprintf(f, "\\u%04lX", cp);
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
	fputc('"', f);
}

static void put_diagnostics(FILE *f, const res_scenario_t *s)
{
	size_t i;
	int listed = 0;

	fputs("  ---\n  severity: ", f);
	fputs(s->status == RES_FAIL ? "fail" : "error", f);
	fputs("\n  file: ", f);
	yaml_str(f, s->file);
	if (s->reason) {
		fputs("\n  reason: ", f);
		yaml_str(f, s->reason);
	}
	fputc('\n', f);
	for (i = 0; i < s->nexpects; i++) {
		const res_expect_t *e = &s->expects[i];

		if (e->ok)
			continue;
		if (!listed++)
			fputs("  failed:\n", f);
		fputs("    - file: ", f);
		yaml_str(f, e->file);
		fprintf(f, "\n      line: %d\n      what: ", e->line);
		yaml_str(f, e->what);
		fputs("\n      message: ", f);
		yaml_str(f, e->msg);
		fputc('\n', f);
	}
	fputs("  ...\n", f);
}

/* The case numbers, operations and policy in effect, as a diagnostic
 * line after the test (and after its YAML block, which must follow the
 * test line directly):
 *   # meta: {cases: [8], operations: ["revoke"], policy: {half_valid: "block"}}
 * a YAML flow mapping, so it reads as YAML once "# meta: " is cut. */
static void put_meta(FILE *f, const res_scenario_t *s)
{
	size_t i;

	if (!s->ncases && !s->nops && !s->npol)
		return;
	fputs("# meta: {cases: [", f);
	for (i = 0; i < s->ncases; i++)
		fprintf(f, "%s%d", i ? ", " : "", s->cases[i]);
	fputs("], operations: [", f);
	for (i = 0; i < s->nops; i++) {
		fputs(i ? ", " : "", f);
		yaml_str(f, s->ops[i]);
	}
	fputs("], policy: {", f);
	for (i = 0; i < s->npol; i++) {
		fputs(i ? ", " : "", f);
		yaml_str(f, s->pol_keys[i]);
		fputs(": ", f);
		yaml_str(f, s->pol_vals[i]);
	}
	fputs("}}\n", f);
}

static void put_test(FILE *f, size_t num, const res_scenario_t *s)
{
	int ok = s->status == RES_PASS || s->status == RES_SKIP;

	fprintf(f, "%s %zu - ", ok ? "ok" : "not ok", num);
	res_fput_oneline(f, s->id, 1);
	if (s->id && s->title)
		fputc(' ', f);
	res_fput_oneline(f, s->title, 1);
	if (s->status == RES_SKIP) {
		fputs(" # SKIP", f);
		if (s->reason) {
			fputc(' ', f);
			res_fput_oneline(f, s->reason, 0);
		}
	}
	fputc('\n', f);
	if (!ok)
		put_diagnostics(f, s);
	put_meta(f, s);
}

static int tap_write(FILE *f, const res_run_t *run)
{
	size_t i;

	fprintf(f, "TAP version 13\n1..%zu\n", run->n);
	fprintf(f, "# seed %llu\n", (unsigned long long)run->seed);
	if (run->nversions) { /* what ran it, as junit.xml and results.json say */
		char *v = res_versions_line(run);
		if (!v)
			return -1;
		fputs("# versions: ", f);
		res_fput_oneline(f, v, 0);
		fputc('\n', f);
		free(v);
	}
	if (run->target) {
		fputs("# target: ", f);
		res_fput_oneline(f, run->target, 0);
		fputc('\n', f);
	}
	if (run->mutation)
		fprintf(f, "# mutation: %s (a defect planted on purpose; not a verdict)\n", run->mutation);
	for (i = 0; i < run->n; i++)
		put_test(f, i + 1, &run->sc[i]);
	if (ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

const report_writer_t report_tap = {
	.name = "tap",
	.filename = "results.tap",
	.write = tap_write,
};
