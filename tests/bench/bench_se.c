/* bench_se.c — the FeliCa-SE in process, through its APDU interface (the
 * card manager, its NVM counter write and registry included, not only
 * the SCP03 crypto of bench_scp03): SCP03 sessions opened per second
 * (INITIALIZE UPDATE + EXTERNAL AUTHENTICATE, host side included), and
 * wrapped commands per second at level 33 (GET STATUS of the ISD,
 * answered with R-ENC and R-MAC), and FeliCa Read Without Encryption
 * frames per second.  Usage: bench_se [seconds per figure]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/core/apdu.h"
#include "sim/gp/scp03.h"
#include "sim/se/se.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t rsp[APDU_MAX_RSP];
static size_t rn;

static int send(sim_se_t *se, const uint8_t *c, size_t n)
{
	return sim_se_transmit(se, c, n, rsp, sizeof rsp, &rn) == SIM_OK && rn >= 2 ? apdu_sw(rsp, rn) : -1;
}

static int open_session(sim_se_t *se, scp03_session_t *h, const scp03_keyset_t *k, uint8_t level)
{
	static const uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t cmd[64];
	size_t n;

	if (scp03_host_init_update(h, 0x30, hc, 8, cmd, sizeof cmd, &n) < 0 || send(se, cmd, n) != 0x9000 ||
	    scp03_host_open(h, k, rsp, rn, level, cmd, sizeof cmd, &n) < 0 || send(se, cmd, n) != 0x9000 ||
	    scp03_host_auth_result(h, rsp, rn) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
	static const uint8_t gs[] = { 0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00 };
	uint8_t w[128], frame[32];
	se_profile_t p;
	scp03_keyset_t k;
	scp03_session_t h;
	rng_t rng;
	vclock_t clk = { 0 };
	sim_ctx_t ctx;
	sim_se_t *se;
	long n;
	size_t wn, fn;

	se_profile_defaults(&p);
	rng_seed(&rng, 1);
	ctx = (sim_ctx_t){ .rng = &rng, .clock = &clk, .nvm = nvm_new() };
	if (!ctx.nvm || sim_se_new(&se, &p, &ctx) != SIM_OK)
		return 1;
	memset(&k, 0, sizeof k);
	memset(&h, 0, sizeof h);
	k.kvn = 0x30;
	k.key_len = 16;
	memcpy(k.enc, p.keysets[0].enc, 16);
	memcpy(k.mac, p.keysets[0].mac, 16);
	memcpy(k.dek, p.keysets[0].dek, 16);

	t0 = now();
	for (n = 0; (t = now()) - t0 < secs; n++)
		if (open_session(se, &h, &k, 0x33) < 0)
			return 2;
	printf("se_sessions_per_s %.0f\n", n / (t - t0));

	t0 = now();
	for (n = 0; (t = now()) - t0 < secs; n++) {
		uint8_t out[APDU_MAX_RSP];
		size_t on;

		if (scp03_host_wrap(&h, gs, sizeof gs, w, sizeof w, &wn) < 0 || send(se, w, wn) != 0x9000 ||
		    scp03_host_unwrap_rsp(&h, rsp, rn, out, sizeof out, &on) < 0)
			return 3;
	}
	printf("se_wrapped_per_s %.0f\n", n / (t - t0));

	/* Read Without Encryption, one block of service 000B. */
	fn = (size_t)apdu_unhex("10060000000000000000010B00018000", frame, sizeof frame);
	memcpy(frame + 2, p.felica.idm, 8);
	t0 = now();
	for (n = 0; (t = now()) - t0 < secs; n++)
		if (sim_se_felica(se, frame, fn, rsp, sizeof rsp, &rn) != SIM_OK || rn != 29)
			return 4;
	printf("se_felica_read_per_s %.0f\n", n / (t - t0));

	scp03_session_close(&h);
	sim_se_free(se);
	nvm_free(ctx.nvm);
	return 0;
}
