/* fuzz_apdu.c — command APDU parsing (sim/core/apdu.h) and the hex codec.
 * A command that parses is built again from its fields and must parse
 * to the same fields: the parser and the builder agree. */
#include <stdlib.h>
#include <string.h>

#include "sim/core/apdu.h"
#include "tests/fuzz/fuzz.h"

static void same(const apdu_t *a, const apdu_t *b)
{
	if (a->cla != b->cla || a->ins != b->ins || a->p1 != b->p1 || a->p2 != b->p2 || a->lc != b->lc ||
	    a->le != b->le || (a->lc && memcmp(a->data, b->data, a->lc)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[APDU_MAX_DATA + 16];
	static char hex[2 * (APDU_MAX_DATA + 16) + 1];
	apdu_t a, b;
	size_t n;
	char *s;

	if (apdu_parse(&a, data, size) == 0) {
		n = apdu_build(out, sizeof out, a.cla, a.ins, a.p1, a.p2, a.data, a.lc, a.le);
		if (n == 0 || apdu_parse(&b, out, n) != 0)
			abort();
		same(&a, &b);
	}
	if (size <= APDU_MAX_DATA) {
		apdu_hex(data, size, hex);
		if (apdu_unhex(hex, out, sizeof out) != (long)size || (size && memcmp(out, data, size)))
			abort();
	}
	if ((s = fz_strndup(data, size))) {
		apdu_unhex(s, out, sizeof out);
		free(s);
	}
	return 0;
}
