/* html.c — report.html, the campaign as one self-contained page.
 *
 * No network, no external script, style or font: the page is handed to a
 * lab's client and opened from file:// or a CI artifact.  What a reader
 * needs without clicking is static HTML (the bench, the matrix, the
 * expects, a failure's last APDUs and the reproduce line); the decoded
 * traces ride along as data, each distinct row once and each scenario a
 * line of row numbers, and a few lines of script turn a line into a table
 * when its scenario is opened (failures: at load), so a run of a thousand
 * scenarios stays quick to open.
 *
 * Everything shown is derived from the results and the traces only, so
 * shards merged by `mynahil report merge` give the same page, timing
 * aside. */
#include "reports/results.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Private to reports/ (see text.c, campaign.c, decode.c). */
char *res_utf8_clean(const char *s);
extern const char *const res_op_names[7], *const res_op_titles[7], *const res_case_titles[15];
int res_covers(const res_scenario_t *s, int op, int c);
void res_apdu_decode(const char *cmd, unsigned *ctx, char *name, size_t ncap, char *detail, size_t dcap);
const char *res_sw_text(const char *rsp);
void res_html_text(FILE *f, const char *s);

#define HEX_SHOWN 48   /* hex digits of a command or response shown (the
			* header and the first bytes of data); the whole
			* is in traces/ID.jsonl */
#define LAST_APDUS 8   /* shown with a failure */
#define TIME_ROWS 100  /* the longest runs charted one by one */

typedef struct row {
	long n;
	char *role, *name, *detail, *cmd, *rsp, *event;
	char sw[5]; /* the whole response's last four digits ("" mute) */
} row_t;

typedef struct trace {
	row_t *v;
	size_t n;
} trace_t;

/* s, or a clean copy in *clean when it holds bytes above 0x7F (which
 * may not be valid UTF-8): most text here is ASCII, and a thousand
 * scenarios' traces make a million strings. */
static const char *utf8(const char *s, char **clean)
{
	*clean = NULL;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return *clean = res_utf8_clean(s);
	return s;
}

/* Writes s with the characters in special replaced by rep(c), in spans. */
static void put_escaped(FILE *f, const char *s, const char *special, const char *(*rep)(unsigned char, char *))
{
	char *clean, buf[8];

	if (!(s = utf8(s, &clean)))
		return;
	while (*s) {
		size_t n = strcspn(s, special);
		fwrite(s, 1, n, f);
		s += n;
		if (*s)
			fputs(rep((unsigned char)*s++, buf), f);
	}
	free(clean);
}

static const char *html_rep(unsigned char c, char *buf)
{
	(void)buf;
	return c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : "&#39;";
}

/* Text into HTML, invalid UTF-8 replaced (diff.c's page too). */
void res_html_text(FILE *f, const char *s)
{
	if (s)
		put_escaped(f, s, "&<>\"'", html_rep);
}

static const char *json_rep(unsigned char c, char *buf)
{
	if (c == '"' || c == '\\')
		snprintf(buf, 8, "\\%c", c);
	else
		snprintf(buf, 8, "\\u%04x", c);
	return buf;
}

/* Text as a JSON string inside <script>: '<' escaped so that no
 * "</script>" can end the block early. */
static void jstr(FILE *f, const char *s)
{
	static const char special[] = "\"\\<>&\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
				      "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	put_escaped(f, s, special, json_rep);
	fputc('"', f);
}

/* The role a trace's link label belongs to: a simulator's kind
 * ("sim:se?serial=.." is the se), else the bench role bound to it. */
static char *role_of(const res_run_t *run, const char *link)
{
	size_t n = strcspn(link, "?");

	for (size_t i = 0; i < run->nroles; i++)
		if (!strcmp(run->roles[i].target, link))
			return strdup(run->roles[i].role);
	if (!strncmp(link, "sim:", 4))
		return strndup(link + 4, n - 4);
	return strndup(link, n);
}

static char *shown_hex(const char *hex)
{
	size_t n = hex ? strlen(hex) : 0;
	char *out;

	if (n <= HEX_SHOWN)
		return strdup(hex ? hex : "");
	if (asprintf(&out, "%.*s… (%zu bytes)", HEX_SHOWN, hex, n / 2) < 0)
		return NULL;
	return out;
}

