/* fuzz_pn532.c — the software PN532's host-link frames (hil/serve/pn532.h)
 * with the default card as its Type B target and the default SE as
 * FeliCa and Type A.  Byte 0 is how many bytes each read brings (0: all
 * at once); bit 7 of byte 1 makes the host go away half-way (a new
 * client: pn532_host_reset).  The output is drained as a client would. */
#include <stdlib.h>

#include "hil/serve/pn532.h"
#include "tests/fuzz/links.h"

static void drain(pn532_t *p)
{
	size_t n;

	pn532_output(p, &n);
	pn532_consume(p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pn532_ident_t id = { { 0x11, 0x22, 0x33, 0x44 }, { 0x08, 0x55, 0x66, 0x77 } };
	fz_link_t card, se;
	size_t chunk, off, half;
	pn532_t *p;

	if (size < 2)
		return 0;
	chunk = data[0] ? data[0] : size;
	half = data[1] & 0x80 ? size / 2 : size;
	fz_link_card(&card);
	fz_link_se(&se);
	if (!(p = pn532_new(&card.l, &se.l, &id)))
		abort();
	for (off = 2; off < size;) {
		size_t m = size - off < chunk ? size - off : chunk;

		if (off < half && off + m > half)
			m = half - off;
		if (pn532_feed(p, data + off, m) < 0)
			abort();
		drain(p);
		off += m;
		if (off == half)
			pn532_host_reset(p);
	}
	pn532_free(p);
	fz_link_done(&se);
	fz_link_done(&card);
	return 0;
}
