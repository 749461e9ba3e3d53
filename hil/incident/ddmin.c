/* ddmin.c — the ddmin loop (ddmin.h).
 *
 * The current failing set c is cut into `gran` chunks.  A chunk that
 * fails alone replaces c (and gran goes back to 2); else a complement (c
 * without one chunk) that fails replaces c (gran one less); else the
 * chunks are made finer, until they are single elements: then no single
 * element can go, and c is 1-minimal. */
#include <stdlib.h>
#include <string.h>

#include "hil/incident/ddmin.h"

/* The k-th of gran chunks of c[0..n): [*from, *to). */
static void chunk(size_t n, size_t gran, size_t k, size_t *from, size_t *to)
{
	*from = n * k / gran;
	*to = n * (k + 1) / gran;
}

int dd_min(size_t n, dd_test_fn *test, void *ud, dd_result_t *r)
{
	size_t *c = malloc((n + 1) * sizeof *c), *t = malloc((n + 1) * sizeof *t);
	size_t cn = n, gran = 2;

	memset(r, 0, sizeof *r);
	if (!c || !t)
		goto fail;
	for (size_t i = 0; i < n; i++)
		c[i] = i;
	while (cn >= 2) {
		int reduced = 0;

		if (gran > cn)
			gran = cn;
		/* a chunk alone */
		for (size_t k = 0; k < gran && !reduced; k++) {
			size_t from, to;
			int f;
			chunk(cn, gran, k, &from, &to);
			r->tests++;
			if ((f = test(ud, c + from, to - from)) < 0)
				goto fail;
			if (f) {
				memmove(c, c + from, (to - from) * sizeof *c);
				cn = to - from;
				gran = 2;
				reduced = 1;
			}
		}
		/* c without a chunk (with two chunks, that is the other chunk:
		 * already tested) */
		for (size_t k = 0; gran > 2 && k < gran && !reduced; k++) {
			size_t from, to, tn = 0;
			int f;
			chunk(cn, gran, k, &from, &to);
			for (size_t i = 0; i < cn; i++)
				if (i < from || i >= to)
					t[tn++] = c[i];
			r->tests++;
			if ((f = test(ud, t, tn)) < 0)
				goto fail;
			if (f) {
				memcpy(c, t, tn * sizeof *c);
				cn = tn;
				gran = gran - 1 < 2 ? 2 : gran - 1;
				reduced = 1;
			}
		}
		if (reduced)
			continue;
		if (gran >= cn)
			break; /* single elements, none removable: 1-minimal */
		gran = 2 * gran < cn ? 2 * gran : cn;
	}
	free(t);
	r->idx = c;
	r->n = cn;
	return 0;
fail:
	free(c);
	free(t);
	return -1;
}