static void trace_free(trace_t *t)
{
	for (size_t i = 0; i < t->n; i++) {
		row_t *r = &t->v[i];
		free(r->role), free(r->name), free(r->detail), free(r->cmd), free(r->rsp), free(r->event);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* The value of "key":"..." in line, NUL-terminated in place; NULL if
 * absent.  Values hold no '"' (no backslash in the line: checked). */
static char *fast_value(char *line, const char *key)
{
	char *p = strstr(line, key), *end;

	if (!p)
		return NULL;
	p += strlen(key);
	if (!(end = strchr(p, '"')))
		return NULL;
	*end = 0;
	return p;
}

/* The fields of a trace line as trace.c writes it, without a JSON
 * parser (a thousand scenarios make 100,000 lines); -1 for any line
 * that is not plainly that shape, which the parser then reads. */
static int fast_fields(char *line, long *n, const char **link, const char **cmd, const char **rsp, const char **ev)
{
	if (strchr(line, '\\') || strncmp(line, "{\"n\":", 5))
		return -1;
	*n = strtol(line + 5, NULL, 10);
	{ /* all four found before any is cut off */
		char *l = strstr(line, ",\"link\":\""), *c = strstr(line, ",\"cmd\":\""), *r = strstr(line, ",\"rsp\":\""),
		     *e = strstr(line, ",\"event\":\"");
		*link = l ? fast_value(l, ",\"link\":\"") : NULL;
		*cmd = c ? fast_value(c, ",\"cmd\":\"") : NULL;
		*rsp = r ? fast_value(r, ",\"rsp\":\"") : NULL;
		*ev = e ? fast_value(e, ",\"event\":\"") : NULL;
	}
	return *link && (*cmd || *ev) ? 0 : -1;
}

/* dir/traces/ID.jsonl decoded; no file is an empty trace. */
static void trace_load(const res_run_t *run, const res_scenario_t *s, trace_t *t)
{
	char fname[200], *path = NULL, *line = NULL, name[64], detail[256];
	size_t cap = 0, vcap = 0;
	unsigned app[16] = { 0 }; /* per link seen, what it has selected (decode.c) */
	char *links[16] = { 0 };
	size_t nlinks = 0;
	FILE *f;

	memset(t, 0, sizeof *t);
	if (!run->dir || !s->id)
		return;
	res_file_name(s->id, fname, sizeof fname);
	if (asprintf(&path, "%s/traces/%s.jsonl", run->dir, fname) < 0)
		return;
	f = fopen(path, "r");
	free(path);
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		json_t *o = NULL;
		const char *link, *cmd, *rsp, *ev, *plain = NULL;
		long num;
		row_t *r;
		size_t k;

		/* a line with the plain form of an SCP03 command takes the parser */
		if (strstr(line, ",\"plain\":\"") || fast_fields(line, &num, &link, &cmd, &rsp, &ev) < 0) {
			o = json_loads(line, 0, NULL);
			num = (long)json_integer_value(json_object_get(o, "n"));
			link = json_string_value(json_object_get(o, "link"));
			cmd = json_string_value(json_object_get(o, "cmd"));
			rsp = json_string_value(json_object_get(o, "rsp"));
			ev = json_string_value(json_object_get(o, "event"));
			plain = json_string_value(json_object_get(o, "plain"));
		}
		if (!link || (!cmd && !ev) || (t->n == vcap && !(t->v = realloc(t->v, (vcap = vcap ? 2 * vcap : 64) * sizeof *t->v)))) {
			json_decref(o);
			continue;
		}
		r = &t->v[t->n++];
		memset(r, 0, sizeof *r);
		r->n = num;
		r->role = role_of(run, link);
		for (k = 0; k < nlinks && strcmp(links[k], link); k++)
			;
		if (k == nlinks && nlinks < 16)
			links[nlinks++] = strdup(link);
		if (ev) {
			r->event = strdup(ev);
			if (k < 16 && !strncmp(ev, "power", 5))
				app[k] = 0; /* a reset deselects */
		} else {
			unsigned scratch = 0;
			res_apdu_decode(plain ? plain : cmd, k < 16 ? &app[k] : &scratch, name, sizeof name, detail, sizeof detail);
			if (plain) { /* the wire bytes stay in the row; the plain ones are named */
				size_t off = strlen(detail);
				snprintf(detail + off, sizeof detail - off, "%sSCP03-wrapped; the plain command: %.80s%s",
					 off ? "; " : "", plain, strlen(plain) > 80 ? "..." : "");
			}
			r->name = strdup(name);
			r->detail = strdup(detail);
			r->cmd = shown_hex(cmd);
			r->rsp = rsp ? shown_hex(rsp) : NULL;
			if (rsp && strlen(rsp) >= 4)
				memcpy(r->sw, rsp + strlen(rsp) - 4, 5);
		}
		json_decref(o);
	}
	for (size_t k = 0; k < nlinks; k++)
		free(links[k]);
	free(line);
	fclose(f);
}

/* One decoded row, as HTML (the failure's last APDUs). */
static void row_html(FILE *f, const row_t *r)
{
	fprintf(f, "<tr data-role=\"");
	res_html_text(f, r->role);
	fprintf(f, "\"><td>%ld</td><td>", r->n);
	res_html_text(f, r->role);
	if (!r->cmd) {
		fputs("</td><td colspan=\"4\" class=\"ev\">", f);
		res_html_text(f, r->event);
		fputs("</td></tr>\n", f);
		return;
	}
	fputs("</td><td><b>", f);
	res_html_text(f, r->name);
	fputs("</b> ", f);
	res_html_text(f, r->detail);
	fputs("</td><td class=\"hex\">", f);
	res_html_text(f, r->cmd);
	fputs("</td><td class=\"hex\">", f);
	res_html_text(f, r->rsp ? r->rsp : "(no answer)");
	fprintf(f, "</td><td class=\"sw sw%c\">", r->sw[0] == '9' ? 'o' : 'x');
	res_html_text(f, r->sw);
	fputc(' ', f);
	res_html_text(f, res_sw_text(r->sw));
	fputs("</td></tr>\n", f);
}

/* The page's strings (roles, command names, details, meanings, events),
 * each written once: a thousand scenarios' traces repeat a few hundred
 * strings a hundred thousand times, and the page must open quickly. */
typedef struct dict {
	char **v;
	size_t n, cap;
	size_t *slot; /* open addressing: index + 1, 0 empty */
	size_t nslot;
} dict_t;

static size_t hash(const char *s)
{
	size_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The index of s in d, added if new; 0 (the empty string) on ENOMEM. */
static size_t intern(dict_t *d, const char *s)
{
	size_t h;

	if (!s)
		s = "";
	if (2 * (d->n + 1) > d->nslot) { /* grow and rehash */
		size_t ns = d->nslot ? 2 * d->nslot : 1024, *slot = calloc(ns, sizeof *slot);
		if (!slot)
			return 0;
		for (size_t i = 0; i < d->n; i++) {
			for (h = hash(d->v[i]) & (ns - 1); slot[h]; h = (h + 1) & (ns - 1))
				;
			slot[h] = i + 1;
		}
		free(d->slot);
		d->slot = slot, d->nslot = ns;
	}
	for (h = hash(s) & (d->nslot - 1); d->slot[h]; h = (h + 1) & (d->nslot - 1))
		if (!strcmp(d->v[d->slot[h] - 1], s))
			return d->slot[h] - 1;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 256;
		char **v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return 0;
		d->v = v, d->cap = cap;
	}
	if (!(d->v[d->n] = strdup(s)))
		return 0;
	d->slot[h] = d->n + 1;
	return d->n++;
}

static void dict_free(dict_t *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	free(d->slot);
}

/* A trace for the page's script, as one line of the traces block:
 * each row is an index into the page's table of distinct rows (the rows block),
 * its number implied (the last + 1, from 1) unless "@N" before it says
 * otherwise.  A campaign's traces repeat the same exchanges (SELECTs,
 * PIN checks, READ BINARY of the same files, status answers) scenario
 * after scenario, so a thousand traces make a few hundred distinct rows
 * and the block a few hundred KB where every row written out made 6.6 MB:
 * the browser must read every byte of the page before it is ready. */
static void trace_ids(FILE *f, const trace_t *t, dict_t *d, dict_t *rows)
{
	long last = 0;

	for (size_t i = 0; i < t->n; i++) {
		const row_t *r = &t->v[i];
		char key[192];

		/* a row: [role, name, detail, cmd, rsp, sw, meaning] or
		 * [role, event], strings by their index in the dictionary;
		 * -1 for no response */
		if (r->cmd) {
			long rsp = r->rsp ? (long)intern(d, r->rsp) : -1;
			snprintf(key, sizeof key, "[%zu,%zu,%zu,%zu,%ld,%zu,%zu]", intern(d, r->role), intern(d, r->name),
				 intern(d, r->detail), intern(d, r->cmd), rsp, intern(d, r->sw),
				 intern(d, res_sw_text(r->sw)));
		} else {
			snprintf(key, sizeof key, "[%zu,%zu]", intern(d, r->role), intern(d, r->event));
		}
		if (r->n != last + 1)
			fprintf(f, "%s@%ld", i ? "," : "", r->n);
		fprintf(f, "%s%zu", i || r->n != last + 1 ? "," : "", intern(rows, key));
		last = r->n;
	}
}

/* A shell word: quoted unless plainly safe. */
static void shell_word(FILE *f, const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+-@%") == strlen(s)) {
		res_html_text(f, s);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else {
			char c[2] = { *s, 0 };
			res_html_text(f, c);
		}
	}
	fputc('\'', f);
}

