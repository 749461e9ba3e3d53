/* test_textap.c — the 券面事項入力補助AP (docs/card.md#text-ap): which credential
 * opens which file, the file formats (DF21 offsets, the integrity record),
 * 照合番号B and the Japanese-era computation behind it, the AP key. */
#include "test_card_fixture.h"

#include "sim/card/textap_int.h"
#include "sim/core/tlv.h"

static uint8_t *read_ef(fx_t *f, uint16_t fid, size_t *n)
{
	assert_int_equal(fx_select_ef(f, fid), 0x9000);
	return fx_read_all(f, n);
}

static void expect_denied(fx_t *f, uint16_t fid)
{
	assert_int_equal(fx_select_ef(f, fid), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x6982);
}

static void expect_number(fx_t *f)
{
	uint8_t want[17] = { 0xFF, 0x10, 0x0C };
	uint8_t *ef;
	size_t n;

	memcpy(want + 3, FX_NUMBER, 12);
	want[15] = want[16] = 0xFF;
	ef = read_ef(f, 0x0001, &n);
	assert_non_null(ef);
	assert_int_equal(n, 17);
	assert_memory_equal(ef, want, 17);
	free(ef);
}

static void test_number_with_pin(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	expect_denied(f, 0x0001);
	expect_denied(f, 0x0002);
	expect_denied(f, 0x0003);
	assert_int_equal(fx_select_ef(f, 0x0011), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x63C3);
	assert_int_equal(fx_verify(f, 0x80, "0000"), 0x63C2);
	assert_int_equal(fx_verify(f, 0x80, FX_TEXT_PIN), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, NULL), 0x63C3);
	expect_number(f);
	assert_int_equal(fx_select_ef(f, 0x0002), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0003), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x9000);
	/* Re-SELECT clears, as in the JPKI AP. */
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	expect_denied(f, 0x0001);
	/* The JPKI AP's PINs are another application's: no effect here. */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_verify(f, 0x98, FX_AUTH_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	expect_denied(f, 0x0001);
	fx_free(f);
}

static void test_collation_a(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	/* 照合番号A is the number itself; 10 tries. */
	assert_int_equal(fx_verify(f, 0x94, NULL), 0x63CA);
	assert_int_equal(fx_verify(f, 0x94, "123456789019"), 0x63C9);
	assert_int_equal(fx_verify(f, 0x94, "123456789010"), 0x63C8);
	assert_int_equal(fx_verify(f, 0x94, NULL), 0x63C8);
	assert_int_equal(fx_verify(f, 0x94, FX_NUMBER), 0x9000);
	assert_int_equal(fx_verify(f, 0x94, NULL), 0x63CA);
	expect_number(f);
	assert_int_equal(fx_select_ef(f, 0x0003), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x9000);
	/* A does not open the 4 items. */
	expect_denied(f, 0x0002);
	fx_free(f);
}

static void test_collation_b(void **state)
{
	fx_t *f = fx_default();
	uint8_t *ef;
	size_t n;
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0015), 0x9000);
	/* Gregorian birth date instead of the era: wrong. */
	assert_int_equal(fx_verify(f, 0x80, "80021720352285"), 0x63C9);
	assert_int_equal(fx_verify(f, 0x80, FX_COLLATION_B), 0x9000);
	ef = read_ef(f, 0x0002, &n);
	assert_non_null(ef);
	assert_int_equal(ef[0], 0xFF);
	assert_int_equal(ef[1], 0x20);
	free(ef);
	assert_int_equal(fx_select_ef(f, 0x0003), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x9000);
	expect_denied(f, 0x0001);
	fx_free(f);
}

/* EF 0002: FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth,
 * DF25 sex }; each offset, from the start of the file, lands on the tag
 * of its element. */
static void test_attrs_layout(void **state)
{
	const char *want[4] = { FX_NAME, FX_ADDRESS, FX_BIRTH, "1" };
	fx_t *f = fx_default();
	tlv_t outer, t, off;
	uint8_t *ef;
	size_t n;
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_verify(f, 0x91, FX_TEXT_PIN), 0x9000);
	ef = read_ef(f, 0x0002, &n);
	assert_non_null(ef);
	assert_int_equal(tlv_parse(ef, n, &outer), (long)n);
	assert_int_equal(outer.tag, 0xFF20);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF21, &off), 0);
	assert_int_equal(off.len, 8);
	for (int i = 0; i < 4; i++) {
		size_t o = (size_t)off.val[2 * i] << 8 | off.val[2 * i + 1];

		assert_true(o < n);
		assert_true(tlv_parse(ef + o, n - o, &t) > 0);
		assert_int_equal(t.tag, 0xDF22 + (uint32_t)i);
		assert_int_equal(t.len, strlen(want[i]));
		assert_memory_equal(t.val, want[i], t.len);
	}
	free(ef);
	fx_free(f);
}

/* EF 0003: DF31 = SHA-256(EF 0001 as stored), DF32 = SHA-256(DF22..DF25),
 * DF33 = RSA PKCS#1 v1.5 SHA-256 signature over DF31 || DF32 values. */
