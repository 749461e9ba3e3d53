/* text.c — text hygiene shared by the report writers.
 *
 * Everything a scenario produces (titles, messages, logs) is untrusted
 * bytes: it may hold invalid UTF-8, control characters or escape
 * sequences.  JSON and XML need well-formed UTF-8, and a terminal must not
 * receive raw escape sequences, so the writers decode through here.
 *
 * These functions are private to reports/; each file that uses them
 * repeats their prototypes (results.h is the only header of the module). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t res_utf8_next(const char *s, size_t n, long *cp);
char *res_utf8_clean(const char *s);
void res_fput_oneline(FILE *f, const char *s, int tap);

/* The UTF-8 encoding of U+FFFD, written in place of bytes that do not
 * decode, so the reader sees that something was there. */
static const char replacement[] = "\xEF\xBF\xBD";

/* Decodes the code point at s (n bytes available, n >= 1).  Returns the
 * length of the sequence and stores the code point in *cp; for a byte that
 * does not start a well-formed sequence (truncated, overlong, surrogate,
 * above U+10FFFF) returns 1 and stores -1, so the caller can replace that
 * one byte and resynchronise on the next. */
size_t res_utf8_next(const char *s, size_t n, long *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, i;
	long v, min;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		len = 2, v = u[0] & 0x1F, min = 0x80;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		len = 3, v = u[0] & 0x0F, min = 0x800;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		len = 4, v = u[0] & 0x07, min = 0x10000;
	} else {
		goto bad;
	}
	if (n < len)
		goto bad;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			goto bad;
		v = v << 6 | (u[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = -1;
	return 1;
}

/* A malloc'd copy of s with every undecodable byte replaced by U+FFFD;
 * NULL on ENOMEM. */
char *res_utf8_clean(const char *s)
{
	size_t n = strlen(s), i = 0, o = 0, k;
	char *out;
	long cp;

	/* Worst case every byte becomes three. */
	if (n > (((size_t)-1) - 1) / 3)
		return NULL;
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	while (i < n) {
		k = res_utf8_next(s + i, n - i, &cp);
		if (cp < 0) {
			memcpy(out + o, replacement, 3);
			o += 3;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = '\0';
	return out;
}

/* Writes s so that it stays on one terminal or TAP line and cannot drive
 * the terminal: line breaks and tabs become spaces, other control
 * characters (C0, DEL, C1) are shown as \xNN or \uNNNN, undecodable bytes
 * as U+FFFD.  With tap, '#' and '\' are escaped as TAP requires in a test
 * description (an unescaped '#' would start a directive). */
void res_fput_oneline(FILE *f, const char *s, int tap)
{
	size_t n, i = 0, k;
	long cp;

	if (!s)
		return;
	n = strlen(s);
	while (i < n) {
		k = res_utf8_next(s + i, n - i, &cp);
		if (cp < 0)
			fputs(replacement, f);
		else if (cp == '\n' || cp == '\r' || cp == '\t')
			fputc(' ', f);
		else if (cp < 0x20 || cp == 0x7F)
			fprintf(f, "\\x%02lx", cp);
		else if (cp >= 0x80 && cp <= 0x9F)
			fprintf(f, "\\u%04lx", cp);
		else if (tap && (cp == '#' || cp == '\\'))
			fprintf(f, "\\%c", (int)cp);
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
}