/* The one command that runs this scenario alone, as it ran here. */
static void reproduce(FILE *f, const res_run_t *run, const res_scenario_t *s)
{
	char seed[24];

	snprintf(seed, sizeof seed, "%llu", (unsigned long long)run->seed);
	fputs("mynahil run ", f);
	shell_word(f, s->file ? s->file : "?");
	fprintf(f, " --seed %s", seed);
	for (size_t i = 0; i < run->nroles; i++) {
		char *b;
		if (asprintf(&b, "%s=%s", run->roles[i].role, run->roles[i].target) < 0)
			continue;
		fputs(" --target ", f);
		shell_word(f, b);
		free(b);
	}
	for (size_t i = 0; i < s->npol; i++) {
		char *b;
		if (asprintf(&b, "%s=%s", s->pol_keys[i], s->pol_vals[i]) < 0)
			continue;
		fputs(" --policy ", f);
		shell_word(f, b);
		free(b);
	}
}

static void policy_text(FILE *f, const res_scenario_t *s)
{
	for (size_t i = 0; i < s->npol; i++) {
		fputs(i ? "," : "", f);
		res_html_text(f, s->pol_keys[i]);
		fputc('=', f);
		res_html_text(f, s->pol_vals[i]);
	}
}

static const char *status_of(const res_scenario_t *s)
{
	return res_status_name(s->status);
}

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
	"h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.5em}"
	"table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;vertical-align:top}"
	".pass{background:#d8f5d8}.fail,.error{background:#f9d0d0}.skip{background:#eee}"
	".uncovered{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#f3f3f3 4px,#f3f3f3 8px);color:#999;text-align:center}"
	".chip{display:inline-block;margin:1px;padding:0 4px;border-radius:3px;font-size:12px;text-decoration:none;color:#222;border:1px solid #bbb}"
	".hex{font-family:monospace;font-size:12px;word-break:break-all;max-width:40em}"
	".swo{color:#060}.swx{color:#a00}.ev{font-style:italic;color:#555}"
	"code,pre{background:#f6f6f6;padding:2px 4px}pre{white-space:pre-wrap}"
	"details.sc{margin:.3em 0;border:1px solid #ddd;padding:.2em .5em}"
	"details.sc>summary{cursor:pointer}.bar{background:#7aa7d6;height:10px;display:inline-block}"
	".bad{background:#f9d0d0}.ok{background:#f4fbf4}.badge{font-weight:bold;text-transform:uppercase}";

