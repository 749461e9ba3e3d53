/* test_apdu.c — command APDU cases byte for byte, every malformed length
 * form with its status word, response building at its bounds, hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/core/apdu.h"

/* Parse a hex command; the test fails if it is not valid hex. */
static int parse_hex(apdu_t *a, const char *hex, uint8_t *buf, size_t cap)
{
	long n = apdu_unhex(hex, buf, cap);

	assert_true(n >= 0);
	return apdu_parse(a, buf, (size_t)n);
}

static void expect_case(const apdu_t *a, int icase, int ext, size_t lc, size_t le)
{
	assert_int_equal(a->icase, icase);
	assert_int_equal(a->ext, ext);
	assert_int_equal(a->lc, lc);
	assert_int_equal(a->le, le);
}

static void parse_case1(void **state)
{
	uint8_t b[8];
	apdu_t a;

	(void)state;
	assert_int_equal(parse_hex(&a, "80CA9F7F", b, sizeof(b)), 0);
	expect_case(&a, 1, 0, 0, 0);
	assert_int_equal(a.cla, 0x80);
	assert_int_equal(a.ins, 0xCA);
	assert_int_equal(a.p1, 0x9F);
	assert_int_equal(a.p2, 0x7F);
	assert_null(a.data);
}

static void parse_case2_short(void **state)
{
	uint8_t b[8];
	apdu_t a;

	(void)state;
	assert_int_equal(parse_hex(&a, "00B0000001", b, sizeof(b)), 0);
	expect_case(&a, 2, 0, 0, 1);
	assert_null(a.data);
	assert_int_equal(parse_hex(&a, "00B00000FF", b, sizeof(b)), 0);
	expect_case(&a, 2, 0, 0, 255);
	/* Le = 00 in short form asks for 256 bytes. */
	assert_int_equal(parse_hex(&a, "00B0000000", b, sizeof(b)), 0);
	expect_case(&a, 2, 0, 0, 256);
}

static void parse_case3_short(void **state)
{
	uint8_t b[300];
	apdu_t a;

	(void)state;
	assert_int_equal(parse_hex(&a, "0020008004 31323334", b, sizeof(b)), 0);
	expect_case(&a, 3, 0, 4, 0);
	assert_ptr_equal(a.data, b + 5); /* points into the input */
	assert_memory_equal(a.data, "1234", 4);

	/* Largest short Lc. */
	memset(b, 0xAB, sizeof(b));
	b[0] = 0x00, b[1] = 0xD6, b[2] = 0x00, b[3] = 0x00, b[4] = 0xFF;
	assert_int_equal(apdu_parse(&a, b, 5 + 255), 0);
	expect_case(&a, 3, 0, 255, 0);
	assert_ptr_equal(a.data, b + 5);
}

static void parse_case4_short(void **state)
{
	uint8_t b[300];
	apdu_t a;

	(void)state;
	assert_int_equal(parse_hex(&a, "00A4040C 02 3F00 00", b, sizeof(b)), 0);
	expect_case(&a, 4, 0, 2, 256);
	assert_memory_equal(a.data, "\x3F\x00", 2);
	assert_int_equal(parse_hex(&a, "00880000 01 AA 10", b, sizeof(b)), 0);
	expect_case(&a, 4, 0, 1, 16);

	memset(b, 0x5A, sizeof(b));
	b[0] = 0x00, b[1] = 0x2A, b[2] = 0x9E, b[3] = 0x9A, b[4] = 0xFF;
	b[5 + 255] = 0xFF;
	assert_int_equal(apdu_parse(&a, b, 5 + 255 + 1), 0);
	expect_case(&a, 4, 0, 255, 255);
}

