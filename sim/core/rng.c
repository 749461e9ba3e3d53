/* rng.c — xoshiro256** (Blackman & Vigna), seeded through splitmix64.
 *
 * splitmix64 turns one 64-bit seed into the 256-bit state, which is what
 * the xoshiro authors recommend: it never yields the all-zero state in
 * practice and nearby seeds give unrelated states. */
#include "rng.h"

#define GOLDEN_GAMMA 0x9E3779B97F4A7C15u
#define FNV64_OFFSET 0xCBF29CE484222325u
#define FNV64_PRIME 0x100000001B3u

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* The splitmix64 finaliser: a bijection with full avalanche. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *state)
{
	*state += GOLDEN_GAMMA;
	return mix64(*state);
}

static void fill_state(rng_t *r, uint64_t sm)
{
	int i;

	/* Never the all-zero state (xoshiro would stay at zero forever):
	 * mix64 is a bijection and its four inputs differ, so at most one
	 * word can be 0. */
	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&sm);
}

void rng_seed(rng_t *r, uint64_t seed)
{
	fill_state(r, seed);
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = FNV64_OFFSET;

	for (; s && *s; s++) {
		h ^= (uint8_t)*s;
		h *= FNV64_PRIME;
	}
	return h;
}

void rng_derive(rng_t *out, const rng_t *parent, const char *label)
{
	uint64_t acc = fnv1a64(label);
	int i;

	/* Fold every parent word through the finaliser so that each bit of
	 * the parent and of the label reaches every bit of the child seed;
	 * the word's position is added so permuted states differ.  The parent
	 * is only read: deriving does not shift its stream. */
	for (i = 0; i < 4; i++)
		acc = mix64((acc ^ parent->s[i]) + GOLDEN_GAMMA * (uint64_t)(i + 1));
	fill_state(out, acc);
}

uint64_t rng_u64(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t rng_below(rng_t *r, uint32_t n)
{
	uint64_t m;
	uint32_t low, threshold;

	if (n <= 1)
		return 0;
	/* Multiply-shift maps 32 random bits onto [0, n); the products whose
	 * low half falls below 2^32 mod n are the surplus that would make
	 * some results more likely, so those draws are rejected. */
	m = (rng_u64(r) >> 32) * (uint64_t)n;
	low = (uint32_t)m;
	if (low < n) {
		threshold = (uint32_t)(0u - n) % n;
		while (low < threshold) {
			m = (rng_u64(r) >> 32) * (uint64_t)n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

void rng_bytes(rng_t *r, void *buf, size_t n)
{
	uint8_t *p = buf;

	/* Little-endian by construction, so the bytes do not depend on the
	 * host's byte order. */
	while (n > 0) {
		uint64_t v = rng_u64(r);
		size_t k = n < 8 ? n : 8, i;

		for (i = 0; i < k; i++, v >>= 8)
			*p++ = (uint8_t)v;
		n -= k;
	}
}
