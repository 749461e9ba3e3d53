/* fuzz.h — what the fuzz targets share (tests/fuzz/README.md).
 *
 * Each target is one file with LLVMFuzzerTestOneInput: built with
 * clang's -fsanitize=fuzzer it is a libFuzzer binary (make fuzz); built
 * with replay.c's main() it replays a corpus directory (the gcc test
 * build's regression).  Every input starts from fresh simulators, so a
 * crash reproduces from its one file. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "sim/card/card.h"
#include "sim/core/sim.h"
#include "sim/se/se.h"
#include "sim/ios/ios.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input cut into records: an op byte, a 2-byte big-endian length,
 * then that many bytes (fewer if the input ends first).  Binary, so that
 * any input means something; gen-corpus.sh writes the seeds. */
typedef struct fz_in {
	const uint8_t *p;
	size_t n;
} fz_in_t;

typedef struct fz_rec {
	uint8_t op;
	const uint8_t *p;
	size_t n;
} fz_rec_t;

/* 1 with the next record in r, 0 when the input is used up. */
int fz_next(fz_in_t *in, fz_rec_t *r);

/* The harness's part of a simulator: a fixed seed, a clock, an NVM. */
typedef struct fz_sim {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
} fz_sim_t;

/* ctx on nvm (a fresh one when NULL; fz_sim_done frees it either way). */
void fz_sim_init(fz_sim_t *s, nvm_t *nvm);
void fz_sim_done(fz_sim_t *s);

/* The fixtures' default card and SE profiles, loaded once through the
 * harness's own loaders (hil/fixtures/profile.c, hil/fixtures/se_profile.c); abort() if
 * they do not load, as no input can then be tested. */
const card_profile_t *fz_card_profile(void);
const se_profile_t *fz_se_profile(void);

/* A fresh default card / SE on s, whose NVM is replaced by a copy of
 * the image of a personalised one (common.c); SIM_OK or the error. */
int fz_card_new(sim_card_t **c, fz_sim_t *s);
int fz_se_new(sim_se_t **se, fz_sim_t *s);
/* An iPhone (fixtures/ios/default.lua) holding a credential: its key
 * pairs certified by certificates the wallet issuer's key (pool 57) signs,
 * auth PIN FZ_IOS_AUTH, sign password FZ_IOS_SIGN. */
#define FZ_IOS_AUTH "2468"
#define FZ_IOS_SIGN "IPHONE2026"
int fz_ios_new(sim_ios_t **d, fz_sim_t *s);

/* The input as a file for the loaders that read files: dir/name under a
 * scratch directory made once per process, next to symlinks "keys" and
 * "pki" to the fixtures' (profiles name them as ../keys/..., ../pki/...),
 * removed at exit.  Returns the path (static), or NULL. */
const char *fz_file(const char *dir, const char *name, const uint8_t *p, size_t n);

/* The input as a NUL-terminated string (malloc'd; NULL when out of memory). */
char *fz_strndup(const uint8_t *p, size_t n);

#endif