static void parse_case2_extended(void **state)
{
	uint8_t b[8];
	apdu_t a;

	(void)state;
	assert_int_equal(parse_hex(&a, "00B00000 000101", b, sizeof(b)), 0);
	expect_case(&a, 2, 1, 0, 257);
	assert_null(a.data);
	assert_int_equal(parse_hex(&a, "00B00000 00FFFF", b, sizeof(b)), 0);
	expect_case(&a, 2, 1, 0, 65535);
	/* Le = 0000 in extended form asks for 65536 bytes. */
	assert_int_equal(parse_hex(&a, "00B00000 000000", b, sizeof(b)), 0);
	expect_case(&a, 2, 1, 0, 65536);
	/* Extended form may also carry a small Le. */
	assert_int_equal(parse_hex(&a, "00B00000 000001", b, sizeof(b)), 0);
	expect_case(&a, 2, 1, 0, 1);
}

static uint8_t *ext_cmd(size_t lc, int le_bytes, size_t *len)
{
	uint8_t *b = malloc(4 + 3 + lc + 2);
	size_t i;

	assert_non_null(b);
	b[0] = 0x00, b[1] = 0xDA, b[2] = 0x01, b[3] = 0x02;
	b[4] = 0x00, b[5] = (uint8_t)(lc >> 8), b[6] = (uint8_t)lc;
	for (i = 0; i < lc; i++)
		b[7 + i] = (uint8_t)i;
	*len = 7 + lc;
	if (le_bytes) {
		b[*len] = 0x00;
		b[*len + 1] = 0x00;
		*len += 2;
	}
	return b;
}

static void parse_case3_extended(void **state)
{
	size_t len;
	uint8_t *b;
	apdu_t a;

	(void)state;
	b = ext_cmd(256, 0, &len);
	assert_int_equal(apdu_parse(&a, b, len), 0);
	expect_case(&a, 3, 1, 256, 0);
	assert_ptr_equal(a.data, b + 7);
	free(b);

	b = ext_cmd(65535, 0, &len);
	assert_int_equal(apdu_parse(&a, b, len), 0);
	expect_case(&a, 3, 1, 65535, 0);
	assert_int_equal(a.data[65534], 0xFE);
	free(b);

	/* An extended Lc may be small too. */
	b = ext_cmd(1, 0, &len);
	assert_int_equal(apdu_parse(&a, b, len), 0);
	expect_case(&a, 3, 1, 1, 0);
	free(b);
}

static void parse_case4_extended(void **state)
{
	size_t len;
	uint8_t *b;
	apdu_t a;

	(void)state;
	b = ext_cmd(65535, 1, &len);
	assert_int_equal(apdu_parse(&a, b, len), 0);
	expect_case(&a, 4, 1, 65535, 65536);
	free(b);

	b = ext_cmd(2, 1, &len);
	b[len - 2] = 0x01;
	b[len - 1] = 0x00;
	assert_int_equal(apdu_parse(&a, b, len), 0);
	expect_case(&a, 4, 1, 2, 256);
	assert_memory_equal(a.data, "\x00\x01", 2);
	free(b);
}

static void parse_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"00",
		"00A4",
		"00A404",                 /* shorter than the header */
		"00A40400 00 00",         /* short Lc = 0 followed by a byte */
		"00A40400 02 3F",         /* Lc 2, one data byte */
		"00A40400 02 3F0000 00",  /* Lc 2, two bytes, then two more */
		"00A40400 0000",          /* 00 then one byte: neither form */
		"00A40400 000000 00",     /* extended Lc = 0 with a byte after */
		"00A40400 000000 0000",   /* extended Lc = 0, "Le" 0000 */
		"00A40400 000002 3F",     /* extended Lc 2, one data byte */
		"00A40400 000002 3F00 00",    /* extended, Le of one byte */
		"00A40400 000002 3F00 000000" /* extended, Le of three bytes */
	};
	uint8_t b[32];
	apdu_t a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int sw = parse_hex(&a, bad[i], b, sizeof(b));

		if (sw != SW_WRONG_LENGTH)
			fail_msg("\"%s\": got %04X, want 6700", bad[i], (unsigned)sw);
	}
	assert_int_equal(apdu_parse(&a, NULL, 0), SW_WRONG_LENGTH);
	/* Short Lc of 255 with only 254 bytes. */
	{
		uint8_t big[4 + 1 + 254];

		memset(big, 0x11, sizeof(big));
		big[0] = 0x00, big[4] = 0xFF;
		assert_int_equal(apdu_parse(&a, big, sizeof(big)), SW_WRONG_LENGTH);
	}
}

