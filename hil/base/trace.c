/* trace.c — JSON-lines APDU traces. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "hil/base/trace.h"
#include "sim/core/apdu.h"

struct trace {
	FILE *f;
	unsigned long n;
	trace_tap_fn *tap;
	void (*tap_done)(void *ud);
	void *tap_ud;
};

trace_t *trace_open(const char *path)
{
	trace_t *t = calloc(1, sizeof *t);

	if (!t || !(t->f = fopen(path, "w"))) {
		free(t);
		return NULL;
	}
	return t;
}

trace_t *trace_stream(FILE *f)
{
	trace_t *t = calloc(1, sizeof *t);

	if (t)
		t->f = f;
	return t;
}

/* One line per exchange, written by jansson like every other JSON of
 * the harness.  Link URIs are ours or the user's: bytes are kept as they
 * are (no UTF-8 check that would drop the line). */
static void put_line(trace_t *t, json_t *o)
{
	if (!o)
		return;
	json_dumpf(o, t->f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', t->f);
	json_decref(o);
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *j;

	if (!h)
		return NULL;
	apdu_hex(p, n, h);
	j = json_string_nocheck(h);
	free(h);
	return j;
}

static json_t *line(trace_t *t, const char *link)
{
	json_t *o = json_object();

	json_object_set_new(o, "n", json_integer((json_int_t)++t->n));
	json_object_set_new(o, "link", json_string_nocheck(link));
	return o;
}

void trace_apdu(trace_t *t, const char *link, const uint8_t *cmd, size_t n,
		const uint8_t *rsp, size_t rn)
{
	json_t *o;

	if (!t)
		return;
	o = line(t, link);
	json_object_set_new(o, "cmd", hex_json(cmd, n));
	json_object_set_new(o, "rsp", rsp ? hex_json(rsp, rn) : json_null());
	if (t->tap) {
		trace_rec_t r = { .link = link, .cmd = cmd, .n = n, .rsp = rsp, .rn = rn,
				  .cmd_hex = json_string_value(json_object_get(o, "cmd")) };
		t->tap(t->tap_ud, &r, o);
	}
	put_line(t, o);
}

void trace_note(trace_t *t, const char *link, const char *event)
{
	json_t *o;

	if (!t)
		return;
	o = line(t, link);
	json_object_set_new(o, "event", json_string_nocheck(event));
	if (t->tap) {
		trace_rec_t r = { .link = link, .event = event };
		t->tap(t->tap_ud, &r, o);
	}
	put_line(t, o);
}

void trace_close(trace_t *t)
{
	if (!t)
		return;
	if (t->tap_done)
		t->tap_done(t->tap_ud);
	fclose(t->f);
	free(t);
}

void trace_tap(trace_t *t, trace_tap_fn *fn, void (*done)(void *ud), void *ud)
{
	if (!t)
		return;
	t->tap = fn;
	t->tap_done = done;
	t->tap_ud = ud;
}

void trace_line_set(void *line, const char *key, const char *value)
{
	json_object_set_new(line, key, json_string_nocheck(value));
}
