/* junit.c — JUnit XML, the format every CI server reads.
 *
 * One <testsuites> holding one <testsuite name="mynahil">; one <testcase>
 * per scenario, its classname the scenario's directory with dots for
 * slashes, so CI groups the cases the way the scenarios tree does. */
#include "reports/results.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Private to reports/ (see text.c). */
size_t res_utf8_next(const char *s, size_t n, long *cp);
void res_run_count(const res_run_t *run, size_t count[4]);

/* XML 1.0 allows tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD and the
 * planes above; anything else makes the whole file unparseable, so it is
 * dropped.  (Surrogates never get here: the decoder rejects them.) */
static int xml_allowed(long cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n' || cp == '\r';
	return cp != 0xFFFE && cp != 0xFFFF;
}

/* Writes n bytes of s escaped for XML content or, with attr, for a quoted
 * attribute value.  In attributes tab and line breaks are written as
 * character references, because a parser turns raw ones into spaces; CR
 * is a reference everywhere, because a parser turns a raw one into LF. */
static void xml_textn(FILE *f, const char *s, size_t n, int attr)
{
	size_t i = 0, k;
	long cp;

	while (i < n) {
		k = res_utf8_next(s + i, n - i, &cp);
		if (cp < 0)
			fputs("\xEF\xBF\xBD", f); /* undecodable byte: U+FFFD */
		else if (!xml_allowed(cp))
			;
		else if (cp == '&')
			fputs("&amp;", f);
		else if (cp == '<')
			fputs("&lt;", f);
		else if (cp == '>')
			fputs("&gt;", f);
		else if (cp == '"')
			fputs("&quot;", f);
		else if (cp == '\'')
			fputs("&apos;", f);
		else if (cp == '\r')
			fputs("&#13;", f);
		else if (attr && cp == '\n')
			fputs("&#10;", f);
		else if (attr && cp == '\t')
			fputs("&#9;", f);
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
}

static void xml_text(FILE *f, const char *s, int attr)
{
	if (s)
		xml_textn(f, s, strlen(s), attr);
}

/* Milliseconds as seconds with three decimals, in integers, so that the
 * output does not depend on LC_NUMERIC (a comma there would break CI).
 * Rounded by hand: mynahil_reports does not link libm.  Nonsense (negative,
 * NaN, beyond ~300 years) prints as 0. */
static void put_seconds(FILE *f, double ms)
{
	long long t = isfinite(ms) && ms > 0 && ms < 1e13 ? (long long)(ms + 0.5) : 0;

	fprintf(f, "%lld.%03lld", t / 1000, t % 1000);
}

/* "scenarios/card/01.lua" -> "scenarios.card".  Leading "./" and "/" are
 * dropped so that the same tree gives the same names however the runner
 * was pointed at it; a file with no directory falls back to the suite. */
static void put_classname(FILE *f, const char *file)
{
	const char *p = file ? file : "", *slash, *seg;

	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && p[1] == '/')
			p += 2;
		else
			break;
	}
	slash = strrchr(p, '/');
	if (!slash) {
		fputs("mynahil", f);
		return;
	}
	for (seg = p; seg < slash;) {
		const char *end = memchr(seg, '/', (size_t)(slash - seg));

		if (!end)
			end = slash;
		if (seg != p)
			fputc('.', f);
		xml_textn(f, seg, (size_t)(end - seg), 1);
		seg = end + 1;
	}
}

static void put_name(FILE *f, const res_scenario_t *s)
{
	if (s->id && s->title) {
		xml_text(f, s->id, 1);
		fputs(": ", f);
		xml_text(f, s->title, 1);
	} else {
		xml_text(f, s->id ? s->id : s->title ? s->title : s->file, 1);
	}
}

/* "file:line: msg", the short form for a message attribute. */
static void put_where_msg(FILE *f, const res_expect_t *e)
{
	char where[4200];

	xml_text(f, res_expect_where(e, where, sizeof where), 1);
	fputs(": ", f);
	xml_text(f, e->msg ? e->msg : e->what, 1);
}

static const res_expect_t *first_failed(const res_scenario_t *s)
{
	size_t i;

	for (i = 0; i < s->nexpects; i++)
		if (!s->expects[i].ok)
			return &s->expects[i];
	return NULL;
}

/* Element body: the reason if any, then every failed expect in full, one
 * per line, "file:line: what: msg". */
static void put_failure_body(FILE *f, const res_scenario_t *s)
{
	size_t i;
	int first = 1;

	if (s->reason) {
		xml_text(f, s->reason, 0);
		first = 0;
	}
	for (i = 0; i < s->nexpects; i++) {
		const res_expect_t *e = &s->expects[i];
		char where[4200];

		if (e->ok)
			continue;
		if (!first)
			fputc('\n', f);
		first = 0;
		xml_text(f, res_expect_where(e, where, sizeof where), 0);
		fputs(": ", f);
		xml_text(f, e->what, 0);
		if (e->what && e->msg)
			fputs(": ", f);
		xml_text(f, e->msg, 0);
	}
}

