/* test_rng.c — the run's generator against published reference values,
 * its determinism, derived streams, unbiased bounds; and the virtual
 * clock's calendar arithmetic against known instants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim/core/rng.h"
#include "sim/core/vclock.h"

/* splitmix64 from seed 0: its first outputs are the published reference
 * values, and rng_seed() uses them as the four state words. */
static void seed_is_splitmix64(void **state)
{
	rng_t r;

	(void)state;
	rng_seed(&r, 0);
	assert_true(r.s[0] == 0xE220A8397B1DCDAFu);
	assert_true(r.s[1] == 0x6E789E6AA1B965F4u);
	assert_true(r.s[2] == 0x06C45D188009454Fu);
	assert_true(r.s[3] == 0xF88BB8A8724C81ECu);
}

/* xoshiro256** from the state {1, 2, 3, 4}: the outputs of Vigna's
 * reference xoshiro256starstar.c, as published with rand_xoshiro. */
static void xoshiro_reference_outputs(void **state)
{
	static const uint64_t want[10] = {
		11520u, 0u, 1509978240u, 1215971899390074240u,
		1216172134540287360u, 607988272756665600u,
		16172922978634559625u, 8476171486693032832u,
		10595114339597558777u, 2904607092377533576u,
	};
	rng_t r = { { 1, 2, 3, 4 } };
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		assert_true(rng_u64(&r) == want[i]);
}

/* Seed 42 through splitmix64 then xoshiro256**: values that other
 * independent implementations of this same seeding publish. */
static void seed_42_outputs(void **state)
{
	rng_t r;

	(void)state;
	rng_seed(&r, 42);
	assert_true(rng_u64(&r) == 1546998764402558742u);
	assert_true(rng_u64(&r) == 6990951692964543102u);
	assert_true(rng_u64(&r) == 12544586762248559009u);
}

