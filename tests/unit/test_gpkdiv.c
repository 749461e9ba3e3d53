/* test_gpkdiv.c — diversified card keys (sim/gp/gpkdiv.h, docs/se.md#diversified-keys)
 * byte for byte:
 *   - GlobalPlatformPro's own KDF3 vector (library/src/test/java/pro/javacard/gp/
 *     TestSCP03.java, testKDF3: an AES-256 master, KDD D9B1DE5D0362DEDCE4FB, ENC);
 *   - the fixture SE's keys (the GP test key 40..4F as master, the default
 *     profile's CPLC): computed independently with Python's `cryptography`
 *     CMAC over 01 ‖ 00 00 00 t 00 ‖ KDD, as docs/se.md shows;
 *   - the KDD taken from a CPLC, and two serials giving two key sets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim/core/apdu.h"
#include "sim/gp/gpkdiv.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = apdu_unhex(hex, out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[64];
	char g[130];

	assert_int_equal(unhex(hex, want, sizeof want), n);
	if (memcmp(got, want, n)) {
		apdu_hex(got, n, g);
		fail_msg("got %s, want %s", g, hex);
	}
}

/* fixtures/se/default.lua's CPLC. */
static const char *const CPLC = "47905040479160916091"
				"60910000A001"
				"00004790"
				"6091"
				"4791"
				"6091"
				"0000"
				"6091"
				"00000000"
				"0000"
				"6091"
				"00000000";

static void gppro_kdf3(void **state)
{
	uint8_t m[32], kdd[10], out[32];

	(void)state;
	unhex("8C72C72CF908411653018807950D82FBAD947562F0828A0B10B8B9606ABF3BCD", m, sizeof m);
	unhex("D9B1DE5D0362DEDCE4FB", kdd, sizeof kdd);
	assert_int_equal(gpkdiv_kdf3(m, 32, GPKDIV_ENC, kdd, out), 0);
	assert_hex(out, 32, "9AAC5D0B3601F89438A0D9D0B6B256CFB47E6462DFA5228D3420C4AC7C224781");
}

static void fixture_keyset(void **state)
{
	uint8_t cplc[42], kdd[10];
	scp03_keyset_t m = { .kvn = 0x30, .key_len = 16 }, k;

	(void)state;
	for (int i = 0; i < 16; i++)
		m.enc[i] = m.mac[i] = m.dek[i] = (uint8_t)(0x40 + i);
	assert_int_equal(unhex(CPLC, cplc, sizeof cplc), 42);
	gpkdiv_kdd_from_cplc(cplc, kdd);
	assert_hex(kdd, 10, "4790504000000000A001");
	assert_int_equal(gpkdiv_keyset(&m, kdd, &k), 0);
	assert_int_equal(k.kvn, 0x30);
	assert_int_equal(k.key_len, 16);
	assert_hex(k.enc, 16, "062BA154D1B44A0F34A688AB6D902B89");
	assert_hex(k.mac, 16, "1F55DCB7C181471E1D02CFE98C07DB02");
	assert_hex(k.dek, 16, "1C5BB4181E1A3F51EACF9F47C3A98622");

	/* Another phone of the model (sim:se?serial=0000A101): another set. */
	memcpy(cplc + 12, "\x00\x00\xA1\x01", 4);
	gpkdiv_kdd_from_cplc(cplc, kdd);
	assert_hex(kdd, 10, "4790504000000000A101");
	assert_int_equal(gpkdiv_keyset(&m, kdd, &m), 0); /* in place */
	assert_hex(m.enc, 16, "FDF7564DB4CB5239E5E7718DC0E2EAF7");
}

static void aes192_and_refusals(void **state)
{
	uint8_t m[24], kdd[10], out[24];

	(void)state;
	for (int i = 0; i < 24; i++)
		m[i] = (uint8_t)(0x40 + i);
	unhex("4790504000000000A001", kdd, sizeof kdd);
	/* 24 bytes: two CMAC blocks, the second cut to 8. */
	assert_int_equal(gpkdiv_kdf3(m, 24, GPKDIV_MAC, kdd, out), 0);
	assert_hex(out, 24, "18BC48C6063DD432A977FF2F76170BEE5BFC9DEFD710C206");
	assert_int_equal(gpkdiv_kdf3(m, 20, GPKDIV_MAC, kdd, out), SCP03_ERR_ARG);
	assert_int_equal(gpkdiv_kdf3(NULL, 16, GPKDIV_MAC, kdd, out), SCP03_ERR_ARG);
	assert_int_equal(gpkdiv_keyset(NULL, kdd, NULL), SCP03_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gppro_kdf3),
		cmocka_unit_test(fixture_keyset),
		cmocka_unit_test(aes192_and_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