/* The page's script: role filter, policy filter, traces drawn on demand. */
static const char script[] =
	"document.addEventListener('DOMContentLoaded',function(){document.body.dataset.domReadyMs=Math.round(performance.now())});"
	"(function(){"
	"function cell(tr,t,c){var td=document.createElement('td');td.textContent=t;if(c)td.className=c;tr.appendChild(td);return td}"
	"var D,R,T,E;function lines(id){return document.getElementById(id).textContent.split('\\n')}"
	"function draw(d){var tb=d.querySelector('table.trace');if(!tb||tb.dataset.drawn)return;tb.dataset.drawn=1;"
	"D=D||JSON.parse(document.getElementById('dict').textContent);R=R||JSON.parse(document.getElementById('rows').textContent);"
	"var et=d.querySelector('table.expects[data-lazy]');if(et){E=E||lines('expects');var x=(E[tb.dataset.i]||'').split(','),ef=document.createDocumentFragment();"
	"for(var k=0;k+3<x.length;k+=4){var er=document.createElement('tr');er.className=x[k+2]=='1'?'ok':'bad';"
	"var c=document.createElement('code');c.textContent=D[x[k]];cell(er,'').appendChild(c);cell(er,D[x[k+1]]);cell(er,D[x[k+3]]);ef.appendChild(er)}"
	"(et.tBodies[0]||et).appendChild(ef);et.removeAttribute('data-lazy')}"
	"T=T||lines('traces');var line=T[tb.dataset.i],n=0,frag=document.createDocumentFragment();"
	"if(line)line.split(',').forEach(function(x){if(x[0]=='@'){n=+x.slice(1)-1;return}n++;var r=R[+x],tr=document.createElement('tr');"
	"tr.dataset.role=D[r[0]];cell(tr,n);cell(tr,D[r[0]]);"
	"if(r.length<3){cell(tr,D[r[1]],'ev').colSpan=4}else{var td=cell(tr,''),b=document.createElement('b'),sw=D[r[5]];b.textContent=D[r[1]];"
	"td.appendChild(b);td.appendChild(document.createTextNode(' '+D[r[2]]));cell(tr,D[r[3]],'hex');cell(tr,r[4]<0?'(no answer)':D[r[4]],'hex');"
	"cell(tr,sw+' '+D[r[6]],'sw '+(sw[0]=='9'?'swo':'swx'))}frag.appendChild(tr)});tb.appendChild(frag)}"
	/* one listener for a thousand scenarios; toggle does not bubble, so capture */
	"document.querySelectorAll('details.sc[open]').forEach(draw);"
	"document.getElementById('scenarios').addEventListener('toggle',function(e){var d=e.target;"
	"if(d.classList&&d.classList.contains('sc')&&d.open)draw(d)},true);"
	"var st=document.createElement('style');document.head.appendChild(st);"
	"function roles(){var off=[];document.querySelectorAll('#roles input').forEach(function(i){if(!i.checked)off.push('tr[data-role=\"'+i.value+'\"]')});"
	"st.textContent=off.length?off.join(',')+'{display:none}':''}"
	"document.querySelectorAll('#roles input').forEach(function(i){i.addEventListener('change',roles)});"
	"var pol=document.getElementById('pol');if(pol)pol.addEventListener('change',function(){var v=pol.value;"
	"document.querySelectorAll('#matrix .chip').forEach(function(c){c.style.display=!v||(','+c.dataset.pol+',').indexOf(','+v+',')>=0?'':'none'})});"
	"document.body.dataset.ready=1})();";

