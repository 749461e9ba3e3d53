/* trace.c — JSON-lines APDU traces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hil/base/trace.h"
#include "sim/core/apdu.h"

#define SECRETS_MAX 64
#define SECRET_MIN 4 /* bytes: the shortest PIN */

struct trace {
	FILE *f;
	unsigned long n;
	int redact;
	struct {
		uint8_t *p;
		size_t n;
	} secret[SECRETS_MAX];
	size_t nsecrets;
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

void trace_redact(trace_t *t)
{
	if (t)
		t->redact = 1;
}

void trace_secret(trace_t *t, const uint8_t *p, size_t n)
{
	if (!t || n < SECRET_MIN || t->nsecrets == SECRETS_MAX)
		return;
	for (size_t i = 0; i < t->nsecrets; i++)
		if (t->secret[i].n == n && !memcmp(t->secret[i].p, p, n))
			return;
	if (!(t->secret[t->nsecrets].p = malloc(n)))
		return;
	memcpy(t->secret[t->nsecrets].p, p, n);
	t->secret[t->nsecrets++].n = n;
}

/* Where the data field of a PIN-carrying command is: 1 with *off and
 * *len, else 0.  Short (Lc in byte 4) and extended (00 Lc1 Lc2) forms. */
static int pin_field(const uint8_t *c, size_t n, size_t *off, size_t *len)
{
	static const uint8_t ins[] = { 0x20, 0x21, 0x24, 0x25, 0x2C, 0x2D };

	if (n < 6 || c[0] == 0xFF || !memchr(ins, c[1], sizeof ins))
		return 0;
	if (c[4]) {
		*off = 5, *len = c[4];
	} else if (n >= 8) {
		*off = 7, *len = (size_t)c[5] << 8 | c[6];
	} else {
		return 0;
	}
	return *len && *off + *len <= n;
}

/* The hex at s spells p[0..n): 1, else 0. */
static int hex_is(const char *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = apdu_hexval((unsigned char)s[2 * i]), lo = hi < 0 ? -1 : apdu_hexval((unsigned char)s[2 * i + 1]);
		if (lo < 0 || (hi << 4 | lo) != p[i])
			return 0;
	}
	return 1;
}

void trace_mask_text(const trace_t *t, char *s)
{
	size_t len = s ? strlen(s) : 0;

	for (size_t k = 0; t && k < t->nsecrets; k++) {
		const uint8_t *p = t->secret[k].p;
		size_t n = t->secret[k].n;

		for (size_t i = 0; i + n <= len; i++) {
			if (!memcmp(s + i, p, n))
				memset(s + i, '*', n);
			else if (i + 2 * n <= len && hex_is(s + i, p, n))
				memset(s + i, '*', 2 * n);
		}
	}
}

/* Masks p[off..off+len) in the hex h, and keeps it as a secret. */
static void mask_field(trace_t *t, char *h, const uint8_t *p, size_t off, size_t len)
{
	trace_secret(t, p + off, len);
	memset(h + 2 * off, '*', 2 * len); /* the length stays */
}

/* A tap's "plain" (the command a secure channel wrapped, hil/trace):
 * the PIN fields of a VERIFY and its kind, and in a STORE DATA the
 * value of every DGI 81ss, the applet's PINs as the TSM sets them. */
static void redact_plain(trace_t *t, json_t *o)
{
	const char *hex = json_string_value(json_object_get(o, "plain"));
	size_t n, off, len;
	uint8_t *b;
	char *h;
	long got;

	if (!hex || !(b = malloc(strlen(hex) / 2 + 1)))
		return;
	if ((got = apdu_unhex(hex, b, strlen(hex) / 2 + 1)) < 0 || 2 * (size_t)got != strlen(hex) || !(h = strdup(hex))) {
		free(b);
		return;
	}
	n = (size_t)got;
	if (pin_field(b, n, &off, &len)) {
		mask_field(t, h, b, off, len);
	} else if (n > 5 && b[1] == 0xE2 && b[4] && (size_t)b[4] + 5 <= n) {
		size_t end = (size_t)b[4] + 5, i = 5;
		while (i + 3 <= end) { /* tag (2), length (1, or FF and 2) */
			size_t hdr = b[i + 2] == 0xFF ? 5 : 3;
			size_t dl = hdr == 5 ? (i + 5 <= end ? (size_t)b[i + 3] << 8 | b[i + 4] : end) : b[i + 2];
			if (i + hdr + dl > end)
				break;
			if (b[i] == 0x81 && dl)
				mask_field(t, h, b, i + hdr, dl);
			i += hdr + dl;
		}
	}
	json_object_set_new(o, "plain", json_string_nocheck(h));
	free(h);
	free(b);
}

void trace_apdu(trace_t *t, const char *link, const uint8_t *cmd, size_t n,
		const uint8_t *rsp, size_t rn)
{
	size_t off, len;
	json_t *o;

	if (!t)
		return;
	o = line(t, link);
	if (t->redact && pin_field(cmd, n, &off, &len)) {
		char *h = malloc(2 * n + 1);
		if (h) {
			apdu_hex(cmd, n, h);
			mask_field(t, h, cmd, off, len);
		}
		json_object_set_new(o, "cmd", h ? json_string_nocheck(h) : json_null());
		free(h);
	} else {
		json_object_set_new(o, "cmd", hex_json(cmd, n));
	}
	json_object_set_new(o, "rsp", rsp ? hex_json(rsp, rn) : json_null());
	if (t->tap) {
		trace_rec_t r = { .link = link, .cmd = cmd, .n = n, .rsp = rsp, .rn = rn,
				  .cmd_hex = json_string_value(json_object_get(o, "cmd")) };
		t->tap(t->tap_ud, &r, o);
	}
	if (t->redact)
		redact_plain(t, o);
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
	for (size_t i = 0; i < t->nsecrets; i++)
		free(t->secret[i].p);
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
