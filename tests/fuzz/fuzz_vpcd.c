/* fuzz_vpcd.c — vsmartcard's vpcd framing as serve card --vpcd reads it
 * (hil/serve/serve_vpcd.c, serve_vpcd_feed): length-prefixed control codes and
 * APDUs from pcscd's driver, to a fresh default card.  Byte 0 is how
 * many bytes each read returns (0: everything at once), so frames split
 * across reads are fuzzed too.  Every answer must be one well-formed
 * frame. */
#include <stdlib.h>

#include "hil/serve/serve.h"
#include "tests/fuzz/links.h"

static int check_frame(void *arg, const uint8_t *frame, size_t len)
{
	(void)arg;
	if (len < 2 || len != 2 + ((size_t)frame[0] << 8 | frame[1]))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_link_t card;

	if (size < 1)
		return 0;
	fz_link_card(&card);
	if (serve_vpcd_feed(&card.l, data + 1, size - 1, data[0], check_frame, NULL) < 0)
		abort();
	fz_link_done(&card);
	return 0;
}
