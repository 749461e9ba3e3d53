/* bench_card.c — in-process speed of the My Number card simulator:
 * SELECT + READ BINARY pairs per second, and JPKI signatures per second.
 * Prints "key value" lines that run.sh sets beside their baselines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/fixtures/profile.h"
#include "hil/base/util.h"
#include "sim/card/card.h"
#include "sim/core/apdu.h"

static int xfer(sim_card_t *c, const char *hex, uint8_t *rsp, size_t *rn)
{
	uint8_t cmd[300];
	long n = apdu_unhex(hex, cmd, sizeof cmd);
	return n < 4 ? -1 : sim_card_transmit(c, cmd, (size_t)n, rsp, 300, rn);
}

static double now_s(void)
{
	return (double)util_now_ms() / 1000.0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	char err[512];
	profile_t *p = profile_load(profile_default_path(), err, sizeof err);
	rng_t rng;
	vclock_t clk = { 0 };
	sim_ctx_t ctx = { .rng = &rng, .clock = &clk, .nvm = nvm_new() };
	sim_card_t *card;
	uint8_t sel[16], rd[8], sign[64], rsp[300];
	size_t seln, rdn, signn, rn;
	long pairs = 0, sigs = 0;
	double t0, t;

	if (!p || !ctx.nvm) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	rng_seed(&rng, 1);
	if (sim_card_new(&card, profile_card(p), &ctx) < 0) {
		fprintf(stderr, "bench: card refused the default profile\n");
		return 1;
	}
	xfer(card, "00A4040C0AD392F000260100000001", rsp, &rn);
	seln = (size_t)apdu_unhex("00A4020C02000A", sel, sizeof sel);
	rdn = (size_t)apdu_unhex("00B0000000", rd, sizeof rd);

	/* Non-crypto: the pair a client uses to read a certificate. */
	t0 = now_s();
	do {
		for (int i = 0; i < 10000; i++) {
			sim_card_transmit(card, sel, seln, rsp, sizeof rsp, &rn);
			sim_card_transmit(card, rd, rdn, rsp, sizeof rsp, &rn);
		}
		pairs += 10000;
	} while ((t = now_s() - t0) < secs);
	if (apdu_sw(rsp, rn) != 0x9000) {
		fprintf(stderr, "bench: READ BINARY answered %04X\n", apdu_sw(rsp, rn));
		return 1;
	}
	printf("apdu_per_s %.0f\n", 2.0 * (double)pairs / t);

	/* Signing with the auth key: PIN once, then 80 2A over a SHA-256 DigestInfo. */
	xfer(card, "00A4020C020018", rsp, &rn);
	xfer(card, "002000800431323334", rsp, &rn);
	xfer(card, "00A4020C020017", rsp, &rn);
	signn = (size_t)apdu_unhex("802A0080333031300D060960864801650304020105000420"
				   "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00",
				   sign, sizeof sign);
	t0 = now_s();
	do {
		sim_card_transmit(card, sign, signn, rsp, sizeof rsp, &rn);
		sigs++;
	} while ((t = now_s() - t0) < secs * 2);
	if (rn != 258 || apdu_sw(rsp, rn) != 0x9000) {
		fprintf(stderr, "bench: signing answered %04X\n", apdu_sw(rsp, rn));
		return 1;
	}
	printf("sign_per_s %.1f\n", (double)sigs / t);

	sim_card_free(card);
	nvm_free(ctx.nvm);
	profile_free(p);
	return 0;
}
