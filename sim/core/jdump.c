/* jdump.c — compact JSON text, as json_dumps writes it (jdump.h).
 *
 * What json_dumps (jansson 2.14, dump.c) does with JSON_COMPACT, and so
 * what this does too: separators "," and ":" with no space; a string's
 * '"' and '\\' escaped with a backslash, \b \f \n \r \t by name, the other
 * bytes below 0x20 as \u00XX (upper-case hex), everything else (UTF-8
 * included) as it is; integers with JSON_INTEGER_FORMAT; keys in
 * iteration order, or with JSON_SORT_KEYS by memcmp over the shorter
 * length, the shorter first on a tie.  Reals, rare in a record, are
 * written by jansson itself, and a tree too deep to be a record (or a
 * loop) goes to json_dumps whole, so the answer is its answer. */
#include "jdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256 /* deeper: json_dumps decides (a loop is its NULL) */

typedef struct out {
	char *p;
	size_t n, cap;
	int err;  /* out of memory, or not writable here */
	int deep; /* too deep: json_dumps instead */
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->n + n + 1 > o->cap) {
		size_t c = o->cap ? o->cap : 256;
		char *p;
		while (c < o->n + n + 1)
			c *= 2;
		if (!(p = realloc(o->p, c))) {
			o->err = 1;
			return;
		}
		o->p = p;
		o->cap = c;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

/* Bytes a string cannot carry as they are: the escape json_dumps
 * writes, or 0 for a byte that goes through. */
static const char *escape(unsigned char c, char seq[8])
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		snprintf(seq, 8, "\\u%04X", (unsigned)c);
		return seq;
	}
}

static void put_string(out_t *o, const char *s, size_t n)
{
	size_t run = 0;
	char seq[8];

	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = c == '"' || c == '\\' || c < 0x20 ? escape(c, seq) : NULL;
		if (!e)
			continue;
		put(o, s + run, i - run);
		put(o, e, strlen(e));
		run = i + 1;
	}
	put(o, s + run, n - run);
	put(o, "\"", 1);
}

typedef struct key {
	const char *k;
	size_t n;
	json_t *v;
} ent_t;

static int key_cmp(const void *a, const void *b)
{
	const ent_t *x = a, *y = b;
	int r = memcmp(x->k, y->k, x->n < y->n ? x->n : y->n);

	return r ? r : (x->n > y->n) - (x->n < y->n);
}

static void put_value(out_t *o, const json_t *v, int sort, int depth)
{
	char num[32];

	if (o->err || o->deep)
		return;
	if (depth > MAX_DEPTH) {
		o->deep = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_NULL:
		put(o, "null", 4);
		return;
	case JSON_TRUE:
		put(o, "true", 4);
		return;
	case JSON_FALSE:
		put(o, "false", 5);
		return;
	case JSON_INTEGER: {
		int k = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(o, num, (size_t)k);
		return;
	}
	case JSON_REAL: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!s) {
			o->err = 1;
			return;
		}
		put(o, s, strlen(s));
		free(s);
		return;
	}
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		return;
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		put(o, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				put(o, ",", 1);
			put_value(o, json_array_get(v, i), sort, depth + 1);
		}
		put(o, "]", 1);
		return;
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		ent_t *keys = malloc((n ? n : 1) * sizeof *keys);
		void *it;
		if (!keys) {
			o->err = 1;
			return;
		}
		for (it = json_object_iter((json_t *)v); it && i < n; it = json_object_iter_next((json_t *)v, it), i++)
			keys[i] = (ent_t){ json_object_iter_key(it), json_object_iter_key_len(it), json_object_iter_value(it) };
		if (sort)
			qsort(keys, i, sizeof *keys, key_cmp);
		put(o, "{", 1);
		for (size_t k = 0; k < i; k++) {
			if (k)
				put(o, ",", 1);
			put_string(o, keys[k].k, keys[k].n);
			put(o, ":", 1);
			put_value(o, keys[k].v, sort, depth + 1);
		}
		put(o, "}", 1);
		free(keys);
		return;
	}
	default:
		o->err = 1;
	}
}

char *jdump(const json_t *j, int sort, size_t *n)
{
	out_t o = { 0 };

	if (!json_is_object(j) && !json_is_array(j))
		return NULL;
	put_value(&o, j, sort, 0);
	if (o.deep && !o.err) {
		free(o.p);
		o.p = json_dumps(j, JSON_COMPACT | (sort ? JSON_SORT_KEYS : 0));
		if (o.p && n)
			*n = strlen(o.p);
		return o.p;
	}
	if (o.err) {
		free(o.p);
		return NULL;
	}
	o.p[o.n] = 0;
	if (n)
		*n = o.n;
	return o.p;
}
