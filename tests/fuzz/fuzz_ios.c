/* fuzz_ios.c — the iPhone (sim/ios): a provisioned default iPhone
 * (fuzz.h, fz_ios_new), then records (fuzz.h) by op:
 *   0 (and any op not below)  a command APDU
 *   1  cold reset     2  tear at the (1 + byte 0)-th NVM write from now
 *   3  warm reset     4  biometric state byte 0 % 4
 *   5  keygen of slot byte 0 & 1          6  factory reset
 *   7  remove         8  attest the record's bytes as the challenge
 *   9  PIN reset: the record as the auth PIN (bytes 0..3) and sign
 *      password (the rest), as the wallet would pass them
 * A torn device is powered up at once: recovery is what tears test. */
#include <stdlib.h>
#include <string.h>

#include "sim/core/apdu.h"
#include "tests/fuzz/fuzz.h"

enum { OP_APDU, OP_COLD, OP_TEAR, OP_WARM, OP_BIO, OP_KEYGEN, OP_RESET, OP_REMOVE, OP_ATTEST, OP_PINS };

static int pins(sim_ios_t *d, const fz_rec_t *r)
{
	char auth[5] = "", sign[17] = "";
	size_t an = r->n < 4 ? r->n : 4, sn = r->n - an < 16 ? r->n - an : 16;

	memcpy(auth, r->p, an);
	memcpy(sign, r->p + an, sn);
	return ios_set_pins(d, an ? auth : NULL, sn ? sign : NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp[APDU_MAX_RSP], spki[IOS_SPKI_MAX];
	fz_in_t in = { data, size };
	ios_attestation_t att;
	fz_rec_t r;
	fz_sim_t s;
	sim_ios_t *d;
	size_t n;
	int rc = SIM_OK;

	fz_sim_init(&s, NULL);
	if (fz_ios_new(&d, &s) != SIM_OK)
		abort();
	while (fz_next(&in, &r)) {
		switch (r.op) {
		case OP_COLD: sim_ios_power(d, SIM_POWER_COLD); continue;
		case OP_WARM: sim_ios_power(d, SIM_POWER_WARM); continue;
		case OP_TEAR: nvm_tear_at(s.ctx.nvm, 1 + (r.n ? r.p[0] : 0)); continue;
		case OP_BIO: ios_biometric(d, (enum ios_bio)(r.n ? r.p[0] % IOS_BIO_COUNT : 0)); continue;
		case OP_KEYGEN: rc = ios_keygen(d, r.n && (r.p[0] & 1) ? IOS_SLOT_SIGN : IOS_SLOT_AUTH, spki, sizeof spki, &n); break;
		case OP_RESET: rc = ios_factory_reset(d); break;
		case OP_REMOVE: rc = ios_remove(d); break;
		case OP_ATTEST: rc = ios_attest(d, r.p, r.n, &att); break;
		case OP_PINS: rc = pins(d, &r); break;
		default: rc = sim_ios_transmit(d, r.p, r.n, rsp, sizeof rsp, &n); break;
		}
		if (rc == SIM_ERR_MUTE)
			sim_ios_power(d, SIM_POWER_COLD);
	}
	sim_ios_free(d);
	fz_sim_done(&s);
	return 0;
}