static void parse_bad_class(void **state)
{
	uint8_t b[16];
	apdu_t a;

	(void)state;
	assert_int_equal(parse_hex(&a, "FFA40000", b, sizeof(b)), SW_CLA_NOT_SUPPORTED);
	assert_int_equal(parse_hex(&a, "FFCA000000", b, sizeof(b)), SW_CLA_NOT_SUPPORTED);
	/* The header is kept for logs. */
	assert_int_equal(a.ins, 0xCA);
	/* A short buffer is a length error even with CLA FF. */
	assert_int_equal(parse_hex(&a, "FFA4", b, sizeof(b)), SW_WRONG_LENGTH);
}

/* Build and compare with the exact expected bytes, then parse back. */
static void build_is(const char *want_hex, const uint8_t *data, size_t lc, size_t le,
		     int icase)
{
	uint8_t want[16], got[16];
	long wn = apdu_unhex(want_hex, want, sizeof(want));
	size_t n = apdu_build(got, sizeof(got), 0x00, 0xB0, 0x01, 0x02, data, lc, le);
	apdu_t a;

	assert_true(wn > 0);
	assert_int_equal(n, (size_t)wn);
	assert_memory_equal(got, want, n);
	assert_int_equal(apdu_parse(&a, got, n), 0);
	assert_int_equal(a.icase, icase);
	assert_int_equal(a.lc, lc);
	assert_int_equal(a.le, le);
}

static void build_short_forms(void **state)
{
	static const uint8_t d[2] = { 0xCA, 0xFE };

	(void)state;
	build_is("00B00102", NULL, 0, 0, 1);
	build_is("00B00102 01", NULL, 0, 1, 2);
	build_is("00B00102 FF", NULL, 0, 255, 2);
	build_is("00B00102 00", NULL, 0, 256, 2);
	build_is("00B00102 02CAFE", d, 2, 0, 3);
	build_is("00B00102 02CAFE 00", d, 2, 256, 4);
	build_is("00B00102 02CAFE 10", d, 2, 16, 4);
}

static void build_extended_forms(void **state)
{
	static const uint8_t d[2] = { 0xCA, 0xFE };

	(void)state;
	/* le > 256 forces extended, even with a short Lc. */
	build_is("00B00102 000101", NULL, 0, 257, 2);
	build_is("00B00102 00FFFF", NULL, 0, 65535, 2);
	build_is("00B00102 000000", NULL, 0, 65536, 2);
	build_is("00B00102 000002CAFE 0101", d, 2, 257, 4);
	build_is("00B00102 000002CAFE 0000", d, 2, 65536, 4);
}

