/* fuzz_nvm.c — NVM images with arbitrary records: a state file is input
 * like any other (`--state`, w:open).  The harness wraps the input in a
 * valid image (magic, version, checksum), so the fuzzer works on the
 * records themselves; nvm_load must take or refuse it, and a card or an
 * SE built on what it took must refuse it too or answer commands.
 *
 * Byte 0: bit 0 picks the SE (else the card).  The rest is the image
 * between its version byte and its checksum (sim/core/nvm.c, "images").
 * mknvm.c writes the seeds from real cards and SEs. */
#include <stdlib.h>
#include <string.h>

#include "sim/core/apdu.h"
#include "tests/fuzz/host.h"

#define MAGIC "MYNVM1\x01"
#define MAGIC_LEN 7

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* What reaches most records: the applets selected, files read, PINs
 * tried (the card); a session, GET STATUS, the applet and FeliCa (the SE). */
static const char *const card_script[] = {
	"00A4040C0AD392F000260100000001", "00A4020C020006", "00B0000000", "00A4020C020018",
	"0020008000", "00A4020C02001B", "0020008000", "00A4020C020001", "00B0000000",
	"00A4040C0AD3921000310001010408", "00A4020C020011", "0020008000", NULL,
};
static const char *const se_wrapped[] = {
	"80F28002024F0000", "80F24002024F0000", "80F21002024F0000", "80CA006600", "80CA9F7F00",
	"80E2880003060000", NULL,
};
static const char *const se_raw[] = {
	"00A4040C0AD392F000260100000001", "00A4020C020006", "00B0000000", "0020008100", "0020008200",
	"0600FFFF0100", NULL,
};

static void run_card(fz_sim_t *s)
{
	static uint8_t cmd[300], rsp[APDU_MAX_RSP];
	sim_card_t *c;
	size_t n;

	/* Not fz_card_new: that would put the default card's image over s's. */
	if (sim_card_new(&c, fz_card_profile(), &s->ctx) != SIM_OK)
		return;
	sim_card_power(c, SIM_POWER_COLD);
	for (int i = 0; card_script[i]; i++) {
		long k = apdu_unhex(card_script[i], cmd, sizeof cmd);
		sim_card_transmit(c, cmd, (size_t)k, rsp, sizeof rsp, &n);
	}
	sim_card_free(c);
}

static void run_se(fz_sim_t *s)
{
	static fz_host_t h;
	static uint8_t cmd[300];
	int i;

	memset(&h, 0, sizeof h);
	if (sim_se_new(&h.se, fz_se_profile(), &s->ctx) != SIM_OK)
		return;
	sim_se_power(h.se, SIM_POWER_COLD);
	h.level = 0x03;
	for (i = 0; se_wrapped[i]; i++)
		fz_host_send(&h, cmd, (size_t)apdu_unhex(se_wrapped[i], cmd, sizeof cmd));
	for (i = 0; se_raw[i]; i++) {
		size_t n = (size_t)apdu_unhex(se_raw[i], cmd, sizeof cmd);
		/* The last one is a FeliCa Polling (LEN 06, code 00). */
		if (sim_se_is_felica(h.se, cmd, n))
			sim_se_felica(h.se, cmd, n, h.rsp, sizeof h.rsp, &h.rsplen);
		else
			fz_host_raw(&h, cmd, n);
	}
	fz_host_close(&h);
	sim_se_free(h.se);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	size_t n;
	uint64_t sum;
	fz_sim_t s;

	if (size < 1)
		return 0;
	n = MAGIC_LEN + size - 1;
	if (!(img = malloc(n + 8)))
		return 0;
	memcpy(img, MAGIC, MAGIC_LEN);
	memcpy(img + MAGIC_LEN, data + 1, size - 1);
	sum = fnv1a(img, n);
	for (int i = 0; i < 8; i++)
		img[n + i] = (uint8_t)(sum >> (56 - 8 * i));
	fz_sim_init(&s, NULL);
	if (nvm_load(s.ctx.nvm, img, n + 8) == NVM_OK) {
		if (data[0] & 1)
			run_se(&s);
		else
			run_card(&s);
	}
	fz_sim_done(&s);
	free(img);
	return 0;
}
