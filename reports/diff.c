/* diff.c — tonight's run against last night's.
 *
 * Runs are matched by id.  What is said: runs that newly fail (or error),
 * newly pass, appear or vanish; runs whose status words changed (the
 * traces, exchange by exchange); durations that moved beyond noise.  A
 * newly failing or vanished run is a regression: the exit status says
 * so.  Timing alone is not (a CI runner's load is not the code's). */
#include "reports/results.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hil/base/util.h"

/* Private to reports/ (see html.c). */
void res_html_text(FILE *f, const char *s);

#define NOISE_RATIO 1.5   /* slower or faster by this factor ... */
#define NOISE_MS 100.0    /* ... and by this much, to be more than noise */

enum { D_FAIL, D_GONE, D_PASS, D_NEW, D_SW, D_TIME, D_N };

static const char *const section[D_N] = {
	"newly failing", "gone (in the old run only)", "newly passing", "new (in the new run only)",
	"status words changed", "timing beyond noise (x1.5 and 100 ms)",
};

typedef struct entry {
	int kind;
	char *id, *text;
} entry_t;

typedef struct diff {
	entry_t *v;
	size_t n;
} diff_t;

static void add(diff_t *d, int kind, const char *id, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add(diff_t *d, int kind, const char *id, const char *fmt, ...)
{
	entry_t *v = realloc(d->v, (d->n + 1) * sizeof *v);
	va_list ap;

	if (!v)
		return;
	d->v = v;
	v[d->n].kind = kind;
	v[d->n].id = strdup(id ? id : "?");
	va_start(ap, fmt);
	if (vasprintf(&v[d->n].text, fmt, ap) < 0)
		v[d->n].text = NULL;
	va_end(ap);
	d->n++;
}

static const res_scenario_t *find(const res_run_t *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->sc[i].id && id && !strcmp(r->sc[i].id, id))
			return &r->sc[i];
	return NULL;
}

static int failing(const res_scenario_t *s)
{
	return s->status == RES_FAIL || s->status == RES_ERROR;
}

/* Why s failed, in one line: its reason, else its first failed expect. */
static void why(const res_scenario_t *s, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", s->reason ? s->reason : "");
	for (size_t e = 0; !s->reason && e < s->nexpects; e++)
		if (!s->expects[e].ok) {
			char where[4200];
			snprintf(buf, cap, "%s: %s%s%s", res_expect_where(&s->expects[e], where, sizeof where),
				 s->expects[e].what ? s->expects[e].what : "", s->expects[e].msg ? ": " : "",
				 s->expects[e].msg ? s->expects[e].msg : "");
			break;
		}
}

/* The status words of dir's trace of id, one "CMD-PREFIX SW" per
 * exchange, newline-separated (NULL without a trace). */
static char *sws(const char *dir, const char *id)
{
	char name[200], *path, *line = NULL, *out = NULL;
	size_t cap = 0, olen = 0;
	FILE *f, *o;

	res_file_name(id, name, sizeof name);
	if (asprintf(&path, "%s/traces/%s.jsonl", dir, name) < 0)
		return NULL;
	f = fopen(path, "r");
	free(path);
	if (!f)
		return NULL;
	if (!(o = open_memstream(&out, &olen))) {
		fclose(f);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		const char *cmd = json_string_value(json_object_get(j, "cmd"));
		const char *rsp = json_string_value(json_object_get(j, "rsp"));
		if (cmd)
			fprintf(o, "%.8s %s\n", cmd, rsp && strlen(rsp) >= 4 ? rsp + strlen(rsp) - 4 : "mute");
		json_decref(j);
	}
	free(line);
	fclose(f);
	fclose(o);
	return out;
}

/* The first exchange whose status word differs, and how many do. */
static void compare_sws(diff_t *d, const char *id, const char *a, const char *b)
{
	size_t k = 0, ndiff = 0;
	char first[200] = "";

	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		k++;
		if (la != lb || strncmp(a, b, la)) {
			if (!ndiff++)
				snprintf(first, sizeof first, "exchange %zu: %.*s -> %.*s", k, (int)la, la ? a : "(none)",
					 (int)lb, lb ? b : "(none)");
		}
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	if (ndiff)
		add(d, D_SW, id, "%s (%zu exchange%s differ%s)", first, ndiff, ndiff == 1 ? "" : "s", ndiff == 1 ? "s" : "");
}

