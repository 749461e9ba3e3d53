/* fuzz_card.c — the My Number card: a fresh default card, then records
 * (fuzz.h) by op:
 *   0 (and any op not below)  a command APDU
 *   1  cold reset      2  tear at the (1 + byte 0)-th NVM write from now
 *   3  warm reset
 * A torn card is powered up at once: recovery is what tears test. */
#include <stdlib.h>

#include "sim/core/apdu.h"
#include "tests/fuzz/fuzz.h"

enum { OP_APDU, OP_COLD, OP_TEAR, OP_WARM };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp[APDU_MAX_RSP];
	fz_in_t in = { data, size };
	fz_rec_t r;
	fz_sim_t s;
	sim_card_t *c;
	size_t n;

	fz_sim_init(&s, NULL);
	if (fz_card_new(&c, &s) != SIM_OK)
		abort();
	while (fz_next(&in, &r)) {
		switch (r.op) {
		case OP_COLD:
			sim_card_power(c, SIM_POWER_COLD);
			break;
		case OP_WARM:
			sim_card_power(c, SIM_POWER_WARM);
			break;
		case OP_TEAR:
			nvm_tear_at(s.ctx.nvm, 1 + (r.n ? r.p[0] : 0));
			break;
		default:
			if (sim_card_transmit(c, r.p, r.n, rsp, sizeof rsp, &n) == SIM_ERR_MUTE)
				sim_card_power(c, SIM_POWER_COLD);
			break;
		}
	}
	sim_card_free(c);
	fz_sim_done(&s);
	return 0;
}
