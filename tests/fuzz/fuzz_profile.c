/* fuzz_profile.c — the card profile loader (hil/fixtures/profile.c): the input is
 * the Lua file, next to the fixtures' keys and certificates.  A profile
 * that loads must personalise a card or be refused by it cleanly. */
#include "hil/fixtures/profile.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_file("profiles", "fuzz.lua", data, size);
	char err[512];
	profile_t *p;
	sim_card_t *c;
	fz_sim_t s;

	if (!path || !(p = profile_load(path, err, sizeof err)))
		return 0;
	fz_sim_init(&s, NULL);
	if (sim_card_new(&c, profile_card(p), &s.ctx) == SIM_OK)
		sim_card_free(c);
	fz_sim_done(&s);
	profile_free(p);
	return 0;
}