static void compare(diff_t *d, const res_run_t *old, const char *odir, const res_run_t *nw, const char *ndir)
{
	char buf[1024];

	for (size_t i = 0; i < nw->n; i++) {
		const res_scenario_t *s = &nw->sc[i], *o = find(old, s->id);
		if (!o) {
			add(d, D_NEW, s->id, "%s", res_status_name(s->status));
			continue;
		}
		if (failing(s) && !failing(o)) {
			why(s, buf, sizeof buf);
			add(d, D_FAIL, s->id, "%s -> %s: %s", res_status_name(o->status), res_status_name(s->status), buf);
		} else if (!failing(s) && failing(o)) {
			add(d, D_PASS, s->id, "%s -> %s", res_status_name(o->status), res_status_name(s->status));
		}
		char *a = sws(odir, s->id), *b = sws(ndir, s->id);
		if (a && b)
			compare_sws(d, s->id, a, b);
		free(a), free(b);
		if (isfinite(o->ms) && isfinite(s->ms) && fabs(s->ms - o->ms) >= NOISE_MS &&
		    (s->ms >= o->ms * NOISE_RATIO || o->ms >= s->ms * NOISE_RATIO))
			add(d, D_TIME, s->id, "%.0f ms -> %.0f ms", o->ms, s->ms);
	}
	for (size_t i = 0; i < old->n; i++)
		if (!find(nw, old->sc[i].id))
			add(d, D_GONE, old->sc[i].id, "was %s", res_status_name(old->sc[i].status));
}

static void write_html(FILE *f, const diff_t *d, const char *old, const char *nw, int regressed)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mynahil report diff</title>"
	      "<style>body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em}li.k0,li.k1{color:#a00}"
	      "li.k2{color:#060}code{background:#f6f6f6}</style></head><body>\n<h1>mynahil report diff</h1>\n<p><code>", f);
	res_html_text(f, old);
	fputs("</code> → <code>", f);
	res_html_text(f, nw);
	fprintf(f, "</code></p>\n<p id=\"verdict\">%s</p>\n", !d->n ? "no differences" :
			regressed ? "regressed" : "changed, nothing regressed");
	for (int k = 0; k < D_N; k++) {
		int any = 0;
		for (size_t i = 0; i < d->n; i++) {
			if (d->v[i].kind != k)
				continue;
			if (!any++)
				fprintf(f, "<h2>%s</h2><ul>\n", section[k]);
			fprintf(f, "<li class=\"k%d\" data-id=\"", k);
			res_html_text(f, d->v[i].id);
			fputs("\"><b>", f);
			res_html_text(f, d->v[i].id);
			fputs("</b>: ", f);
			res_html_text(f, d->v[i].text);
			fputs("</li>\n", f);
		}
		if (any)
			fputs("</ul>\n", f);
	}
	fputs("</body></html>\n", f);
}

int report_diff(const char *old, const char *nw, FILE *txt, const char *html, char *err, size_t errlen)
{
	res_run_t a, b;
	diff_t d = { 0 };
	int regressed = 0;

	if (res_run_load(&a, old, err, errlen) < 0)
		return -1;
	if (res_run_load(&b, nw, err, errlen) < 0) {
		res_run_clear(&a);
		return -1;
	}
	compare(&d, &a, old, &b, nw);
	for (int k = 0; k < D_N; k++) {
		int any = 0;
		for (size_t i = 0; i < d.n; i++) {
			if (d.v[i].kind != k)
				continue;
			if (!any++)
				fprintf(txt, "%s:\n", section[k]);
			fprintf(txt, "  %s: %s\n", d.v[i].id, d.v[i].text ? d.v[i].text : "");
			regressed |= k == D_FAIL || k == D_GONE;
		}
	}
	fprintf(txt, "%s\n", !d.n ? "no differences" : regressed ? "regressed" : "changed, nothing regressed");
	if (html) {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);
		if (f) {
			write_html(f, &d, old, nw, regressed);
			fclose(f);
		}
		if (!f || util_write_file(html, buf, n) < 0) {
			snprintf(err, errlen, "%s: cannot write", html);
			regressed = -1;
		}
		free(buf);
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].id), free(d.v[i].text);
	free(d.v);
	res_run_clear(&a);
	res_run_clear(&b);
	return regressed;
}
