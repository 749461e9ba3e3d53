/* fuzz_se_profile.c — the SE profile loader (hil/fixtures/se_profile.c): the input
 * is the Lua file, next to the fixtures' keys.  A profile that loads
 * must build an SE or be refused by it cleanly. */
#include "hil/fixtures/se_profile.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_file("se", "fuzz.lua", data, size);
	char err[512];
	seprof_t *p;
	sim_se_t *se;
	fz_sim_t s;

	if (!path || !(p = seprof_load(path, err, sizeof err)))
		return 0;
	fz_sim_init(&s, NULL);
	if (sim_se_new(&se, seprof_get(p), &s.ctx) == SIM_OK)
		sim_se_free(se);
	fz_sim_done(&s);
	seprof_free(p);
	return 0;
}
