/* fuzz_se.c — the FeliCa-SE behind an SCP03 session opened by sim/gp's
 * host side, with tears.
 *
 * Byte 0 picks the session: level (fz_levels[b % 6]), 16-byte host
 * challenge (b & 0x08), logical channel (b >> 4 & 3, opened with MANAGE
 * CHANNEL first).  Then records (fuzz.h), by op (FZ_SE_*, host.h):
 *   0 (and any op not below)  the command wrapped by the host
 *   1  the command raw (applets, SELECT, a command out of session)
 *   2  tear at the (1 + byte 0)-th NVM write from now
 *   3  cold reset (the session is opened again when next needed)
 *   4  a FeliCa frame
 *   5  a new session at level fz_levels[byte 0 % 6]
 * A torn SE is powered up at once (host.c).  mkcorpus.c writes seeds
 * that load, install and personalise the applet and then use it. */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fz_host_t h;
	fz_in_t in = { data, size };
	fz_rec_t r;
	fz_sim_t s;

	if (size < 1)
		return 0;
	memset(&h, 0, sizeof h);
	fz_sim_init(&s, NULL);
	if (fz_se_new(&h.se, &s) != SIM_OK)
		abort();
	fz_host_start(&h, data[0]);
	in.p++;
	in.n--;
	while (fz_next(&in, &r))
		fz_host_step(&h, s.ctx.nvm, &r);
	fz_host_close(&h);
	sim_se_free(h.se);
	fz_sim_done(&s);
	return 0;
}
