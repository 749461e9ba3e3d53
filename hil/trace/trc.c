/* trc.c — traces in memory, and our JSON lines in and out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hil/trace/trc.h"
#include "hil/base/trace.h"
#include "sim/core/apdu.h"

int trc_power_event(const char *event, enum sim_power *how)
{
	if (!event || strncmp(event, "power ", 6))
		return 0;
	if (!strcmp(event + 6, "off"))
		*how = SIM_POWER_OFF;
	else if (!strcmp(event + 6, "warm"))
		*how = SIM_POWER_WARM;
	else if (!strcmp(event + 6, "cold"))
		*how = SIM_POWER_COLD;
	else
		return 0;
	return 1;
}

void trc_free(trc_t *t)
{
	for (size_t i = 0; i < t->n; i++) {
		trc_rec_t *r = &t->v[i];
		free(r->role), free(r->link), free(r->event), free(r->cmd), free(r->rsp), free(r->at), free(r->plain);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

static char *dup_or_null(const char *s, int *bad)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*bad = 1;
	return d;
}

static uint8_t *mem_dup(const uint8_t *p, size_t n, int *bad)
{
	uint8_t *d = p ? malloc(n ? n : 1) : NULL;

	if (p && !d)
		*bad = 1;
	if (d && n)
		memcpy(d, p, n);
	return d;
}

static trc_rec_t *grow(trc_t *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		trc_rec_t *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return NULL;
		t->v = v, t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof t->v[0]);
	return &t->v[t->n];
}

/* A new record with its role, link and origin; NULL on ENOMEM (then
 * the record is not counted). */
static trc_rec_t *rec_new(trc_t *t, const char *role, const char *link, const char *at, int *bad)
{
	trc_rec_t *r = grow(t);

	if (!r)
		return NULL;
	r->role = dup_or_null(role, bad);
	r->link = dup_or_null(link, bad);
	r->at = dup_or_null(at, bad);
	t->n++;
	return r;
}

int trc_add(trc_t *t, const char *role, const char *link, const uint8_t *cmd, size_t cn,
	    const uint8_t *rsp, size_t rn, const char *at, int64_t t_ns)
{
	int bad = 0;
	trc_rec_t *r = rec_new(t, role, link, at, &bad);

	if (!r)
		return -1;
	r->cmd = mem_dup(cmd, cn, &bad);
	r->cn = cn;
	r->rsp = mem_dup(rsp, rn, &bad);
	r->rn = rsp ? rn : 0;
	r->t_ns = t_ns;
	return bad ? -1 : 0;
}

int trc_add_event(trc_t *t, const char *role, const char *link, const char *event, const char *at)
{
	int bad = 0;
	trc_rec_t *r = rec_new(t, role, link, at, &bad);

	if (!r)
		return -1;
	r->event = dup_or_null(event, &bad);
	return bad ? -1 : 0;
}

/* Hex of a JSON string field into a malloc'd buffer; -1 if not hex. */
static int field_hex(json_t *o, const char *key, uint8_t **out, size_t *n)
{
	const char *h = json_string_value(json_object_get(o, key));
	size_t len = h ? strlen(h) : 0;
	long got;

	*out = NULL, *n = 0;
	if (!h)
		return 0;
	if (!(*out = malloc(len / 2 + 1)))
		return -1;
	got = apdu_unhex(h, *out, len / 2 + 1);
	if (got < 0 || (size_t)got * 2 != len) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*n = (size_t)got;
	return 1;
}

int trc_load_jsonl(trc_t *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, at[64];
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		json_error_t je;
		json_t *o;
		const char *link, *role, *ev, *src;
		uint8_t *cmd = NULL, *rsp = NULL;
		size_t cn = 0, rn = 0;
		int hc, hr;

		lineno++;
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (!(o = json_loads(line, 0, &je)) || !json_is_object(o)) {
			snprintf(err, errlen, "%s:%lu: not a JSON object (%s)", path, lineno, o ? "an array or value" : je.text);
			json_decref(o);
			rc = -1;
			break;
		}
		link = json_string_value(json_object_get(o, "link"));
		role = json_string_value(json_object_get(o, "role"));
		ev = json_string_value(json_object_get(o, "event"));
		src = json_string_value(json_object_get(o, "at"));
		snprintf(at, sizeof at, "line %lu", lineno);
		hc = field_hex(o, "cmd", &cmd, &cn);
		hr = field_hex(o, "rsp", &rsp, &rn);
		if (ev) {
			rc = trc_add_event(t, role, link, ev, src ? src : at);
		} else if (hc < 0 || hr < 0 || !hc) {
			snprintf(err, errlen, "%s:%lu: %s", path, lineno,
				 hc < 0 ? "\"cmd\" is not hex (a redacted trace cannot be replayed)" :
				 hr < 0 ? "\"rsp\" is not hex" : "neither \"cmd\" nor \"event\"");
			rc = -1;
		} else if (cn < 4) {
			snprintf(err, errlen, "%s:%lu: \"cmd\" shorter than an APDU header", path, lineno);
			rc = -1;
		} else if (trc_add(t, role, link, cmd, cn, rsp, rn, src ? src : at, 0) < 0) {
			snprintf(err, errlen, "%s:%lu: out of memory", path, lineno);
			rc = -1;
		} else if (json_string_value(json_object_get(o, "plain"))) {
			t->v[t->n - 1].plain = strdup(json_string_value(json_object_get(o, "plain")));
		}
		free(cmd), free(rsp);
		json_decref(o);
	}
	free(line);
	fclose(f);
	return rc;
}

/* The record being written adds its role and origin to its line. */
static void write_tap(void *ud, const trace_rec_t *r, void *line)
{
	const trc_rec_t *cur = *(const trc_rec_t **)ud;

	(void)r;
	if (cur->role)
		trace_line_set(line, "role", cur->role);
	if (cur->at)
		trace_line_set(line, "at", cur->at);
	if (cur->plain)
		trace_line_set(line, "plain", cur->plain);
}

int trc_write_jsonl(const trc_t *t, const char *path, char *err, size_t errlen)
{
	trace_t *w = strcmp(path, "-") ? trace_open(path) : trace_stream(stdout);
	const trc_rec_t *cur = NULL;

	if (!w) {
		snprintf(err, errlen, "%s: cannot write (%s)", path, strerror(errno));
		return -1;
	}
	trace_tap(w, write_tap, NULL, &cur);
	for (size_t i = 0; i < t->n; i++) {
		const trc_rec_t *r = cur = &t->v[i];
		if (r->event)
			trace_note(w, r->link ? r->link : "", r->event);
		else
			trace_apdu(w, r->link ? r->link : "", r->cmd, r->cn, r->rsp, r->rn);
	}
	trace_close(w);
	return 0;
}