static int worse(int a, int b)
{
	static const int rank[] = { [RES_PASS] = 1, [RES_SKIP] = 0, [RES_FAIL] = 3, [RES_ERROR] = 2 };
	return a < 0 || rank[b] > rank[a] ? b : a;
}

static void matrix_html(FILE *f, const res_run_t *run)
{
	char seen[64][96];
	size_t nseen = 0;

	/* Every switch=value of the run, for the policy filter. */
	for (size_t i = 0; i < run->n; i++)
		for (size_t k = 0; k < run->sc[i].npol; k++) {
			char kv[96];
			size_t j;
			snprintf(kv, sizeof kv, "%s=%s", run->sc[i].pol_keys[k], run->sc[i].pol_vals[k]);
			for (j = 0; j < nseen && strcmp(seen[j], kv); j++)
				;
			if (j == nseen && nseen < 64)
				memcpy(seen[nseen++], kv, sizeof kv);
		}
	fputs("<section id=\"matrix\"><h2>Campaign matrix</h2>\n<p>The seven certificate operations "
	      "(docs/domain.md#operations) against the fifteen life-cycle cases (docs/domain.md#cases); "
	      "each cell holds the runs that cover it, coloured by "
	      "result. Hatched: no scenario covers the cell. Policy: <select id=\"pol\"><option value=\"\">every "
	      "policy</option>", f);
	for (size_t j = 0; j < nseen; j++) {
		fputs("<option>", f);
		res_html_text(f, seen[j]);
		fputs("</option>", f);
	}
	fputs("</select></p>\n<table class=\"matrix\"><tr><th>operation \\ case</th>", f);
	for (int c = 1; c <= 15; c++) {
		fprintf(f, "<th title=\"");
		res_html_text(f, res_case_titles[c - 1]);
		fprintf(f, "\">%d</th>", c);
	}
	fputs("<th>no case</th></tr>\n", f);
	for (int op = 0; op <= 7; op++) {
		int o = op < 7 ? op : -1;
		fputs("<tr><th>", f);
		res_html_text(f, o >= 0 ? res_op_titles[o] : "no operation");
		fputs("</th>", f);
		for (int c = 1; c <= 16; c++) {
			int worst = -1;
			for (size_t i = 0; i < run->n; i++)
				if (res_covers(&run->sc[i], o, c % 16))
					worst = worse(worst, (int)run->sc[i].status);
			fprintf(f, "<td class=\"cell %s\" data-op=\"%s\" data-case=\"%d\">",
				worst < 0 ? "uncovered" : res_status_name((res_status_t)worst), o >= 0 ? res_op_names[o] : "",
				c % 16);
			if (worst < 0)
				fputs("—", f);
			for (size_t i = 0; i < run->n; i++) {
				const res_scenario_t *s = &run->sc[i];
				if (!res_covers(s, o, c % 16))
					continue;
				fprintf(f, "<a class=\"chip %s\" href=\"#sc-%zu\" data-pol=\"", status_of(s), i);
				policy_text(f, s);
				fputs("\">", f);
				res_html_text(f, s->id);
				fputs("</a>", f);
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void invariants_html(FILE *f, const res_run_t *run)
{
	fputs("<h3>Invariants checked</h3>\n<table id=\"invariants\"><tr><th>invariant</th><th>checked in</th>"
	      "<th>failed in</th></tr>\n", f);
	for (int inv = 1; inv <= 9; inv++) {
		size_t checked = 0, failed = 0;
		const char *what = NULL;
		for (size_t i = 0; i < run->n; i++) {
			int c = 0, bad = 0;
			for (size_t e = 0; e < run->sc[i].nexpects; e++) {
				const res_expect_t *x = &run->sc[i].expects[e];
				if (!x->file || strcmp(x->file, RES_INVARIANT_FILE) || x->line != inv)
					continue;
				c = 1, bad |= !x->ok, what = x->what;
			}
			checked += c, failed += bad;
		}
		if (!checked)
			continue;
		fprintf(f, "<tr class=\"%s\"><td>%d. ", failed ? "bad" : "ok", inv);
		res_html_text(f, what);
		fprintf(f, "</td><td>%zu runs</td><td>%zu</td></tr>\n", checked, failed);
	}
	fputs("</table>\n<h3>Skipped</h3>\n<ul id=\"skipped\">", f);
	for (size_t i = 0; i < run->n; i++) {
		if (run->sc[i].status != RES_SKIP)
			continue;
		fprintf(f, "<li><a href=\"#sc-%zu\">", i);
		res_html_text(f, run->sc[i].id);
		fputs("</a>: ", f);
		res_html_text(f, run->sc[i].reason);
		fputs("</li>", f);
	}
	fputs("</ul></section>\n", f);
}

static void bench_html(FILE *f, const res_run_t *run)
{
	fputs("<section id=\"bench\"><h2>Bench</h2>\n<table><tr><th>role</th><th>target</th><th>what it answered</th></tr>\n", f);
	for (size_t i = 0; i < run->nroles; i++) {
		fputs("<tr><td>", f);
		res_html_text(f, run->roles[i].role);
		fputs("</td><td><code>", f);
		res_html_text(f, run->roles[i].target);
		fputs("</code></td><td>", f);
		res_html_text(f, run->roles[i].facts);
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "</table>\n<p>mynahil <span id=\"version\">");
	res_html_text(f, run->version ? run->version : "?");
	fprintf(f, "</span>, seed <span id=\"seed\">%llu</span></p>\n", (unsigned long long)run->seed);
	if (run->nversions) {
		char *line = res_versions_line(run);
		fputs("<p>Versions: <span id=\"versions\">", f);
		res_html_text(f, line ? line : "?");
		fputs("</span></p>\n", f);
		free(line);
	}
	fputs("<p>Reproduce the run:</p><pre id=\"reproduce\">", f);
	res_html_text(f, run->command ? run->command : "");
	fputs("</pre>", f);
	if (run->mutation) {
		fputs("<p id=\"mutation\" class=\"fail\">Mutation <code>", f);
		res_html_text(f, run->mutation);
		fputs("</code> in effect: a defect planted on purpose; these results are not a verdict.</p>", f);
	}
	fputs("</section>\n", f);
}

/* Where the time went: per scenario, and per role shared out by each
 * scenario's exchanges (the traces hold no timestamps, so that the same
 * seed gives the same bytes). */
static void timing_html(FILE *f, const res_run_t *run, const size_t *apdus_by_role, const double *ms_by_role,
			char (*roles)[32], size_t nroles)
{
	double max = 0, rmax = 0;
	size_t *order = malloc((run->n + 1) * sizeof *order);

	for (size_t i = 0; i < run->n; i++)
		if (isfinite(run->sc[i].ms) && run->sc[i].ms > max)
			max = run->sc[i].ms;
	for (size_t r = 0; r < nroles; r++)
		rmax = ms_by_role[r] > rmax ? ms_by_role[r] : rmax;
	fputs("<section id=\"timing\"><h2>Where the time went</h2>\n<h3>Per role</h3><p>Each scenario's time "
	      "shared out among the roles by its exchanges (the traces carry no timestamps).</p>"
	      "<table id=\"time-roles\"><tr><th>role</th><th>APDUs</th><th>time (est.)</th><th></th></tr>\n", f);
	for (size_t r = 0; r < nroles; r++) {
		fputs("<tr><td>", f);
		res_html_text(f, roles[r]);
		fprintf(f, "</td><td>%zu</td><td>%.0f ms</td><td><span class=\"bar\" style=\"width:%.0fpx\"></span></td></tr>\n",
			apdus_by_role[r], ms_by_role[r], rmax > 0 ? 300 * ms_by_role[r] / rmax : 0);
	}
	fputs("</table>\n<h3>Per scenario</h3><table id=\"time-scenarios\">\n", f);
	if (order) {
		size_t n = 0;
		for (size_t i = 0; i < run->n; i++)
			order[n++] = i;
		/* longest first, by insertion: n is a run's size, and this is
		 * once per report (qsort would need the run in a global) */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && run->sc[order[j]].ms > run->sc[order[j - 1]].ms; j--) {
				size_t t = order[j];
				order[j] = order[j - 1], order[j - 1] = t;
			}
		for (size_t k = 0; k < n && k < TIME_ROWS; k++) {
			const res_scenario_t *s = &run->sc[order[k]];
			double ms = isfinite(s->ms) ? s->ms : 0;
			fprintf(f, "<tr><td><a href=\"#sc-%zu\">", order[k]);
			res_html_text(f, s->id);
			fprintf(f, "</a></td><td>%.0f ms</td><td><span class=\"bar\" style=\"width:%.0fpx\"></span></td></tr>\n",
				ms, max > 0 ? 400 * ms / max : 0);
		}
	}
	if (run->n > TIME_ROWS)
		fprintf(f, "<tr><td colspan=\"3\">and %zu shorter runs (every duration is in results.json)</td></tr>\n",
			run->n - TIME_ROWS);
	free(order);
	fputs("</table></section>\n", f);
}

/* The scenario into f; its trace and, if it is shown closed, its
 * expects (the page's script draws them) into tr and ex. */
static void scenario_html(FILE *f, FILE *tr, FILE *ex, const res_run_t *run, size_t i, const trace_t *t, dict_t *d,
			  dict_t *rows)
{
	const res_scenario_t *s = &run->sc[i];
	int bad = s->status == RES_FAIL || s->status == RES_ERROR;

	fprintf(f, "<details class=\"sc %s\" id=\"sc-%zu\" data-id=\"", status_of(s), i);
	res_html_text(f, s->id);
	fprintf(f, "\"%s><summary><span class=\"badge\">%s</span> <b>", bad ? " open" : "", status_of(s));
	res_html_text(f, s->id);
	fputs("</b> ", f);
	res_html_text(f, s->title);
	fprintf(f, " <small>(%.0f ms, %llu APDUs)</small></summary>\n<p><code>", isfinite(s->ms) ? s->ms : 0,
		(unsigned long long)s->apdus);
	res_html_text(f, s->file);
	fputs("</code>; operations: ", f);
	for (size_t k = 0; k < s->nops; k++)
		fputs(k ? ", " : "", f), res_html_text(f, s->ops[k]);
	fputs(s->nops ? "" : "none", f);
	fputs("; cases: ", f);
	for (size_t k = 0; k < s->ncases; k++)
		fprintf(f, "%s%d", k ? ", " : "", s->cases[k]);
	fputs(s->ncases ? "" : "none", f);
	fputs("; policy: ", f);
	policy_text(f, s);
	fputs(s->npol ? "</p>\n" : "defaults</p>\n", f);
	if (s->reason) {
		fputs("<p class=\"reason\">", f);
		res_html_text(f, s->reason);
		fputs("</p>\n", f);
	}
	/* A closed scenario's expects are drawn when it is opened, from
	 * its line of the traces block: a thousand passing scenarios'
	 * expects as rows were half the page's elements. */
	fprintf(f, "<table class=\"expects\"%s><tr><th>where</th><th>expect</th><th>result</th></tr>",
		bad ? "" : " data-lazy=\"1\"");
	fputs(i ? "\n" : "", ex);
	for (size_t e = 0; e < s->nexpects && !bad; e++) {
		const res_expect_t *x = &s->expects[e];
		char where[4200];
		fprintf(ex, "%s%zu,%zu,%d,%zu", e ? "," : "", intern(d, res_expect_where(x, where, sizeof where)),
			intern(d, x->what), x->ok ? 1 : 0, intern(d, x->ok ? "ok" : x->msg ? x->msg : "failed"));
	}
	for (size_t e = 0; e < s->nexpects && bad; e++) {
		const res_expect_t *x = &s->expects[e];
		char where[4200];
		fprintf(f, "<tr class=\"%s\"><td><code>", x->ok ? "ok" : "bad");
		res_html_text(f, res_expect_where(x, where, sizeof where));
		fputs("</code></td><td>", f);
		res_html_text(f, x->what);
		fputs("</td><td>", f);
		res_html_text(f, x->ok ? "ok" : x->msg ? x->msg : "failed");
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	if (bad) {
		size_t from = t->n > LAST_APDUS ? t->n - LAST_APDUS : 0;
		fprintf(f, "<div class=\"failure\"><h4>The last %zu exchanges</h4><p>(a failed expect does not stop a "
			"scenario: the whole trace is below)</p><table class=\"last\">", t->n - from);
		for (size_t k = from; k < t->n; k++)
			row_html(f, &t->v[k]);
		fputs("</table>\n", f);
		if (s->log) {
			fputs("<h4>What it printed</h4><pre class=\"log\">", f);
			res_html_text(f, s->log);
			fputs("</pre>\n", f);
		}
		fputs("</div>\n", f);
	}
	fputs("<p>Reproduce: <code class=\"repro\">", f);
	reproduce(f, run, s);
	fprintf(f, "</code></p>\n<h4>Trace (%zu lines)</h4><table class=\"trace\" data-i=\"%zu\"><tr><th>#</th><th>role</th>"
		"<th>command</th><th>C-APDU</th><th>R-APDU</th><th>SW</th></tr></table></details>\n", t->n, i);
	fputs(i ? "\n" : "", tr);
	trace_ids(tr, t, d, rows);
}

static int html_write(FILE *f, const res_run_t *run)
{
	size_t c[4] = { 0 }, nroles = 0, apdus[16] = { 0 };
	double ms[16] = { 0 };
	char roles[16][32];
	char *body = NULL, *traces = NULL, *expects = NULL;
	size_t blen = 0, tlen = 0, elen = 0;
	dict_t dict = { 0 }, rows = { 0 };
	FILE *b, *tr = NULL, *ex = NULL;

	for (size_t i = 0; i < run->n; i++)
		c[(unsigned)run->sc[i].status < 4 ? run->sc[i].status : RES_ERROR]++;
	/* The scenarios first, into memory: the timing section above them
	 * needs the per-role sums their traces give. */
	intern(&dict, ""); /* index 0, also what intern gives on ENOMEM */
	if (!(b = open_memstream(&body, &blen)) || !(tr = open_memstream(&traces, &tlen)) ||
	    !(ex = open_memstream(&expects, &elen))) {
		if (b)
			fclose(b);
		if (tr)
			fclose(tr);
		free(body);
		free(traces);
		dict_free(&dict);
		return -1;
	}
	for (size_t i = 0; i < run->n; i++) {
		trace_t t;
		size_t cmds = 0;
		trace_load(run, &run->sc[i], &t);
		for (size_t k = 0; k < t.n; k++)
			cmds += t.v[k].cmd != NULL;
		for (size_t k = 0; k < t.n; k++) {
			size_t r;
			if (!t.v[k].cmd)
				continue;
			for (r = 0; r < nroles && strcmp(roles[r], t.v[k].role); r++)
				;
			if (r == nroles && nroles < 16)
				snprintf(roles[nroles++], sizeof roles[0], "%s", t.v[k].role);
			if (r < nroles) {
				apdus[r]++;
				ms[r] += isfinite(run->sc[i].ms) ? run->sc[i].ms / (double)cmds : 0;
			}
		}
		scenario_html(b, tr, ex, run, i, &t, &dict, &rows);
		trace_free(&t);
	}
	/* close all before looking at any: a failed first close must not leak the others */
	int bad = fclose(b) != 0;
	bad |= fclose(tr) != 0;
	bad |= fclose(ex) != 0;
	if (bad) {
		free(body);
		free(traces);
		free(expects);
		dict_free(&dict);
		dict_free(&rows);
		return -1;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>mynahil campaign, seed %llu</title><style>%s</style></head><body>\n"
		"<h1>mynahil campaign report</h1>\n<p id=\"summary\">%zu runs: %zu passed, %zu failed, %zu errors, "
		"%zu skipped; %.1f s</p>\n", (unsigned long long)run->seed, style, run->n, c[RES_PASS], c[RES_FAIL],
		c[RES_ERROR], c[RES_SKIP], isfinite(run->ms) ? run->ms / 1000 : 0);
	bench_html(f, run);
	matrix_html(f, run);
	invariants_html(f, run);
	timing_html(f, run, apdus, ms, roles, nroles);
	fputs("<section id=\"scenarios\"><h2>Scenarios</h2>\n<p id=\"roles\">Trace rows of: ", f);
	for (size_t r = 0; r < nroles; r++) {
		fputs("<label><input type=\"checkbox\" checked value=\"", f);
		res_html_text(f, roles[r]);
		fputs("\"> ", f);
		res_html_text(f, roles[r]);
		fputs("</label> ", f);
	}
	fputs("</p>\n", f);
	fwrite(body, 1, blen, f);
	free(body);
	/* One block for every trace, a line each: a thousand script
	 * elements cost the browser more than their bytes; a line is a few
	 * hundred bytes of row numbers, and the rows and strings they name
	 * follow, each once. */
	fputs("</section>\n<script type=\"text/plain\" id=\"traces\">", f);
	fwrite(traces, 1, tlen, f);
	free(traces);
	fputs("</script>\n<script type=\"text/plain\" id=\"expects\">", f);
	fwrite(expects, 1, elen, f);
	free(expects);
	fputs("</script>\n<script type=\"application/json\" id=\"rows\">[", f);
	for (size_t i = 0; i < rows.n; i++)
		fputs(i ? ",\n" : "", f), fputs(rows.v[i], f);
	dict_free(&rows);
	fputs("]</script>\n<script type=\"application/json\" id=\"dict\">[", f);
	for (size_t i = 0; i < dict.n; i++)
		fputs(i ? ",\n" : "", f), jstr(f, dict.v[i]);
	dict_free(&dict);
	fprintf(f, "]</script>\n<script>%s</script>\n</body></html>\n", script);
	return ferror(f) ? -1 : 0;
}

const report_writer_t report_html = {
	.name = "html",
	.filename = "report.html",
	.write = html_write,
};
