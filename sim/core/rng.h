/* rng.h — the run's deterministic random generator.
 *
 * xoshiro256** seeded through splitmix64: not a cryptographic generator,
 * but every challenge, serial and key choice of a run comes from here, so
 * the same seed gives the same bytes. */
#ifndef RNG_H
#define RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
	uint64_t s[4];
} rng_t;

void rng_seed(rng_t *r, uint64_t seed);
/* An independent stream derived from r's seed and a label, so that adding
 * draws to one actor does not shift the values another actor sees. */
void rng_derive(rng_t *out, const rng_t *parent, const char *label);
uint64_t rng_u64(rng_t *r);
uint32_t rng_below(rng_t *r, uint32_t n); /* uniform in [0, n), n > 0 */
void rng_bytes(rng_t *r, void *buf, size_t n);

#endif