static void build_boundary_lc(void **state)
{
	uint8_t *data = malloc(65536), *out = malloc(65536 + 16);
	size_t n;
	apdu_t a;

	(void)state;
	assert_non_null(data);
	assert_non_null(out);
	memset(data, 0x42, 65536);

	/* 255 is the last short Lc, with Le 256 still short. */
	n = apdu_build(out, 65536 + 16, 0x00, 0xD6, 0, 0, data, 255, 256);
	assert_int_equal(n, 4 + 1 + 255 + 1);
	assert_int_equal(out[4], 0xFF);
	assert_int_equal(out[n - 1], 0x00);
	assert_int_equal(apdu_parse(&a, out, n), 0);
	assert_int_equal(a.ext, 0);
	assert_int_equal(a.le, 256);

	/* 256 goes extended: 00 01 00. */
	n = apdu_build(out, 65536 + 16, 0x00, 0xD6, 0, 0, data, 256, 0);
	assert_int_equal(n, 4 + 3 + 256);
	assert_memory_equal(out + 4, "\x00\x01\x00", 3);
	assert_int_equal(apdu_parse(&a, out, n), 0);
	assert_int_equal(a.ext, 1);
	assert_int_equal(a.lc, 256);

	/* 65535 is the largest Lc; 65536 cannot be encoded. */
	n = apdu_build(out, 65536 + 16, 0x00, 0xD6, 0, 0, data, 65535, 65536);
	assert_int_equal(n, 4 + 3 + 65535 + 2);
	assert_memory_equal(out + 4, "\x00\xFF\xFF", 3);
	assert_memory_equal(out + n - 2, "\x00\x00", 2);
	assert_int_equal(apdu_parse(&a, out, n), 0);
	assert_int_equal(a.icase, 4);
	assert_int_equal(a.lc, 65535);
	assert_int_equal(a.le, 65536);
	assert_int_equal(apdu_build(out, 65536 + 16, 0, 0xD6, 0, 0, data, 65536, 0), 0);
	assert_int_equal(apdu_build(out, 65536 + 16, 0, 0xB0, 0, 0, NULL, 0, 65537), 0);
	free(data);
	free(out);
}

static void build_rejects(void **state)
{
	uint8_t out[8];
	static const uint8_t d[4] = { 1, 2, 3, 4 };

	(void)state;
	/* Exactly fitting works, one byte less does not. */
	assert_int_equal(apdu_build(out, 8, 0, 0xA4, 0, 0, d, 2, 256), 8);
	assert_int_equal(apdu_build(out, 7, 0, 0xA4, 0, 0, d, 2, 256), 0);
	assert_int_equal(apdu_build(out, 3, 0, 0xA4, 0, 0, NULL, 0, 0), 0);
	/* Data announced but missing. */
	assert_int_equal(apdu_build(out, 8, 0, 0xA4, 0, 0, NULL, 2, 0), 0);
}

static void rsp_never_overflows(void **state)
{
	uint8_t buf[6];
	apdu_rsp_t r = { buf, sizeof(buf), 0 };

	(void)state;
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(apdu_rsp_put(&r, "\x01\x02\x03", 3), 0);
	assert_int_equal(apdu_rsp_put(&r, "\x04", 1), 0);
	/* Full: 4 data bytes + SW fill 6; one more byte must be refused. */
	assert_int_equal(apdu_rsp_put(&r, "\x05", 1), -1);
	assert_int_equal(r.len, 4);
	assert_int_equal(apdu_rsp_sw(&r, SW_OK), 6);
	assert_memory_equal(buf, "\x01\x02\x03\x04\x90\x00", 6);
	assert_int_equal(apdu_sw(buf, 6), 0x9000);

	r.len = 0;
	assert_int_equal(apdu_rsp_put(&r, "\x01\x02\x03\x04\x05", 5), -1);
	assert_int_equal(r.len, 0);

	r.len = 0;
	assert_int_equal(apdu_rsp_put(&r, "\xAA\xBB", 2), 0);
	assert_int_equal(apdu_rsp_error(&r, SW_VERIFY_FAIL(2)), 2);
	assert_memory_equal(buf, "\x63\xC2", 2);
}

static void rsp_minimal_buffer(void **state)
{
	uint8_t buf[2];
	apdu_rsp_t r = { buf, sizeof(buf), 0 };

	(void)state;
	assert_int_equal(apdu_rsp_put(&r, "\x01", 1), -1);
	assert_int_equal(apdu_rsp_put(&r, NULL, 0), 0);
	assert_int_equal(apdu_rsp_sw(&r, SW_FILE_NOT_FOUND), 2);
	assert_memory_equal(buf, "\x6A\x82", 2);
	assert_int_equal(apdu_sw(buf, 1), 0);
	assert_int_equal(apdu_sw(buf, 0), 0);
}

