/* trace.c — JSON-lines APDU traces. */
#include <stdio.h>
#include <stdlib.h>

#include "hil/base/trace.h"
#include "sim/core/apdu.h"

struct trace {
	FILE *f;
	unsigned long n;
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

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
	static char hex[2 * (65536 + 16) + 1];
	apdu_hex(p, n < 65536 + 16 ? n : 65536 + 16, hex);
	fputs(hex, f);
}

/* Link URIs are ours or the user's: escape what JSON needs. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void trace_apdu(trace_t *t, const char *link, const uint8_t *cmd, size_t n,
		const uint8_t *rsp, size_t rn)
{
	if (!t)
		return;
	fprintf(t->f, "{\"n\":%lu,\"link\":", ++t->n);
	put_str(t->f, link);
	fputs(",\"cmd\":\"", t->f);
	put_hex(t->f, cmd, n);
	if (rsp) {
		fputs("\",\"rsp\":\"", t->f);
		put_hex(t->f, rsp, rn);
		fputs("\"}\n", t->f);
	} else {
		fputs("\",\"rsp\":null}\n", t->f);
	}
}

void trace_note(trace_t *t, const char *link, const char *event)
{
	if (!t)
		return;
	fprintf(t->f, "{\"n\":%lu,\"link\":", ++t->n);
	put_str(t->f, link);
	fputs(",\"event\":", t->f);
	put_str(t->f, event);
	fputs("}\n", t->f);
}

void trace_close(trace_t *t)
{
	if (!t)
		return;
	fclose(t->f);
	free(t);
}
