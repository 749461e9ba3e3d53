/* test_tlv.c — BER-TLV: tags of 1-3 bytes, every length form, minimal
 * encodings, and the rejects (indefinite, non-minimal, truncated). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/core/apdu.h"
#include "sim/core/tlv.h"

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	long n = apdu_unhex(s, out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static void parse_one_byte_tag(void **state)
{
	uint8_t b[16];
	size_t n = hex("04 03 010203 FF", b, sizeof(b));
	tlv_t t;

	(void)state;
	assert_int_equal(tlv_parse(b, n, &t), 5);
	assert_int_equal(t.tag, 0x04);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.size, 5);
	assert_ptr_equal(t.val, b + 2);
}

static void parse_multi_byte_tags(void **state)
{
	uint8_t b[16];
	size_t n;
	tlv_t t;

	(void)state;
	n = hex("5F20 02 4142", b, sizeof(b));
	assert_int_equal(tlv_parse(b, n, &t), 5);
	assert_int_equal(t.tag, 0x5F20);
	assert_int_equal(t.len, 2);
	assert_ptr_equal(t.val, b + 3);

	n = hex("DF21 00", b, sizeof(b));
	assert_int_equal(tlv_parse(b, n, &t), 3);
	assert_int_equal(t.tag, 0xDF21);
	assert_int_equal(t.len, 0);

	/* Bit 8 of the second byte: a third byte follows. */
	n = hex("9F8101 01 AA", b, sizeof(b));
	assert_int_equal(tlv_parse(b, n, &t), 5);
	assert_int_equal(t.tag, 0x9F8101);
	assert_int_equal(t.val[0], 0xAA);

	/* Only low bits 11111 announce more tag bytes; 0x5E (11110) does not. */
	n = hex("5E 00", b, sizeof(b));
	assert_int_equal(tlv_parse(b, n, &t), 2);
	assert_int_equal(t.tag, 0x5E);
}

static void parse_long_lengths(void **state)
{
	size_t big = 0x1000000;
	uint8_t *b = calloc(1, big + 8);
	tlv_t t;

	(void)state;
	assert_non_null(b);
	b[0] = 0x04, b[1] = 0x81, b[2] = 0x80;
	assert_int_equal(tlv_parse(b, 3 + 0x80, &t), 3 + 0x80);
	assert_int_equal(t.len, 0x80);

	b[1] = 0x81, b[2] = 0xFF;
	assert_int_equal(tlv_parse(b, 3 + 0xFF, &t), 3 + 0xFF);
	assert_int_equal(t.len, 0xFF);

	b[1] = 0x82, b[2] = 0x01, b[3] = 0x00;
	assert_int_equal(tlv_parse(b, 4 + 0x100, &t), 4 + 0x100);
	assert_int_equal(t.len, 0x100);
	assert_ptr_equal(t.val, b + 4);

	b[1] = 0x83, b[2] = 0x01, b[3] = 0x00, b[4] = 0x00;
	assert_int_equal(tlv_parse(b, 5 + 0x10000, &t), 5 + 0x10000);
	assert_int_equal(t.len, 0x10000);

	b[1] = 0x84, b[2] = 0x01, b[3] = 0x00, b[4] = 0x00, b[5] = 0x00;
	assert_int_equal(tlv_parse(b, 6 + big, &t), (long)(6 + big));
	assert_int_equal(t.len, big);
	/* One byte short of the announced length. */
	assert_int_equal(tlv_parse(b, 6 + big - 1, &t), TLV_ERR_TRUNC);
	free(b);
}

static void parse_rejects(void **state)
{
	static const struct {
		const char *hex;
		long err;
	} bad[] = {
		{ "", TLV_ERR_TRUNC },
		{ "5F", TLV_ERR_TRUNC },         /* tag cut after the first byte */
		{ "9F81", TLV_ERR_TRUNC },       /* tag cut after the second */
		{ "04", TLV_ERR_TRUNC },         /* no length */
		{ "04 03 0102", TLV_ERR_TRUNC }, /* value runs past the buffer */
		{ "04 81", TLV_ERR_TRUNC },      /* length bytes missing */
		{ "04 82 01", TLV_ERR_TRUNC },
		{ "30 80 0000", TLV_ERR_FORMAT },  /* indefinite length */
		{ "04 85 0000000001 00", TLV_ERR_FORMAT }, /* 5 length bytes */
		{ "04 FF", TLV_ERR_FORMAT },
		{ "04 81 05 0102030405", TLV_ERR_FORMAT }, /* non-minimal */
		{ "04 82 0080", TLV_ERR_FORMAT },          /* leading zero byte */
		{ "04 83 000100", TLV_ERR_FORMAT },
		{ "9F818101 00", TLV_ERR_FORMAT },  /* tag longer than 3 bytes */
		{ "1F80 01 00", TLV_ERR_FORMAT },   /* tag with a leading 0x80 */
	};
	uint8_t b[32];
	size_t i, n;
	tlv_t t;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long r;

		n = hex(bad[i].hex, b, sizeof(b));
		r = tlv_parse(b, n, &t);
		if (r != bad[i].err)
			fail_msg("\"%s\": got %ld, want %ld", bad[i].hex, r, bad[i].err);
	}
}