static void put_failure(FILE *f, const res_scenario_t *s)
{
	const res_expect_t *e = first_failed(s);

	fputs("      <failure message=\"", f);
	if (e)
		put_where_msg(f, e);
	else
		xml_text(f, s->reason ? s->reason : "failed", 1);
	fputs("\">", f);
	put_failure_body(f, s);
	fputs("</failure>\n", f);
}

static void put_error(FILE *f, const res_scenario_t *s)
{
	fputs("      <error message=\"", f);
	xml_text(f, s->reason ? s->reason : "error", 1);
	fputs("\">", f);
	put_failure_body(f, s);
	fputs("</error>\n", f);
}

static void put_skipped(FILE *f, const res_scenario_t *s)
{
	if (!s->reason) {
		fputs("      <skipped/>\n", f);
		return;
	}
	fputs("      <skipped message=\"", f);
	xml_text(f, s->reason, 1);
	fputs("\"/>\n", f);
}

/* The case numbers, operations and policy in effect, as the testcase's
 * <properties> (one property per case and per operation; the policy as
 * "policy.SWITCH"). */
static void put_properties(FILE *f, const res_scenario_t *s)
{
	size_t i;

	if (!s->ncases && !s->nops && !s->npol)
		return;
	fputs("      <properties>\n", f);
	for (i = 0; i < s->ncases; i++)
		fprintf(f, "        <property name=\"case\" value=\"%d\"/>\n", s->cases[i]);
	for (i = 0; i < s->nops; i++) {
		fputs("        <property name=\"operation\" value=\"", f);
		xml_text(f, s->ops[i], 1);
		fputs("\"/>\n", f);
	}
	for (i = 0; i < s->npol; i++) {
		fputs("        <property name=\"policy.", f);
		xml_text(f, s->pol_keys[i], 1);
		fputs("\" value=\"", f);
		xml_text(f, s->pol_vals[i], 1);
		fputs("\"/>\n", f);
	}
	fputs("      </properties>\n", f);
}

static void put_testcase(FILE *f, const res_scenario_t *s)
{
	int body = s->status != RES_PASS || s->log || s->ncases || s->nops || s->npol;

	fputs("    <testcase classname=\"", f);
	put_classname(f, s->file);
	fputs("\" name=\"", f);
	put_name(f, s);
	fputc('"', f);
	if (s->file) {
		fputs(" file=\"", f);
		xml_text(f, s->file, 1);
		fputc('"', f);
	}
	fputs(" time=\"", f);
	put_seconds(f, s->ms);
	fprintf(f, "\" assertions=\"%zu\"%s\n", s->nexpects, body ? ">" : "/>");
	if (!body)
		return;
	put_properties(f, s);
	if (s->status == RES_FAIL)
		put_failure(f, s);
	else if (s->status == RES_SKIP)
		put_skipped(f, s);
	else if (s->status != RES_PASS)
		put_error(f, s); /* RES_ERROR, or a corrupt status: never a pass */
	if (s->log) {
		fputs("      <system-out>", f);
		xml_text(f, s->log, 0);
		fputs("</system-out>\n", f);
	}
	fputs("    </testcase>\n", f);
}

static void put_counts(FILE *f, const res_run_t *run)
{
	size_t c[4];

	res_run_count(run, c);
	fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"",
		run->n, c[RES_FAIL], c[RES_ERROR], c[RES_SKIP]);
	put_seconds(f, run->ms);
	fputc('"', f);
}

static int junit_write(FILE *f, const res_run_t *run)
{
	size_t i;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", f);
	put_counts(f, run);
	/* A shard's suite is named by its shard: CI views that merge the
	 * shards' files keep them apart. */
	fputs(">\n  <testsuite name=\"mynahil", f);
	if (run->shard) {
		fputs(" shard ", f);
		xml_text(f, run->shard, 1);
	}
	fputc('"', f);
	put_counts(f, run);
	fputs(">\n    <properties>\n", f);
	/* Decimal, as in results.json: the seed reproduces the run. */
	fprintf(f, "      <property name=\"seed\" value=\"%llu\"/>\n",
		(unsigned long long)run->seed);
	if (run->target) {
		fputs("      <property name=\"target\" value=\"", f);
		xml_text(f, run->target, 1);
		fputs("\"/>\n", f);
	}
	if (run->shard) {
		fputs("      <property name=\"shard\" value=\"", f);
		xml_text(f, run->shard, 1);
		fputs("\"/>\n", f);
	}
	for (i = 0; i < run->nversions; i++) {
		fputs("      <property name=\"version.", f);
		xml_text(f, run->versions[i].key, 1);
		fputs("\" value=\"", f);
		xml_text(f, run->versions[i].value, 1);
		fputs("\"/>\n", f);
	}
	if (run->mutation) {
		fputs("      <property name=\"mutation\" value=\"", f);
		xml_text(f, run->mutation, 1);
		fputs("\"/>\n", f);
	}
	fputs("    </properties>\n", f);
	for (i = 0; i < run->n; i++)
		put_testcase(f, &run->sc[i]);
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

const report_writer_t report_junit = {
	.name = "junit",
	.filename = "junit.xml",
	.write = junit_write,
};