static void test_integrity_record(void **state)
{
	fx_t *f = fx_default();
	uint8_t *e1, *e2, *e3, h[32];
	size_t n1, n2, n3;
	tlv_t outer, t31, t32, t33, off;
	unsigned int hl;
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_verify(f, 0x91, FX_TEXT_PIN), 0x9000);
	e1 = read_ef(f, 0x0001, &n1);
	e2 = read_ef(f, 0x0002, &n2);
	e3 = read_ef(f, 0x0003, &n3);
	assert_non_null(e1);
	assert_non_null(e2);
	assert_non_null(e3);
	assert_int_equal(tlv_parse(e3, n3, &outer), (long)n3);
	assert_int_equal(outer.tag, 0xFF30);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF31, &t31), 0);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF32, &t32), 0);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF33, &t33), 0);
	assert_int_equal(t31.len, 32);
	assert_int_equal(t32.len, 32);
	assert_int_equal(t33.len, 256);
	EVP_Digest(e1, n1, h, &hl, EVP_sha256(), NULL);
	assert_memory_equal(t31.val, h, 32);
	/* DF22 starts where the first offset says; the items run to the end. */
	{
		tlv_t outer2;
		size_t o;

		assert_true(tlv_parse(e2, n2, &outer2) > 0);
		assert_int_equal(tlv_find(outer2.val, outer2.len, 0xDF21, &off), 0);
		o = (size_t)off.val[0] << 8 | off.val[1];
		EVP_Digest(e2 + o, n2 - o, h, &hl, EVP_sha256(), NULL);
		assert_memory_equal(t32.val, h, 32);
	}
	{
		uint8_t msg[64];
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		memcpy(msg, t31.val, 32);
		memcpy(msg + 32, t32.val, 32);
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fx_key), 1);
		assert_int_equal(EVP_DigestVerify(md, t33.val, t33.len, msg, 64), 1);
		msg[0] ^= 1;
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fx_key), 1);
		assert_int_not_equal(EVP_DigestVerify(md, t33.val, t33.len, msg, 64), 1);
		EVP_MD_CTX_free(md);
	}
	free(e1);
	free(e2);
	free(e3);
	fx_free(f);
}

static void test_basic_info_free(void **state)
{
	fx_t *f = fx_default();
	uint8_t *ef, zero[128] = { 0 };
	size_t n;
	tlv_t outer, t;
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	ef = read_ef(f, 0x0005, &n);
	assert_non_null(ef);
	assert_int_equal(tlv_parse(ef, n, &outer), (long)n);
	assert_int_equal(outer.tag, 0xFF40);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF41, &t), 0);
	assert_int_equal(t.len, 4);
	assert_memory_equal(t.val, "\x01\x03\x0E\x01", 4);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF42, &t), 0);
	assert_int_equal(t.len, 16);
	assert_int_equal(tlv_find(outer.val, outer.len, 0xDF43, &t), 0);
	assert_int_equal(t.len, 128);
	assert_memory_equal(t.val, zero, 128);
	free(ef);
	fx_free(f);
}

static void test_pin_lockout(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_verify(f, 0x91, "0000"), 0x63C2);
	assert_int_equal(fx_verify(f, 0x91, "0001"), 0x63C1);
	assert_int_equal(fx_verify(f, 0x91, "0002"), 0x63C0);
	assert_int_equal(fx_verify(f, 0x91, FX_TEXT_PIN), 0x6984);
	assert_int_equal(fx_nvm_byte(f, "text/pin/0011/ctr"), 0);
	/* The collation numbers still work. */
	assert_int_equal(fx_verify(f, 0x94, FX_NUMBER), 0x9000);
	expect_number(f);
	fx_free(f);
}

static void test_era(void **state)
{
	static const struct {
		const char *date;
		int era, year;
	} ok[] = {
		{ "18680125", TEXTAP_MEIJI, 1 },   { "19120729", TEXTAP_MEIJI, 45 },
		{ "19120730", TEXTAP_TAISHO, 1 },  { "19261224", TEXTAP_TAISHO, 15 },
		{ "19261225", TEXTAP_SHOWA, 1 },   { "19800217", TEXTAP_SHOWA, 55 },
		{ "19890107", TEXTAP_SHOWA, 64 },  { "19890108", TEXTAP_HEISEI, 1 },
		{ "20000229", TEXTAP_HEISEI, 12 }, { "20190430", TEXTAP_HEISEI, 31 },
		{ "20190501", TEXTAP_REIWA, 1 },   { "20240229", TEXTAP_REIWA, 6 },
	};
	static const char *bad[] = { "18680124", "19800230", "20230229", "19001301", "1980021",
				     "198002170", "1980O217", "19800200" };
	(void)state;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int era = -1, year = -1;

		assert_int_equal(textap_era(ok[i].date, &era, &year), 0);
		if (era != ok[i].era || year != ok[i].year)
			fail_msg("%s: era %d year %d, want %d %d", ok[i].date, era, year, ok[i].era,
				 ok[i].year);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int era, year;

		if (textap_era(bad[i], &era, &year) == 0)
			fail_msg("%s accepted", bad[i]);
	}
}