static void hex_round_trip(void **state)
{
	uint8_t b[8];
	char s[17];

	(void)state;
	assert_int_equal(apdu_unhex("00 a4:04\t0C", b, sizeof(b)), 4);
	assert_memory_equal(b, "\x00\xA4\x04\x0C", 4);
	assert_int_equal(apdu_unhex("dEaDbEeF", b, sizeof(b)), 4);
	apdu_hex(b, 4, s);
	assert_string_equal(s, "DEADBEEF");
	apdu_hex(b, 0, s);
	assert_string_equal(s, "");
	assert_int_equal(apdu_unhex("", b, sizeof(b)), 0);
}

static void hex_rejects(void **state)
{
	uint8_t b[2];

	(void)state;
	assert_int_equal(apdu_unhex("ABC", b, sizeof(b)), -1);    /* odd */
	assert_int_equal(apdu_unhex("0G", b, sizeof(b)), -1);     /* bad digit */
	assert_int_equal(apdu_unhex("00-11", b, sizeof(b)), -1);  /* bad separator */
	assert_int_equal(apdu_unhex("001122", b, sizeof(b)), -1); /* too long */
	assert_int_equal(apdu_unhex(NULL, b, sizeof(b)), -1);
}

/* The digit-pair fast path gives what a character at a time gives: the
 * same count or -1 and the same bytes, over random strings of digits,
 * separators and other characters, every capacity up to past the end. */
static long unhex_ref(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;
		if (*hex == ' ' || *hex == '\t' || *hex == ':')
			continue;
		v = (*hex >= '0' && *hex <= '9')   ? *hex - '0'
		    : (*hex >= 'a' && *hex <= 'f') ? *hex - 'a' + 10
		    : (*hex >= 'A' && *hex <= 'F') ? *hex - 'A' + 10
						   : -1;
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi >= 0 ? -1 : (long)n;
}

static void hex_matches_reference(void **state)
{
	static const char alpha[] = "0123456789abcdefABCDEF0123456789 :\tgG-x\x80\xff";
	uint32_t x = 12345;
	char s[40];
	uint8_t a[24], b[24];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = (x = x * 1103515245u + 12345u) >> 16 & 31, cap;
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly digits, so that long valid runs occur */
			s[i] = (x >> 16) % 8 ? alpha[(x >> 8) % 22] : alpha[(x >> 8) % (sizeof alpha - 1)];
		}
		s[len] = 0;
		cap = (x >> 4) % 20;
		memset(a, 0xA5, sizeof a);
		memset(b, 0xA5, sizeof b);
		assert_int_equal(apdu_unhex(s, a, cap), unhex_ref(s, b, cap));
		assert_memory_equal(a, b, sizeof a);
	}
	for (int c = -1; c < 256; c++)
		assert_int_equal(apdu_hexval(c), (c >= '0' && c <= '9')	? c - '0'
						 : (c >= 'a' && c <= 'f') ? c - 'a' + 10
						 : (c >= 'A' && c <= 'F') ? c - 'A' + 10
									  : -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_case1),
		cmocka_unit_test(parse_case2_short),
		cmocka_unit_test(parse_case3_short),
		cmocka_unit_test(parse_case4_short),
		cmocka_unit_test(parse_case2_extended),
		cmocka_unit_test(parse_case3_extended),
		cmocka_unit_test(parse_case4_extended),
		cmocka_unit_test(parse_malformed),
		cmocka_unit_test(parse_bad_class),
		cmocka_unit_test(build_short_forms),
		cmocka_unit_test(build_extended_forms),
		cmocka_unit_test(build_boundary_lc),
		cmocka_unit_test(build_rejects),
		cmocka_unit_test(rsp_never_overflows),
		cmocka_unit_test(rsp_minimal_buffer),
		cmocka_unit_test(hex_round_trip),
		cmocka_unit_test(hex_rejects),
		cmocka_unit_test(hex_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