static void same_seed_same_bytes(void **state)
{
	uint8_t a[1000], b[1000], c[1000];
	rng_t x, y, z;

	(void)state;
	rng_seed(&x, 20240601);
	rng_seed(&y, 20240601);
	rng_seed(&z, 20240602);
	rng_bytes(&x, a, sizeof(a));
	rng_bytes(&y, b, sizeof(b));
	rng_bytes(&z, c, sizeof(c));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

/* rng_bytes is the little-endian serialisation of rng_u64, so the bytes
 * are the same on any host; a 3-byte tail consumes one whole draw. */
static void bytes_are_little_endian_draws(void **state)
{
	uint8_t got[11];
	rng_t r = { { 1, 2, 3, 4 } };
	uint64_t v;
	int i;

	(void)state;
	rng_bytes(&r, got, sizeof(got));
	/* From {1,2,3,4}: 11520 = 0x2D00 fills bytes 0..7, then the second
	 * output, 0, gives the 3-byte tail. */
	assert_memory_equal(got, "\x00\x2D\x00\x00\x00\x00\x00\x00\x00\x00\x00", 11);
	v = rng_u64(&r); /* the third output, untouched by the tail */
	assert_true(v == 1509978240u);
	rng_bytes(&r, got, 8);
	v = 1215971899390074240u;
	for (i = 0; i < 8; i++)
		assert_int_equal(got[i], (uint8_t)(v >> (8 * i)));
}

static int same_stream(rng_t a, rng_t b)
{
	int i;

	for (i = 0; i < 16; i++)
		if (rng_u64(&a) != rng_u64(&b))
			return 0;
	return 1;
}

static void derive_is_deterministic_and_distinct(void **state)
{
	rng_t root, root2, other, a1, a2, b, c, o;
	rng_t saved;

	(void)state;
	rng_seed(&root, 7);
	rng_seed(&root2, 7);
	rng_seed(&other, 8);
	saved = root;
	rng_derive(&a1, &root, "card");
	rng_derive(&a2, &root2, "card");
	rng_derive(&b, &root, "se");
	rng_derive(&c, &root, "cards");
	rng_derive(&o, &other, "card");
	assert_memory_equal(&root, &saved, sizeof(root)); /* parent untouched */
	assert_true(same_stream(a1, a2));
	assert_false(same_stream(a1, b));
	assert_false(same_stream(a1, c));
	assert_false(same_stream(a1, o));
	assert_false(same_stream(a1, root));
	/* A child of a child is yet another stream. */
	rng_derive(&c, &a1, "card");
	assert_false(same_stream(a1, c));
}

/* Every word of the parent counts, in its place: parents that differ
 * only by the order of their words, or whose words have the same xor,
 * still have different children. */
static void derive_mixes_every_parent_word(void **state)
{
	rng_t p1 = { { 1, 2, 3, 4 } }, p2 = { { 2, 1, 3, 4 } }, p3 = { { 4, 0, 0, 0 } };
	rng_t c1, c2, c3;

	(void)state;
	assert_true((p1.s[0] ^ p1.s[1] ^ p1.s[2] ^ p1.s[3]) == (p3.s[0] ^ p3.s[1] ^ p3.s[2] ^ p3.s[3]));
	rng_derive(&c1, &p1, "x");
	rng_derive(&c2, &p2, "x");
	rng_derive(&c3, &p3, "x");
	assert_false(same_stream(c1, c2));
	assert_false(same_stream(c1, c3));
	assert_false(same_stream(c2, c3));
}

/* The point of derive: drawing more from one actor's stream does not
 * change what another actor gets. */
static void derive_streams_are_independent(void **state)
{
	rng_t root, alice, bob, bob_ref;
	uint64_t want[4];
	int i;

	(void)state;
	rng_seed(&root, 99);
	rng_derive(&bob_ref, &root, "bob");
	for (i = 0; i < 4; i++)
		want[i] = rng_u64(&bob_ref);

	rng_derive(&alice, &root, "alice");
	for (i = 0; i < 1000; i++)
		(void)rng_u64(&alice);
	rng_derive(&bob, &root, "bob");
	for (i = 0; i < 4; i++)
		assert_true(rng_u64(&bob) == want[i]);
}

static void below_in_range(void **state)
{
	int seen[6] = { 0 };
	rng_t r;
	int i;

	(void)state;
	rng_seed(&r, 1);
	for (i = 0; i < 1000; i++)
		assert_int_equal(rng_below(&r, 1), 0);
	for (i = 0; i < 1000; i++) {
		uint32_t v = rng_below(&r, 6);

		assert_true(v < 6);
		seen[v]++;
	}
	for (i = 0; i < 6; i++)
		assert_true(seen[i] > 100);
	for (i = 0; i < 1000; i++)
		assert_true(rng_below(&r, 0xFFFFFFFFu) < 0xFFFFFFFFu);
}

/* n = 3 * 2^30 makes both classic biases huge: "x % n" gives values
 * below 2^30 half of the time (not a third), and an unrejected
 * multiply-shift gives multiples of 3 half of the time (not a third).
 * With 60000 draws one standard deviation is about 115. */
static void below_is_unbiased(void **state)
{
	const uint32_t n = 0xC0000000u;
	const int draws = 60000;
	int low = 0, mult3 = 0, i;
	rng_t r;

	(void)state;
	rng_seed(&r, 12345);
	for (i = 0; i < draws; i++) {
		uint32_t v = rng_below(&r, n);

		assert_true(v < n);
		low += v < (1u << 30);
		mult3 += v % 3 == 0;
	}
	assert_in_range(low, draws / 3 - 1000, draws / 3 + 1000);
	assert_in_range(mult3, draws / 3 - 1000, draws / 3 + 1000);
}

/* ---- vclock ---- */

static void clock_is(const char *s, int64_t t)
{
	int64_t got = 12345;
	char out[16];

	if (vclock_parse(s, &got) != 0 || got != t)
		fail_msg("parse %s: got %lld, want %lld", s, (long long)got, (long long)t);
	vclock_format(t, out);
	assert_string_equal(out, s);
}

static void clock_known_instants(void **state)
{
	(void)state;
	clock_is("19700101000000Z", 0);
	clock_is("19691231235959Z", -1);
	clock_is("19800101000000Z", 315532800);
	clock_is("19800106000000Z", 315964800); /* the GPS epoch */
	clock_is("19800217000000Z", 319593600);
	clock_is("20000229000000Z", 951782400);
	clock_is("20000301000000Z", 951868800);
	clock_is("20380119031407Z", 2147483647);
	clock_is("20380119031408Z", 2147483648);
	clock_is("19000301000000Z", -2203891200);
	clock_is("16000229000000Z", -11670998400);
	clock_is("24000229123456Z", 13574608496);
	clock_is("00000101000000Z", -62167219200);
	clock_is("99991231235959Z", 253402300799);
}

static void clock_rejects(void **state)
{
	static const char *const bad[] = {
		"20000230000000Z", /* Feb 30 */
		"19000229000000Z", /* 1900 is not a leap year */
		"21000229000000Z",
		"20230229000000Z",
		"20000431000000Z", /* April has 30 days */
		"20001301000000Z", "20000001000000Z", "20000100000000Z",
		"20000101240000Z", "20000101006000Z", "20000101000060Z",
		"2000010100000Z",  /* too short */
		"200001010000000Z", "20000101000000",  "20000101000000z",
		"20000101000000Z ", "2000-1-01000000Z", "20000101 00000Z", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t = 777;

		if (vclock_parse(bad[i], &t) != -1 || t != 777)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(vclock_parse(NULL, NULL), -1);
}

/* Random instants across 0000..9999 round-trip through the text form. */
static void clock_round_trip_sweep(void **state)
{
	const int64_t lo = -62167219200, hi = 253402300799;
	char s[16];
	rng_t r;
	int i;

	(void)state;
	rng_seed(&r, 3);
	for (i = 0; i < 200000; i++) {
		int64_t t = lo + (int64_t)(rng_u64(&r) % (uint64_t)(hi - lo + 1)), back;

		vclock_format(t, s);
		assert_int_equal(vclock_parse(s, &back), 0);
		assert_true(back == t);
	}
}

static void clock_format_saturates(void **state)
{
	char s[16];

	(void)state;
	vclock_format(-62167219201, s);
	assert_string_equal(s, "00000101000000Z");
	vclock_format(INT64_MIN, s);
	assert_string_equal(s, "00000101000000Z");
	vclock_format(253402300800, s);
	assert_string_equal(s, "99991231235959Z");
	vclock_format(INT64_MAX, s);
	assert_string_equal(s, "99991231235959Z");
}

static void clock_moves_only_when_told(void **state)
{
	vclock_t c;

	(void)state;
	vclock_set(&c, 951782400);
	assert_true(vclock_now(&c) == 951782400);
	vclock_advance(&c, 86400);
	assert_true(vclock_now(&c) == 951868800);
	vclock_advance(&c, -2 * 86400);
	assert_true(vclock_now(&c) == 951696000);
	vclock_advance(&c, INT64_MAX);
	assert_true(vclock_now(&c) == INT64_MAX); /* saturates, no overflow */
	vclock_set(&c, -5);
	vclock_advance(&c, INT64_MIN);
	assert_true(vclock_now(&c) == INT64_MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_is_splitmix64),
		cmocka_unit_test(xoshiro_reference_outputs),
		cmocka_unit_test(seed_42_outputs),
		cmocka_unit_test(same_seed_same_bytes),
		cmocka_unit_test(bytes_are_little_endian_draws),
		cmocka_unit_test(derive_is_deterministic_and_distinct),
		cmocka_unit_test(derive_mixes_every_parent_word),
		cmocka_unit_test(derive_streams_are_independent),
		cmocka_unit_test(below_in_range),
		cmocka_unit_test(below_is_unbiased),
		cmocka_unit_test(clock_known_instants),
		cmocka_unit_test(clock_rejects),
		cmocka_unit_test(clock_round_trip_sweep),
		cmocka_unit_test(clock_format_saturates),
		cmocka_unit_test(clock_moves_only_when_told),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