/* 照合番号B on cards of holders born either side of the Shōwa/Heisei and
 * Heisei/Reiwa changes. */
static void test_collation_b_eras(void **state)
{
	static const struct {
		const char *birth, *b;
	} cases[] = {
		{ "19890107", "64010720352285" },
		{ "19890108", "01010820352285" },
		{ "20190501", "01050120352285" },
		{ "19800217", FX_COLLATION_B },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		card_profile_t p;
		char b[15];
		fx_t *f;

		fx_profile(&p);
		p.holder.birth = cases[i].birth;
		assert_int_equal(textap_collation_b(&p, b), 0);
		assert_string_equal(b, cases[i].b);
		f = fx_new(&p);
		assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
		assert_int_equal(fx_verify(f, 0x95, cases[i].b), 0x9000);
		fx_free(f);
	}
}

static void test_ap_key_sign(void **state)
{
	card_profile_t p;
	uint8_t chal[16];
	fx_t *f = fx_default();
	(void)state;

	/* GET CHALLENGE, then 80 2A 00 00 with no credential (SOL README). */
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_apdu(f, "0084000010"), 0x9000);
	memcpy(chal, f->rsp, 16);
	assert_int_equal(fx_cmd(f, 0x80, 0x2A, 0x00, 0x00, chal, 16, 256), 0x9000);
	assert_int_equal(fx_data_len(f), 256);
	{
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(fx_key, NULL);
		uint8_t out[256];
		size_t outlen = sizeof out;

		assert_int_equal(EVP_PKEY_verify_recover_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_verify_recover(c, out, &outlen, f->rsp, 256), 1);
		assert_int_equal(outlen, 16);
		assert_memory_equal(out, chal, 16);
		EVP_PKEY_CTX_free(c);
	}
	assert_int_equal(fx_cmd(f, 0x80, 0x2A, 0x00, 0x80, chal, 16, 256), 0x6A86);
	assert_int_equal(fx_cmd(f, 0x80, 0x2A, 0x01, 0x00, chal, 16, 256), 0x6A86);
	assert_int_equal(fx_cmd(f, 0x00, 0x2A, 0x00, 0x00, chal, 16, 256), 0x6E00);
	fx_free(f);

	/* No text key: no DF33, and the AP key is not there. */
	fx_profile(&p);
	p.text_key = (card_blob_t){ NULL, 0 };
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_cmd(f, 0x80, 0x2A, 0x00, 0x00, chal, 16, 256), 0x6A88);
	assert_int_equal(fx_verify(f, 0x91, FX_TEXT_PIN), 0x9000);
	{
		uint8_t *ef;
		size_t n;
		tlv_t outer, t;

		ef = read_ef(f, 0x0003, &n);
		assert_non_null(ef);
		assert_int_equal(tlv_parse(ef, n, &outer), (long)n);
		assert_int_equal(tlv_find(outer.val, outer.len, 0xDF31, &t), 0);
		assert_int_equal(tlv_find(outer.val, outer.len, 0xDF33, &t), 1);
		free(ef);
	}
	fx_free(f);
}

static void test_profile_checks(void **state)
{
	static const char bad_utf8[] = { 'A', (char)0xE3, (char)0x80, 0 };
	card_profile_t p;
	sim_ctx_t ctx;
	rng_t rng;
	vclock_t clk;
	sim_card_t *c;
	(void)state;

	rng_seed(&rng, 1);
	ctx.rng = &rng;
	ctx.clock = &clk;
	ctx.nvm = nvm_new();
	for (int i = 0; i < 9; i++) {
		fx_profile(&p);
		switch (i) {
		case 0: p.holder.birth = "18000101"; break; /* before Meiji */
		case 1: p.holder.birth = "19800230"; break;
		case 2: p.holder.sex = "3"; break;
		case 3: p.holder.security_code = "123"; break;
		case 4: p.holder.expiry_year = 35; break;
		case 5: p.holder.name = ""; break;
		case 6: p.holder.address = bad_utf8; break;
		case 7: p.text_key = (card_blob_t){ (const uint8_t *)"\x30\x00", 2 }; break;
		case 8: p.holder.number = "12345678901X"; break;
		}
		if (sim_card_new(&c, &p, &ctx) != SIM_ERR_PROFILE)
			fail_msg("profile case %d accepted", i);
	}
	nvm_free(ctx.nvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_with_pin),
		cmocka_unit_test(test_collation_a),
		cmocka_unit_test(test_collation_b),
		cmocka_unit_test(test_attrs_layout),
		cmocka_unit_test(test_integrity_record),
		cmocka_unit_test(test_basic_info_free),
		cmocka_unit_test(test_pin_lockout),
		cmocka_unit_test(test_era),
		cmocka_unit_test(test_collation_b_eras),
		cmocka_unit_test(test_ap_key_sign),
		cmocka_unit_test(test_profile_checks),
	};

	return cmocka_run_group_tests(tests, fx_global_setup, fx_global_teardown);
}