static void constructed_bit(void **state)
{
	(void)state;
	assert_true(tlv_is_constructed(0x30));
	assert_true(tlv_is_constructed(0x7F49));
	assert_true(tlv_is_constructed(0xBF0C));
	assert_true(tlv_is_constructed(0x3F8101));
	assert_true(tlv_is_constructed(0xE1));
	assert_false(tlv_is_constructed(0x04));
	assert_false(tlv_is_constructed(0x5F20));
	assert_false(tlv_is_constructed(0x9F8101));
	assert_false(tlv_is_constructed(0xDF21));
	assert_false(tlv_is_constructed(0x80));
}

static void find_one_level(void **state)
{
	uint8_t b[32];
	size_t n = hex("80 01 AA  A5 03 81 01 BB  5F20 02 4142", b, sizeof(b));
	tlv_t t;

	(void)state;
	assert_int_equal(tlv_find(b, n, 0x5F20, &t), 0);
	assert_int_equal(t.len, 2);
	assert_ptr_equal(t.val, b + 11);
	assert_int_equal(tlv_find(b, n, 0xA5, &t), 0);
	assert_int_equal(t.len, 3);
	/* 81 is inside A5: one level only, so not found. */
	assert_int_equal(tlv_find(b, n, 0x81, &t), 1);
	assert_int_equal(tlv_find(b, 0, 0x80, &t), 1);
	/* A damaged element before the wanted one is an error, not "absent". */
	n = hex("80 05 AA  5F20 02 4142", b, sizeof(b));
	assert_int_equal(tlv_find(b, n, 0x5F20, &t), TLV_ERR_TRUNC);
	n = hex("80 80 AA  5F20 02 4142", b, sizeof(b));
	assert_int_equal(tlv_find(b, n, 0x5F20, &t), TLV_ERR_FORMAT);
}

static void hdr_is(uint32_t tag, size_t len, const char *want_hex)
{
	uint8_t want[8], got[8];
	size_t wn = hex(want_hex, want, sizeof(want));

	memset(got, 0xEE, sizeof(got));
	assert_int_equal(tlv_put_hdr(NULL, tag, len), wn);
	assert_int_equal(tlv_put_hdr(got, tag, len), wn);
	assert_memory_equal(got, want, wn);
	assert_int_equal(got[wn], 0xEE); /* wrote nothing past the header */
}

static void put_hdr_minimal(void **state)
{
	(void)state;
	hdr_is(0x04, 0, "04 00");
	hdr_is(0x04, 0x7F, "04 7F");
	hdr_is(0x04, 0x80, "04 8180");
	hdr_is(0x04, 0xFF, "04 81FF");
	hdr_is(0x04, 0x100, "04 820100");
	hdr_is(0x04, 0xFFFF, "04 82FFFF");
	hdr_is(0x04, 0x10000, "04 83010000");
	hdr_is(0x04, 0xFFFFFF, "04 83FFFFFF");
	hdr_is(0x04, 0x1000000, "04 8401000000");
	hdr_is(0x5F20, 3, "5F20 03");
	hdr_is(0x9F8101, 0x80, "9F8101 8180");
	hdr_is(0x00, 1, "00 01");
	assert_int_equal(tlv_put_hdr(NULL, 0x1000000, 1), 0); /* 4-byte tag */
}

static void put_round_trip(void **state)
{
	static const size_t lens[] = { 0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234, 0x10000 };
	uint8_t *val = malloc(0x10000), *out = malloc(0x10000 + 8);
	size_t i, j;

	(void)state;
	assert_non_null(val);
	assert_non_null(out);
	for (i = 0; i < 0x10000; i++)
		val[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		static const uint32_t tags[] = { 0x04, 0x7F49, 0xDF8101 };

		for (j = 0; j < 3; j++) {
			size_t n = tlv_put(out, 0x10000 + 8, tags[j], val, lens[i]);
			tlv_t t;

			assert_true(n > lens[i]);
			assert_int_equal(tlv_parse(out, n, &t), (long)n);
			assert_int_equal(t.tag, tags[j]);
			assert_int_equal(t.len, lens[i]);
			assert_int_equal(t.size, n);
			assert_memory_equal(t.val, val, lens[i]);
		}
	}
	free(val);
	free(out);
}

static void put_capacity(void **state)
{
	uint8_t out[8];
	tlv_t t;

	(void)state;
	assert_int_equal(tlv_put(out, 5, 0x5F20, "abc", 3), 0);
	assert_int_equal(tlv_put(out, 6, 0x5F20, "abc", 3), 6);
	assert_memory_equal(out, "\x5F\x20\x03" "abc", 6);
	assert_int_equal(tlv_put(out, 2, 0x04, NULL, 0), 2);
	assert_memory_equal(out, "\x04\x00", 2);
	assert_int_equal(tlv_put(out, 1, 0x04, NULL, 0), 0);

	/* Wrapping a value built at the start of the buffer, in place. */
	memcpy(out, "xyz", 3);
	assert_int_equal(tlv_put(out, sizeof(out), 0x80, out, 3), 5);
	assert_memory_equal(out, "\x80\x03xyz", 5);
	assert_int_equal(tlv_parse(out, 5, &t), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_one_byte_tag),
		cmocka_unit_test(parse_multi_byte_tags),
		cmocka_unit_test(parse_long_lengths),
		cmocka_unit_test(parse_rejects),
		cmocka_unit_test(constructed_bit),
		cmocka_unit_test(find_one_level),
		cmocka_unit_test(put_hdr_minimal),
		cmocka_unit_test(put_round_trip),
		cmocka_unit_test(put_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
